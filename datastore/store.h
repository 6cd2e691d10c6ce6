/* Redis client layer: one connection per lcore, pipelined batches, reconnect with backoff,
 * Lua scripts loaded on connect, and server-assisted cache invalidation (CLIENT TRACKING). */
#ifndef DATASTORE_STORE_H
#define DATASTORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "datastore/scripts.h"

struct store_cfg {
	char host[256];		/* host name or address; ignored when unix_path is set */
	uint16_t port;		/* default 6379 */
	char unix_path[108];	/* unix socket path, or "" for TCP */
	char password[128];	/* AUTH password, or "" */
	unsigned timeout_ms;	/* connect and per-command timeout (default 200) */
	unsigned backoff_min_ms;	/* first reconnect delay (default 10) */
	unsigned backoff_max_ms;	/* reconnect delay cap (default 1000) */
	bool tracking;		/* CLIENT TRACKING: deliver invalidations of keys this connection read */
};

/* Fill 'cfg' with the defaults above (127.0.0.1:6379, no password, tracking off). */
void store_cfg_default(struct store_cfg *cfg);

/* Parse a store address into 'cfg': "host:port", "host", "unix:/path/to/sock", or
 * "redis://[:password@]host[:port]". Returns 0, or -EINVAL with a reason in 'err'. */
int store_cfg_parse_url(struct store_cfg *cfg, const char *url, char *err, size_t errsz);

struct store;

/* Create a store handle and try to connect once. Never fails because Redis is down: the
 * handle starts disconnected and store_ready() keeps retrying with backoff. 'who' names the
 * owner in log lines. Returns NULL only on bad arguments or out of memory. The caller owns
 * the handle and frees it with store_close(). */
struct store *store_open(const struct store_cfg *cfg, const char *who);
void store_close(struct store *st);

/* True when connected. When disconnected and the backoff delay has passed, tries to
 * reconnect (blocking at most timeout_ms), AUTHs, loads every script and re-enables
 * tracking. The outage is logged once when it starts and once when it ends. */
bool store_ready(struct store *st, uint64_t now_us);

/* Incremented on every successful (re)connect. A cache in front of the store must be
 * flushed when this changes: invalidations may have been lost while disconnected. */
uint64_t store_generation(const struct store *st);

/* Pipelining: append any number of commands, then read exactly one reply per command.
 * Appending never does I/O; the first store_read_reply() of a batch sends the whole batch
 * (one round trip). Return 0 or a negative errno (-ENOTCONN when disconnected). */
int store_append_argv(struct store *st, int argc, const char **argv, const size_t *argvlen);

/* Append EVALSHA of script 'id' with 'n_keys' keys followed by the other arguments:
 * argv[0 .. n_keys-1] are keys, the rest are script arguments. */
int store_append_script(struct store *st, enum store_script id, int n_keys,
			int argc, const char **argv, const size_t *argvlen);

/* Read the next reply of the batch into '*reply' (the caller frees it with
 * freeReplyObject). On an I/O error or timeout the connection is marked down, the rest of
 * the batch is discarded and -ENOTCONN (or -ETIMEDOUT) is returned for it. A NOSCRIPT
 * reply makes the store reload its scripts before the next batch (the reply is still
 * returned: see store_reply_is_noscript()). */
int store_read_reply(struct store *st, redisReply **reply);

/* Read and free all outstanding replies of the current batch. */
void store_discard_replies(struct store *st);

/* Send the appended commands now, without reading their replies (store_async.c); collect
 * them later with store_try_read_reply(). Returns 0, or -ENOTCONN (the store is then
 * down and the batch lost). The write blocks only while the kernel's send buffer is full,
 * at most the store timeout. */
int store_flush(struct store *st);

/* The next reply of the batch if it has arrived, without waiting: 1 with '*reply' (the
 * caller frees it), 0 not yet, -ENOTCONN when the connection failed (marked down). */
int store_try_read_reply(struct store *st, redisReply **reply);

/* Drop the connection (replies still pending are lost) and retry later, as after a
 * timeout: for a caller whose replies did not come in time. */
void store_reset(struct store *st, const char *why);

/* Number of appended commands whose replies have not been read yet. */
unsigned store_pending(const struct store *st);

bool store_reply_is_noscript(const redisReply *r);

/* One synchronous command (control path). Returns the reply (caller frees) or NULL when
 * disconnected or on I/O error. */
redisReply *store_command_argv(struct store *st, int argc, const char **argv, const size_t *argvlen);

/* printf-style convenience for the control path: same contract as store_command_argv. */
redisReply *store_command(struct store *st, const char *fmt, ...);

/* Deliver pending invalidations without blocking: 'cb' is called once per invalidated key,
 * with key == NULL and len == 0 meaning "everything may be stale: flush". Returns the
 * number of callbacks made, or a negative errno. No-op (0) when tracking is off. */
int store_poll_invalidations(struct store *st, void (*cb)(void *arg, const char *key, size_t len),
			     void *arg);

struct store_stats {
	uint64_t round_trips;	/* batches sent (each one network round trip) */
	uint64_t commands;	/* commands appended */
	uint64_t errors;	/* error replies and I/O failures */
	uint64_t reconnects;	/* successful connects after the first */
	uint64_t noscript;	/* NOSCRIPT replies seen */
	uint64_t invalidations;	/* invalidated keys delivered */
};
const struct store_stats *store_get_stats(const struct store *st);

#endif
