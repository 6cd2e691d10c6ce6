/* Packet parsing: Ethernet (+ one 802.1Q tag), IPv4 with options, TCP, UDP, ICMP echo. */
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "nf/cksum.h"
#include "nf/parse.h"

/* Every header is read through memcpy or byte access: frames may start at any
 * alignment. Each read is preceded by a check that the bytes lie inside the frame. */

#define ETH_HLEN   ((uint32_t)sizeof(struct rte_ether_hdr))
#define VLAN_HLEN  ((uint32_t)sizeof(struct rte_vlan_hdr))
#define IPV4_HLEN  ((uint32_t)sizeof(struct rte_ipv4_hdr))
#define TCP_HLEN   ((uint32_t)sizeof(struct rte_tcp_hdr))
#define UDP_HLEN   ((uint32_t)sizeof(struct rte_udp_hdr))
#define ICMP_HLEN  ((uint32_t)sizeof(struct rte_icmp_hdr))

#define IP_MF      0x2000	/* more-fragments flag, host order */
#define IP_OFFMASK 0x1fff	/* fragment offset in 8-byte units, host order */

static const char *const status_names[PARSE__COUNT] = {
	[PARSE_OK] = "ok",
	[PARSE_NOT_IPV4] = "not_ipv4",
	[PARSE_ERR_ETH_TRUNC] = "eth_trunc",
	[PARSE_ERR_IP_TRUNC] = "ip_trunc",
	[PARSE_ERR_IP_VERSION] = "ip_version",
	[PARSE_ERR_IP_IHL] = "ip_ihl",
	[PARSE_ERR_IP_LEN] = "ip_len",
	[PARSE_ERR_IP_CSUM] = "ip_csum",
	[PARSE_ERR_L4_TRUNC] = "l4_trunc",
	[PARSE_ERR_TCP_DOFF] = "tcp_doff",
	[PARSE_ERR_UDP_LEN] = "udp_len",
	[PARSE_FRAG_LATER] = "frag_later",
	[PARSE_UNSUPPORTED] = "unsupported",
};

const char *parse_status_name(enum parse_status s)
{
	if ((unsigned)s >= PARSE__COUNT)
		return "unknown";
	return status_names[s];
}

