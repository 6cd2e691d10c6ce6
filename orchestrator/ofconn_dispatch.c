/* OpenFlow connection messages: handshake, echo keepalive, dispatch, barriers and requests. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "nf/log.h"
#include "orchestrator/ofconn_int.h"
#include "orchestrator/ofp_mp.h"
#include "orchestrator/ofp_names.h"
#include "orchestrator/ofp_proto.h"

/* ---- Requests and barriers ---- */

static int pending_add(struct ofconn *c, uint32_t xid, ofconn_barrier_cb *bcb,
		       ofconn_reply_cb *rcb, void *arg)
{
	struct pending *p;
	size_t cap;

	if (c->n_pending == c->cap_pending) {
		cap = c->cap_pending ? c->cap_pending * 2 : 16;
		p = realloc(c->pending, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->pending = p;
		c->cap_pending = cap;
	}
	c->pending[c->n_pending++] = (struct pending){ xid, bcb, rcb, arg };
	return 0;
}

/* Send with a pending entry; the entry is made first so that no reply can miss it. */
static int send_tracked(struct ofconn *c, const struct ofp_buf *msg, ofconn_barrier_cb *bcb,
			ofconn_reply_cb *rcb, void *arg, uint32_t *xid)
{
	uint32_t x;
	int rc;

	if (c->state != ST_READY)
		return -ENOTCONN;
	rc = ofconn_check_one_msg(msg);
	if (rc < 0)
		return rc;
	x = ofconn_xid_next(c);
	rc = pending_add(c, x, bcb, rcb, arg);
	if (rc == 0)
		rc = ofconn_out_queue(c, msg->data, msg->size, x);
	if (rc < 0) {
		c->n_pending--;
		return rc;
	}
	if (xid)
		*xid = x;
	return 0;
}

int ofconn_request(struct ofconn *c, const struct ofp_buf *msg, ofconn_reply_cb *cb, void *arg,
		   uint32_t *xid)
{
	if (!cb)
		return -EINVAL;
	return send_tracked(c, msg, NULL, cb, arg, xid);
}

static void barrier_noop(struct ofconn *c, void *arg, int status, unsigned n_errors)
{
	(void)c, (void)arg, (void)status, (void)n_errors;
}

int ofconn_send_barrier(struct ofconn *c, ofconn_barrier_cb *cb, void *arg, uint32_t *xid)
{
	struct ofp_buf b = OFP_BUF_INIT;
	int rc = ofp_barrier_request_encode(&b, 0);

	if (rc == 0)
		rc = send_tracked(c, &b, cb ? cb : barrier_noop, NULL, arg, xid);
	ofp_buf_uninit(&b);
	return rc;
}
/* ---- Input dispatch ---- */

static void send_echo_reply(struct ofconn *c, const uint8_t *msg, const struct ofp_header *h)
{
	struct ofp_buf b = OFP_BUF_INIT;

	ofp_echo_encode(&b, OFPT_ECHO_REPLY, h->xid, msg + OFP_HEADER_SIZE,
			h->length - OFP_HEADER_SIZE);
	ofconn_send_own(c, &b, h->xid);
}

static void on_hello(struct ofconn *c, const uint8_t *msg, size_t size)
{
	struct ofp_buf b = OFP_BUF_INIT;
	struct ofp_hello hello;
	const char *why = NULL;
	int v;

	if (ofp_hello_decode(msg, size, &hello, &why) < 0) {
		NF_LOG(WARN, LOG_MOD, "bad HELLO from the switch: %s", why);
		ofconn_conn_close(c, -EPROTO);
		return;
	}
	v = ofp_version_negotiate(&hello, OUR_VERSIONS);
	if (v < 0) {
		NF_LOG(WARN, LOG_MOD, "switch speaks OpenFlow versions 0x%x (header 0x%02x), we 0x04",
		       hello.bitmap, hello.version);
		ofp_error_encode(&b, 0, OFPET_HELLO_FAILED, OFPHFC_INCOMPATIBLE, "no common version", 17);
		ofconn_send_own(c, &b, ofconn_xid_next(c));
		ofconn_conn_close(c, v);
		return;
	}
	c->features_xid = ofconn_xid_next(c);
	c->state = ST_FEATURES;
	ofp_features_request_encode(&b, 0);
	ofconn_send_own(c, &b, c->features_xid);
}

static void on_features(struct ofconn *c, const uint8_t *msg, size_t size)
{
	const char *why = NULL;

	if (ofp_features_reply_decode(msg, size, &c->features, &why) < 0) {
		NF_LOG(WARN, LOG_MOD, "bad FEATURES_REPLY: %s", why);
		ofconn_conn_close(c, -EPROTO);
		return;
	}
	c->state = ST_READY;
	c->generation++;
	c->backoff_us = BACKOFF_MIN_US;
	NF_LOG(INFO, LOG_MOD, "switch %016" PRIx64 " connected (OpenFlow 1.3, %u tables)",
	       c->features.datapath_id, c->features.n_tables);
	if (c->cbs.connected)
		c->cbs.connected(c, c->arg);
}

static ssize_t pending_find(const struct ofconn *c, uint32_t xid)
{
	size_t i;

	for (i = 0; i < c->n_pending; i++)
		if (c->pending[i].xid == xid)
			return i;
	return -1;
}

/* Remove entry 'i' keeping the order, and return it. */
static struct pending pending_take(struct ofconn *c, size_t i)
{
	struct pending p = c->pending[i];

	memmove(&c->pending[i], &c->pending[i + 1], (c->n_pending - i - 1) * sizeof(p));
	c->n_pending--;
	return p;
}

static void on_error(struct ofconn *c, const uint8_t *msg, size_t size)
{
	struct ofp_error err;
	const char *why = NULL;
	char line[160];
	ssize_t i;

	if (ofp_error_decode(msg, size, &err, &why) < 0) {
		NF_LOG_RL(WARN, LOG_MOD, "undecodable ERROR from the switch: %s", why);
		return;
	}
	ofp_error_format(&err, line, sizeof(line));
	NF_LOG_RL(WARN, LOG_MOD, "switch %016" PRIx64 " error: %s", c->features.datapath_id, line);
	c->n_errors++;
	if (c->state != ST_READY) {	/* the handshake failed */
		ofconn_conn_close(c, -EPROTO);
		return;
	}
	i = pending_find(c, err.xid);
	if (i >= 0 && c->pending[i].reply_cb) {
		struct pending p = pending_take(c, i);

		p.reply_cb(c, p.arg, -EPROTO, msg, size);
	} else if (c->cbs.error) {
		c->cbs.error(c, c->arg, &err);
	}
}

/* True when 'msg' is a multipart reply with more parts to come. */
static bool reply_has_more(const uint8_t *msg, size_t size, uint8_t type)
{
	uint16_t mp_type;
	bool more = false;

	if (type != OFPT_MULTIPART_REPLY ||
	    ofp_mp_decode_header(msg, size, type, &mp_type, &more, NULL) < 0)
		return false;
	return more;
}

/* A message that may answer a pending request; otherwise it goes to cbs->message. */
static void on_reply(struct ofconn *c, const uint8_t *msg, size_t size,
		     const struct ofp_header *h)
{
	ssize_t i = pending_find(c, h->xid);
	struct pending p;
	unsigned n_errors;

	if (i < 0 || (c->pending[i].barrier_cb && h->type != OFPT_BARRIER_REPLY)) {
		if (c->cbs.message)
			c->cbs.message(c, c->arg, msg, size);
		return;
	}
	if (c->pending[i].barrier_cb) {
		p = pending_take(c, i);
		n_errors = c->n_errors;
		c->n_errors = 0;
		p.barrier_cb(c, p.arg, 0, n_errors);
		return;
	}
	if (reply_has_more(msg, size, h->type)) {
		c->pending[i].reply_cb(c, c->pending[i].arg, 0, msg, size);
		return;
	}
	p = pending_take(c, i);
	p.reply_cb(c, p.arg, 0, msg, size);
}

static void on_port_status(struct ofconn *c, const uint8_t *msg, size_t size)
{
	struct ofp_port_status ps;
	const char *why = NULL;

	if (ofp_port_status_decode(msg, size, &ps, &why) < 0) {
		NF_LOG_RL(WARN, LOG_MOD, "bad PORT_STATUS: %s", why);
		return;
	}
	if (c->cbs.port_status)
		c->cbs.port_status(c, c->arg, &ps);
}

static void on_packet_in(struct ofconn *c, const uint8_t *msg, size_t size)
{
	struct ofp_packet_in pin;
	const char *why = NULL;

	if (ofp_packet_in_decode(msg, size, &pin, &why) < 0) {
		NF_LOG_RL(WARN, LOG_MOD, "bad PACKET_IN: %s", why);
		return;
	}
	if (c->cbs.packet_in)
		c->cbs.packet_in(c, c->arg, &pin);
}

/* Messages of a connection past its HELLO. */
static void dispatch_msg(struct ofconn *c, const uint8_t *msg, size_t size,
			 const struct ofp_header *h)
{
	switch (h->type) {
	case OFPT_HELLO:
	case OFPT_ECHO_REPLY:
		return;
	case OFPT_ECHO_REQUEST:
		send_echo_reply(c, msg, h);
		return;
	case OFPT_ERROR:
		on_error(c, msg, size);
		return;
	case OFPT_FEATURES_REPLY:
		if (c->state == ST_FEATURES && h->xid == c->features_xid) {
			on_features(c, msg, size);
			return;
		}
		break;
	default:
		break;
	}
	if (c->state != ST_READY)
		return;	/* nothing else is expected before the handshake ends */
	if (h->type == OFPT_PORT_STATUS)
		on_port_status(c, msg, size);
	else if (h->type == OFPT_PACKET_IN)
		on_packet_in(c, msg, size);
	else
		on_reply(c, msg, size, h);
}

void ofconn_dispatch(struct ofconn *c, const uint8_t *msg, size_t size, uint64_t now)
{
	struct ofp_buf b = OFP_BUF_INIT;
	struct ofp_header h;

	ofp_header_decode(msg, size, &h, NULL);	/* framing checked the length */
	c->last_rx_us = now;
	c->n_unanswered = 0;
	if (c->state == ST_HELLO) {
		if (h.type == OFPT_HELLO)
			on_hello(c, msg, size);
		else
			ofconn_conn_close(c, -EPROTO);
		return;
	}
	if (h.version != OFP13_VERSION) {
		ofp_error_encode(&b, h.xid, OFPET_BAD_REQUEST, OFPBRC_BAD_VERSION, msg,
				 size < 64 ? size : 64);
		ofconn_send_own(c, &b, h.xid);
		return;
	}
	dispatch_msg(c, msg, size, &h);
}
/* ---- Timers ---- */

static uint64_t next_echo_us(const struct ofconn *c)
{
	return c->last_rx_us + c->echo_us * (c->n_unanswered + 1);
}

static void keepalive_run(struct ofconn *c, uint64_t now)
{
	struct ofp_buf b = OFP_BUF_INIT;

	if (now < next_echo_us(c))
		return;
	if (c->n_unanswered >= c->max_missed) {
		ofconn_conn_close(c, -ETIMEDOUT);
		return;
	}
	c->n_unanswered++;
	ofp_echo_encode(&b, OFPT_ECHO_REQUEST, 0, NULL, 0);
	ofconn_send_own(c, &b, ofconn_xid_next(c));
}

void ofconn_timers_run(struct ofconn *c, uint64_t now)
{
	if (c->state == ST_READY)
		keepalive_run(c, now);
	else if (c->state != ST_IDLE && now >= c->handshake_deadline_us)
		ofconn_conn_close(c, -ETIMEDOUT);
}

uint64_t ofconn_next_wakeup_us(const struct ofconn *c)
{
	if (c->write_err)
		return 0;
	switch (c->state) {
	case ST_IDLE:
		return c->passive ? UINT64_MAX : c->reconnect_at_us;
	case ST_READY:
		return next_echo_us(c);
	default:
		return c->handshake_deadline_us;
	}
}
