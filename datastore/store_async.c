/* Batches sent now and answered later, for callers that must not wait on the poll loop
 * (the heartbeat publisher): send without reading, then collect the replies that have
 * arrived, never blocking for one. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>

#include "datastore/store_int.h"

int store_flush(struct store *st)
{
	int done = 0;

	if (!st->ctx)
		return -ENOTCONN;
	if (st->n_pending == 0)
		return 0;
	if (!st->sent) {
		st->sent = true;
		st->stats.round_trips++;
	}
	while (!done) {
		if (redisBufferWrite(st->ctx, &done) != REDIS_OK) {
			char why[160];

			snprintf(why, sizeof(why), "%s", st->ctx->errstr[0] ? st->ctx->errstr :
				 "I/O error");
			store_mark_down(st, why);
			return -ENOTCONN;
		}
	}
	return 0;
}

/* Whether the main connection has bytes to read now. */
static bool conn_readable(const struct store *st)
{
	struct pollfd p = { .fd = st->ctx->fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

int store_try_read_reply(struct store *st, redisReply **reply)
{
	void *r = NULL;

	*reply = NULL;
	/* Nothing pending and a failed batch answer at once; hidden SCRIPT LOAD replies (only
	 * after a NOSCRIPT, so never on a connection that runs no script) are read blocking. */
	if (st->n_pending == 0 || st->n_hidden > 0 || st->n_failed > 0)
		return store_read_reply(st, reply) == 0 ? 1 : -ENOTCONN;
	if (!st->ctx)
		return -ENOTCONN;
	if (redisGetReplyFromReader(st->ctx, &r) != REDIS_OK)
		goto fail;
	if (r == NULL && conn_readable(st)) {
		if (redisBufferRead(st->ctx) != REDIS_OK ||
		    redisGetReplyFromReader(st->ctx, &r) != REDIS_OK)
			goto fail;
	}
	if (r == NULL)
		return 0;
	st->n_pending--;
	*reply = r;
	store_reply_account(st, r);
	return 1;
fail:
	store_reset(st, st->ctx->errstr[0] ? st->ctx->errstr : "I/O error");
	return -ENOTCONN;
}

void store_reset(struct store *st, const char *why)
{
	if (st->ctx || st->probe)
		store_mark_down(st, why);
}
