/* Flow cache: hits, expiry, replacement within a bucket, removal, clear. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "nf/flowcache.h"

struct val {
	uint64_t a, b;
};

static void key_of(uint32_t i, uint8_t *key)
{
	memset(key, 0, FLOWCACHE_KEY_SIZE);
	memcpy(key, &i, sizeof(i));
	key[15] = 0x5a;
}

Test(flowcache, insert_lookup_and_expiry)
{
	struct flowcache *fc = flowcache_create(1024, sizeof(struct val));
	uint8_t k[FLOWCACHE_KEY_SIZE];
	struct val *v;

	cr_assert(fc != NULL);
	key_of(7, k);
	cr_assert_null(flowcache_lookup(fc, k, 0));
	v = flowcache_insert(fc, k, 1000, 0);
	v->a = 42;
	v = flowcache_lookup(fc, k, 999);
	cr_assert(v != NULL && v->a == 42);
	cr_assert_null(flowcache_lookup(fc, k, 1000), "expired entries are not returned");
	cr_assert_eq(flowcache_get_stats(fc)->expired, 1);
	flowcache_free(fc);
}

Test(flowcache, existing_key_keeps_its_slot_and_value)
{
	struct flowcache *fc = flowcache_create(64, sizeof(struct val));
	uint8_t k[FLOWCACHE_KEY_SIZE];
	struct val *v1, *v2;

	key_of(1, k);
	v1 = flowcache_insert(fc, k, 100, 0);
	v1->a = 5;
	v2 = flowcache_insert(fc, k, 200, 0);
	cr_assert_eq(v1, v2);
	cr_assert_eq(v2->a, 5);
	cr_assert_not_null(flowcache_lookup(fc, k, 150));
	flowcache_free(fc);
}

Test(flowcache, full_cache_replaces_least_recently_used)
{
	struct flowcache *fc = flowcache_create(8, sizeof(struct val));	/* one bucket */
	uint8_t k[FLOWCACHE_KEY_SIZE];

	cr_assert_eq(flowcache_capacity(fc), 8);
	for (uint32_t i = 0; i < 8; i++) {
		key_of(i, k);
		((struct val *)flowcache_insert(fc, k, 1000, 0))->a = i;
	}
	key_of(0, k);
	cr_assert_not_null(flowcache_lookup(fc, k, 1));	/* 0 is now the most recent */
	key_of(100, k);
	flowcache_insert(fc, k, 1000, 1);
	cr_assert_eq(flowcache_get_stats(fc)->evictions, 1);
	key_of(1, k);
	cr_assert_null(flowcache_lookup(fc, k, 2), "the least recently used entry goes first");
	key_of(0, k);
	cr_assert_not_null(flowcache_lookup(fc, k, 2));
	flowcache_free(fc);
}

Test(flowcache, expired_entries_are_reused_before_live_ones)
{
	struct flowcache *fc = flowcache_create(8, sizeof(struct val));
	uint8_t k[FLOWCACHE_KEY_SIZE];

	for (uint32_t i = 0; i < 8; i++) {
		key_of(i, k);
		flowcache_insert(fc, k, i == 3 ? 10 : 1000, 0);
	}
	key_of(50, k);
	flowcache_insert(fc, k, 1000, 20);
	cr_assert_eq(flowcache_get_stats(fc)->evictions, 0);
	for (uint32_t i = 0; i < 8; i++) {
		key_of(i, k);
		if (i != 3)
			cr_assert_not_null(flowcache_lookup(fc, k, 21));
	}
	flowcache_free(fc);
}

Test(flowcache, remove_and_clear)
{
	struct flowcache *fc = flowcache_create(4096, sizeof(struct val));
	uint8_t k[FLOWCACHE_KEY_SIZE];

	for (uint32_t i = 0; i < 1000; i++) {
		key_of(i, k);
		flowcache_insert(fc, k, 1000, 0);
	}
	key_of(10, k);
	cr_assert_eq(flowcache_remove(fc, k), 0);
	cr_assert_eq(flowcache_remove(fc, k), -ENOENT);
	cr_assert_null(flowcache_lookup(fc, k, 1));
	key_of(11, k);
	cr_assert_not_null(flowcache_lookup(fc, k, 1));
	flowcache_clear(fc);
	cr_assert_null(flowcache_lookup(fc, k, 1));
	flowcache_free(fc);
}

Test(flowcache, bad_sizes)
{
	cr_assert_null(flowcache_create(0, 8));
	cr_assert_null(flowcache_create(16, 100000));
}

Test(flowcache, every_bucket_is_used)
{
	struct flowcache *fc = flowcache_create(8192, sizeof(struct val));
	uint8_t k[FLOWCACHE_KEY_SIZE];
	unsigned found = 0;

	/* As many sequential keys as entries: with every bucket in use about 86% stay (the
	 * rest overflow their 8-way bucket); with half the buckets unused only half would. */
	for (uint32_t i = 0; i < 8192; i++) {
		key_of(i, k);
		flowcache_insert(fc, k, 1000, 0);
	}
	for (uint32_t i = 0; i < 8192; i++) {
		key_of(i, k);
		found += flowcache_lookup(fc, k, 1) != NULL;
	}
	cr_assert_gt(found, 6500, "only %u of 8192 keys kept: buckets left unused", found);
	flowcache_free(fc);
}
