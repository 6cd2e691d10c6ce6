/* Ethernet port setup and teardown for the NF runtime: mempools, queues, RSS (control path). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "nf/log.h"
#include "nf/port.h"

#define PORT_MEMPOOL_CACHE 256
#define PORT_RING_SIZE 1024	/* rx and tx descriptors per queue, before adjusting */
#define PORT_RSS_HF (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP)

unsigned port_socket(uint16_t port_id)
{
	int s = rte_eth_dev_socket_id(port_id);

	return s < 0 || s >= RTE_MAX_NUMA_NODES ? rte_socket_id() : (unsigned)s;
}

const char *port_name(uint16_t port_id, char *buf, size_t size)
{
	char name[RTE_ETH_NAME_MAX_LEN];

	if (rte_eth_dev_get_name_by_port(port_id, name) != 0)
		snprintf(name, sizeof(name), "port%u", port_id);
	snprintf(buf, size, "%s", name);
	return buf;
}

static struct rte_mempool *pool_create(unsigned socket, unsigned n_mbufs)
{
	char name[RTE_MEMPOOL_NAMESIZE];

	snprintf(name, sizeof(name), "nf_mbufs_%u", socket);
	return rte_pktmbuf_pool_create(name, n_mbufs, PORT_MEMPOOL_CACHE, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, (int)socket);
}

int port_pools_create(struct port_pools *pp, const uint16_t *ports, unsigned n_ports,
		      unsigned n_mbufs, char *err, size_t errsz)
{
	unsigned per_socket[RTE_MAX_NUMA_NODES] = { 0 };
	unsigned cache_room = rte_lcore_count() * PORT_MEMPOOL_CACHE;

	memset(pp, 0, sizeof(*pp));
	for (unsigned i = 0; i < n_ports; i++)
		per_socket[port_socket(ports[i])] += n_mbufs;
	for (unsigned s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		if (per_socket[s] == 0)
			continue;
		pp->by_socket[s] = pool_create(s, per_socket[s] + cache_room);
		if (pp->by_socket[s] == NULL) {
			snprintf(err, errsz, "cannot create a pool of %u mbufs on socket %u: %s",
				 per_socket[s] + cache_room, s, rte_strerror(rte_errno));
			port_pools_free(pp);
			return -ENOMEM;
		}
	}
	return 0;
}

void port_pools_free(struct port_pools *pp)
{
	for (unsigned s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		rte_mempool_free(pp->by_socket[s]);
		pp->by_socket[s] = NULL;
	}
}

struct rte_mempool *port_pool_of(const struct port_pools *pp, uint16_t port_id)
{
	return pp->by_socket[port_socket(port_id)];
}

/* The device must have one rx and one tx queue per worker. */
static int port_check_queues(uint16_t port_id, const struct rte_eth_dev_info *info,
			     uint16_t n_queues, char *err, size_t errsz)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	uint16_t max = RTE_MIN(info->max_rx_queues, info->max_tx_queues);
	const char *dir = info->max_rx_queues <= info->max_tx_queues ? "rx" : "tx";

	if (n_queues <= max)
		return 0;
	snprintf(err, errsz, "port %u (%s) supports %u %s queue%s, %u workers requested: "
		 "use fewer lcores", port_id, port_name(port_id, name, sizeof(name)), max, dir,
		 max == 1 ? "" : "s", n_queues);
	return -EINVAL;
}

/* RSS spreads flows over the workers' queues when there are several. */
static void port_conf_rss(uint16_t port_id, const struct rte_eth_dev_info *info,
			  uint16_t n_queues, struct rte_eth_conf *conf)
{
	uint64_t hf = PORT_RSS_HF & info->flow_type_rss_offloads;

	if (n_queues <= 1)
		return;
	if (hf == 0) {
		NF_LOG(WARN, "port", "port %u: no RSS on IP/TCP/UDP: the device decides which "
		       "worker sees a flow", port_id);
		return;
	}
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	conf->rx_adv_conf.rss_conf.rss_key = NULL;
	conf->rx_adv_conf.rss_conf.rss_hf = hf;
}

/* Descriptors per queue: small enough that the rx rings, and the tx rings, each never hold
 * more than a quarter of the pool. */
static uint16_t port_ring_size(const struct rte_mempool *mp, uint16_t n_queues)
{
	uint16_t n = PORT_RING_SIZE;

	while (n > 64 && (unsigned)n * n_queues > mp->size / 4)
		n /= 2;
	return n;
}

