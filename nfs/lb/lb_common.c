/* Load balancer helpers shared by the fast path and the back ends: keys, timeouts, cache,
 * per-backend accounting. */
#include <string.h>

#include <arpa/inet.h>

#include "nf/log.h"
#include "nfs/lb/lb_int.h"

#define LB_REFRESH_MAX_US 30000000u

/* "<ns>:f" or "<ns>:r" followed by the 16 bytes of 'ck'. Returns the key length. */
size_t lb_key(const struct lb_worker *w, const struct lb_ckey *ck, char *buf)
{
	memcpy(buf, w->pfx_f, w->pfx_len);
	buf[w->pfx_len - 1] = ck->dir == LB_DIR_IN ? 'f' : 'r';
	memcpy(buf + w->pfx_len, ck, sizeof(*ck));
	return w->pfx_len + sizeof(*ck);
}

void lb_conn_ckey(const struct lb_conn *c, uint8_t dir, struct lb_ckey *ck)
{
	memset(ck, 0, sizeof(*ck));
	ck->dir = dir;
	ck->proto = c->proto;
	if (dir == LB_DIR_IN) {
		ck->src_ip = c->client_ip;
		ck->src_port = c->client_port;
		ck->dst_ip = c->vip;
		ck->dst_port = c->vport;
	} else {
		ck->src_ip = c->backend_ip;
		ck->src_port = c->backend_port;
		ck->dst_ip = c->client_ip;
		ck->dst_port = c->client_port;
	}
}

/* The connection of packet key 'in' (LB_DIR_IN) sent to backend 'b'. */
void lb_conn_make(const struct lb_ckey *in, const struct lb_backend *b, struct lb_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->client_ip = in->src_ip;
	c->client_port = in->src_port;
	c->vip = in->dst_ip;
	c->vport = in->dst_port;
	c->proto = in->proto;
	if (b != NULL) {
		c->backend_ip = b->ip;
		c->backend_port = b->port;
	}
}

uint64_t lb_timeout_us(const struct lb *lb, uint8_t proto)
{
	return (uint64_t)lb->timeout_ms[proto] * 1000u;
}

/* How often one instance refreshes a connection's TTL: a quarter of the timeout, <= 30 s. */
uint64_t lb_refresh_us(const struct lb *lb, uint8_t proto)
{
	uint64_t t = lb_timeout_us(lb, proto) / 4;

	return t < LB_REFRESH_MAX_US ? t : LB_REFRESH_MAX_US;
}

struct lb_centry *lb_cache_put(struct lb_worker *w, const struct lb_conn *c, uint8_t dir,
			       uint64_t now_us)
{
	struct lb_ckey ck;
	struct lb_centry *ce;

	lb_conn_ckey(c, dir, &ck);
	ce = flowcache_insert(w->cache, &ck, now_us + lb_timeout_us(w->lb, c->proto), now_us);
	ce->conn = *c;
	ce->refreshed_us = now_us;
	return ce;
}

/* The TTL of 'c' was refreshed: extend both cached directions (where cached). */
void lb_cache_refresh(struct lb_worker *w, const struct lb_conn *c, uint64_t now_us)
{
	struct lb_ckey ck;
	struct lb_centry *ce;

	if (w->cache == NULL)
		return;
	for (uint8_t dir = LB_DIR_IN; dir <= LB_DIR_OUT; dir++) {
		lb_conn_ckey(c, dir, &ck);
		ce = flowcache_lookup(w->cache, &ck, now_us);
		if (ce != NULL && memcmp(&ce->conn, c, sizeof(*c)) == 0)
			flowcache_set_expire(w->cache, ce, now_us + lb_timeout_us(w->lb, c->proto));
	}
}

void lb_cache_forget(struct lb_worker *w, const struct lb_conn *c)
{
	struct lb_ckey ck;

	if (w->cache == NULL)
		return;
	for (uint8_t dir = LB_DIR_IN; dir <= LB_DIR_OUT; dir++) {
		lb_conn_ckey(c, dir, &ck);
		flowcache_remove(w->cache, &ck);
	}
}

static uint64_t lb_bctr_hash(uint64_t k)
{
	k ^= k >> 29;
	k *= 0xbf58476d1ce4e5b9ull;
	return k ^ (k >> 32);
}

/* The counter slot of backend 'ip':'port', created if needed; flushes a full table. */
static struct lb_bctr *lb_bctr_get(struct lb_worker *w, rte_be32_t ip, rte_be16_t port,
				   uint64_t now_us)
{
	uint64_t key = 1ull << 48 | (uint64_t)rte_be_to_cpu_32(ip) << 16 | rte_be_to_cpu_16(port);
	uint32_t i = (uint32_t)lb_bctr_hash(key) & (LB_BCTR_SLOTS - 1);

	if (w->n_bctr >= LB_BCTR_SLOTS * 3 / 4)
		lb_store_flush(w, now_us);
	if (w->n_bctr >= LB_BCTR_SLOTS * 3 / 4) {	/* store down for long: deltas lost */
		memset(w->bctr, 0, sizeof(w->bctr));
		w->n_bctr = 0;
	}
	while (w->bctr[i].key != 0 && w->bctr[i].key != key)
		i = (i + 1) & (LB_BCTR_SLOTS - 1);
	if (w->bctr[i].key == 0) {
		w->bctr[i].key = key;
		w->n_bctr++;
	}
	return &w->bctr[i];
}

/* Queue a TTL refresh of 'c' for the next write-behind flush. */
static void lb_dirty_add(struct lb_worker *w, const struct lb_conn *c, uint64_t now_us)
{
	if (w->n_dirty == LB_DIRTY_MAX)
		lb_store_flush(w, now_us);
	if (w->n_dirty == LB_DIRTY_MAX)
		w->n_dirty = 0;	/* store down for long: the oldest refreshes are lost */
	w->dirty[w->n_dirty++] = *c;
}

/* Count one packet of 'bytes' of connection 'c' (its cache entry 'ce', or NULL) for its
 * backend, and refresh the connection's idle timeout at most once per refresh interval:
 * through the store (write-behind) or, in local mode, in the cache itself. */
void lb_account(struct lb_worker *w, struct lb_centry *ce, const struct lb_conn *c,
		uint32_t bytes, bool created, uint64_t now_us)
{
	struct lb_bctr *b;

	if (ce != NULL && now_us - ce->refreshed_us >= lb_refresh_us(w->lb, c->proto)) {
		ce->refreshed_us = now_us;
		if (w->store != NULL)
			lb_dirty_add(w, c, now_us);
		else
			lb_cache_refresh(w, c, now_us);
	}
	if (w->store == NULL)
		return;	/* per-backend counters live in the store */
	b = lb_bctr_get(w, c->backend_ip, c->backend_port, now_us);
	b->pkts++;
	b->bytes += bytes;
	b->conns += created;
}

void lb_log_conflict(const struct lb_conn *want)
{
	char client[INET_ADDRSTRLEN], backend[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &want->client_ip, client, sizeof(client));
	inet_ntop(AF_INET, &want->backend_ip, backend, sizeof(backend));
	NF_LOG_RL(WARN, "lb", "new connection from %s port %u dropped: backend %s port %u already "
		  "has a connection from that address and port (another VIP)", client,
		  rte_be_to_cpu_16(want->client_port), backend, rte_be_to_cpu_16(want->backend_port));
}
