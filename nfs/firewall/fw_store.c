/* The firewall's store back end: pipelined fetch / create / compare-and-set rounds for a
 * burst, write-behind tracking and TTL refreshes, cache invalidation. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nf/log.h"
#include "nfs/firewall/fw_int.h"

#define FW_FLUSH_INTERVAL_US 100000u
#define FW_MAX_ROUNDS 4		/* fetch-or-create, transition, and two retries on contention */

/* Argument vector under construction for one command. */
struct fw_args {
	int argc;
	const char *argv[16];
	size_t len[16];
};

static void args_add(struct fw_args *a, const void *p, size_t len)
{
	a->argv[a->argc] = p;
	a->len[a->argc++] = len;
}

static void args_str(struct fw_args *a, const char *s)
{
	args_add(a, s, strlen(s));
}

void fw_store_sync_counters(struct fw_worker *w)
{
	const struct store_stats *s = store_get_stats(w->store);

	w->ctr->v[NF_CTR_STORE_ROUND_TRIPS] = s->round_trips;
	w->ctr->v[NF_CTR_STORE_CMDS] = s->commands;
}

/* A reply {code, value} of the firewall scripts: returns code (-100 when malformed) and
 * copies a 32-byte value into 'v' when there is one. */
static int fw_script_reply(const redisReply *r, struct fw_conn *v)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_STRING)
		return -100;
	if (r->element[1]->len == sizeof(*v))
		memcpy(v, r->element[1]->str, sizeof(*v));
	else if (r->element[0]->integer >= 0 || r->element[0]->integer == -2)
		return -100;
	return (int)r->element[0]->integer;
}

/* Give up on group 'g': its packets are dropped for 'verdict'. */
static void fw_group_fail(struct fw_worker *w, struct fw_group *g, uint8_t verdict)
{
	for (int i = g->first; i >= 0; i = w->pkts[i].next)
		w->pkts[i].verdict = verdict;
	g->need = FW_NEED_NONE;
	g->failed = true;
}

static void fw_fail_needing(struct fw_worker *w, uint8_t verdict)
{
	for (unsigned i = 0; i < w->n_groups; i++)
		if (w->groups[i].need != FW_NEED_NONE)
			fw_group_fail(w, &w->groups[i], verdict);
}

static bool fw_group_changed(const struct fw_group *g)
{
	return g->fin_exists != g->base_exists || !fw_conn_same_ctl(&g->fin, &g->base);
}

/* The store's value of 'g' is 'v' (NULL: no connection): judge the group again from it,
 * keeping the sequence tracking this worker knows of the same connection. */
static void fw_on_fresh(struct fw_worker *w, struct fw_group *g, const struct fw_conn *v)
{
	struct fw_conn old = g->base;
	bool had = g->base_exists;

	g->base_exists = v != NULL;
	if (v != NULL) {
		g->base = *v;
		if (had && fw_conn_same_identity(&old, v))
			fw_conn_merge_tracking(&g->base, &old);
	}
	g->base_cached = false;
	g->fetched = true;
	fw_group_run(w, g);
	g->need = fw_group_changed(g) ? FW_NEED_WRITE : FW_NEED_NONE;
}

static int fw_append_get(struct fw_worker *w, const struct fw_group *g)
{
	char key[FW_KEY_MAX];
	const char *argv[2] = { "GET", key };
	size_t len[2] = { 3, fw_conn_key(w, &g->key, key) };

	return store_append_argv(w->store, 2, argv, len);
}

/* fw_update.lua from the group's base (nothing: create) to its final value. */
static int fw_append_update(struct fw_worker *w, const struct fw_group *g)
{
	char key[FW_KEY_MAX];
	struct fw_args a = { 0 };

	args_add(&a, key, fw_conn_key(w, &g->key, key));
	args_add(&a, &g->base, g->base_exists ? FW_CONN_CTL_SIZE : 0);
	args_add(&a, &g->fin, sizeof(g->fin));
	args_str(&a, w->fw->ttl_str[g->fin.state % FW_ST__COUNT]);
	return store_append_script(w->store, SCRIPT_FW_UPDATE, 1, a.argc, a.argv, a.len);
}

/* A group that missed the cache and would create its connection asks to create it right
 * away (one round trip for a new flow); any other fetch is a GET. */
static bool fw_sends_get(const struct fw_group *g)
{
	return g->need == FW_NEED_FETCH && !(!g->base_exists && g->fin_exists);
}

static void fw_on_get_reply(struct fw_worker *w, struct fw_group *g, const redisReply *r)
{
	struct fw_conn v;

	if (r->type == REDIS_REPLY_STRING && r->len == sizeof(v)) {
		memcpy(&v, r->str, sizeof(v));
		fw_on_fresh(w, g, &v);
	} else if (r->type == REDIS_REPLY_NIL) {
		fw_on_fresh(w, g, NULL);
	} else {
		NF_LOG_RL(WARN, "firewall", "store: unexpected reply to a connection read (type %d)",
			  r->type);
		fw_group_fail(w, g, FW_V_DROP_STORE_ERROR);
	}
}

