/*
 * L4 load balancer (TCP and UDP) with Maglev consistent hashing, half NAT, state in the store.
 *
 * Theory of operation
 * -------------------
 * Services: a virtual service is VIP:port/protocol with a pool of backends (address:port,
 * weight, active or draining). The pool is shared by every instance of a namespace through
 * the store: "<ns>:pool" holds it as JSON and "<ns>:pool_ver" its version, both set by one
 * script (lb_pool_push). Each instance's control thread reads the version every 100 ms and,
 * when it changed, reads both with one MGET, builds new Maglev tables off the fast path and
 * swaps a pointer; workers pick the new snapshot up at their next burst, and the old one is
 * freed once every worker has passed a quiescent point (end of a burst, or a tick).
 *
 * Choosing a backend: a new connection is hashed (client address and port, VIP and port,
 * protocol) into its service's Maglev table (Eisenbud et al., NSDI 2016): 65537 slots filled
 * in turns by per-backend permutations, a backend of weight w taking w/max turns per round,
 * draining backends left out. Instances with the same pool build the same table, so they
 * agree without talking, and a pool change moves only about 1/n of the slots. The choice is
 * then made durable: lb_create.lua stores it with SET NX semantics, so when two instances
 * race on one new connection (or hold different pool versions) the first one's backend
 * wins and both forward to it. Every later packet of the connection, on any instance,
 * follows the stored choice, whatever the pool has become since (a backend that was drained
 * or removed keeps its connections until they go idle).
 *
 * Half NAT: client -> VIP packets get the backend as destination (address and port); backend
 * -> client packets get the VIP back as source. The client address is kept, so backends see
 * real clients (logs, ACLs, no per-connection port allocation, no port exhaustion), at the
 * price that backends must route their replies through the load balancer (default route or
 * policy routing) and that one backend address:port cannot hold two connections from the
 * same client address:port through two VIPs (a new one is refused: drop_no_backend). Full
 * NAT would lift both by allocating source ports like the NAT, at the cost of hiding the
 * client and of one more store write per connection.
 *
 * State: one connection is a 20-byte value (struct lb_conn) stored under two keys,
 * "<ns>:f" + client->VIP 5-tuple for the way in and "<ns>:r" + backend->client 5-tuple for
 * the way back, so any instance can rewrite either direction. Both keys carry the idle
 * timeout of the protocol (tcp 900 s, udp 300 s) as a Redis TTL, refreshed by each instance
 * at most once per refresh interval per connection (a quarter of the timeout, at most 30 s,
 * write-behind through lb_touch.lua), and once when it first reads a connection another
 * instance created (it cannot know how much TTL is left). There is no TCP state tracking,
 * hence one idle timeout per protocol and no write-through: a connection is immutable, so
 * every cached copy (both directions are cached when lb_create.lua answers) stays valid
 * until it is invalidated (CLIENT TRACKING), expires, or the store connection is
 * re-established. Per-backend counters (conns, pkts, bytes in the hash
 * "<ns>:b:<address>:<port>") are coalesced per worker and flushed every 100 ms with the
 * refreshes. Local mode keeps connections in the worker's table only, with the configured
 * pool, and has no per-backend counters.
 *
 * Direction: with two ports, packets from the outside port (clients) go in and packets from
 * the inside port (backends) go out. One-armed: a packet to a VIP address goes in, every
 * other one is taken as backend -> client and needs a stored connection. Packets in that
 * address no service (VIP:port/protocol) are dropped (drop_policy); packets out that belong
 * to no connection are dropped (drop_no_mapping); ICMP is dropped (drop_unsupported). A new
 * connection to a service without an active backend is dropped (drop_no_backend). Any packet
 * of an unknown connection creates it (not only a TCP SYN), so a connection whose entry
 * expired or was lost continues on the backend the table still picks. Non-IPv4 frames pass
 * through unchanged (to the other port). Fragments: a first fragment is rewritten; later
 * fragments are dropped and counted.
 */
#include <string.h>

#include <netinet/in.h>
#include <rte_prefetch.h>

#include "nf/fastpath.h"
#include "nf/l4rewrite.h"
#include "nfs/lb/lb_int.h"

static uint8_t lb_direction(const struct lb_worker *w, uint16_t in_port, const struct pkt_info *pi)
{
	if (w->lb->opts.one_armed)
		return lb_pool_is_vip(w->pool, pi->key.dst_ip) ? LB_DIR_IN : LB_DIR_OUT;
	return in_port == NF_PORT_OUTSIDE ? LB_DIR_IN : LB_DIR_OUT;
}

static void lb_make_ckey(struct lb_pkt *p, uint8_t dir)
{
	memset(&p->ck, 0, sizeof(p->ck));
	p->ck.dir = dir;
	p->ck.proto = p->info.key.proto;
	p->ck.src_ip = p->info.key.src_ip;
	p->ck.src_port = p->info.key.src_port;
	p->ck.dst_ip = p->info.key.dst_ip;
	p->ck.dst_port = p->info.key.dst_port;
}

