/* Redis client layer: connections, pipelined batches, reconnect with backoff, scripts, invalidations. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include "datastore/store.h"
#include "nf/clock.h"
#include "nf/log.h"

#define LOG_MOD "store"
#define STORE_MAX_ARGS 64	/* EVALSHA argv: "EVALSHA", sha, n_keys, then up to 61 more */
#define SHA_LEN 40
#define INVAL_BUF_SIZE 16384
#define INVAL_MAX_READS 64	/* a poll reads at most 1 MB, so it cannot spin forever */
#define INVAL_CHANNEL "__redis__:invalidate"

/*
 * Theory of operation. A store is one blocking hiredis connection ('ctx') used by one
 * thread, plus, with tracking on, a second connection ('inval') subscribed to the
 * invalidation channel that CLIENT TRACKING on 'ctx' redirects to. 'ctx' has SO_RCVTIMEO /
 * SO_SNDTIMEO set to timeout_ms, so no call blocks longer than that. Any I/O error or
 * timeout frees both connections ("down"): a timed-out connection may still deliver the
 * late reply, so it cannot be reused. store_ready() reconnects with exponential backoff;
 * every successful connect bumps the generation, which tells caches in front of the store
 * that invalidations may have been lost.
 *
 * NOSCRIPT (the server's script cache was flushed) sets 'reload': the next batch starts
 * with one hidden SCRIPT LOAD per script, whose replies store_read_reply() consumes before
 * the caller's first reply. Appending therefore never does I/O.
 */
struct store {
	struct store_cfg cfg;
	char who[64];			/* owner, for log lines */
	char addr[400];			/* "host:port" or "unix:/path", for log lines */
	redisContext *ctx;		/* main connection; NULL while down */
	redisContext *inval;		/* invalidation subscriber (tracking only); NULL while down */
	char shas[SCRIPT__COUNT][SHA_LEN + 1];
	bool reload;			/* NOSCRIPT seen: reload the scripts with the next batch */
	unsigned n_pending;		/* caller's replies not read yet */
	unsigned n_hidden;		/* hidden SCRIPT LOAD replies at the head of the batch */
	bool sent;			/* the current batch has been sent (round trip counted) */
	unsigned n_failed;		/* replies of a failed batch still to be reported */
	int fail_err;			/* ... as this negative errno */
	uint64_t generation;
	bool outage;			/* down, and the outage has been logged */
	uint64_t outage_start_us;
	unsigned n_attempts;		/* connect attempts since the outage started */
	uint64_t next_retry_us;
	unsigned backoff_ms;		/* delay before the next retry after this one */
	struct store_stats stats;
};

void store_cfg_default(struct store_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->host, "127.0.0.1");
	cfg->port = 6379;
	cfg->timeout_ms = 200;
	cfg->backoff_min_ms = 10;
	cfg->backoff_max_ms = 1000;
}

/* ---- Address parsing ---- */

static int url_error(char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Put the reason into 'err' (if given) and return -EINVAL. */
static int url_error(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Parse the 'len' characters at 's' as a TCP port (1..65535) into '*port'. */
static int parse_port(const char *s, size_t len, uint16_t *port, char *err, size_t errsz)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0)
		return url_error(err, errsz, "store: empty port");
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return url_error(err, errsz, "store: port '%.*s' is not a number", (int)len, s);
		if (v <= 65535)
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return url_error(err, errsz, "store: port '%.*s' is out of range", (int)len, s);
	*port = (uint16_t)v;
	return 0;
}

/* Copy the host name of 'len' characters at 'h' into 'cfg'. */
static int set_host(struct store_cfg *cfg, const char *h, size_t len, char *err, size_t errsz)
{
	if (len == 0)
		return url_error(err, errsz, "store: empty host name");
	if (len >= sizeof(cfg->host))
		return url_error(err, errsz, "store: host name too long (%zu characters, max %zu)",
				 len, sizeof(cfg->host) - 1);
	memcpy(cfg->host, h, len);
	cfg->host[len] = '\0';
	cfg->unix_path[0] = '\0';
	return 0;
}

