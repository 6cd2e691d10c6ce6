/* The OpenFlow program of steering: the base flows, and per NF its instance egress flows,
 * its two select groups of ORCH_SLOTS buckets and its uplink flows (layout in steer.h). */
#include <arpa/inet.h>
#include <string.h>

#include "orchestrator/ofp_proto.h"
#include "orchestrator/steer_priv.h"

#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP 0x0806
#define STEER_MAX_UPLINK_FLOWS (1 + 64)	/* inside, and one per owned address */

/* One flow from an uplink into a group. */
struct uplink_flow {
	uint32_t port;
	bool ipv4;		/* match eth_type=IPv4 */
	bool has_dst;		/* match ipv4_dst='dst' */
	uint32_t dst;		/* host order */
	uint32_t group;
};

/* ---- Base flows ---- */

static void flows_base_table_miss(struct steer *s, uint8_t table, bool ipv4_to_controller)
{
	struct ofp_flow_mod fm;
	struct ofp_action *a;

	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.cookie = STEER_COOKIE_BASE;
	fm.table_id = table;
	fm.priority = STEER_PRIO_MISS;
	steer_send_flow(s, &fm);	/* drop */
	if (!ipv4_to_controller)
		return;
	fm.priority = STEER_PRIO_MISS + 1;
	ofp_match_set_uint(&fm.match, OFP_MF_ETH_TYPE, ETH_TYPE_IPV4);
	ofp_actions_output(&fm.instructions.apply, OFPP_CONTROLLER);
	a = &fm.instructions.apply.a[fm.instructions.apply.n - 1];
	a->output.max_len = STEER_MISS_LEN;
	steer_send_flow(s, &fm);
}

void steer_flows_base(struct steer *s)
{
	struct ofp_flow_mod fm;

	flows_base_table_miss(s, STEER_TABLE_CLASSIFY, false);
	flows_base_table_miss(s, STEER_TABLE_DELIVER_IN, true);
	flows_base_table_miss(s, STEER_TABLE_DELIVER_OUT, true);
	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.cookie = STEER_COOKIE_BASE;
	fm.table_id = STEER_TABLE_CLASSIFY;
	fm.priority = STEER_PRIO_ARP;
	ofp_match_set_uint(&fm.match, OFP_MF_ETH_TYPE, ETH_TYPE_ARP);
	ofp_actions_output(&fm.instructions.apply, OFPP_CONTROLLER);	/* whole frame */
	steer_send_flow(s, &fm);
}

/* ---- Instance egress: instance port -> its side's delivery table ---- */

static void flows_egress(struct steer *s, uint64_t cookie, uint32_t port, uint8_t table,
			 uint16_t idle_timeout)
{
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.cookie = cookie;
	fm.table_id = STEER_TABLE_CLASSIFY;
	fm.priority = STEER_PRIO_NF;
	fm.idle_timeout = idle_timeout;
	ofp_match_set_uint(&fm.match, OFP_MF_IN_PORT, port);
	fm.instructions.has_goto = true;
	fm.instructions.goto_table = table;
	steer_send_flow(s, &fm);
}

static void flows_egress_members(struct steer *s, const struct steer_entry *e)
{
	for (unsigned i = 0; i < e->n_members; i++) {
		flows_egress(s, e->nf.cookie, e->members[i].ofport_in, STEER_TABLE_DELIVER_IN, 0);
		flows_egress(s, e->nf.cookie, e->members[i].ofport_out, STEER_TABLE_DELIVER_OUT, 0);
	}
}

static bool flows_is_member_port(const struct steer_entry *e, uint32_t port)
{
	for (unsigned i = 0; i < e->n_members; i++)
		if (e->members[i].ofport_in == port || e->members[i].ofport_out == port)
			return true;
	return false;
}

/* The members of 'old' that left get their egress flows again with an idle timeout: what
 * a draining instance still emits is delivered, and the flows go once it is quiet. */
static void flows_egress_departed(struct steer *s, const struct steer_entry *e,
				  const struct steer_entry *old)
{
	for (unsigned i = 0; i < old->n_members; i++) {
		const struct steer_member *m = &old->members[i];

		if (!flows_is_member_port(e, m->ofport_in))
			flows_egress(s, e->nf.cookie, m->ofport_in, STEER_TABLE_DELIVER_IN,
				     STEER_DRAIN_IDLE_S);
		if (!flows_is_member_port(e, m->ofport_out))
			flows_egress(s, e->nf.cookie, m->ofport_out, STEER_TABLE_DELIVER_OUT,
				     STEER_DRAIN_IDLE_S);
	}
}

/* ---- The two select groups ---- */

static const struct steer_member *flows_slot_member(const struct steer_entry *e, unsigned slot)
{
	for (unsigned i = 0; i < e->n_members; i++)
		if (strcmp(e->members[i].id, e->slots[slot]) == 0)
			return &e->members[i];
	return NULL;
}

/* Bucket i outputs to slot i's instance port on side 'out' (0: inside, 1: outside). An
 * empty slot table gives a group without buckets: it drops. Returns the bucket count. */
static size_t flows_buckets(const struct steer_entry *e, bool out, struct ofp_bucket *buckets)
{
	size_t n = 0;

	for (unsigned i = 0; i < ORCH_SLOTS; i++) {
		const struct steer_member *m = flows_slot_member(e, i);

		if (!m)
			continue;
		ofp_bucket_init(&buckets[n]);
		buckets[n].weight = 1;
		ofp_actions_output(&buckets[n].actions, out ? m->ofport_out : m->ofport_in);
		n++;
	}
	return n;
}

