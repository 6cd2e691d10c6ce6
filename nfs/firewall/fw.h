/* Stateful firewall (ordered rules + connection tracking) whose state lives in the shared store. */
#ifndef NFS_FIREWALL_FW_H
#define NFS_FIREWALL_FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "datastore/store.h"
#include "nf/counters.h"
#include "nf/nf.h"

#define FW_MAX_INSIDE_PREFIXES 32

/* Idle timeouts in seconds, by connection state (defaults follow Linux conntrack). */
struct fw_timeouts {
	uint32_t tcp_syn_sent;		/* 120: SYN seen, no SYN-ACK yet */
	uint32_t tcp_syn_recv;		/* 60: SYN-ACK seen, no final ACK yet */
	uint32_t tcp_established;	/* 432000: handshake complete */
	uint32_t tcp_fin_wait;		/* 120: FIN seen in one direction */
	uint32_t tcp_closing;		/* 120: FIN seen in both directions */
	uint32_t tcp_closed;		/* 10: RST accepted */
	uint32_t udp;			/* 30: UDP, no reply yet */
	uint32_t udp_stream;		/* 120: UDP after a reply */
	uint32_t icmp;			/* 30: ICMP echo */
};

/* An IPv4 prefix in network byte order ('net' has no bits outside 'mask'). */
struct fw_prefix {
	rte_be32_t net;
	rte_be32_t mask;
};

struct fw_config {
	struct fw_timeouts timeouts;
	/* One-armed mode: a packet whose source is in one of these goes out, others come in. */
	struct fw_prefix inside[FW_MAX_INSIDE_PREFIXES];
	unsigned n_inside;
	unsigned rules_check_ms;	/* how often workers check the store's rule set version (100) */
	bool publish_rules;		/* publish 'rules_json' even when the store has a rule set */
	/* The rule set this instance starts with and publishes when the store has none:
	 * canonical JSON {"default": ..., "rules": [...]}, or NULL. Owned by the config (see
	 * fw_config_free); the fw_config_load_* functions replace it. */
	char *rules_json;
};

/* Fill 'cfg' with defaults: no rule set, no inside prefix. */
void fw_config_default(struct fw_config *cfg);

/* Release what 'cfg' owns (the rule set text); 'cfg' itself belongs to the caller. */
void fw_config_free(struct fw_config *cfg);

/* Load a JSON configuration over 'cfg': any of "timeouts", "inside_prefixes",
 * "rules_check_ms", and a rule set ("default", "rules"). Returns 0, or -EINVAL with a
 * message naming the field in 'err' (e.g. "rules[3].dst_ports: 70000 is not a port"). */
int fw_config_load_string(struct fw_config *cfg, const char *json, char *err, size_t errsz);
int fw_config_load_file(struct fw_config *cfg, const char *path, char *err, size_t errsz);

/* Load a rule file ({"default": ..., "rules": [...]} and nothing else) as the rule set. */
int fw_config_load_rules_file(struct fw_config *cfg, const char *path, char *err, size_t errsz);

/* Add one inside prefix ("10.0.0.0/8", or an address for /32). 'field' names it in errors. */
int fw_config_add_inside_prefix(struct fw_config *cfg, const char *s, const char *field, char *err,
				size_t errsz);

/* Set timeout 'name' ("tcp_established", "udp", ...) to 'seconds'. 0 or -ENOENT. */
int fw_config_set_timeout(struct fw_config *cfg, const char *name, uint32_t seconds);

/* Check the configuration against the instance options ('opts' may be NULL): one-armed
 * needs an inside prefix, local mode needs a rule set. 0 or -EINVAL naming the field. */
int fw_config_validate(const struct fw_config *cfg, const struct nf_opts *opts, char *err,
		       size_t errsz);

struct fw;
struct fw_worker;

/* Control path. fw_create copies 'cfg' (and its rule set text) and 'opts'; the caller keeps
 * ownership of both. Returns NULL on a bad rule set or out of memory. */
struct fw *fw_create(const struct fw_config *cfg, const struct nf_opts *opts);
void fw_destroy(struct fw *fw);

/* One worker per lcore, with its own store connection, flow cache and compiled rule set.
 * Worker 0 publishes the configured rule set (see fw_config.publish_rules); every worker
 * then loads the store's rule set. 'ctr' is owned by the caller and must outlive the
 * worker. Returns NULL on allocation failure. */
struct fw_worker *fw_worker_create(struct fw *fw, unsigned worker_id, struct nf_counters *ctr);
void fw_worker_destroy(struct fw_worker *w);	/* flushes pending store writes */

/* Fast path (see nf_def.process_burst): set each packet's output port or NF_VERDICT_DROP
 * for 'n' <= NF_BURST packets. Packets are never modified; the caller owns the mbufs. */
void fw_process_burst(struct fw_worker *w, uint16_t in_port, struct rte_mbuf **pkts, uint16_t n,
		      uint8_t *out_ports, uint64_t now_us);

/* Timers: write-behind flush, invalidations, store reconnect, rule set version check. */
void fw_tick(struct fw_worker *w, uint64_t now_us);

/* Version of the rule set the worker applies to new flows: the store's version, or 0 for
 * the configured rule set not (yet) confirmed by the store. */
uint64_t fw_worker_rules_version(const struct fw_worker *w);

/* Publish 'rules_json' (validated first) as the rule set of namespace 'ns' on the store
 * connection 'st' (control path, blocking up to the store timeout): atomically sets
 * "<ns>:rules" and increments "<ns>:rules_ver". With 'if_absent' an existing rule set is
 * kept. '*version' (may be NULL) receives the version now in the store. Returns 1 when
 * published, 0 when not (present, or identical), -EINVAL for a bad rule set, -ENOTCONN or
 * -EIO for store failures; a reason goes to 'err'. */
int fw_rules_push(struct store *st, const char *ns, const char *rules_json, bool if_absent,
		  uint64_t *version, char *err, size_t errsz);

/* The firewall as the runtime drives it (nf_main(argc, argv, &fw_nf_def)). */
extern const struct nf_def fw_nf_def;

#endif