/* "[v6addr]" or "[v6addr]:port" of 'len' characters at 's'. */
static int parse_bracketed(struct store_cfg *cfg, const char *s, size_t len, char *err,
			   size_t errsz)
{
	const char *close = memchr(s, ']', len);
	size_t rest;

	if (!close)
		return url_error(err, errsz, "store: missing ']' in '%.*s'", (int)len, s);
	rest = len - (size_t)(close + 1 - s);
	if (rest > 0 && close[1] != ':')
		return url_error(err, errsz, "store: expected ':' after ']' in '%.*s'", (int)len, s);
	if (rest > 0 && parse_port(close + 2, rest - 1, &cfg->port, err, errsz) < 0)
		return -EINVAL;
	return set_host(cfg, s + 1, (size_t)(close - s - 1), err, errsz);
}

/* "host", "host:port", "[v6addr]:port" or a bare IPv6 address, 'len' characters at 's'. */
static int parse_host_port(struct store_cfg *cfg, const char *s, size_t len, char *err,
			   size_t errsz)
{
	const char *colon = memchr(s, ':', len);

	cfg->port = 6379;
	if (len > 0 && s[0] == '[')
		return parse_bracketed(cfg, s, len, err, errsz);
	if (colon && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)))
		return set_host(cfg, s, len, err, errsz);	/* bare IPv6, no port */
	if (!colon)
		return set_host(cfg, s, len, err, errsz);
	if (colon == s)
		return url_error(err, errsz, "store: empty host name in '%.*s'", (int)len, s);
	if (parse_port(colon + 1, len - (size_t)(colon + 1 - s), &cfg->port, err, errsz) < 0)
		return -EINVAL;
	return set_host(cfg, s, (size_t)(colon - s), err, errsz);
}

/* The path of "unix:/path". */
static int parse_unix(struct store_cfg *cfg, const char *path, char *err, size_t errsz)
{
	size_t len = strlen(path);

	if (len == 0)
		return url_error(err, errsz, "store: empty unix socket path in 'unix:'");
	if (path[0] != '/')
		return url_error(err, errsz, "store: unix socket path '%s' is not absolute", path);
	if (len >= sizeof(cfg->unix_path))
		return url_error(err, errsz, "store: unix socket path too long (%zu characters, max %zu)",
				 len, sizeof(cfg->unix_path) - 1);
	memcpy(cfg->unix_path, path, len + 1);
	return 0;
}

/* The user-info part of "redis://:password@...", 'len' characters at 'u'. */
static int parse_userinfo(struct store_cfg *cfg, const char *u, size_t len, char *err, size_t errsz)
{
	if (len == 0 || u[0] != ':')
		return url_error(err, errsz, "store: user names are not supported in redis:// "
				 "addresses (use redis://:password@host)");
	if (len - 1 >= sizeof(cfg->password))
		return url_error(err, errsz, "store: password too long (max %zu characters)",
				 sizeof(cfg->password) - 1);
	memcpy(cfg->password, u + 1, len - 1);
	cfg->password[len - 1] = '\0';
	return 0;
}

/* What follows "redis://": "[:password@]host[:port][/0]". */
static int parse_redis_url(struct store_cfg *cfg, const char *s, char *err, size_t errsz)
{
	const char *at = strrchr(s, '@');
	const char *hp = at ? at + 1 : s;
	const char *path = strchr(hp, '/');
	size_t hp_len = path ? (size_t)(path - hp) : strlen(hp);

	if (at && parse_userinfo(cfg, s, (size_t)(at - s), err, errsz) < 0)
		return -EINVAL;
	if (path && strcmp(path, "/") != 0 && strcmp(path, "/0") != 0)
		return url_error(err, errsz, "store: database '%s' is not supported (only 0)", path);
	if (hp_len == 0)
		return url_error(err, errsz, "store: empty host name in 'redis://%s'", s);
	return parse_host_port(cfg, hp, hp_len, err, errsz);
}

/* 'cfg' is changed only when the whole address is valid. A password is set only by the
 * redis:// form; the other forms leave 'cfg->password' alone. */
