/* Golden packet tests of the NAT: the real build/nf-nat on the pcaps of tests/golden
 * (made by tests/golden/gen_golden.py), output compared packet by packet and field by field. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include "tests/harness/golden_run.h"
#include "tests/harness/nfproc.h"
#include "tests/harness/redis_server.h"
#include "tests/harness/tmpdir.h"

#define EXIT_WAIT_MS 20000	/* a run on a few packets ends well within this */
#define MAX_CTRS 64

/* NF options of every run; the scenarios and their expected ports depend on them. */
#define NAT_ARGS "--public-ip 203.0.113.1 --port-range 20000-20099 --idle-exit-ms 500 " \
		 "--stats-interval-ms 0"

struct ctr_want {
	const char *name;
	unsigned long long value;
};

/* One golden scenario: <name>.in<N>.pcap in, <name>.want<N>.pcap expected out. */
struct scenario {
	const char *name;
	unsigned n_ports;
	const char *args;		/* beyond NAT_ARGS */
	struct ctr_want ctrs[16];	/* every drop_* counter not listed must be zero */
};

static const struct scenario outbound = {
	"outbound", 2, "",
	{ { "rx", 18 }, { "tx", 12 }, { "tx_fail", 0 }, { "passthrough", 2 },
	  { "drop_ip_len", 1 }, { "drop_ip_ihl", 1 }, { "drop_tcp_doff", 1 },
	  { "drop_ip_csum", 1 }, { "drop_frag_later", 1 }, { "drop_unsupported", 1 },
	  { "cksum_partial", 1 }, { "flows_created", 8 } },
};

static const struct scenario inbound = {
	"inbound", 2, "",
	{ { "rx", 11 }, { "tx", 10 }, { "tx_fail", 0 }, { "passthrough", 1 },
	  { "drop_no_mapping", 1 }, { "cksum_partial", 1 }, { "flows_created", 0 },
	  { "write_through", 7 } },
};

static const struct scenario onearmed = {
	"onearmed", 1, "--one-armed",
	{ { "rx", 11 }, { "tx", 10 }, { "tx_fail", 0 }, { "passthrough", 1 },
	  { "drop_no_mapping", 1 }, { "cksum_partial", 0 }, { "flows_created", 4 },
	  { "write_through", 2 } },
};

static char dir[64];			/* per-test temporary directory: outputs, logs */
static char golden[PATH_MAX];		/* tests/golden */
static char exe[PATH_MAX];		/* build/nf-nat */
static struct redis_server rs;
static struct nfproc nf;		/* the NF of the current run (killed by .fini if alive) */

/* FLUSHALL the test's server. Returns 0 or -EIO. */
static int flushall(void)
{
	redisContext *c = redisConnect("127.0.0.1", rs.port);
	redisReply *r = c != NULL && c->err == 0 ? redisCommand(c, "FLUSHALL") : NULL;
	int ret = r != NULL && r->type == REDIS_REPLY_STATUS ? 0 : -EIO;

	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return ret;
}

static void teardown(void)
{
	nfproc_kill(&nf);
	redis_server_stop(&rs);
	tmpdir_remove(dir);
}

/* Criterion skips .fini when .init fails: undo what was done before failing. */
static void setup(void)
{
	int ret;

	memset(&nf, 0, sizeof(nf));
	memset(&rs, 0, sizeof(rs));
	cr_assert_eq(golden_dir("outbound.in0.pcap", golden, sizeof(golden)), 0);
	cr_assert_eq(nfproc_build_path("nf-nat", exe, sizeof(exe)), 0);
	cr_assert(access(exe, X_OK) == 0, "%s: %s (make all)", exe, strerror(errno));
	ret = tmpdir_make("snf-golden", dir, sizeof(dir));
	cr_assert_eq(ret, 0, "mkdtemp: %s", strerror(-ret));
	ret = redis_server_start(&rs, NULL);
	if (ret == 0)
		ret = flushall();
	if (ret != 0)
		teardown();
	cr_assert_eq(ret, 0, "cannot start and flush redis-server: %s", strerror(-ret));
}

TestSuite(golden_nat, .init = setup, .fini = teardown, .timeout = 60);

static bool listed(const struct scenario *s, const char *name)
{
	for (unsigned i = 0; i < sizeof(s->ctrs) / sizeof(s->ctrs[0]) && s->ctrs[i].name; i++)
		if (strcmp(s->ctrs[i].name, name) == 0)
			return true;
	return false;
}

/* The counters 's' lists have their values; no other drop_* counter is non-zero. */
static void expect_counters(const struct scenario *s)
{
	struct nfproc_counter c[MAX_CTRS];
	unsigned n = nfproc_counters(&nf, c, MAX_CTRS);

	cr_assert_gt(n, 0, "%s: no counters printed:\n%s", s->name, nfproc_slurp(nf.out));
	for (unsigned i = 0; i < sizeof(s->ctrs) / sizeof(s->ctrs[0]) && s->ctrs[i].name; i++) {
		unsigned long long v = nfproc_counter(&nf, s->ctrs[i].name);

		cr_expect_eq(v, s->ctrs[i].value, "%s: counter %s %llu, expected %llu", s->name,
			     s->ctrs[i].name, v, s->ctrs[i].value);
	}
	for (unsigned i = 0; i < n; i++)
		cr_expect(strncmp(c[i].name, "drop_", 5) != 0 || listed(s, c[i].name),
			  "%s: unexpected counter %s %llu", s->name, c[i].name, c[i].value);
}

/* Run nf-nat on scenario 's' against the test's store, as instance 'id', and check
 * every output port and the counters. */
static void run_scenario(const struct scenario *s, const char *id)
{
	struct golden_run r = { .exe = exe, .golden_dir = golden, .out_dir = dir, .name = s->name,
				.n_ports = s->n_ports, .lcore = nfproc_pick_lcore((unsigned)getpid()) };
	char url[64], msg[8192];

	redis_server_url(&rs, url, sizeof(url));
	cr_assert_eq(golden_run(&nf, &r, EXIT_WAIT_MS, msg, sizeof(msg),
				"--store %s --id %s " NAT_ARGS " %s", url, id, s->args), 0, "%s: %s",
		     s->name, msg);
	expect_counters(s);
}

Test(golden_nat, outbound_translated_malformed_dropped_arp_passes, .timeout = 60)
{
	run_scenario(&outbound, "golden-a");
}

/* The return traffic goes through another process than the one that created the mappings. */
Test(golden_nat, inbound_translated_by_a_second_instance, .timeout = 60)
{
	run_scenario(&outbound, "golden-a");
	run_scenario(&inbound, "golden-b");
}

/* All three in order on one store: the one-armed run continues the port cursors and
 * reuses an outbound mapping. */
Test(golden_nat, onearmed_after_outbound_and_inbound, .timeout = 60)
{
	run_scenario(&outbound, "golden-a");
	run_scenario(&inbound, "golden-b");
	run_scenario(&onearmed, "golden-c");
}
