/* nf-lb command line: bad configuration exits with status 2 and names the field; the pool
 * is published when the store has none, kept otherwise, replaced with --publish-pool. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <hiredis/hiredis.h>

#include "tests/harness/golden.h"
#include "tests/harness/nfproc.h"
#include "tests/harness/redis_server.h"
#include "tests/harness/tmpdir.h"

struct cli_case {
	char config[240];	/* JSON written to the --config file, or "" for none */
	char args[120];		/* NF options after '--' */
	char want[100];		/* fragment of the message on stderr */
};

/* Run nf-lb in local mode; returns its exit status and leaves stderr in 'err'. */
static int run_lb(const struct cli_case *c, char *err, size_t errsz)
{
	struct nfproc_cli cli = { .exe = "nf-lb", .pre = "--mode local", .file_opt = "--config",
				  .file_text = c->config, .args = c->args };

	return nfproc_cli_run(&cli, err, errsz);
}

#define SVC(backends) "{\"services\": [{\"vip\": \"192.0.2.10\", \"port\": 80, \"backends\": [" backends "]}]}"
#define B(n) "{\"address\": \"10.1.0." #n "\", \"port\": 80}"

ParameterizedTestParameters(lb_cli, bad_config_exits_2)
{
	static struct cli_case cases[] = {
		{ SVC(B(1) "," B(2) ", {\"address\": \"10.1.0.3\", \"port\": 70000}"), "",
		  "services[0].backends[2].port: 70000 is not a port" },
		{ SVC("{\"address\": \"10.1.0.x\", \"port\": 80}"), "",
		  "services[0].backends[0].address: '10.1.0.x' is not an IPv4 address" },
		{ SVC("{\"address\": \"10.1.0.1\", \"port\": 80, \"weight\": 0}"), "",
		  "services[0].backends[0].weight: 0 is out of range 1-65535" },
		{ "{\"services\": [{\"vip\": \"192.0.2.10\", \"port\": 80, \"proto\": \"sctp\", \"backends\": []}]}",
		  "", "services[0].proto: 'sctp' is not tcp or udp" },
		{ "{\"services\": []", "", "line 1" },
		{ "", "", "services: at least one service is required in local mode" },
		{ SVC(B(1)), "--publish-pool", "--publish-pool: needs --config and a store" },
		{ SVC(B(1)), "--timeout tcp=0", "--timeout: 'tcp=0'" },
		{ SVC(B(1)), "--timeout sctp=5", "--timeout: 'sctp=5'" },
		{ SVC(B(1)), "--mode fast", "--mode" },
	};
	return cr_make_param_array(struct cli_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct cli_case *c, lb_cli, bad_config_exits_2, .timeout = 30)
{
	char err[4096];
	int st = run_lb(c, err, sizeof(err));

	cr_assert_eq(st, 2, "exit status %d, stderr: %s", st, err);
	cr_assert(strstr(err, c->want) != NULL, "stderr lacks '%s': %s", c->want, err);
}

Test(lb_cli, missing_config_file_is_named, .timeout = 30)
{
	struct cli_case c = { .args = "--config /nonexistent/lb.json" };
	char err[4096];

	cr_assert_eq(run_lb(&c, err, sizeof(err)), 2);
	cr_assert(strstr(err, "/nonexistent/lb.json") != NULL, "%s", err);
}

/* ---- Publishing through the binary, against a real redis-server ---- */

static char dir[64];
static struct redis_server rs;
static redisContext *admin;
static struct nfproc proc;

/* A pcap with one ARP frame: the process forwards it, then goes idle and exits. */
static void write_arp_pcap(const char *file)
{
	static const uint8_t arp[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1,
					 0x08, 0x06 };
	static struct golden_pkts ps = { .n = 1, .p = { { .size = sizeof(arp) } } };

	memcpy(ps.p[0].data, arp, sizeof(arp));
	cr_assert_eq(golden_pcap_write(file, &ps), 0);
}

static void pub_setup(void)
{
	int rc = tmpdir_make("snf-lbcli", dir, sizeof(dir));

	cr_assert_eq(rc, 0, "mkdtemp: %s", strerror(-rc));
	memset(&proc, 0, sizeof(proc));
	cr_assert_eq(redis_server_start_admin(&rs, &admin), 0);
}

static void pub_teardown(void)
{
	nfproc_kill(&proc);
	redis_server_stop_admin(&rs, &admin);
	tmpdir_remove(dir);
}

/* Run nf-lb once with the pool 'json' as --config and 'extra' options, until it exits. */
static void run_with_pool(const char *json, const char *extra)
{
	char exe[PATH_MAX], url[64], cfgfile[128], rx[128], tx0[128], tx1[128];
	struct nfproc_cfg cfg = { .exe = exe, .dir = dir, .name = "lb", .n_ports = 2,
				  .rx = { rx, rx }, .tx = { tx0, tx1 } };
	FILE *f;

	cr_assert_eq(nfproc_build_path("nf-lb", exe, sizeof(exe)), 0);
	snprintf(cfgfile, sizeof(cfgfile), "%s/lb.json", dir);
	snprintf(rx, sizeof(rx), "%s/arp.pcap", dir);
	snprintf(tx0, sizeof(tx0), "%s/out0.pcap", dir);
	snprintf(tx1, sizeof(tx1), "%s/out1.pcap", dir);
	write_arp_pcap(rx);
	f = fopen(cfgfile, "w");
	fputs(json, f);
	fclose(f);
	redis_server_url(&rs, url, sizeof(url));
	cfg.lcore = nfproc_pick_lcore(0);
	cr_assert_eq(nfproc_start(&proc, &cfg, "--store %s --config %s --idle-exit-ms 300 "
				  "--stats-interval-ms 0 %s", url, cfgfile, extra), 0);
	cr_assert_eq(nfproc_wait(&proc, 30000), 0, "nf-lb did not exit");
	cr_assert(nfproc_exited_ok(&proc), "nf-lb failed: %s", nfproc_slurp(proc.err));
}

/* The store's pool version, and whether its pool names backend 'addr'. */
static long long pool_ver(const char *addr, bool *has)
{
	redisReply *r = redisCommand(admin, "MGET lb:pool_ver lb:pool");
	long long v;

	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
	cr_assert_eq(r->element[1]->type, REDIS_REPLY_STRING, "no pool in the store");
	v = atoll(r->element[0]->str);
	*has = strstr(r->element[1]->str, addr) != NULL;
	freeReplyObject(r);
	return v;
}

Test(lb_cli, pool_published_when_absent_kept_or_replaced, .init = pub_setup, .fini = pub_teardown,
     .timeout = 120)
{
	bool has;

	run_with_pool(SVC(B(1)), "");
	cr_assert_eq(pool_ver("10.1.0.1", &has), 1);
	cr_assert(has);
	/* Another pool in the file: the store's is kept (it is the truth for every instance). */
	run_with_pool(SVC(B(2)), "");
	cr_assert_eq(pool_ver("10.1.0.1", &has), 1);
	cr_assert(has);
	/* --publish-pool replaces it. */
	run_with_pool(SVC(B(2)), "--publish-pool");
	cr_assert_eq(pool_ver("10.1.0.2", &has), 2);
	cr_assert(has);
	/* The same pool again: no new version. */
	run_with_pool(SVC(B(2)), "--publish-pool");
	cr_assert_eq(pool_ver("10.1.0.2", &has), 2);
}
