/* Private to the store module: the store struct and helpers shared by its files. */
#ifndef DATASTORE_STORE_INT_H
#define DATASTORE_STORE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "datastore/store.h"

#define LOG_MOD "store"
#define SHA_LEN 40

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
	redisContext *probe;		/* a reconnect's liveness probe (non-blocking), or NULL */
	uint64_t probe_deadline_us;
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

/* A connect attempt: everything it does must finish by 'deadline_us' (so store_ready()
 * blocks at most timeout_ms in total); 'err' says why it failed. */
struct setup {
	uint64_t deadline_us;
	char err[256];
};

/* Connections (store_conn.c). */
void store_setup_init(struct setup *su, const struct store_cfg *cfg);
redisReply *store_setup_cmd(redisContext *c, struct setup *su, const char *what, int argc,
			    const char **argv, const size_t *argvlen);
int store_setup_cmd_ok(redisContext *c, struct setup *su, const char *what, int argc,
		       const char **argv);
redisContext *store_conn_open(const struct store_cfg *cfg, struct setup *su);
int store_scripts_load(struct store *st, struct setup *su);
void store_conns_free(struct store *st);
int store_conn_set_timeout(struct store *st, struct setup *su);
void store_mark_down(struct store *st, const char *why);
bool store_try_connect(struct store *st, uint64_t now_us);
/* A retry while down: probe first (store_probe.c), then connect when the server answers. */
bool store_try_reconnect(struct store *st, uint64_t now_us);

/* Liveness probe (store_probe.c): 1 the server answered, 0 no answer yet (call again), -1
 * failed or timed out (why in 'err'). */
int store_probe_poll(struct store *st, uint64_t now_us, char *err, size_t errsz);
void store_probe_close(struct store *st);

/* Invalidations (store_inval.c). */
int store_tracking_enable(struct store *st, struct setup *su);

/* Replies (store_batch.c). */
void store_reply_account(struct store *st, const redisReply *r);

#endif
