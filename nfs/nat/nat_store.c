/* The NAT's store back end: batched miss resolution, write-through transitions,
 * write-behind counters and refreshes, cache invalidation. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include "nf/log.h"
#include "nfs/nat/nat_int.h"


/* Argument vector under construction for one command. */
struct nat_args {
	int argc;
	const char *argv[16];
	size_t len[16];
};

static void args_add(struct nat_args *a, const void *p, size_t len)
{
	a->argv[a->argc] = p;
	a->len[a->argc++] = len;
}

static void args_str(struct nat_args *a, const char *s)
{
	args_add(a, s, strlen(s));
}

static void nat_sync_store_counters(struct nat_worker *w)
{
	const struct store_stats *s = store_get_stats(w->store);

	w->ctr->v[NF_CTR_STORE_ROUND_TRIPS] = s->round_trips;
	w->ctr->v[NF_CTR_STORE_CMDS] = s->commands;
}

/* A reply {code, value} of the NAT scripts: returns code, copies a 16-byte value. */
static int nat_script_reply(const redisReply *r, struct nat_val *v)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER)
		return -100;
	if (r->element[1]->type == REDIS_REPLY_STRING && r->element[1]->len == sizeof(*v))
		memcpy(v, r->element[1]->str, sizeof(*v));
	else if (r->element[0]->integer >= 0 || r->element[0]->integer == -2)
		return -100;
	return (int)r->element[0]->integer;
}

static int nat_append_alloc(struct nat_worker *w, const struct nat_pkt *p)
{
	const struct nat *nat = w->nat;
	char fkey[NAT_KEY_MAX], ckey[NAT_KEY_MAX], skey[NAT_KEY_MAX], bytes[8];
	struct nat_val tmpl = { 0 };
	struct nat_args a = { 0 };
	unsigned idx;
	rte_be32_t pub = nat_pick_public_ip(nat, p->ck.ep.ip, &idx);
	bool remote = nat->opts.mode == NF_MODE_REMOTE;

	tmpl.in_ip = p->ck.ep.ip;
	tmpl.in_port = p->ck.ep.port;
	tmpl.proto = p->ck.ep.proto;
	args_add(&a, fkey, nat_key(w, 'm', &p->ck.ep, fkey));
	args_add(&a, w->pfx_r, w->pfx_len);
	args_add(&a, ckey, nat_cursor_key(w, tmpl.proto, pub, ckey));
	args_add(&a, &pub, 4);
	args_str(&a, w->lo_str);
	args_str(&a, w->hi_str);
	args_str(&a, nat->ttl_str[tmpl.proto][NAT_ST_NEW]);
	args_add(&a, &tmpl, sizeof(tmpl));
	args_str(&a, w->probes_str);
	for (int s = 0; s < NAT_ST__COUNT; s++)
		args_str(&a, remote ? nat->ttl_str[tmpl.proto][s] : "0");
	if (remote) {
		args_str(&a, "");	/* the naive mode keeps no per-flow counters */
		args_str(&a, "0");
	} else {
		args_add(&a, skey, nat_key(w, 's', &p->ck.ep, skey));
		snprintf(bytes, sizeof(bytes), "%u", p->info.ip_len);
		args_str(&a, bytes);
	}
	return store_append_script(w->store, SCRIPT_NAT_ALLOC, 1, a.argc, a.argv, a.len);
}

static int nat_append_lookup_in(struct nat_worker *w, const struct nat_pkt *p)
{
	char rkey[NAT_KEY_MAX];
	const char *argv[2] = { "GET", rkey };
	size_t len[2] = { 3, nat_key(w, 'r', &p->ck.ep, rkey) };

	return store_append_argv(w->store, 2, argv, len);
}

static void nat_log_exhausted(const struct nat_pkt *p)
{
	char buf[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &p->ck.ep.ip, buf, sizeof(buf));
	NF_LOG_RL(WARN, "nat", "public ports exhausted: new flow from %s port %u (proto %u) dropped",
		  buf, rte_be_to_cpu_16(p->ck.ep.port), p->ck.ep.proto);
}

