/* Several NAT instances (build/nf-nat processes) sharing one store: return traffic through
 * another instance, a survivor after SIGKILL, and two instances racing on new flows. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <pcap/pcap.h>

#include "nf/clock.h"
#include "tests/harness/nfproc.h"
#include "tests/harness/pktgen.h"
#include "tests/harness/redis_server.h"
#include "tests/harness/tmpdir.h"

#define PUBLIC_IP "203.0.113.1"
#define EXIT_WAIT_MS 30000	/* a run on a few thousand packets ends well within this */
#define READY_WAIT_MS 20000
#define MAX_FRAME 256		/* the frames of these tests are small */
#define MAX_FRAMES 4096
#define N_PROCS 2
#define RACE_FLOWS 2000
#define RACE_CHUNK 2048		/* bytes of the race pcap written to one FIFO at a time */

/* A mapping as stored under "<ns>:m"+inside and "<ns>:r"+public endpoint (network order). */
struct map_val {
	uint32_t in_ip;
	uint32_t pub_ip;
	uint16_t in_port;
	uint16_t pub_port;
	uint8_t proto;
	uint8_t state;		/* 0 new, 1 established, 2 closing */
	uint8_t pad[2];
} __attribute__((packed));
_Static_assert(sizeof(struct map_val) == 16, "the stored value is 16 bytes");

/* The endpoint part of a key: proto, 0, port, address. */
struct map_ep {
	uint8_t proto;
	uint8_t zero;
	uint16_t port;
	uint32_t ip;
} __attribute__((packed));
_Static_assert(sizeof(struct map_ep) == 8, "the key endpoint is 8 bytes");

struct frame {
	unsigned size;
	uint8_t data[MAX_FRAME];
};

/* A pcap's packets (heap: the race has thousands). */
struct frames {
	unsigned n;
	struct frame *f;
};

/* The header fields these tests look at, host order except addresses (dotted text). */
struct view {
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
	uint8_t proto;
	uint16_t sport, dport;	/* ICMP: both are the echo identifier */
	uint32_t seq;		/* TCP */
	uint8_t tcp_flags;
	bool csums_ok;
};

static char dir[64];
static char exe[PATH_MAX];
static struct redis_server rs;
static redisContext *rc;
static struct nfproc procs[N_PROCS];
static int fifo_fds[N_PROCS] = { -1, -1 };

static void sleep_ms(unsigned ms)
{
	usleep(ms * 1000u);
}

static uint64_t mono_ms(void)
{
	return nf_now_us() / 1000u;
}

static void teardown(void)
{
	for (unsigned i = 0; i < N_PROCS; i++) {
		if (fifo_fds[i] >= 0)
			close(fifo_fds[i]);
		fifo_fds[i] = -1;
		nfproc_kill(&procs[i]);
	}
	if (rc != NULL)
		redisFree(rc);
	rc = NULL;
	redis_server_stop(&rs);
	tmpdir_remove(dir);
}

/* Connect 'rc' to the test's server and FLUSHALL. Returns 0 or -EIO. */
static int store_connect(void)
{
	redisReply *r;
	int ret;

	rc = redisConnect("127.0.0.1", rs.port);
	if (rc == NULL || rc->err != 0)
		return -EIO;
	r = redisCommand(rc, "FLUSHALL");
	ret = r != NULL && r->type == REDIS_REPLY_STATUS ? 0 : -EIO;
	if (r != NULL)
		freeReplyObject(r);
	return ret;
}

