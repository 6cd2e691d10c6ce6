/* Store pipelined batches: append, read and discard replies, NOSCRIPT reload. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "datastore/store_int.h"
#include "nf/log.h"

#define STORE_MAX_ARGS 64	/* EVALSHA argv: "EVALSHA", sha, n_keys, then up to 61 more */

/* Start the batch with one hidden SCRIPT LOAD per script (after NOSCRIPT). */
static int scripts_append_reload(struct store *st)
{
	const char *argv[3] = { "SCRIPT", "LOAD", NULL };
	size_t argvlen[3] = { 6, 4, 0 };
	int id;

	for (id = 0; id < SCRIPT__COUNT; id++) {
		argv[2] = store_script_text(id, &argvlen[2]);
		if (redisAppendCommandArgv(st->ctx, 3, argv, argvlen) != REDIS_OK)
			return -ENOMEM;
		st->n_hidden++;
	}
	st->reload = false;
	return 0;
}

int store_append_argv(struct store *st, int argc, const char **argv, const size_t *argvlen)
{
	if (!st->ctx)
		return -ENOTCONN;
	if (argc <= 0)
		return -EINVAL;
	if (st->n_pending == 0 && st->n_hidden == 0) {
		st->sent = false;
		st->n_failed = 0;
		if (st->reload && scripts_append_reload(st) < 0)
			return -ENOMEM;
	}
	if (redisAppendCommandArgv(st->ctx, argc, argv, argvlen) != REDIS_OK)
		return -ENOMEM;	/* only fails when it cannot allocate */
	st->n_pending++;
	st->stats.commands++;
	return 0;
}

int store_append_script(struct store *st, enum store_script id, int n_keys,
			int argc, const char **argv, const size_t *argvlen)
{
	const char *av[STORE_MAX_ARGS];
	size_t avlen[STORE_MAX_ARGS];
	char nk[16];
	int i;

	if ((unsigned)id >= SCRIPT__COUNT || n_keys < 0 || argc < n_keys)
		return -EINVAL;
	if (argc > STORE_MAX_ARGS - 3)
		return -E2BIG;
	if (!st->ctx)
		return -ENOTCONN;
	av[0] = "EVALSHA";
	av[1] = st->shas[id];
	av[2] = nk;
	avlen[0] = 7;
	avlen[1] = SHA_LEN;
	avlen[2] = (size_t)snprintf(nk, sizeof(nk), "%d", n_keys);
	for (i = 0; i < argc; i++) {
		av[3 + i] = argv[i];
		avlen[3 + i] = argvlen ? argvlen[i] : strlen(argv[i]);
	}
	return store_append_argv(st, argc + 3, av, avlen);
}

/* The connection failed while replies were pending: mark down and report 'err' for this
 * reply and every other reply of the batch. */
static int batch_fail(struct store *st, int err, const char *why)
{
	unsigned left = st->n_pending ? st->n_pending - 1 : 0;

	store_mark_down(st, why);
	st->n_failed = left;
	st->fail_err = err;
	return err;
}

/* Read one reply off the main connection; on failure mark the store down. */
static int conn_get_reply(struct store *st, redisReply **reply)
{
	char why[160];
	void *r = NULL;
	int saved;

	if (redisGetReply(st->ctx, &r) == REDIS_OK && r) {
		*reply = r;
		return 0;
	}
	saved = errno;
	/* SO_RCVTIMEO expiring makes read() fail with EAGAIN on the blocking socket. */
	if (st->ctx->err == REDIS_ERR_IO && (saved == EAGAIN || saved == EWOULDBLOCK)) {
		snprintf(why, sizeof(why), "no reply within %u ms", st->cfg.timeout_ms);
		return batch_fail(st, -ETIMEDOUT, why);
	}
	snprintf(why, sizeof(why), "%s", st->ctx->errstr[0] ? st->ctx->errstr : "I/O error");
	return batch_fail(st, -ENOTCONN, why);
}

/* Consume the hidden SCRIPT LOAD replies at the head of the batch. */
static int scripts_read_reload(struct store *st)
{
	redisReply *r;
	int rc;

	while (st->n_hidden > 0) {
		rc = conn_get_reply(st, &r);
		if (rc < 0)
			return rc;
		st->n_hidden--;
		if (r->type == REDIS_REPLY_STRING && r->len == SHA_LEN) {
			memcpy(st->shas[SCRIPT__COUNT - 1 - st->n_hidden], r->str, SHA_LEN + 1);
		} else {
			st->stats.errors++;
			st->reload = true;
			NF_LOG_RL(WARN, LOG_MOD, "SCRIPT LOAD failed (%s): %s", st->who,
				  r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		}
		freeReplyObject(r);
	}
	return 0;
}

/* A read with nothing pending: the rest of a failed batch, or a caller error. */
static int read_nothing_pending(struct store *st)
{
	if (st->n_failed > 0) {
		st->n_failed--;
		return st->fail_err;
	}
	return st->ctx ? -EINVAL : -ENOTCONN;
}

void store_reply_account(struct store *st, const redisReply *r)
{
	if (r->type != REDIS_REPLY_ERROR)
		return;
	st->stats.errors++;
	if (store_reply_is_noscript(r)) {
		st->stats.noscript++;
		st->reload = true;
	}
}

/* On success the caller owns '*reply' and frees it with freeReplyObject(). */
int store_read_reply(struct store *st, redisReply **reply)
{
	int rc;

	*reply = NULL;
	if (st->n_pending == 0)
		return read_nothing_pending(st);
	if (!st->sent) {
		st->sent = true;
		st->stats.round_trips++;
	}
	rc = scripts_read_reload(st);
	if (rc < 0)
		return rc;
	rc = conn_get_reply(st, reply);
	if (rc < 0)
		return rc;
	st->n_pending--;
	store_reply_account(st, *reply);
	return 0;
}

void store_discard_replies(struct store *st)
{
	redisReply *r;

	while (st->n_pending > 0) {
		if (store_read_reply(st, &r) == 0)
			freeReplyObject(r);
	}
	st->n_failed = 0;
}

unsigned store_pending(const struct store *st)
{
	return st->n_pending;
}

bool store_reply_is_noscript(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_ERROR && r->len >= 8 && strncmp(r->str, "NOSCRIPT", 8) == 0;
}
