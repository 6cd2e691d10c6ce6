/* Golden packets through the real build/nf-lb (DPDK net_pcap ports, --no-huge) on one
 * redis-server: tests/golden/lb_*.pcap in, output compared byte for byte with the expected
 * pcaps of tests/golden/gen_golden_lb.py, then the printed counters and the per-backend
 * counters in the store. Three processes in turn share the connections. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <pcap/pcap.h>

#include "tests/harness/nfproc.h"
#include "tests/harness/redis_server.h"

#define MAX_PKTS 32
#define MAX_PKT_SIZE 1514
#define EXIT_WAIT_MS 30000

struct pkts {
	unsigned n;
	unsigned size[MAX_PKTS];
	unsigned char data[MAX_PKTS][MAX_PKT_SIZE];
};

static char dir[64];
static struct redis_server rs;
static redisContext *admin;
static struct nfproc proc;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/snf-lbgold-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	memset(&proc, 0, sizeof(proc));
	cr_assert_eq(redis_server_start(&rs, NULL), 0, "redis-server did not start");
	admin = redisConnectUnix(rs.unix_path);
	cr_assert(admin != NULL && admin->err == 0);
}

static void teardown(void)
{
	nfproc_kill(&proc);
	if (admin != NULL)
		redisFree(admin);
	admin = NULL;
	redis_server_stop(&rs);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(lb_golden, .init = setup, .fini = teardown, .timeout = 120);

/* tests/golden/<name>, found from the build directory. */
static const char *golden(const char *name)
{
	static char bufs[8][PATH_MAX];
	static unsigned next;
	char rel[256], *b = bufs[next++ % 8];

	snprintf(rel, sizeof(rel), "../tests/golden/%s", name);
	cr_assert_eq(nfproc_build_path(rel, b, PATH_MAX), 0);
	return b;
}

static const char *tmp(const char *name)
{
	static char bufs[8][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 8];

	snprintf(b, PATH_MAX, "%s/%s", dir, name);
	return b;
}

static void pcap_read(const char *file, struct pkts *ps)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(file, errbuf);
	struct pcap_pkthdr *h;
	const u_char *data;

	cr_assert_not_null(p, "pcap_open_offline %s: %s", file, errbuf);
	ps->n = 0;
	while (pcap_next_ex(p, &h, &data) == 1) {
		cr_assert_lt(ps->n, MAX_PKTS, "%s: too many packets", file);
		cr_assert_leq(h->caplen, MAX_PKT_SIZE);
		ps->size[ps->n] = h->caplen;
		memcpy(ps->data[ps->n], data, h->caplen);
		ps->n++;
	}
	pcap_close(p);
}

/* 'got' holds exactly the packets of 'want', in order, byte for byte. */
static void expect_pcap(const char *got_file, const char *want_file)
{
	static struct pkts got, want;

	pcap_read(got_file, &got);
	pcap_read(want_file, &want);
	cr_assert_eq(got.n, want.n, "%s: %u packets, expected %u (%s)", got_file, got.n, want.n, want_file);
	for (unsigned i = 0; i < want.n; i++) {
		unsigned off = 0;

		cr_assert_eq(got.size[i], want.size[i], "%s: packet %u is %u bytes, expected %u", want_file,
			     i, got.size[i], want.size[i]);
		while (off < want.size[i] && got.data[i][off] == want.data[i][off])
			off++;
		cr_assert_eq(off, want.size[i], "%s: packet %u differs at byte %u (got 0x%02x, want 0x%02x)",
			     want_file, i, off, got.data[i][off], want.data[i][off]);
	}
}

/* Every "name value" line of tests/golden/lb_<scen>.counters matches what the process printed. */
static void expect_counters(const struct nfproc *p, const char *scen)
{
	char name[64], line[128];
	unsigned long long v;
	FILE *f;

	snprintf(name, sizeof(name), "lb_%s.counters", scen);
	f = fopen(golden(name), "r");
	cr_assert_not_null(f, "%s", golden(name));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%63s %llu", name, &v) != 2)
			continue;
		cr_expect_eq(nfproc_counter(p, name), v, "%s: counter %s is %llu, expected %llu", scen,
			     name, nfproc_counter(p, name), v);
	}
	fclose(f);
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

/* Run nf-lb on scenario 'scen' ('n_ports' ports) until it goes idle, then check everything. */
static void run_scenario(const char *scen, unsigned n_ports, unsigned lcore)
{
	char exe[PATH_MAX], url[64], in[2][64], out[2][64], want[64];
	struct nfproc_cfg cfg = { .exe = exe, .dir = dir, .name = scen, .n_ports = n_ports,
				  .lcore = nfproc_pick_lcore(lcore) };

	cr_assert_eq(nfproc_build_path("nf-lb", exe, sizeof(exe)), 0);
	redis_server_url(&rs, url, sizeof(url));
	for (unsigned i = 0; i < n_ports; i++) {
		snprintf(in[i], sizeof(in[i]), "lb_%s.in%u.pcap", scen, i);
		snprintf(out[i], sizeof(out[i]), "%s.out%u.pcap", scen, i);
		cfg.rx[i] = strdup(golden(in[i]));
		cfg.tx[i] = strdup(tmp(out[i]));
	}
	cr_assert_eq(nfproc_start(&proc, &cfg, "--id lb-%s --store %s --config %s --idle-exit-ms 500 "
				  "--stats-interval-ms 0%s", scen, url, golden("lb_config.json"),
				  n_ports == 1 ? " --one-armed" : ""), 0);
	cr_assert_eq(nfproc_wait(&proc, EXIT_WAIT_MS), 0, "%s: nf-lb did not exit", scen);
	cr_assert(nfproc_exited_ok(&proc), "%s: nf-lb failed (status 0x%x): %s", scen, proc.status,
		  nfproc_slurp(proc.err));
	for (unsigned i = 0; i < n_ports; i++) {
		snprintf(want, sizeof(want), "lb_%s.want%u.pcap", scen, i);
		expect_pcap(cfg.tx[i], golden(want));
		free((char *)cfg.rx[i]);
		free((char *)cfg.tx[i]);
	}
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
