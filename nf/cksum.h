/* Internet checksums: full computation and incremental update (RFC 1071, RFC 1624). */
#ifndef NF_CKSUM_H
#define NF_CKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Add the 'size' bytes at 'buf' (big-endian 16-bit words, odd byte padded) to 'sum'. */
uint32_t cksum_add(uint32_t sum, const void *buf, size_t size);

/* Fold a 32-bit sum into 16 bits (not complemented). */
uint16_t cksum_fold(uint32_t sum);

/* Full IPv4 header checksum of the header at 'ip' (IHL from the header), in network
 * byte order as it would be stored, computed with the checksum field taken as zero. */
uint16_t cksum_ipv4_header(const void *ip);

/* Full TCP/UDP checksum (network byte order, as stored) of the L4 segment at 'l4'
 * of 'l4_len' bytes carried by the IPv4 header 'ip', with its checksum field taken as
 * zero. For UDP a computed 0 is returned as 0xffff. 'proto' is IPPROTO_TCP or IPPROTO_UDP. */
uint16_t cksum_l4(const void *ip, const void *l4, uint16_t l4_len, uint8_t proto);

/* ICMP checksum (network byte order) of 'len' bytes at 'icmp', checksum field taken as zero. */
uint16_t cksum_icmp(const void *icmp, uint16_t len);

/* Folded pseudo-header sum (not complemented, network byte order): what Linux leaves in
 * the TCP/UDP checksum field of a CHECKSUM_PARTIAL packet (veth TX offload). */
uint16_t cksum_pseudo(const void *ip, uint16_t l4_len, uint8_t proto);

/* RFC 1624 eqn. 3 incremental update of a stored checksum 'csum' (network byte order)
 * when a 16-bit / 32-bit field changes from 'old' to 'new' (both network byte order). */
uint16_t cksum_update16(uint16_t csum, uint16_t old, uint16_t new);
uint16_t cksum_update32(uint16_t csum, uint32_t old, uint32_t new);

#endif
