/* Golden packet tests of the NAT: the real build/nf-nat on the pcaps of tests/golden
 * (made by tests/golden/gen_golden.py), output compared packet by packet and field by field. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <limits.h>
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

#include "tests/harness/nfproc.h"
#include "tests/harness/redis_server.h"

#define EXIT_WAIT_MS 20000	/* a run on a few packets ends well within this */
#define MAX_PKTS 32		/* golden files stay under 20 packets */
#define MAX_PKT_SIZE 2048
#define MAX_FIELDS 48
#define MAX_CTRS 64
#define PAYLOAD_SHOWN 24	/* payload bytes printed in a field value */

/* NF options of every run; the scenarios and their expected ports depend on them. */
#define NAT_ARGS "--public-ip 203.0.113.1 --port-range 20000-20099 --idle-exit-ms 500 " \
		 "--stats-interval-ms 0"

struct pkt {
	unsigned size;
	uint8_t data[MAX_PKT_SIZE];
};

struct pkts {
	unsigned n;
	struct pkt p[MAX_PKTS];
};

/* A packet decoded into named fields, e.g. {"ipv4.src", "10.0.0.5"}. */
struct field {
	char name[16];
	char val[112];
};

struct decoded {
	unsigned n;
	struct field f[MAX_FIELDS];
};

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

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The golden files: $SNF_GOLDEN_DIR, ./tests/golden, or next to the build directory. */
static void find_golden(void)
{
	const char *env = getenv("SNF_GOLDEN_DIR");

	if (env != NULL && env[0] != '\0')
		snprintf(golden, sizeof(golden), "%s", env);
	else if (access("tests/golden/outbound.in0.pcap", R_OK) == 0)
		snprintf(golden, sizeof(golden), "tests/golden");
	else
		cr_assert_eq(nfproc_build_path("../tests/golden", golden, sizeof(golden)), 0);
}

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
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Criterion skips .fini when .init fails: undo what was done before failing. */
static void setup(void)
{
	int ret;

	memset(&nf, 0, sizeof(nf));
	memset(&rs, 0, sizeof(rs));
	find_golden();
	cr_assert_eq(nfproc_build_path("nf-nat", exe, sizeof(exe)), 0);
	cr_assert(access(exe, X_OK) == 0, "%s: %s (make all)", exe, strerror(errno));
	snprintf(dir, sizeof(dir), "/tmp/snf-golden-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	ret = redis_server_start(&rs, NULL);
	if (ret == 0)
		ret = flushall();
	if (ret != 0)
		teardown();
	cr_assert_eq(ret, 0, "cannot start and flush redis-server: %s", strerror(-ret));
}

TestSuite(golden_nat, .init = setup, .fini = teardown, .timeout = 60);

/* printf into the PATH_MAX buffer 'buf'. */
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
		cr_assert_leq(h->caplen, MAX_PKT_SIZE, "%s: packet %u too big", file, ps->n);
		cr_assert_eq(h->caplen, h->len, "%s: packet %u truncated", file, ps->n);
		ps->p[ps->n].size = h->caplen;
		memcpy(ps->p[ps->n].data, data, h->caplen);
		ps->n++;
	}
	pcap_close(p);
}

/* ---- A small decoder: enough to name the first field that differs. ---- */

