/* Launching NF instances: the backend interface, its configuration and its wrappers. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "orchestrator/launcher.h"
#include "orchestrator/launcher_int.h"
#include "orchestrator/netdev.h"

#define LAUNCHER_DEFAULT_HB_MS 100
/* Small on purpose: the kernel frees an instance's memory before it reports the exit, so
 * every MB is time a killed instance's traffic waits for rerouting (measured on a loaded
 * machine: 59-71 ms with 98 MB resident, 25-34 ms with 47 MB; see README). 2047 mbufs
 * per port are plenty for af_packet, which copies. */
#define LAUNCHER_DEFAULT_MEM_MB 256
#define LAUNCHER_DEFAULT_MBUFS 2047
/* Removing a port stalls OVS's userspace datapath for 10-40 ms (its sockets overflow and
 * every flow through the bridge loses packets): ended instances leave their ports for
 * the next launch instead. */
#define LAUNCHER_DEFAULT_SPARES 4
#define LAUNCHER_DEFAULT_IDLE_SLEEP_US 100

int launcher_fail(int ret, char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* ---- the interface ---- */

void launcher_cfg_default(struct orch_launcher_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->backend, sizeof(cfg->backend), "process");
	cfg->heartbeat_ms = LAUNCHER_DEFAULT_HB_MS;
	cfg->mem_mb = LAUNCHER_DEFAULT_MEM_MB;
	cfg->lcore = -1;
	cfg->idle_sleep_us = LAUNCHER_DEFAULT_IDLE_SLEEP_US;
	cfg->mbufs = LAUNCHER_DEFAULT_MBUFS;
	cfg->spare_ports = LAUNCHER_DEFAULT_SPARES;
}

static int launcher_mkdir(const char *dir, char *err, size_t errsz)
{
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return launcher_fail(-errno, err, errsz, "run dir %s: %s", dir, strerror(errno));
	return 0;
}

struct orch_launcher *launcher_create(const struct orch_launcher_cfg *cfg, char *err,
				      size_t errsz)
{
	struct orch_launcher *l;

	if (cfg->backend[0] != '\0' && strcmp(cfg->backend, launcher_process_ops.name) != 0) {
		launcher_fail(0, err, errsz, "launcher: unknown backend '%s'", cfg->backend);
		return NULL;
	}
	if (!netdev_name_ok(cfg->bridge) || cfg->run_dir[0] == '\0' || cfg->bin_dir[0] == '\0') {
		launcher_fail(0, err, errsz, "launcher: needs a bridge, a run dir and a bin dir");
		return NULL;
	}
	if (launcher_mkdir(cfg->run_dir, err, errsz) < 0)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		launcher_fail(0, err, errsz, "launcher: out of memory");
		return NULL;
	}
	l->ops = &launcher_process_ops;
	l->cfg = *cfg;
	if (l->cfg.heartbeat_ms == 0)
		l->cfg.heartbeat_ms = LAUNCHER_DEFAULT_HB_MS;
	if (l->cfg.mem_mb == 0)
		l->cfg.mem_mb = LAUNCHER_DEFAULT_MEM_MB;
	if (l->cfg.mbufs == 0)
		l->cfg.mbufs = LAUNCHER_DEFAULT_MBUFS;
	l->ovs.vsctl = l->cfg.ovs_vsctl;
	l->ovs.db = l->cfg.ovs_db;
	l->ovs.timeout_ms = l->cfg.ovs_timeout_ms;
	return l;
}

void launcher_destroy(struct orch_launcher *l)
{
	if (l != NULL)
		l->ops->destroy(l);
}

const struct orch_launcher_cfg *launcher_cfg(const struct orch_launcher *l)
{
	return &l->cfg;
}

int launcher_start(struct orch_launcher *l, const struct orch_nf_spec *spec,
		   struct orch_instance *inst, char *err, size_t errsz)
{
	return l->ops->start(l, spec, inst, err, errsz);
}

int launcher_stop(struct orch_launcher *l, const struct orch_instance *inst, bool graceful,
		  char *err, size_t errsz)
{
	return l->ops->stop(l, inst, graceful, err, errsz);
}

int launcher_cleanup(struct orch_launcher *l, const struct orch_instance *inst, char *err,
		     size_t errsz)
{
	return l->ops->cleanup(l, inst, err, errsz);
}

int launcher_adopt(struct orch_launcher *l, const struct orch_instance *inst, char *err,
		   size_t errsz)
{
	return l->ops->adopt(l, inst, err, errsz);
}

int launcher_watch_fd(struct orch_launcher *l, const struct orch_instance *inst)
{
	return l->ops->watch_fd(l, inst);
}

int launcher_check_exit(struct orch_launcher *l, const struct orch_instance *inst,
			struct launcher_exit *ex)
{
	return l->ops->check_exit(l, inst, ex);
}

void launcher_reap(struct orch_launcher *l)
{
	l->ops->reap(l);
}