/* Criterion skips .fini when .init fails: undo what was done before failing. */
static void setup(void)
{
	int ret;

	memset(procs, 0, sizeof(procs));
	memset(&rs, 0, sizeof(rs));
	signal(SIGPIPE, SIG_IGN);	/* a FIFO reader that died is an assertion, not a crash */
	cr_assert_eq(nfproc_build_path("nf-nat", exe, sizeof(exe)), 0);
	cr_assert(access(exe, X_OK) == 0, "%s: %s (make all)", exe, strerror(errno));
	ret = tmpdir_make("snf-inst", dir, sizeof(dir));
	cr_assert_eq(ret, 0, "mkdtemp: %s", strerror(-ret));
	ret = redis_server_start(&rs, NULL);
	if (ret == 0)
		ret = store_connect();
	if (ret != 0)
		teardown();
	cr_assert_eq(ret, 0, "cannot start and flush redis-server: %s", strerror(-ret));
}

TestSuite(nat_instances, .init = setup, .fini = teardown, .timeout = 120);

/* A file inside the test directory, its name from printf format 'fmt' (the last 16
 * results stay valid). */
static const char *path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *path(const char *fmt, ...)
{
	static char bufs[16][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 16];
	va_list ap;
	int n = snprintf(b, PATH_MAX, "%s/", dir);

	va_start(ap, fmt);
	n += vsnprintf(b + n, (size_t)(PATH_MAX - n), fmt, ap);
	va_end(ap);
	cr_assert_lt(n, PATH_MAX, "path too long");
	return b;
}

/* The whole file 'file' (caller frees) and its size. */
static uint8_t *file_read(const char *file, size_t *size)
{
	FILE *f = fopen(file, "rb");
	uint8_t *buf;
	long len;

	cr_assert_not_null(f, "%s: %s", file, strerror(errno));
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	cr_assert_gt(len, 0);
	rewind(f);
	buf = malloc((size_t)len);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len, "short read of %s", file);
	fclose(f);
	*size = (size_t)len;
	return buf;
}

/* ---- pcaps ---- */

/* Write the frames built from 'specs' to pcap 'file'. */
static void pcap_write_specs(const char *file, const struct pkt_spec *specs, unsigned n)
{
	pcap_t *pd = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(pd, file);
	uint8_t buf[MAX_FRAME];

	cr_assert_not_null(d, "pcap_dump_open %s: %s", file, pcap_geterr(pd));
	for (unsigned i = 0; i < n; i++) {
		uint16_t len = pktgen_build(buf, sizeof(buf), &specs[i]);
		struct pcap_pkthdr h = { .ts = { .tv_sec = 1, .tv_usec = (suseconds_t)i },
					 .caplen = len, .len = len };

		cr_assert_gt(len, 0, "%s: frame %u does not fit", file, i);
		pcap_dump((u_char *)d, &h, buf);
	}
	pcap_dump_close(d);
	pcap_close(pd);
}

static void frames_read(const char *file, struct frames *fs)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(file, errbuf);
	struct pcap_pkthdr *h;
	const u_char *data;

	cr_assert_not_null(p, "pcap_open_offline %s: %s", file, errbuf);
	fs->n = 0;
	fs->f = calloc(MAX_FRAMES, sizeof(*fs->f));
	cr_assert_not_null(fs->f);
	while (pcap_next_ex(p, &h, &data) == 1) {
		cr_assert_lt(fs->n, MAX_FRAMES, "%s: more than %d packets", file, MAX_FRAMES);
		cr_assert(h->caplen <= MAX_FRAME && h->caplen == h->len, "%s: packet %u: %u bytes",
			  file, fs->n, h->len);
		fs->f[fs->n].size = h->caplen;
		memcpy(fs->f[fs->n].data, data, h->caplen);
		fs->n++;
	}
	pcap_close(p);
}

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Decode an untagged Ethernet/IPv4 TCP, UDP or ICMP echo frame (asserts it is one). */
static void view_of(const struct frame *f, struct view *v)
{
	const uint8_t *ip = f->data + 14, *l4;
	unsigned ihl;

	cr_assert(f->size >= 14 + 20 + 8 && be16(f->data + 12) == 0x0800, "not an IPv4 frame");
	ihl = (unsigned)(ip[0] & 0x0f) * 4;
	l4 = ip + ihl;
	memset(v, 0, sizeof(*v));
	inet_ntop(AF_INET, ip + 12, v->src, sizeof(v->src));
	inet_ntop(AF_INET, ip + 16, v->dst, sizeof(v->dst));
	v->proto = ip[9];
	if (v->proto == IPPROTO_ICMP) {
		v->sport = v->dport = (uint16_t)be16(l4 + 4);
	} else {
		v->sport = (uint16_t)be16(l4);
		v->dport = (uint16_t)be16(l4 + 2);
	}
	if (v->proto == IPPROTO_TCP) {
		v->seq = (uint32_t)be16(l4 + 4) << 16 | be16(l4 + 6);
		v->tcp_flags = l4[13];
	}
	v->csums_ok = pktgen_csums_ok(f->data, (uint16_t)f->size);
}

