/* Controller side of one OpenFlow 1.3 connection to a switch, non-blocking, driven by the
 * owner's poll loop.
 *
 * Theory of operation. An ofconn either listens (passive: the bridge is pointed at us with
 * `ovs-vsctl set-controller BR tcp:127.0.0.1:PORT`) or connects (active: to a switch
 * listening with ptcp:, retried with backoff). It serves one switch: in passive mode a new
 * incoming connection replaces the current one (a restarted or reconnecting switch), so
 * give each bridge its own listener. On every new connection it sends HELLO, negotiates
 * OpenFlow 1.3, asks for the features, and once the FEATURES_REPLY is in it is "ready" and
 * calls cbs->connected: the owner then (re)installs its flows and groups, since it cannot
 * know what the switch kept. While ready it answers ECHO_REQUESTs, and when nothing has
 * been received for the keepalive interval it sends an ECHO_REQUEST; after 'max_missed'
 * of them go unanswered the peer is declared dead (-ETIMEDOUT). Losing a ready connection
 * fails every pending request and barrier first, then calls cbs->disconnected.
 *
 * Event loop: before each poll() ask ofconn_pollfds() for the descriptors (they change as
 * connections come and go) and ofconn_next_wakeup_us() for a deadline; after it call
 * ofconn_run(), which does all the non-blocking I/O and timers whatever poll() said.
 * ofconn_poll() is that loop's body for an owner with nothing else to wait on.
 *
 * Messages: ofconn_send() stamps a fresh xid on a copy of an encoded message and queues
 * it (the caller keeps its buffer). Changes are confirmed with ofconn_send_barrier(): the
 * switch processes messages in order, so when the BARRIER_REPLY comes back every earlier
 * message is done, and errors for them have arrived first (each goes to cbs->error and is
 * counted in the barrier callback's 'n_errors'). Requests with replies (multipart) use
 * ofconn_request(). Messages handed to callbacks are borrowed for the call's duration.
 * Callbacks may send, but must not destroy the ofconn. Not thread-safe. */
#ifndef ORCH_OFCONN_H
#define ORCH_OFCONN_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestrator/ofp_buf.h"
#include "orchestrator/ofp_msg.h"

struct ofconn;

/* Asynchronous events; any member may be NULL. 'arg' is the one given at creation. */
struct ofconn_cbs {
	/* Handshake done: ofconn_features() is valid. Called on every (re)connection. */
	void (*connected)(struct ofconn *c, void *arg);
	/* A connection that was ready is gone: 'reason' is -ECONNRESET (closed by the peer),
	 * -ETIMEDOUT (keepalive), -ECONNABORTED (replaced by a new connection or dropped with
	 * ofconn_disconnect()), -EPROTO (protocol violation) or a socket error. */
	void (*disconnected)(struct ofconn *c, void *arg, int reason);
	void (*port_status)(struct ofconn *c, void *arg, const struct ofp_port_status *ps);
	/* An ERROR that no ofconn_request() callback claimed (already logged, readably). */
	void (*error)(struct ofconn *c, void *arg, const struct ofp_error *err);
	void (*packet_in)(struct ofconn *c, void *arg, const struct ofp_packet_in *pin);
	/* Any other message from the switch (FLOW_REMOVED, EXPERIMENTER, stray replies). */
	void (*message)(struct ofconn *c, void *arg, const uint8_t *msg, size_t size);
};

/* Completion of ofconn_send_barrier(): 'status' 0 when the BARRIER_REPLY arrived, with
 * 'n_errors' ERRORs received since the previous barrier reply (0: every message sent
 * before this barrier succeeded); -ECONNRESET, -ETIMEDOUT, ... when the connection was
 * lost first (outcome unknown), -ECANCELED from ofconn_destroy(). */
typedef void ofconn_barrier_cb(struct ofconn *c, void *arg, int status, unsigned n_errors);

/* Replies to ofconn_request(): 'status' 0 with a reply in 'msg' (called once per part of
 * a multipart reply; the request is done with the part without OFPMPF_MORE), -EPROTO
 * with the switch's ERROR in 'msg' (done), or a connection error with 'msg' NULL (done). */
typedef void ofconn_reply_cb(struct ofconn *c, void *arg, int status, const uint8_t *msg,
			     size_t size);

/* Listen on 'addr' ("127.0.0.1") and 'port' (0: any free port, see ofconn_local_port())
 * for the switch to connect. 'cbs' is copied. NULL on failure (errno set). */
struct ofconn *ofconn_listen(const char *addr, uint16_t port, const struct ofconn_cbs *cbs,
			     void *arg);
/* Connect to a switch listening on 'addr':'port', and again after every loss. */
struct ofconn *ofconn_connect(const char *addr, uint16_t port, const struct ofconn_cbs *cbs,
			      void *arg);
/* Close everything. Pending barrier and request callbacks get -ECANCELED;
 * cbs->disconnected is not called. NULL is ignored. */
void ofconn_destroy(struct ofconn *c);

/* Keepalive: an ECHO_REQUEST after 'interval_ms' without receiving anything, the peer dead
 * after 'max_missed' unanswered ones (defaults 5000 ms, 3). Also bounds the handshake. */
void ofconn_set_keepalive(struct ofconn *c, uint32_t interval_ms, unsigned max_missed);

/* Fill up to 'n_max' pollfds (2 suffice) and return how many. */
int ofconn_pollfds(const struct ofconn *c, struct pollfd *fds, int n_max);
/* The monotonic time (nf_now_us()) by which ofconn_run() wants to be called even without
 * I/O: the next keepalive or handshake deadline or reconnection attempt. */
uint64_t ofconn_next_wakeup_us(const struct ofconn *c);
/* Accept, connect, read, dispatch, write and run the timers, without blocking. */
void ofconn_run(struct ofconn *c, uint64_t now_us);
/* poll() the connection's descriptors for at most 'timeout_ms' (less when a timer is
 * due), then ofconn_run(). Returns 0 or a negative errno from poll(). */
int ofconn_poll(struct ofconn *c, int timeout_ms);

/* True between cbs->connected and the loss of the connection. */
bool ofconn_is_ready(const struct ofconn *c);
/* The switch's FEATURES_REPLY (datapath id, tables, capabilities) of the current or
 * last connection; zeroed before the first. */
const struct ofp_features *ofconn_features(const struct ofconn *c);
/* How many times the connection became ready (each is a chance the switch lost state). */
uint64_t ofconn_generation(const struct ofconn *c);
/* The local TCP port (of the listener in passive mode). */
uint16_t ofconn_local_port(const struct ofconn *c);

/* Queue a copy of the single encoded message in 'msg' with a fresh xid (returned in
 * '*xid' when not NULL). 0, -ENOTCONN (not ready), -EINVAL ('msg' is not exactly one
 * message) or -ENOBUFS (the output queue is over its limit: the switch is not reading). */
int ofconn_send(struct ofconn *c, const struct ofp_buf *msg, uint32_t *xid);
/* ofconn_send() plus 'cb' for the reply (see ofconn_reply_cb). */
int ofconn_request(struct ofconn *c, const struct ofp_buf *msg, ofconn_reply_cb *cb, void *arg,
		   uint32_t *xid);
/* Send a BARRIER_REQUEST; 'cb' (may be NULL) runs when its reply arrives. */
int ofconn_send_barrier(struct ofconn *c, ofconn_barrier_cb *cb, void *arg, uint32_t *xid);

/* Drop the current connection (-ECONNABORTED). The listener stays and waits for the
 * switch to reconnect; an active ofconn reconnects after its backoff. */
void ofconn_disconnect(struct ofconn *c);

#endif
