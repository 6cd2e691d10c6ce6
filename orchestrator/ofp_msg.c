/* OpenFlow 1.3 messages: header and framing, HELLO and version negotiation, ERROR, ECHO,
 * FEATURES, BARRIER, PORT_STATUS, PACKET_IN and PACKET_OUT. */
#include <errno.h>
#include <string.h>

#include "orchestrator/ofp_msg.h"

#define HELLO_ELEM_HEADER_SIZE 4
#define PORT_SIZE 64

/* ---- Header and framing ---- */

int ofp_header_decode(const uint8_t *msg, size_t size, struct ofp_header *h, const char **why)
{
	struct ofp_rd rd;

	ofp_rd_init(&rd, msg, size);
	h->version = ofp_rd_u8(&rd);
	h->type = ofp_rd_u8(&rd);
	h->length = ofp_rd_u16(&rd);
	h->xid = ofp_rd_u32(&rd);
	if (rd.err)
		return ofp_bad(why, "header: fewer than 8 bytes");
	if (h->length < OFP_HEADER_SIZE)
		return ofp_bad(why, "header: length shorter than the header");
	if (h->length > size)
		return ofp_bad(why, "header: length past the end of the buffer");
	return 0;
}

int ofp_msg_length(const uint8_t *p, size_t size)
{
	int len;

	if (size < OFP_HEADER_SIZE)
		return 0;
	len = p[2] << 8 | p[3];
	return len < OFP_HEADER_SIZE ? -EBADMSG : len;
}

uint32_t ofp_msg_xid(const uint8_t *msg)
{
	return (uint32_t)msg[4] << 24 | (uint32_t)msg[5] << 16 | (uint32_t)msg[6] << 8 | msg[7];
}

void ofp_msg_set_xid(uint8_t *msg, uint32_t xid)
{
	msg[4] = xid >> 24;
	msg[5] = xid >> 16;
	msg[6] = xid >> 8;
	msg[7] = xid;
}

size_t ofp_msg_start(struct ofp_buf *b, uint8_t type, uint32_t xid)
{
	size_t start = b->size;

	ofp_buf_put_u8(b, OFP13_VERSION);
	ofp_buf_put_u8(b, type);
	ofp_buf_put_u16(b, 0);	/* length, set by ofp_msg_finish() */
	ofp_buf_put_u32(b, xid);
	return start;
}

int ofp_msg_finish(struct ofp_buf *b, size_t start)
{
	if (b->err)
		return b->err;
	if (b->size - start > OFP_MAX_MSG_SIZE) {
		b->size = start;
		return -EMSGSIZE;
	}
	ofp_buf_set_u16(b, start + 2, b->size - start);
	return 0;
}

int ofp_msg_body(const uint8_t *msg, size_t size, uint8_t type, struct ofp_header *h,
		 struct ofp_rd *body, const char **why)
{
	int rc = ofp_header_decode(msg, size, h, why);

	if (rc < 0)
		return rc;
	if (h->version != OFP13_VERSION || h->type != type) {
		if (why)
			*why = "header: not the expected OpenFlow 1.3 message type";
		return -EINVAL;
	}
	ofp_rd_init(body, msg + OFP_HEADER_SIZE, h->length - OFP_HEADER_SIZE);
	return 0;
}

int ofp_simple_encode(struct ofp_buf *b, uint8_t type, uint32_t xid)
{
	return ofp_msg_finish(b, ofp_msg_start(b, type, xid));
}

int ofp_features_request_encode(struct ofp_buf *b, uint32_t xid)
{
	return ofp_simple_encode(b, OFPT_FEATURES_REQUEST, xid);
}

int ofp_barrier_request_encode(struct ofp_buf *b, uint32_t xid)
{
	return ofp_simple_encode(b, OFPT_BARRIER_REQUEST, xid);
}

/* ---- HELLO ---- */

static int highest_bit(uint32_t bitmap)
{
	return bitmap ? 31 - __builtin_clz(bitmap) : -1;
}

int ofp_hello_encode(struct ofp_buf *b, uint32_t xid, uint32_t version_bitmap)
{
	size_t start;

	if (!version_bitmap)
		return -EINVAL;
	start = ofp_msg_start(b, OFPT_HELLO, xid);
	if (!b->err)
		b->data[start] = highest_bit(version_bitmap);	/* the header's version */
	ofp_buf_put_u16(b, OFPHET_VERSIONBITMAP);
	ofp_buf_put_u16(b, HELLO_ELEM_HEADER_SIZE + 4);
	ofp_buf_put_u32(b, version_bitmap);
	return ofp_msg_finish(b, start);
}

