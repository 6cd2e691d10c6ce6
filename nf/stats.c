/* Heartbeat and counter publishing into the store: the control interface the orchestrator reads. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "datastore/store.h"
#include "nf/clock.h"
#include "nf/log.h"
#include "nf/stats.h"

#define STATS_HEARTBEATS_KEY "snf:heartbeats"
#define STATS_N_FIELDS 8			/* nf ns mode pid ts_ms seq pps busy */
#define STATS_HSET_ARGC (2 + 2 * (STATS_N_FIELDS + NF_CTR__COUNT))
#define STATS_VAL_SIZE 72			/* one formatted value (ids are < 64) */
#define STATS_MIN_TTL_MS 3000

struct nf_stats {
	struct store *st;			/* own connection, tracking off */
	const struct nf_counters *per_worker;	/* owned by the runtime */
	unsigned n_workers;
	char id[64], ns[64], name[64];
	const char *mode;
	char key[96];				/* "snf:inst:<id>" */
	unsigned interval_ms;
	uint64_t next_us;			/* next publish */
	uint64_t last_us;			/* previous period's snapshot time */
	struct nf_counters last;		/* previous period's snapshot */
	uint64_t seq;
	uint64_t sent_us;			/* the batch in flight was sent then */
	unsigned timeout_ms;			/* the store's: a batch unanswered this long */
};