/* ---- the store ---- */

/* GET "nat:<tag>"+endpoint into 'v'. Returns false when the key does not exist. */
static bool map_get(char tag, uint8_t proto, const char *ip, uint16_t port, struct map_val *v)
{
	struct map_ep ep = { .proto = proto, .port = htons(port) };
	char key[5 + sizeof(ep)];
	redisReply *r;
	bool found;

	inet_pton(AF_INET, ip, &ep.ip);
	memcpy(key, "nat:", 4);
	key[4] = tag;
	memcpy(key + 5, &ep, sizeof(ep));
	r = redisCommand(rc, "GET %b", key, sizeof(key));
	cr_assert_not_null(r, "GET: %s", rc->errstr);
	found = r->type == REDIS_REPLY_STRING;
	if (found) {
		cr_assert_eq(r->len, sizeof(*v), "nat:%c value is %zu bytes", tag, (size_t)r->len);
		memcpy(v, r->str, sizeof(*v));
	}
	freeReplyObject(r);
	return found;
}

/* HGET 'field' of the heartbeat of instance 'id', as a number (-1 when absent). */
static long long heartbeat(const char *id, const char *field)
{
	redisReply *r = redisCommand(rc, "HGET snf:inst:%s %s", id, field);
	long long v;

	cr_assert_not_null(r, "HGET: %s", rc->errstr);
	v = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : -1;
	freeReplyObject(r);
	return v;
}

/* ---- processes ---- */

/* Start instance 'i' on two ports: inside reads 'rx0', outside 'rx1'; it writes
 * <tag>.out0.pcap and <tag>.out1.pcap. 'extra' adds NF options. */
static void start_nat(unsigned i, const char *tag, const char *rx0, const char *rx1,
		      const char *extra)
{
	struct nfproc_cfg cfg = { .exe = exe, .dir = dir, .name = tag, .n_ports = 2,
				  .lcore = nfproc_pick_lcore((unsigned)getpid() + i) };
	char url[64];
	int ret;

	cfg.rx[0] = rx0, cfg.rx[1] = rx1;
	cfg.tx[0] = path("%s.out0.pcap", tag);
	cfg.tx[1] = path("%s.out1.pcap", tag);
	redis_server_url(&rs, url, sizeof(url));
	ret = nfproc_start(&procs[i], &cfg, "--store %s --id %s --public-ip " PUBLIC_IP " %s", url,
			   tag, extra);
	cr_assert_eq(ret, 0, "cannot start %s: %s", exe, strerror(-ret));
}

/* Wait for instance 'i' to exit by itself (idle exit) with status 0. */
static void expect_clean_exit(unsigned i)
{
	struct nfproc *p = &procs[i];

	cr_assert_eq(nfproc_wait(p, EXIT_WAIT_MS), 0, "%s: still running after %u ms", p->out,
		     EXIT_WAIT_MS);
	cr_assert(nfproc_exited_ok(p), "%s: exit status %#x, stderr:\n%s", p->err, p->status,
		  nfproc_slurp(p->err));
}

