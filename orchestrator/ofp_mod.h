/* OpenFlow 1.3 FLOW_MOD and GROUP_MOD: typed structs, encoders and decoders
 * (conventions in ofp_msg.h). */
#ifndef ORCH_OFP_MOD_H
#define ORCH_OFP_MOD_H

#include <stddef.h>
#include <stdint.h>

#include "orchestrator/ofp_action.h"
#include "orchestrator/ofp_buf.h"
#include "orchestrator/ofp_match.h"

struct ofp_flow_mod {
	uint64_t cookie;
	uint64_t cookie_mask;	/* modify/delete: only flows whose cookie matches under it */
	uint8_t table_id;	/* OFPTT_ALL for deletes across tables */
	uint8_t command;	/* OFPFC_* */
	uint16_t idle_timeout, hard_timeout;	/* seconds, 0 = none */
	uint16_t priority;
	uint32_t buffer_id;	/* OFP_NO_BUFFER */
	uint32_t out_port;	/* deletes: only flows that output there; OFPP_ANY */
	uint32_t out_group;	/* deletes: likewise for groups; OFPG_ANY */
	uint16_t flags;		/* OFPFF_* */
	struct ofp_match match;
	struct ofp_instructions instructions;
};

/* Defaults as ovs-ofctl uses them: table 0, priority OFP_DEFAULT_PRIORITY (32768), no
 * buffer, out_port OFPP_ANY, out_group OFPG_ANY, match all, no instructions (drop). */
void ofp_flow_mod_init(struct ofp_flow_mod *fm, uint8_t command);
int ofp_flow_mod_encode(struct ofp_buf *b, uint32_t xid, const struct ofp_flow_mod *fm);
/* -EBADMSG or -EOPNOTSUPP (an instruction or action this codec does not model). */
int ofp_flow_mod_decode(const uint8_t *msg, size_t size, struct ofp_flow_mod *fm,
			const char **why);

struct ofp_bucket {
	uint16_t weight;	/* select groups; 0 for the others */
	uint32_t watch_port;	/* fast failover; OFPP_ANY */
	uint32_t watch_group;	/* fast failover; OFPG_ANY */
	struct ofp_actions actions;
};

/* A group mod. For encoding, 'buckets' points at the caller's array (not freed here). A
 * decoder allocates 'buckets'; release them with ofp_group_mod_uninit(). */
struct ofp_group_mod {
	uint16_t command;	/* OFPGC_* */
	uint8_t type;		/* OFPGT_* */
	uint32_t group_id;	/* OFPG_ALL with OFPGC_DELETE: every group */
	size_t n_buckets;
	struct ofp_bucket *buckets;
};

/* Bucket defaults: weight 0 (set it for select groups), watch OFPP_ANY / OFPG_ANY,
 * no actions. */
void ofp_bucket_init(struct ofp_bucket *bucket);
int ofp_group_mod_encode(struct ofp_buf *b, uint32_t xid, const struct ofp_group_mod *gm);
/* On success 'gm->buckets' is a new array (NULL when there are none); on failure
 * nothing is left allocated. -ENOMEM, -EBADMSG or -EOPNOTSUPP. */
int ofp_group_mod_decode(const uint8_t *msg, size_t size, struct ofp_group_mod *gm,
			 const char **why);
/* Free the buckets of a decoded group mod. */
void ofp_group_mod_uninit(struct ofp_group_mod *gm);

#endif
