/* Store synchronous commands for the control path. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "datastore/store_int.h"
#include "nf/log.h"

/* Check that a synchronous command can be sent now: connected, no batch in flight, and
 * scripts reloaded if a NOSCRIPT asked for it. */
static int command_begin(struct store *st)
{
	struct setup su;

	if (!st->ctx)
		return -ENOTCONN;
	if (st->n_pending > 0 || st->n_hidden > 0) {
		NF_LOG_RL(ERR, LOG_MOD, "store_command while a batch is pending (%s)", st->who);
		return -EBUSY;
	}
	store_setup_init(&su, &st->cfg);
	if (st->reload && (store_scripts_load(st, &su) < 0 || store_conn_set_timeout(st, &su) < 0)) {
		store_mark_down(st, su.err);
		return -ENOTCONN;
	}
	st->stats.commands++;
	st->stats.round_trips++;
	return 0;
}

/* Account for the reply 'r' of a synchronous command; NULL means the connection failed. */
static redisReply *command_end(struct store *st, redisReply *r)
{
	char why[160];

	if (!r) {
		if (st->ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK))
			snprintf(why, sizeof(why), "no reply within %u ms", st->cfg.timeout_ms);
		else
			snprintf(why, sizeof(why), "%s", st->ctx->errstr);
		store_mark_down(st, why);
		return NULL;
	}
	store_reply_account(st, r);
	return r;
}

redisReply *store_command_argv(struct store *st, int argc, const char **argv, const size_t *argvlen)
{
	if (argc <= 0 || command_begin(st) < 0)
		return NULL;
	return command_end(st, redisCommandArgv(st->ctx, argc, argv, argvlen));
}

redisReply *store_command(struct store *st, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	if (command_begin(st) < 0)
		return NULL;
	va_start(ap, fmt);
	r = redisvCommand(st->ctx, fmt, ap);
	va_end(ap);
	return command_end(st, r);
}
