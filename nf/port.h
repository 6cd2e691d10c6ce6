/* Ethernet port setup and teardown for the NF runtime: mempools, queues, RSS (control path). */
#ifndef NF_PORT_H
#define NF_PORT_H

#include <stddef.h>
#include <stdint.h>

#include <rte_mempool.h>

/* One packet mempool per NUMA socket that has a port. */
struct port_pools {
	struct rte_mempool *by_socket[RTE_MAX_NUMA_NODES];
};

/* The socket of 'port_id' (the main lcore's socket when the device does not say). */
unsigned port_socket(uint16_t port_id);

/* Name of 'port_id' ("net_pcap0") into 'buf'; returns 'buf'. */
const char *port_name(uint16_t port_id, char *buf, size_t size);

/* Create the pools for 'n_ports' ports, 'n_mbufs' mbufs per port (plus room for the
 * per-lcore caches). Returns 0, or a negative errno with a reason in 'err'. The caller
 * frees them with port_pools_free() after the ports are closed. */
int port_pools_create(struct port_pools *pp, const uint16_t *ports, unsigned n_ports,
		      unsigned n_mbufs, char *err, size_t errsz);
void port_pools_free(struct port_pools *pp);

/* The pool the rx queues of 'port_id' take their mbufs from. */
struct rte_mempool *port_pool_of(const struct port_pools *pp, uint16_t port_id);

/* Configure 'port_id' with 'n_queues' rx and tx queues (queue i belongs to worker i), RSS
 * on IP/TCP/UDP when n_queues > 1 and the device has it, promiscuous mode, and start it.
 * Returns 0; -EINVAL when the device cannot have 'n_queues' queues (a configuration
 * problem); another negative errno when the device fails. A reason goes into 'err'. */
int port_init(uint16_t port_id, struct rte_mempool *mp, uint16_t n_queues, char *err,
	      size_t errsz);

/* Stop and close every ethdev port (closing flushes e.g. net_pcap's tx file). */
void port_stop_all(void);

#endif
