/* The liveness probe of a reconnect. A reconnect's handshake (connect, AUTH, SCRIPT LOAD,
 * CLIENT TRACKING) blocks until the server answers or the timeout passes; against a server
 * that accepts connections but does not answer (frozen, overloaded: the kernel still
 * completes the TCP handshake), every retry would stall the NF's poll loop for the whole
 * timeout. So a retry first connects without blocking and sends PING; later calls look for
 * the reply without waiting; only once it came does the blocking handshake run. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "datastore/store_int.h"

void store_probe_close(struct store *st)
{
	if (st->probe != NULL)
		redisFree(st->probe);
	st->probe = NULL;
}

static int probe_fail(struct store *st, char *err, size_t errsz, const char *why)
{
	snprintf(err, errsz, "%s", why);
	store_probe_close(st);
	return -1;
}

static int probe_start(struct store *st, uint64_t now_us, char *err, size_t errsz)
{
	const struct store_cfg *cfg = &st->cfg;

	st->probe = cfg->unix_path[0] ? redisConnectUnixNonBlock(cfg->unix_path)
				      : redisConnectNonBlock(cfg->host, cfg->port);
	if (st->probe == NULL)
		return probe_fail(st, err, errsz, "out of memory");
	if (st->probe->err)
		return probe_fail(st, err, errsz, st->probe->errstr);
	if (redisAppendCommand(st->probe, "PING") != REDIS_OK)
		return probe_fail(st, err, errsz, st->probe->errstr);
	st->probe_deadline_us = now_us + (uint64_t)cfg->timeout_ms * 1000;
	return 0;
}

/* Whether the probe's socket is connected and writable now: 1 yes, 0 not yet, -1 failed. */
static int probe_writable(struct store *st)
{
	struct pollfd p = { .fd = st->probe->fd, .events = POLLOUT };
	int n = poll(&p, 1, 0);

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	if (n == 0)
		return 0;
	return p.revents & (POLLERR | POLLHUP | POLLNVAL) ? -1 : 1;
}

int store_probe_poll(struct store *st, uint64_t now_us, char *err, size_t errsz)
{
	void *reply = NULL;
	int done = 0, w;

	if (st->probe == NULL && probe_start(st, now_us, err, errsz) < 0)
		return -1;
	w = probe_writable(st);
	if (w < 0)
		return probe_fail(st, err, errsz, "connection refused or reset");
	if (w > 0 && (redisBufferWrite(st->probe, &done) != REDIS_OK ||
		      redisBufferRead(st->probe) != REDIS_OK ||
		      redisGetReplyFromReader(st->probe, &reply) != REDIS_OK))
		return probe_fail(st, err, errsz, st->probe->errstr);
	if (reply != NULL) {
		freeReplyObject(reply);	/* PONG, or an error such as NOAUTH: it answers */
		store_probe_close(st);
		return 1;
	}
	if (now_us >= st->probe_deadline_us) {
		char why[64];

		snprintf(why, sizeof(why), "no reply within %u ms", st->cfg.timeout_ms);
		return probe_fail(st, err, errsz, why);
	}
	return 0;
}