/* No drop counter of instance 'i' is non-zero. */
static void expect_no_drops(unsigned i)
{
	struct nfproc_counter c[64];
	unsigned n = nfproc_counters(&procs[i], c, 64);

	cr_assert_gt(n, 0, "%s: no counters printed", procs[i].out);
	for (unsigned k = 0; k < n; k++)
		cr_expect(strncmp(c[k].name, "drop_", 5) != 0, "%s: counter %s %llu", procs[i].out,
			  c[k].name, c[k].value);
}

static void write_empty_pcap(const char *file)
{
	pcap_write_specs(file, NULL, 0);
}

/* ---- 1: the return traffic of A's flows through B ---- */

Test(nat_instances, return_traffic_through_another_instance, .timeout = 120)
{
	static const char *client = "10.1.0.1";
	struct pkt_spec out[3] = {
		{ .proto = IPPROTO_TCP, .src = client, .dst = "198.51.100.50", .sport = 33000,
		  .dport = 443, .tcp_flags = 0x02, .seq = 100 },
		{ .proto = IPPROTO_UDP, .src = client, .dst = "198.51.100.53", .sport = 33001,
		  .dport = 53, .payload_len = 30 },
		{ .proto = IPPROTO_ICMP, .src = client, .dst = "198.51.100.50", .sport = 77,
		  .icmp_type = 8, .payload_len = 16 },
	};
	static const uint16_t in_ports[3] = { 33000, 33001, 77 };
	struct pkt_spec back[3];
	struct frames a_out, b_in;
	uint16_t pub[3];
	struct view v;
	struct map_val m;

	pcap_write_specs(path("a.in0.pcap"), out, 3);
	write_empty_pcap(path("empty.pcap"));
	start_nat(0, "inst-a", path("a.in0.pcap"), path("empty.pcap"),
		  "--port-range 20000-20099 --idle-exit-ms 500 --stats-interval-ms 0");
	expect_clean_exit(0);
	expect_no_drops(0);
	cr_expect_eq(nfproc_counter(&procs[0], "flows_created"), 3, "A created %llu flows, expected 3",
		     nfproc_counter(&procs[0], "flows_created"));

	frames_read(path("inst-a.out1.pcap"), &a_out);
	cr_assert_eq(a_out.n, 3, "A sent %u packets out, expected 3", a_out.n);
	for (unsigned i = 0; i < 3; i++) {
		view_of(&a_out.f[i], &v);
		cr_expect_str_eq(v.src, PUBLIC_IP, "A packet %u: source %s", i, v.src);
		cr_expect(v.csums_ok, "A packet %u: bad checksum", i);
		cr_assert(v.sport >= 20000 && v.sport <= 20099, "A packet %u: public port %u", i,
			  v.sport);
		pub[i] = v.sport;
		cr_assert(map_get('m', out[i].proto, client, in_ports[i], &m), "no mapping %u", i);
		cr_expect_eq(ntohs(m.pub_port), pub[i], "mapping %u: store says port %u, A used %u", i,
			     ntohs(m.pub_port), pub[i]);
	}

	/* B never saw the outbound packets: everything it knows comes from the store. */
	for (unsigned i = 0; i < 3; i++) {
		back[i] = out[i];
		back[i].src = out[i].dst;
		back[i].dst = PUBLIC_IP;
		back[i].sport = out[i].dport;
		back[i].dport = pub[i];
	}
	back[0].tcp_flags = 0x12, back[0].seq = 9000, back[0].ack = 101;
	back[2].sport = pub[2], back[2].icmp_type = 0;
	pcap_write_specs(path("b.in1.pcap"), back, 3);
	start_nat(1, "inst-b", path("empty.pcap"), path("b.in1.pcap"),
		  "--port-range 20000-20099 --idle-exit-ms 500 --stats-interval-ms 0");
	expect_clean_exit(1);
	expect_no_drops(1);
	cr_expect_eq(nfproc_counter(&procs[1], "flows_created"), 0, "B created %llu flows",
		     nfproc_counter(&procs[1], "flows_created"));
	cr_expect_eq(nfproc_counter(&procs[1], "tx"), 3, "B sent %llu packets, expected 3",
		     nfproc_counter(&procs[1], "tx"));

	frames_read(path("inst-b.out0.pcap"), &b_in);
	cr_assert_eq(b_in.n, 3, "B sent %u packets in, expected 3", b_in.n);
	for (unsigned i = 0; i < 3; i++) {
		view_of(&b_in.f[i], &v);
		cr_expect_str_eq(v.dst, client, "B packet %u: destination %s", i, v.dst);
		cr_expect_eq(v.dport, in_ports[i], "B packet %u: port %u, expected %u", i, v.dport,
			     in_ports[i]);
		cr_expect_str_eq(v.src, back[i].src, "B packet %u: source %s", i, v.src);
		cr_expect(v.csums_ok, "B packet %u: bad checksum", i);
	}
	cr_assert(map_get('m', IPPROTO_TCP, client, 33000, &m));
	cr_expect_eq(m.state, 1, "the SYN-ACK through B did not establish the mapping");
	free(a_out.f);
	free(b_in.f);
}

