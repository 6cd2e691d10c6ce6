/* The load balancer's store back end: batched miss resolution (one round trip per burst),
 * write-behind refreshes and per-backend counters, cache invalidation. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include "nf/log.h"
#include "nfs/lb/lb_int.h"

#define LB_FLUSH_INTERVAL_US 100000u

/* Argument vector under construction for one command. */
struct lb_args {
	int argc;
	const char *argv[8];
	size_t len[8];
};

static void args_add(struct lb_args *a, const void *p, size_t len)
{
	a->argv[a->argc] = p;
	a->len[a->argc++] = len;
}

static void args_str(struct lb_args *a, const char *s)
{
	args_add(a, s, strlen(s));
}

static void lb_sync_store_counters(struct lb_worker *w)
{
	const struct store_stats *s = store_get_stats(w->store);

	w->ctr->v[NF_CTR_STORE_ROUND_TRIPS] = s->round_trips;
	w->ctr->v[NF_CTR_STORE_CMDS] = s->commands;
}

/* A reply {code, value} of the scripts: returns code (-100 when malformed), copies a
 * 20-byte value into 'c' when there is one. */
static int lb_script_reply(const redisReply *r, struct lb_conn *c)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_STRING)
		return -100;
	if (r->element[1]->len == sizeof(*c))
		memcpy(c, r->element[1]->str, sizeof(*c));
	else if (r->element[0]->integer >= 0)
		return -100;
	return (int)r->element[0]->integer;
}

/* lb_create.lua for an IN miss: the backend this instance's table picks, offered to the
 * store; the stored one wins if the connection exists. */
static int lb_append_create(struct lb_worker *w, struct lb_pkt *p)
{
	const struct lb_backend *b = lb_pool_choose(w->pool, p->svc, &p->ck);
	char fkey[LB_KEY_MAX], rkey[LB_KEY_MAX];
	struct lb_args a = { 0 };
	struct lb_ckey rck;

	lb_conn_make(&p->ck, b, &p->conn);	/* kept for the conflict log */
	lb_conn_ckey(&p->conn, LB_DIR_OUT, &rck);
	args_add(&a, fkey, lb_key(w, &p->ck, fkey));
	args_add(&a, rkey, lb_key(w, &rck, rkey));
	args_add(&a, &p->conn, b != NULL ? sizeof(p->conn) : 0);
	args_str(&a, w->lb->ttl_str[p->ck.proto]);
	args_str(&a, w->lb->opts.mode == NF_MODE_REMOTE ? "1" : "0");
	args_add(&a, rkey, w->pfx_len);	/* "<ns>:r" */
	return store_append_script(w->store, SCRIPT_LB_CREATE, 2, a.argc, a.argv, a.len);
}

static int lb_append_lookup_out(struct lb_worker *w, const struct lb_pkt *p)
{
	char rkey[LB_KEY_MAX];
	const char *argv[2] = { "GET", rkey };
	size_t len[2] = { 3, lb_key(w, &p->ck, rkey) };

	return store_append_argv(w->store, 2, argv, len);
}

static void lb_create_reply(struct lb_worker *w, struct lb_pkt *p, const redisReply *r)
{
	struct lb_conn c = p->conn;
	int code = lb_script_reply(r, &c);

	if (code == 0 || code == 1) {
		p->conn = c;
		p->resolved = true;
		p->created = code == 1;
		nf_ctr_add(w->ctr, NF_CTR_FLOWS_CREATED, (uint64_t)code);
		return;
	}
	p->refused = true;
	if (code == -1 || code == -2) {
		nf_ctr_add(w->ctr, NF_CTR_DROP_NO_BACKEND, 1);
		if (code == -1)
			lb_log_conflict(&p->conn);
	} else {
		nf_ctr_add(w->ctr, NF_CTR_DROP_STORE_ERROR, 1);
		if (r->type == REDIS_REPLY_ERROR)
			NF_LOG_RL(WARN, "lb", "store error: %.*s", (int)r->len, r->str);
	}
}

/* Apply one reply to packet 'p'. Returns 1 when NOSCRIPT asks for a retry, else 0. */
static int lb_resolve_reply(struct lb_worker *w, struct lb_pkt *p, redisReply *r, bool last)
{
	if (store_reply_is_noscript(r) && !last)
		return 1;
	if (p->ck.dir == LB_DIR_IN) {
		lb_create_reply(w, p, r);
	} else if (r->type == REDIS_REPLY_STRING && r->len == sizeof(p->conn)) {
		memcpy(&p->conn, r->str, sizeof(p->conn));
		p->resolved = true;
	} else {
		p->refused = true;
		nf_ctr_add(w->ctr, r->type == REDIS_REPLY_NIL ? NF_CTR_DROP_NO_MAPPING
							     : NF_CTR_DROP_STORE_ERROR, 1);
	}
	return 0;
}

