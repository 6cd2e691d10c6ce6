/* The nfv-orchestrator configuration (orchestrator/config.c): defaults, the JSON file, the
 * options and their precedence, and a table of bad settings, each rejected with the field
 * named; the daemon itself exits with status 2 on them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "orchestrator/config.h"
#include "tests/harness/nfproc.h"

#define ARGV_MAX 32

static char cfg_path[64];

/* Parse "nfv-orchestrator" + the space-separated 'args' (no quoting). */
static int parse(const char *args, struct orch_config *c, char *err, size_t errsz)
{
	static char buf[1024];
	char *argv[ARGV_MAX] = { "nfv-orchestrator" }, *save = NULL;
	int argc = 1;

	snprintf(buf, sizeof(buf), "%s", args);
	for (char *t = strtok_r(buf, " ", &save); t != NULL && argc < ARGV_MAX - 1;
	     t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	err[0] = '\0';
	return config_parse(argc, argv, c, err, errsz);
}

static void write_cfg(const char *text)
{
	FILE *f;

	snprintf(cfg_path, sizeof(cfg_path), "/tmp/snf-orchcfg-%d.json", (int)getpid());
	f = fopen(cfg_path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static void fini(void)
{
	if (cfg_path[0])
		unlink(cfg_path);
}

TestSuite(orch_config, .fini = fini, .timeout = 30);

Test(orch_config, defaults)
{
	struct orch_config c;
	char err[512];

	cr_assert_eq(parse("--uplink-inside a --uplink-outside b", &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.api.addr, "127.0.0.1");
	cr_assert_eq(c.api.port, 8181);
	cr_assert_str_eq(c.orch.store.host, "127.0.0.1");
	cr_assert_eq(c.orch.store.port, 6379);
	cr_assert_str_eq(c.orch.launcher.bridge, "snf-br0");
	cr_assert_str_eq(c.orch.of_addr, "127.0.0.1");
	cr_assert_eq(c.orch.of_port, 6653);
	cr_assert_eq(c.orch.heartbeat_ms, 100);
	cr_assert_eq(c.orch.launcher.heartbeat_ms, 100);
	cr_assert_str_eq(c.orch.launcher.store_url, "127.0.0.1:6379");
	cr_assert_str_eq(c.orch.launcher.run_dir, "/run/nfv-orchestrator");
	cr_assert_eq(c.orch.launcher.lcore, -1);
	cr_assert_not(c.orch.stop_instances_on_exit);
	cr_assert_neq(c.orch.launcher.bin_dir[0], '\0');
}

Test(orch_config, file_then_options)
{
	struct orch_config c;
	char err[512], args[256];

	write_cfg("{\"listen\": \"127.0.0.1:9000\", \"redis\": \"unix:/run/r.sock\", \"bridge\": \"brx\","
		  " \"uplink_inside\": \"ui\", \"uplink_outside\": \"uo\", \"heartbeat_ms\": 50,"
		  " \"token\": \"t0k\", \"stop_instances_on_exit\": true, \"nf_lcore\": 1,"
		  " \"nf_nice\": -5, \"openflow\": \"127.0.0.1:7000\"}");
	snprintf(args, sizeof(args), "--config %s --heartbeat-ms 200 --bridge bry", cfg_path);
	cr_assert_eq(parse(args, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.api.port, 9000);
	cr_assert_str_eq(c.api.token, "t0k");
	cr_assert_str_eq(c.orch.store.unix_path, "/run/r.sock");
	cr_assert_str_eq(c.orch.launcher.store_url, "unix:/run/r.sock");
	cr_assert_str_eq(c.orch.launcher.bridge, "bry", "options override the file");
	cr_assert_eq(c.orch.heartbeat_ms, 200);
	cr_assert_eq(c.orch.launcher.heartbeat_ms, 200);
	cr_assert_eq(c.orch.of_port, 7000);
	cr_assert_eq(c.orch.launcher.lcore, 1);
	cr_assert_eq(c.orch.nf_nice, -5);
	cr_assert(c.orch.stop_instances_on_exit);
}

Test(orch_config, help)
{
	struct orch_config c;
	char err[512];

	cr_assert_eq(parse("--help", &c, err, sizeof(err)), 1);
}

/* Arrays, not pointers: Criterion copies the parameters into the test's process. */
struct bad {
	char file[64];		/* JSON config, or "" */
	char args[64];		/* after --uplink-inside a --uplink-outside b (and --config) */
	char want[64];		/* in the message */
};

static struct bad bads[] = {
	{ "", "--heartbeat-ms 5", "--heartbeat-ms: '5' is not an integer in 10-10000" },
	{ "", "--heartbeat-ms x", "--heartbeat-ms:" },
	{ "", "--listen 127.0.0.1", "--listen: '127.0.0.1' is not ADDR:PORT" },
	{ "", "--listen localhost:80", "--listen: 'localhost' is not a numeric" },
	{ "", "--listen 127.0.0.1:70000", "--listen:" },
	{ "", "--openflow 1.2.3.4:0", "--openflow:" },
	{ "", "--bridge this-name-is-too-long", "--bridge:" },
	{ "", "--redis redis://", "--redis:" },
	{ "", "--ovs-db /var/run/db.sock", "--ovs-db: '/var/run/db.sock' is not unix:PATH" },
	{ "", "--launcher docker", "--launcher: 'docker' is not one of: process" },
	{ "", "--run-dir relative", "--run-dir: 'relative' is not an absolute path" },
	{ "", "--nf-mem-mb 1", "--nf-mem-mb:" },
	{ "", "--nf-lcore -2", "--nf-lcore:" },
	{ "", "--nf-nice 20", "--nf-nice:" },
	{ "", "--log-level loud", "--log-level: 'loud' is not one of" },
	{ "", "--bogus 1", "--bogus: unknown option" },
	{ "", "extra", "extra: unexpected argument" },
	{ "{\"heartbeat_ms\": \"100\"}", "", ": heartbeat_ms: must be an integer" },
	{ "{\"heartbeat_ms\": 0}", "", ": heartbeat_ms: '0' is not an integer in 10-10000" },
	{ "{\"stop_instances_on_exit\": 1}", "", ": stop_instances_on_exit: must be true or false" },
	{ "{\"listen\": 8181}", "", ": listen: must be a string" },
	{ "{\"lissten\": \"127.0.0.1:1\"}", "", ": lissten: unknown field" },
	{ "[1, 2]", "", ": must be a JSON object" },
	{ "{\"listen\": ", "", "(line 1)" },
	{ "{\"uplink_outside\": \"a\"}", "--uplink-inside a", "uplink_outside: must differ" },
};

ParameterizedTestParameters(orch_config, bad_settings)
{
	return cr_make_param_array(struct bad, bads, sizeof(bads) / sizeof(bads[0]));
}

ParameterizedTest(struct bad *b, orch_config, bad_settings)
{
	struct orch_config c;
	char err[1024], args[512];

	if (b->file[0] != '\0') {
		write_cfg(b->file);
		snprintf(args, sizeof(args), "--config %s %s", cfg_path,
			 strstr(b->file, "uplink_outside") ? b->args :
			 "--uplink-inside a --uplink-outside b");
		if (!strstr(b->file, "uplink_outside") && b->args[0])
			snprintf(args + strlen(args), sizeof(args) - strlen(args), " %s", b->args);
	} else {
		snprintf(args, sizeof(args), "--uplink-inside a --uplink-outside b %s", b->args);
	}
	cr_assert_eq(parse(args, &c, err, sizeof(err)), -EINVAL, "accepted: %s", args);
	cr_assert(strstr(err, b->want) != NULL, "'%s': message '%s' lacks '%s'", args, err, b->want);
}

/* The default uplinks are optional (every NF may name its own), but go together. */
Test(orch_config, default_uplinks_both_or_neither)
{
	struct orch_config c;
	char err[512];

	cr_assert_eq(parse("", &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_empty(c.orch.uplink_in);
	cr_assert_eq(parse("--uplink-inside a", &c, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "uplink_outside: required") != NULL, "%s", err);
	cr_assert_eq(parse("--uplink-outside b", &c, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "uplink_inside: required") != NULL, "%s", err);
	cr_assert_eq(parse("--uplink-inside a --uplink-outside a", &c, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "uplink_outside: must differ") != NULL, "%s", err);
}

/* The daemon: a bad setting exits 2 naming it, before touching anything. */
Test(orch_config, daemon_exits_2)
{
	char exe[4096], cmd[4200], out[1024] = "";
	FILE *p;
	int st;

	cr_assert_eq(nfproc_build_path("nfv-orchestrator", exe, sizeof(exe)), 0);
	snprintf(cmd, sizeof(cmd), "%s --uplink-inside a --uplink-outside b --heartbeat-ms 0 2>&1", exe);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	if (fgets(out, sizeof(out), p) == NULL)
		out[0] = '\0';
	st = pclose(p);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "exit status 0x%x: %s", st, out);
	cr_assert(strstr(out, "--heartbeat-ms:") != NULL, "%s", out);
}