/* ---- 2: A dies (SIGKILL) mid-flow, B carries both directions ---- */

/* Wait until instance 'id' says in its heartbeat that it sent 'tx' packets. */
static void wait_heartbeat_tx(unsigned i, const char *id, long long tx)
{
	uint64_t end = mono_ms() + READY_WAIT_MS;
	long long v;

	while ((v = heartbeat(id, "tx")) != tx) {
		cr_assert_eq(nfproc_wait(&procs[i], 0), -ETIMEDOUT, "%s exited early:\n%s", id,
			     nfproc_slurp(procs[i].err));
		cr_assert_lt(mono_ms(), end, "%s: heartbeat tx %lld after %u ms, expected %lld", id,
			     v, READY_WAIT_MS, tx);
		sleep_ms(20);
	}
}

Test(nat_instances, survivor_carries_the_flow_after_sigkill, .timeout = 120)
{
	static const char *client = "10.2.0.1", *server = "198.51.100.60";
	struct pkt_spec a_out[2] = {
		{ .proto = IPPROTO_TCP, .src = client, .dst = server, .sport = 34000, .dport = 80,
		  .tcp_flags = 0x02, .seq = 1000 },
		{ .proto = IPPROTO_TCP, .src = client, .dst = server, .sport = 34000, .dport = 80,
		  .tcp_flags = 0x18, .seq = 1001, .ack = 5001, .payload_len = 40 },
	};
	struct pkt_spec b_out[2], b_in[2];
	struct frames got_out, got_in;
	struct map_val m;
	struct view v;
	uint16_t pub;

	pcap_write_specs(path("a.in0.pcap"), a_out, 2);
	write_empty_pcap(path("empty.pcap"));
	/* No --idle-exit: A keeps running until it is killed. */
	start_nat(0, "inst-a", path("a.in0.pcap"), path("empty.pcap"),
		  "--port-range 20000-20099 --stats-interval-ms 50");
	wait_heartbeat_tx(0, "inst-a", 2);
	cr_assert(map_get('m', IPPROTO_TCP, client, 34000, &m), "A created no mapping");
	pub = ntohs(m.pub_port);
	cr_expect_eq(m.state, 0, "state %u before any reply", m.state);
	nfproc_kill(&procs[0]);
	cr_assert(WIFSIGNALED(procs[0].status) && WTERMSIG(procs[0].status) == SIGKILL);

	/* B: the rest of the flow, both directions, using only what A left in the store. */
	for (unsigned i = 0; i < 2; i++) {
		b_out[i] = a_out[1];
		b_out[i].seq = 1041 + 40 * i;
		b_in[i] = (struct pkt_spec){ .proto = IPPROTO_TCP, .src = server, .dst = PUBLIC_IP,
					     .sport = 80, .dport = pub, .tcp_flags = 0x18,
					     .seq = 5001 + 100 * i, .ack = 1041, .payload_len = 100 };
	}
	pcap_write_specs(path("b.in0.pcap"), b_out, 2);
	pcap_write_specs(path("b.in1.pcap"), b_in, 2);
	start_nat(1, "inst-b", path("b.in0.pcap"), path("b.in1.pcap"),
		  "--port-range 20000-20099 --idle-exit-ms 500 --stats-interval-ms 0");
	expect_clean_exit(1);
	expect_no_drops(1);
	cr_expect_eq(nfproc_counter(&procs[1], "flows_created"), 0, "B created %llu flows",
		     nfproc_counter(&procs[1], "flows_created"));
	cr_expect_eq(nfproc_counter(&procs[1], "tx"), 4, "B sent %llu packets, expected 4",
		     nfproc_counter(&procs[1], "tx"));

	frames_read(path("inst-b.out1.pcap"), &got_out);
	frames_read(path("inst-b.out0.pcap"), &got_in);
	cr_assert_eq(got_out.n, 2, "B sent %u packets out, expected 2", got_out.n);
	cr_assert_eq(got_in.n, 2, "B sent %u packets in, expected 2", got_in.n);
	for (unsigned i = 0; i < 2; i++) {
		view_of(&got_out.f[i], &v);
		cr_expect(strcmp(v.src, PUBLIC_IP) == 0 && v.sport == pub,
			  "out %u: from %s:%u, expected " PUBLIC_IP ":%u", i, v.src, v.sport, pub);
		cr_expect_eq(v.seq, b_out[i].seq, "out %u: seq %u", i, v.seq);
		cr_expect(v.csums_ok, "out %u: bad checksum", i);
		view_of(&got_in.f[i], &v);
		cr_expect(strcmp(v.dst, client) == 0 && v.dport == 34000,
			  "in %u: to %s:%u, expected %s:34000", i, v.dst, v.dport, client);
		cr_expect_eq(v.seq, b_in[i].seq, "in %u: seq %u", i, v.seq);
		cr_expect(v.csums_ok, "in %u: bad checksum", i);
	}
	cr_assert(map_get('m', IPPROTO_TCP, client, 34000, &m));
	cr_expect_eq(ntohs(m.pub_port), pub, "the mapping moved to port %u", ntohs(m.pub_port));
	cr_expect_eq(m.state, 1, "the replies through B did not establish the mapping");
	free(got_out.f);
	free(got_in.f);
}

