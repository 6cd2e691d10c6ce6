/* Load balancer internals shared by its files: stored value, keys, pool snapshot, workers. */
#ifndef NFS_LB_INT_H
#define NFS_LB_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "datastore/store.h"
#include "nf/flowcache.h"
#include "nf/nf.h"
#include "nf/parse.h"
#include "nfs/lb/lb.h"
#include "nfs/lb/lb_maglev.h"

#define LB_MAX_WORKERS 128
#define LB_KEY_MAX 80
#define LB_DIRTY_MAX 4096	/* pending TTL refreshes per worker */
#define LB_BCTR_SLOTS 1024	/* backends with pending counter deltas per worker */
#define LB_VIP_SLOTS 256	/* service hash: a power of two, >= 4 * LB_MAX_SERVICES */

/* Direction of a packet: client -> VIP (rewritten to the backend) or backend -> client
 * (rewritten back to the VIP). */
enum lb_dir { LB_DIR_IN = 0, LB_DIR_OUT = 1 };

/* One connection, stored byte for byte as the value of both its store keys. Immutable
 * once created: the whole value is its identity. All fields network byte order. */
struct lb_conn {
	rte_be32_t client_ip;
	rte_be32_t vip;
	rte_be32_t backend_ip;
	rte_be16_t client_port;
	rte_be16_t vport;
	rte_be16_t backend_port;
	uint8_t proto;
	uint8_t pad;		/* always zero */
} __attribute__((packed));
_Static_assert(sizeof(struct lb_conn) == 20, "lb_conn is 20 bytes in Redis and in the Lua scripts");

/* One direction of a connection as a packet carries it: the flow cache key, and after the
 * namespace and a tag the store key ("<ns>:f" for LB_DIR_IN, "<ns>:r" for LB_DIR_OUT).
 * IN: src = client, dst = VIP. OUT: src = backend, dst = client. 8-byte aligned: the cache
 * hashes it with 8-byte loads. */
struct lb_ckey {
	uint8_t dir;		/* enum lb_dir */
	uint8_t proto;
	rte_be16_t src_port;
	rte_be32_t src_ip;
	rte_be32_t dst_ip;
	rte_be16_t dst_port;
	uint8_t pad[2];		/* always zero */
} __attribute__((packed, aligned(8)));
_Static_assert(sizeof(struct lb_ckey) == FLOWCACHE_KEY_SIZE, "lb_ckey is the flow cache key");

/* Flow cache value. */
struct lb_centry {
	struct lb_conn conn;
	uint64_t refreshed_us;	/* last TTL refresh (sent to the store, or local) */
};

/* Load the pool JSON of the store ({"services": [...]} only) over 'cfg' (lb_config.c). */
int lb_config_load_pool(struct lb_config *cfg, const char *json, char *err, size_t errsz);

/* ---- Pool snapshot (lb_pool.c): immutable once published ---- */

struct lb_backend {
	rte_be32_t ip;
	rte_be16_t port;
	uint16_t weight;
	uint8_t state;		/* enum lb_backend_state */
};

struct lb_service {
	rte_be32_t vip;
	rte_be16_t port;
	uint8_t proto;
	uint16_t first;		/* its backends: pool->backends[first .. first+n_backends-1] */
	uint16_t n_backends;
	uint16_t n_active;	/* not drained: the ones in 'table' */
	uint16_t *table;	/* LB_MAGLEV_SIZE indexes relative to 'first'; NULL if none active */
};

struct lb_pool {
	uint64_t version;	/* "<ns>:pool_ver" it came from; 0 = the instance's own config */
	unsigned n_services;
	struct lb_service services[LB_MAX_SERVICES];
	unsigned n_backends;
	struct lb_backend backends[LB_MAX_BACKENDS];
	uint8_t svc_slots[LB_VIP_SLOTS];	/* service index + 1 by (vip, port, proto); 0 empty */
	uint8_t vip_slots[LB_VIP_SLOTS];	/* service index + 1 by vip alone; 0 empty */
	uint64_t retire_tag;	/* freed once every worker has seen this generation */
	struct lb_pool *next;	/* retired list */
};

/* Build a snapshot of the services of 'cfg' (tables included). NULL on allocation failure. */
struct lb_pool *lb_pool_build(const struct lb_config *cfg, uint64_t version);
void lb_pool_free(struct lb_pool *p);

/* The service VIP:port/proto, or NULL. Fast path. */
const struct lb_service *lb_pool_find(const struct lb_pool *p, rte_be32_t vip, rte_be16_t port,
				      uint8_t proto);

/* True when 'ip' is the address of some service. Fast path. */
bool lb_pool_is_vip(const struct lb_pool *p, rte_be32_t ip);

/* The backend Maglev picks for a new connection 'ck' (LB_DIR_IN) of 's', or NULL when the
 * service has no active backend. Fast path. */
const struct lb_backend *lb_pool_choose(const struct lb_pool *p, const struct lb_service *s,
					const struct lb_ckey *ck);

/* ---- The instance ---- */

/* A worker's quiescent-state report, on its own cache line. */
struct lb_qs {
	uint64_t seen;		/* pool generation seen when it last held no pool pointer */
} __attribute__((aligned(64)));

