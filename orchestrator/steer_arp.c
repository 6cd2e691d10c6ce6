/* The controller's side of steering's L2: packet-ins of ARP frames (learn the sender,
 * answer for owned addresses, pass the rest to the other uplink) and of delivery misses
 * (ask for the destination with an ARP request out of that side, drop the frame).
 *
 * Learned hosts live in 's->neighs', one entry per (IPv4 address, side), for as long as
 * the steer: a host that moves is updated by its next ARP frame. Each entry is mirrored by
 * a delivery flow (STEER_COOKIE_DELIVERY) that steer_arp_resync() reinstalls. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nf/clock.h"
#include "nf/log.h"
#include "orchestrator/ofp_proto.h"
#include "orchestrator/steer_priv.h"

#define ETH_HLEN 14
#define ARP_LEN 28
#define ARP_FRAME_LEN 60	/* minimum Ethernet frame, padded */
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

const uint8_t steer_vmac[6] = { 0x02, 0x00, 0x5e, 0x57, 0xee, 0x01 };
static const uint8_t mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_zero[6];

/* An Ethernet/IPv4 ARP frame, addresses in host order. */
struct arp_frame {
	uint8_t eth_dst[6], eth_src[6];
	uint16_t op;
	uint8_t sha[6], tha[6];
	uint32_t spa, tpa;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v & 0xffff);
}

/* ---- Frames ---- */

/* Parse an untagged Ethernet ARP frame for IPv4. 0 or -EINVAL. */
static int arp_parse(const uint8_t *f, size_t size, struct arp_frame *a)
{
	const uint8_t *p = f + ETH_HLEN;

	if (size < ETH_HLEN + ARP_LEN || rd16(f + 12) != 0x0806 || rd16(p) != 1 ||
	    rd16(p + 2) != 0x0800 || p[4] != 6 || p[5] != 4)
		return -EINVAL;
	memcpy(a->eth_dst, f, 6);
	memcpy(a->eth_src, f + 6, 6);
	a->op = rd16(p + 6);
	memcpy(a->sha, p + 8, 6);
	a->spa = rd32(p + 14);
	memcpy(a->tha, p + 18, 6);
	a->tpa = rd32(p + 24);
	return 0;
}

/* Write 'a' as a 60-byte frame into 'f' (eth_src is the sender hardware address). */
static void arp_build(const struct arp_frame *a, uint8_t f[ARP_FRAME_LEN])
{
	uint8_t *p = f + ETH_HLEN;

	memset(f, 0, ARP_FRAME_LEN);
	memcpy(f, a->eth_dst, 6);
	memcpy(f + 6, a->sha, 6);
	wr16(f + 12, 0x0806);
	wr16(p, 1);
	wr16(p + 2, 0x0800);
	p[4] = 6;
	p[5] = 4;
	wr16(p + 6, a->op);
	memcpy(p + 8, a->sha, 6);
	wr32(p + 14, a->spa);
	memcpy(p + 18, a->tha, 6);
	wr32(p + 24, a->tpa);
}

/* Source and destination of an untagged IPv4 frame. 0 or -EINVAL. */
static int arp_ipv4_addrs(const uint8_t *f, size_t size, uint32_t *src, uint32_t *dst)
{
	if (size < ETH_HLEN + 20 || rd16(f + 12) != 0x0800 || (f[ETH_HLEN] >> 4) != 4)
		return -EINVAL;
	*src = rd32(f + ETH_HLEN + 12);
	*dst = rd32(f + ETH_HLEN + 16);
	return 0;
}

/* ---- Learned hosts ---- */

static struct steer_neigh *arp_neigh_find(struct steer *s, uint32_t ip, uint8_t table)
{
	for (size_t i = 0; i < s->n_neighs; i++)
		if (s->neighs[i].ip == ip && s->neighs[i].table == table)
			return &s->neighs[i];
	return NULL;
}

static struct steer_neigh *arp_neigh_add(struct steer *s)
{
	struct steer_neigh *n;
	size_t cap;

	if (s->n_neighs == s->cap_neighs) {
		if (s->cap_neighs >= STEER_MAX_NEIGH)
			return NULL;
		cap = s->cap_neighs ? s->cap_neighs * 2 : 32;
		n = realloc(s->neighs, cap * sizeof(*n));
		if (!n)
			return NULL;
		s->neighs = n;
		s->cap_neighs = cap;
	}
	return &s->neighs[s->n_neighs++];
}

/* Learn that 'ip' is at 'mac' behind uplink 'port' of side 'table'; install its delivery
 * flow when that is news. */