/* Apply one reply to packet 'p'. Returns 1 when NOSCRIPT asks for a retry, else 0. */
static int nat_resolve_reply(struct nat_worker *w, struct nat_pkt *p, redisReply *r, bool last)
{
	int code;

	if (store_reply_is_noscript(r) && !last)
		return 1;
	if (p->dir == NAT_DIR_IN) {
		if (r->type == REDIS_REPLY_STRING && r->len == sizeof(p->val)) {
			memcpy(&p->val, r->str, sizeof(p->val));
			p->resolved = true;
		} else {
			nf_ctr_add(w->ctr, r->type == REDIS_REPLY_NIL ? NF_CTR_DROP_NO_MAPPING
								     : NF_CTR_DROP_STORE_ERROR, 1);
		}
		return 0;
	}
	code = nat_script_reply(r, &p->val);
	if (code == 0 || code == 1) {
		p->resolved = true;
		p->created = code == 1;
		nf_ctr_add(w->ctr, NF_CTR_FLOWS_CREATED, (uint64_t)code);
	} else if (code == -1) {
		nf_ctr_add(w->ctr, NF_CTR_DROP_PORTS_EXHAUSTED, 1);
		nat_log_exhausted(p);
	} else {
		nf_ctr_add(w->ctr, NF_CTR_DROP_STORE_ERROR, 1);
		if (r->type == REDIS_REPLY_ERROR)
			NF_LOG_RL(WARN, "nat", "store error: %.*s", (int)r->len, r->str);
	}
	return 0;
}

/* One attempt: a single pipelined round trip for every unresolved packet. Returns the
 * number of packets that got NOSCRIPT (to retry once the scripts are reloaded). */
static int nat_resolve_once(struct nat_worker *w, uint16_t n, bool last, uint64_t now_us)
{
	uint16_t idx[NF_BURST], n_sent = 0;
	int retry = 0;

	if (!store_ready(w->store, now_us)) {
		for (uint16_t i = 0; i < n; i++)
			if (!w->pkts[i].drop && !w->pkts[i].resolved)
				nf_ctr_add(w->ctr, NF_CTR_DROP_STORE_DOWN, 1);
		return 0;
	}
	nat_store_check_generation(w, now_us);
	for (uint16_t i = 0; i < n; i++) {
		struct nat_pkt *p = &w->pkts[i];
		int rc;

		if (p->drop || p->resolved)
			continue;
		rc = p->dir == NAT_DIR_OUT ? nat_append_alloc(w, p) : nat_append_lookup_in(w, p);
		if (rc == 0)
			idx[n_sent++] = i;
		else
			nf_ctr_add(w->ctr, NF_CTR_DROP_STORE_DOWN, 1);
	}
	for (uint16_t k = 0; k < n_sent; k++) {
		struct nat_pkt *p = &w->pkts[idx[k]];
		redisReply *r = NULL;

		if (store_read_reply(w->store, &r) != 0) {
			nf_ctr_add(w->ctr, NF_CTR_DROP_STORE_DOWN, (uint64_t)(n_sent - k));
			break;
		}
		retry += nat_resolve_reply(w, p, r, last);
		freeReplyObject(r);
	}
	return retry;
}

/* Resolve the burst's cache misses; in cached mode cache what came back and count the
 * packets (a flow created by nat_alloc.lua already counted its first packet). */
void nat_store_resolve(struct nat_worker *w, uint16_t n, uint64_t now_us)
{
	bool pending[NF_BURST];

	for (uint16_t i = 0; i < n; i++) {
		pending[i] = !w->pkts[i].drop && !w->pkts[i].resolved;
		w->pkts[i].created = false;
	}
	if (nat_resolve_once(w, n, false, now_us) > 0)
		nat_resolve_once(w, n, true, now_us);
	for (uint16_t i = 0; i < n; i++) {
		struct nat_pkt *p = &w->pkts[i];
		struct nat_centry *ce;

		if (!pending[i] || !p->resolved || w->cache == NULL)
			continue;
		ce = nat_cache_put(w, &p->val, p->dir, now_us);
		if (!p->created)
			nat_account(w, ce, &p->ck, p->info.ip_len, now_us);
	}
	nat_sync_store_counters(w);
}

/* Queue 'ce' (cache key 'ck') for the next write-behind flush. */
void nat_store_queue(struct nat_worker *w, struct nat_centry *ce, const struct nat_ckey *ck,
		     uint64_t now_us)
{
	if (w->n_dirty == w->max_dirty)
		nat_store_flush(w, now_us);
	if (w->n_dirty == w->max_dirty)
		return;	/* store down and the queue full: queued again by a later packet */
	ce->dirty_epoch = w->dirty_epoch;
	w->dirty[w->n_dirty++] = *ck;
}

/* Index of an earlier packet of the burst with the same mapping and transition, or -1. */
static int nat_wt_duplicate(const struct nat_worker *w, uint16_t i)
{
	const struct nat_pkt *p = &w->pkts[i];

	for (uint16_t j = 0; j < i; j++) {
		const struct nat_pkt *q = &w->pkts[j];

		if (q->resolved && q->next_state == p->next_state && memcmp(&q->val, &p->val, 12) == 0)
			return j;
	}
	return -1;
}

