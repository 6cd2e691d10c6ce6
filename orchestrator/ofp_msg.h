/* OpenFlow 1.3 messages: header and framing, HELLO and version negotiation, ERROR, ECHO,
 * FEATURES, BARRIER, PORT_STATUS, PACKET_IN and PACKET_OUT.
 *
 * The codec is hand-written for wire version 0x04. Conventions of every ofp_* module:
 *  - Encoders append one whole message to a struct ofp_buf and return 0 or a negative
 *    errno (-ENOMEM, -EMSGSIZE over 64 KiB, -EINVAL for an unencodable argument). The
 *    caller owns the buffer; 'xid' goes into the header (ofconn_send() replaces it).
 *  - Decoders take (const uint8_t *msg, size_t size) holding at least one message (bytes
 *    after the header's length are ignored), check every length against both, and fill
 *    a typed struct. Malformed input returns -EBADMSG with a static reason string in
 *    '*why' ('why' may be NULL) and never reads outside [msg, msg + size). A message of
 *    another type or version returns -EINVAL. Pointers in decoded structs ('data')
 *    borrow from 'msg'; arrays a decoder allocates are freed by the matching _uninit().
 * Flow and group mods live in ofp_mod.h, multipart messages in ofp_mp.h. */
#ifndef ORCH_OFP_MSG_H
#define ORCH_OFP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestrator/ofp_action.h"
#include "orchestrator/ofp_buf.h"
#include "orchestrator/ofp_match.h"
#include "orchestrator/ofp_proto.h"

struct ofp_header {
	uint8_t version;
	uint8_t type;		/* OFPT_* */
	uint16_t length;	/* of the whole message, header included */
	uint32_t xid;
};

/* Decode a header and check that 8 <= length <= 'size'. -EBADMSG otherwise. */
int ofp_header_decode(const uint8_t *msg, size_t size, struct ofp_header *h, const char **why);
/* Framing for a byte stream: the length of the message at the start of 'p' once its
 * header is there (0 when fewer than 8 bytes are buffered), or -EBADMSG when the header
 * claims fewer than 8 bytes. */
int ofp_msg_length(const uint8_t *p, size_t size);
/* Read or overwrite the xid of an encoded message (at least 8 bytes). */
uint32_t ofp_msg_xid(const uint8_t *msg);
void ofp_msg_set_xid(uint8_t *msg, uint32_t xid);

/* For encoders: start a message of 'type' (returns its offset in 'b'), then finish it
 * (sets the length; -EMSGSIZE beyond 65535 bytes, or the buffer's error). */
size_t ofp_msg_start(struct ofp_buf *b, uint8_t type, uint32_t xid);
int ofp_msg_finish(struct ofp_buf *b, size_t start);
/* For decoders: check the header of an OpenFlow 1.3 message of 'type' and point 'body'
 * at what follows it, up to the header's length. */
int ofp_msg_body(const uint8_t *msg, size_t size, uint8_t type, struct ofp_header *h,
		 struct ofp_rd *body, const char **why);

/* A message with a header only: FEATURES_REQUEST, BARRIER_REQUEST/REPLY, ... */
int ofp_simple_encode(struct ofp_buf *b, uint8_t type, uint32_t xid);
int ofp_features_request_encode(struct ofp_buf *b, uint32_t xid);
int ofp_barrier_request_encode(struct ofp_buf *b, uint32_t xid);

/* ---- HELLO and version negotiation ---- */

/* HELLO whose header carries the highest version of 'version_bitmap' (bit N: wire
 * version N) and a version bitmap element listing them all. */
int ofp_hello_encode(struct ofp_buf *b, uint32_t xid, uint32_t version_bitmap);

struct ofp_hello {
	uint8_t version;	/* of the header */
	uint32_t bitmap;	/* versions 0..31 from the bitmap element, 0 when absent */
};
/* Any version is accepted here; unknown elements are skipped. */
int ofp_hello_decode(const uint8_t *msg, size_t size, struct ofp_hello *hello, const char **why);
/* The version both sides speak (OpenFlow 1.3.5 section 6.3.1): the highest common bit
 * when both sent bitmaps, otherwise the smaller header version if we support it.
 * Returns the version, or -EPROTONOSUPPORT. */
