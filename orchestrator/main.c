/* nfv-orchestrator: the daemon. Configuration, startup in order, the main loop, shutdown. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "nf/log.h"
#include "orchestrator/api.h"
#include "orchestrator/config.h"
#include "orchestrator/orch.h"

#define EXIT_RUNTIME 1
#define EXIT_CONFIG 2
#define LOG_MOD "main"

static struct orch *the_orch;	/* for the signal handler */

static void on_signal(int sig)
{
	(void)sig;
	if (the_orch != NULL)
		orch_stop(the_orch);
}

static void signals_setup(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void log_setup(const char *level)
{
	static const char *const names[] = { "err", "warn", "info", "debug" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(level, names[i]) == 0)
			nf_log_threshold = (enum nf_log_level)i;
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* Parse the configuration; returns the exit status to leave with, or -1 to go on. */
static int config_step(int argc, char **argv, struct orch_config *cfg)
{
	char err[1024] = "";
	int rc = config_parse(argc, argv, cfg, err, sizeof(err));

	if (rc == 1) {
		config_usage(stdout);
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "nfv-orchestrator: %s\n", err);
		return EXIT_CONFIG;
	}
	return -1;
}

/* The core: store, launcher, bridge, OpenFlow listener, steering; then the stored state. */
static struct orch *core_step(const struct orch_config *cfg)
{
	char err[1024] = "";
	struct orch *o = orch_create(&cfg->orch, err, sizeof(err));

	if (o == NULL) {
		NF_LOG(ERR, LOG_MOD, "%s", err);
		return NULL;
	}
	if (orch_restore(o, err, sizeof(err)) < 0) {
		NF_LOG(ERR, LOG_MOD, "%s", err);
		orch_destroy(o);
		return NULL;
	}
	return o;
}

static struct api *api_step(struct orch *o, const struct orch_config *cfg)
{
	char err[512] = "";
	struct api *a = api_start(o, &cfg->api, err, sizeof(err));

	if (a == NULL)
		NF_LOG(ERR, LOG_MOD, "REST API: %s", err);
	else
		NF_LOG(INFO, LOG_MOD, "ready: REST API http://%s:%u/v1/ (%s), bridge %s, OpenFlow "
		       "%s:%u, store %s", cfg->api.addr, api_port(a), cfg->api.token[0] ?
		       "bearer token required for changes" : "no token", cfg->orch.launcher.bridge,
		       cfg->orch.of_addr, cfg->orch.of_port, cfg->redis_url);
	return a;
}

int main(int argc, char **argv)
{
	static struct orch_config cfg;
	struct api *api;
	struct orch *o;
	int rc = config_step(argc, argv, &cfg);

	if (rc >= 0)
		return rc;
	log_setup(cfg.log_level);
	signal(SIGPIPE, SIG_IGN);
	o = core_step(&cfg);
	if (o == NULL)
		return EXIT_RUNTIME;
	the_orch = o;
	signals_setup();
	api = api_step(o, &cfg);
	rc = api != NULL ? orch_run(o) : -EIO;
	api_stop(api);
	NF_LOG(INFO, LOG_MOD, "exiting: %s", cfg.orch.stop_instances_on_exit ?
	       "stopping the instances" : "the instances keep running (a restart adopts them)");
	the_orch = NULL;
	orch_destroy(o);
	return rc < 0 ? EXIT_RUNTIME : 0;
}
