/* NAT helpers shared by the fast path and the store/local back ends: keys, timeouts, cache. */
#include <string.h>

#include <rte_hash_crc.h>

#include "nfs/nat/nat_int.h"

size_t nat_key(const struct nat_worker *w, char tag, const struct ep_key *ep, char *buf)
{
	memcpy(buf, w->pfx_m, w->pfx_len);
	buf[w->pfx_len - 1] = tag;
	memcpy(buf + w->pfx_len, ep, sizeof(*ep));
	return w->pfx_len + sizeof(*ep);
}

size_t nat_cursor_key(const struct nat_worker *w, uint8_t proto, rte_be32_t pub_ip, char *buf)
{
	memcpy(buf, w->pfx_p, w->pfx_len);
	buf[w->pfx_len] = (char)proto;
	memcpy(buf + w->pfx_len + 1, &pub_ip, 4);
	return w->pfx_len + 5;
}

void nat_val_fwd_ep(const struct nat_val *v, struct ep_key *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->proto = v->proto;
	ep->port = v->in_port;
	ep->ip = v->in_ip;
}

void nat_val_rev_ep(const struct nat_val *v, struct ep_key *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->proto = v->proto;
	ep->port = v->pub_port;
	ep->ip = v->pub_ip;
}

uint64_t nat_timeout_us(const struct nat *nat, const struct nat_val *v)
{
	return (uint64_t)nat->timeout_ms[v->proto][v->state % NAT_ST__COUNT] * 1000u;
}

/* Paired pooling (RFC 4787 REQ-2): one inside address always gets the same public one. */
rte_be32_t nat_pick_public_ip(const struct nat *nat, rte_be32_t in_ip, unsigned *idx)
{
	uint32_t h = rte_hash_crc_4byte(in_ip, 0x5bd1e995);

	*idx = h % nat->cfg.n_public_ips;
	return nat->cfg.public_ips[*idx];
}

static void nat_ckey_of(const struct nat_val *v, uint8_t dir, struct nat_ckey *ck)
{
	memset(ck, 0, sizeof(*ck));
	ck->dir = dir;
	if (dir == NAT_DIR_OUT)
		nat_val_fwd_ep(v, &ck->ep);
	else
		nat_val_rev_ep(v, &ck->ep);
}

struct nat_centry *nat_cache_put(struct nat_worker *w, const struct nat_val *v, uint8_t dir,
				 uint64_t now_us)
{
	struct nat_ckey ck;
	struct nat_centry *ce;

	nat_ckey_of(v, dir, &ck);
	ce = flowcache_insert(w->cache, &ck, now_us + nat_timeout_us(w->nat, v), now_us);
	ce->val = *v;
	ce->next_refresh_us = now_us + w->nat->refresh_us[v->proto][v->state % NAT_ST__COUNT];
	ce->pkts = 0;
	ce->bytes = 0;
	ce->touch = false;
	ce->dirty_epoch = 0;
	return ce;
}

/* Replace the cached value of both directions of 'v' where they are cached. */
void nat_cache_update(struct nat_worker *w, const struct nat_val *v, uint64_t now_us)
{
	struct nat_ckey ck;
	struct nat_centry *ce;

	if (w->cache == NULL)
		return;
	for (uint8_t dir = NAT_DIR_OUT; dir <= NAT_DIR_IN; dir++) {
		nat_ckey_of(v, dir, &ck);
		ce = flowcache_lookup(w->cache, &ck, now_us);
		if (ce == NULL || memcmp(&ce->val, v, 12) != 0)
			continue;
		ce->val = *v;
		flowcache_set_expire(w->cache, ce, now_us + nat_timeout_us(w->nat, v));
	}
}

void nat_cache_forget(struct nat_worker *w, const struct nat_val *v)
{
	struct nat_ckey ck;

	if (w->cache == NULL)
		return;
	for (uint8_t dir = NAT_DIR_OUT; dir <= NAT_DIR_IN; dir++) {
		nat_ckey_of(v, dir, &ck);
		flowcache_remove(w->cache, &ck);
	}
}
