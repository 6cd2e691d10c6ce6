/* Typed, fixed-size flow keys: hashed directly and stored in Redis as raw bytes. */
#ifndef NF_FLOWKEY_H
#define NF_FLOWKEY_H

#include <stdint.h>
#include <rte_byteorder.h>

/* A 5-tuple in network byte order, exactly as it appears on the wire.
 * For ICMP echo request/reply both ports hold the echo identifier. */
struct flow_key {
	rte_be32_t src_ip;
	rte_be32_t dst_ip;
	rte_be16_t src_port;
	rte_be16_t dst_port;
	uint8_t proto;
	uint8_t pad[3];		/* always zero, so the key can be hashed and compared as bytes */
} __attribute__((packed));
_Static_assert(sizeof(struct flow_key) == 16, "flow_key must be 16 bytes");

/* One transport endpoint (address, port, protocol): what an endpoint-independent NAT maps. */
struct ep_key {
	uint8_t proto;
	uint8_t pad;		/* always zero */
	rte_be16_t port;
	rte_be32_t ip;
} __attribute__((packed));
_Static_assert(sizeof(struct ep_key) == 8, "ep_key must be 8 bytes");

#endif