int ofp_version_negotiate(const struct ofp_hello *peer, uint32_t our_bitmap);

/* ---- ERROR ---- */

struct ofp_error {
	uint32_t xid;		/* the xid of the request that failed */
	uint16_t type;		/* OFPET_* */
	uint16_t code;		/* per type; the exp_type for OFPET_EXPERIMENTER */
	uint32_t experimenter;	/* OFPET_EXPERIMENTER only */
	const uint8_t *data;	/* borrowed: usually the first 64+ bytes of the request */
	size_t data_size;
	int failed_type;	/* OFPT_* of the request found in 'data', or -1 */
};
int ofp_error_encode(struct ofp_buf *b, uint32_t xid, uint16_t type, uint16_t code,
		     const void *data, size_t data_size);
int ofp_error_decode(const uint8_t *msg, size_t size, struct ofp_error *err, const char **why);

/* ---- ECHO ---- */

/* ECHO_REQUEST or ECHO_REPLY ('type') carrying 'data' (may be NULL with size 0). */
int ofp_echo_encode(struct ofp_buf *b, uint8_t type, uint32_t xid, const void *data, size_t size);

/* ---- FEATURES_REPLY ---- */

struct ofp_features {
	uint64_t datapath_id;
	uint32_t n_buffers;
	uint8_t n_tables;
	uint8_t auxiliary_id;
	uint32_t capabilities;	/* OFPC_* */
};
int ofp_features_reply_decode(const uint8_t *msg, size_t size, struct ofp_features *f,
			      const char **why);

/* ---- Ports: PORT_STATUS (and OFPMP_PORT_DESC in ofp_mp.h) ---- */

#define OFP_PORT_NAME_LEN 16

struct ofp_port {
	uint32_t port_no;
	uint8_t hw_addr[6];
	char name[OFP_PORT_NAME_LEN + 1];	/* always NUL-terminated */
	uint32_t config;	/* OFPPC_* */
	uint32_t state;		/* OFPPS_* */
	uint32_t curr, advertised, supported, peer;
	uint32_t curr_speed, max_speed;	/* kbps */
};
/* Read one 64-byte ofp_port structure. */
int ofp_port_decode(struct ofp_rd *rd, struct ofp_port *port, const char **why);

struct ofp_port_status {
	uint8_t reason;		/* OFPPR_ADD, OFPPR_DELETE, OFPPR_MODIFY */
	struct ofp_port port;
};
int ofp_port_status_decode(const uint8_t *msg, size_t size, struct ofp_port_status *ps,
			   const char **why);

/* ---- PACKET_IN, PACKET_OUT ---- */

struct ofp_packet_in {
	uint32_t buffer_id;	/* OFP_NO_BUFFER: the packet is all in 'data' */
	uint16_t total_len;
	uint8_t reason;		/* OFPR_* */
	uint8_t table_id;
	uint64_t cookie;
	struct ofp_match match;	/* in_port is OFP_MF_IN_PORT */
	const uint8_t *data;	/* borrowed from the message */
	size_t data_size;
};
int ofp_packet_in_decode(const uint8_t *msg, size_t size, struct ofp_packet_in *pin,
			 const char **why);

struct ofp_packet_out {
	uint32_t buffer_id;	/* OFP_NO_BUFFER to send 'data' */
	uint32_t in_port;	/* OFPP_CONTROLLER when the packet comes from us */
	struct ofp_actions actions;
	const uint8_t *data;	/* the packet; not owned */
	size_t data_size;
};
int ofp_packet_out_encode(struct ofp_buf *b, uint32_t xid, const struct ofp_packet_out *po);
int ofp_packet_out_decode(const uint8_t *msg, size_t size, struct ofp_packet_out *po,
			  const char **why);

#endif
