/* Source NAT (endpoint-independent mapping) whose state lives in the shared store. */
#ifndef NFS_NAT_H
#define NFS_NAT_H

#include <stddef.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "nf/counters.h"
#include "nf/nf.h"

#define NAT_MAX_PUBLIC_IPS 64

/* Idle timeouts in seconds (defaults follow Linux conntrack). */
struct nat_timeouts {
	uint32_t tcp_established;	/* 432000: established TCP */
	uint32_t tcp_transitory;	/* 120: SYN sent, or FIN/RST seen */
	uint32_t udp;			/* 30: UDP, no reply seen yet */
	uint32_t udp_stream;		/* 120: UDP after a reply */
	uint32_t icmp;			/* 30: ICMP echo */
};

struct nat_config {
	rte_be32_t public_ips[NAT_MAX_PUBLIC_IPS];	/* network byte order */
	unsigned n_public_ips;
	uint16_t port_lo, port_hi;	/* public port range, inclusive (default 1024-65535) */
	struct nat_timeouts timeouts;
	unsigned max_probes;		/* ports tried per new flow before "exhausted" (128) */
};

/* Fill 'cfg' with defaults (no public address: one must be configured). */
void nat_config_default(struct nat_config *cfg);

/* Load a JSON config file over 'cfg'. Returns 0, or -EINVAL with a message naming the
 * field and what was wrong in 'err' (e.g. "port_range[1]: 70000 is not a port"). */
int nat_config_load_file(struct nat_config *cfg, const char *path, char *err, size_t errsz);

/* Same, from a JSON text. */
int nat_config_load_string(struct nat_config *cfg, const char *json, char *err, size_t errsz);

/* Add one public address (dotted quad). 'field' names it in the error message. */
int nat_config_add_public_ip(struct nat_config *cfg, const char *s, const char *field, char *err,
			     size_t errsz);

/* Set timeout 'name' ("tcp_established", "udp", ...) to 'seconds'. 0 or -ENOENT. */
int nat_config_set_timeout(struct nat_config *cfg, const char *name, uint32_t seconds);

/* Check the whole configuration. Returns 0 or -EINVAL naming the field in 'err'. */
int nat_config_validate(const struct nat_config *cfg, char *err, size_t errsz);

struct nat;
struct nat_worker;

/* Control path. nat_create copies 'cfg' and 'opts'; the caller keeps ownership of both. */
struct nat *nat_create(const struct nat_config *cfg, const struct nf_opts *opts);
void nat_destroy(struct nat *nat);

/* One worker per lcore, with its own store connection and flow cache. 'ctr' is owned by
 * the caller and must outlive the worker. Returns NULL on allocation failure. */
struct nat_worker *nat_worker_create(struct nat *nat, unsigned worker_id, struct nf_counters *ctr);
void nat_worker_destroy(struct nat_worker *w);	/* flushes pending store writes */

/* Fast path (see nf_def.process_burst): translate in place, choose each output port. */
void nat_process_burst(struct nat_worker *w, uint16_t in_port, struct rte_mbuf **pkts, uint16_t n,
		       uint8_t *out_ports, uint64_t now_us);

/* Timers: write-behind flush, TTL refresh, invalidations, store reconnect. */
void nat_tick(struct nat_worker *w, uint64_t now_us);

/* The NAT as the runtime drives it (nf_main(argc, argv, &nat_nf_def)). */
extern const struct nf_def nat_nf_def;

#endif
