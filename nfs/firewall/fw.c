/*
 * Stateful firewall whose connection table lives in the shared store.
 *
 * Theory of operation
 * -------------------
 * Policy: an ordered rule list (protocol, source and destination prefixes and port
 * ranges, direction in/out/any; first match wins) and a default action, compiled from
 * JSON (fw_rules.c). Rules are evaluated only for a packet that has no connection: a
 * connection-opening packet (TCP SYN, any UDP datagram, ICMP echo request) that a rule
 * allows creates one; every later packet of either direction is judged by the connection's
 * state alone, so established traffic never scans the rules and a new rule set applies to
 * new connections only.
 *
 * State: one connection per flow under one direction-independent key, "<ns>:c" + struct
 * fw_ckey (the two endpoints in canonical order: lower address, then port, first), so both
 * directions, on any instance, find the same 32-byte value (struct fw_conn: protocol,
 * state, which side opened it, FIN and window-scale flags, and per direction the initial
 * sequence number, the next expected sequence number and the largest window). TCP goes
 * SYN_SENT -> SYN_RECV (the SYN-ACK must acknowledge the SYN) -> ESTABLISHED (the ACK must
 * acknowledge the SYN-ACK) -> FIN_WAIT -> CLOSING (a FIN each way), or CLOSED on an RST
 * whose sequence number lies within the receiver's window around the sender's next
 * expected sequence number (else the RST is dropped: drop_bad_state). A SYN on a closing or
 * closed connection opens a new one if the rules allow it. UDP is UDP -> UDP_REPLIED; ICMP
 * echo lets requests one way and replies the other (fw_conn.c).
 *
 * Lifetime: the key carries the state's idle timeout as a Redis TTL (TCP: SYN_SENT 120 s,
 * SYN_RECV 60 s, ESTABLISHED 5 days, FIN_WAIT and CLOSING 120 s, CLOSED 10 s; UDP 30 s,
 * 120 s once replied; ICMP 30 s). Instances refresh it at most once per refresh interval
 * per connection (a quarter of the timeout, at most 30 s); an idle connection expires in
 * the store, and its next packet is judged as new.
 *
 * Consistency: creation and every state transition are written through before the packet
 * that caused them leaves, by fw_update.lua: a compare-and-set that applies the new value
 * only if the stored control part is still the one the transition was computed from
 * (creation: only if the key does not exist). On a mismatch the script returns the stored
 * value and the packets are judged again from it, so two instances seeing the two
 * directions of one handshake, or racing on one SYN, never lose a transition and agree on
 * one connection. The sequence tracking is write-behind (fw_touch.lua, every 100 ms,
 * merged with a serial maximum). Connections are cached per worker (cached mode); a packet
 * that a cached state would drop is re-judged from the store before it is dropped, since
 * the cache may be behind another instance's transition. Cache entries are dropped on
 * CLIENT TRACKING invalidations, at the local copy of the timeout, and all of them after
 * a store reconnect.
 *
 * Rule sets converge across instances through "<ns>:rules" (canonical JSON) and
 * "<ns>:rules_ver" (a counter), written together by fw_rules_set.lua; each worker GETs the
 * version every rules_check_ms (100 ms, or at once on an invalidation of it) and reloads
 * on a change (fw_sync.c).
 *
 * Direction: with two ports, packets from the inside port (0) go out and packets from the
 * outside port (1) come in; one-armed, a packet whose source is in an inside prefix goes
 * out, every other one comes in. Packets are never modified: accepted ones leave on the
 * other port (one-armed: port 0), non-IPv4 frames pass through, malformed ones and later
 * fragments are dropped and counted.
 *
 * Bursts: the packets of one connection form a group judged in order from the group's
 * value, so a burst may carry a whole handshake. All store work of a burst is pipelined:
 * one round trip fetches (or creates) every connection that missed the cache; transitions
 * share a second one; mismatches are retried in at most two more.
 */
#include <string.h>

#include <netinet/in.h>

#include <rte_hash_crc.h>

#include "nf/fastpath.h"
#include "nf/log.h"
#include "nfs/firewall/fw_int.h"

static bool fw_is_inside(const struct fw *fw, rte_be32_t ip)
{
	for (unsigned i = 0; i < fw->cfg.n_inside; i++)
		if ((ip & fw->cfg.inside[i].mask) == fw->cfg.inside[i].net)
			return true;
	return false;
}

