/* Golden packets through the real build/nf-lb (DPDK net_pcap ports, --no-huge) on one
 * redis-server: tests/golden/lb_*.pcap in, output compared byte for byte with the expected
 * pcaps of tests/golden/gen_golden_lb.py, then the printed counters and the per-backend
 * counters in the store. Three processes in turn share the connections. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include "tests/harness/golden_run.h"
#include "tests/harness/nfproc.h"
#include "tests/harness/redis_server.h"
#include "tests/harness/tmpdir.h"

#define EXIT_WAIT_MS 30000

static char dir[64];
static char golden_files[PATH_MAX];
static struct redis_server rs;
static redisContext *admin;
static struct nfproc proc;

static void setup(void)
{
	int rc;

	memset(&proc, 0, sizeof(proc));
	cr_assert_eq(golden_dir("lb_config.json", golden_files, sizeof(golden_files)), 0);
	rc = tmpdir_make("snf-lbgold", dir, sizeof(dir));
	cr_assert_eq(rc, 0, "mkdtemp: %s", strerror(-rc));
	cr_assert_eq(redis_server_start_admin(&rs, &admin), 0, "redis-server did not start");
}

static void teardown(void)
{
	nfproc_kill(&proc);
	redis_server_stop_admin(&rs, &admin);
	tmpdir_remove(dir);
}

TestSuite(lb_golden, .init = setup, .fini = teardown, .timeout = 120);

/* tests/golden/<name>. */
static const char *golden(const char *name)
{
	static char bufs[8][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 8];

	cr_assert_lt(snprintf(b, PATH_MAX, "%s/%s", golden_files, name), PATH_MAX);
	return b;
}

/* Every "name value" line of tests/golden/lb_<scen>.counters matches what the process
 * printed, and it printed no other drop_* counter. */
static void expect_counters(const struct nfproc *p, const char *scen)
{
	char name[64], msg[256];

	snprintf(name, sizeof(name), "lb_%s.counters", scen);
	cr_assert_eq(golden_counters_diff(p, golden(name), msg, sizeof(msg)), 0, "%s: %s", scen, msg);
}

/* Every "key field value" line of tests/golden/lb_<scen>.store is in the store. */
static void expect_store(const char *scen)
{
	char name[64], line[256], key[128], field[32];
	long long v;
	FILE *f;

	snprintf(name, sizeof(name), "lb_%s.store", scen);
	f = fopen(golden(name), "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		redisReply *r;

		if (sscanf(line, "%127s %31s %lld", key, field, &v) != 3)
			continue;
		r = redisCommand(admin, "HGET %s %s", key, field);
		cr_assert(r != NULL && r->type == REDIS_REPLY_STRING, "%s: no %s %s in the store", scen,
			  key, field);
		cr_expect_eq(atoll(r->str), v, "%s: %s %s is %s, expected %lld", scen, key, field, r->str, v);
		freeReplyObject(r);
	}
	fclose(f);
}

/* Run nf-lb on scenario 'scen' ('n_ports' ports) until it goes idle, then check everything:
 * output packets, counters and per-backend counters in the store. */
static void run_scenario(const char *scen, unsigned n_ports, unsigned lcore)
{
	char exe[PATH_MAX], url[64], name[32], msg[8192];
	struct golden_run r = { .exe = exe, .golden_dir = golden_files, .out_dir = dir, .name = name,
				.n_ports = n_ports, .lcore = nfproc_pick_lcore(lcore) };

	cr_assert_eq(nfproc_build_path("nf-lb", exe, sizeof(exe)), 0);
	snprintf(name, sizeof(name), "lb_%s", scen);
	redis_server_url(&rs, url, sizeof(url));
	cr_assert_eq(golden_run(&proc, &r, EXIT_WAIT_MS, msg, sizeof(msg),
				"--id lb-%s --store %s --config %s --idle-exit-ms 500 "
				"--stats-interval-ms 0%s", scen, url, golden("lb_config.json"),
				n_ports == 1 ? " --one-armed" : ""), 0, "%s: %s", scen, msg);
	expect_counters(&proc, scen);
	expect_store(scen);
}

Test(lb_golden, three_instances_one_store)
{
	redisReply *r;

	run_scenario("in", 2, 0);
	/* The first instance published its configured pool: the store had none. */
	r = redisCommand(admin, "GET lb:pool_ver");
	cr_assert(r != NULL && r->type == REDIS_REPLY_STRING && strcmp(r->str, "1") == 0);
	freeReplyObject(r);
	run_scenario("out", 2, 1);
	run_scenario("onearm", 1, 0);
	r = redisCommand(admin, "GET lb:pool_ver");
	cr_assert_str_eq(r->str, "1", "later instances with the same pool publish nothing");
	freeReplyObject(r);
}
