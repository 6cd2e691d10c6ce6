/* Golden packet tests of the firewall: the real build/nf-firewall, one new process per
 * scenario on one store, on the pcaps of tests/golden (made by gen_golden_fw.py): output
 * packets byte for byte, counters, and the connection states left in the store. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include "nfs/firewall/fw_conn.h"
#include "tests/harness/golden.h"
#include "tests/harness/golden_run.h"
#include "tests/harness/nfproc.h"
#include "tests/harness/redis_server.h"
#include "tests/harness/tmpdir.h"

#define EXIT_WAIT_MS 20000
#define FW_ARGS "--idle-exit-ms 500 --stats-interval-ms 0"

/* One scenario: <name>.in<N>.pcap in, <name>.want<N>.pcap, .counters and .store expected. */
struct scenario {
	const char *name;
	unsigned n_ports;
	const char *args;	/* beyond FW_ARGS */
};

static char dir[64];
static char golden[PATH_MAX];
static char exe[PATH_MAX];
static struct redis_server rs;
static struct nfproc nf;

static void teardown(void)
{
	nfproc_kill(&nf);
	redis_server_stop(&rs);
	tmpdir_remove(dir);
}

static void setup(void)
{
	int ret;

	memset(&nf, 0, sizeof(nf));
	memset(&rs, 0, sizeof(rs));
	cr_assert_eq(golden_dir("fw_rules.json", golden, sizeof(golden)), 0);
	cr_assert_eq(nfproc_build_path("nf-firewall", exe, sizeof(exe)), 0);
	cr_assert(access(exe, X_OK) == 0, "%s: %s (make all)", exe, strerror(errno));
	ret = tmpdir_make("snf-fwgolden", dir, sizeof(dir));
	cr_assert_eq(ret, 0, "mkdtemp: %s", strerror(-ret));
	ret = redis_server_start(&rs, NULL);
	if (ret != 0)
		teardown();
	cr_assert_eq(ret, 0, "cannot start redis-server: %s", strerror(-ret));
}

TestSuite(fw_golden, .init = setup, .fini = teardown, .timeout = 120);

static void pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	cr_assert(n > 0 && n < PATH_MAX, "path too long");
}

/* Every counter of <name>.counters has its value; every other drop_* counter is zero. */
static void expect_counters(const struct scenario *s)
{
	char path[PATH_MAX], msg[256];

	pathf(path, "%s/%s.counters", golden, s->name);
	cr_assert_eq(golden_counters_diff(&nf, path, msg, sizeof(msg)), 0, "%s: %s", s->name, msg);
}

static uint8_t proto_num(const char *p)
{
	return strcmp(p, "tcp") == 0 ? IPPROTO_TCP : strcmp(p, "udp") == 0 ? IPPROTO_UDP : IPPROTO_ICMP;
}

/* The state name of the connection of one flow in the store, "none" without one. */
static const char *stored_state(redisContext *c, const char *proto, const char *src, unsigned sport,
				const char *dst, unsigned dport)
{
	struct flow_key k = { .src_port = htons((uint16_t)sport), .dst_port = htons((uint16_t)dport),
			      .proto = proto_num(proto) };
	static char state[32];
	struct fw_ckey ck;
	char key[64] = "firewall:c";
	redisReply *r;
	uint8_t side;

	cr_assert(inet_pton(AF_INET, src, &k.src_ip) == 1 && inet_pton(AF_INET, dst, &k.dst_ip) == 1);
	fw_ckey_make(&k, &ck, &side);
	memcpy(key + 10, &ck, sizeof(ck));
	r = redisCommand(c, "GET %b", key, (size_t)10 + sizeof(ck));
	cr_assert_not_null(r);
	snprintf(state, sizeof(state), "%s", r->type == REDIS_REPLY_STRING && r->len == 32
		 ? fw_state_name((uint8_t)r->str[1]) : "none");
	freeReplyObject(r);
	return state;
}