/* After a reconnect invalidations may have been lost: flush pending writes, empty the cache. */
static void lb_check_generation(struct lb_worker *w, uint64_t now_us)
{
	if (store_generation(w->store) == w->store_gen)
		return;
	w->store_gen = store_generation(w->store);
	lb_store_flush(w, now_us);
	if (w->cache != NULL)
		flowcache_clear(w->cache);
}

/* One attempt: a single pipelined round trip for every unresolved packet. Returns the
 * number of packets that got NOSCRIPT (to retry once the scripts are reloaded). */
static int lb_resolve_once(struct lb_worker *w, uint16_t n, bool last, uint64_t now_us)
{
	uint16_t idx[NF_BURST], n_sent = 0;
	int retry = 0;

	if (!store_ready(w->store, now_us)) {
		for (uint16_t i = 0; i < n; i++)
			if (!w->pkts[i].done && !w->pkts[i].resolved && !w->pkts[i].refused)
				nf_ctr_add(w->ctr, NF_CTR_DROP_STORE_DOWN, 1);
		return 0;
	}
	lb_check_generation(w, now_us);
	for (uint16_t i = 0; i < n; i++) {
		struct lb_pkt *p = &w->pkts[i];
		int rc;

		if (p->done || p->resolved || p->refused)
			continue;
		rc = p->ck.dir == LB_DIR_IN ? lb_append_create(w, p) : lb_append_lookup_out(w, p);
		if (rc == 0)
			idx[n_sent++] = i;
		else
			nf_ctr_add(w->ctr, NF_CTR_DROP_STORE_DOWN, 1);
	}
	for (uint16_t k = 0; k < n_sent; k++) {
		redisReply *r = NULL;

		if (store_read_reply(w->store, &r) != 0) {
			nf_ctr_add(w->ctr, NF_CTR_DROP_STORE_DOWN, (uint64_t)(n_sent - k));
			break;
		}
		retry += lb_resolve_reply(w, &w->pkts[idx[k]], r, last);
		freeReplyObject(r);
	}
	return retry;
}

/* Cache what a resolution taught (both directions after lb_create.lua, which read both
 * keys; only the way out after a GET of the reverse key) and account the packet. A
 * connection another instance created gets its TTL refreshed with the next flush: this
 * instance does not know how much of it is left. */
static void lb_resolved(struct lb_worker *w, struct lb_pkt *p, uint64_t now_us)
{
	struct lb_centry *ce = NULL;

	if (w->cache != NULL) {
		if (p->ck.dir == LB_DIR_IN)
			lb_cache_put(w, &p->conn, LB_DIR_OUT, now_us);
		ce = lb_cache_put(w, &p->conn, p->ck.dir, now_us);
		if (!p->created)
			ce->refreshed_us = 0;
	}
	lb_account(w, ce, &p->conn, p->info.ip_len, p->created, now_us);
}

void lb_store_resolve(struct lb_worker *w, uint16_t n, uint64_t now_us)
{
	bool pending[NF_BURST];

	for (uint16_t i = 0; i < n; i++)
		pending[i] = !w->pkts[i].done && !w->pkts[i].resolved;
	if (lb_resolve_once(w, n, false, now_us) > 0)
		lb_resolve_once(w, n, true, now_us);
	for (uint16_t i = 0; i < n; i++)
		if (pending[i] && w->pkts[i].resolved)
			lb_resolved(w, &w->pkts[i], now_us);
	lb_sync_store_counters(w);
}

static int lb_append_touch(struct lb_worker *w, const struct lb_conn *c)
{
	char fkey[LB_KEY_MAX], rkey[LB_KEY_MAX];
	struct lb_args a = { 0 };
	struct lb_ckey ck;

	lb_conn_ckey(c, LB_DIR_IN, &ck);
	args_add(&a, fkey, lb_key(w, &ck, fkey));
	lb_conn_ckey(c, LB_DIR_OUT, &ck);
	args_add(&a, rkey, lb_key(w, &ck, rkey));
	args_add(&a, c, sizeof(*c));
	args_str(&a, w->lb->ttl_str[c->proto]);
	return store_append_script(w->store, SCRIPT_LB_TOUCH, 2, a.argc, a.argv, a.len);
}

