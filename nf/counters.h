/* Per-worker fast-path counters: cache-aligned, written by one lcore, read by anyone. */
#ifndef NF_COUNTERS_H
#define NF_COUNTERS_H

#include <stdint.h>
#include <stdio.h>

/* Every counter an NF instance keeps. Drop reasons start with "drop_". The parse errors
 * mirror enum parse_status (nf/parse.h): NF_CTR_DROP_PARSE_BASE + status. */
enum nf_ctr {
	NF_CTR_RX,
	NF_CTR_TX,
	NF_CTR_TX_FAIL,			/* tx_burst did not take it: freed */
	NF_CTR_PASSTHROUGH,		/* non-IPv4 forwarded unchanged */
	NF_CTR_DROP_ETH_TRUNC,
	NF_CTR_DROP_IP_TRUNC,
	NF_CTR_DROP_IP_VERSION,
	NF_CTR_DROP_IP_IHL,
	NF_CTR_DROP_IP_LEN,
	NF_CTR_DROP_IP_CSUM,
	NF_CTR_DROP_L4_TRUNC,
	NF_CTR_DROP_TCP_DOFF,
	NF_CTR_DROP_UDP_LEN,
	NF_CTR_DROP_FRAG_LATER,
	NF_CTR_DROP_UNSUPPORTED,
	NF_CTR_DROP_NO_MAPPING,		/* inbound packet matches no state (unsolicited) */
	NF_CTR_DROP_PORTS_EXHAUSTED,	/* no free public port for a new flow */
	NF_CTR_DROP_STORE_DOWN,		/* needed the store, store unreachable */
	NF_CTR_DROP_STORE_ERROR,	/* store answered with an error */
	NF_CTR_DROP_POLICY,		/* an NF rule said no */
	NF_CTR_DROP_NO_CONN,		/* fits no tracked connection and no allow rule */
	NF_CTR_DROP_BAD_STATE,		/* violates the connection's state (e.g. RST out of window) */
	NF_CTR_DROP_NO_BACKEND,		/* no backend available for a new connection */
	NF_CTR_CACHE_HITS,
	NF_CTR_CACHE_MISSES,
	NF_CTR_STORE_ROUND_TRIPS,
	NF_CTR_STORE_CMDS,
	NF_CTR_STORE_INVALIDATIONS,	/* cache entries dropped on a store invalidation */
	NF_CTR_FLOWS_CREATED,
	NF_CTR_WRITE_THROUGH,		/* state transitions written synchronously */
	NF_CTR_WRITE_BEHIND,		/* coalesced writes flushed */
	NF_CTR_CKSUM_PARTIAL,		/* arrived with an unfinished L4 checksum, completed */
	NF_CTR_BUSY_CYCLES,
	NF_CTR_IDLE_CYCLES,
	NF_CTR__COUNT
};
#define NF_CTR_DROP_PARSE_BASE (NF_CTR_DROP_ETH_TRUNC - 2)	/* + enum parse_status */

struct nf_counters {
	uint64_t v[NF_CTR__COUNT];
} __attribute__((aligned(64)));

static inline void nf_ctr_add(struct nf_counters *c, enum nf_ctr i, uint64_t n)
{
	c->v[i] += n;
}

/* Stable short name of counter 'i', e.g. "drop_no_mapping". */
const char *nf_ctr_name(enum nf_ctr i);

/* Sum 'n' per-worker blocks into 'out' (reads are racy but each word is atomic on x86-64). */
void nf_counters_sum(const struct nf_counters *per_worker, unsigned n, struct nf_counters *out);

/* Print the non-zero counters of 'c', one "name value" per line, prefixed by 'prefix'. */
void nf_counters_print(FILE *f, const char *prefix, const struct nf_counters *c);

#endif
