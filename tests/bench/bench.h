/* The NF benchmark: the shared driver (bench.c) and what each per-NF adapter provides. */
#ifndef TESTS_BENCH_BENCH_H
#define TESTS_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <rte_mbuf.h>

#include "nf/counters.h"
#include "nf/nf.h"
#include "tests/harness/pktgen.h"
#include "tests/harness/redis_server.h"

#define BENCH_FRAME_STRIDE 128		/* bytes per pristine frame slot */
#define BENCH_FRAME_LEN 64		/* longest frame: what the harness copies back per packet */
#define BENCH_PASS_SKEW_US 1000000000ull	/* default pass_skew_us: 1000 s */
#define BENCH_N_P 4
#define BENCH_N_MODES 3
#define BENCH_EST_P 100			/* P of the established-flows (steady state) rows */
#define BENCH_EST_IDX 2			/* its index in bench_ps */
#define BENCH_MAX_STAGES 4
#define BENCH_MAX_EXTRA 4
#define BENCH_N_MAIN (BENCH_N_MODES * (BENCH_N_P + 1))	/* new flows per mode and P, established */

extern const unsigned bench_ps[BENCH_N_P];
extern const enum nf_mode bench_modes[BENCH_N_MODES];	/* local, remote, cached */

struct bench_opts {
	const char *redis_benchmark;	/* path of redis-benchmark, or NULL to skip it */
	const char *nfs;		/* comma-separated adapter names to run */
	unsigned n_packets;		/* packets per pass (F x P); 0: each NF's own default */
	unsigned max_flows;		/* cap on F */
	unsigned reps;			/* runs per cell; the median is reported */
	double min_secs;		/* timed NF work per run, at least */
	bool use_unix;			/* store over the unix socket instead of TCP loopback */
	bool tcp;			/* NAT: TCP ACK packets instead of UDP */
};

/* One run of a cell (several passes of F x P packets until min_secs of NF work). */
struct bench_result {
	uint64_t pkts, drops, flows, passes;
	uint64_t nat_ns;		/* harness loop with the NF, copy included */
	uint64_t copy_ns;		/* the same loop without the NF: frame copies, clock */
	uint64_t round_trips, cmds, hits, misses;
};

/* A cell: F flows x P packets in one mode, new flows or established ones, with the
 * adapter's configuration 'variant' (0: the one of the main table). */
struct bench_cell {
	enum nf_mode mode;
	unsigned p;
	bool established;
	unsigned variant;
	unsigned n_flows;		/* F, or 0 for the table's: packets per pass / P */
	const char *label;		/* extra cells: their row in the adapter's report */
};

struct bench;
struct bench_inst;			/* an NF instance and its one worker (adapter-defined) */

/* A network function as the driver runs it. The r-th packet of a flow is built from stage
 * min(r, n_stages - 1) and arrives on stage_ports[] of that stage; "established" runs the
 * first max(1, n_stages - 1) stages untimed, then times the last one. */
struct bench_nf_ops {
	const char *name;		/* --nf name: "nat" */
	const char *title;		/* heading: "NAT" */
	const char *noun;		/* in sentences: "NAT", "firewall" */
	const char *fast_path;		/* "nat_process_burst" */
	unsigned n_packets;		/* packets per pass unless --packets says otherwise */
	uint64_t pass_skew_us;		/* virtual time between passes of new flows, longer than
					 * the longest idle timeout (0: BENCH_PASS_SKEW_US) */
	const char *flows_note;		/* what "new" and "established" mean for this NF */
	unsigned n_stages;
	uint16_t stage_ports[BENCH_MAX_STAGES];
	unsigned n_extra;		/* cells beyond the main table, run in the same rounds */
	struct bench_cell extra[BENCH_MAX_EXTRA];

	/* Once before the cells: parse the configurations. 0 or a negative errno. */
	int (*setup)(struct bench *b);
	void (*cleanup)(void);
	/* The traffic, for the workload line ("outbound UDP, 64-byte frames"). */
	void (*describe)(const struct bench_opts *o, char *buf, size_t size);
	/* Frame of stage 'stage' of flow 'endpoint' (never the same flow twice in a run) into
	 * 'buf'. Returns its length (<= BENCH_FRAME_LEN), or 0. */
	uint16_t (*build)(const struct bench_opts *o, unsigned stage, uint64_t endpoint, uint8_t *buf,
			  size_t size);
	/* Control path. 'opts' and 'ctr' as for the NF's own *_create and *_worker_create. */
	struct bench_inst *(*create)(unsigned variant, const struct nf_opts *opts, struct nf_counters *ctr);
	void (*destroy)(struct bench_inst *in);
	void (*process)(struct bench_inst *in, uint16_t in_port, struct rte_mbuf **pkts, uint16_t n,
			uint8_t *out_ports, uint64_t now_us);
	void (*tick)(struct bench_inst *in, uint64_t now_us);
	/* Optional: a side measurement made once per repetition right after the P=1 cells;
	 * the median goes to bench.side (-1 when it failed). */
	double (*side_run)(struct bench *b);
	/* Optional: the NF's own tables, printed after the ratios. */
	void (*report)(struct bench *b);
};

extern const struct bench_nf_ops bench_nf_nat, bench_nf_fw, bench_nf_lb;

/* The driver's state while it runs one NF. */
struct bench {
	struct bench_opts o;
	const struct bench_nf_ops *nf;
	unsigned n_packets;		/* packets per pass of this NF */
	struct redis_server rs;
	redisContext *admin;
	uint8_t *frames;		/* n_slots slots of BENCH_FRAME_STRIDE bytes */
	size_t n_slots;
	uint16_t stage_len[BENCH_MAX_STAGES];
	struct fake_mbuf *mbufs;	/* NF_BURST of them */
	struct rte_mbuf *pkts[NF_BURST];
	struct bench_result cells[BENCH_N_MODES][BENCH_N_P];	/* medians, new flows included */
	struct bench_result est[BENCH_N_MODES];		/* medians, P = BENCH_EST_P, established */
	struct bench_result extra[BENCH_MAX_EXTRA];	/* medians of nf->extra[] */
	double side;			/* median of nf->side_run, or -1 */
};

/* Results (bench.c). */
double bench_secs(const struct bench_result *r);	/* net NF time: the copy loop subtracted */
double bench_mpps(const struct bench_result *r);
unsigned bench_flows_for(const struct bench *b, unsigned p);
void bench_print_target(const char *what, double v, double target);
int bench_flushall(struct bench *b);

/* redis-benchmark (bench_rb.c): run it against the benchmark's server with 'args' after the
 * connection options. Returns the last "requests per second" figure, or -1. */
double bench_rb_run(struct bench *b, int n_args, const char **args);

#endif
