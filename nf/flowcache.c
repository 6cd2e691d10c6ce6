/* Set-associative flow cache: a bucket line of signatures and ages, entries beside it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_hash_crc.h>
#include <rte_prefetch.h>

#include "nf/flowcache.h"

struct fc_bucket {
	uint32_t sigs[FLOWCACHE_WAYS];	/* 0 = empty way */
	uint32_t ages[FLOWCACHE_WAYS];	/* access stamp, for LRU */
} __attribute__((aligned(64)));

struct fc_entry {
	uint8_t key[FLOWCACHE_KEY_SIZE];
	uint64_t expire_us;
	uint64_t pad;
	uint8_t value[];		/* value_size bytes */
};

struct flowcache {
	struct fc_bucket *buckets;
	uint8_t *entries;		/* n_buckets * WAYS entries of entry_size bytes */
	uint32_t bucket_mask;
	uint32_t entry_size;
	uint32_t clock;
	struct flowcache_stats stats;
};

/* CRC32 (one instruction per 8 bytes) is linear in the key bits, so keys that differ in
 * few bits (sequential ports, addresses) would share a few buckets: a multiplicative
 * finalizer (MurmurHash3's) spreads them over all of them. */
static uint32_t fc_hash(const void *key)
{
	uint32_t h = rte_hash_crc(key, FLOWCACHE_KEY_SIZE, 0x9e3779b9);

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h | 1;	/* 0 marks an empty way */
}

/* Bucket of signature 'sig': bit 0 of a signature is always set (0 marks an empty way),
 * so the bucket comes from the bits above it. */
static inline uint32_t fc_bucket(const struct flowcache *fc, uint32_t sig)
{
	return (sig >> 1) & fc->bucket_mask;
}

static struct fc_entry *fc_entry_at(const struct flowcache *fc, uint32_t bucket, unsigned way)
{
	size_t idx = (size_t)bucket * FLOWCACHE_WAYS + way;

	return (struct fc_entry *)(fc->entries + idx * fc->entry_size);
}

static struct fc_entry *fc_entry_of_value(void *value)
{
	return (struct fc_entry *)((uint8_t *)value - offsetof(struct fc_entry, value));
}

struct flowcache *flowcache_create(uint32_t n_entries, uint32_t value_size)
{
	struct flowcache *fc;
	uint32_t n_buckets = 1;

	if (n_entries == 0 || n_entries > (1u << 28) || value_size > 4096)
		return NULL;
	while ((uint64_t)n_buckets * FLOWCACHE_WAYS < n_entries)
		n_buckets <<= 1;
	fc = calloc(1, sizeof(*fc));
	if (fc == NULL)
		return NULL;
	fc->entry_size = (sizeof(struct fc_entry) + value_size + 7u) & ~7u;
	fc->bucket_mask = n_buckets - 1;
	fc->buckets = aligned_alloc(64, (size_t)n_buckets * sizeof(struct fc_bucket));
	fc->entries = calloc((size_t)n_buckets * FLOWCACHE_WAYS, fc->entry_size);
	if (fc->buckets == NULL || fc->entries == NULL) {
		flowcache_free(fc);
		return NULL;
	}
	flowcache_clear(fc);
	return fc;
}

void flowcache_free(struct flowcache *fc)
{
	if (fc == NULL)
		return;
	free(fc->buckets);
	free(fc->entries);
	free(fc);
}

/* Way holding 'key' in 'bucket', or -1. */
static int fc_find(const struct flowcache *fc, uint32_t bucket, uint32_t sig, const void *key)
{
	const struct fc_bucket *b = &fc->buckets[bucket];

	for (unsigned w = 0; w < FLOWCACHE_WAYS; w++)
		if (b->sigs[w] == sig &&
		    memcmp(fc_entry_at(fc, bucket, w)->key, key, FLOWCACHE_KEY_SIZE) == 0)
			return (int)w;
	return -1;
}

uint32_t flowcache_hash(const void *key)
{
	return fc_hash(key);
}

void flowcache_prefetch_hash(const struct flowcache *fc, uint32_t hash)
{
	rte_prefetch0(&fc->buckets[fc_bucket(fc, hash)]);
}

void *flowcache_lookup(struct flowcache *fc, const void *key, uint64_t now_us)
{
	return flowcache_lookup_hash(fc, key, fc_hash(key), now_us);
}

void *flowcache_lookup_hash(struct flowcache *fc, const void *key, uint32_t hash, uint64_t now_us)
{
	uint32_t sig = hash;
	uint32_t bucket = fc_bucket(fc, sig);
	struct fc_entry *e;
	int w = fc_find(fc, bucket, sig, key);

	if (w < 0)
		return NULL;
	e = fc_entry_at(fc, bucket, (unsigned)w);
	if (e->expire_us <= now_us) {
		fc->buckets[bucket].sigs[w] = 0;
		fc->stats.expired++;
		return NULL;
	}
	fc->buckets[bucket].ages[w] = ++fc->clock;
	return e->value;
}

/* An empty or expired way if there is one, else the least recently used one. */
static unsigned fc_victim(struct flowcache *fc, uint32_t bucket, uint64_t now_us, int *live)
{
	struct fc_bucket *b = &fc->buckets[bucket];
	unsigned victim = 0;

	for (unsigned w = 0; w < FLOWCACHE_WAYS; w++) {
		if (b->sigs[w] == 0 || fc_entry_at(fc, bucket, w)->expire_us <= now_us) {
			*live = 0;
			return w;
		}
		if ((int32_t)(b->ages[w] - b->ages[victim]) < 0)
			victim = w;
	}
	*live = 1;
	return victim;
}

void *flowcache_insert(struct flowcache *fc, const void *key, uint64_t expire_us, uint64_t now_us)
{
	uint32_t sig = fc_hash(key);
	uint32_t bucket = fc_bucket(fc, sig);
	struct fc_entry *e;
	int live = 0;
	int w = fc_find(fc, bucket, sig, key);

	if (w < 0) {
		w = (int)fc_victim(fc, bucket, now_us, &live);
		fc->stats.evictions += (uint64_t)live;
		fc->stats.inserts++;
	}
	e = fc_entry_at(fc, bucket, (unsigned)w);
	memcpy(e->key, key, FLOWCACHE_KEY_SIZE);
	e->expire_us = expire_us;
	fc->buckets[bucket].sigs[w] = sig;
	fc->buckets[bucket].ages[w] = ++fc->clock;
	return e->value;
}

void flowcache_set_expire(struct flowcache *fc, void *value, uint64_t expire_us)
{
	(void)fc;
	fc_entry_of_value(value)->expire_us = expire_us;
}

int flowcache_remove(struct flowcache *fc, const void *key)
{
	uint32_t sig = fc_hash(key);
	uint32_t bucket = fc_bucket(fc, sig);
	int w = fc_find(fc, bucket, sig, key);

	if (w < 0)
		return -ENOENT;
	fc->buckets[bucket].sigs[w] = 0;
	return 0;
}

void flowcache_clear(struct flowcache *fc)
{
	memset(fc->buckets, 0, ((size_t)fc->bucket_mask + 1) * sizeof(struct fc_bucket));
}

void flowcache_prefetch(const struct flowcache *fc, const void *key)
{
	rte_prefetch0(&fc->buckets[fc_bucket(fc, fc_hash(key))]);
}

uint32_t flowcache_capacity(const struct flowcache *fc)
{
	return (fc->bucket_mask + 1) * FLOWCACHE_WAYS;
}

const struct flowcache_stats *flowcache_get_stats(const struct flowcache *fc)
{
	return &fc->stats;
}
