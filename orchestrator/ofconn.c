/* Controller side of one OpenFlow 1.3 connection to a switch, non-blocking, driven by the
 * owner's poll loop (theory of operation in ofconn.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nf/clock.h"
#include "nf/log.h"
#include "orchestrator/ofconn.h"
#include "orchestrator/ofp_mp.h"
#include "orchestrator/ofp_names.h"
#include "orchestrator/ofp_proto.h"

#define LOG_MOD "ofconn"
#define OUR_VERSIONS (1u << OFP13_VERSION)
#define READ_CHUNK 65536
#define OUT_MAX (16u << 20)		/* queued output beyond which sends fail */
#define DEFAULT_ECHO_MS 5000
#define DEFAULT_MAX_MISSED 3
#define BACKOFF_MIN_US 100000
#define BACKOFF_MAX_US 4000000
#define LISTEN_BACKLOG 4

enum conn_state {
	ST_IDLE,	/* no connection: listening, or waiting to reconnect */
	ST_CONNECTING,	/* active: non-blocking connect() in progress */
	ST_HELLO,	/* HELLO sent, waiting for the switch's */
	ST_FEATURES,	/* FEATURES_REQUEST sent */
	ST_READY,
};

/* A request waiting for its reply: a barrier or an ofconn_request(). */
struct pending {
	uint32_t xid;
	ofconn_barrier_cb *barrier_cb;	/* set for barriers */
	ofconn_reply_cb *reply_cb;	/* set for requests */
	void *arg;
};

struct ofconn {
	struct ofconn_cbs cbs;
	void *arg;
	bool passive;
	struct sockaddr_storage addr;	/* to listen on, or to connect to */
	socklen_t addr_len;
	int listen_fd;			/* passive only, else -1 */
	int fd;				/* the connection, or -1 */
	enum conn_state state;
	uint64_t conn_seq;		/* bumped when a connection starts or ends */
	uint16_t local_port;

	struct ofp_buf in;		/* received bytes not yet dispatched */
	struct ofp_buf out;		/* bytes to send, from 'out_ofs' on */
	size_t out_ofs;
	int write_err;			/* a failed send() seen by ofconn_send() */

	uint32_t next_xid;
	uint32_t features_xid;
	struct ofp_features features;
	uint64_t generation;
	unsigned n_errors;		/* ERRORs since the last barrier reply */

	uint64_t echo_us;		/* keepalive interval */
	unsigned max_missed;
	uint64_t last_rx_us;
	unsigned n_unanswered;		/* echo requests sent since 'last_rx_us' */
	uint64_t handshake_deadline_us;
	uint64_t reconnect_at_us;	/* active, ST_IDLE */
	uint64_t backoff_us;

	struct pending *pending;	/* in the order sent */
	size_t n_pending, cap_pending;
};

static void conn_close(struct ofconn *c, int reason);

/* ---- Construction ---- */

static int parse_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

static struct ofconn *ofconn_new(bool passive, const char *addr, uint16_t port,
				 const struct ofconn_cbs *cbs, void *arg)
{
	struct ofconn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (parse_addr(addr, port, &c->addr, &c->addr_len) < 0) {
		free(c);
		errno = EINVAL;
		return NULL;
	}
	if (cbs)
		c->cbs = *cbs;
	c->arg = arg;
	c->passive = passive;
	c->listen_fd = -1;
	c->fd = -1;
	c->next_xid = 1;
	c->echo_us = DEFAULT_ECHO_MS * 1000ull;
	c->max_missed = DEFAULT_MAX_MISSED;
	c->backoff_us = BACKOFF_MIN_US;
	c->local_port = port;
	ofp_buf_init(&c->in);
	ofp_buf_init(&c->out);
	return c;
}

static int listen_open(struct ofconn *c)
{
	int one = 1, fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&c->addr, c->addr_len) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	c->listen_fd = fd;
	c->local_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

struct ofconn *ofconn_listen(const char *addr, uint16_t port, const struct ofconn_cbs *cbs,
			     void *arg)
{
	struct ofconn *c = ofconn_new(true, addr, port, cbs, arg);
	int rc;

	if (!c)
		return NULL;
	rc = listen_open(c);
	if (rc < 0) {
		NF_LOG(ERR, LOG_MOD, "cannot listen on %s:%u: %s", addr, port, strerror(-rc));
		free(c);
		errno = -rc;
		return NULL;
	}
	NF_LOG(INFO, LOG_MOD, "listening for a switch on %s:%u", addr, c->local_port);
	return c;
}

