/* Heartbeat and counter publishing into the store: the control interface the orchestrator reads. */
#ifndef NF_STATS_H
#define NF_STATS_H

#include <stdint.h>

#include "nf/counters.h"
#include "nf/nf.h"

/*
 * Every 'stats_interval_ms' the instance writes, in one pipelined batch on its own store
 * connection (tracking off):
 *   HSET snf:inst:<id> nf <name> ns <ns> mode <mode> pid <pid> ts_ms <wall ms> seq <n>
 *        pps <rx packets/s> busy <busy ratio 0..1> <counter> <value> ...
 *   PEXPIRE snf:inst:<id> <max(3000, 10 * interval)>
 *   ZADD snf:heartbeats <ts_ms> <id>
 * Publishing never blocks longer than the store timeout; when the store is down the
 * period is skipped (the store layer reconnects with backoff).
 */
struct nf_stats;

/* Create the publisher. It reads 'per_worker' (n_workers blocks, owned by the caller, which
 * must outlive the publisher). 'opts' and 'nf_name' are copied. Returns NULL on bad
 * arguments or out of memory. */
struct nf_stats *nf_stats_create(const struct nf_opts *opts, const char *nf_name,
				 const struct nf_counters *per_worker, unsigned n_workers);

/* Publish if the interval has passed since the last publish. Call it often (every ms). */
void nf_stats_poll(struct nf_stats *s, uint64_t now_us);

/* Remove the instance (DEL snf:inst:<id>, ZREM snf:heartbeats <id>) and free 's'. */
void nf_stats_destroy(struct nf_stats *s);

#endif
