/* Address and port rewriting with incremental checksum updates (RFC 1624). */
#include <string.h>

#include <netinet/in.h>
#include <rte_ip.h>

#include "nf/cksum.h"
#include "nf/l4rewrite.h"

/* Offset of the checksum in a TCP or UDP header. */
static size_t l4_csum_off(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 16 : 6;
}

/* Whether the TCP/UDP checksum holds only the pseudo-header sum. A first fragment's
 * checksum covers the whole datagram, so it is never taken for one. */
static bool csum_is_partial(const uint8_t *ip, const uint8_t *l4, const struct pkt_info *pi)
{
	uint16_t field;

	if (pi->proto == IPPROTO_ICMP || (pi->flags & PKT_F_FRAG_FIRST))
		return false;
	memcpy(&field, l4 + l4_csum_off(pi->proto), 2);
	return field == cksum_pseudo(ip, pi->l4_len, pi->proto);
}

/* The L4 checksum after the address change 'old_ip' -> 'new_ip' and the port change
 * 'old_port' -> 'new_port' (both already written). */
static void fix_l4_csum(uint8_t *ip, uint8_t *l4, const struct pkt_info *pi, rte_be32_t old_ip,
			rte_be32_t new_ip, rte_be16_t old_port, rte_be16_t new_port, bool partial)
{
	uint16_t *csum;

	if (pi->proto == IPPROTO_ICMP) {
		csum = (uint16_t *)(l4 + 2);	/* no pseudo-header: only the identifier */
		*csum = cksum_update16(*csum, old_port, new_port);
		return;
	}
	csum = (uint16_t *)(l4 + l4_csum_off(pi->proto));
	if (partial) {
		*csum = 0;
		*csum = cksum_l4(ip, l4, pi->l4_len, pi->proto);
		return;
	}
	if (pi->proto == IPPROTO_UDP && *csum == 0)
		return;	/* no checksum */
	*csum = cksum_update32(*csum, old_ip, new_ip);
	*csum = cksum_update16(*csum, old_port, new_port);
	if (pi->proto == IPPROTO_UDP && *csum == 0)
		*csum = 0xffff;
}

static bool rewrite(uint8_t *frame, const struct pkt_info *pi, bool dst, rte_be32_t old_ip,
		    rte_be32_t new_ip, rte_be16_t old_port, rte_be16_t new_port)
{
	uint8_t *ip = frame + pi->l3_off, *l4 = frame + pi->l4_off;
	struct rte_ipv4_hdr *iph = (struct rte_ipv4_hdr *)ip;
	bool partial = csum_is_partial(ip, l4, pi);

	memcpy(dst ? &iph->dst_addr : &iph->src_addr, &new_ip, 4);
	memcpy(l4 + (pi->proto == IPPROTO_ICMP ? 4 : dst ? 2 : 0), &new_port, 2);
	iph->hdr_checksum = cksum_update32(iph->hdr_checksum, old_ip, new_ip);
	fix_l4_csum(ip, l4, pi, old_ip, new_ip, old_port, new_port, partial);
	return partial;
}

bool l4rewrite_src(uint8_t *frame, const struct pkt_info *pi, rte_be32_t ip, rte_be16_t port)
{
	return rewrite(frame, pi, false, pi->key.src_ip, ip, pi->key.src_port, port);
}

bool l4rewrite_dst(uint8_t *frame, const struct pkt_info *pi, rte_be32_t ip, rte_be16_t port)
{
	return rewrite(frame, pi, true, pi->key.dst_ip, ip, pi->key.dst_port, port);
}