struct ofconn *ofconn_connect(const char *addr, uint16_t port, const struct ofconn_cbs *cbs,
			      void *arg)
{
	return ofconn_new(false, addr, port, cbs, arg);	/* connects in ofconn_run() */
}

/* Take every pending entry out of 'c' (so that callbacks may add new ones) and fail it. */
static void pending_fail_all(struct ofconn *c, int status)
{
	struct pending *list = c->pending;
	size_t i, n = c->n_pending;

	c->pending = NULL;
	c->n_pending = c->cap_pending = 0;
	for (i = 0; i < n; i++) {
		if (list[i].barrier_cb)
			list[i].barrier_cb(c, list[i].arg, status, 0);
		else if (list[i].reply_cb)
			list[i].reply_cb(c, list[i].arg, status, NULL, 0);
	}
	free(list);
}

void ofconn_destroy(struct ofconn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = ST_IDLE;
	pending_fail_all(c, -ECANCELED);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	ofp_buf_uninit(&c->in);
	ofp_buf_uninit(&c->out);
	free(c->pending);
	free(c);
}

void ofconn_set_keepalive(struct ofconn *c, uint32_t interval_ms, unsigned max_missed)
{
	c->echo_us = (interval_ms ? interval_ms : 1) * 1000ull;
	c->max_missed = max_missed;
}

/* ---- Accessors ---- */

bool ofconn_is_ready(const struct ofconn *c)
{
	return c->state == ST_READY;
}

const struct ofp_features *ofconn_features(const struct ofconn *c)
{
	return &c->features;
}

uint64_t ofconn_generation(const struct ofconn *c)
{
	return c->generation;
}

uint16_t ofconn_local_port(const struct ofconn *c)
{
	return c->local_port;
}

/* ---- Output ---- */

static uint32_t xid_next(struct ofconn *c)
{
	uint32_t xid = c->next_xid++;

	if (c->next_xid == 0)
		c->next_xid = 1;
	return xid;
}

/* Send what the socket takes now. A failure is kept in 'write_err' for ofconn_run() to
 * act on, so that no callback runs from inside ofconn_send(). */
static void out_flush(struct ofconn *c)
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
static int out_queue(struct ofconn *c, const uint8_t *msg, size_t size, uint32_t xid)
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
	out_flush(c);
	return 0;
}

/* Encode into a scratch buffer and queue: for the connection's own messages. */
static void send_own(struct ofconn *c, struct ofp_buf *b, uint32_t xid)
{
	if (b->err == 0 && b->size >= OFP_HEADER_SIZE)
		out_queue(c, b->data, b->size, xid);
	ofp_buf_uninit(b);
}

static int check_one_msg(const struct ofp_buf *msg)
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
	rc = check_one_msg(msg);
	if (rc < 0)
		return rc;
	x = xid_next(c);
	rc = out_queue(c, msg->data, msg->size, x);
	if (rc == 0 && xid)
		*xid = x;
	return rc;
}

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
	rc = check_one_msg(msg);
	if (rc < 0)
		return rc;
	x = xid_next(c);
	rc = pending_add(c, x, bcb, rcb, arg);
	if (rc == 0)
		rc = out_queue(c, msg->data, msg->size, x);
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

/* ---- Connection life cycle ---- */

static void conn_start(struct ofconn *c, int fd, uint64_t now)
{
	struct ofp_buf b = OFP_BUF_INIT;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->conn_seq++;
	c->state = ST_HELLO;
	c->write_err = 0;
	ofp_buf_reset(&c->in);
	ofp_buf_reset(&c->out);
	c->out_ofs = 0;
	c->n_errors = 0;
	c->last_rx_us = now;
	c->n_unanswered = 0;
	c->handshake_deadline_us = now + c->echo_us * (c->max_missed + 1);
	ofp_hello_encode(&b, 0, OUR_VERSIONS);
	send_own(c, &b, xid_next(c));
}

