/* In-process benchmark of the NAT fast path: local vs remote vs cached state, one core, real redis-server. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>
#include <netinet/in.h>

#include <hiredis/hiredis.h>

#include "datastore/scripts.h"
#include "nf/clock.h"
#include "nf/counters.h"
#include "nf/log.h"
#include "nf/nf.h"
#include "nfs/nat/nat.h"
#include "tests/harness/pktgen.h"
#include "tests/harness/redis_server.h"

#define BENCH_FRAME_STRIDE 128		/* bytes per pristine frame slot */
#define BENCH_FRAME_LEN 64		/* every frame is 64 bytes on the wire (no FCS) */
#define BENCH_N_PUBLIC 16		/* 16 x 64512 public ports per protocol */
#define BENCH_PORTS_PER_IP 64		/* inside flows per inside address */
#define BENCH_TICK_BURSTS 32		/* nat_tick every 32 bursts (about 1 ms) */
#define BENCH_PASS_SKEW_US 1000000000ull	/* virtual time between passes: every entry expires */
#define BENCH_MAX_PASSES 100
#define BENCH_N_P 4
#define BENCH_N_MODES 3
#define BENCH_RB_REQUESTS 200000
#define BENCH_RB_REQUESTS_STR "200000"
#define BENCH_EST_P 100			/* P of the established-flows (steady state) rows */
#define BENCH_EST_IDX 2			/* its index in bench_ps */

static const unsigned bench_ps[BENCH_N_P] = { 1, 10, 100, 1000 };
static const enum nf_mode bench_modes[BENCH_N_MODES] = { NF_MODE_LOCAL, NF_MODE_REMOTE,
							 NF_MODE_CACHED };

struct bench_opts {
	const char *redis_benchmark;	/* path of redis-benchmark, or NULL to skip it */
	unsigned n_packets;		/* packets per pass (F x P) */
	unsigned max_flows;		/* cap on F */
	unsigned reps;			/* runs per cell; the median is reported */
	double min_secs;		/* timed NAT work per run, at least */
	bool use_unix;			/* store over the unix socket instead of TCP loopback */
	bool tcp;			/* TCP ACK packets instead of UDP */
};

/* One run of a cell (several passes of F x P packets until min_secs of NAT work). */
struct bench_result {
	uint64_t pkts, drops, flows, passes;
	uint64_t nat_ns;		/* harness loop with the NAT, copy included */
	uint64_t copy_ns;		/* the same loop without the NAT: frame copies, clock */
	uint64_t round_trips, cmds, hits, misses;
};

struct bench {
	struct bench_opts o;
	struct redis_server rs;
	redisContext *admin;
	struct nat_config cfg;
	uint8_t *frames;		/* max_flows slots of BENCH_FRAME_STRIDE bytes */
	struct fake_mbuf *mbufs;	/* NF_BURST of them */
	struct rte_mbuf *pkts[NF_BURST];
	struct bench_result cells[BENCH_N_MODES][BENCH_N_P];	/* medians, new flows included */
	struct bench_result est[BENCH_N_MODES];		/* medians, P = BENCH_EST_P, established */
	char alloc_sha[41];		/* SHA1 of nat_alloc.lua, "" when not loaded */
	double rb_alloc;		/* median redis-benchmark EVALSHA nat_alloc -c 1 rate, or -1 */
};

static uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char bench_mode_letter(enum nf_mode m)
{
	return m == NF_MODE_LOCAL ? 'l' : m == NF_MODE_REMOTE ? 'r' : 'c';
}

/* Net NAT time of 'r' in seconds: the copy loop's time subtracted. */
static double bench_secs(const struct bench_result *r)
{
	int64_t ns = (int64_t)r->nat_ns - (int64_t)r->copy_ns;

	return (ns > 0 ? (double)ns : 1.0) / 1e9;
}

static double bench_mpps(const struct bench_result *r)
{
	return (double)r->pkts / bench_secs(r) / 1e6;
}

static double bench_per_pkt(uint64_t v, const struct bench_result *r)
{
	return r->pkts ? (double)v / (double)r->pkts : 0.0;
}

