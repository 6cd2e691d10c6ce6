/* Store invalidations: the CLIENT TRACKING subscriber connection and its polling. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "datastore/store_int.h"

#define INVAL_BUF_SIZE 16384
#define INVAL_MAX_READS 64	/* a poll reads at most 1 MB, so it cannot spin forever */
#define INVAL_CHANNEL "__redis__:invalidate"

/* Open the invalidation connection, subscribe it and redirect the tracking of the main
 * connection to it; from then on it is only read, by store_poll_invalidations().
 * NOLOOP: writes made by this connection are not reported back to it. Note that Redis then
 * also stops tracking the written key for this client (its entry in the tracking table is
 * dropped), so later changes by others are reported only after this connection reads the
 * key again. */
int store_tracking_enable(struct store *st, struct setup *su)
{
	const char *client_id[] = { "CLIENT", "ID" };
	const char *subscribe[] = { "SUBSCRIBE", INVAL_CHANNEL };
	const char *tracking[] = { "CLIENT", "TRACKING", "ON", "REDIRECT", NULL, "NOLOOP" };
	char id[32];
	redisReply *r;

	st->inval = store_conn_open(&st->cfg, su);
	if (!st->inval)
		return -ENOTCONN;
	r = store_setup_cmd(st->inval, su, "CLIENT ID", 2, client_id, NULL);
	if (!r)
		return -ENOTCONN;
	snprintf(id, sizeof(id), "%lld", r->integer);
	freeReplyObject(r);
	if (store_setup_cmd_ok(st->inval, su, "SUBSCRIBE", 2, subscribe) < 0)
		return -ENOTCONN;
	tracking[4] = id;
	return store_setup_cmd_ok(st->ctx, su, "CLIENT TRACKING", 6, tracking);
}
/* ---- Invalidations ----
 *
 * The invalidation connection is only read here, with recv(MSG_DONTWAIT) fed into the
 * context's own reader. This avoids relying on how a given hiredis version treats EAGAIN
 * in redisBufferRead() (0.14 reports it as an I/O error on a blocking context, and the
 * context must stay blocking for the setup commands and its SO_RCVTIMEO), and it keeps any
 * bytes that arrived together with the SUBSCRIBE reply, which are already in that reader.
 */

typedef void (*inval_cb)(void *arg, const char *key, size_t len);

/* Deliver the keys part of an invalidation message; returns the number of callbacks. */
static int inval_keys(const redisReply *keys, inval_cb cb, void *arg)
{
	size_t i;
	int n = 0;

	if (keys->type == REDIS_REPLY_NIL) {
		cb(arg, NULL, 0);	/* FLUSHALL / FLUSHDB: everything may be stale */
		return 1;
	}
	if (keys->type == REDIS_REPLY_STRING) {
		cb(arg, keys->str, keys->len);	/* not sent by Redis 6/7, but harmless */
		return 1;
	}
	for (i = 0; keys->type == REDIS_REPLY_ARRAY && i < keys->elements; i++) {
		if (keys->element[i]->type != REDIS_REPLY_STRING)
			continue;
		cb(arg, keys->element[i]->str, keys->element[i]->len);
		n++;
	}
	return n;
}

/* Deliver one pubsub message ["message", channel, keys]; returns the number of callbacks. */
static int inval_message(struct store *st, const redisReply *r, inval_cb cb, void *arg)
{
	int n;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") != 0)
		return 0;
	n = inval_keys(r->element[2], cb, arg);
	st->stats.invalidations += (uint64_t)n;
	return n;
}

/* Deliver every complete message already buffered in the reader. */
static int inval_drain(struct store *st, inval_cb cb, void *arg)
{
	void *r;
	int n = 0;

	for (;;) {
		r = NULL;
		if (redisReaderGetReply(st->inval->reader, &r) != REDIS_OK) {
			store_mark_down(st, "protocol error on the invalidation connection");
			return -EPROTO;
		}
		if (!r)
			return n;
		n += inval_message(st, r, cb, arg);
		freeReplyObject(r);
	}
}

/* Read what the socket has without blocking: 1 if data was read, 0 if none, or a negative
 * errno if the connection broke (the store is then down). */
static int inval_recv(struct store *st)
{
	char buf[INVAL_BUF_SIZE];
	ssize_t n = recv(st->inval->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n > 0) {
		if (redisReaderFeed(st->inval->reader, buf, (size_t)n) == REDIS_OK)
			return 1;
		store_mark_down(st, "cannot buffer invalidations");
		return -ENOMEM;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	store_mark_down(st, n == 0 ? "invalidation connection closed by the server"
				   : strerror(errno));
	return -ENOTCONN;
}

/* 'cb' must not call back into the store. Returns -ENOTCONN while down; if the invalidation
 * connection breaks the whole store goes down, since invalidations were lost (the next
 * connect changes the generation and the caller flushes). */
int store_poll_invalidations(struct store *st, inval_cb cb, void *arg)
{
	int i, rc, n = 0;

	if (!st->cfg.tracking)
		return 0;
	if (!st->inval)
		return -ENOTCONN;
	for (i = 0;; i++) {
		rc = inval_drain(st, cb, arg);
		if (rc < 0)
			return rc;
		n += rc;
		if (i == INVAL_MAX_READS)
			return n;
		rc = inval_recv(st);
		if (rc <= 0)
			return rc < 0 ? rc : n;
	}
}
