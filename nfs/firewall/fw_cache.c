/* The firewall's per-worker view of its connections: store keys, timeouts, the flow cache
 * (the whole table in local mode) and what a judged burst leaves in it. */
#include <string.h>

#include "nfs/firewall/fw_int.h"

#define FW_REFRESH_MAX_US 30000000u

size_t fw_conn_key(const struct fw_worker *w, const struct fw_ckey *ck, char *buf)
{
	memcpy(buf, w->pfx_c, w->pfx_len);
	memcpy(buf + w->pfx_len, ck, sizeof(*ck));
	return w->pfx_len + sizeof(*ck);
}

uint64_t fw_timeout_us(const struct fw *fw, uint8_t state)
{
	return (uint64_t)fw->timeout_ms[state % FW_ST__COUNT] * 1000u;
}

/* How often one instance refreshes a connection's TTL: a quarter of its timeout, at most 30 s. */
uint64_t fw_refresh_us(const struct fw *fw, uint8_t state)
{
	uint64_t t = fw_timeout_us(fw, state) / 4;

	return t < FW_REFRESH_MAX_US ? t : FW_REFRESH_MAX_US;
}

/* Insert or replace the entry of 'ck' with 'c', valid for its state's timeout. The entry
 * belongs to the cache: the pointer is valid until the next insert. */
struct fw_centry *fw_cache_put(struct fw_worker *w, const struct fw_ckey *ck,
			       const struct fw_conn *c, uint64_t refreshed_us, uint64_t now_us)
{
	struct fw_centry *ce = flowcache_insert(w->cache, ck, now_us + fw_timeout_us(w->fw, c->state),
						now_us);

	ce->conn = *c;
	ce->refreshed_us = refreshed_us;
	ce->dirty_epoch = 0;
	return ce;
}

void fw_cache_forget(struct fw_worker *w, const struct fw_ckey *ck)
{
	if (w->cache != NULL)
		flowcache_remove(w->cache, ck);
}

static bool fw_tracking_changed(const struct fw_conn *a, const struct fw_conn *b)
{
	return memcmp((const uint8_t *)a + FW_CONN_CTL_SIZE, (const uint8_t *)b + FW_CONN_CTL_SIZE,
		      sizeof(*a) - FW_CONN_CTL_SIZE) != 0;
}

static bool fw_group_created(const struct fw_group *g)
{
	return g->fin_exists && (!g->base_exists || !fw_conn_same_identity(&g->base, &g->fin));
}

/* Local mode: the cache is the table; every packet extends the idle timeout. */
static void fw_local_result(struct fw_worker *w, struct fw_group *g, uint64_t now_us)
{
	if (!g->fin_exists)
		return;
	if (g->fin_exists != g->base_exists || !fw_conn_same_ctl(&g->fin, &g->base))
		nf_ctr_add(w->ctr, NF_CTR_WRITE_THROUGH, 1);
	if (fw_group_created(g))
		nf_ctr_add(w->ctr, NF_CTR_FLOWS_CREATED, 1);
	fw_cache_put(w, &g->key, &g->fin, now_us, now_us);
}

/* The cache entry for a group resolved against the store (NULL in remote mode). A value
 * read in this burst is due for a TTL refresh (refreshed 0) unless this worker just wrote it. */
static struct fw_centry *fw_cached_result(struct fw_worker *w, struct fw_group *g, uint64_t now_us)
{
	struct fw_centry *ce;

	if (w->cache == NULL)
		return NULL;
	if (!g->base_cached)
		return fw_cache_put(w, &g->key, &g->fin, g->written ? now_us : 0, now_us);
	ce = flowcache_lookup(w->cache, &g->key, now_us);
	if (ce == NULL)
		return fw_cache_put(w, &g->key, &g->fin, g->written ? now_us : 0, now_us);
	ce->conn = g->fin;
	if (g->written)
		ce->refreshed_us = now_us;
	return ce;
}

/* Leave the outcome of group 'g' in the cache and the write-behind records. */
void fw_cache_store_result(struct fw_worker *w, struct fw_group *g, uint64_t now_us)
{
	struct fw_centry *ce;
	bool touch;

	if (g->failed)
		return;
	if (w->store == NULL) {
		fw_local_result(w, g, now_us);
		return;
	}
	if (!g->fin_exists) {
		if (g->fetched)
			fw_cache_forget(w, &g->key);
		return;
	}
	ce = fw_cached_result(w, g, now_us);
	if (g->written)
		return;		/* the store holds 'fin', with a fresh TTL */
	touch = ce == NULL || now_us - ce->refreshed_us >= fw_refresh_us(w->fw, g->fin.state);
	if (touch || fw_tracking_changed(&g->fin, &g->base))
		fw_store_account(w, ce, &g->key, &g->fin, touch, now_us);
}
