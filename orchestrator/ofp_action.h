/* OpenFlow 1.3 actions and instructions: typed lists, their encoding and decoding. */
#ifndef ORCH_OFP_ACTION_H
#define ORCH_OFP_ACTION_H

#include <stdbool.h>
#include <stdint.h>

#include "orchestrator/ofp_buf.h"
#include "orchestrator/ofp_match.h"

#define OFP_MAX_ACTIONS 16	/* per action list (instruction or bucket) */

/* One action. 'type' is an OFPAT_*: OUTPUT, GROUP and SET_FIELD carry arguments;
 * COPY_TTL_OUT, COPY_TTL_IN, DEC_MPLS_TTL, POP_VLAN, DEC_NW_TTL and POP_PBB take none. */
struct ofp_action {
	uint16_t type;
	union {
		struct {
			uint32_t port;		/* OFPP_* or a port number */
			uint16_t max_len;	/* bytes sent to the controller */
		} output;
		uint32_t group_id;
		struct {
			enum ofp_mf field;
			union ofp_mf_value value;
		} set_field;
	};
};

/* An ordered action list, owned by whoever holds it (no heap). */
struct ofp_actions {
	unsigned n;
	struct ofp_action a[OFP_MAX_ACTIONS];
};

/* Builders: append one action. Return 0, -ENOSPC when the list is full, or -EINVAL.
 * An output to OFPP_CONTROLLER gets max_len OFPCML_NO_BUFFER, any other 0 (as OVS). */
int ofp_actions_output(struct ofp_actions *acts, uint32_t port);
int ofp_actions_group(struct ofp_actions *acts, uint32_t group_id);
/* set_field of an integer field (IPv4 addresses and ports in host byte order). */
int ofp_actions_set_uint(struct ofp_actions *acts, enum ofp_mf field, uint32_t value);
int ofp_actions_set_eth(struct ofp_actions *acts, enum ofp_mf field, const uint8_t mac[6]);
/* An action without arguments (OFPAT_DEC_NW_TTL, ...). */
int ofp_actions_simple(struct ofp_actions *acts, uint16_t type);

/* Append the list's wire form to 'b' (errors in b->err: -EINVAL for a bad action). */
void ofp_actions_encode(struct ofp_buf *b, const struct ofp_actions *acts);
/* Decode the whole of 'rd' as an action list. Returns 0, -EBADMSG (bad action length,
 * bad set-field TLV, too many actions) or -EOPNOTSUPP (a valid action this codec does
 * not model), with a reason in '*why'. */
int ofp_actions_decode(struct ofp_rd *rd, struct ofp_actions *acts, const char **why);
/* Write "set_field:10.0.0.1->ipv4_dst,output:2" (or "drop") into 'buf'. */
void ofp_actions_format(const struct ofp_actions *acts, char *buf, size_t size);

/* A flow's instructions. They go on the wire in Open vSwitch's order: apply-actions,
 * clear-actions, write-actions, goto-table; an empty action list is left out. */
struct ofp_instructions {
	struct ofp_actions apply;	/* OFPIT_APPLY_ACTIONS when apply.n > 0 */
	bool clear_actions;		/* OFPIT_CLEAR_ACTIONS */
	struct ofp_actions write;	/* OFPIT_WRITE_ACTIONS when write.n > 0 */
	bool has_goto;			/* OFPIT_GOTO_TABLE to 'goto_table' */
	uint8_t goto_table;
};

void ofp_instructions_encode(struct ofp_buf *b, const struct ofp_instructions *in);
/* Decode the whole of 'rd' as instructions: 0, -EBADMSG (bad length, duplicate
 * instruction, bad actions) or -EOPNOTSUPP (meter, write-metadata, experimenter). */
int ofp_instructions_decode(struct ofp_rd *rd, struct ofp_instructions *in, const char **why);

#endif
