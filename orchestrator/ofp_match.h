/* OpenFlow 1.3 OXM match fields: the typed match, and OXM TLVs shared with set-field. */
#ifndef ORCH_OFP_MATCH_H
#define ORCH_OFP_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestrator/ofp_buf.h"

/* The fields this codec knows, in the order Open vSwitch encodes them (so an encoded match
 * is byte-identical to what ovs-ofctl sends for the same flow). */
enum ofp_mf {
	OFP_MF_IN_PORT,		/* 32 bits */
	OFP_MF_ETH_SRC,		/* 48 bits, maskable */
	OFP_MF_ETH_DST,		/* 48 bits, maskable */
	OFP_MF_ETH_TYPE,	/* 16 bits */
	OFP_MF_IPV4_SRC,	/* 32 bits, maskable; requires eth_type 0x0800 */
	OFP_MF_IPV4_DST,	/* 32 bits, maskable; requires eth_type 0x0800 */
	OFP_MF_IP_PROTO,	/* 8 bits; requires eth_type 0x0800 (or IPv6) */
	OFP_MF_TCP_SRC,		/* 16 bits, maskable (OVS); requires ip_proto 6 */
	OFP_MF_TCP_DST,
	OFP_MF_UDP_SRC,		/* 16 bits, maskable (OVS); requires ip_proto 17 */
	OFP_MF_UDP_DST,
	OFP_MF_ARP_OP,		/* 16 bits; requires eth_type 0x0806 */
	OFP_MF_ARP_SPA,		/* 32 bits, maskable */
	OFP_MF_ARP_TPA,
	OFP_MF_ARP_SHA,		/* 48 bits, maskable */
	OFP_MF_ARP_THA,
	OFP_MF_N
};

/* A field's value (or mask). Integer fields (ports, types, IPv4 addresses) are in host
 * byte order in 'u32' whatever their width; Ethernet addresses are bytes in 'eth'. */
union ofp_mf_value {
	uint32_t u32;
	uint8_t eth[6];
};

/* A match: the fields in 'present' must equal 'values' under 'masks' (a field without
 * its bit in 'masked' is exact). Build it with the setters; read it with ofp_match_has()
 * and the arrays. A zeroed struct matches everything. */
struct ofp_match {
	uint32_t present;	/* 1u << OFP_MF_* per field */
	uint32_t masked;	/* the subset of 'present' with a partial mask */
	union ofp_mf_value values[OFP_MF_N];
	union ofp_mf_value masks[OFP_MF_N];
	unsigned n_unknown;	/* well-formed OXM fields the decoder skipped (e.g. NXM) */
};

void ofp_match_init(struct ofp_match *m);
bool ofp_match_has(const struct ofp_match *m, enum ofp_mf mf);
/* Exact match on an integer field. Returns 0, or -EINVAL when 'mf' is an Ethernet
 * address or 'value' does not fit the field's width. */
int ofp_match_set_uint(struct ofp_match *m, enum ofp_mf mf, uint32_t value);
/* Masked match on an integer field: a full mask is an exact match, a zero mask removes
 * the field; bits of 'value' outside 'mask' are cleared. -EINVAL also for a partial mask
 * on a field that takes none. */
int ofp_match_set_uint_masked(struct ofp_match *m, enum ofp_mf mf, uint32_t value, uint32_t mask);
/* Match an Ethernet address field; 'mask' NULL means exact. */
int ofp_match_set_eth(struct ofp_match *m, enum ofp_mf mf, const uint8_t mac[6],
		      const uint8_t mask[6]);
void ofp_match_clear(struct ofp_match *m, enum ofp_mf mf);

/* Append the match as an ofp_match structure (type OXM, padded to 8 bytes) to 'b'.
 * Errors end up in b->err. */
void ofp_match_encode(struct ofp_buf *b, const struct ofp_match *m);
/* Read an ofp_match structure and its padding from 'rd' into 'm'. Returns 0, or
 * -EBADMSG with a reason in '*why' (bad match type or length, bad OXM length, duplicate
 * field, mask where none is allowed). Unknown but well-formed fields are counted in
 * 'n_unknown' and skipped. */
int ofp_match_decode(struct ofp_rd *rd, struct ofp_match *m, const char **why);

/* Append one OXM TLV for 'mf' ('mask' NULL: none). */
void ofp_oxm_encode(struct ofp_buf *b, enum ofp_mf mf, const union ofp_mf_value *value,
		    const union ofp_mf_value *mask);
/* Read one OXM TLV. '*mf' is OFP_MF_N for a well-formed field this codec does not know;
 * 'mask' is all-ones when the TLV has none. Returns 0 or -EBADMSG. */
int ofp_oxm_decode(struct ofp_rd *rd, enum ofp_mf *mf, union ofp_mf_value *value,
		   union ofp_mf_value *mask, bool *has_mask, const char **why);

/* "eth_dst" etc., or "?" */
const char *ofp_mf_name(enum ofp_mf mf);
/* Field width in bytes (1, 2, 4 or 6), 0 for an unknown field. */
unsigned ofp_mf_size(enum ofp_mf mf);
/* Write "in_port=1,eth_type=0x800,ipv4_dst=10.0.0.0/255.0.0.0" (or "any") into 'buf'. */
void ofp_match_format(const struct ofp_match *m, char *buf, size_t size);
/* Write one field value as text ("10.0.0.1", "02:00:00:00:00:01", "80"). */
void ofp_mf_format(enum ofp_mf mf, const union ofp_mf_value *v, char *buf, size_t size);

#endif
