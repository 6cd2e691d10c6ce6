/* Golden packet tests of the firewall: the real build/nf-firewall, one new process per
 * scenario on one store, on the pcaps of tests/golden (made by gen_golden_fw.py): output
 * packets byte for byte, counters, and the connection states left in the store. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <pcap/pcap.h>

#include "nfs/firewall/fw_conn.h"
#include "tests/harness/nfproc.h"
#include "tests/harness/redis_server.h"

#define EXIT_WAIT_MS 20000
#define MAX_PKTS 32
#define MAX_PKT_SIZE 2048
#define FW_ARGS "--idle-exit-ms 500 --stats-interval-ms 0"

struct pkts {
	unsigned n;
	unsigned size[MAX_PKTS];
	uint8_t data[MAX_PKTS][MAX_PKT_SIZE];
};

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

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void find_golden(void)
{
	const char *env = getenv("SNF_GOLDEN_DIR");

	if (env != NULL && env[0] != '\0')
		snprintf(golden, sizeof(golden), "%s", env);
	else if (access("tests/golden/fw_rules.json", R_OK) == 0)
		snprintf(golden, sizeof(golden), "tests/golden");
	else
		cr_assert_eq(nfproc_build_path("../tests/golden", golden, sizeof(golden)), 0);
}

static void teardown(void)
{
	nfproc_kill(&nf);
	redis_server_stop(&rs);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	int ret;

	memset(&nf, 0, sizeof(nf));
	memset(&rs, 0, sizeof(rs));
	find_golden();
	cr_assert_eq(nfproc_build_path("nf-firewall", exe, sizeof(exe)), 0);
	cr_assert(access(exe, X_OK) == 0, "%s: %s (make all)", exe, strerror(errno));
	snprintf(dir, sizeof(dir), "/tmp/snf-fwgolden-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
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

static void pcap_read(const char *file, struct pkts *ps)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(file, errbuf);
	struct pcap_pkthdr *h;
	const u_char *data;

	cr_assert_not_null(p, "pcap_open_offline %s: %s", file, errbuf);
	ps->n = 0;
	while (pcap_next_ex(p, &h, &data) == 1) {
		cr_assert_lt(ps->n, MAX_PKTS, "%s: more than %d packets", file, MAX_PKTS);
		cr_assert(h->caplen == h->len && h->caplen <= MAX_PKT_SIZE, "%s: packet %u", file, ps->n);
		ps->size[ps->n] = h->caplen;
		memcpy(ps->data[ps->n], data, h->caplen);
		ps->n++;
	}
	pcap_close(p);
}

/* "ipv4 10.0.0.5:40000 -> 198.51.100.10:80 proto 6 flags 0x02" or "ethertype 0x0806". */
static void summary(const uint8_t *p, unsigned size, char *buf, size_t bufsz)
{
	unsigned off = (size >= 18 && p[12] == 0x81 && p[13] == 0) ? 18 : 14;
	const uint8_t *ip = p + off, *l4;

	if (size < off + 20 || p[off - 2] != 0x08 || p[off - 1] != 0x00) {
		snprintf(buf, bufsz, "%u bytes, ethertype 0x%02x%02x", size, p[off - 2], p[off - 1]);
		return;
	}
	l4 = ip + (ip[0] & 0xf) * 4;
	snprintf(buf, bufsz, "%u bytes, ipv4 %u.%u.%u.%u:%u -> %u.%u.%u.%u:%u proto %u flags 0x%02x",
		 size, ip[12], ip[13], ip[14], ip[15], l4 + 4 <= p + size ? l4[0] << 8 | l4[1] : 0,
		 ip[16], ip[17], ip[18], ip[19], l4 + 4 <= p + size ? l4[2] << 8 | l4[3] : 0, ip[9],
		 l4 + 14 <= p + size ? l4[13] : 0);
}

