/* Private to the ofconn module: the connection struct and helpers shared by its files. */
#ifndef ORCHESTRATOR_OFCONN_INT_H
#define ORCHESTRATOR_OFCONN_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "orchestrator/ofconn.h"

#define LOG_MOD "ofconn"
#define OUR_VERSIONS (1u << OFP13_VERSION)
#define BACKOFF_MIN_US 100000
#define BACKOFF_MAX_US 4000000

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

/* Life cycle (ofconn.c). */
void ofconn_conn_close(struct ofconn *c, int reason);

/* Output and input (ofconn_io.c). */
uint32_t ofconn_xid_next(struct ofconn *c);
void ofconn_out_flush(struct ofconn *c);
int ofconn_out_queue(struct ofconn *c, const uint8_t *msg, size_t size, uint32_t xid);
void ofconn_send_own(struct ofconn *c, struct ofp_buf *b, uint32_t xid);
int ofconn_check_one_msg(const struct ofp_buf *msg);
void ofconn_read_run(struct ofconn *c, uint64_t now);

/* Messages and timers (ofconn_dispatch.c). */
void ofconn_dispatch(struct ofconn *c, const uint8_t *msg, size_t size, uint64_t now);
void ofconn_timers_run(struct ofconn *c, uint64_t now);

#endif
