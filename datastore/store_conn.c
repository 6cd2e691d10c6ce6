/* Store connections: connect, AUTH, script loading, reconnect with backoff, outage logging. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>

#include "datastore/store_int.h"
#include "nf/clock.h"
#include "nf/log.h"

static struct timeval us_to_tv(uint64_t us)
{
	struct timeval tv = { .tv_sec = (time_t)(us / 1000000), .tv_usec = (suseconds_t)(us % 1000000) };

	return tv;
}

void store_setup_init(struct setup *su, const struct store_cfg *cfg)
{
	su->deadline_us = nf_now_us() + (uint64_t)cfg->timeout_ms * 1000;
	su->err[0] = '\0';
}

/* Time left until the deadline (at least 1 ms: a zero timeout would mean "forever"). */
static struct timeval setup_time_left(const struct setup *su)
{
	uint64_t now = nf_now_us();

	return us_to_tv(su->deadline_us > now + 1000 ? su->deadline_us - now : 1000);
}

/* Run one setup command on 'c' within the time left. On failure (I/O error, timeout or
 * error reply) put "what: reason" into 'su->err' and return NULL; otherwise the caller
 * frees the reply. */
redisReply *store_setup_cmd(redisContext *c, struct setup *su, const char *what, int argc,
			    const char **argv, const size_t *argvlen)
{
	redisReply *r = NULL;

	if (redisSetTimeout(c, setup_time_left(su)) == REDIS_OK)
		r = redisCommandArgv(c, argc, argv, argvlen);
	if (!r) {
		snprintf(su->err, sizeof(su->err), "%s: %s", what, c->errstr);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(su->err, sizeof(su->err), "%s: %s", what, r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* Like store_setup_cmd() for commands whose reply is not needed. */
int store_setup_cmd_ok(redisContext *c, struct setup *su, const char *what, int argc,
		       const char **argv)
{
	redisReply *r = store_setup_cmd(c, su, what, argc, argv, NULL);

	if (!r)
		return -ENOTCONN;
	freeReplyObject(r);
	return 0;
}

static redisContext *conn_connect(const struct store_cfg *cfg, const struct setup *su)
{
	if (cfg->unix_path[0])
		return redisConnectUnixWithTimeout(cfg->unix_path, setup_time_left(su));
	return redisConnectWithTimeout(cfg->host, cfg->port, setup_time_left(su));
}

/* Connect, enable TCP keepalive and AUTH. Returns the context (the caller frees it with
 * redisFree) or NULL with the reason in 'su->err'. hiredis sets TCP_NODELAY itself. */
redisContext *store_conn_open(const struct store_cfg *cfg, struct setup *su)
{
	const char *auth[] = { "AUTH", cfg->password };
	redisContext *c = conn_connect(cfg, su);

	if (!c) {
		snprintf(su->err, sizeof(su->err), "out of memory");
		return NULL;
	}
	if (c->err || (!cfg->unix_path[0] && redisEnableKeepAlive(c) != REDIS_OK)) {
		snprintf(su->err, sizeof(su->err), "%s", c->errstr);
		goto err;
	}
	if (cfg->password[0] && store_setup_cmd_ok(c, su, "AUTH", 2, auth) < 0)
		goto err;
	return c;
err:
	redisFree(c);
	return NULL;
}

/* SCRIPT LOAD every script on the main connection and remember the SHA1s. */
int store_scripts_load(struct store *st, struct setup *su)
{
	const char *argv[3] = { "SCRIPT", "LOAD", NULL };
	size_t argvlen[3] = { 6, 4, 0 };
	redisReply *r;
	int id;

	for (id = 0; id < SCRIPT__COUNT; id++) {
		argv[2] = store_script_text(id, &argvlen[2]);
		r = store_setup_cmd(st->ctx, su, store_script_name(id), 3, argv, argvlen);
		if (!r)
			return -ENOTCONN;
		if (r->type != REDIS_REPLY_STRING || r->len != SHA_LEN) {
			snprintf(su->err, sizeof(su->err), "%s: unexpected SCRIPT LOAD reply",
				 store_script_name(id));
			freeReplyObject(r);
			return -EPROTO;
		}
		memcpy(st->shas[id], r->str, SHA_LEN + 1);
		freeReplyObject(r);
	}
	st->reload = false;
	return 0;
}
void store_conns_free(struct store *st)
{
	store_probe_close(st);
	if (st->ctx)
		redisFree(st->ctx);
	if (st->inval)
		redisFree(st->inval);
	st->ctx = NULL;
	st->inval = NULL;
}

/* From now on every call on the main connection may block at most timeout_ms. */
int store_conn_set_timeout(struct store *st, struct setup *su)
{
	if (redisSetTimeout(st->ctx, us_to_tv((uint64_t)st->cfg.timeout_ms * 1000)) == REDIS_OK)
		return 0;
	snprintf(su->err, sizeof(su->err), "%s", st->ctx->errstr);
	return -ENOTCONN;
}

/* One connect attempt: connection(s), scripts, tracking. */
static int store_connect(struct store *st, struct setup *su)
{
	st->ctx = store_conn_open(&st->cfg, su);
	if (!st->ctx)
		return -ENOTCONN;
	if (store_scripts_load(st, su) < 0)
		goto err;
	if (st->cfg.tracking && store_tracking_enable(st, su) < 0)
		goto err;
	if (store_conn_set_timeout(st, su) < 0)
		goto err;
	st->generation++;
	if (st->generation > 1)
		st->stats.reconnects++;
	st->backoff_ms = st->cfg.backoff_min_ms;
	st->n_failed = 0;
	return 0;
err:
	store_conns_free(st);
	return -ENOTCONN;
}
/* ---- Outages and reconnects ---- */

static void retry_schedule(struct store *st, uint64_t now_us)
{
	st->next_retry_us = now_us + (uint64_t)st->backoff_ms * 1000;
	st->backoff_ms = st->backoff_ms > st->cfg.backoff_max_ms / 2 ? st->cfg.backoff_max_ms
								       : st->backoff_ms * 2;
}

/* Log the start of an outage, once. */
static void outage_begin(struct store *st, uint64_t now_us, const char *why)
{
	if (st->outage)
		return;
	st->outage = true;
	st->outage_start_us = now_us;
	NF_LOG(WARN, LOG_MOD, "store unreachable (%s, %s): %s", st->who, st->addr, why);
}

static void outage_end(struct store *st, uint64_t now_us)
{
	if (!st->outage) {
		NF_LOG(INFO, LOG_MOD, "store connected (%s, %s)", st->who, st->addr);
		return;
	}
	NF_LOG(INFO, LOG_MOD, "store reconnected after %" PRIu64 " ms, %u attempts (%s, %s)",
	       (now_us - st->outage_start_us) / 1000, st->n_attempts, st->who, st->addr);
	st->outage = false;
	st->n_attempts = 0;
}

/* Drop the connections after an I/O error or timeout: pending replies are lost. */
void store_mark_down(struct store *st, const char *why)
{
	uint64_t now = nf_now_us();

	store_conns_free(st);
	st->stats.errors++;
	st->n_pending = 0;
	st->n_hidden = 0;
	st->sent = false;
	st->n_attempts = 0;
	outage_begin(st, now, why);
	retry_schedule(st, now);
}

bool store_try_reconnect(struct store *st, uint64_t now_us)
{
	char why[256];
	int rc = store_probe_poll(st, now_us, why, sizeof(why));

	if (rc == 0)
		return false;	/* no answer yet: store_ready() looks again on its next call */
	if (rc < 0) {
		st->n_attempts++;
		NF_LOG(DEBUG, LOG_MOD, "store probe %u failed (%s, %s): %s", st->n_attempts, st->who,
		       st->addr, why);
		outage_begin(st, now_us, why);
		retry_schedule(st, now_us);
		return false;
	}
	return store_try_connect(st, now_us);
}

/* One connect attempt, with logging and backoff. */
bool store_try_connect(struct store *st, uint64_t now_us)
{
	struct setup su;

	st->n_attempts++;
	store_setup_init(&su, &st->cfg);
	if (store_connect(st, &su) == 0) {
		outage_end(st, now_us);
		return true;
	}
	NF_LOG(DEBUG, LOG_MOD, "store connect attempt %u failed (%s, %s): %s", st->n_attempts,
	       st->who, st->addr, su.err);
	outage_begin(st, now_us, su.err);
	retry_schedule(st, now_us);
	return false;
}
