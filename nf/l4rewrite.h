/* Address and port rewriting of parsed IPv4 packets, checksums updated incrementally. */
#ifndef NF_L4REWRITE_H
#define NF_L4REWRITE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>

#include "nf/parse.h"

/* Rewrite in place the source (l4rewrite_src) or destination (l4rewrite_dst) address and
 * port of the packet at 'frame', which parse_packet() accepted into 'pi', to 'ip' and 'port'
 * (network byte order); for ICMP echo 'port' is the identifier. The old values are those of
 * 'pi->key'. The IPv4 header checksum and the L4 checksum are updated incrementally (RFC
 * 1624), a UDP checksum of 0 (none) stays 0. A TCP/UDP checksum that arrived unfinished
 * (CHECKSUM_PARTIAL from a veth with TX offload: just the pseudo-header sum) is computed in
 * full instead; the return value says so, for the caller's cksum_partial counter. */
bool l4rewrite_src(uint8_t *frame, const struct pkt_info *pi, rte_be32_t ip, rte_be16_t port);
bool l4rewrite_dst(uint8_t *frame, const struct pkt_info *pi, rte_be32_t ip, rte_be16_t port);

#endif