int store_cfg_parse_url(struct store_cfg *cfg, const char *url, char *err, size_t errsz)
{
	struct store_cfg c;
	int rc;

	if (!cfg || !url || !url[0])
		return url_error(err, errsz, "store: empty address");
	c = *cfg;
	if (strncmp(url, "unix:", 5) == 0)
		rc = parse_unix(&c, url + 5, err, errsz);
	else if (strncmp(url, "redis://", 8) == 0)
		rc = parse_redis_url(&c, url + 8, err, errsz);
	else if (strstr(url, "://"))
		rc = url_error(err, errsz, "store: unsupported scheme in '%s' (use redis://)", url);
	else
		rc = parse_host_port(&c, url, strlen(url), err, errsz);
	if (rc == 0)
		*cfg = c;
	return rc;
}

/* ---- Connections ---- */

/* A connect attempt: everything it does must finish by 'deadline_us' (so store_ready()
 * blocks at most timeout_ms in total); 'err' says why it failed. */
struct setup {
	uint64_t deadline_us;
	char err[256];
};

static struct timeval us_to_tv(uint64_t us)
{
	struct timeval tv = { .tv_sec = (time_t)(us / 1000000), .tv_usec = (suseconds_t)(us % 1000000) };

	return tv;
}

static void setup_init(struct setup *su, const struct store_cfg *cfg)
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
static redisReply *setup_cmd(redisContext *c, struct setup *su, const char *what, int argc,
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

/* Like setup_cmd() for commands whose reply is not needed. */
static int setup_cmd_ok(redisContext *c, struct setup *su, const char *what, int argc,
			const char **argv)
{
	redisReply *r = setup_cmd(c, su, what, argc, argv, NULL);

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
static redisContext *conn_open(const struct store_cfg *cfg, struct setup *su)
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
	if (cfg->password[0] && setup_cmd_ok(c, su, "AUTH", 2, auth) < 0)
		goto err;
	return c;
err:
	redisFree(c);
	return NULL;
}

/* SCRIPT LOAD every script on the main connection and remember the SHA1s. */
static int scripts_load(struct store *st, struct setup *su)
{
	const char *argv[3] = { "SCRIPT", "LOAD", NULL };
	size_t argvlen[3] = { 6, 4, 0 };
	redisReply *r;
	int id;

	for (id = 0; id < SCRIPT__COUNT; id++) {
		argv[2] = store_script_text(id, &argvlen[2]);
		r = setup_cmd(st->ctx, su, store_script_name(id), 3, argv, argvlen);
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

/* Open the invalidation connection, subscribe it and redirect the tracking of the main
 * connection to it; from then on it is only read, by store_poll_invalidations().
 * NOLOOP: writes made by this connection are not reported back to it. Note that Redis then
 * also stops tracking the written key for this client (its entry in the tracking table is
 * dropped), so later changes by others are reported only after this connection reads the
 * key again. */
static int tracking_enable(struct store *st, struct setup *su)
{
	const char *client_id[] = { "CLIENT", "ID" };
	const char *subscribe[] = { "SUBSCRIBE", INVAL_CHANNEL };
	const char *tracking[] = { "CLIENT", "TRACKING", "ON", "REDIRECT", NULL, "NOLOOP" };
	char id[32];
	redisReply *r;

	st->inval = conn_open(&st->cfg, su);
	if (!st->inval)
		return -ENOTCONN;
	r = setup_cmd(st->inval, su, "CLIENT ID", 2, client_id, NULL);
	if (!r)
		return -ENOTCONN;
	snprintf(id, sizeof(id), "%lld", r->integer);
	freeReplyObject(r);
	if (setup_cmd_ok(st->inval, su, "SUBSCRIBE", 2, subscribe) < 0)
		return -ENOTCONN;
	tracking[4] = id;
	return setup_cmd_ok(st->ctx, su, "CLIENT TRACKING", 6, tracking);
}

static void conns_free(struct store *st)
{
	if (st->ctx)
		redisFree(st->ctx);
	if (st->inval)
		redisFree(st->inval);
	st->ctx = NULL;
	st->inval = NULL;
}

/* From now on every call on the main connection may block at most timeout_ms. */
static int conn_set_timeout(struct store *st, struct setup *su)
{
	if (redisSetTimeout(st->ctx, us_to_tv((uint64_t)st->cfg.timeout_ms * 1000)) == REDIS_OK)
		return 0;
	snprintf(su->err, sizeof(su->err), "%s", st->ctx->errstr);
	return -ENOTCONN;
}

/* One connect attempt: connection(s), scripts, tracking. */
static int store_connect(struct store *st, struct setup *su)
{
	st->ctx = conn_open(&st->cfg, su);
	if (!st->ctx)
		return -ENOTCONN;
	if (scripts_load(st, su) < 0)
		goto err;
	if (st->cfg.tracking && tracking_enable(st, su) < 0)
		goto err;
	if (conn_set_timeout(st, su) < 0)
		goto err;
	st->generation++;
	if (st->generation > 1)
		st->stats.reconnects++;
	st->backoff_ms = st->cfg.backoff_min_ms;
	st->n_failed = 0;
	return 0;
err:
	conns_free(st);
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
static void store_mark_down(struct store *st, const char *why)
{
	uint64_t now = nf_now_us();

	conns_free(st);
	st->stats.errors++;
	st->n_pending = 0;
	st->n_hidden = 0;
	st->sent = false;
	st->n_attempts = 0;
	outage_begin(st, now, why);
	retry_schedule(st, now);
}

/* One connect attempt, with logging and backoff. */
static bool store_try_connect(struct store *st, uint64_t now_us)
{
	struct setup su;

	st->n_attempts++;
	setup_init(&su, &st->cfg);
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

static bool cfg_valid(const struct store_cfg *cfg)
{
	if (!cfg->unix_path[0] && (!cfg->host[0] || cfg->port == 0))
		return false;
	return cfg->timeout_ms > 0 && cfg->backoff_min_ms > 0 &&
	       cfg->backoff_max_ms >= cfg->backoff_min_ms;
}

static void addr_format(struct store *st)
{
	if (st->cfg.unix_path[0])
		snprintf(st->addr, sizeof(st->addr), "unix:%s", st->cfg.unix_path);
	else
		snprintf(st->addr, sizeof(st->addr), "%s:%u", st->cfg.host, st->cfg.port);
}

/* Writing to a connection the server has closed raises SIGPIPE, whose default action
 * would kill the whole NF. Ignore it unless the application installed its own handler:
 * the write then fails with EPIPE and the store goes down like on any other I/O error. */
static void sigpipe_ignore(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
}

struct store *store_open(const struct store_cfg *cfg, const char *who)
{
	struct store *st;

	if (!cfg || !cfg_valid(cfg)) {
		NF_LOG(ERR, LOG_MOD, "store_open: invalid configuration");
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->cfg = *cfg;
	snprintf(st->who, sizeof(st->who), "%s", who ? who : "store");
	addr_format(st);
	st->backoff_ms = cfg->backoff_min_ms;
	sigpipe_ignore();
	store_try_connect(st, nf_now_us());
	return st;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	conns_free(st);
	free(st);
}

/* 'now_us' is on the nf_now_us() clock. */
bool store_ready(struct store *st, uint64_t now_us)
{
	if (st->ctx)
		return true;
	if (now_us < st->next_retry_us)
		return false;
	return store_try_connect(st, now_us);
}

uint64_t store_generation(const struct store *st)
{
	return st->generation;
}

/* ---- Pipelined batches ---- */

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

static void reply_account(struct store *st, const redisReply *r)
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
	reply_account(st, *reply);
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

/* ---- Synchronous commands (control path) ---- */

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
	setup_init(&su, &st->cfg);
	if (st->reload && (scripts_load(st, &su) < 0 || conn_set_timeout(st, &su) < 0)) {
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
	reply_account(st, r);
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

const struct store_stats *store_get_stats(const struct store *st)
{
	return &st->stats;
}