/* ---- 3: two instances racing on the same new flows ---- */

/* Flow 'i' of the race: its own inside host and port, a SYN whose seq is 'i'. */
static void race_spec(unsigned i, struct pkt_spec *s, char *src, size_t size)
{
	snprintf(src, size, "10.3.%u.%u", i / 200, i % 200 + 1);
	*s = (struct pkt_spec){ .proto = IPPROTO_TCP, .src = src, .dst = "198.51.100.80",
				.sport = (uint16_t)(10000 + i), .dport = 443, .tcp_flags = 0x02,
				.seq = i };
}

static void race_pcap(const char *file)
{
	static struct pkt_spec specs[RACE_FLOWS];
	static char srcs[RACE_FLOWS][INET_ADDRSTRLEN];

	for (unsigned i = 0; i < RACE_FLOWS; i++)
		race_spec(i, &specs[i], srcs[i], sizeof(srcs[i]));
	pcap_write_specs(file, specs, RACE_FLOWS);
}

/* Open FIFO 'file' for writing once instance 'i' has opened it for reading. */
static int fifo_open_writer(unsigned i, const char *file)
{
	uint64_t end = mono_ms() + READY_WAIT_MS;
	int fd;

	while ((fd = open(file, O_WRONLY | O_NONBLOCK)) < 0) {
		cr_assert_eq(errno, ENXIO, "open %s: %s", file, strerror(errno));
		cr_assert_eq(nfproc_wait(&procs[i], 0), -ETIMEDOUT, "instance %u exited:\n%s", i,
			     nfproc_slurp(procs[i].err));
		cr_assert_lt(mono_ms(), end, "instance %u never opened %s", i, file);
		sleep_ms(10);
	}
	cr_assert_eq(fcntl(fd, F_SETFL, 0), 0);
	fcntl(fd, F_SETPIPE_SZ, 8192);	/* keep the two readers close to each other */
	return fd;
}