/* Read one hello element; a version bitmap sets 'hello->bitmap'. */
static int hello_elem_decode(struct ofp_rd *rd, struct ofp_hello *hello, const char **why)
{
	uint16_t type = ofp_rd_u16(rd), len = ofp_rd_u16(rd);
	struct ofp_rd body;

	if (rd->err || len < HELLO_ELEM_HEADER_SIZE)
		return ofp_bad(why, "hello: bad element header");
	ofp_rd_sub(rd, len - HELLO_ELEM_HEADER_SIZE, &body);
	if (body.err)
		return ofp_bad(why, "hello: element length past the end of the message");
	/* Padding to 8 bytes may be absent after the last element. */
	ofp_rd_skip(rd, rd->left < ofp_pad8(len) ? rd->left : ofp_pad8(len));
	if (type == OFPHET_VERSIONBITMAP) {
		if (body.left < 4 || body.left % 4)
			return ofp_bad(why, "hello: version bitmap not a multiple of 32 bits");
		hello->bitmap = ofp_rd_u32(&body);
	}
	return 0;
}

int ofp_hello_decode(const uint8_t *msg, size_t size, struct ofp_hello *hello, const char **why)
{
	struct ofp_header h;
	struct ofp_rd rd;
	int rc = ofp_header_decode(msg, size, &h, why);

	if (rc < 0)
		return rc;
	if (h.type != OFPT_HELLO) {
		if (why)
			*why = "hello: not a HELLO";
		return -EINVAL;
	}
	hello->version = h.version;
	hello->bitmap = 0;
	if (h.version < OFP13_VERSION)	/* elements exist from OpenFlow 1.3 on */
		return 0;
	ofp_rd_init(&rd, msg + OFP_HEADER_SIZE, h.length - OFP_HEADER_SIZE);
	while (rd.left && rc == 0)
		rc = hello_elem_decode(&rd, hello, why);
	return rc;
}

int ofp_version_negotiate(const struct ofp_hello *peer, uint32_t our_bitmap)
{
	int v;

	if (peer->bitmap)
		v = highest_bit(peer->bitmap & our_bitmap);
	else
		v = peer->version < highest_bit(our_bitmap) ? peer->version : highest_bit(our_bitmap);
	if (v < 0 || v > 31 || !(our_bitmap & (1u << v)))
		return -EPROTONOSUPPORT;
	return v;
}

/* ---- ERROR ---- */

int ofp_error_encode(struct ofp_buf *b, uint32_t xid, uint16_t type, uint16_t code,
		     const void *data, size_t data_size)
{
	size_t start = ofp_msg_start(b, OFPT_ERROR, xid);

	ofp_buf_put_u16(b, type);
	ofp_buf_put_u16(b, code);
	ofp_buf_put(b, data, data_size);
	return ofp_msg_finish(b, start);
}

int ofp_error_decode(const uint8_t *msg, size_t size, struct ofp_error *err, const char **why)
{
	struct ofp_header h;
	struct ofp_rd rd;
	int rc = ofp_msg_body(msg, size, OFPT_ERROR, &h, &rd, why);

	if (rc < 0)
		return rc;
	memset(err, 0, sizeof(*err));
	err->xid = h.xid;
	err->type = ofp_rd_u16(&rd);
	err->code = ofp_rd_u16(&rd);
	if (err->type == OFPET_EXPERIMENTER)
		err->experimenter = ofp_rd_u32(&rd);
	if (rd.err)
		return ofp_bad(why, "error: truncated body");
	err->data = rd.p;
	err->data_size = rd.left;
	err->failed_type = rd.left >= OFP_HEADER_SIZE ? rd.p[1] : -1;
	return 0;
}

/* ---- ECHO ---- */

int ofp_echo_encode(struct ofp_buf *b, uint8_t type, uint32_t xid, const void *data, size_t size)
{
	size_t start;

	if (type != OFPT_ECHO_REQUEST && type != OFPT_ECHO_REPLY)
		return -EINVAL;
	start = ofp_msg_start(b, type, xid);
	ofp_buf_put(b, data, size);
	return ofp_msg_finish(b, start);
}

/* ---- FEATURES_REPLY ---- */

int ofp_features_reply_decode(const uint8_t *msg, size_t size, struct ofp_features *f,
			      const char **why)
{
	struct ofp_header h;
	struct ofp_rd rd;
	int rc = ofp_msg_body(msg, size, OFPT_FEATURES_REPLY, &h, &rd, why);

	if (rc < 0)
		return rc;
	f->datapath_id = ofp_rd_u64(&rd);
	f->n_buffers = ofp_rd_u32(&rd);
	f->n_tables = ofp_rd_u8(&rd);
	f->auxiliary_id = ofp_rd_u8(&rd);
	ofp_rd_skip(&rd, 2);
	f->capabilities = ofp_rd_u32(&rd);
	ofp_rd_skip(&rd, 4);	/* reserved */
	return rd.err ? ofp_bad(why, "features_reply: truncated body") : 0;
}

