/*
 * Source NAT with endpoint-independent mapping whose state lives in the shared store.
 *
 * Theory of operation
 * -------------------
 * State: one mapping per inside endpoint (protocol, inside address, inside port or ICMP echo
 * identifier) to a public endpoint (public address, public port), RFC 4787 endpoint-
 * independent: every destination sees the same public endpoint. The mapping is a 16-byte
 * value (struct nat_val) stored under two keys, "<ns>:m"+inside endpoint for outbound
 * packets and "<ns>:r"+public endpoint for return packets, so any instance can translate
 * either direction. Creation is one Lua script (nat_alloc.lua) that allocates the public
 * port with SET NX on the reverse key and writes both keys, atomically across instances.
 *
 * Lifetime: both keys carry the mapping's idle timeout as a Redis TTL, chosen by protocol
 * and state (TCP: new/closing 120 s, established 5 days; UDP 30 s, 120 s once a reply was
 * seen; ICMP 30 s). Instances refresh the TTL at most once per refresh interval per flow
 * (a quarter of the timeout, at most 30 s), so an idle mapping expires in the store and
 * its port is reused by the allocator.
 *
 * Consistency modes of the state: the mapping itself is immutable after creation and is
 * cached in each worker's flow cache; its state byte (new/established/closing) is
 * written through (nat_update.lua, forward-only) before the packet that caused the
 * transition leaves; per-flow packet and byte counters ("<ns>:s"+inside endpoint, a hash)
 * and TTL refreshes are write-behind, coalesced per flow and flushed every 100 ms.
 * A cached entry is dropped when Redis reports that another client changed or expired
 * its key (CLIENT TRACKING), when the local copy of its timeout passes, and all of them
 * when the store connection is re-established.
 *
 * Direction: with two ports, packets from the inside port go out and packets from the
 * outside port come in. One-armed: a packet to one of the public addresses comes in,
 * every other packet goes out. Non-IPv4 frames pass through unchanged (to the other port).
 * Fragments: a first fragment is translated; later fragments are dropped and counted.
 */
#include <string.h>

#include <netinet/in.h>
#include <rte_prefetch.h>

#include "nf/fastpath.h"
#include "nf/l4rewrite.h"
#include "nf/log.h"
#include "nfs/nat/nat_int.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

static bool nat_is_public(const struct nat *nat, rte_be32_t ip)
{
	for (unsigned i = 0; i < nat->cfg.n_public_ips; i++)
		if (nat->cfg.public_ips[i] == ip)
			return true;
	return false;
}

static uint8_t nat_direction(const struct nat_worker *w, uint16_t in_port, const struct pkt_info *pi)
{
	if (w->nat->opts.one_armed)
		return nat_is_public(w->nat, pi->key.dst_ip) ? NAT_DIR_IN : NAT_DIR_OUT;
	return in_port == NF_PORT_INSIDE ? NAT_DIR_OUT : NAT_DIR_IN;
}

static void nat_make_ckey(struct nat_pkt *p)
{
	memset(&p->ck, 0, sizeof(p->ck));
	p->ck.dir = p->dir;
	p->ck.ep.proto = p->info.key.proto;
	if (p->dir == NAT_DIR_OUT) {
		p->ck.ep.ip = p->info.key.src_ip;
		p->ck.ep.port = p->info.key.src_port;
	} else {
		p->ck.ep.ip = p->info.key.dst_ip;
		p->ck.ep.port = p->info.key.dst_port;
	}
}

/* Parse and classify packet 'i'; sets its verdict for packets that need no state. */
static bool nat_classify(struct nat_worker *w, uint16_t in_port, struct rte_mbuf *m,
			 struct nat_pkt *p, uint8_t *out_port)
{
	enum parse_status st;

	rte_prefetch0(rte_pktmbuf_mtod(m, void *));
	st = parse_packet(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), &p->info);
	p->resolved = false;
	p->next_state = 0xff;
	if (st != PARSE_OK) {
		*out_port = nf_parse_verdict(w->ctr, st, in_port, w->nat->opts.one_armed);
		return false;
	}
	p->dir = nat_direction(w, in_port, &p->info);
	if (p->dir == NAT_DIR_IN && !nat_is_public(w->nat, p->info.key.dst_ip)) {
		nf_ctr_add(w->ctr, NF_CTR_DROP_NO_MAPPING, 1);
		*out_port = NF_VERDICT_DROP;
		return false;
	}
	*out_port = p->dir == NAT_DIR_OUT ? NF_PORT_OUTSIDE : NF_PORT_INSIDE;
	if (w->nat->opts.one_armed)
		*out_port = 0;
	nat_make_ckey(p);
	return true;
}