static int nat_append_update(struct nat_worker *w, const struct nat_pkt *p)
{
	const struct nat *nat = w->nat;
	char fkey[NAT_KEY_MAX], rkey[NAT_KEY_MAX], state[4];
	struct nat_args a = { 0 };
	struct ep_key ep;
	bool reopen = p->val.state == NAT_ST_CLOSING && p->next_state == NAT_ST_NEW;

	snprintf(state, sizeof(state), "%u", p->next_state);
	nat_val_fwd_ep(&p->val, &ep);
	args_add(&a, fkey, nat_key(w, 'm', &ep, fkey));
	nat_val_rev_ep(&p->val, &ep);
	args_add(&a, rkey, nat_key(w, 'r', &ep, rkey));
	args_add(&a, &p->val, sizeof(p->val));
	args_str(&a, state);
	args_str(&a, nat->ttl_str[p->val.proto][p->next_state]);
	args_str(&a, reopen ? "1" : "0");
	return store_append_script(w->store, SCRIPT_NAT_UPDATE, 2, a.argc, a.argv, a.len);
}

/* Give every packet of the burst carrying mapping 'v' the stored version of it. */
static void nat_wt_apply(struct nat_worker *w, uint16_t n, const struct nat_val *v, bool gone,
			 uint64_t now_us)
{
	for (uint16_t i = 0; i < n; i++) {
		struct nat_pkt *p = &w->pkts[i];

		if (!p->resolved || memcmp(&p->val, v, 12) != 0)
			continue;
		if (gone) {
			p->resolved = false;
			nf_ctr_add(w->ctr, NF_CTR_DROP_NO_MAPPING, 1);
		} else {
			p->val.state = v->state;
		}
	}
	if (gone)
		nat_cache_forget(w, v);
	else
		nat_cache_update(w, v, now_us);
}