/* ---- Ports ---- */

int ofp_port_decode(struct ofp_rd *rd, struct ofp_port *port, const char **why)
{
	if (rd->left < PORT_SIZE)
		return ofp_bad(why, "port: fewer than 64 bytes");
	memset(port, 0, sizeof(*port));
	port->port_no = ofp_rd_u32(rd);
	ofp_rd_skip(rd, 4);
	ofp_rd_bytes(rd, port->hw_addr, 6);
	ofp_rd_skip(rd, 2);
	ofp_rd_bytes(rd, port->name, OFP_PORT_NAME_LEN);
	port->name[OFP_PORT_NAME_LEN] = '\0';
	port->config = ofp_rd_u32(rd);
	port->state = ofp_rd_u32(rd);
	port->curr = ofp_rd_u32(rd);
	port->advertised = ofp_rd_u32(rd);
	port->supported = ofp_rd_u32(rd);
	port->peer = ofp_rd_u32(rd);
	port->curr_speed = ofp_rd_u32(rd);
	port->max_speed = ofp_rd_u32(rd);
	return rd->err ? ofp_bad(why, "port: truncated") : 0;
}

int ofp_port_status_decode(const uint8_t *msg, size_t size, struct ofp_port_status *ps,
			   const char **why)
{
	struct ofp_header h;
	struct ofp_rd rd;
	int rc = ofp_msg_body(msg, size, OFPT_PORT_STATUS, &h, &rd, why);

	if (rc < 0)
		return rc;
	ps->reason = ofp_rd_u8(&rd);
	ofp_rd_skip(&rd, 7);
	if (rd.err)
		return ofp_bad(why, "port_status: truncated body");
	return ofp_port_decode(&rd, &ps->port, why);
}

/* ---- PACKET_IN, PACKET_OUT ---- */

int ofp_packet_in_decode(const uint8_t *msg, size_t size, struct ofp_packet_in *pin,
			 const char **why)
{
	struct ofp_header h;
	struct ofp_rd rd;
	int rc = ofp_msg_body(msg, size, OFPT_PACKET_IN, &h, &rd, why);

	if (rc < 0)
		return rc;
	pin->buffer_id = ofp_rd_u32(&rd);
	pin->total_len = ofp_rd_u16(&rd);
	pin->reason = ofp_rd_u8(&rd);
	pin->table_id = ofp_rd_u8(&rd);
	pin->cookie = ofp_rd_u64(&rd);
	if (rd.err)
		return ofp_bad(why, "packet_in: truncated body");
	rc = ofp_match_decode(&rd, &pin->match, why);
	if (rc < 0)
		return rc;
	ofp_rd_skip(&rd, 2);
	if (rd.err)
		return ofp_bad(why, "packet_in: no room for the padding after the match");
	pin->data = rd.p;
	pin->data_size = rd.left;
	return 0;
}

int ofp_packet_out_encode(struct ofp_buf *b, uint32_t xid, const struct ofp_packet_out *po)
{
	size_t start = ofp_msg_start(b, OFPT_PACKET_OUT, xid), actions;

	ofp_buf_put_u32(b, po->buffer_id);
	ofp_buf_put_u32(b, po->in_port);
	ofp_buf_put_u16(b, 0);	/* actions_len, set below */
	ofp_buf_put_zeros(b, 6);
	actions = b->size;
	ofp_actions_encode(b, &po->actions);
	ofp_buf_set_u16(b, start + OFP_HEADER_SIZE + 8, b->size - actions);
	ofp_buf_put(b, po->data, po->data_size);
	return ofp_msg_finish(b, start);
}

int ofp_packet_out_decode(const uint8_t *msg, size_t size, struct ofp_packet_out *po,
			  const char **why)
{
	struct ofp_header h;
	struct ofp_rd rd, acts;
	uint16_t actions_len;
	int rc = ofp_msg_body(msg, size, OFPT_PACKET_OUT, &h, &rd, why);

	if (rc < 0)
		return rc;
	po->buffer_id = ofp_rd_u32(&rd);
	po->in_port = ofp_rd_u32(&rd);
	actions_len = ofp_rd_u16(&rd);
	ofp_rd_skip(&rd, 6);
	if (rd.err)
		return ofp_bad(why, "packet_out: truncated body");
	ofp_rd_sub(&rd, actions_len, &acts);
	if (acts.err)
		return ofp_bad(why, "packet_out: actions length past the end of the message");
	rc = ofp_actions_decode(&acts, &po->actions, why);
	po->data = rd.p;
	po->data_size = rd.left;
	return rc;
}