static void write_all(int fd, const uint8_t *p, size_t size)
{
	while (size > 0) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		cr_assert_gt(n, 0, "write to a FIFO: %s", strerror(errno));
		p += n;
		size -= (size_t)n;
	}
}

/* Feed the pcap bytes 'buf' to both instances through their FIFOs: the file header first
 * (net_pcap opens its rx pcap during EAL init), then, once both poll loops are running,
 * the packets in alternating chunks, so that both work on the same flows at once. */
static void race_feed(const uint8_t *buf, size_t size)
{
	const size_t hdr = 24;

	for (unsigned i = 0; i < N_PROCS; i++) {
		fifo_fds[i] = fifo_open_writer(i, path("fifo%u", i));
		write_all(fifo_fds[i], buf, hdr);
	}
	for (unsigned i = 0; i < N_PROCS; i++)
		cr_assert_eq(nfproc_wait_log(&procs[i], " running: ", READY_WAIT_MS), 0,
			     "instance %u not running:\n%s", i, nfproc_slurp(procs[i].err));
	for (size_t off = hdr; off < size; off += RACE_CHUNK)
		for (unsigned i = 0; i < N_PROCS; i++)
			write_all(fifo_fds[i], buf + off, size - off < RACE_CHUNK ? size - off : RACE_CHUNK);
	for (unsigned i = 0; i < N_PROCS; i++) {
		close(fifo_fds[i]);
		fifo_fds[i] = -1;
	}
}

/* The public port each flow got in instance 'i''s output, by flow index (the SYN's seq). */
static void race_ports(unsigned i, uint16_t *ports)
{
	static bool seen[RACE_FLOWS];
	struct frames fs;
	struct view v;

	frames_read(path("race%u.out1.pcap", i), &fs);
	cr_assert_eq(fs.n, RACE_FLOWS, "instance %u sent %u packets, expected %u", i, fs.n,
		     RACE_FLOWS);
	memset(seen, 0, sizeof(seen));
	for (unsigned k = 0; k < fs.n; k++) {
		view_of(&fs.f[k], &v);
		cr_assert(v.seq < RACE_FLOWS && !seen[v.seq], "instance %u: packet %u seq %u", i, k,
			  v.seq);
		seen[v.seq] = true;
		cr_assert_str_eq(v.src, PUBLIC_IP, "instance %u: packet %u from %s", i, k, v.src);
		cr_assert(v.csums_ok, "instance %u: packet %u: bad checksum", i, k);
		cr_assert_geq(v.sport, 1024, "instance %u: packet %u: port %u", i, k, v.sport);
		ports[v.seq] = v.sport;
	}
	free(fs.f);
}

/* Every key "nat:<tag>*" with its value; returns how many (at most 'max'). */
static unsigned scan_keys(char tag, struct map_ep *eps, struct map_val *vals, unsigned max)
{
	char pattern[8], cursor[32] = "0";
	unsigned n = 0;

	snprintf(pattern, sizeof(pattern), "nat:%c*", tag);
	do {
		redisReply *r = redisCommand(rc, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);

		cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2, "SCAN");
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t k = 0; k < r->element[1]->elements; k++) {
			const redisReply *key = r->element[1]->element[k];
			struct map_val v;

			cr_assert_eq(key->len, 5 + sizeof(struct map_ep), "key of %zu bytes",
				     (size_t)key->len);
			cr_assert_lt(n, max, "more than %u nat:%c keys", max, tag);
			memcpy(&eps[n], key->str + 5, sizeof(eps[n]));
			cr_assert(map_get(tag, eps[n].proto, inet_ntoa((struct in_addr){ eps[n].ip }),
					  ntohs(eps[n].port), &v), "key vanished");
			vals[n++] = v;
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return n;
}