static const char *reason_str(int reason)
{
	return reason == -EPROTONOSUPPORT ? "no common OpenFlow version" : strerror(-reason);
}

/* End the current connection (if any). A ready one fails its pending requests and then
 * tells the owner. */
static void conn_close(struct ofconn *c, int reason)
{
	enum conn_state was = c->state;

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = ST_IDLE;
	c->conn_seq++;
	ofp_buf_reset(&c->in);
	ofp_buf_reset(&c->out);
	c->out_ofs = 0;
	c->write_err = 0;
	if (!c->passive) {
		c->reconnect_at_us = nf_now_us() + c->backoff_us;
		c->backoff_us = c->backoff_us * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : c->backoff_us * 2;
	}
	if (was == ST_IDLE || was == ST_CONNECTING) {
		NF_LOG_RL(INFO, LOG_MOD, "cannot connect to the switch: %s", reason_str(reason));
		return;
	}
	if (was != ST_READY) {
		NF_LOG(INFO, LOG_MOD, "connection lost during the handshake: %s", reason_str(reason));
		return;
	}
	NF_LOG(WARN, LOG_MOD, "switch %016" PRIx64 " disconnected: %s", c->features.datapath_id,
	       reason_str(reason));
	pending_fail_all(c, reason);
	if (c->cbs.disconnected)
		c->cbs.disconnected(c, c->arg, reason);
}

void ofconn_disconnect(struct ofconn *c)
{
	if (c->fd >= 0)
		conn_close(c, -ECONNABORTED);
}

static void accept_run(struct ofconn *c, uint64_t now)
{
	int fd;

	while (c->listen_fd >= 0) {
		fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR)
				return;
			continue;
		}
		if (c->fd >= 0) {
			NF_LOG(INFO, LOG_MOD, "a new connection replaces the current one");
			conn_close(c, -ECONNABORTED);
		}
		conn_start(c, fd, now);
	}
}

/* Active mode: start a connection when the backoff allows, finish one in progress. */
static void connect_run(struct ofconn *c, uint64_t now)
{
	struct pollfd pfd;
	int err = 0, fd;
	socklen_t len = sizeof(err);

	if (c->state == ST_IDLE && now >= c->reconnect_at_us) {
		fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return;
		c->fd = fd;
		c->state = ST_CONNECTING;
		c->handshake_deadline_us = now + c->echo_us * (c->max_missed + 1);
		if (connect(fd, (struct sockaddr *)&c->addr, c->addr_len) == 0) {
			c->fd = -1;
			conn_start(c, fd, now);
		} else if (errno != EINPROGRESS) {
			conn_close(c, -errno);
		}
		return;
	}
	if (c->state != ST_CONNECTING)
		return;
	pfd = (struct pollfd){ .fd = c->fd, .events = POLLOUT };
	if (poll(&pfd, 1, 0) <= 0)
		return;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		conn_close(c, -err);
		return;
	}
	fd = c->fd;
	c->fd = -1;
	conn_start(c, fd, now);
}

/* ---- Input dispatch ---- */

static void send_echo_reply(struct ofconn *c, const uint8_t *msg, const struct ofp_header *h)
{
	struct ofp_buf b = OFP_BUF_INIT;

	ofp_echo_encode(&b, OFPT_ECHO_REPLY, h->xid, msg + OFP_HEADER_SIZE,
			h->length - OFP_HEADER_SIZE);
	send_own(c, &b, h->xid);
}

static void on_hello(struct ofconn *c, const uint8_t *msg, size_t size)
{
	struct ofp_buf b = OFP_BUF_INIT;
	struct ofp_hello hello;
	const char *why = NULL;
	int v;

	if (ofp_hello_decode(msg, size, &hello, &why) < 0) {
		NF_LOG(WARN, LOG_MOD, "bad HELLO from the switch: %s", why);
		conn_close(c, -EPROTO);
		return;
	}
	v = ofp_version_negotiate(&hello, OUR_VERSIONS);
	if (v < 0) {
		NF_LOG(WARN, LOG_MOD, "switch speaks OpenFlow versions 0x%x (header 0x%02x), we 0x04",
		       hello.bitmap, hello.version);
		ofp_error_encode(&b, 0, OFPET_HELLO_FAILED, OFPHFC_INCOMPATIBLE, "no common version", 17);
		send_own(c, &b, xid_next(c));
		conn_close(c, v);
		return;
	}
	c->features_xid = xid_next(c);
	c->state = ST_FEATURES;
	ofp_features_request_encode(&b, 0);
	send_own(c, &b, c->features_xid);
}

