/* Maglev consistent hashing (Eisenbud et al., NSDI 2016): the lookup table and the hashes. */
#ifndef NFS_LB_MAGLEV_H
#define NFS_LB_MAGLEV_H

#include <stdint.h>

#include <rte_byteorder.h>

#define LB_MAGLEV_SIZE 65537u	/* prime: every skip in 1..SIZE-1 visits every slot */

/* One backend as the table sees it: its identity (which fixes its permutation) and weight. */
struct lb_maglev_backend {
	rte_be32_t ip;
	rte_be16_t port;
	uint16_t weight;	/* >= 1 */
};

/* Fill 'table' ('size' entries, 'size' prime) with indexes into 'b' ('n' backends, 1 <= n
 * <= 65535). Each backend walks its own permutation (offset, skip) of the slots; backends
 * take turns in the order of their (address, port), each turn claiming its next free slot,
 * and a backend of weight w gets w/max_weight turns per round. The result depends only on
 * the set of backends, not on their order in 'b', so instances agree without talking.
 * Returns 0, -EINVAL for bad arguments, or -ENOMEM. Control path (it allocates). */
int lb_maglev_build(const struct lb_maglev_backend *b, unsigned n, uint16_t *table,
		    uint32_t size);

/* The permutation of a backend: first slot and step (step in 1..size-1). */
void lb_maglev_perm(rte_be32_t ip, rte_be16_t port, uint32_t size, uint32_t *offset,
		    uint32_t *skip);

/* Hash of a connection (client address and port, VIP and port, protocol), the same on
 * every instance and machine: table[hash % size] is its backend. */
uint64_t lb_maglev_flow_hash(rte_be32_t client_ip, rte_be16_t client_port, rte_be32_t vip,
			     rte_be16_t vport, uint8_t proto);

#endif