static void lb_touch_reply(struct lb_worker *w, const struct lb_conn *c, const redisReply *r,
			   uint64_t now_us)
{
	struct lb_conn v = *c;
	int code = lb_script_reply(r, &v);

	if (code == 1)
		lb_cache_refresh(w, c, now_us);
	else if (code == -1 || code == -2)
		lb_cache_forget(w, c);
}

/* HINCRBY <ns>:b:<address>:<port> for each non-zero counter of 'b'. Returns how many. */
static unsigned lb_append_bctr(struct lb_worker *w, const struct lb_bctr *b)
{
	static const char *const names[3] = { "conns", "pkts", "bytes" };
	uint64_t deltas[3] = { b->conns, b->pkts, b->bytes };
	char key[LB_KEY_MAX + 32], num[24];
	uint32_t ip = rte_cpu_to_be_32((uint32_t)(b->key >> 16));
	char addr[INET_ADDRSTRLEN];
	unsigned n = 0;

	inet_ntop(AF_INET, &ip, addr, sizeof(addr));
	snprintf(key, sizeof(key), "%s%s:%u", w->pfx_b, addr, (unsigned)(b->key & 0xffff));
	for (int i = 0; i < 3; i++) {
		const char *argv[4] = { "HINCRBY", key, names[i], num };

		if (deltas[i] == 0)
			continue;
		snprintf(num, sizeof(num), "%" PRIu64, deltas[i]);
		n += store_append_argv(w->store, 4, argv, NULL) == 0;
	}
	return n;
}

/* Send the pending refreshes and per-backend counters in one round trip. */
static void lb_flush_batch(struct lb_worker *w, uint64_t now_us)
{
	uint32_t n_touch = 0, n_ctr = 0;

	for (uint32_t i = 0; i < w->n_dirty; i++)
		n_touch += lb_append_touch(w, &w->dirty[i]) == 0;
	for (uint32_t i = 0; i < LB_BCTR_SLOTS && w->n_bctr > 0; i++)
		if (w->bctr[i].key != 0)
			n_ctr += lb_append_bctr(w, &w->bctr[i]);
	for (uint32_t i = 0; i < n_touch + n_ctr; i++) {
		redisReply *r = NULL;

		if (store_read_reply(w->store, &r) != 0)
			break;
		if (i < n_touch)
			lb_touch_reply(w, &w->dirty[i], r, now_us);
		else if (r->type == REDIS_REPLY_ERROR)
			NF_LOG_RL(WARN, "lb", "backend counters: %.*s", (int)r->len, r->str);
		freeReplyObject(r);
	}
	nf_ctr_add(w->ctr, NF_CTR_WRITE_BEHIND, n_touch + n_ctr);
}

/* Flush the write-behind records. They are kept while the store is unreachable (until
 * their tables fill, see lb_account). */
void lb_store_flush(struct lb_worker *w, uint64_t now_us)
{
	if (w->store == NULL || (w->n_dirty == 0 && w->n_bctr == 0) || !store_ready(w->store, now_us))
		return;
	lb_flush_batch(w, now_us);
	w->n_dirty = 0;
	if (w->n_bctr > 0)
		memset(w->bctr, 0, sizeof(w->bctr));
	w->n_bctr = 0;
	lb_sync_store_counters(w);
}

/* Drop the cache entry named by an invalidated store key ("<ns>:f"/"<ns>:r" + ckey). */
static void lb_on_invalidate(void *arg, const char *key, size_t len)
{
	struct lb_worker *w = arg;
	struct lb_ckey ck;
	char tag;

	if (key == NULL) {
		flowcache_clear(w->cache);
		nf_ctr_add(w->ctr, NF_CTR_STORE_INVALIDATIONS, 1);
		return;
	}
	if (len != w->pfx_len + sizeof(ck) || memcmp(key, w->pfx_f, w->pfx_len - 1) != 0)
		return;
	tag = key[w->pfx_len - 1];
	if (tag != 'f' && tag != 'r')
		return;
	memcpy(&ck, key + w->pfx_len, sizeof(ck));
	if (flowcache_remove(w->cache, &ck) == 0)
		nf_ctr_add(w->ctr, NF_CTR_STORE_INVALIDATIONS, 1);
}

/* Timer work: reconnect, flush the cache after a reconnect, apply invalidations, flush
 * write-behind records every 100 ms. */
void lb_store_poll(struct lb_worker *w, uint64_t now_us)
{
	if (store_ready(w->store, now_us) && w->cache != NULL) {
		lb_check_generation(w, now_us);
		store_poll_invalidations(w->store, lb_on_invalidate, w);
	}
	if (now_us >= w->next_flush_us) {
		lb_store_flush(w, now_us);
		w->next_flush_us = now_us + LB_FLUSH_INTERVAL_US;
	}
}
