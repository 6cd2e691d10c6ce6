/* Test packet builder: Ethernet/IPv4/TCP/UDP/ICMP frames with correct checksums, and
 * mbufs that wrap a plain buffer so NF fast paths can run without EAL. */
#ifndef TESTS_HARNESS_PKTGEN_H
#define TESTS_HARNESS_PKTGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

struct pkt_spec {
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP */
	const char *src, *dst;	/* dotted quads */
	uint16_t sport, dport;	/* host order; for ICMP sport is the echo identifier */
	uint8_t tcp_flags;	/* default SYN when 0 and proto is TCP */
	uint8_t icmp_type;	/* 8 echo request (default), 0 echo reply */
	uint16_t payload_len;
	uint16_t vlan;		/* 802.1Q VLAN id, 0 = untagged */
	uint8_t ip_opts_len;	/* bytes of IPv4 options (multiple of 4, NOPs) */
	bool partial_csum;	/* leave the L4 checksum as Linux CHECKSUM_PARTIAL does */
	bool udp_no_csum;	/* UDP checksum 0 */
	uint32_t seq, ack;
};

/* Build the frame into 'buf' ('size' bytes). Returns its length, or 0 if it does not fit. */
uint16_t pktgen_build(uint8_t *buf, size_t size, const struct pkt_spec *s);

/* True when the frame's IPv4 header checksum and L4 checksum are both correct. */
bool pktgen_csums_ok(const uint8_t *frame, uint16_t len);

/* A TCP segment from 'src':'sport' to 'dst':'dport' with 'flags' and 10 bytes of payload:
 * the usual test packet. */
struct pkt_spec pktgen_tcp(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			   uint8_t flags);

struct fake_mbuf {
	struct rte_mbuf m;
	uint8_t data[2048];
};

/* Point 'fm->m' at a copy of 'frame' (single segment). No mempool: never free it. */
void fake_mbuf_init(struct fake_mbuf *fm, const uint8_t *frame, uint16_t len);

/* Frame of 'fm' built from 's' in one step. */
void fake_mbuf_build(struct fake_mbuf *fm, const struct pkt_spec *s);

/* The IPv4 header of the untagged frame of 'fm', and the L4 header after it. */
const uint8_t *fake_mbuf_ip(const struct fake_mbuf *fm);
const uint8_t *fake_mbuf_l4(const struct fake_mbuf *fm);

#endif
