/* Firewall internals shared by its files: instance and worker state, the burst being judged. */
#ifndef NFS_FIREWALL_FW_INT_H
#define NFS_FIREWALL_FW_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "datastore/store.h"
#include "nf/flowcache.h"
#include "nf/nf.h"
#include "nf/parse.h"
#include "nfs/firewall/fw.h"
#include "nfs/firewall/fw_conn.h"
#include "nfs/firewall/fw_rules.h"

#define FW_DIRTY_MAX 4096
#define FW_KEY_MAX 96
#define FW_GSLOTS 64		/* burst group hash slots (power of two, > NF_BURST) */

/* Verdict of one packet of the burst. */
enum fw_verdict {
	FW_V_DECIDED = 0,	/* decided while classifying (pass-through, malformed) */
	FW_V_ACCEPT,
	FW_V_DROP_POLICY,	/* a rule (or the default policy) denies a new connection */
	FW_V_DROP_STRAY,	/* no connection and cannot open one: no_conn, or policy if a
				 * deny rule matches it */
	FW_V_DROP_BAD,		/* violates its connection's state */
	FW_V_DROP_STORE_DOWN,
	FW_V_DROP_STORE_ERROR,
};

/* What a burst group still needs from the store. */
enum fw_need { FW_NEED_NONE = 0, FW_NEED_FETCH, FW_NEED_WRITE };

/* Memoized rule evaluation of a packet. */
enum fw_rule_memo { FW_RM_UNKNOWN = 0, FW_RM_ALLOW, FW_RM_DENY_RULE, FW_RM_DENY_DEFAULT };

/* Flow cache value (the cache key is the struct fw_ckey). */
struct fw_centry {
	struct fw_conn conn;
	uint64_t refreshed_us;	/* last TTL refresh sent to (or set by) the store */
	uint32_t dirty_epoch;	/* write-behind record valid when == worker's epoch */
	uint32_t dirty_idx;
};

/* A write-behind record: the latest sequence tracking and a pending TTL refresh. */
struct fw_dirty {
	struct fw_ckey key;
	struct fw_conn conn;
	bool touch;
};

struct fw {
	struct fw_config cfg;		/* rules_json owned (a copy) */
	struct nf_opts opts;
	struct fw_ruleset *initial;	/* compiled cfg.rules_json, or NULL */
	struct fw_ruleset *deny_all;	/* used until a rule set is known */
	uint32_t timeout_ms[FW_ST__COUNT];
	char ttl_str[FW_ST__COUNT][16];
};

/* One packet of the burst. */
struct fw_pkt {
	struct pkt_info info;
	struct fw_seg seg;
	uint8_t side;		/* key side of its sender */
	uint8_t ndir;		/* FW_DIR_IN or FW_DIR_OUT (for rules) */
	uint8_t verdict;	/* enum fw_verdict */
	uint8_t rule_memo;	/* enum fw_rule_memo */
	uint8_t out_port;	/* where it goes when accepted */
	uint8_t group;
	int8_t next;		/* next packet of the same group, or -1 */
};

/* The packets of one connection in the burst, judged in order from a base value. */
struct fw_group {
	struct fw_ckey key;
	struct fw_conn base;	/* the connection as known before the burst */
	struct fw_conn fin;	/* after the group's packets */
	bool base_exists, fin_exists;
	bool base_cached;	/* 'base' came from the cache and may be stale */
	bool bad;		/* some packet was judged FW_V_DROP_BAD */
	bool written;		/* 'fin' was written through (and is what the store holds) */
	bool fetched;		/* 'base' was read from the store in this burst */
	bool failed;		/* the store could not resolve it: its packets are dropped */
	uint8_t need;		/* enum fw_need */
	int8_t first, last;
};

struct fw_worker {
	struct fw *fw;
	unsigned id;
	struct nf_counters *ctr;
	struct store *store;		/* NULL in local mode */
	struct flowcache *cache;	/* NULL in remote mode */
	const struct fw_ruleset *rules;	/* applied to new connections */
	struct fw_ruleset *rules_owned;	/* loaded from the store ('rules' points at it), or NULL */
	uint64_t rules_ver;		/* store version of 'rules', 0 = not from the store */
	uint64_t rules_ver_seen;	/* last version read from the store (even if invalid) */
	uint64_t next_rules_check_us;
	bool rules_check_now;		/* an invalidation of "<ns>:rules_ver" arrived */
	const char *rules_text;		/* JSON of 'rules' (cfg.rules_json or rules_text_owned) */
	char *rules_text_owned;		/* text of a rule set loaded from the store, or NULL */
	bool publish_pending;		/* worker 0: publish 'rules_text' when connected */
	bool publish_force;		/* ... even over the store's rule set (--publish-rules) */
	uint64_t store_gen;
	uint64_t next_flush_us;
	uint32_t dirty_epoch;
	uint32_t n_dirty;
	struct fw_dirty dirty[FW_DIRTY_MAX];
	struct fw_pkt pkts[NF_BURST];
	struct fw_group groups[NF_BURST];
	unsigned n_groups;
	int8_t gslots[FW_GSLOTS];
	char pfx_c[FW_KEY_MAX];		/* "<ns>:c" */
	size_t pfx_len;
	char key_rules[FW_KEY_MAX];	/* "<ns>:rules" */
	char key_rules_ver[FW_KEY_MAX];	/* "<ns>:rules_ver" */
};

/* Judging (fw.c): run group 'g' from its base, setting each packet's verdict and 'fin'. */
void fw_group_run(struct fw_worker *w, struct fw_group *g);

/* Cache (fw_cache.c): the connection key in the store, timeouts, cache and write-behind. */
size_t fw_conn_key(const struct fw_worker *w, const struct fw_ckey *ck, char *buf);
uint64_t fw_timeout_us(const struct fw *fw, uint8_t state);
uint64_t fw_refresh_us(const struct fw *fw, uint8_t state);
struct fw_centry *fw_cache_put(struct fw_worker *w, const struct fw_ckey *ck,
			       const struct fw_conn *c, uint64_t refreshed_us, uint64_t now_us);
void fw_cache_forget(struct fw_worker *w, const struct fw_ckey *ck);
void fw_cache_store_result(struct fw_worker *w, struct fw_group *g, uint64_t now_us);

/* Store side (fw_store.c): resolve the burst's groups (fetches, creations, transitions)
 * in as few pipelined round trips as possible, flush write-behind records, invalidations. */
void fw_store_resolve(struct fw_worker *w, uint64_t now_us);
void fw_store_account(struct fw_worker *w, struct fw_centry *ce, const struct fw_ckey *ck,
		      const struct fw_conn *c, bool touch, uint64_t now_us);
void fw_store_flush(struct fw_worker *w, uint64_t now_us);
void fw_store_poll(struct fw_worker *w, uint64_t now_us);
void fw_store_check_generation(struct fw_worker *w, uint64_t now_us);
void fw_store_sync_counters(struct fw_worker *w);	/* store stats -> counters */

/* Rule set synchronisation (fw_sync.c): publish, version check, reload. */
void fw_sync_rules(struct fw_worker *w, uint64_t now_us, bool force);
void fw_sync_on_reconnect(struct fw_worker *w);

#endif