static void expect_pcap(const char *got_file, const char *want_file)
{
	static struct pkts got, want;
	char a[160], b[160];

	pcap_read(got_file, &got);
	pcap_read(want_file, &want);
	for (unsigned i = 0; i < got.n && i < want.n; i++) {
		summary(got.data[i], got.size[i], a, sizeof(a));
		summary(want.data[i], want.size[i], b, sizeof(b));
		cr_assert(got.size[i] == want.size[i] && memcmp(got.data[i], want.data[i], got.size[i]) == 0,
			  "%s: packet %u is [%s], expected [%s]", got_file, i, a, b);
	}
	if (got.n > want.n)
		summary(got.data[want.n], got.size[want.n], a, sizeof(a));
	if (want.n > got.n)
		summary(want.data[got.n], want.size[got.n], b, sizeof(b));
	cr_assert_eq(got.n, want.n, "%s: %u packets, expected %u (first extra or missing: %s)", got_file,
		     got.n, want.n, got.n > want.n ? a : b);
}

/* Every counter of <name>.counters has its value; every other drop_* counter is zero. */
static void expect_counters(const struct scenario *s)
{
	char path[PATH_MAX], line[128], name[48], listed[1024] = " ";
	struct nfproc_counter printed[128];
	unsigned long long want;
	unsigned n;
	FILE *f;

	pathf(path, "%s/%s.counters", golden, s->name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%47s %llu", name, &want) != 2)
			continue;
		cr_assert_eq(nfproc_counter(&nf, name), want, "%s: counter %s is %llu, expected %llu",
			     s->name, name, nfproc_counter(&nf, name), want);
		strncat(listed, name, sizeof(listed) - strlen(listed) - 2);
		strcat(listed, " ");
	}
	fclose(f);
	n = nfproc_counters(&nf, printed, 128);
	for (unsigned i = 0; i < n; i++) {
		char pat[sizeof(printed[i].name) + 2] = " ";

		strcat(pat, printed[i].name);
		strcat(pat, " ");
		cr_assert(strncmp(printed[i].name, "drop_", 5) != 0 || strstr(listed, pat) != NULL,
			  "%s: unexpected %s %llu", s->name, printed[i].name, printed[i].value);
	}
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
	char rx[NFPROC_MAX_PORTS][PATH_MAX], tx[NFPROC_MAX_PORTS][PATH_MAX], want[PATH_MAX], url[64];
	struct nfproc_cfg cfg = { .exe = exe, .dir = dir, .name = s->name, .n_ports = s->n_ports,
				  .lcore = nfproc_pick_lcore(0) };
	char *err;
	int rc;

	for (unsigned i = 0; i < s->n_ports; i++) {
		pathf(rx[i], "%s/%s.in%u.pcap", golden, s->name, i);
		pathf(tx[i], "%s/%s.out%u.pcap", dir, s->name, i);
		cfg.rx[i] = rx[i];
		cfg.tx[i] = tx[i];
	}
	redis_server_url(&rs, url, sizeof(url));
	rc = nfproc_start(&nf, &cfg, "--store %s --id %s " FW_ARGS " %s", url, id, s->args);
	cr_assert_eq(rc, 0, "cannot start %s: %s", exe, strerror(-rc));
	cr_assert_eq(nfproc_wait(&nf, EXIT_WAIT_MS), 0, "%s: nf-firewall did not exit", s->name);
	err = nfproc_slurp(nf.err);
	cr_assert(nfproc_exited_ok(&nf), "%s: nf-firewall failed (status 0x%x): %s", s->name, nf.status,
		  err != NULL ? err : "");
	free(err);
	for (unsigned i = 0; i < s->n_ports; i++) {
		pathf(want, "%s/%s.want%u.pcap", golden, s->name, i);
		expect_pcap(tx[i], want);
	}
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
	static struct pkts got;
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
	pcap_read(tx, &got);
	cr_assert_eq(got.n, 0, "a local-mode instance let %u answers without a connection in", got.n);
	cr_assert_eq(nfproc_counter(&nf, "rx"), 7);
}
