/* In-process benchmark of the NF fast paths: local vs remote vs cached state, one core, real
 * redis-server; one driver, one adapter per NF (bench_nf_*.c). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "nf/clock.h"
#include "nf/log.h"
#include "tests/bench/bench.h"

#define BENCH_TICK_BURSTS 32		/* NF tick every 32 bursts (about 1 ms) */
#define BENCH_MAX_PASSES 100
#define BENCH_N_CELLS_MAX (BENCH_N_MAIN + BENCH_MAX_EXTRA)

const unsigned bench_ps[BENCH_N_P] = { 1, 10, 100, 1000 };
const enum nf_mode bench_modes[BENCH_N_MODES] = { NF_MODE_LOCAL, NF_MODE_REMOTE, NF_MODE_CACHED };

static const struct bench_nf_ops *const bench_nfs[] = { &bench_nf_nat, &bench_nf_fw, &bench_nf_lb };

/* The packets of one timed (or warm-up) loop: 'n' packets round-robin over 'n_flows' flows,
 * round r (the r-th packet of every flow) from stage min(stage0 + r, last stage). */
struct bench_pass {
	unsigned n_flows;
	uint64_t n;
	unsigned stage0;
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

double bench_secs(const struct bench_result *r)
{
	int64_t ns = (int64_t)r->nat_ns - (int64_t)r->copy_ns;

	return (ns > 0 ? (double)ns : 1.0) / 1e9;
}

double bench_mpps(const struct bench_result *r)
{
	return (double)r->pkts / bench_secs(r) / 1e6;
}

static double bench_per_pkt(uint64_t v, const struct bench_result *r)
{
	return r->pkts ? (double)v / (double)r->pkts : 0.0;
}

unsigned bench_flows_for(const struct bench *b, unsigned p)
{
	unsigned f = b->n_packets / p;

	if (f > b->o.max_flows)
		f = b->o.max_flows;
	return f ? f : 1;
}

/* ---- setup ---- */

static int bench_buffers(struct bench *b)
{
	static const uint8_t zero[BENCH_FRAME_LEN];

	b->mbufs = calloc(NF_BURST, sizeof(*b->mbufs));
	if (b->mbufs == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < NF_BURST; i++) {
		fake_mbuf_init(&b->mbufs[i], zero, BENCH_FRAME_LEN);
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

int bench_flushall(struct bench *b)
{
	redisReply *r = redisCommand(b->admin, "FLUSHALL");
	int ok = r != NULL && r->type == REDIS_REPLY_STATUS;

	if (r != NULL)
		freeReplyObject(r);
	return ok ? 0 : -EIO;
}

/* ---- packets ---- */

static uint8_t *bench_slot(const struct bench *b, unsigned n_flows, unsigned stage, unsigned f)
{
	return b->frames + ((size_t)stage * n_flows + f) * BENCH_FRAME_STRIDE;
}

/* Pristine frames of stages 0 .. n_stages-1 of pass 'pass': flow f of that pass is endpoint
 * number pass * F + f, so every pass brings F flows never seen before. */
static int bench_build_frames(struct bench *b, unsigned n_flows, unsigned pass, unsigned n_stages)
{
	size_t need = (size_t)n_flows * n_stages;

	if (need > b->n_slots) {
		uint8_t *frames = realloc(b->frames, need * BENCH_FRAME_STRIDE);

		if (frames == NULL)
			return -ENOMEM;
		b->frames = frames;
		b->n_slots = need;
	}
	for (unsigned s = 0; s < n_stages; s++) {
		for (unsigned f = 0; f < n_flows; f++) {
			uint64_t g = (uint64_t)pass * n_flows + f;
			uint16_t len = b->nf->build(&b->o, s, g, bench_slot(b, n_flows, s, f),
						    BENCH_FRAME_STRIDE);

			if (len == 0 || len > BENCH_FRAME_LEN || (f > 0 && len != b->stage_len[s]))
				return -EINVAL;
			b->stage_len[s] = len;
		}
	}
	return 0;
}

/* Put pristine frame (stage 's', flow 'f') back into mbuf 'i' (the NF may have rewritten
 * the previous one in place). */
static inline void bench_load(struct bench *b, unsigned i, unsigned n_flows, unsigned s, unsigned f)
{
	struct rte_mbuf *m = b->pkts[i];

	memcpy(b->mbufs[i].data, bench_slot(b, n_flows, s, f), BENCH_FRAME_LEN);
	m->data_len = b->stage_len[s];
	m->pkt_len = b->stage_len[s];
}

/* Up to NF_BURST packets of pass 'ps' from packet '*k' on, all arriving on one port (a
 * burst ends where the port changes); '*f' and '*s' are the flow and stage of packet '*k'. */
static uint16_t bench_fill(struct bench *b, const struct bench_pass *ps, uint64_t *k, unsigned *f,
			   unsigned *s, uint16_t *port)
{
	const struct bench_nf_ops *nf = b->nf;
	uint16_t m = 0;

	*port = nf->stage_ports[*s];
	while (m < NF_BURST && *k < ps->n && nf->stage_ports[*s] == *port) {
		bench_load(b, m++, ps->n_flows, *s, *f);
		(*k)++;
		if (++*f == ps->n_flows) {
			*f = 0;
			if (*s + 1 < nf->n_stages)
				(*s)++;
		}
	}
	return m;
}

/* The harness loop: the packets of 'ps' in bursts of up to 32. With 'in' NULL only the
 * copies, the clock and the verdict scan run (the cost to subtract). Returns the elapsed
 * nanoseconds; adds the dropped packets to '*drops'. */
static uint64_t bench_loop(struct bench *b, struct bench_inst *in, const struct bench_pass *ps,
			   uint64_t skew_us, uint64_t *drops)
{
	const struct bench_nf_ops *nf = b->nf;
	uint8_t out_ports[NF_BURST] = { 0 };
	uint64_t t0 = bench_now_ns(), now_us = 0, k = 0;
	unsigned f = 0, s = ps->stage0, bursts = 0;

	while (k < ps->n) {
		uint16_t port, m = bench_fill(b, ps, &k, &f, &s, &port);

		now_us = nf_now_us() + skew_us;
		if (in != NULL) {
			nf->process(in, port, b->pkts, m, out_ports, now_us);
			if (++bursts % BENCH_TICK_BURSTS == 0)
				nf->tick(in, now_us);
		} else {
			__asm__ volatile("" ::: "memory");
		}
		for (uint16_t i = 0; i < m; i++)
			*drops += out_ports[i] == NF_VERDICT_DROP;
	}
	if (in != NULL)
		nf->tick(in, now_us + 200000);	/* flush this pass's write-behind records */
	return bench_now_ns() - t0;
}

/* ---- one run of a cell ---- */

static struct bench_inst *bench_instance(struct bench *b, const struct bench_cell *c, unsigned rep,
					 unsigned n_flows, struct nf_counters *ctr)
{
	struct nf_opts opts;
	char variant[16] = "";

	if (c->variant != 0)
		snprintf(variant, sizeof(variant), "v%u", c->variant);
	memset(&opts, 0, sizeof(opts));
	snprintf(opts.id, sizeof(opts.id), "bench");
	snprintf(opts.ns, sizeof(opts.ns), "b%c%u%s%s.%u", bench_mode_letter(c->mode), c->p,
		 c->established ? "e" : "", variant, rep);
	opts.mode = c->mode;
	opts.cache_entries = n_flows * 4 > 4096 ? n_flows * 4 : 4096;
	redis_server_store_cfg(&b->rs, b->o.use_unix, &opts.store);
	return b->nf->create(c->variant, &opts, ctr);
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

static void bench_report_drops(const struct bench *b, const struct bench_cell *c,
			       const struct nf_counters *ctr)
{
	char prefix[96];

	snprintf(prefix, sizeof(prefix), "bench: %s: drops in %s P=%u%s: ", b->nf->name,
		 nf_mode_name(c->mode), c->p, c->established ? " established" : "");
	nf_counters_print(stderr, prefix, ctr);
}

/* Virtual time between two passes of new flows: every entry of a pass has expired when
 * the next one starts. */
static uint64_t bench_pass_skew(const struct bench_nf_ops *nf)
{
	return nf->pass_skew_us ? nf->pass_skew_us : BENCH_PASS_SKEW_US;
}

/* The untimed warm-up of an established cell: the first stages of every flow (at least one
 * packet each) create its state. */
static int bench_warm_up(struct bench *b, struct bench_inst *in, unsigned n_flows)
{
	unsigned n_warm = b->nf->n_stages > 1 ? b->nf->n_stages - 1 : 1;
	struct bench_pass ps = { .n_flows = n_flows, .n = (uint64_t)n_flows * n_warm, .stage0 = 0 };
	uint64_t junk = 0;

	if (bench_build_frames(b, n_flows, 0, b->nf->n_stages) != 0)
		return -EINVAL;
	bench_loop(b, in, &ps, 0, &junk);
	return 0;
}

/* Passes of F x P packets until the NF has worked min_secs. Each pass brings F new flows
 * (their state is created in the timed loop, the previous pass's has expired), or, when
 * established, the same F flows whose state an untimed warm-up created. Returns 0 or a
 * negative errno. */
static int bench_run(struct bench *b, const struct bench_cell *c, unsigned rep, struct bench_result *r)
{
	static struct nf_counters ctr, before;
	unsigned n_flows = c->n_flows ? c->n_flows : bench_flows_for(b, c->p);
	unsigned last = b->nf->n_stages - 1;
	unsigned n_built = c->p < b->nf->n_stages ? c->p : b->nf->n_stages;
	struct bench_pass ps = { .n_flows = n_flows, .n = (uint64_t)n_flows * c->p };
	struct bench_inst *in;
	uint64_t junk = 0;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	memset(&ctr, 0, sizeof(ctr));
	if (bench_flushall(b) != 0 || (in = bench_instance(b, c, rep, n_flows, &ctr)) == NULL)
		return -EIO;
	ps.stage0 = c->established ? last : 0;
	if (c->established)
		rc = bench_warm_up(b, in, n_flows);
	while (rc == 0 && r->passes < BENCH_MAX_PASSES &&
	       (r->passes == 0 || (double)(r->nat_ns - r->copy_ns) / 1e9 < b->o.min_secs)) {
		uint64_t skew = c->established ? 0 : r->passes * bench_pass_skew(b->nf);

		if (!c->established && (rc = bench_build_frames(b, n_flows, (unsigned)r->passes, n_built)) != 0)
			break;
		before = ctr;
		r->nat_ns += bench_loop(b, in, &ps, skew, &r->drops);
		bench_ctr_delta(r, &before, &ctr);
		r->copy_ns += bench_loop(b, NULL, &ps, skew, &junk);
		r->pkts += ps.n;
		r->passes++;
	}
	if (r->drops)
		bench_report_drops(b, c, &ctr);
	b->nf->destroy(in);
	return rc;
}

static int bench_cmp_mpps(const void *a, const void *b)
{
	double x = bench_mpps(a), y = bench_mpps(b);

	return x < y ? -1 : x > y;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Cell 'c': BENCH_N_P per mode with new flows, then one established per mode, then the
 * adapter's extra cells. */
static struct bench_cell bench_cell_def(const struct bench *b, unsigned c)
{
	struct bench_cell cell = { 0 };

	if (c >= BENCH_N_MAIN)
		return b->nf->extra[c - BENCH_N_MAIN];
	cell.established = c >= BENCH_N_MODES * BENCH_N_P;
	cell.mode = bench_modes[cell.established ? c - BENCH_N_MODES * BENCH_N_P : c / BENCH_N_P];
	cell.p = cell.established ? BENCH_EST_P : bench_ps[c % BENCH_N_P];
	return cell;
}

static int bench_cell_run(struct bench *b, unsigned c, unsigned rep, struct bench_result *r)
{
	struct bench_cell cell = bench_cell_def(b, c);

	if (bench_run(b, &cell, rep, r) == 0)
		return 0;
	fprintf(stderr, "bench: %s: %s P=%u%s: could not run\n", b->nf->name, nf_mode_name(cell.mode),
		cell.p, cell.established ? " established" : "");
	return -EIO;
}

static struct bench_result *bench_cell_slot(struct bench *b, unsigned c)
{
	if (c >= BENCH_N_MAIN)
		return &b->extra[c - BENCH_N_MAIN];
	if (c >= BENCH_N_MODES * BENCH_N_P)
		return &b->est[c - BENCH_N_MODES * BENCH_N_P];
	return &b->cells[c / BENCH_N_P][c % BENCH_N_P];
}

/* Cell 'k' of the run order: for each P, local, cached, remote, so that the cells compared
 * in the ratios run next to each other in time (other load on the machine hits both); the
 * extra cells last. */
static unsigned bench_cell_order(unsigned k)
{
	static const unsigned mode_order[BENCH_N_MODES] = { 0, 2, 1 };	/* local, cached, remote */
	unsigned group = k / BENCH_N_MODES, m = mode_order[k % BENCH_N_MODES];

	if (k >= BENCH_N_MAIN)
		return k;
	if (group == BENCH_N_P)
		return BENCH_N_MODES * BENCH_N_P + m;	/* established */
	return m * BENCH_N_P + group;
}

/* Every cell, each run 'reps' times; the slot of a cell gets the run with the median rate.
 * The repetitions are interleaved (all cells once, then again) so drift hits every cell alike. */
static int bench_cells(struct bench *b)
{
	unsigned n_cells = BENCH_N_MAIN + b->nf->n_extra;
	struct bench_result *runs = calloc((size_t)n_cells * b->o.reps, sizeof(*runs));
	double *side = calloc(b->o.reps, sizeof(*side));
	int rc = runs != NULL && side != NULL ? 0 : -ENOMEM;

	for (unsigned rep = 0; rep < b->o.reps && rc == 0; rep++)
		for (unsigned k = 0; k < n_cells && rc == 0; k++) {
			unsigned c = bench_cell_order(k);

			rc = bench_cell_run(b, c, rep, &runs[c * b->o.reps + rep]);
			if (k == BENCH_N_MODES - 1)	/* right after the P=1 cells */
				side[rep] = b->nf->side_run != NULL ? b->nf->side_run(b) : -1;
		}
	if (rc == 0) {
		qsort(side, b->o.reps, sizeof(*side), bench_cmp_double);
		b->side = side[b->o.reps / 2];
	}
	for (unsigned c = 0; c < n_cells && rc == 0; c++) {
		struct bench_result *cell = &runs[c * b->o.reps];

		qsort(cell, b->o.reps, sizeof(*cell), bench_cmp_mpps);
		*bench_cell_slot(b, c) = cell[b->o.reps / 2];
	}
	free(runs);
	free(side);
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
	char cpu[256], ver[64], date[64], load[128], traffic[512];
	struct utsname u;
	time_t t = time(NULL);

	bench_cpu_model(cpu, sizeof(cpu));
	bench_redis_version(b, ver, sizeof(ver));
	bench_loadavg(load, sizeof(load));
	b->nf->describe(&b->o, traffic, sizeof(traffic));
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	printf("## %s benchmark (make bench)\n\n| machine | |\n|---|---|\n", b->nf->title);
	printf("| CPU | %s, %ld online cpus |\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
	printf("| kernel | %s %s |\n", u.sysname, u.release);
	printf("| redis | redis-server %s, %s, no persistence |\n", ver,
	       b->o.use_unix ? "unix socket" : "TCP loopback 127.0.0.1");
	printf("| date | %s |\n", date);
	printf("| /proc/loadavg at start | %s |\n", load);
	printf("| workload | one core, in-process %s on bursts of 32; %s; F flows x P packets, flows "
	       "interleaved round-robin; %u packets per pass, F <= %u; passes of new flows until >= %.1f s; "
	       "median of %u runs |\n\n", b->nf->fast_path, traffic, b->n_packets, b->o.max_flows,
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
	printf("\n%sns/pkt is the %s alone: the harness loop's time minus the same loop without "
	       "the %s (copy ns/pkt: restoring the pristine frame, reading the clock). packets: all "
	       "passes of the median run.\n\n", b->nf->flows_note, b->nf->noun, b->nf->noun);
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

void bench_print_target(const char *what, double v, double target)
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

/* ---- one NF ---- */

static int bench_nf(struct bench *b, const struct bench_nf_ops *nf, bool first)
{
	int rc;

	memset(b->cells, 0, sizeof(b->cells));
	memset(b->est, 0, sizeof(b->est));
	memset(b->extra, 0, sizeof(b->extra));
	b->nf = nf;
	b->n_packets = b->o.n_packets ? b->o.n_packets : nf->n_packets;
	b->side = -1;
	if ((rc = nf->setup(b)) != 0)
		return rc;
	if (!first)
		printf("\n");
	bench_print_header(b);
	fflush(stdout);
	rc = bench_cells(b);
	if (rc == 0) {
		bench_print_cells(b);
		bench_print_ratios(b);
		if (nf->report != NULL)
			nf->report(b);
		fflush(stdout);
	}
	nf->cleanup();
	return rc;
}

/* Whether 'name' is one of the comma-separated names of 'list'. */
static bool bench_listed(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; *p != '\0'; p += *p == ',') {
		size_t n = strcspn(p, ",");

		if (n == len && strncmp(p, name, len) == 0)
			return true;
		p += n;
	}
	return false;
}

static int bench_all(struct bench *b)
{
	bool first = true;

	for (size_t i = 0; i < sizeof(bench_nfs) / sizeof(bench_nfs[0]); i++) {
		if (!bench_listed(b->o.nfs, bench_nfs[i]->name))
			continue;
		if (bench_nf(b, bench_nfs[i], first) != 0)
			return -EIO;
		first = false;
	}
	return 0;
}

/* ---- main ---- */

static void bench_usage(void)
{
	fprintf(stderr, "usage: bench-nf [--nf nat,firewall,lb] [--redis-benchmark PATH] [--unix] [--tcp] "
			"[--packets N] [--max-flows N] [--reps N] [--min-time SECONDS]\n");
}

/* Every name of 'list' is an adapter's. 0 or -EINVAL. */
static int bench_check_nfs(const char *list)
{
	for (const char *p = list; *p != '\0'; p += *p == ',') {
		size_t n = strcspn(p, ",");
		bool known = false;

		for (size_t i = 0; i < sizeof(bench_nfs) / sizeof(bench_nfs[0]); i++)
			known |= strlen(bench_nfs[i]->name) == n && strncmp(p, bench_nfs[i]->name, n) == 0;
		if (!known)
			return -EINVAL;
		p += n;
	}
	return 0;
}

static int bench_parse_args(struct bench_opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "redis-benchmark", required_argument, NULL, 'b' }, { "unix", no_argument, NULL, 'u' },
		{ "tcp", no_argument, NULL, 't' }, { "packets", required_argument, NULL, 'n' },
		{ "max-flows", required_argument, NULL, 'f' }, { "reps", required_argument, NULL, 'r' },
		{ "min-time", required_argument, NULL, 's' }, { "nf", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct bench_opts){ .max_flows = 200000, .reps = 3, .min_secs = 0.3,
				  .nfs = "nat,firewall,lb" };
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'b': o->redis_benchmark = optarg[0] ? optarg : NULL; break;
		case 'u': o->use_unix = true; break;
		case 't': o->tcp = true; break;
		case 'n': o->n_packets = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'f': o->max_flows = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'r': o->reps = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': o->min_secs = strtod(optarg, NULL); break;
		case 'N': o->nfs = optarg; break;
		default: return -EINVAL;
		}
	}
	if ((o->n_packets != 0 && o->n_packets < NF_BURST) || o->max_flows == 0 || o->reps == 0 ||
	    optind != argc || bench_check_nfs(o->nfs) != 0)
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
	if (bench_buffers(&b) != 0)
		return 1;
	if (redis_server_start(&b.rs, NULL) != 0) {
		fprintf(stderr, "bench: cannot start redis-server\n");
		return 1;
	}
	if (bench_admin_connect(&b) == 0 && bench_all(&b) == 0)
		rc = 0;
	if (b.admin != NULL)
		redisFree(b.admin);
	redis_server_stop(&b.rs);
	free(b.frames);
	free(b.mbufs);
	return rc;
}
