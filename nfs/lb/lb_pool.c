/* Pool snapshots: the services, their backends and Maglev tables, and the fast-path lookups. */
#include <stdlib.h>
#include <string.h>

#include "nf/log.h"
#include "nfs/lb/lb_int.h"

static uint32_t lb_slot_hash(uint64_t k)
{
	k ^= k >> 31;
	k *= 0x7fb5d329728ea185ull;
	k ^= k >> 27;
	return (uint32_t)k & (LB_VIP_SLOTS - 1);
}

static uint64_t lb_svc_hkey(rte_be32_t vip, rte_be16_t port, uint8_t proto)
{
	return (uint64_t)vip << 24 | (uint64_t)port << 8 | proto;
}

/* Open addressing: 'slots' hold an index + 1; the table is at least 4x larger than the
 * number of services, so probes are short and an empty slot always exists. */
static void lb_slot_add(uint8_t *slots, uint64_t k, unsigned idx, const struct lb_pool *p,
			bool by_vip)
{
	uint32_t i = lb_slot_hash(k);

	while (slots[i] != 0) {
		const struct lb_service *s = &p->services[slots[i] - 1];

		if (by_vip && s->vip == p->services[idx].vip)
			return;	/* the address is there already */
		i = (i + 1) & (LB_VIP_SLOTS - 1);
	}
	slots[i] = (uint8_t)(idx + 1);
}

/* The Maglev table of service 's' over its active backends. 0 or -ENOMEM. */
static int lb_service_table(struct lb_pool *p, struct lb_service *s)
{
	struct lb_maglev_backend mb[LB_MAX_BACKENDS];
	uint16_t rel[LB_MAX_BACKENDS];
	unsigned n = 0;

	for (uint16_t j = 0; j < s->n_backends; j++) {
		const struct lb_backend *b = &p->backends[s->first + j];

		if (b->state != LB_BACKEND_ACTIVE)
			continue;
		mb[n] = (struct lb_maglev_backend){ .ip = b->ip, .port = b->port, .weight = b->weight };
		rel[n++] = j;
	}
	s->n_active = (uint16_t)n;
	if (n == 0)
		return 0;
	s->table = malloc(LB_MAGLEV_SIZE * sizeof(*s->table));
	if (s->table == NULL || lb_maglev_build(mb, n, s->table, LB_MAGLEV_SIZE) != 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < LB_MAGLEV_SIZE; i++)
		s->table[i] = rel[s->table[i]];	/* index among the service's backends */
	return 0;
}

static void lb_pool_copy(struct lb_pool *p, const struct lb_config *cfg)
{
	p->n_services = cfg->n_services;
	p->n_backends = cfg->n_backends;
	for (unsigned i = 0; i < cfg->n_backends; i++) {
		const struct lb_backend_cfg *b = &cfg->backends[i];

		p->backends[i] = (struct lb_backend){ .ip = b->ip, .port = b->port,
						      .weight = b->weight, .state = b->state };
	}
	for (unsigned i = 0; i < cfg->n_services; i++) {
		const struct lb_service_cfg *s = &cfg->services[i];

		p->services[i] = (struct lb_service){ .vip = s->vip, .port = s->port, .proto = s->proto,
						      .first = s->first, .n_backends = s->n_backends };
	}
}

/* 'cfg' must be valid (lb_config_validate). The caller frees the result (lb_pool_free). */
struct lb_pool *lb_pool_build(const struct lb_config *cfg, uint64_t version)
{
	struct lb_pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->version = version;
	lb_pool_copy(p, cfg);
	for (unsigned i = 0; i < p->n_services; i++) {
		struct lb_service *s = &p->services[i];

		if (lb_service_table(p, s) != 0)
			goto err;
		lb_slot_add(p->svc_slots, lb_svc_hkey(s->vip, s->port, s->proto), i, p, false);
		lb_slot_add(p->vip_slots, s->vip, i, p, true);
	}
	return p;
err:
	lb_pool_free(p);
	return NULL;
}

void lb_pool_free(struct lb_pool *p)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; i < p->n_services; i++)
		free(p->services[i].table);
	free(p);
}

const struct lb_service *lb_pool_find(const struct lb_pool *p, rte_be32_t vip, rte_be16_t port,
				      uint8_t proto)
{
	uint32_t i = lb_slot_hash(lb_svc_hkey(vip, port, proto));

	while (p->svc_slots[i] != 0) {
		const struct lb_service *s = &p->services[p->svc_slots[i] - 1];

		if (s->vip == vip && s->port == port && s->proto == proto)
			return s;
		i = (i + 1) & (LB_VIP_SLOTS - 1);
	}
	return NULL;
}

bool lb_pool_is_vip(const struct lb_pool *p, rte_be32_t ip)
{
	uint32_t i = lb_slot_hash(ip);

	while (p->vip_slots[i] != 0) {
		if (p->services[p->vip_slots[i] - 1].vip == ip)
			return true;
		i = (i + 1) & (LB_VIP_SLOTS - 1);
	}
	return false;
}

const struct lb_backend *lb_pool_choose(const struct lb_pool *p, const struct lb_service *s,
					const struct lb_ckey *ck)
{
	uint64_t h;

	if (s->table == NULL)
		return NULL;
	h = lb_maglev_flow_hash(ck->src_ip, ck->src_port, ck->dst_ip, ck->dst_port, ck->proto);
	return &p->backends[s->first + s->table[h % LB_MAGLEV_SIZE]];
}