static void expect_store(const struct scenario *s)
{
	char path[PATH_MAX], line[256], proto[8], src[32], dst[32], want[32];
	redisContext *c = redisConnectUnix(rs.unix_path);
	unsigned sport, dport;
	FILE *f;

	cr_assert(c != NULL && c->err == 0);
	pathf(path, "%s/%s.store", golden, s->name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *got;

		if (sscanf(line, "%7s %31s %u %31s %u %31s", proto, src, &sport, dst, &dport, want) != 6)
			continue;
		got = stored_state(c, proto, src, sport, dst, dport);
		cr_assert_str_eq(got, want, "%s: %s %s:%u -> %s:%u is %s in the store, expected %s",
				 s->name, proto, src, sport, dst, dport, got, want);
	}
	fclose(f);
	redisFree(c);
}

/* Run nf-firewall as instance 'id' on the scenario's pcaps and check everything it left. */
static void run_scenario(const struct scenario *s, const char *id)
{
	struct golden_run r = { .exe = exe, .golden_dir = golden, .out_dir = dir, .name = s->name,
				.n_ports = s->n_ports, .lcore = nfproc_pick_lcore(0) };
	char url[64], msg[8192];

	redis_server_url(&rs, url, sizeof(url));
	cr_assert_eq(golden_run(&nf, &r, EXIT_WAIT_MS, msg, sizeof(msg),
				"--store %s --id %s " FW_ARGS " %s", url, id, s->args), 0, "%s: %s",
		     s->name, msg);
	expect_counters(s);
	expect_store(s);
}

Test(fw_golden, four_instances_carry_connections_in_turn)
{
	char rules[PATH_MAX], a1[PATH_MAX + 16], a4[PATH_MAX + 64];
	struct scenario fw_new = { "fw_new", 2, a1 };
	struct scenario fw_reply = { "fw_reply", 2, "" };
	struct scenario fw_data = { "fw_data", 2, "" };
	struct scenario fw_onearm = { "fw_onearm", 1, a4 };

	pathf(rules, "%s/fw_rules.json", golden);
	snprintf(a1, sizeof(a1), "--rules %s", rules);
	snprintf(a4, sizeof(a4), "--rules %s --one-armed --inside-prefix 10.0.0.0/8", rules);
	run_scenario(&fw_new, "golden-a");
	run_scenario(&fw_reply, "golden-b");
	run_scenario(&fw_data, "golden-c");
	run_scenario(&fw_onearm, "golden-d");
}

Test(fw_golden, local_mode_forgets_everything_between_runs)
{
	char rules[PATH_MAX], rx[PATH_MAX], tx[PATH_MAX];
	struct nfproc_cfg cfg = { .exe = exe, .dir = dir, .name = "local", .n_ports = 1,
				  .lcore = nfproc_pick_lcore(0) };
	static struct golden_pkts got;
	char msg[256];
	int rc;

	/* fw_reply's answers through a local-mode instance: it never saw the SYNs. */
	pathf(rules, "%s/fw_rules.json", golden);
	pathf(rx, "%s/fw_reply.in1.pcap", golden);
	pathf(tx, "%s/local.out0.pcap", dir);
	cfg.rx[0] = rx;
	cfg.tx[0] = tx;
	rc = nfproc_start(&nf, &cfg, "--mode local --rules %s --one-armed --inside-prefix 10.0.0.0/8 "
			  FW_ARGS, rules);
	cr_assert_eq(rc, 0);
	cr_assert_eq(nfproc_wait(&nf, EXIT_WAIT_MS), 0);
	cr_assert(nfproc_exited_ok(&nf));
	cr_assert_eq(golden_pcap_read(tx, &got, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(got.n, 0, "a local-mode instance let %u answers without a connection in", got.n);
	cr_assert_eq(nfproc_counter(&nf, "rx"), 7);
}
