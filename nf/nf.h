/* The contract between the NF runtime (nf/runtime.c) and a network function (nfs/X/). */
#ifndef NF_NF_H
#define NF_NF_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "datastore/store.h"
#include "nf/counters.h"

#define NF_BURST 32		/* packets per rx_burst */
#define NF_VERDICT_DROP 0xff	/* out_ports[i] value: the runtime frees the packet */
#define NF_IDLE_SLEEP_MAX_US 1000	/* --idle-sleep-us bound: ticks stay about 1 ms apart */

/* Port indexes as the NF sees them. With one port (one-armed mode) both are 0. */
#define NF_PORT_INSIDE 0
#define NF_PORT_OUTSIDE 1

/* Where flow state lives: the comparison the benchmark makes. */
enum nf_mode {
	NF_MODE_CACHED = 0,	/* store is the truth, local cache in front (default) */
	NF_MODE_REMOTE,		/* every packet reads the store (StatelessNF done naively) */
	NF_MODE_LOCAL,		/* process-local table only (classic stateful NF) */
};
const char *nf_mode_name(enum nf_mode m);
int nf_mode_parse(const char *s, enum nf_mode *m);

/* Options every NF takes after '--' (nf/options.c). */
struct nf_opts {
	char id[64];		/* instance id, default "<nf>-<pid>" */
	char ns[64];		/* store key namespace (the NF's name), default "<nf>" */
	struct store_cfg store;
	enum nf_mode mode;
	bool one_armed;		/* one port: direction from the NF's documented rule */
	unsigned n_mbufs;	/* mempool size per port (default 8191) */
	unsigned stats_interval_ms;	/* heartbeat/counter publish period (default 100, 0 = off) */
	unsigned idle_exit_ms;	/* exit after this long with no packets once some arrived (0 = never) */
	unsigned idle_sleep_us;	/* longest sleep of an idle poll loop (0 = always busy-poll) */
	unsigned cache_entries;	/* flow cache size per worker (default 65536) */
};

/* A network function as the runtime drives it. All callbacks but process_burst and tick
 * run on the control path. 'nf' is the NF-wide context, 'w' a per-lcore worker. Only
 * worker_create and process_burst are required: a NULL callback has nothing to do. */
struct nf_def {
	const char *name;		/* "nat" */
	const char *usage;		/* help text for the NF's own options */
	const struct option *options;	/* NF's own long options (terminated by a zero entry);
					 * their 'val' must be below 0x10000 and not '?', ':' or 0 */

	/* Handle one of the NF's own options. Return 0, or -EINVAL with a reason in 'err'. */
	int (*option)(void *nf, int opt, const char *arg, char *err, size_t errsz);

	/* Allocate the NF context before options are parsed. */
	void *(*create)(void);

	/* Validate the whole configuration once options are parsed. Return 0 or -EINVAL with
	 * a reason naming the field in 'err' (the runtime prints it and exits with status 2). */
	int (*configure)(void *nf, const struct nf_opts *opts, char *err, size_t errsz);

	/* Create the worker for one lcore (called on the main thread before the loops start);
	 * its counters live in 'ctr' (owned by the runtime). */
	void *(*worker_create)(void *nf, unsigned worker_id, struct nf_counters *ctr);

	/* Fast path. Process 'n' packets received on 'in_port'; rewrite them in place and set
	 * out_ports[i] to the port to send packet i on, or NF_VERDICT_DROP. The runtime owns the
	 * mbufs: it transmits or frees every one. Never blocks longer than a store timeout. */
	void (*process_burst)(void *w, uint16_t in_port, struct rte_mbuf **pkts, uint16_t n,
			      uint8_t *out_ports, uint64_t now_us);

	/* Called about every millisecond on the worker's lcore, whether or not packets came:
	 * flush write-behind state, apply invalidations, retry the store. */
	void (*tick)(void *w, uint64_t now_us);

	/* Flush pending store writes and free the worker. */
	void (*worker_destroy)(void *w);
	void (*destroy)(void *nf);
};

/* The worker callbacks of an nf_def that only forward to the NF's typed functions
 * PFX_worker_create(), PFX_process_burst(), PFX_tick() and PFX_worker_destroy(): defines
 * the static functions PFX_nf_worker_create(), PFX_nf_process(), PFX_nf_tick() and
 * PFX_nf_worker_destroy(). The NF context is a 'ctx_type' whose member 'inst' is the
 * instance its workers are created for. */
#define NF_DEF_WORKER_GLUE(pfx, ctx_type, inst)						\
	static void *pfx##_nf_worker_create(void *ctx, unsigned worker_id,			\
					    struct nf_counters *ctr)				\
	{											\
		return pfx##_worker_create(((ctx_type *)ctx)->inst, worker_id, ctr);		\
	}											\
	static void pfx##_nf_process(void *w, uint16_t in_port, struct rte_mbuf **pkts,		\
				     uint16_t n, uint8_t *out_ports, uint64_t now_us)		\
	{											\
		pfx##_process_burst(w, in_port, pkts, n, out_ports, now_us);			\
	}											\
	static void pfx##_nf_tick(void *w, uint64_t now_us)					\
	{											\
		pfx##_tick(w, now_us);								\
	}											\
	static void pfx##_nf_worker_destroy(void *w)						\
	{											\
		pfx##_worker_destroy(w);							\
	}

/* The nf_def members of the callbacks NF_DEF_WORKER_GLUE(pfx, ...) defines. */
#define NF_DEF_WORKER_CALLBACKS(pfx)							\
	.worker_create = pfx##_nf_worker_create,						\
	.process_burst = pfx##_nf_process,							\
	.tick = pfx##_nf_tick,									\
	.worker_destroy = pfx##_nf_worker_destroy

/* Run an NF: EAL init from argv, NF options after '--', ports, one poll loop per lcore,
 * stats publishing, clean shutdown on SIGINT/SIGTERM. Returns the process exit status
 * (0, or 2 for bad arguments/configuration, 1 for runtime failures). */
int nf_main(int argc, char **argv, const struct nf_def *def);

#endif
