/* NAT internals shared by the NAT's files: the stored value, keys, worker state. */
#ifndef NFS_NAT_INT_H
#define NFS_NAT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "datastore/store.h"
#include "nf/flowcache.h"
#include "nf/flowkey.h"
#include "nf/nf.h"
#include "nf/parse.h"
#include "nfs/nat/nat.h"

/* Mapping states: they choose the idle timeout and only move forward (except that a new
 * TCP connection from the same inside endpoint reopens a closing mapping). */
enum nat_state { NAT_ST_NEW = 0, NAT_ST_ESTABLISHED = 1, NAT_ST_CLOSING = 2, NAT_ST__COUNT };

enum nat_dir { NAT_DIR_OUT = 0, NAT_DIR_IN = 1 };

/* One mapping, stored byte for byte as the value of both its store keys. Bytes 0-11 are
 * its identity (the Lua scripts compare them); all fields network byte order. */
struct nat_val {
	rte_be32_t in_ip;
	rte_be32_t pub_ip;
	rte_be16_t in_port;
	rte_be16_t pub_port;
	uint8_t proto;
	uint8_t state;		/* enum nat_state */
	uint8_t pad[2];
} __attribute__((packed));
_Static_assert(sizeof(struct nat_val) == 16, "nat_val is 16 bytes on the wire and in Redis");

/* Flow cache key: direction + the endpoint looked up (inside for OUT, public for IN). */
struct nat_ckey {
	uint8_t dir;
	uint8_t pad[7];
	struct ep_key ep;
} __attribute__((packed, aligned(8)));	/* aligned: the CRC hash reads it 8 bytes at a time */
_Static_assert(sizeof(struct nat_ckey) == FLOWCACHE_KEY_SIZE, "cache key size");

/* Flow cache value: the mapping plus its write-behind state for this direction. */
struct nat_centry {
	struct nat_val val;
	uint64_t next_refresh_us;	/* a TTL refresh is due with the first flush after this */
	uint64_t bytes;			/* counted here, not yet flushed to the store */
	uint32_t pkts;
	uint32_t dirty_epoch;		/* queued for the flush of this epoch */
	bool touch;			/* the next flush refreshes the TTL */
};

#define NAT_KEY_MAX 80
#define NAT_FLUSH_INTERVAL_US 100000u	/* write-behind flush period */
#define NAT_REFRESH_MAX_US 30000000u	/* TTL refresh at least this often */

struct nat {
	struct nat_config cfg;
	struct nf_opts opts;
	uint32_t timeout_ms[256][NAT_ST__COUNT];	/* by IP protocol and state */
	uint64_t refresh_us[256][NAT_ST__COUNT];	/* TTL refresh interval */
	char ttl_str[256][NAT_ST__COUNT][16];
};

/* A packet of the burst being processed. */
struct nat_pkt {
	struct pkt_info info;
	struct nat_ckey ck;
	uint32_t hash;		/* flowcache_hash(&ck) */
	struct nat_val val;	/* the mapping, a copy (cache entries may move during a burst) */
	bool resolved;		/* 'val' is valid */
	bool drop;		/* verdict already decided: drop */
	bool created;		/* nat_alloc.lua created the mapping (and counted this packet) */
	uint8_t dir;
	uint8_t next_state;	/* state transition to write through, or 0xff */
};

struct nat_worker {
	struct nat *nat;
	unsigned id;
	struct nf_counters *ctr;
	struct store *store;		/* NULL in local mode */
	struct flowcache *cache;	/* NULL in remote mode */
	uint64_t store_gen;
	uint64_t next_flush_us;
	uint32_t cursor[256][NAT_MAX_PUBLIC_IPS];	/* local-mode port cursors */
	uint32_t dirty_epoch;		/* current write-behind epoch (never 0) */
	uint32_t n_dirty, max_dirty;
	struct nat_ckey *dirty;		/* cache keys with unflushed state, once per epoch */
	struct nat_val *flushing;	/* values of the batch being flushed */
	struct nat_pkt pkts[NF_BURST];
	char pfx_m[NAT_KEY_MAX], pfx_r[NAT_KEY_MAX], pfx_p[NAT_KEY_MAX], pfx_s[NAT_KEY_MAX];
	size_t pfx_len;			/* all prefixes have the same length */
	char lo_str[8], hi_str[8], probes_str[12];
};

/* Keys: "<ns>:m" + ep (inside), "<ns>:r" + ep (public), "<ns>:p" + proto + public ip
 * (port cursor), "<ns>:s" + ep (inside: per-flow counters). Return the key length. */
size_t nat_key(const struct nat_worker *w, char tag, const struct ep_key *ep, char *buf);
size_t nat_cursor_key(const struct nat_worker *w, uint8_t proto, rte_be32_t pub_ip, char *buf);
void nat_val_fwd_ep(const struct nat_val *v, struct ep_key *ep);
void nat_val_rev_ep(const struct nat_val *v, struct ep_key *ep);

uint64_t nat_timeout_us(const struct nat *nat, const struct nat_val *v);
rte_be32_t nat_pick_public_ip(const struct nat *nat, rte_be32_t in_ip, unsigned *idx);

/* Cache helpers (cached and local modes). */
struct nat_centry *nat_cache_put(struct nat_worker *w, const struct nat_val *v, uint8_t dir,
				 uint64_t now_us);
void nat_cache_update(struct nat_worker *w, const struct nat_val *v, uint64_t now_us);
void nat_cache_forget(struct nat_worker *w, const struct nat_val *v);

/* Store side (nat_store.c): resolve a burst's misses in one round trip, write transitions
 * through, flush write-behind records, apply invalidations. */
void nat_store_resolve(struct nat_worker *w, uint16_t n, uint64_t now_us);
void nat_store_write_through(struct nat_worker *w, uint16_t n, uint64_t now_us);
void nat_store_queue(struct nat_worker *w, struct nat_centry *ce, const struct nat_ckey *ck,
		     uint64_t now_us);

/* Write-behind accounting of one packet on a cached entry (cached mode fast path). */
static inline void nat_account(struct nat_worker *w, struct nat_centry *ce, const struct nat_ckey *ck,
			       uint32_t bytes, uint64_t now_us)
{
	ce->pkts++;
	ce->bytes += bytes;
	if (now_us >= ce->next_refresh_us) {
		ce->touch = true;
		ce->next_refresh_us = now_us + w->nat->refresh_us[ce->val.proto][ce->val.state % NAT_ST__COUNT];
	}
	if (ce->dirty_epoch != w->dirty_epoch)
		nat_store_queue(w, ce, ck, now_us);
}
void nat_store_flush(struct nat_worker *w, uint64_t now_us);
void nat_store_poll(struct nat_worker *w, uint64_t now_us);
void nat_store_check_generation(struct nat_worker *w, uint64_t now_us);

/* Local mode (nat_local.c): allocate in the process table. */
void nat_local_resolve(struct nat_worker *w, uint16_t n, uint64_t now_us);
void nat_local_transition(struct nat_worker *w, struct nat_pkt *p, uint64_t now_us);

#endif