static unsigned bench_flows_for(const struct bench *b, unsigned p)
{
	unsigned f = b->o.n_packets / p;

	if (f > b->o.max_flows)
		f = b->o.max_flows;
	return f ? f : 1;
}

/* ---- setup ---- */

static int bench_nat_config(struct bench *b)
{
	char json[2048], err[256];
	size_t off;

	nat_config_default(&b->cfg);
	off = (size_t)snprintf(json, sizeof(json), "{\"public_ips\": [");
	for (unsigned i = 1; i <= BENCH_N_PUBLIC; i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off, "%s\"203.0.113.%u\"",
					i > 1 ? ", " : "", i);
	snprintf(json + off, sizeof(json) - off, "], \"port_range\": [1024, 65535]}");
	if (nat_config_load_string(&b->cfg, json, err, sizeof(err)) != 0 ||
	    nat_config_validate(&b->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: NAT config: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

static int bench_buffers(struct bench *b)
{
	b->frames = calloc(b->o.max_flows, BENCH_FRAME_STRIDE);
	b->mbufs = calloc(NF_BURST, sizeof(*b->mbufs));
	if (b->frames == NULL || b->mbufs == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < NF_BURST; i++) {
		fake_mbuf_init(&b->mbufs[i], b->frames, BENCH_FRAME_LEN);
		b->pkts[i] = &b->mbufs[i].m;
	}
	return 0;
}

static int bench_admin_connect(struct bench *b)
{
	struct timeval tv = { .tv_sec = 10, .tv_usec = 0 };

	b->admin = redisConnectUnixWithTimeout(b->rs.unix_path, tv);
	if (b->admin == NULL || b->admin->err) {
		fprintf(stderr, "bench: admin connection: %s\n", b->admin ? b->admin->errstr : "no memory");
		return -ECONNREFUSED;
	}
	return 0;
}

static int bench_flushall(struct bench *b)
{
	redisReply *r = redisCommand(b->admin, "FLUSHALL");
	int ok = r != NULL && r->type == REDIS_REPLY_STATUS;

	if (r != NULL)
		freeReplyObject(r);
	return ok ? 0 : -EIO;
}

/* ---- packets ---- */

/* Pristine frames of pass 'pass': flow f of that pass is inside endpoint number
 * pass * F + f, so every pass brings F flows never seen before. */
static int bench_build_frames(struct bench *b, unsigned n_flows, unsigned pass)
{
	struct pkt_spec s = { .dst = "198.51.100.7", .dport = 443 };
	char src[16];

	s.proto = b->o.tcp ? IPPROTO_TCP : IPPROTO_UDP;
	s.tcp_flags = 0x10;	/* ACK only: no state transition after the mapping exists */
	s.payload_len = BENCH_FRAME_LEN - 14 - 20 - (b->o.tcp ? 20 : 8);
	s.seq = 1000, s.ack = 2000;
	s.src = src;
	for (unsigned f = 0; f < n_flows; f++) {
		uint64_t g = (uint64_t)pass * n_flows + f;
		uint32_t ip = 0x0a000001u + (uint32_t)(g / BENCH_PORTS_PER_IP);

		snprintf(src, sizeof(src), "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
			 ip & 255);
		s.sport = (uint16_t)(20000 + g % BENCH_PORTS_PER_IP);
		if (pktgen_build(b->frames + (size_t)f * BENCH_FRAME_STRIDE, BENCH_FRAME_STRIDE, &s) !=
		    BENCH_FRAME_LEN)
			return -EINVAL;
	}
	return 0;
}

/* Put pristine frame 'f' back into mbuf 'i' (the NAT rewrote the previous one in place). */
static inline void bench_load(struct bench *b, unsigned i, unsigned f)
{
	struct rte_mbuf *m = b->pkts[i];

	memcpy(b->mbufs[i].data, b->frames + (size_t)f * BENCH_FRAME_STRIDE, BENCH_FRAME_LEN);
	m->data_len = BENCH_FRAME_LEN;
	m->pkt_len = BENCH_FRAME_LEN;
}

/* The harness loop: 'n' packets round-robin over 'n_flows' frames in bursts of 32. With
 * 'w' NULL only the copies, the clock and the verdict scan run (the cost to subtract).
 * Returns the elapsed nanoseconds; adds the dropped packets to '*drops'. */
static uint64_t bench_loop(struct bench *b, struct nat_worker *w, unsigned n_flows, uint64_t n,
			   uint64_t skew_us, uint64_t *drops)
{
	uint8_t out_ports[NF_BURST] = { 0 };
	uint64_t t0 = bench_now_ns(), now_us = 0;
	unsigned f = 0, bursts = 0;

	for (uint64_t k = 0; k < n; k += NF_BURST) {
		uint16_t m = (uint16_t)(n - k < NF_BURST ? n - k : NF_BURST);

		for (uint16_t i = 0; i < m; i++) {
			bench_load(b, i, f);
			if (++f == n_flows)
				f = 0;
		}
		now_us = nf_now_us() + skew_us;
		if (w != NULL) {
			nat_process_burst(w, NF_PORT_INSIDE, b->pkts, m, out_ports, now_us);
			if (++bursts % BENCH_TICK_BURSTS == 0)
				nat_tick(w, now_us);
		} else {
			__asm__ volatile("" ::: "memory");
		}
		for (uint16_t i = 0; i < m; i++)
			*drops += out_ports[i] == NF_VERDICT_DROP;
	}
	if (w != NULL)
		nat_tick(w, now_us + 200000);	/* flush this pass's write-behind records */
	return bench_now_ns() - t0;
}

/* ---- redis-benchmark ---- */

/* Fork 'argv' with its standard output on a pipe; returns the read end, or -1. */
static int bench_spawn(const char **argv, pid_t *pid)
{
	int fds[2];

	if (pipe(fds) != 0)
		return -1;
	*pid = fork();
	if (*pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (*pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(fds[1], STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(fds[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	return fds[0];
}

/* Read 'fd' to its end, keeping the last part of the output in 'out'; reap 'pid'. Returns
 * the output length, or -1 when the child did not exit with status 0. */
static ssize_t bench_collect(int fd, pid_t pid, char *out, size_t size)
{
	size_t len = 0;
	ssize_t got;
	int status;

	while ((got = read(fd, out + len, size - 1 - len)) > 0) {
		len += (size_t)got;
		if (len > size / 2) {	/* keep draining: only the end matters */
			memmove(out, out + len - size / 4, size / 4);
			len = size / 4;
		}
	}
	close(fd);
	out[len] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? (ssize_t)len : -1;
}

/* Run redis-benchmark with 'args' after the connection options. Returns the last
 * "requests per second" figure of its output, or -1. */
static double bench_rb_run(struct bench *b, int n_args, const char **args)
{
	const char *argv[48];
	char port[8], out[1 << 16];
	int fd, n = 0;
	ssize_t len;
	pid_t pid;
	char *rps;

	argv[n++] = b->o.redis_benchmark;
	snprintf(port, sizeof(port), "%u", b->rs.port);
	if (b->o.use_unix) {
		argv[n++] = "-s", argv[n++] = b->rs.unix_path;
	} else {
		argv[n++] = "-h", argv[n++] = "127.0.0.1", argv[n++] = "-p", argv[n++] = port;
	}
	for (int i = 0; i < n_args; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if ((fd = bench_spawn(argv, &pid)) < 0 || (len = bench_collect(fd, pid, out, sizeof(out))) < 0)
		return -1;
	rps = memmem(out, (size_t)len, " requests per second", 20);
	if (rps == NULL)
		return -1;
	while (rps > out && rps[-1] != ' ' && rps[-1] != '\t' && rps[-1] != '\r' && rps[-1] != '\n')
		rps--;
	return strtod(rps, NULL);
}

/* SHA1 of nat_alloc.lua as the server knows it (SCRIPT LOAD; FLUSHALL keeps scripts), into
 * 'sha' (41 bytes). */
static int bench_alloc_sha(struct bench *b, char *sha)
{
	size_t size;
	const char *text = store_script_text(SCRIPT_NAT_ALLOC, &size);
	redisReply *r = redisCommand(b->admin, "SCRIPT LOAD %b", text, size);
	int ok = r != NULL && r->type == REDIS_REPLY_STRING && r->len == 40;

	if (ok)
		memcpy(sha, r->str, 41);
	if (r != NULL)
		freeReplyObject(r);
	return ok ? 0 : -EIO;
}

/* EVALSHA nat_alloc as the NAT sends it in cached mode for a new flow: random inside
 * endpoint (forward key) and random reverse-key prefix, so that every call allocates on
 * its first probe, like the NAT with 16 x 64512 free ports. */
static double bench_rb_alloc(struct bench *b, const char *sha, const char *clients)
{
	const char *args[] = {
		"-n", BENCH_RB_REQUESTS_STR, "-c", clients, "-P", "32", "-r", "100000000", "-q",
		"EVALSHA", sha, "1", "rb:m__rand_int__",	/* KEYS[1] forward key */
		"rb:r__rand_int__",	/* ARGV[1] reverse key prefix */
		"rb:puPPPP",		/* ARGV[2] port cursor key: "<ns>:p" + proto + address */
		"PPPP",			/* ARGV[3] public address, 4 bytes */
		"1024", "65535", "30000",	/* ARGV[4..6] port range, TTL ms */
		"AAAA0000BB00u000",	/* ARGV[7] 16-byte value template */
		"128", "0", "0", "0",	/* ARGV[8] probes, ARGV[9..11] no refresh */
		"rb:s__rand_int__", "64",	/* ARGV[12..13] counters key, first packet's bytes */
	};

	return bench_rb_run(b, (int)(sizeof(args) / sizeof(args[0])), args);
}

/* redis-benchmark of nat_alloc with one client on an empty data set, or -1. */
static double bench_rb_side(struct bench *b)
{
	if (b->o.redis_benchmark == NULL || b->alloc_sha[0] == '\0' || bench_flushall(b) != 0)
		return -1;
	return bench_rb_alloc(b, b->alloc_sha, "1");
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double bench_rb_get(struct bench *b)
{
	const char *args[] = { "-n", BENCH_RB_REQUESTS_STR, "-c", "1", "-P", "32", "-r", "100000", "-q",
			       "GET", "key:__rand_int__" };

	return bench_rb_run(b, (int)(sizeof(args) / sizeof(args[0])), args);
}

/* ---- one run of a cell ---- */

static struct nat_worker *bench_worker(struct bench *b, enum nf_mode mode, unsigned p, unsigned rep,
				       bool established, unsigned n_flows, struct nat **nat,
				       struct nf_counters *ctr)
{
	struct nf_opts opts;
	struct nat_worker *w;

	memset(&opts, 0, sizeof(opts));
	snprintf(opts.id, sizeof(opts.id), "bench");
	snprintf(opts.ns, sizeof(opts.ns), "b%c%u%s.%u", bench_mode_letter(mode), p, established ? "e" : "",
		 rep);
	opts.mode = mode;
	opts.cache_entries = n_flows * 4 > 4096 ? n_flows * 4 : 4096;
	redis_server_store_cfg(&b->rs, b->o.use_unix, &opts.store);
	*nat = nat_create(&b->cfg, &opts);
	if (*nat == NULL)
		return NULL;
	w = nat_worker_create(*nat, 0, ctr);
	if (w == NULL)
		nat_destroy(*nat);
	return w;
}

static void bench_ctr_delta(struct bench_result *r, const struct nf_counters *a,
			    const struct nf_counters *z)
{
	r->round_trips += z->v[NF_CTR_STORE_ROUND_TRIPS] - a->v[NF_CTR_STORE_ROUND_TRIPS];
	r->cmds += z->v[NF_CTR_STORE_CMDS] - a->v[NF_CTR_STORE_CMDS];
	r->hits += z->v[NF_CTR_CACHE_HITS] - a->v[NF_CTR_CACHE_HITS];
	r->misses += z->v[NF_CTR_CACHE_MISSES] - a->v[NF_CTR_CACHE_MISSES];
	r->flows += z->v[NF_CTR_FLOWS_CREATED] - a->v[NF_CTR_FLOWS_CREATED];
}

static void bench_report_drops(enum nf_mode mode, unsigned p, const struct nf_counters *ctr)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "bench: drops in %s P=%u: ", nf_mode_name(mode), p);
	nf_counters_print(stderr, prefix, ctr);
}

/* Passes of F x P packets until the NAT has worked min_secs. Each pass brings F new flows
 * (its mappings are created in the timed loop, the previous pass's have expired), or, when
 * 'established', the same F flows whose mappings an untimed warm-up packet per flow
 * created. Returns 0 or a negative errno. */
static int bench_run(struct bench *b, enum nf_mode mode, unsigned p, unsigned rep, bool established,
		     struct bench_result *r)
{
	static struct nf_counters ctr, before;
	unsigned n_flows = bench_flows_for(b, p);
	uint64_t n = (uint64_t)n_flows * p, junk = 0;
	struct nat *nat;
	struct nat_worker *w;

	memset(r, 0, sizeof(*r));
	memset(&ctr, 0, sizeof(ctr));
	if (bench_flushall(b) != 0 ||
	    (w = bench_worker(b, mode, p, rep, established, n_flows, &nat, &ctr)) == NULL)
		return -EIO;
	if (established && bench_build_frames(b, n_flows, 0) == 0)
		bench_loop(b, w, n_flows, n_flows, 0, &junk);
	while (r->passes < BENCH_MAX_PASSES &&
	       (r->passes == 0 || (double)(r->nat_ns - r->copy_ns) / 1e9 < b->o.min_secs)) {
		uint64_t skew = established ? 0 : r->passes * BENCH_PASS_SKEW_US;

		if (!established && bench_build_frames(b, n_flows, (unsigned)r->passes) != 0)
			break;
		before = ctr;
		r->nat_ns += bench_loop(b, w, n_flows, n, skew, &r->drops);
		bench_ctr_delta(r, &before, &ctr);
		r->copy_ns += bench_loop(b, NULL, n_flows, n, skew, &junk);
		r->pkts += n;
		r->passes++;
	}
	if (r->drops)
		bench_report_drops(mode, p, &ctr);
	nat_worker_destroy(w);
	nat_destroy(nat);
	return 0;
}

static int bench_cmp_mpps(const void *a, const void *b)
{
	double x = bench_mpps(a), y = bench_mpps(b);

	return x < y ? -1 : x > y;
}

/* Cell 'c' of the run order: BENCH_N_P per mode with new flows, then one established per mode. */
#define BENCH_N_CELLS (BENCH_N_MODES * (BENCH_N_P + 1))

static int bench_cell_run(struct bench *b, unsigned c, unsigned rep, struct bench_result *r)
{
	bool est = c >= BENCH_N_MODES * BENCH_N_P;
	unsigned m = est ? c - BENCH_N_MODES * BENCH_N_P : c / BENCH_N_P;
	unsigned p = est ? BENCH_EST_P : bench_ps[c % BENCH_N_P];

	if (bench_run(b, bench_modes[m], p, rep, est, r) == 0)
		return 0;
	fprintf(stderr, "bench: %s P=%u%s: could not run\n", nf_mode_name(bench_modes[m]), p,
		est ? " established" : "");
	return -EIO;
}

static struct bench_result *bench_cell_slot(struct bench *b, unsigned c)
{
	if (c >= BENCH_N_MODES * BENCH_N_P)
		return &b->est[c - BENCH_N_MODES * BENCH_N_P];
	return &b->cells[c / BENCH_N_P][c % BENCH_N_P];
}

/* Cell 'k' of the run order: for each P, local, cached, remote, so that the cells compared
 * in the ratios run next to each other in time (other load on the machine hits both). */
static unsigned bench_cell_order(unsigned k)
{
	static const unsigned mode_order[BENCH_N_MODES] = { 0, 2, 1 };	/* local, cached, remote */
	unsigned group = k / BENCH_N_MODES, m = mode_order[k % BENCH_N_MODES];

	if (group == BENCH_N_P)
		return BENCH_N_MODES * BENCH_N_P + m;	/* established */
	return m * BENCH_N_P + group;
}

/* Every cell, each run 'reps' times; the slot of a cell gets the run with the median rate.
 * The repetitions are interleaved (all cells once, then again) so drift hits every cell alike. */
static int bench_cells(struct bench *b)
{
	struct bench_result *runs = calloc((size_t)BENCH_N_CELLS * b->o.reps, sizeof(*runs));
	double *rb = calloc(b->o.reps, sizeof(*rb));
	int rc = runs != NULL && rb != NULL ? 0 : -ENOMEM;

	for (unsigned rep = 0; rep < b->o.reps && rc == 0; rep++)
		for (unsigned k = 0; k < BENCH_N_CELLS && rc == 0; k++) {
			unsigned c = bench_cell_order(k);

			rc = bench_cell_run(b, c, rep, &runs[c * b->o.reps + rep]);
			if (k == BENCH_N_MODES - 1)	/* right after the P=1 cells */
				rb[rep] = bench_rb_side(b);
		}
	if (rc == 0) {
		qsort(rb, b->o.reps, sizeof(*rb), bench_cmp_double);
		b->rb_alloc = rb[b->o.reps / 2];
	}
	for (unsigned c = 0; c < BENCH_N_CELLS && rc == 0; c++) {
		struct bench_result *cell = &runs[c * b->o.reps];

		qsort(cell, b->o.reps, sizeof(*cell), bench_cmp_mpps);
		*bench_cell_slot(b, c) = cell[b->o.reps / 2];
	}
	free(runs);
	free(rb);
	return rc;
}

/* ---- report ---- */

static void bench_cpu_model(char *buf, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, size, "unknown");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) != 0 || colon == NULL)
			continue;
		snprintf(buf, size, "%s", colon + 2);
		buf[strcspn(buf, "\n")] = '\0';
		break;
	}
	if (f != NULL)
		fclose(f);
}

static void bench_redis_version(struct bench *b, char *buf, size_t size)
{
	redisReply *r = redisCommand(b->admin, "INFO server");
	char *v = r != NULL && r->type == REDIS_REPLY_STRING ? strstr(r->str, "redis_version:") : NULL;

	snprintf(buf, size, "%s", v != NULL ? v + 14 : "unknown");
	buf[strcspn(buf, "\r\n")] = '\0';
	if (r != NULL)
		freeReplyObject(r);
}

static void bench_loadavg(char *buf, size_t size)
{
	FILE *f = fopen("/proc/loadavg", "r");

	if (f == NULL || fgets(buf, (int)size, f) == NULL)
		snprintf(buf, size, "unknown");
	buf[strcspn(buf, "\n")] = '\0';
	if (f != NULL)
		fclose(f);
}

static void bench_print_header(struct bench *b)
{
	char cpu[256], ver[64], date[64], load[128];
	struct utsname u;
	time_t t = time(NULL);

	bench_cpu_model(cpu, sizeof(cpu));
	bench_redis_version(b, ver, sizeof(ver));
	bench_loadavg(load, sizeof(load));
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	printf("## NAT benchmark (make bench)\n\n| machine | |\n|---|---|\n");
	printf("| CPU | %s, %ld online cpus |\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
	printf("| kernel | %s %s |\n", u.sysname, u.release);
	printf("| redis | redis-server %s, %s, no persistence |\n", ver,
	       b->o.use_unix ? "unix socket" : "TCP loopback 127.0.0.1");
	printf("| date | %s |\n", date);
	printf("| /proc/loadavg at start | %s |\n", load);
	printf("| workload | one core, in-process nat_process_burst on bursts of 32; outbound %s, %u-byte "
	       "frames; F flows x P packets, flows interleaved round-robin; %u packets per pass, F <= %u; "
	       "passes of new flows until >= %.1f s; median of %u runs |\n\n",
	       b->o.tcp ? "TCP ACK" : "UDP", BENCH_FRAME_LEN, b->o.n_packets, b->o.max_flows,
	       b->o.min_secs, b->o.reps);
}

static void bench_print_row(const struct bench *b, enum nf_mode mode, unsigned p, const char *flows,
			    const struct bench_result *r)
{
	uint64_t looked = r->hits + r->misses;

	printf("| %s | %s | %u | %u | %" PRIu64 " | %.3f | %.1f | %.1f | %.4f | %.4f | %.1f%% | %" PRIu64
	       " |\n", nf_mode_name(mode), flows, p, bench_flows_for(b, p), r->pkts, bench_mpps(r),
	       bench_secs(r) * 1e9 / (double)r->pkts, (double)r->copy_ns / (double)r->pkts,
	       bench_per_pkt(r->round_trips, r), bench_per_pkt(r->cmds, r),
	       looked ? 100.0 * (double)r->hits / (double)looked : 0.0, r->drops);
}

static void bench_print_cells(struct bench *b)
{
	printf("| mode | flows | P | F | packets | Mpps | ns/pkt | copy ns/pkt | store RT/pkt "
	       "| store cmds/pkt | cache hit | drops |\n");
	printf("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	for (unsigned m = 0; m < BENCH_N_MODES; m++)
		for (unsigned i = 0; i < BENCH_N_P; i++)
			bench_print_row(b, bench_modes[m], bench_ps[i], "new", &b->cells[m][i]);
	for (unsigned m = 0; m < BENCH_N_MODES; m++)
		bench_print_row(b, bench_modes[m], BENCH_EST_P, "established", &b->est[m]);
	printf("\nflows \"new\": every pass brings F flows never seen (their mappings are created in the "
	       "timed loop); \"established\": the same F flows, mappings created by an untimed packet per "
	       "flow first. ns/pkt is the NAT alone: the harness loop's time minus the same loop without "
	       "the NAT (copy ns/pkt: restoring the pristine frame, reading the clock). packets: all "
	       "passes of the median run.\n\n");
}

static const char *bench_verdict(double v, double target)
{
	return v >= target ? "PASS" : "FAIL";
}

/* Rate of mode index 'm' at P index 'i' (new flows). */
static double bench_rate(const struct bench *b, unsigned m, unsigned i)
{
	return bench_mpps(&b->cells[m][i]);
}

static void bench_print_target(const char *what, double v, double target)
{
	printf("| %s >= %g | %.3f | %s |\n", what, target, v, bench_verdict(v, target));
}

static void bench_print_ratios(struct bench *b)
{
	double est_cl = bench_mpps(&b->est[2]) / bench_mpps(&b->est[0]);
	double est_cr = bench_mpps(&b->est[2]) / bench_mpps(&b->est[1]);

	printf("| P | flows | cached/local | cached/remote |\n|--:|---|--:|--:|\n");
	for (unsigned i = 0; i < BENCH_N_P; i++)
		printf("| %u | new | %.3f | %.1f |\n", bench_ps[i], bench_rate(b, 2, i) / bench_rate(b, 0, i),
		       bench_rate(b, 2, i) / bench_rate(b, 1, i));
	printf("| %u | established | %.3f | %.1f |\n", BENCH_EST_P, est_cl, est_cr);
	printf("\n| target | measured | result |\n|---|--:|---|\n");
	bench_print_target("cached/local, P=100, new flows", bench_rate(b, 2, BENCH_EST_IDX) /
			   bench_rate(b, 0, BENCH_EST_IDX), 0.9);
	bench_print_target("cached/remote, P=100, new flows", bench_rate(b, 2, BENCH_EST_IDX) /
			   bench_rate(b, 1, BENCH_EST_IDX), 10.0);
	bench_print_target("cached/local, P=100, established flows", est_cl, 0.9);
	bench_print_target("cached/remote, P=100, established flows", est_cr, 10.0);
	printf("\n");
}

/* New-flow setup: NAT cached P=1 next to redis-benchmark of the same script (the -c 1 runs
 * were made between the cells, median; the others are references run once here). */
static void bench_setup_rates(struct bench *b)
{
	const struct bench_result *r = &b->cells[2][0];
	double nat = (double)r->flows / bench_secs(r), c1 = b->rb_alloc, c4 = -1, get = -1;

	if (c1 > 0 && bench_flushall(b) == 0) {
		c4 = bench_rb_alloc(b, b->alloc_sha, "4");
		bench_flushall(b);
		get = bench_rb_get(b);
	}
	printf("| new-flow setup (%s) | rate |\n|---|--:|\n", b->o.use_unix ? "unix socket" : "TCP loopback");
	printf("| NAT cached, P=1 (every packet a new flow; %.2f store commands per flow) | %.0f flows/s |\n",
	       r->flows ? (double)r->cmds / (double)r->flows : 0.0, nat);
	if (c1 < 0) {
		printf("| redis-benchmark | not run (%s) |\n\n",
		       b->o.redis_benchmark ? "failed" : "no --redis-benchmark");
		return;
	}
	printf("| redis-benchmark EVALSHA nat_alloc -n %d -c 1 -P 32 (median of %u, run next to the P=1 "
	       "cells) | %.0f req/s |\n", BENCH_RB_REQUESTS, b->o.reps, c1);
	printf("| redis-benchmark EVALSHA nat_alloc -n %d -c 4 -P 32 (reference) | %.0f req/s |\n",
	       BENCH_RB_REQUESTS, c4);
	printf("| redis-benchmark GET -n %d -c 1 -P 32 (reference) | %.0f req/s |\n\n", BENCH_RB_REQUESTS,
	       get);
	printf("| target | measured | result |\n|---|--:|---|\n");
	bench_print_target("NAT setup rate / redis-benchmark EVALSHA (-c 1)", nat / c1, 0.30);
}

/* ---- main ---- */

static void bench_usage(void)
{
	fprintf(stderr, "usage: bench-nf [--redis-benchmark PATH] [--unix] [--tcp] [--packets N] "
			"[--max-flows N] [--reps N] [--min-time SECONDS]\n");
}

static int bench_parse_args(struct bench_opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "redis-benchmark", required_argument, NULL, 'b' }, { "unix", no_argument, NULL, 'u' },
		{ "tcp", no_argument, NULL, 't' }, { "packets", required_argument, NULL, 'n' },
		{ "max-flows", required_argument, NULL, 'f' }, { "reps", required_argument, NULL, 'r' },
		{ "min-time", required_argument, NULL, 's' }, { NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct bench_opts){ .n_packets = 200000, .max_flows = 200000, .reps = 3, .min_secs = 0.3 };
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'b': o->redis_benchmark = optarg[0] ? optarg : NULL; break;
		case 'u': o->use_unix = true; break;
		case 't': o->tcp = true; break;
		case 'n': o->n_packets = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'f': o->max_flows = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'r': o->reps = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': o->min_secs = strtod(optarg, NULL); break;
		default: return -EINVAL;
		}
	}
	if (o->n_packets < NF_BURST || o->max_flows == 0 || o->reps == 0 || optind != argc)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b;
	int rc = 1;

	if (bench_parse_args(&b.o, argc, argv) != 0) {
		bench_usage();
		return 2;
	}
	nf_log_threshold = NF_LOG_WARN;	/* no "store connected" line per run */
	if (bench_nat_config(&b) != 0 || bench_buffers(&b) != 0)
		return 1;
	if (redis_server_start(&b.rs, NULL) != 0) {
		fprintf(stderr, "bench: cannot start redis-server\n");
		return 1;
	}
	if (bench_admin_connect(&b) != 0)
		goto out;
	if (b.o.redis_benchmark != NULL && bench_alloc_sha(&b, b.alloc_sha) != 0)
		fprintf(stderr, "bench: SCRIPT LOAD nat_alloc.lua failed: no redis-benchmark lines\n");
	bench_print_header(&b);
	fflush(stdout);
	if (bench_cells(&b) != 0)
		goto out;
	bench_print_cells(&b);
	bench_print_ratios(&b);
	bench_setup_rates(&b);
	rc = 0;
out:
	if (b.admin != NULL)
		redisFree(b.admin);
	redis_server_stop(&b.rs);
	free(b.frames);
	free(b.mbufs);
	return rc;
}