static int port_queues_setup(uint16_t port_id, struct rte_mempool *mp, uint16_t n_queues,
			     char *err, size_t errsz)
{
	uint16_t n_rxd = port_ring_size(mp, n_queues), n_txd = n_rxd;
	int socket = (int)port_socket(port_id);
	int ret = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &n_rxd, &n_txd);

	if (ret < 0) {
		snprintf(err, errsz, "port %u: adjusting ring sizes: %s", port_id, strerror(-ret));
		return ret;
	}
	for (uint16_t q = 0; q < n_queues; q++) {
		ret = rte_eth_rx_queue_setup(port_id, q, n_rxd, socket, NULL, mp);
		if (ret < 0) {
			snprintf(err, errsz, "port %u: rx queue %u setup: %s", port_id, q,
				 strerror(-ret));
			return ret;
		}
		ret = rte_eth_tx_queue_setup(port_id, q, n_txd, socket, NULL);
		if (ret < 0) {
			snprintf(err, errsz, "port %u: tx queue %u setup: %s", port_id, q,
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void port_log_link(uint16_t port_id)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	struct rte_eth_link link;

	port_name(port_id, name, sizeof(name));
	if (rte_eth_link_get_nowait(port_id, &link) < 0)
		NF_LOG(INFO, "port", "port %u (%s): started, link status unknown", port_id, name);
	else if (link.link_status == RTE_ETH_LINK_DOWN)
		NF_LOG(INFO, "port", "port %u (%s): started, link down", port_id, name);
	else
		NF_LOG(INFO, "port", "port %u (%s): started, link up %u Mbps %s-duplex", port_id,
		       name, link.link_speed,
		       link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX ? "full" : "half");
}

/* DPDK 22.11's af_packet PMD maps its ring before binding the socket to its interface, so
 * frames of any interface seen in that window sit in the ring (the race libpcap fixed by
 * opening with protocol 0). Drop them once the port is started: they are not our traffic. */
static void port_drain_af_packet(uint16_t port_id, uint16_t n_queues)
{
	struct rte_mbuf *pkts[32];
	struct rte_eth_dev_info info;
	unsigned n_drained = 0;
	uint16_t n;

	if (rte_eth_dev_info_get(port_id, &info) < 0 || info.driver_name == NULL ||
	    strcmp(info.driver_name, "net_af_packet") != 0)
		return;
	for (uint16_t q = 0; q < n_queues; q++) {
		while ((n = rte_eth_rx_burst(port_id, q, pkts, 32)) > 0) {
			rte_pktmbuf_free_bulk(pkts, n);
			n_drained += n;
		}
	}
	if (n_drained > 0)
		NF_LOG(INFO, "port", "port %u: dropped %u frames captured before the socket was bound",
		       port_id, n_drained);
}

int port_init(uint16_t port_id, struct rte_mempool *mp, uint16_t n_queues, char *err,
	      size_t errsz)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	int ret = rte_eth_dev_info_get(port_id, &info);

	if (ret < 0) {
		snprintf(err, errsz, "port %u: cannot get device info: %s", port_id, strerror(-ret));
		return ret;
	}
	if (port_check_queues(port_id, &info, n_queues, err, errsz) < 0)
		return -EINVAL;
	memset(&conf, 0, sizeof(conf));
	port_conf_rss(port_id, &info, n_queues, &conf);
	ret = rte_eth_dev_configure(port_id, n_queues, n_queues, &conf);
	if (ret < 0) {
		snprintf(err, errsz, "port %u: configure: %s", port_id, strerror(-ret));
		return ret;
	}
	ret = port_queues_setup(port_id, mp, n_queues, err, errsz);
	if (ret < 0)
		return ret;
	ret = rte_eth_promiscuous_enable(port_id);
	if (ret < 0 && ret != -ENOTSUP)
		NF_LOG(WARN, "port", "port %u: promiscuous mode: %s", port_id, strerror(-ret));
	ret = rte_eth_dev_start(port_id);
	if (ret < 0) {
		snprintf(err, errsz, "port %u: start: %s", port_id, strerror(-ret));
		return ret;
	}
	port_drain_af_packet(port_id, n_queues);
	port_log_link(port_id);
	return 0;
}

void port_stop_all(void)
{
	uint16_t port_id;
	int ret;

	RTE_ETH_FOREACH_DEV(port_id) {
		ret = rte_eth_dev_stop(port_id);
		if (ret < 0)
			NF_LOG(WARN, "port", "port %u: stop: %s", port_id, strerror(-ret));
		ret = rte_eth_dev_close(port_id);
		if (ret < 0)
			NF_LOG(WARN, "port", "port %u: close: %s", port_id, strerror(-ret));
	}
}