static void fw_on_update_reply(struct fw_worker *w, struct fw_group *g, const redisReply *r)
{
	struct fw_conn v;
	int code = fw_script_reply(r, &v);

	switch (code) {
	case 1:
		if (g->fin_exists && (!g->base_exists || !fw_conn_same_identity(&g->base, &g->fin)))
			nf_ctr_add(w->ctr, NF_CTR_FLOWS_CREATED, 1);
		nf_ctr_add(w->ctr, NF_CTR_WRITE_THROUGH, 1);
		g->fin = v;
		g->written = true;
		g->need = FW_NEED_NONE;
		return;
	case 0:
		fw_on_fresh(w, g, &v);
		return;
	case -1:
		fw_on_fresh(w, g, NULL);
		return;
	default:
		NF_LOG_RL(WARN, "firewall", "store: connection write failed: %s",
			  r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		fw_group_fail(w, g, FW_V_DROP_STORE_ERROR);
	}
}

/* One reply for group 'g'. A NOSCRIPT reply leaves the group needing the same thing: the
 * store reloads its scripts with the next batch and the next round retries. */
static void fw_on_reply(struct fw_worker *w, struct fw_group *g, const redisReply *r, bool get,
			bool last)
{
	if (store_reply_is_noscript(r)) {
		if (last)
			fw_group_fail(w, g, FW_V_DROP_STORE_ERROR);
		return;
	}
	if (get)
		fw_on_get_reply(w, g, r);
	else
		fw_on_update_reply(w, g, r);
}

/* One round: a single pipelined batch with one command per group that needs the store. */
static void fw_round(struct fw_worker *w, bool last)
{
	uint8_t idx[NF_BURST];
	bool get[NF_BURST];
	unsigned n_sent = 0;

	for (unsigned i = 0; i < w->n_groups; i++) {
		struct fw_group *g = &w->groups[i];

		if (g->need == FW_NEED_NONE)
			continue;
		get[n_sent] = fw_sends_get(g);
		if ((get[n_sent] ? fw_append_get(w, g) : fw_append_update(w, g)) == 0)
			idx[n_sent++] = (uint8_t)i;
		else
			fw_group_fail(w, g, FW_V_DROP_STORE_DOWN);
	}
	for (unsigned k = 0; k < n_sent; k++) {
		redisReply *r = NULL;

		if (store_read_reply(w->store, &r) != 0) {
			for (; k < n_sent; k++)
				fw_group_fail(w, &w->groups[idx[k]], FW_V_DROP_STORE_DOWN);
			break;
		}
		fw_on_reply(w, &w->groups[idx[k]], r, get[k], last);
		freeReplyObject(r);
	}
}

static bool fw_any_need(const struct fw_worker *w)
{
	for (unsigned i = 0; i < w->n_groups; i++)
		if (w->groups[i].need != FW_NEED_NONE)
			return true;
	return false;
}

/* Resolve every group that needs the store, in at most FW_MAX_ROUNDS round trips. Groups
 * still unresolved after that (contention on one connection) are dropped and counted. */
void fw_store_resolve(struct fw_worker *w, uint64_t now_us)
{
	for (unsigned round = 0; round < FW_MAX_ROUNDS && fw_any_need(w); round++) {
		if (!store_ready(w->store, now_us)) {
			fw_fail_needing(w, FW_V_DROP_STORE_DOWN);
			break;
		}
		fw_store_check_generation(w, now_us);
		fw_round(w, round + 1 == FW_MAX_ROUNDS);
	}
	if (fw_any_need(w)) {
		NF_LOG_RL(WARN, "firewall", "store: connection still contended after %d rounds: dropped",
			  FW_MAX_ROUNDS);
		fw_fail_needing(w, FW_V_DROP_STORE_ERROR);
	}
	fw_store_sync_counters(w);
}

static struct fw_dirty *fw_dirty_get(struct fw_worker *w, struct fw_centry *ce,
				     const struct fw_ckey *ck, uint64_t now_us)
{
	struct fw_dirty *d;

	if (ce != NULL && ce->dirty_epoch == w->dirty_epoch)
		return &w->dirty[ce->dirty_idx];
	if (w->n_dirty == FW_DIRTY_MAX)
		fw_store_flush(w, now_us);
	if (w->n_dirty == FW_DIRTY_MAX)
		w->n_dirty = 0;	/* store down for long: the oldest records are lost */
	d = &w->dirty[w->n_dirty];
	memset(d, 0, sizeof(*d));
	d->key = *ck;
	if (ce != NULL) {
		ce->dirty_epoch = w->dirty_epoch;
		ce->dirty_idx = w->n_dirty;
	}
	w->n_dirty++;
	return d;
}

/* Record connection 'c' (its latest tracking) for the next flush, with a TTL refresh when
 * 'touch'. 'ce' is its cache entry, or NULL (remote mode: one record per call). */
void fw_store_account(struct fw_worker *w, struct fw_centry *ce, const struct fw_ckey *ck,
		      const struct fw_conn *c, bool touch, uint64_t now_us)
{
	struct fw_dirty *d = fw_dirty_get(w, ce, ck, now_us);

	d->conn = *c;
	d->touch |= touch;
	if (touch && ce != NULL)
		ce->refreshed_us = now_us;
}

static int fw_append_touch(struct fw_worker *w, const struct fw_dirty *d)
{
	char key[FW_KEY_MAX];
	struct fw_args a = { 0 };

	args_add(&a, key, fw_conn_key(w, &d->key, key));
	args_add(&a, &d->conn, sizeof(d->conn));
	for (int s = 1; s < FW_ST__COUNT; s++)
		args_str(&a, w->fw->ttl_str[s]);
	args_str(&a, d->touch ? "1" : "0");
	return store_append_script(w->store, SCRIPT_FW_TOUCH, 1, a.argc, a.argv, a.len);
}

/* The store's value after a flush: newer state (kept), our tracking merged, longer life. */
static void fw_touch_reply(struct fw_worker *w, const struct fw_dirty *d, const redisReply *r,
			   uint64_t now_us)
{
	struct fw_conn v;
	struct fw_centry *ce;
	int code = fw_script_reply(r, &v);

	if (w->cache == NULL)
		return;
	if (code == -1 || code == -2) {
		flowcache_remove(w->cache, &d->key);
		return;
	}
	ce = code == 1 ? flowcache_lookup(w->cache, &d->key, now_us) : NULL;
	if (ce == NULL || !fw_conn_same_identity(&ce->conn, &v))
		return;
	fw_conn_merge_tracking(&v, &ce->conn);
	ce->conn = v;
	if (d->touch)
		flowcache_set_expire(w->cache, ce, now_us + fw_timeout_us(w->fw, v.state));
}

/* Flush the write-behind records in one round trip. Records are kept while the store is
 * unreachable (until the table fills, see fw_dirty_get). */
void fw_store_flush(struct fw_worker *w, uint64_t now_us)
{
	uint32_t n_sent = 0;

	if (w->n_dirty == 0 || !store_ready(w->store, now_us))
		return;
	for (uint32_t i = 0; i < w->n_dirty; i++)
		n_sent += fw_append_touch(w, &w->dirty[i]) == 0;
	for (uint32_t i = 0; i < n_sent; i++) {
		redisReply *r = NULL;

		if (store_read_reply(w->store, &r) != 0)
			break;
		fw_touch_reply(w, &w->dirty[i], r, now_us);
		freeReplyObject(r);
	}
	nf_ctr_add(w->ctr, NF_CTR_WRITE_BEHIND, n_sent);
	w->n_dirty = 0;
	if (++w->dirty_epoch == 0)
		w->dirty_epoch = 1;
	fw_store_sync_counters(w);
}

/* After a reconnect invalidations may have been lost: flush pending writes, empty the
 * cache, and re-check (and if need be re-publish) the rule set. */
void fw_store_check_generation(struct fw_worker *w, uint64_t now_us)
{
	if (store_generation(w->store) == w->store_gen)
		return;
	w->store_gen = store_generation(w->store);
	fw_store_flush(w, now_us);
	if (w->cache != NULL)
		flowcache_clear(w->cache);
	fw_sync_on_reconnect(w);
}

/* Drop the cache entry named by an invalidated key ("<ns>:c" + key); note a rule set change. */
static void fw_on_invalidate(void *arg, const char *key, size_t len)
{
	struct fw_worker *w = arg;
	struct fw_ckey ck;

	if (key == NULL) {
		flowcache_clear(w->cache);
		w->rules_check_now = true;
		nf_ctr_add(w->ctr, NF_CTR_STORE_INVALIDATIONS, 1);
		return;
	}
	if (len == strlen(w->key_rules_ver) && memcmp(key, w->key_rules_ver, len) == 0) {
		w->rules_check_now = true;
		return;
	}
	if (len != w->pfx_len + sizeof(ck) || memcmp(key, w->pfx_c, w->pfx_len) != 0)
		return;
	memcpy(&ck, key + w->pfx_len, sizeof(ck));
	if (flowcache_remove(w->cache, &ck) == 0)
		nf_ctr_add(w->ctr, NF_CTR_STORE_INVALIDATIONS, 1);
}

/* Timer work: reconnect, flush the cache after a reconnect, apply invalidations, flush
 * write-behind records every 100 ms. */
void fw_store_poll(struct fw_worker *w, uint64_t now_us)
{
	if (store_ready(w->store, now_us)) {
		fw_store_check_generation(w, now_us);
		if (w->cache != NULL)
			store_poll_invalidations(w->store, fw_on_invalidate, w);
	}
	if (now_us >= w->next_flush_us) {
		fw_store_flush(w, now_us);
		w->next_flush_us = now_us + FW_FLUSH_INTERVAL_US;
	}
}