static uint8_t fw_ndir(const struct fw_worker *w, uint16_t in_port, const struct pkt_info *pi)
{
	if (w->fw->opts.one_armed)
		return fw_is_inside(w->fw, pi->key.src_ip) ? FW_DIR_OUT : FW_DIR_IN;
	return in_port == NF_PORT_INSIDE ? FW_DIR_OUT : FW_DIR_IN;
}

/* Parse packet 'p'; decides at once (in '*out_port') for packets that need no state. */
static bool fw_classify(struct fw_worker *w, uint16_t in_port, struct rte_mbuf *m,
			struct fw_pkt *p, uint8_t *out_port)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	enum parse_status st = parse_packet(frame, rte_pktmbuf_data_len(m), &p->info);

	p->verdict = FW_V_DECIDED;
	p->out_port = nf_other_port(in_port, w->fw->opts.one_armed);
	if (st != PARSE_OK) {
		*out_port = nf_parse_verdict(w->ctr, st, in_port, w->fw->opts.one_armed);
		return false;
	}
	p->ndir = fw_ndir(w, in_port, &p->info);
	p->rule_memo = FW_RM_UNKNOWN;
	p->next = -1;
	fw_seg_parse(frame + p->info.l4_off, &p->info, &p->seg);
	return true;
}

/* Add packet 'i' to the group of its connection (a new one for a new key). */
static void fw_group_add(struct fw_worker *w, unsigned i)
{
	struct fw_pkt *p = &w->pkts[i];
	struct fw_ckey ck;
	uint32_t h;

	fw_ckey_make(&p->info.key, &ck, &p->side);
	h = rte_hash_crc(&ck, sizeof(ck), 0);
	for (;; h++) {
		int8_t gi = w->gslots[h & (FW_GSLOTS - 1)];
		struct fw_group *g;

		if (gi < 0) {
			g = &w->groups[w->n_groups];
			memset(g, 0, sizeof(*g));
			g->key = ck;
			g->first = g->last = (int8_t)i;
			p->group = (uint8_t)w->n_groups;
			w->gslots[h & (FW_GSLOTS - 1)] = (int8_t)w->n_groups++;
			return;
		}
		g = &w->groups[gi];
		if (memcmp(&g->key, &ck, sizeof(ck)) == 0) {
			w->pkts[g->last].next = (int8_t)i;
			g->last = (int8_t)i;
			p->group = (uint8_t)gi;
			return;
		}
	}
}

/* The rule set's verdict on packet 'p' (evaluated once per packet, only when needed). */
static uint8_t fw_rule_memo(struct fw_worker *w, struct fw_pkt *p)
{
	struct fw_match m;
	int idx;

	if (p->rule_memo != FW_RM_UNKNOWN)
		return p->rule_memo;
	m.src = rte_be_to_cpu_32(p->info.key.src_ip);
	m.dst = rte_be_to_cpu_32(p->info.key.dst_ip);
	m.sport = p->info.proto == IPPROTO_ICMP ? 0 : rte_be_to_cpu_16(p->info.key.src_port);
	m.dport = p->info.proto == IPPROTO_ICMP ? 0 : rte_be_to_cpu_16(p->info.key.dst_port);
	m.proto = p->info.proto;
	m.dir = p->ndir;
	if (fw_rules_eval(w->rules, &m, &idx) == FW_ALLOW)
		p->rule_memo = FW_RM_ALLOW;
	else
		p->rule_memo = idx >= 0 ? FW_RM_DENY_RULE : FW_RM_DENY_DEFAULT;
	return p->rule_memo;
}

/* Judge a packet with no connection: it opens one if it can and the rules allow it. */
static uint8_t fw_judge_new(struct fw_worker *w, struct fw_pkt *p, struct fw_conn *c, bool *exists)
{
	if (!fw_seg_can_open(&p->seg))
		return FW_V_DROP_STRAY;
	if (fw_rule_memo(w, p) != FW_RM_ALLOW)
		return FW_V_DROP_POLICY;
	fw_conn_open(c, &p->seg, p->side);
	*exists = true;
	return FW_V_ACCEPT;
}

static uint8_t fw_judge(struct fw_worker *w, struct fw_pkt *p, struct fw_conn *c, bool *exists)
{
	if (!*exists)
		return fw_judge_new(w, p, c, exists);
	switch (fw_conn_step(c, &p->seg, p->side)) {
	case FW_STEP_ACCEPT:
		return FW_V_ACCEPT;
	case FW_STEP_REOPEN:
		if (fw_rule_memo(w, p) != FW_RM_ALLOW)
			return FW_V_DROP_POLICY;
		fw_conn_open(c, &p->seg, p->side);
		return FW_V_ACCEPT;
	default:
		return FW_V_DROP_BAD;
	}
}

