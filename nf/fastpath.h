/* Fast-path steps every NF takes the same way: the verdict on frames it does not process,
 * and the counted flow cache lookup. All inline: they run per packet. */
#ifndef NF_FASTPATH_H
#define NF_FASTPATH_H

#include <stdbool.h>
#include <stdint.h>

#include "nf/counters.h"
#include "nf/flowcache.h"
#include "nf/nf.h"
#include "nf/parse.h"

/* The port a frame received on 'in_port' leaves on unchanged: the other one, or with one
 * port ('one_armed') the same. */
static inline uint8_t nf_other_port(uint16_t in_port, bool one_armed)
{
	if (one_armed)
		return 0;
	return in_port == NF_PORT_INSIDE ? NF_PORT_OUTSIDE : NF_PORT_INSIDE;
}

/* The verdict on a frame parse_packet() did not accept ('st' is not PARSE_OK), counted in
 * 'ctr': a non-IPv4 frame passes through to nf_other_port() (passthrough), anything else
 * is dropped (the counter of its parse status). */
static inline uint8_t nf_parse_verdict(struct nf_counters *ctr, enum parse_status st,
				       uint16_t in_port, bool one_armed)
{
	if (st == PARSE_NOT_IPV4) {
		nf_ctr_add(ctr, NF_CTR_PASSTHROUGH, 1);
		return nf_other_port(in_port, one_armed);
	}
	nf_ctr_add(ctr, (enum nf_ctr)(NF_CTR_DROP_PARSE_BASE + st), 1);
	return NF_VERDICT_DROP;
}

/* flowcache_lookup_hash() in 'fc' (NULL: no cache, a miss), counted in 'ctr' as a cache hit
 * or miss. */
static inline void *nf_cache_lookup(struct flowcache *fc, const void *key, uint32_t hash,
				    uint64_t now_us, struct nf_counters *ctr)
{
	void *v = fc != NULL ? flowcache_lookup_hash(fc, key, hash, now_us) : NULL;

	nf_ctr_add(ctr, v != NULL ? NF_CTR_CACHE_HITS : NF_CTR_CACHE_MISSES, 1);
	return v;
}

#endif