static void nat_wt_reply(struct nat_worker *w, uint16_t n, struct nat_pkt *p, redisReply *r,
			 uint64_t now_us)
{
	struct nat_val v = p->val;
	int code = nat_script_reply(r, &v);

	if (code == 1 || code == 0) {
		nf_ctr_add(w->ctr, NF_CTR_WRITE_THROUGH, (uint64_t)code);
		nat_wt_apply(w, n, &v, false, now_us);
	} else if (code == -1 || code == -2) {
		v = p->val;
		nat_wt_apply(w, n, &v, true, now_us);
	} else {
		NF_LOG_RL(WARN, "nat", "state write-through failed: %s",
			  r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	}
}

/* Write the burst's state transitions through to the store in one round trip, before any
 * packet of the burst leaves. While the store is unreachable the packets still go (their
 * mapping is valid) and the transition is retried by the next packet that causes it. */
void nat_store_write_through(struct nat_worker *w, uint16_t n, uint64_t now_us)
{
	uint16_t idx[NF_BURST], n_sent = 0;

	if (!store_ready(w->store, now_us))
		return;
	for (uint16_t i = 0; i < n; i++) {
		struct nat_pkt *p = &w->pkts[i];

		if (!p->resolved || p->next_state == 0xff || nat_wt_duplicate(w, i) >= 0)
			continue;
		if (nat_append_update(w, p) == 0)
			idx[n_sent++] = i;
	}
	for (uint16_t k = 0; k < n_sent; k++) {
		redisReply *r = NULL;

		if (store_read_reply(w->store, &r) != 0)
			break;
		nat_wt_reply(w, n, &w->pkts[idx[k]], r, now_us);
		freeReplyObject(r);
	}
	nat_sync_store_counters(w);
}

static int nat_append_touch(struct nat_worker *w, const struct nat_centry *ce, uint8_t dir)
{
	const struct nat *nat = w->nat;
	char fkey[NAT_KEY_MAX], rkey[NAT_KEY_MAX], skey[NAT_KEY_MAX], num[4][24];
	struct nat_args a = { 0 };
	struct ep_key fep, rep;
	uint64_t deltas[4] = { 0 };

	deltas[dir == NAT_DIR_OUT ? 0 : 2] = ce->pkts;
	deltas[dir == NAT_DIR_OUT ? 1 : 3] = ce->bytes;
	nat_val_fwd_ep(&ce->val, &fep);
	nat_val_rev_ep(&ce->val, &rep);
	args_add(&a, fkey, nat_key(w, 'm', &fep, fkey));
	args_add(&a, rkey, nat_key(w, 'r', &rep, rkey));
	args_add(&a, &ce->val, sizeof(ce->val));
	for (int s = 0; s < NAT_ST__COUNT; s++)
		args_str(&a, nat->ttl_str[ce->val.proto][s]);
	args_add(&a, skey, nat_key(w, 's', &fep, skey));
	for (int i = 0; i < 4; i++) {
		snprintf(num[i], sizeof(num[i]), "%" PRIu64, deltas[i]);
		args_str(&a, num[i]);
	}
	args_str(&a, ce->touch ? "1" : "0");
	return store_append_script(w->store, SCRIPT_NAT_TOUCH, 2, a.argc, a.argv, a.len);
}

static void nat_touch_reply(struct nat_worker *w, const struct nat_val *held, redisReply *r,
			    uint64_t now_us)
{
	struct nat_val v = *held;
	int code = nat_script_reply(r, &v);

	if (code == 1)
		nat_cache_update(w, &v, now_us);
	else if (code == -1 || code == -2)
		nat_cache_forget(w, held);
}

/* Append one touch per queued entry that still has something to write. Returns the count. */
static uint32_t nat_flush_append(struct nat_worker *w, uint64_t now_us)
{
	uint32_t n_sent = 0;

	for (uint32_t i = 0; i < w->n_dirty; i++) {
		struct nat_centry *ce = flowcache_lookup(w->cache, &w->dirty[i], now_us);

		if (ce == NULL || (ce->pkts == 0 && !ce->touch))
			continue;	/* expired, evicted or already flushed */
		if (nat_append_touch(w, ce, w->dirty[i].dir) != 0)
			break;
		w->flushing[n_sent++] = ce->val;
		ce->pkts = 0;
		ce->bytes = 0;
		ce->touch = false;
	}
	return n_sent;
}

/* Flush the write-behind state of every queued entry in one round trip. While the store
 * is unreachable the deltas stay in the cache entries and are sent after reconnecting. */
void nat_store_flush(struct nat_worker *w, uint64_t now_us)
{
	uint32_t n_sent;

	if (w->n_dirty == 0 || w->cache == NULL || !store_ready(w->store, now_us))
		return;
	n_sent = nat_flush_append(w, now_us);
	for (uint32_t i = 0; i < n_sent; i++) {
		redisReply *r = NULL;

		if (store_read_reply(w->store, &r) != 0)
			break;
		nat_touch_reply(w, &w->flushing[i], r, now_us);
		freeReplyObject(r);
	}
	nf_ctr_add(w->ctr, NF_CTR_WRITE_BEHIND, n_sent);
	w->n_dirty = 0;
	if (++w->dirty_epoch == 0)
		w->dirty_epoch = 1;
	nat_sync_store_counters(w);
}

/* After a reconnect invalidations may have been lost: flush pending writes, empty the cache. */
void nat_store_check_generation(struct nat_worker *w, uint64_t now_us)
{
	if (store_generation(w->store) == w->store_gen)
		return;
	w->store_gen = store_generation(w->store);
	nat_store_flush(w, now_us);
	if (w->cache != NULL)
		flowcache_clear(w->cache);
}

/* Drop the cache entry named by an invalidated store key ("<ns>:m"/"<ns>:r" + ep). */
static void nat_on_invalidate(void *arg, const char *key, size_t len)
{
	struct nat_worker *w = arg;
	struct nat_ckey ck;
	char tag;

	if (key == NULL) {
		flowcache_clear(w->cache);
		nf_ctr_add(w->ctr, NF_CTR_STORE_INVALIDATIONS, 1);
		return;
	}
	if (len != w->pfx_len + sizeof(ck.ep) || memcmp(key, w->pfx_m, w->pfx_len - 1) != 0)
		return;
	tag = key[w->pfx_len - 1];
	if (tag != 'm' && tag != 'r')
		return;
	memset(&ck, 0, sizeof(ck));
	ck.dir = tag == 'm' ? NAT_DIR_OUT : NAT_DIR_IN;
	memcpy(&ck.ep, key + w->pfx_len, sizeof(ck.ep));
	if (flowcache_remove(w->cache, &ck) == 0)
		nf_ctr_add(w->ctr, NF_CTR_STORE_INVALIDATIONS, 1);
}

/* Timer work: reconnect, flush the cache after a reconnect, apply invalidations, flush
 * write-behind records every 100 ms. */
void nat_store_poll(struct nat_worker *w, uint64_t now_us)
{
	if (store_ready(w->store, now_us) && w->cache != NULL) {
		nat_store_check_generation(w, now_us);
		store_poll_invalidations(w->store, nat_on_invalidate, w);
	}
	if (now_us >= w->next_flush_us) {
		nat_store_flush(w, now_us);
		w->next_flush_us = now_us + NAT_FLUSH_INTERVAL_US;
	}
}
