/* L4 load balancer (Maglev consistent hashing, half NAT) whose state lives in the shared store. */
#ifndef NFS_LB_H
#define NFS_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "datastore/store.h"
#include "nf/counters.h"
#include "nf/nf.h"

#define LB_MAX_SERVICES 64
#define LB_MAX_BACKENDS 1024	/* in all services together */

/* A backend's administrative state: drained backends keep their connections and their
 * weight but get no new connection. */
enum lb_backend_state { LB_BACKEND_ACTIVE = 0, LB_BACKEND_DRAIN = 1 };

struct lb_backend_cfg {
	rte_be32_t ip;		/* network byte order */
	rte_be16_t port;	/* network byte order */
	uint16_t weight;	/* 1-65535: share of new connections relative to the others */
	uint8_t state;		/* enum lb_backend_state */
};

/* A virtual service VIP:port/proto and its backends, cfg->backends[first .. first+n-1]. */
struct lb_service_cfg {
	rte_be32_t vip;
	rte_be16_t port;
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t first;
	uint16_t n_backends;
};

/* Idle timeouts in seconds (defaults follow Linux IPVS). */
struct lb_timeouts {
	uint32_t tcp;		/* 900 */
	uint32_t udp;		/* 300 */
};

struct lb_config {
	unsigned n_services;
	struct lb_service_cfg services[LB_MAX_SERVICES];
	unsigned n_backends;
	struct lb_backend_cfg backends[LB_MAX_BACKENDS];
	struct lb_timeouts timeouts;
};

/* Fill 'cfg' with defaults: no service, default timeouts. */
void lb_config_default(struct lb_config *cfg);

/* Load a JSON config ({"services": [...], "timeouts": {...}}) over 'cfg': the services
 * given replace all of cfg's services. Returns 0, or -EINVAL with a message naming the field
 * in 'err', e.g. "services[0].backends[2].port: 70000 is not a port". */
int lb_config_load_string(struct lb_config *cfg, const char *json, char *err, size_t errsz);

/* Same, from a file; the message starts with the file name. */
int lb_config_load_file(struct lb_config *cfg, const char *path, char *err, size_t errsz);

/* Set timeout 'name' ("tcp" or "udp") to 'seconds'. 0 or -ENOENT. */
int lb_config_set_timeout(struct lb_config *cfg, const char *name, uint32_t seconds);

/* Check the whole configuration. Returns 0 or -EINVAL naming the field in 'err'. */
int lb_config_validate(const struct lb_config *cfg, char *err, size_t errsz);

/* The pool (the services of 'cfg', without timeouts) as the JSON text kept in the store.
 * The caller frees the string with free(). NULL when out of memory. */
char *lb_config_pool_json(const struct lb_config *cfg);

/* Publish 'pool_json' ({"services": [...]}, validated first; see lb_config_pool_json) as
 * the backend pool of namespace 'ns' on the store connection 'st' (control path, blocking
 * up to the store timeout): "<ns>:pool" and "<ns>:pool_ver" (incremented) change in one
 * atomic script. With 'if_absent' an existing pool is kept; an identical one is always kept.
 * '*version' (may be NULL) receives the version now in the store. Returns 1 when published,
 * 0 when not, -EINVAL for a bad pool, -ENOTCONN or -EIO for store failures; a reason goes
 * to 'err'. */
int lb_pool_push(struct store *st, const char *ns, const char *pool_json, bool if_absent,
		 uint64_t *version, char *err, size_t errsz);

struct lb;
struct lb_worker;

/* Control path. lb_create copies 'cfg' and 'opts' (the caller keeps both). In the cached and
 * remote modes it reads the pool from the store now (the services of 'cfg' are the pool
 * until the store has one) and starts a control thread that checks the pool version every
 * 100 ms. Returns NULL on bad arguments or allocation failure. */
struct lb *lb_create(const struct lb_config *cfg, const struct nf_opts *opts);
void lb_destroy(struct lb *lb);	/* after every worker was destroyed */

/* Read the pool version now and rebuild the Maglev tables when it changed (what the control
 * thread does every 100 ms). Returns 0, -ENOTCONN, or -EINVAL when the stored pool is bad. */
int lb_pool_sync(struct lb *lb);

/* Version of the pool the instance forwards with (0: its configuration's, never published). */
uint64_t lb_pool_version(struct lb *lb);

/* One worker per lcore, with its own store connection and flow cache. 'ctr' is owned by
 * the caller and must outlive the worker. 'worker_id' < 128. NULL on failure. */
struct lb_worker *lb_worker_create(struct lb *lb, unsigned worker_id, struct nf_counters *ctr);
void lb_worker_destroy(struct lb_worker *w);	/* flushes pending store writes */

/* Fast path (see nf_def.process_burst): rewrite in place, choose each output port. */
void lb_process_burst(struct lb_worker *w, uint16_t in_port, struct rte_mbuf **pkts, uint16_t n,
		      uint8_t *out_ports, uint64_t now_us);

/* Timers: write-behind flush (100 ms), TTL refresh, invalidations, store reconnect. */
void lb_tick(struct lb_worker *w, uint64_t now_us);

/* The load balancer as the runtime drives it (nf_main(argc, argv, &lb_nf_def)). */
extern const struct nf_def lb_nf_def;

#endif