void fw_group_run(struct fw_worker *w, struct fw_group *g)
{
	struct fw_conn c = g->base;
	bool exists = g->base_exists;

	g->bad = false;
	for (int i = g->first; i >= 0; i = w->pkts[i].next) {
		struct fw_pkt *p = &w->pkts[i];

		p->verdict = fw_judge(w, p, &c, &exists);
		g->bad |= p->verdict == FW_V_DROP_BAD;
	}
	g->fin = c;
	g->fin_exists = exists;
}

static bool fw_group_changed(const struct fw_group *g)
{
	return g->fin_exists != g->base_exists || !fw_conn_same_ctl(&g->fin, &g->base);
}

static void fw_count_lookup(struct fw_worker *w, const struct fw_group *g, bool hit)
{
	uint64_t n = 0;

	for (int i = g->first; i >= 0; i = w->pkts[i].next)
		n++;
	nf_ctr_add(w->ctr, hit ? NF_CTR_CACHE_HITS : NF_CTR_CACHE_MISSES, n);
}

/* Judge group 'g' from the cache (or from nothing), and say what it needs from the store. */
static void fw_group_start(struct fw_worker *w, struct fw_group *g, uint64_t now_us)
{
	struct fw_centry *ce = NULL;

	if (w->cache != NULL)
		ce = flowcache_lookup(w->cache, &g->key, now_us);
	fw_count_lookup(w, g, ce != NULL);
	g->base_exists = ce != NULL;
	if (ce != NULL)
		g->base = ce->conn;
	g->base_cached = ce != NULL && w->store != NULL;
	fw_group_run(w, g);
	if (w->store == NULL)
		g->need = FW_NEED_NONE;		/* local mode: the cache is the truth */
	else if (!g->base_exists || g->bad)
		g->need = FW_NEED_FETCH;	/* unknown, or a drop to confirm */
	else
		g->need = fw_group_changed(g) ? FW_NEED_WRITE : FW_NEED_NONE;
}

/* Count packet 'p''s verdict and set its output port. */
static void fw_verdict_out(struct fw_worker *w, struct fw_pkt *p, uint8_t *out_port)
{
	static const enum nf_ctr reason[] = {
		[FW_V_DROP_POLICY] = NF_CTR_DROP_POLICY,
		[FW_V_DROP_BAD] = NF_CTR_DROP_BAD_STATE,
		[FW_V_DROP_STORE_DOWN] = NF_CTR_DROP_STORE_DOWN,
		[FW_V_DROP_STORE_ERROR] = NF_CTR_DROP_STORE_ERROR,
	};

	switch (p->verdict) {
	case FW_V_DECIDED:
		return;
	case FW_V_ACCEPT:
		*out_port = p->out_port;
		return;
	case FW_V_DROP_STRAY:
		nf_ctr_add(w->ctr, fw_rule_memo(w, p) == FW_RM_DENY_RULE ? NF_CTR_DROP_POLICY
									 : NF_CTR_DROP_NO_CONN, 1);
		break;
	default:
		nf_ctr_add(w->ctr, reason[p->verdict], 1);
		break;
	}
	*out_port = NF_VERDICT_DROP;
}

void fw_process_burst(struct fw_worker *w, uint16_t in_port, struct rte_mbuf **pkts, uint16_t n,
		      uint8_t *out_ports, uint64_t now_us)
{
	w->n_groups = 0;
	memset(w->gslots, -1, sizeof(w->gslots));
	for (uint16_t i = 0; i < n; i++)
		if (fw_classify(w, in_port, pkts[i], &w->pkts[i], &out_ports[i]))
			fw_group_add(w, i);
	for (unsigned g = 0; g < w->n_groups; g++)
		fw_group_start(w, &w->groups[g], now_us);
	if (w->store != NULL)
		fw_store_resolve(w, now_us);
	for (unsigned g = 0; g < w->n_groups; g++)
		fw_cache_store_result(w, &w->groups[g], now_us);
	for (uint16_t i = 0; i < n; i++)
		fw_verdict_out(w, &w->pkts[i], &out_ports[i]);
}
