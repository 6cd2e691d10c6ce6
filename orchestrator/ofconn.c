/* Controller side of one OpenFlow 1.3 connection to a switch: life cycle, listen/connect,
 * accept and the poll loop (theory of operation in ofconn.h). */
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
#include "orchestrator/ofconn_int.h"
#include "orchestrator/ofp_proto.h"

#define DEFAULT_ECHO_MS 5000
#define DEFAULT_MAX_MISSED 3
#define LISTEN_BACKLOG 4

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
	ofconn_send_own(c, &b, ofconn_xid_next(c));
}

static const char *reason_str(int reason)
{
	return reason == -EPROTONOSUPPORT ? "no common OpenFlow version" : strerror(-reason);
}

/* End the current connection (if any). A ready one fails its pending requests and then
 * tells the owner. */
void ofconn_conn_close(struct ofconn *c, int reason)
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
		ofconn_conn_close(c, -ECONNABORTED);
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
			ofconn_conn_close(c, -ECONNABORTED);
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
			ofconn_conn_close(c, -errno);
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
		ofconn_conn_close(c, -err);
		return;
	}
	fd = c->fd;
	c->fd = -1;
	conn_start(c, fd, now);
}
/* ---- The loop ---- */

void ofconn_run(struct ofconn *c, uint64_t now)
{
	if (c->passive)
		accept_run(c, now);
	else
		connect_run(c, now);
	ofconn_read_run(c, now);
	if (c->fd >= 0 && c->state >= ST_HELLO)
		ofconn_out_flush(c);
	if (c->write_err)
		ofconn_conn_close(c, c->write_err);
	ofconn_timers_run(c, now);
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