/* One HSET under construction: argv points into 'vals'. */
struct stats_cmd {
	const char *argv[STATS_HSET_ARGC];
	size_t argvlen[STATS_HSET_ARGC];
	char vals[STATS_N_FIELDS + NF_CTR__COUNT][STATS_VAL_SIZE];
	int argc;
	unsigned n_vals;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct nf_stats *nf_stats_create(const struct nf_opts *opts, const char *nf_name,
				 const struct nf_counters *per_worker, unsigned n_workers)
{
	struct store_cfg cfg = opts->store;
	struct nf_stats *s;

	if (opts->stats_interval_ms == 0 || per_worker == NULL || n_workers == 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	cfg.tracking = false;
	s->st = store_open(&cfg, "stats");
	if (s->st == NULL) {
		free(s);
		return NULL;
	}
	s->per_worker = per_worker;
	s->n_workers = n_workers;
	snprintf(s->id, sizeof(s->id), "%s", opts->id);
	snprintf(s->ns, sizeof(s->ns), "%s", opts->ns);
	snprintf(s->name, sizeof(s->name), "%s", nf_name);
	snprintf(s->key, sizeof(s->key), "snf:inst:%s", opts->id);
	s->mode = nf_mode_name(opts->mode);
	s->timeout_ms = cfg.timeout_ms;
	s->interval_ms = opts->stats_interval_ms;
	s->last_us = nf_now_us();
	s->next_us = s->last_us + (uint64_t)s->interval_ms * 1000u;
	return s;
}

static void cmd_add(struct stats_cmd *c, const char *s)
{
	c->argv[c->argc] = s;
	c->argvlen[c->argc] = strlen(s);
	c->argc++;
}

/* Append the field 'name' with a printf-formatted value. */
static void cmd_field(struct stats_cmd *c, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cmd_field(struct stats_cmd *c, const char *name, const char *fmt, ...)
{
	char *v = c->vals[c->n_vals++];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, STATS_VAL_SIZE, fmt, ap);
	va_end(ap);
	cmd_add(c, name);
	cmd_add(c, v);
}

/* Packets per second and the busy share of cycles since the previous period. */
static void stats_rates(const struct nf_stats *s, const struct nf_counters *sum, uint64_t now_us,
			double *pps, double *busy)
{
	uint64_t d_us = now_us - s->last_us;
	uint64_t d_rx = sum->v[NF_CTR_RX] - s->last.v[NF_CTR_RX];
	uint64_t d_busy = sum->v[NF_CTR_BUSY_CYCLES] - s->last.v[NF_CTR_BUSY_CYCLES];
	uint64_t d_idle = sum->v[NF_CTR_IDLE_CYCLES] - s->last.v[NF_CTR_IDLE_CYCLES];

	*pps = d_us > 0 ? (double)d_rx * 1e6 / (double)d_us : 0.0;
	*busy = d_busy + d_idle > 0 ? (double)d_busy / (double)(d_busy + d_idle) : 0.0;
}

static void stats_build_hset(const struct nf_stats *s, const struct nf_counters *sum,
			     uint64_t now_us, uint64_t ts_ms, struct stats_cmd *c)
{
	double pps, busy;

	stats_rates(s, sum, now_us, &pps, &busy);
	c->argc = 0;
	c->n_vals = 0;
	cmd_add(c, "HSET");
	cmd_add(c, s->key);
	cmd_field(c, "nf", "%s", s->name);
	cmd_field(c, "ns", "%s", s->ns);
	cmd_field(c, "mode", "%s", s->mode);
	cmd_field(c, "pid", "%ld", (long)getpid());
	cmd_field(c, "ts_ms", "%" PRIu64, ts_ms);
	cmd_field(c, "seq", "%" PRIu64, s->seq);
	cmd_field(c, "pps", "%.0f", pps);
	cmd_field(c, "busy", "%.3f", busy);
	for (unsigned i = 0; i < NF_CTR__COUNT; i++)
		cmd_field(c, nf_ctr_name((enum nf_ctr)i), "%" PRIu64, sum->v[i]);
}

/* Append a command of NUL-terminated strings (at most 4). */
static int stats_append(struct store *st, int argc, const char **argv)
{
	size_t lens[4];

	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	return store_append_argv(st, argc, argv, lens);
}

/* Read the 'n' replies of the batch; complain (rate-limited) about errors. */
static int stats_read_replies(struct nf_stats *s, unsigned n)
{
	redisReply *r;
	int ret = 0;

	for (unsigned i = 0; i < n; i++) {
		int rc = store_read_reply(s->st, &r);

		if (rc < 0) {
			ret = rc;
			continue;
		}
		if (r != NULL && r->type == REDIS_REPLY_ERROR) {
			NF_LOG_RL(WARN, "stats", "publishing %s: %s", s->key, r->str);
			ret = -EIO;
		}
		freeReplyObject(r);
	}
	return ret;
}

/* The replies of the previous batch, without waiting for them (the poll loop must not
 * stall on a store that stopped answering): 1 all in, 0 some still missing, < 0 the
 * connection failed. A batch unanswered after the store timeout drops the connection:
 * store_ready() then retries it, probing without blocking. */
static int stats_collect(struct nf_stats *s, uint64_t now_us)
{
	while (store_pending(s->st) > 0) {
		redisReply *r;
		int rc = store_try_read_reply(s->st, &r);

		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (now_us - s->sent_us < (uint64_t)s->timeout_ms * 1000u)
				return 0;
			store_reset(s->st, "heartbeat not acknowledged within the store timeout");
			return -ETIMEDOUT;
		}
		if (r->type == REDIS_REPLY_ERROR)
			NF_LOG_RL(WARN, "stats", "publishing %s: %s", s->key, r->str);
		freeReplyObject(r);
	}
	return 1;
}

/* One pipelined batch: HSET, PEXPIRE, ZADD, sent now, its replies collected at the next
 * period (long arrived from a live server). */
static int stats_send(struct nf_stats *s, const struct nf_counters *sum, uint64_t now_us)
{
	static struct stats_cmd c;	/* large; only worker 0 publishes */
	uint64_t ts_ms = wall_ms();
	unsigned ttl_ms = s->interval_ms * 10 > STATS_MIN_TTL_MS ? s->interval_ms * 10 :
				  STATS_MIN_TTL_MS;
	char ttl[24], score[24];
	const char *pexpire[] = { "PEXPIRE", s->key, ttl };
	const char *zadd[] = { "ZADD", STATS_HEARTBEATS_KEY, score, s->id };
	int ret;

	snprintf(ttl, sizeof(ttl), "%u", ttl_ms);
	snprintf(score, sizeof(score), "%" PRIu64, ts_ms);
	stats_build_hset(s, sum, now_us, ts_ms, &c);
	ret = store_append_argv(s->st, c.argc, c.argv, c.argvlen);
	if (ret == 0)
		ret = stats_append(s->st, 3, pexpire);
	if (ret == 0)
		ret = stats_append(s->st, 4, zadd);
	if (ret == 0)
		ret = store_flush(s->st);
	if (ret < 0) {
		store_reset(s->st, "heartbeat not sent");
		return ret;
	}
	s->sent_us = now_us;
	return 0;
}

void nf_stats_poll(struct nf_stats *s, uint64_t now_us)
{
	struct nf_counters sum;

	if (s == NULL || now_us < s->next_us)
		return;
	s->next_us = now_us + (uint64_t)s->interval_ms * 1000u;
	nf_counters_sum(s->per_worker, s->n_workers, &sum);
	if (store_ready(s->st, now_us) && stats_collect(s, now_us) == 1) {
		s->seq++;
		stats_send(s, &sum, now_us);
	}
	s->last = sum;
	s->last_us = now_us;
}

void nf_stats_destroy(struct nf_stats *s)
{
	const char *del[] = { "DEL", s != NULL ? s->key : "" };
	const char *zrem[] = { "ZREM", STATS_HEARTBEATS_KEY, s != NULL ? s->id : "" };

	if (s == NULL)
		return;
	if (store_ready(s->st, nf_now_us()) && store_pending(s->st) > 0)
		store_discard_replies(s->st);	/* the last heartbeat's (at most a timeout) */
	if (store_ready(s->st, nf_now_us())) {
		if (stats_append(s->st, 2, del) == 0 &&
		    stats_append(s->st, 3, zrem) == 0)
			stats_read_replies(s, 2);
		else
			store_discard_replies(s->st);
	}
	store_close(s->st);
	free(s);
}