#define LB_QS_OFFLINE UINT64_MAX

struct lb {
	struct lb_config cfg;
	struct nf_opts opts;
	uint32_t timeout_ms[256];	/* by IP protocol */
	char ttl_str[256][16];
	/* The pool workers read: replaced by the control path, read with acquire loads. */
	struct lb_pool *pool;
	uint64_t pool_gen;		/* bumped after every swap */
	struct lb_qs qs[LB_MAX_WORKERS];
	/* Control path only, under 'lock'. */
	pthread_mutex_t lock;
	struct lb_pool *retired;	/* replaced snapshots still maybe in use */
	struct store *ctl;		/* control connection (pool reads), NULL in local mode */
	bool republish;			/* publish cfg's services when the store has no pool */
	uint64_t rejected_ver;		/* last stored version found invalid (logged once) */
	uint64_t ctl_gen;		/* store generation of the last full pool read */
	char *pool_json;		/* text of the pool in use when it came from the store */
	pthread_t thread;
	bool thread_started;
	int stop;			/* asks the control thread to end (atomic) */
};

/* The control thread (lb_sync.c): follows the store's pool, swaps snapshots in and frees
 * the replaced ones once no worker can hold them. */
int lb_sync_start(struct lb *lb);
void lb_sync_stop(struct lb *lb);

/* The pool for one burst; lb_quiescent() when the worker holds no pool pointer any more. */
static inline const struct lb_pool *lb_pool_get(const struct lb *lb)
{
	return __atomic_load_n(&lb->pool, __ATOMIC_ACQUIRE);
}

static inline void lb_quiescent(struct lb *lb, unsigned worker_id)
{
	__atomic_store_n(&lb->qs[worker_id].seen, __atomic_load_n(&lb->pool_gen, __ATOMIC_ACQUIRE),
			 __ATOMIC_RELEASE);
}

/* A packet of the burst being processed. */
struct lb_pkt {
	struct pkt_info info;
	struct lb_ckey ck;
	uint32_t hash;			/* flowcache_hash(&ck) */
	struct lb_conn conn;		/* valid when 'resolved' (a copy: cache entries may move) */
	const struct lb_service *svc;	/* LB_DIR_IN: the service addressed */
	bool resolved;
	bool created;			/* this instance created the connection */
	bool refused;			/* the store's answer was final: drop (counted) */
	bool done;			/* verdict already decided by classification */
};

/* Per-backend counter deltas not yet flushed, keyed by address and port. */
struct lb_bctr {
	uint64_t key;		/* 1 << 48 | address << 16 | port; 0 = empty slot */
	uint64_t conns, pkts, bytes;
};

struct lb_worker {
	struct lb *lb;
	unsigned id;
	struct nf_counters *ctr;
	struct store *store;		/* NULL in local mode */
	struct flowcache *cache;	/* NULL in remote mode */
	const struct lb_pool *pool;	/* the snapshot of the burst being processed */
	uint64_t store_gen;
	uint64_t next_flush_us;
	uint32_t n_dirty;
	struct lb_conn dirty[LB_DIRTY_MAX];	/* connections whose TTL to refresh */
	uint32_t n_bctr;
	struct lb_bctr bctr[LB_BCTR_SLOTS];
	struct lb_pkt pkts[NF_BURST];
	char pfx_f[LB_KEY_MAX];		/* "<ns>:f"; "<ns>:r" differs in the last character */
	size_t pfx_len;
	char pfx_b[LB_KEY_MAX];		/* "<ns>:b:" */
};

/* Keys and values (lb_common.c). */
size_t lb_key(const struct lb_worker *w, const struct lb_ckey *ck, char *buf);
void lb_conn_ckey(const struct lb_conn *c, uint8_t dir, struct lb_ckey *ck);
void lb_conn_make(const struct lb_ckey *in, const struct lb_backend *b, struct lb_conn *c);
uint64_t lb_timeout_us(const struct lb *lb, uint8_t proto);
uint64_t lb_refresh_us(const struct lb *lb, uint8_t proto);

/* Cache helpers (cached and local modes). */
struct lb_centry *lb_cache_put(struct lb_worker *w, const struct lb_conn *c, uint8_t dir,
			       uint64_t now_us);
void lb_cache_refresh(struct lb_worker *w, const struct lb_conn *c, uint64_t now_us);
void lb_cache_forget(struct lb_worker *w, const struct lb_conn *c);

/* Per-backend counters and TTL refreshes of the packets of a burst. */
void lb_account(struct lb_worker *w, struct lb_centry *ce, const struct lb_conn *c,
		uint32_t bytes, bool created, uint64_t now_us);

/* Store side (lb_store.c). */
void lb_store_resolve(struct lb_worker *w, uint16_t n, uint64_t now_us);
void lb_store_flush(struct lb_worker *w, uint64_t now_us);
void lb_store_poll(struct lb_worker *w, uint64_t now_us);

/* Local mode (lb_local.c). */
void lb_local_resolve(struct lb_worker *w, uint16_t n, uint64_t now_us);

/* Rate-limited log of a new connection refused because its backend tuple is in use. */
void lb_log_conflict(const struct lb_conn *want);

#endif