static void arp_learn(struct steer *s, uint32_t ip, const uint8_t mac[6], uint8_t table,
		      uint32_t port)
{
	struct steer_neigh *n = arp_neigh_find(s, ip, table);

	if (n && n->port == port && memcmp(n->mac, mac, 6) == 0)
		return;
	if (!n && !(n = arp_neigh_add(s))) {
		NF_LOG_RL(WARN, STEER_LOG, "learned-host table full: %u.%u.%u.%u not learned",
			  ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
		return;
	}
	*n = (struct steer_neigh){ .ip = ip, .table = table, .port = port };
	memcpy(n->mac, mac, 6);
	s->stats.n_arp_learned++;
	steer_flows_neigh(s, n);
}

void steer_arp_resync(struct steer *s)
{
	for (size_t i = 0; i < s->n_neighs; i++)
		steer_flows_neigh(s, &s->neighs[i]);
}

void steer_arp_forget_port(struct steer *s, uint32_t port)
{
	size_t i = 0, n0 = s->n_neighs;

	while (i < s->n_neighs) {
		if (s->neighs[i].port == port)
			s->neighs[i] = s->neighs[--s->n_neighs];
		else
			i++;
	}
	if (s->n_neighs != n0)
		steer_flows_neigh_delete_port(s, port);
}

/* ---- ARP from the uplinks ---- */

/* True when 'ip' is an owned address of an NF with an uplink 'port'. */
static bool arp_is_owned(const struct steer *s, uint32_t port, uint32_t ip)
{
	for (size_t i = 0; i < s->n_entries; i++) {
		const struct steer_nf *nf = &s->entries[i].nf;

		if (nf->uplink_in != port && nf->uplink_out != port)
			continue;
		for (unsigned j = 0; j < nf->n_owned && j < 64; j++)
			if (nf->owned_ips[j] == htonl(ip))
				return true;
	}
	return false;
}

static void arp_reply(struct steer *s, const struct arp_frame *req, uint32_t port)
{
	struct arp_frame rep = { .op = ARP_OP_REPLY, .spa = req->tpa, .tpa = req->spa };
	uint8_t f[ARP_FRAME_LEN];

	memcpy(rep.eth_dst, req->sha, 6);
	memcpy(rep.sha, steer_vmac, 6);
	memcpy(rep.tha, req->sha, 6);
	arp_build(&rep, f);
	if (steer_send_packet(s, port, f, sizeof(f)) == 0)
		s->stats.n_arp_replied++;
}

static bool arp_mac_is_unicast(const uint8_t mac[6])
{
	return !(mac[0] & 1) && memcmp(mac, mac_zero, 6) != 0;
}

static void arp_from_uplink(struct steer *s, uint32_t in_port, const uint8_t *data, size_t size)
{
	const struct steer_entry *e;
	struct arp_frame a;
	uint8_t table;

	if (arp_parse(data, size, &a) < 0 || !(e = steer_entry_by_uplink(s, in_port, &table)))
		return;
	if (a.spa != 0 && arp_mac_is_unicast(a.sha) && memcmp(a.sha, steer_vmac, 6) != 0)
		arp_learn(s, a.spa, a.sha, table, in_port);
	if (a.op == ARP_OP_REQUEST && a.spa != a.tpa && arp_is_owned(s, in_port, a.tpa)) {
		arp_reply(s, &a, in_port);
		return;
	}
	if (a.op == ARP_OP_REPLY && memcmp(a.eth_dst, steer_vmac, 6) == 0)
		return;		/* the answer to one of our own requests */
	if (steer_send_packet(s, table == STEER_TABLE_DELIVER_IN ? e->nf.uplink_out : e->nf.uplink_in,
			      data, size) == 0)
		s->stats.n_arp_forwarded++;
}

/* ---- Delivery misses ---- */

/* True (and noted) when no request for ('ip', 'table') went out recently. */
static bool arp_resolve_due(struct steer *s, uint32_t ip, uint8_t table)
{
	uint64_t now = nf_now_us();

	for (unsigned i = 0; i < STEER_RESOLVE_RING; i++) {
		const struct steer_resolve *r = &s->resolves[i];

		if (r->ip == ip && r->table == table && r->at_us && now - r->at_us < STEER_RESOLVE_GAP_US)
			return false;
	}
	s->resolves[s->next_resolve] = (struct steer_resolve){ ip, table, now };
	s->next_resolve = (s->next_resolve + 1) % STEER_RESOLVE_RING;
	return true;
}

static void arp_request(struct steer *s, uint32_t port, uint32_t spa, uint32_t tpa)
{
	struct arp_frame req = { .op = ARP_OP_REQUEST, .spa = spa, .tpa = tpa };
	uint8_t f[ARP_FRAME_LEN];

	memcpy(req.eth_dst, mac_bcast, 6);
	memcpy(req.sha, steer_vmac, 6);
	arp_build(&req, f);
	if (steer_send_packet(s, port, f, sizeof(f)) == 0)
		s->stats.n_arp_requests++;
}

/* A frame from instance port 'in_port' found no learned host in delivery table 'table':
 * ask for its destination out of that side's uplink (every NF's of that side when the
 * port belongs to no member any more) and drop the frame. */
static void arp_resolve_miss(struct steer *s, uint32_t in_port, uint8_t table, const uint8_t *data,
			     size_t size)
{
	const struct steer_neigh *n;
	const struct steer_entry *e;
	uint32_t src, dst;

	if (arp_ipv4_addrs(data, size, &src, &dst) < 0 || !arp_resolve_due(s, dst, table))
		return;
	n = arp_neigh_find(s, dst, table);
	if (n)		/* known, but the switch lost its flow: put it back, and ask anyway */
		steer_flows_neigh(s, n);
	e = steer_entry_by_instance(s, in_port, table);
	if (e) {
		arp_request(s, table == STEER_TABLE_DELIVER_IN ? e->nf.uplink_in : e->nf.uplink_out,
			    src, dst);
		return;
	}
	for (size_t i = 0; i < s->n_entries; i++) {
		const struct steer_nf *nf = &s->entries[i].nf;

		arp_request(s, table == STEER_TABLE_DELIVER_IN ? nf->uplink_in : nf->uplink_out, src,
			    dst);
	}
}

void steer_arp_packet_in(struct steer *s, const struct ofp_packet_in *pin)
{
	uint32_t in_port;

	if (!ofp_match_has(&pin->match, OFP_MF_IN_PORT))
		return;
	in_port = pin->match.values[OFP_MF_IN_PORT].u32;
	if (pin->table_id == STEER_TABLE_CLASSIFY)
		arp_from_uplink(s, in_port, pin->data, pin->data_size);
	else if (pin->table_id == STEER_TABLE_DELIVER_IN || pin->table_id == STEER_TABLE_DELIVER_OUT)
		arp_resolve_miss(s, in_port, pin->table_id, pin->data, pin->data_size);
}
