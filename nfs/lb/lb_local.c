/* The load balancer's local mode: the classic stateful NF, every connection only in this
 * worker's table (lost with the process; no per-backend counters in the store). */
#include <string.h>

#include "nfs/lb/lb_int.h"

/* Create the connection of IN packet 'p' in the table, both directions. */
static void lb_local_create(struct lb_worker *w, struct lb_pkt *p, uint64_t now_us)
{
	const struct lb_backend *b = lb_pool_choose(w->pool, p->svc, &p->ck);
	struct lb_centry *other;
	struct lb_ckey rck;
	struct lb_conn c;

	if (b == NULL) {
		nf_ctr_add(w->ctr, NF_CTR_DROP_NO_BACKEND, 1);
		return;
	}
	lb_conn_make(&p->ck, b, &c);
	lb_conn_ckey(&c, LB_DIR_OUT, &rck);
	other = flowcache_lookup(w->cache, &rck, now_us);
	if (other != NULL && memcmp(&other->conn, &c, sizeof(c)) != 0) {
		nf_ctr_add(w->ctr, NF_CTR_DROP_NO_BACKEND, 1);
		lb_log_conflict(&c);
		return;
	}
	lb_cache_put(w, &c, LB_DIR_OUT, now_us);
	lb_cache_put(w, &c, LB_DIR_IN, now_us);
	nf_ctr_add(w->ctr, NF_CTR_FLOWS_CREATED, 1);
	p->conn = c;
	p->resolved = true;
}

void lb_local_resolve(struct lb_worker *w, uint16_t n, uint64_t now_us)
{
	for (uint16_t i = 0; i < n; i++) {
		struct lb_pkt *p = &w->pkts[i];
		struct lb_centry *ce;

		if (p->done || p->resolved)
			continue;
		/* An earlier packet of this burst may have created it. */
		ce = flowcache_lookup(w->cache, &p->ck, now_us);
		if (ce != NULL) {
			p->conn = ce->conn;
			p->resolved = true;
		} else if (p->ck.dir == LB_DIR_IN) {
			lb_local_create(w, p, now_us);
		} else {
			nf_ctr_add(w->ctr, NF_CTR_DROP_NO_MAPPING, 1);
		}
	}
}