static void add(struct decoded *d, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add(struct decoded *d, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (d->n == MAX_FIELDS)
		return;
	snprintf(d->f[d->n].name, sizeof(d->f[d->n].name), "%s", name);
	va_start(ap, fmt);
	vsnprintf(d->f[d->n].val, sizeof(d->f[d->n].val), fmt, ap);
	va_end(ap);
	d->n++;
}

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static unsigned long be32(const uint8_t *p)
{
	return (unsigned long)be16(p) << 16 | be16(p + 2);
}

static void add_mac(struct decoded *d, const char *name, const uint8_t *p)
{
	add(d, name, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
}

static void add_ip(struct decoded *d, const char *name, const uint8_t *p)
{
	add(d, name, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
}

/* 'size' bytes as "N bytes <hex of the first few> (fnv <hash of all>)". */
static void add_bytes(struct decoded *d, const char *name, const uint8_t *p, unsigned size)
{
	char hex[2 * PAYLOAD_SHOWN + 4] = "";
	uint32_t h = 2166136261u;
	unsigned i;

	for (i = 0; i < size; i++)
		h = (h ^ p[i]) * 16777619u;
	for (i = 0; i < size && i < PAYLOAD_SHOWN; i++)
		sprintf(hex + 2 * i, "%02x", p[i]);
	if (size > PAYLOAD_SHOWN)
		strcat(hex, "..");
	add(d, name, "%u bytes %s (fnv %08x)", size, hex, h);
}

static void decode_tcp(struct decoded *d, const uint8_t *p, unsigned size)
{
	unsigned doff = (unsigned)(p[12] >> 4) * 4;

	add(d, "tcp.sport", "%u", be16(p));
	add(d, "tcp.dport", "%u", be16(p + 2));
	add(d, "tcp.seq", "%lu", be32(p + 4));
	add(d, "tcp.ack", "%lu", be32(p + 8));
	add(d, "tcp.doff", "%u", doff / 4);
	add(d, "tcp.flags", "0x%02x", p[13]);
	add(d, "tcp.window", "%u", be16(p + 14));
	add(d, "tcp.csum", "0x%04x", be16(p + 16));
	add(d, "tcp.urgent", "%u", be16(p + 18));
	if (doff < 20 || doff > size) {
		add_bytes(d, "tcp.rest", p + 20, size - 20);
		return;
	}
	if (doff > 20)
		add_bytes(d, "tcp.options", p + 20, doff - 20);
	add_bytes(d, "payload", p + doff, size - doff);
}

static void decode_udp(struct decoded *d, const uint8_t *p, unsigned size)
{
	add(d, "udp.sport", "%u", be16(p));
	add(d, "udp.dport", "%u", be16(p + 2));
	add(d, "udp.len", "%u", be16(p + 4));
	add(d, "udp.csum", "0x%04x", be16(p + 6));
	add_bytes(d, "payload", p + 8, size - 8);
}

static void decode_icmp(struct decoded *d, const uint8_t *p, unsigned size)
{
	add(d, "icmp.type", "%u", p[0]);
	add(d, "icmp.code", "%u", p[1]);
	add(d, "icmp.csum", "0x%04x", be16(p + 2));
	if (p[0] == 0 || p[0] == 8) {
		add(d, "icmp.id", "%u", be16(p + 4));
		add(d, "icmp.seq", "%u", be16(p + 6));
	} else {
		add_bytes(d, "icmp.rest", p + 4, 4);
	}
	add_bytes(d, "payload", p + 8, size - 8);
}

/* The L4 segment at 'p' ('size' bytes of it in this packet) of IP protocol 'proto'. */
static void decode_l4(struct decoded *d, uint8_t proto, const uint8_t *p, unsigned size)
{
	if (proto == 6 && size >= 20)
		decode_tcp(d, p, size);
	else if (proto == 17 && size >= 8)
		decode_udp(d, p, size);
	else if (proto == 1 && size >= 8)
		decode_icmp(d, p, size);
	else
		add_bytes(d, "ipv4.payload", p, size);
}

/* The IPv4 packet at 'p' with 'size' bytes left in the frame. */
static void decode_ipv4(struct decoded *d, const uint8_t *p, unsigned size)
{
	unsigned ihl = (unsigned)(p[0] & 0x0f) * 4, tot = be16(p + 2), frag = be16(p + 6), end;

	add(d, "ipv4.version", "%u", p[0] >> 4);
	add(d, "ipv4.ihl", "%u", ihl / 4);
	add(d, "ipv4.tos", "0x%02x", p[1]);
	add(d, "ipv4.len", "%u", tot);
	add(d, "ipv4.id", "%u", be16(p + 4));
	add(d, "ipv4.flags", "%s%s%s", frag & 0x8000 ? "R" : "", frag & 0x4000 ? "DF" : "",
	    frag & 0x2000 ? "MF" : "");
	add(d, "ipv4.frag", "%u", (frag & 0x1fff) * 8);
	add(d, "ipv4.ttl", "%u", p[8]);
	add(d, "ipv4.proto", "%u", p[9]);
	add(d, "ipv4.csum", "0x%04x", be16(p + 10));
	add_ip(d, "ipv4.src", p + 12);
	add_ip(d, "ipv4.dst", p + 16);
	if (ihl < 20 || ihl > size || tot < ihl || tot > size) {
		add_bytes(d, "ipv4.rest", p + 20, size - 20);
		return;
	}
	if (ihl > 20)
		add_bytes(d, "ipv4.options", p + 20, ihl - 20);
	end = tot;
	if (frag & 0x1fff)
		add_bytes(d, "ipv4.payload", p + ihl, tot - ihl);
	else
		decode_l4(d, p[9], p + ihl, tot - ihl);
	if (size > end)
		add_bytes(d, "trailer", p + end, size - end);
}

static void decode(const uint8_t *p, unsigned size, struct decoded *d)
{
	unsigned off = 14, type;

	d->n = 0;
	if (size < 14) {
		add_bytes(d, "frame", p, size);
		return;
	}
	add_mac(d, "eth.dst", p);
	add_mac(d, "eth.src", p + 6);
	type = be16(p + 12);
	add(d, "eth.type", "0x%04x", type);
	if (type == 0x8100 && size >= 18) {
		add(d, "vlan.prio", "%u", p[14] >> 5);
		add(d, "vlan.id", "%u", be16(p + 14) & 0x0fff);
		type = be16(p + 16);
		add(d, "vlan.type", "0x%04x", type);
		off = 18;
	}
	if (type == 0x0800 && size >= off + 20)
		decode_ipv4(d, p + off, size - off);
	else
		add_bytes(d, "l2.payload", p + off, size - off);
	add(d, "frame.size", "%u", size);
}

/* What a packet is, in one line: "54 bytes, ipv4 10.0.0.5 -> 198.51.100.10 proto 6". */
static void summary(const struct pkt *pk, char *buf, size_t size)
{
	static struct decoded d;
	const char *src = NULL, *dst = "?", *proto = "?", *type = "?";

	decode(pk->data, pk->size, &d);
	for (unsigned i = 0; i < d.n; i++) {
		if (strcmp(d.f[i].name, "ipv4.src") == 0)
			src = d.f[i].val;
		else if (strcmp(d.f[i].name, "ipv4.dst") == 0)
			dst = d.f[i].val;
		else if (strcmp(d.f[i].name, "ipv4.proto") == 0)
			proto = d.f[i].val;
		else if (strcmp(d.f[i].name, "eth.type") == 0 || strcmp(d.f[i].name, "vlan.type") == 0)
			type = d.f[i].val;
	}
	if (src != NULL)
		snprintf(buf, size, "%u bytes, ipv4 %s -> %s proto %s", pk->size, src, dst, proto);
	else
		snprintf(buf, size, "%u bytes, ethertype %s", pk->size, type);
}

static bool is_csum(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot != NULL && strcmp(dot, ".csum") == 0;
}

/* The first of the fields 'g' and 'w' that differ, checksums included or not, into 'msg'.
 * Returns false when there is none. */
static bool diff_fields(unsigned i, const struct decoded *g, const struct decoded *w,
			bool csums, char *msg, size_t size)
{
	for (unsigned k = 0; k < g->n || k < w->n; k++) {
		const struct field *a = k < g->n ? &g->f[k] : NULL, *b = k < w->n ? &w->f[k] : NULL;

		if (a != NULL && b != NULL && strcmp(a->name, b->name) == 0) {
			if (strcmp(a->val, b->val) == 0 || (!csums && is_csum(a->name)))
				continue;
			snprintf(msg, size, "packet %u: %s %s != %s", i, a->name, a->val, b->val);
			return true;
		}
		snprintf(msg, size, "packet %u: got %s %s, expected %s %s", i,
			 a ? a->name : "(nothing)", a ? a->val : "", b ? b->name : "(nothing)",
			 b ? b->val : "");
		return true;
	}
	return false;
}

/* Compare packet 'i': "" when equal, else the first differing field into 'msg' as
 * "packet I: FIELD GOT != EXPECTED". A checksum is named only when no other field
 * differs (a wrong address makes a wrong checksum too). */
static void diff_packet(unsigned i, const struct pkt *got, const struct pkt *want, char *msg,
			size_t size)
{
	static struct decoded dg, dw;

	msg[0] = '\0';
	if (got->size == want->size && memcmp(got->data, want->data, got->size) == 0)
		return;
	decode(got->data, got->size, &dg);
	decode(want->data, want->size, &dw);
	if (diff_fields(i, &dg, &dw, false, msg, size) || diff_fields(i, &dg, &dw, true, msg, size))
		return;
	for (unsigned k = 0; k < got->size; k++) {
		if (got->data[k] != want->data[k]) {
			snprintf(msg, size, "packet %u: byte %u 0x%02x != 0x%02x", i, k, got->data[k],
				 want->data[k]);
			return;
		}
	}
}

/* The packets the NF wrote in 'out' are exactly those of 'want' ("got != expected"). */
static void expect_pcap(const char *out, const char *want_file)
{
	static struct pkts got, want;
	char msg[512], sum[160] = "";
	unsigned n;

	pcap_read(out, &got);
	pcap_read(want_file, &want);
	n = got.n < want.n ? got.n : want.n;
	for (unsigned i = 0; i < n; i++) {
		diff_packet(i, &got.p[i], &want.p[i], msg, sizeof(msg));
		cr_assert(msg[0] == '\0', "%s vs %s: %s", out, want_file, msg);
	}
	if (got.n > want.n)
		summary(&got.p[n], sum, sizeof(sum));
	else if (got.n < want.n)
		summary(&want.p[n], sum, sizeof(sum));
	cr_assert_eq(got.n, want.n, "%s: %u packets, expected %u; packet %u %s: %s", out, got.n,
		     want.n, n, got.n > want.n ? "is extra" : "is missing", sum);
}

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
	char rx[NFPROC_MAX_PORTS][PATH_MAX], tx[NFPROC_MAX_PORTS][PATH_MAX], want[PATH_MAX], url[64];
	struct nfproc_cfg cfg = { .exe = exe, .dir = dir, .name = s->name, .n_ports = s->n_ports,
				  .lcore = nfproc_pick_lcore((unsigned)getpid()) };
	int rc;

	redis_server_url(&rs, url, sizeof(url));
	for (unsigned i = 0; i < s->n_ports; i++) {
		pathf(rx[i], "%s/%s.in%u.pcap", golden, s->name, i);
		pathf(tx[i], "%s/%s.out%u.pcap", dir, s->name, i);
		cr_assert(access(rx[i], R_OK) == 0, "%s: %s (make golden-pcaps)", rx[i], strerror(errno));
		cfg.rx[i] = rx[i];
		cfg.tx[i] = tx[i];
	}
	rc = nfproc_start(&nf, &cfg, "--store %s --id %s " NAT_ARGS " %s", url, id, s->args);
	cr_assert_eq(rc, 0, "%s: cannot start %s: %s", s->name, exe, strerror(-rc));
	cr_assert_eq(nfproc_wait(&nf, EXIT_WAIT_MS), 0, "%s: nf-nat still running after %u ms",
		     s->name, EXIT_WAIT_MS);
	cr_assert(nfproc_exited_ok(&nf), "%s: nf-nat exit status %#x, stderr:\n%s", s->name,
		  nf.status, nfproc_slurp(nf.err));
	for (unsigned i = 0; i < s->n_ports; i++) {
		pathf(want, "%s/%s.want%u.pcap", golden, s->name, i);
		expect_pcap(tx[i], want);
	}
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