static void flows_group(struct steer *s, struct steer_entry *e, bool out)
{
	struct ofp_bucket buckets[ORCH_SLOTS];
	struct ofp_group_mod gm = { .type = OFPGT_SELECT, .buckets = buckets };

	gm.group_id = e->nf.group_base + (out ? 1 : 0);
	gm.n_buckets = flows_buckets(e, out, buckets);
	if (e->groups != STEER_G_PRESENT) {
		gm.command = OFPGC_ADD;
		steer_send_group(s, &gm);
	}
	if (e->groups != STEER_G_ABSENT) {	/* present, or unknown: the ADD may have failed */
		gm.command = OFPGC_MODIFY;
		steer_send_group(s, &gm);
	}
}

/* ---- Uplinks -> groups ---- */

/* The uplink flows of 'nf' into 'f' (STEER_MAX_UPLINK_FLOWS). Returns how many. */
static unsigned flows_uplinks(const struct steer_nf *nf, struct uplink_flow *f)
{
	unsigned n = 0;

	f[n++] = (struct uplink_flow){ .port = nf->uplink_in, .group = nf->group_base };
	if (nf->n_owned == 0)
		f[n++] = (struct uplink_flow){ .port = nf->uplink_out, .ipv4 = true,
					       .group = nf->group_base + 1 };
	for (unsigned i = 0; i < nf->n_owned && i < 64; i++)
		f[n++] = (struct uplink_flow){ .port = nf->uplink_out, .ipv4 = true, .has_dst = true,
					       .dst = ntohl(nf->owned_ips[i]),
					       .group = nf->group_base + 1 };
	return n;
}

static void flows_uplink_mod(struct steer *s, uint64_t cookie, const struct uplink_flow *f,
			     uint8_t command)
{
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, command);
	fm.cookie = cookie;
	fm.cookie_mask = command == OFPFC_ADD ? 0 : UINT64_MAX;
	fm.table_id = STEER_TABLE_CLASSIFY;
	fm.priority = STEER_PRIO_NF;
	ofp_match_set_uint(&fm.match, OFP_MF_IN_PORT, f->port);
	if (f->ipv4)
		ofp_match_set_uint(&fm.match, OFP_MF_ETH_TYPE, ETH_TYPE_IPV4);
	if (f->has_dst)
		ofp_match_set_uint(&fm.match, OFP_MF_IPV4_DST, f->dst);
	if (command == OFPFC_ADD)
		ofp_actions_group(&fm.instructions.apply, f->group);
	steer_send_flow(s, &fm);
}

/* Same match (the group does not matter: an ADD replaces it). */
static bool flows_uplink_same(const struct uplink_flow *a, const struct uplink_flow *b)
{
	return a->port == b->port && a->ipv4 == b->ipv4 && a->has_dst == b->has_dst &&
	       (!a->has_dst || a->dst == b->dst);
}

static void flows_uplinks_install(struct steer *s, const struct steer_entry *e,
				  const struct steer_entry *old)
{
	struct uplink_flow now[STEER_MAX_UPLINK_FLOWS], before[STEER_MAX_UPLINK_FLOWS];
	unsigned n_now = flows_uplinks(&e->nf, now), n_before = 0, i, j;

	for (i = 0; i < n_now; i++)
		flows_uplink_mod(s, e->nf.cookie, &now[i], OFPFC_ADD);
	if (old && old->uplinks_installed)
		n_before = flows_uplinks(&old->nf, before);
	for (i = 0; i < n_before; i++) {
		for (j = 0; j < n_now && !flows_uplink_same(&before[i], &now[j]); j++)
			;
		if (j == n_now)
			flows_uplink_mod(s, old->nf.cookie, &before[i], OFPFC_DELETE_STRICT);
	}
}

/* ---- One NF ---- */

void steer_flows_nf(struct steer *s, struct steer_entry *e, const struct steer_entry *old)
{
	flows_egress_members(s, e);	/* before traffic can reach a new member */
	flows_group(s, e, false);
	flows_group(s, e, true);
	e->groups = STEER_G_PRESENT;
	flows_uplinks_install(s, e, old);
	e->uplinks_installed = true;
	if (old)
		flows_egress_departed(s, e, old);
}

void steer_flows_nf_delete(struct steer *s, const struct steer_nf *nf)
{
	struct ofp_group_mod gm = { .command = OFPGC_DELETE, .type = OFPGT_SELECT };
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_DELETE);
	fm.table_id = OFPTT_ALL;
	fm.cookie = nf->cookie;
	fm.cookie_mask = UINT64_MAX;
	steer_send_flow(s, &fm);
	gm.group_id = nf->group_base;
	steer_send_group(s, &gm);
	gm.group_id = nf->group_base + 1;
	steer_send_group(s, &gm);
}

/* ---- Learned hosts ---- */

void steer_flows_neigh(struct steer *s, const struct steer_neigh *n)
{
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.cookie = STEER_COOKIE_DELIVERY;
	fm.table_id = n->table;
	fm.priority = STEER_PRIO_NF;
	ofp_match_set_uint(&fm.match, OFP_MF_ETH_TYPE, ETH_TYPE_IPV4);
	ofp_match_set_uint(&fm.match, OFP_MF_IPV4_DST, n->ip);
	ofp_actions_set_eth(&fm.instructions.apply, OFP_MF_ETH_DST, n->mac);
	ofp_actions_output(&fm.instructions.apply, n->port);
	steer_send_flow(s, &fm);
}

void steer_flows_neigh_delete_port(struct steer *s, uint32_t port)
{
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_DELETE);
	fm.cookie = STEER_COOKIE_DELIVERY;
	fm.cookie_mask = UINT64_MAX;
	fm.out_port = port;
	fm.table_id = STEER_TABLE_DELIVER_IN;
	steer_send_flow(s, &fm);
	fm.table_id = STEER_TABLE_DELIVER_OUT;
	steer_send_flow(s, &fm);
}
