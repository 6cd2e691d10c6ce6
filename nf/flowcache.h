/* A bounded, set-associative flow cache: 16-byte keys, fixed-size values, per-entry expiry,
 * least-recently-used replacement within a bucket. Never allocates after creation. */
#ifndef NF_FLOWCACHE_H
#define NF_FLOWCACHE_H

#include <stdbool.h>
#include <stdint.h>

#define FLOWCACHE_KEY_SIZE 16
#define FLOWCACHE_WAYS 8

struct flowcache;

struct flowcache_stats {
	uint64_t inserts;
	uint64_t evictions;	/* a live (unexpired) entry was replaced to make room */
	uint64_t expired;	/* lookups that found an expired entry */
};

/* Create a cache for about 'n_entries' entries (rounded up to a power-of-two number of
 * 8-way buckets) with values of 'value_size' bytes. Returns NULL on bad size or no memory.
 * The caller frees it with flowcache_free(). */
struct flowcache *flowcache_create(uint32_t n_entries, uint32_t value_size);
void flowcache_free(struct flowcache *fc);

/* Value of 'key' if present and not expired at 'now_us', else NULL. The pointer stays valid
 * until the entry is removed or replaced (any later insert may replace it). */
void *flowcache_lookup(struct flowcache *fc, const void *key, uint64_t now_us);

/* Insert or replace 'key', valid until 'expire_us'. Returns the value slot (contents
 * undefined for a new entry, kept for an existing key) for the caller to fill. */
void *flowcache_insert(struct flowcache *fc, const void *key, uint64_t expire_us, uint64_t now_us);

/* Change the expiry of the entry whose value is 'value' (a pointer this cache returned). */
void flowcache_set_expire(struct flowcache *fc, void *value, uint64_t expire_us);

/* Remove 'key'. Returns 0, or -ENOENT. */
int flowcache_remove(struct flowcache *fc, const void *key);

/* Drop every entry. */
void flowcache_clear(struct flowcache *fc);

/* Prefetch the bucket of 'key' (call a few packets ahead of the lookup). */
void flowcache_prefetch(const struct flowcache *fc, const void *key);

/* The same operations with the key's hash computed once: a burst hashes and prefetches
 * every key first, then looks them up. */
uint32_t flowcache_hash(const void *key);
void flowcache_prefetch_hash(const struct flowcache *fc, uint32_t hash);
void *flowcache_lookup_hash(struct flowcache *fc, const void *key, uint32_t hash, uint64_t now_us);

uint32_t flowcache_capacity(const struct flowcache *fc);
const struct flowcache_stats *flowcache_get_stats(const struct flowcache *fc);

#endif