/* Parse and classify one packet. Returns false when its verdict is already decided. */
static bool lb_classify(struct lb_worker *w, uint16_t in_port, struct rte_mbuf *m,
			struct lb_pkt *p, uint8_t *out_port)
{
	enum parse_status st;
	uint8_t dir;

	rte_prefetch0(rte_pktmbuf_mtod(m, void *));
	st = parse_packet(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), &p->info);
	p->resolved = p->created = p->refused = false;
	p->svc = NULL;
	if (st != PARSE_OK) {
		*out_port = nf_parse_verdict(w->ctr, st, in_port, w->lb->opts.one_armed);
		return false;
	}
	*out_port = NF_VERDICT_DROP;
	if (p->info.proto != IPPROTO_TCP && p->info.proto != IPPROTO_UDP) {
		nf_ctr_add(w->ctr, NF_CTR_DROP_UNSUPPORTED, 1);
		return false;
	}
	dir = lb_direction(w, in_port, &p->info);
	if (dir == LB_DIR_IN) {
		p->svc = lb_pool_find(w->pool, p->info.key.dst_ip, p->info.key.dst_port, p->info.proto);
		if (p->svc == NULL) {
			nf_ctr_add(w->ctr, NF_CTR_DROP_POLICY, 1);
			return false;
		}
	}
	lb_make_ckey(p, dir);
	*out_port = w->lb->opts.one_armed ? 0 : dir == LB_DIR_IN ? NF_PORT_INSIDE : NF_PORT_OUTSIDE;
	return true;
}

static void lb_cache_hit(struct lb_worker *w, struct lb_pkt *p, uint64_t now_us)
{
	struct lb_centry *ce = nf_cache_lookup(w->cache, &p->ck, p->hash, now_us, w->ctr);

	if (ce == NULL)
		return;
	p->conn = ce->conn;
	p->resolved = true;
	lb_account(w, ce, &p->conn, p->info.ip_len, false, now_us);
}

/* Rewrite one packet in place: destination VIP -> backend on the way in, source backend ->
 * VIP on the way out. */
static void lb_rewrite(struct lb_worker *w, struct rte_mbuf *m, const struct lb_pkt *p)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	bool partial;

	if (p->ck.dir == LB_DIR_IN)
		partial = l4rewrite_dst(frame, &p->info, p->conn.backend_ip, p->conn.backend_port);
	else
		partial = l4rewrite_src(frame, &p->info, p->conn.vip, p->conn.vport);
	if (partial)
		nf_ctr_add(w->ctr, NF_CTR_CKSUM_PARTIAL, 1);
}

/* Classify the burst and prefetch the cache buckets of the packets that need a lookup. */
static void lb_classify_burst(struct lb_worker *w, uint16_t in_port, struct rte_mbuf **pkts,
			      uint16_t n, uint8_t *out_ports)
{
	for (uint16_t i = 0; i < n; i++) {
		struct lb_pkt *p = &w->pkts[i];

		p->done = !lb_classify(w, in_port, pkts[i], p, &out_ports[i]);
		if (p->done || w->cache == NULL)
			continue;	/* verdict decided (pass through or drop), or no cache */
		p->hash = flowcache_hash(&p->ck);
		flowcache_prefetch_hash(w->cache, p->hash);
	}
}

/* Cache lookups; returns true when some packet needs the store (or the local table). */
static bool lb_lookup_burst(struct lb_worker *w, uint16_t n, uint64_t now_us)
{
	bool need_resolve = false;

	for (uint16_t i = 0; i < n; i++) {
		struct lb_pkt *p = &w->pkts[i];

		if (p->done)
			continue;
		lb_cache_hit(w, p, now_us);
		need_resolve |= !p->resolved;
	}
	return need_resolve;
}

void lb_process_burst(struct lb_worker *w, uint16_t in_port, struct rte_mbuf **pkts, uint16_t n,
		      uint8_t *out_ports, uint64_t now_us)
{
	w->pool = lb_pool_get(w->lb);
	lb_classify_burst(w, in_port, pkts, n, out_ports);
	if (lb_lookup_burst(w, n, now_us)) {
		if (w->store != NULL)
			lb_store_resolve(w, n, now_us);
		else
			lb_local_resolve(w, n, now_us);
	}
	for (uint16_t i = 0; i < n; i++) {
		struct lb_pkt *p = &w->pkts[i];

		if (p->done)
			continue;	/* verdict set by lb_classify */
		if (p->resolved)
			lb_rewrite(w, pkts[i], p);
		else
			out_ports[i] = NF_VERDICT_DROP;
	}
	w->pool = NULL;
	lb_quiescent(w->lb, w->id);	/* holds no pool pointer until the next burst */
}