static void nat_cache_hit(struct nat_worker *w, struct nat_pkt *p, uint64_t now_us)
{
	struct nat_centry *ce = nf_cache_lookup(w->cache, &p->ck, p->hash, now_us, w->ctr);

	if (ce == NULL)
		return;
	p->val = ce->val;
	p->resolved = true;
	if (w->store != NULL)
		nat_account(w, ce, &p->ck, p->info.ip_len, now_us);
	else
		flowcache_set_expire(w->cache, ce, now_us + nat_timeout_us(w->nat, &ce->val));
}

/* The state 'p' moves its mapping to, or 0xff. */
static uint8_t nat_next_state(const struct nat_pkt *p)
{
	uint8_t s = p->val.state, f = p->info.tcp_flags;

	if (p->info.key.proto == IPPROTO_TCP) {
		if (f & (TCP_RST | TCP_FIN))
			return s == NAT_ST_CLOSING ? 0xff : NAT_ST_CLOSING;
		if (s == NAT_ST_NEW && p->dir == NAT_DIR_IN)
			return NAT_ST_ESTABLISHED;
		if (s == NAT_ST_CLOSING && p->dir == NAT_DIR_OUT && (f & (TCP_SYN | TCP_ACK)) == TCP_SYN)
			return NAT_ST_NEW;
		return 0xff;
	}
	if (p->info.key.proto == IPPROTO_UDP && s == NAT_ST_NEW && p->dir == NAT_DIR_IN)
		return NAT_ST_ESTABLISHED;
	return 0xff;
}

/* Translate one packet in place according to its resolved mapping. */
static void nat_rewrite(struct nat_worker *w, struct rte_mbuf *m, const struct nat_pkt *p)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	bool partial;

	if (p->dir == NAT_DIR_OUT)
		partial = l4rewrite_src(frame, &p->info, p->val.pub_ip, p->val.pub_port);
	else
		partial = l4rewrite_dst(frame, &p->info, p->val.in_ip, p->val.in_port);
	if (partial)
		nf_ctr_add(w->ctr, NF_CTR_CKSUM_PARTIAL, 1);
}

static void nat_transitions(struct nat_worker *w, uint16_t n, uint64_t now_us)
{
	bool any = false;

	for (uint16_t i = 0; i < n; i++) {
		struct nat_pkt *p = &w->pkts[i];

		if (!p->resolved)
			continue;
		p->next_state = nat_next_state(p);
		if (p->next_state == 0xff)
			continue;
		any = true;
		if (w->store == NULL)
			nat_local_transition(w, p, now_us);
	}
	if (any && w->store != NULL)
		nat_store_write_through(w, n, now_us);
}

void nat_process_burst(struct nat_worker *w, uint16_t in_port, struct rte_mbuf **pkts, uint16_t n,
		       uint8_t *out_ports, uint64_t now_us)
{
	bool need_resolve = false;

	for (uint16_t i = 0; i < n; i++) {
		struct nat_pkt *p = &w->pkts[i];

		p->drop = !nat_classify(w, in_port, pkts[i], p, &out_ports[i]);
		if (p->drop || w->cache == NULL)
			continue;	/* verdict decided (pass through or drop), or no cache */
		p->hash = flowcache_hash(&p->ck);
		flowcache_prefetch_hash(w->cache, p->hash);
	}
	for (uint16_t i = 0; i < n; i++) {
		struct nat_pkt *p = &w->pkts[i];

		if (p->drop)
			continue;
		nat_cache_hit(w, p, now_us);
		need_resolve |= !p->resolved;
	}
	if (need_resolve) {
		if (w->store != NULL)
			nat_store_resolve(w, n, now_us);
		else
			nat_local_resolve(w, n, now_us);
	}
	nat_transitions(w, n, now_us);
	for (uint16_t i = 0; i < n; i++) {
		struct nat_pkt *p = &w->pkts[i];

		if (p->drop)
			continue;	/* verdict set by nat_classify */
		if (!p->resolved) {
			out_ports[i] = NF_VERDICT_DROP;
			continue;
		}
		nat_rewrite(w, pkts[i], p);
	}
}