static void on_features(struct ofconn *c, const uint8_t *msg, size_t size)
{
	const char *why = NULL;

	if (ofp_features_reply_decode(msg, size, &c->features, &why) < 0) {
		NF_LOG(WARN, LOG_MOD, "bad FEATURES_REPLY: %s", why);
		conn_close(c, -EPROTO);
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
		conn_close(c, -EPROTO);
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

static void dispatch(struct ofconn *c, const uint8_t *msg, size_t size, uint64_t now)
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
			conn_close(c, -EPROTO);
		return;
	}
	if (h.version != OFP13_VERSION) {
		ofp_error_encode(&b, h.xid, OFPET_BAD_REQUEST, OFPBRC_BAD_VERSION, msg,
				 size < 64 ? size : 64);
		send_own(c, &b, h.xid);
		return;
	}
	dispatch_msg(c, msg, size, &h);
}

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
			conn_close(c, -EPROTO);
			return;
		}
		if (len == 0 || (size_t)len > c->in.size - ofs)
			break;
		dispatch(c, c->in.data + ofs, len, now);
		ofs += len;
	}
	if (c->conn_seq != seq || ofs == 0)
		return;
	memmove(c->in.data, c->in.data + ofs, c->in.size - ofs);
	c->in.size -= ofs;
}

static void read_run(struct ofconn *c, uint64_t now)
{
	uint8_t *p;
	ssize_t n;

	while (c->fd >= 0 && c->state >= ST_HELLO) {
		p = ofp_buf_put_uninit(&c->in, READ_CHUNK);
		if (!p) {
			conn_close(c, -ENOMEM);
			return;
		}
		n = recv(c->fd, p, READ_CHUNK, MSG_DONTWAIT);
		c->in.size -= READ_CHUNK - (n > 0 ? n : 0);
		if (n == 0) {
			conn_close(c, -ECONNRESET);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(c, -errno);
			return;
		}
		input_process(c, now);
	}
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
		conn_close(c, -ETIMEDOUT);
		return;
	}
	c->n_unanswered++;
	ofp_echo_encode(&b, OFPT_ECHO_REQUEST, 0, NULL, 0);
	send_own(c, &b, xid_next(c));
}

static void timers_run(struct ofconn *c, uint64_t now)
{
	if (c->state == ST_READY)
		keepalive_run(c, now);
	else if (c->state != ST_IDLE && now >= c->handshake_deadline_us)
		conn_close(c, -ETIMEDOUT);
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

/* ---- The loop ---- */

void ofconn_run(struct ofconn *c, uint64_t now)
{
	if (c->passive)
		accept_run(c, now);
	else
		connect_run(c, now);
	read_run(c, now);
	if (c->fd >= 0 && c->state >= ST_HELLO)
		out_flush(c);
	if (c->write_err)
		conn_close(c, c->write_err);
	timers_run(c, now);
}

int ofconn_pollfds(const struct ofconn *c, struct pollfd *fds, int n_max)
{
	int n = 0;

	if (c->listen_fd >= 0 && n < n_max)
		fds[n++] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
	if (c->fd >= 0 && n < n_max) {
		fds[n] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
		if (c->state == ST_CONNECTING || c->out_ofs < c->out.size)
			fds[n].events |= POLLOUT;
		n++;
	}
	return n;
}

int ofconn_poll(struct ofconn *c, int timeout_ms)
{
	struct pollfd fds[2];
	int n = ofconn_pollfds(c, fds, 2);
	uint64_t now = nf_now_us(), wake = ofconn_next_wakeup_us(c);

	uint64_t ms;

	if (wake <= now) {
		timeout_ms = 0;
	} else if (wake != UINT64_MAX) {
		ms = (wake - now + 999) / 1000;
		if (timeout_ms < 0 || ms < (uint64_t)timeout_ms)
			timeout_ms = ms > INT_MAX ? INT_MAX : (int)ms;
	}
	if (poll(fds, n, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	ofconn_run(c, nf_now_us());
	return 0;
}
