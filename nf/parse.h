/* Packet parsing: Ethernet (+ one 802.1Q tag), IPv4 with options, TCP, UDP, ICMP echo. */
#ifndef NF_PARSE_H
#define NF_PARSE_H

#include <stdint.h>
#include "nf/flowkey.h"

/* Outcome of parse_packet(). PARSE_OK and PARSE_NOT_IPV4 are not errors; every other
 * value is a reason to drop the packet and has its own counter (see nf/counters.h). */
enum parse_status {
	PARSE_OK = 0,		/* IPv4 TCP/UDP/ICMP-echo, all lengths checked, 'info' filled */
	PARSE_NOT_IPV4,		/* not IPv4 (ARP, IPv6, ...): l3_off set, nothing else */
	PARSE_ERR_ETH_TRUNC,	/* shorter than an Ethernet (+VLAN) header */
	PARSE_ERR_IP_TRUNC,	/* shorter than a 20-byte IPv4 header */
	PARSE_ERR_IP_VERSION,	/* ethertype IPv4 but version != 4 */
	PARSE_ERR_IP_IHL,	/* IHL < 5 or header longer than the packet */
	PARSE_ERR_IP_LEN,	/* total length < IHL*4 or beyond the frame */
	PARSE_ERR_IP_CSUM,	/* IPv4 header checksum wrong */
	PARSE_ERR_L4_TRUNC,	/* L4 header does not fit in the IP payload */
	PARSE_ERR_TCP_DOFF,	/* TCP data offset < 5 or beyond the IP payload */
	PARSE_ERR_UDP_LEN,	/* UDP length < 8 or beyond the IP payload */
	PARSE_FRAG_LATER,	/* non-first IPv4 fragment (policy: dropped and counted) */
	PARSE_UNSUPPORTED,	/* other IP protocol, or ICMP other than echo request/reply */
	PARSE__COUNT
};

#define PKT_F_VLAN       0x01	/* one 802.1Q tag present */
#define PKT_F_FRAG_FIRST 0x02	/* first fragment of a fragmented datagram (MF=1, offset 0) */
#define PKT_F_IP_OPTS    0x04	/* IPv4 header has options */

/* What the parser learned about one packet. Offsets are from the start of the frame. */
struct pkt_info {
	uint16_t l3_off;	/* IPv4 header */
	uint16_t l4_off;	/* TCP/UDP/ICMP header */
	uint16_t ip_len;	/* IPv4 total length (<= frame length - l3_off) */
	uint16_t l4_len;	/* ip_len - IHL*4: L4 header + payload in this packet */
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP */
	uint8_t flags;		/* PKT_F_* */
	uint8_t tcp_flags;	/* TCP flags byte (0 for other protocols) */
	uint8_t icmp_type;	/* ICMP type (0 = echo reply, 8 = echo request) */
	struct flow_key key;	/* 5-tuple as on the wire */
};

/* Parse the 'size' bytes at 'frame'. Never reads outside [frame, frame + size).
 * Fills 'info' and returns PARSE_OK, PARSE_NOT_IPV4, or the reason the packet is malformed
 * or unsupported. The IPv4 header checksum is verified; L4 checksums are not (see cksum.h). */
enum parse_status parse_packet(const uint8_t *frame, uint32_t size, struct pkt_info *info);

/* Short stable name of a status, e.g. "ip_ihl" (used for counters and logs). */
const char *parse_status_name(enum parse_status s);

#endif
