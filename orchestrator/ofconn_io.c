/* OpenFlow connection I/O: the output queue, sending, and reading and framing input. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "nf/log.h"
#include "orchestrator/ofconn_int.h"
#include "orchestrator/ofp_proto.h"

#define READ_CHUNK 65536
#define OUT_MAX (16u << 20)		/* queued output beyond which sends fail */

/* ---- Output ---- */

uint32_t ofconn_xid_next(struct ofconn *c)
{
	uint32_t xid = c->next_xid++;

	if (c->next_xid == 0)
		c->next_xid = 1;
	return xid;
}

/* Send what the socket takes now. A failure is kept in 'write_err' for ofconn_run() to
 * act on, so that no callback runs from inside ofconn_send(). */
void ofconn_out_flush(struct ofconn *c)
{
	ssize_t n;

	while (c->fd >= 0 && !c->write_err && c->out_ofs < c->out.size) {
		n = send(c->fd, c->out.data + c->out_ofs, c->out.size - c->out_ofs,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->write_err = -errno;
			break;
		}
		c->out_ofs += n;
	}
	if (c->out_ofs == c->out.size) {
		ofp_buf_reset(&c->out);
		c->out_ofs = 0;
	}
}

/* Queue one encoded message (any state but ST_IDLE/ST_CONNECTING) with 'xid'. */
int ofconn_out_queue(struct ofconn *c, const uint8_t *msg, size_t size, uint32_t xid)
{
	uint8_t *p;

	if (c->out.size - c->out_ofs + size > OUT_MAX)
		return -ENOBUFS;
	p = ofp_buf_put_uninit(&c->out, size);
	if (!p) {
		c->out.err = 0;	/* nothing was appended: the queue is intact */
		return -ENOMEM;
	}
	memcpy(p, msg, size);
	ofp_msg_set_xid(p, xid);
	ofconn_out_flush(c);
	return 0;
}

/* Encode into a scratch buffer and queue: for the connection's own messages. */
void ofconn_send_own(struct ofconn *c, struct ofp_buf *b, uint32_t xid)
{
	if (b->err == 0 && b->size >= OFP_HEADER_SIZE)
		ofconn_out_queue(c, b->data, b->size, xid);
	ofp_buf_uninit(b);
}

int ofconn_check_one_msg(const struct ofp_buf *msg)
{
	struct ofp_header h;

	if (msg->err || ofp_header_decode(msg->data, msg->size, &h, NULL) < 0 ||
	    h.length != msg->size)
		return -EINVAL;
	return 0;
}

int ofconn_send(struct ofconn *c, const struct ofp_buf *msg, uint32_t *xid)
{
	uint32_t x;
	int rc;

	if (c->state != ST_READY)
		return -ENOTCONN;
	rc = ofconn_check_one_msg(msg);
	if (rc < 0)
		return rc;
	x = ofconn_xid_next(c);
	rc = ofconn_out_queue(c, msg->data, msg->size, x);
	if (rc == 0 && xid)
		*xid = x;
	return rc;
}

/* ---- Input ---- */

/* Dispatch every complete message in 'c->in'; stops if a callback ends the connection. */
static void input_process(struct ofconn *c, uint64_t now)
{
	uint64_t seq = c->conn_seq;
	size_t ofs = 0;
	int len;

	while (c->conn_seq == seq) {
		len = ofp_msg_length(c->in.data + ofs, c->in.size - ofs);
		if (len < 0) {
			NF_LOG(WARN, LOG_MOD, "message length below 8: closing");
			ofconn_conn_close(c, -EPROTO);
			return;
		}
		if (len == 0 || (size_t)len > c->in.size - ofs)
			break;
		ofconn_dispatch(c, c->in.data + ofs, len, now);
		ofs += len;
	}
	if (c->conn_seq != seq || ofs == 0)
		return;
	memmove(c->in.data, c->in.data + ofs, c->in.size - ofs);
	c->in.size -= ofs;
}

void ofconn_read_run(struct ofconn *c, uint64_t now)
{
	uint8_t *p;
	ssize_t n;

	while (c->fd >= 0 && c->state >= ST_HELLO) {
		p = ofp_buf_put_uninit(&c->in, READ_CHUNK);
		if (!p) {
			ofconn_conn_close(c, -ENOMEM);
			return;
		}
		n = recv(c->fd, p, READ_CHUNK, MSG_DONTWAIT);
		c->in.size -= READ_CHUNK - (n > 0 ? n : 0);
		if (n == 0) {
			ofconn_conn_close(c, -ECONNRESET);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ofconn_conn_close(c, -errno);
			return;
		}
		input_process(c, now);
	}
}
