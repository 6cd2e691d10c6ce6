/* The NAT's local mode: the classic stateful NF, every mapping only in this worker's table. */
#include <string.h>

#include "nf/log.h"
#include "nfs/nat/nat_int.h"

/* First free public port for 'p' (its reverse entry absent or expired), 0 when none. */
static rte_be16_t nat_local_port(struct nat_worker *w, const struct nat_pkt *p, rte_be32_t pub,
				 unsigned pub_idx, uint64_t now_us)
{
	const struct nat_config *cfg = &w->nat->cfg;
	uint32_t range = (uint32_t)cfg->port_hi - cfg->port_lo + 1;
	uint32_t probes = range < cfg->max_probes ? range : cfg->max_probes;
	uint32_t *cursor = &w->cursor[p->ck.ep.proto][pub_idx];
	struct nat_ckey ck;

	memset(&ck, 0, sizeof(ck));
	ck.dir = NAT_DIR_IN;
	ck.ep.proto = p->ck.ep.proto;
	ck.ep.ip = pub;
	for (uint32_t i = 0; i < probes; i++) {
		uint16_t port = (uint16_t)(cfg->port_lo + (*cursor)++ % range);

		ck.ep.port = rte_cpu_to_be_16(port);
		if (flowcache_lookup(w->cache, &ck, now_us) == NULL)
			return ck.ep.port;
	}
	return 0;
}

static void nat_local_create(struct nat_worker *w, struct nat_pkt *p, uint64_t now_us)
{
	struct nat_val v = { 0 };
	unsigned idx;

	v.in_ip = p->ck.ep.ip;
	v.in_port = p->ck.ep.port;
	v.proto = p->ck.ep.proto;
	v.pub_ip = nat_pick_public_ip(w->nat, v.in_ip, &idx);
	v.pub_port = nat_local_port(w, p, v.pub_ip, idx, now_us);
	if (v.pub_port == 0) {
		nf_ctr_add(w->ctr, NF_CTR_DROP_PORTS_EXHAUSTED, 1);
		NF_LOG_RL(WARN, "nat", "public ports exhausted: new flow dropped (local mode)");
		return;
	}
	nat_cache_put(w, &v, NAT_DIR_OUT, now_us);
	nat_cache_put(w, &v, NAT_DIR_IN, now_us);
	nf_ctr_add(w->ctr, NF_CTR_FLOWS_CREATED, 1);
	p->val = v;
	p->resolved = true;
}

void nat_local_resolve(struct nat_worker *w, uint16_t n, uint64_t now_us)
{
	for (uint16_t i = 0; i < n; i++) {
		struct nat_pkt *p = &w->pkts[i];
		struct nat_centry *ce;

		if (p->drop || p->resolved)
			continue;
		if (p->dir == NAT_DIR_IN) {
			nf_ctr_add(w->ctr, NF_CTR_DROP_NO_MAPPING, 1);
			continue;
		}
		/* An earlier packet of this burst may have created it. */
		ce = flowcache_lookup(w->cache, &p->ck, now_us);
		if (ce != NULL) {
			p->val = ce->val;
			p->resolved = true;
			continue;
		}
		nat_local_create(w, p, now_us);
	}
}

void nat_local_transition(struct nat_worker *w, struct nat_pkt *p, uint64_t now_us)
{
	bool reopen = p->val.state == NAT_ST_CLOSING && p->next_state == NAT_ST_NEW;

	if (p->next_state <= p->val.state && !reopen)
		return;
	p->val.state = p->next_state;
	nat_cache_update(w, &p->val, now_us);
	nf_ctr_add(w->ctr, NF_CTR_WRITE_THROUGH, 1);
}