/* The store holds exactly one mapping per flow, both keys agree, and the port is the one
 * both instances used. */
static void race_check_store(const uint16_t *ports)
{
	static struct map_ep eps[RACE_FLOWS + 1];
	static struct map_val vals[RACE_FLOWS + 1];
	struct map_val r;
	unsigned n;

	n = scan_keys('m', eps, vals, RACE_FLOWS + 1);
	cr_assert_eq(n, RACE_FLOWS, "%u nat:m keys, expected %u", n, RACE_FLOWS);
	for (unsigned k = 0; k < n; k++) {
		unsigned flow = ntohs(eps[k].port) - 10000u;
		char pub[INET_ADDRSTRLEN];

		cr_assert(eps[k].proto == IPPROTO_TCP && flow < RACE_FLOWS, "odd key");
		cr_assert_eq(vals[k].in_port, eps[k].port, "value and key disagree");
		cr_assert_eq(ntohs(vals[k].pub_port), ports[flow], "flow %u: store %u, packets %u",
			     flow, ntohs(vals[k].pub_port), ports[flow]);
		inet_ntop(AF_INET, &vals[k].pub_ip, pub, sizeof(pub));
		cr_assert_str_eq(pub, PUBLIC_IP);
		cr_assert(map_get('r', IPPROTO_TCP, pub, ports[flow], &r), "flow %u: no nat:r key",
			  flow);
		cr_assert(memcmp(&r, &vals[k], 12) == 0, "flow %u: nat:r belongs to another flow",
			  flow);
	}
	n = scan_keys('r', eps, vals, RACE_FLOWS + 1);
	cr_assert_eq(n, RACE_FLOWS, "%u nat:r keys for %u flows", n, RACE_FLOWS);
}

Test(nat_instances, racing_instances_agree_on_new_flows, .timeout = 120)
{
	static uint16_t ports[N_PROCS][RACE_FLOWS];
	static bool used[65536];
	unsigned long long created = 0;
	uint8_t *buf;
	size_t size;

	race_pcap(path("race.pcap"));
	write_empty_pcap(path("empty.pcap"));
	for (unsigned i = 0; i < N_PROCS; i++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "race%u", i);
		cr_assert_eq(mkfifo(path("fifo%u", i), 0600), 0, "mkfifo: %s", strerror(errno));
		start_nat(i, tag, path("fifo%u", i), path("empty.pcap"),
			  "--port-range 1024-65535 --idle-exit-ms 500 --stats-interval-ms 0");
	}
	buf = file_read(path("race.pcap"), &size);
	race_feed(buf, size);
	free(buf);
	for (unsigned i = 0; i < N_PROCS; i++) {
		expect_clean_exit(i);
		expect_no_drops(i);
		created += nfproc_counter(&procs[i], "flows_created");
		race_ports(i, ports[i]);
	}
	cr_log_info("flows created: %llu by instance 0, %llu by instance 1",
		    nfproc_counter(&procs[0], "flows_created"),
		    nfproc_counter(&procs[1], "flows_created"));
	cr_expect_eq(created, RACE_FLOWS, "%llu flows created in all, expected each of %u once",
		     created, RACE_FLOWS);
	for (unsigned f = 0; f < RACE_FLOWS; f++) {
		cr_assert_eq(ports[0][f], ports[1][f], "flow %u: port %u in instance 0, %u in 1", f,
			     ports[0][f], ports[1][f]);
		cr_assert(!used[ports[0][f]], "flow %u: port %u is used by another flow too", f,
			  ports[0][f]);
		used[ports[0][f]] = true;
	}
	race_check_store(ports[0]);
}