/* The 16-bit field at 'p', in network byte order as stored. */
static inline rte_be16_t rd_be16(const uint8_t *p)
{
	rte_be16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The 16-bit big-endian field at 'p', in host order. */
static inline uint16_t rd_u16(const uint8_t *p)
{
	return rte_be_to_cpu_16(rd_be16(p));
}

/* Find the L3 header: sets 'info->l3_off' and PKT_F_VLAN. Returns PARSE_OK for IPv4. */
static enum parse_status parse_eth(const uint8_t *frame, uint32_t size, struct pkt_info *info)
{
	uint32_t off = offsetof(struct rte_ether_hdr, ether_type);
	uint16_t type;

	if (size < ETH_HLEN)
		return PARSE_ERR_ETH_TRUNC;
	type = rd_u16(frame + off);
	if (type == RTE_ETHER_TYPE_VLAN) {
		if (size < ETH_HLEN + VLAN_HLEN)
			return PARSE_ERR_ETH_TRUNC;
		info->flags |= PKT_F_VLAN;
		type = rd_u16(frame + off + VLAN_HLEN);
	}
	info->l3_off = ETH_HLEN + ((info->flags & PKT_F_VLAN) ? VLAN_HLEN : 0);
	return type == RTE_ETHER_TYPE_IPV4 ? PARSE_OK : PARSE_NOT_IPV4;
}

/* Check the IPv4 header at 'ip' with 'avail' bytes after it in the frame. Fills the
 * IP-level fields of 'info' (and does so for later fragments too, before saying so). */
static enum parse_status parse_ipv4(const uint8_t *ip, uint32_t avail, struct pkt_info *info)
{
	uint32_t hlen, tot;
	uint16_t frag;

	if (avail < IPV4_HLEN)
		return PARSE_ERR_IP_TRUNC;
	if ((ip[0] >> 4) != 4)
		return PARSE_ERR_IP_VERSION;
	hlen = (uint32_t)(ip[0] & 0x0f) * 4;
	if (hlen < IPV4_HLEN || hlen > avail)
		return PARSE_ERR_IP_IHL;
	tot = rd_u16(ip + offsetof(struct rte_ipv4_hdr, total_length));
	if (tot < hlen || tot > avail)
		return PARSE_ERR_IP_LEN;
	if (cksum_fold(cksum_add(0, ip, hlen)) != 0xffff)
		return PARSE_ERR_IP_CSUM;

	info->l4_off = info->l3_off + hlen;
	info->ip_len = tot;
	info->l4_len = tot - hlen;
	info->proto = ip[offsetof(struct rte_ipv4_hdr, next_proto_id)];
	info->key.proto = info->proto;
	memcpy(&info->key.src_ip, ip + offsetof(struct rte_ipv4_hdr, src_addr), 4);
	memcpy(&info->key.dst_ip, ip + offsetof(struct rte_ipv4_hdr, dst_addr), 4);
	if (hlen > IPV4_HLEN)
		info->flags |= PKT_F_IP_OPTS;

	frag = rd_u16(ip + offsetof(struct rte_ipv4_hdr, fragment_offset));
	if (frag & IP_OFFMASK)
		return PARSE_FRAG_LATER;
	if (frag & IP_MF)
		info->flags |= PKT_F_FRAG_FIRST;
	return PARSE_OK;
}

/* Copy the two ports at 'l4' (TCP and UDP both start with them) into the key. */
static void key_ports(const uint8_t *l4, struct pkt_info *info)
{
	info->key.src_port = rd_be16(l4);
	info->key.dst_port = rd_be16(l4 + 2);
}

static enum parse_status parse_tcp(const uint8_t *l4, struct pkt_info *info)
{
	uint32_t doff;

	if (info->l4_len < TCP_HLEN)
		return PARSE_ERR_L4_TRUNC;
	doff = (uint32_t)(l4[offsetof(struct rte_tcp_hdr, data_off)] >> 4) * 4;
	if (doff < TCP_HLEN || doff > info->l4_len)
		return PARSE_ERR_TCP_DOFF;
	info->tcp_flags = l4[offsetof(struct rte_tcp_hdr, tcp_flags)];
	key_ports(l4, info);
	return PARSE_OK;
}

/* A first fragment carries only part of the datagram, so its UDP length may exceed
 * the IP payload it has. */
static enum parse_status parse_udp(const uint8_t *l4, struct pkt_info *info)
{
	uint32_t ulen;

	if (info->l4_len < UDP_HLEN)
		return PARSE_ERR_L4_TRUNC;
	ulen = rd_u16(l4 + offsetof(struct rte_udp_hdr, dgram_len));
	if (ulen < UDP_HLEN)
		return PARSE_ERR_UDP_LEN;
	if (ulen > info->l4_len && !(info->flags & PKT_F_FRAG_FIRST))
		return PARSE_ERR_UDP_LEN;
	key_ports(l4, info);
	return PARSE_OK;
}

/* Only echo request and reply are flows; both ports hold the echo identifier. */
static enum parse_status parse_icmp(const uint8_t *l4, struct pkt_info *info)
{
	uint8_t type;

	if (info->l4_len < ICMP_HLEN)
		return PARSE_ERR_L4_TRUNC;
	type = l4[offsetof(struct rte_icmp_hdr, icmp_type)];
	info->icmp_type = type;
	if (type != RTE_IP_ICMP_ECHO_REQUEST && type != RTE_IP_ICMP_ECHO_REPLY)
		return PARSE_UNSUPPORTED;
	info->key.src_port = rd_be16(l4 + offsetof(struct rte_icmp_hdr, icmp_ident));
	info->key.dst_port = info->key.src_port;
	return PARSE_OK;
}

/* Dispatch on the IP protocol; 'l4' has 'info->l4_len' bytes inside the frame. */
static enum parse_status parse_l4(const uint8_t *l4, struct pkt_info *info)
{
	switch (info->proto) {
	case IPPROTO_TCP:
		return parse_tcp(l4, info);
	case IPPROTO_UDP:
		return parse_udp(l4, info);
	case IPPROTO_ICMP:
		return parse_icmp(l4, info);
	default:
		return PARSE_UNSUPPORTED;
	}
}

enum parse_status parse_packet(const uint8_t *frame, uint32_t size, struct pkt_info *info)
{
	enum parse_status st;

	memset(info, 0, sizeof(*info));
	st = parse_eth(frame, size, info);
	if (st != PARSE_OK)
		return st;
	st = parse_ipv4(frame + info->l3_off, size - info->l3_off, info);
	if (st != PARSE_OK)
		return st;
	return parse_l4(frame + info->l4_off, info);
}
