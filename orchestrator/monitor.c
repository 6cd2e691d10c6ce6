/* Liveness and load of NF instances from the heartbeats they publish (nf/stats.c) in the store. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/monitor.h"

#define MONITOR_KEY_PREFIX "snf:inst:"
#define MONITOR_KEY_SIZE 96

/* The fields read by HMGET, in this order. */
enum { F_TS_MS, F_SEQ, F_PPS, F_BUSY, F_RX, F_TX, F_PID, F__COUNT };
static const char *const monitor_fields[F__COUNT] = {
	"ts_ms", "seq", "pps", "busy", "rx", "tx", "pid",
};

static const char *const monitor_event_names[] = {
	[MONITOR_NONE] = "none",
	[MONITOR_READY] = "ready",
	[MONITOR_DEAD] = "dead",
	[MONITOR_DRAINED] = "drained",
};

const char *monitor_event_name(enum monitor_event e)
{
	return (unsigned)e < sizeof(monitor_event_names) / sizeof(monitor_event_names[0]) ?
		       monitor_event_names[e] : "?";
}

static int monitor_fail(int ret, char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int monitor_fail(int ret, char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* ---- reading ---- */

static int monitor_append(struct store *st, const char *id)
{
	char key[MONITOR_KEY_SIZE];
	const char *argv[2 + F__COUNT];
	size_t lens[2 + F__COUNT];

	snprintf(key, sizeof(key), MONITOR_KEY_PREFIX "%s", id);
	argv[0] = "HMGET";
	argv[1] = key;
	for (int i = 0; i < F__COUNT; i++)
		argv[2 + i] = monitor_fields[i];
	for (int i = 0; i < 2 + F__COUNT; i++)
		lens[i] = strlen(argv[i]);
	return store_append_argv(st, 2 + F__COUNT, argv, lens);
}

/* The text of element 'i' of an HMGET reply, or NULL when nil. */
static const char *field(const redisReply *r, int i)
{
	const redisReply *e = r->element[i];

	return e->type == REDIS_REPLY_STRING ? e->str : NULL;
}

static uint64_t field_u64(const redisReply *r, int i)
{
	const char *s = field(r, i);

	return s != NULL ? strtoull(s, NULL, 10) : 0;
}

static double field_double(const redisReply *r, int i)
{
	const char *s = field(r, i);

	return s != NULL ? strtod(s, NULL) : 0.0;
}

/* Fill 's' from one HMGET reply. Returns 0 or -EPROTO. */
static int monitor_parse(const redisReply *r, struct monitor_sample *s)
{
	memset(s, 0, sizeof(*s));
	if (r->type != REDIS_REPLY_ARRAY || r->elements != F__COUNT)
		return -EPROTO;
	s->present = field(r, F_TS_MS) != NULL && field(r, F_SEQ) != NULL;
	if (!s->present)
		return 0;
	s->ts_ms = field_u64(r, F_TS_MS);
	s->seq = field_u64(r, F_SEQ);
	s->pps = field_double(r, F_PPS);
	s->busy = field_double(r, F_BUSY);
	s->rx = field_u64(r, F_RX);
	s->tx = field_u64(r, F_TX);
	s->pid = (pid_t)field_u64(r, F_PID);
	return 0;
}

/* Read the 'n' replies of the batch into 'out'. Always reads (or discards) all of them. */
static int monitor_read(struct store *st, const char *const *ids, unsigned n,
			struct monitor_sample *out, char *err, size_t errsz)
{
	int ret = 0;

	for (unsigned i = 0; i < n; i++) {
		redisReply *r = NULL;
		int rc = store_read_reply(st, &r);

		if (rc < 0) {
			store_discard_replies(st);
			return monitor_fail(rc, err, errsz, "heartbeats: store: %s", strerror(-rc));
		}
		if (ret == 0 && r->type == REDIS_REPLY_ERROR)
			ret = monitor_fail(-EIO, err, errsz, "heartbeat of %s: %s", ids[i], r->str);
		else if (ret == 0 && monitor_parse(r, &out[i]) < 0)
			ret = monitor_fail(-EIO, err, errsz, "heartbeat of %s: unexpected reply",
					   ids[i]);
		freeReplyObject(r);
	}
	return ret;
}

int monitor_fetch(struct store *st, const char *const *ids, unsigned n,
		  struct monitor_sample *out, char *err, size_t errsz)
{
	for (unsigned i = 0; i < n; i++) {
		int ret = monitor_append(st, ids[i]);

		if (ret < 0) {
			store_discard_replies(st);
			return monitor_fail(ret, err, errsz, "heartbeats: store: %s", strerror(-ret));
		}
	}
	return n == 0 ? 0 : monitor_read(st, ids, n, out, err, errsz);
}

/* ---- judging ---- */

void monitor_track_init(struct monitor_track *t, pid_t pid, bool ready, uint64_t now_ms)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->started_ms = now_ms;
	t->seen = ready;
	t->new_ms = now_ms;
}

void monitor_track_drain(struct monitor_track *t)
{
	t->draining = true;
	t->n_still = 0;
}

static void monitor_event(struct monitor_result *res, enum monitor_event ev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void monitor_event(struct monitor_result *res, enum monitor_event ev, const char *fmt, ...)
{
	va_list ap;

	res->event = ev;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

/* A heartbeat of this process that is not the one seen last: update the track. */
static void monitor_advance(struct monitor_track *t, const struct monitor_sample *s,
			    uint64_t now_ms, struct monitor_result *res)
{
	uint64_t rxtx = s->rx + s->tx;
	res->advanced = true;
	if (t->draining && t->seen)
		t->n_still = rxtx == t->rxtx ? t->n_still + 1 : 0;
	t->seq = s->seq;
	t->rxtx = rxtx;
	t->new_ms = now_ms;
	if (!t->seen) {
		t->seen = true;
		monitor_event(res, MONITOR_READY, "first heartbeat (seq %" PRIu64 ")", s->seq);
	}
}

/* Whether 's' is a heartbeat of the tracked process. */
static bool monitor_ours(const struct monitor_track *t, const struct monitor_sample *s)
{
	return s->present && (t->pid == 0 || s->pid == 0 || s->pid == t->pid);
}

/* No new heartbeat this poll: hung, gone or not started yet? */
static void monitor_silence(struct monitor_track *t, const struct monitor_sample *s,
			    const struct monitor_params *p, uint64_t now_ms,
			    struct monitor_result *res)
{
	uint64_t limit = (uint64_t)MONITOR_MISSED * p->interval_ms;

	if (!t->seen) {
		if (p->start_timeout_ms > 0 && now_ms - t->started_ms > p->start_timeout_ms)
			monitor_event(res, MONITOR_DEAD, "no heartbeat within %u ms of the launch",
				      p->start_timeout_ms);
		return;
	}
	if (!monitor_ours(t, s))
		monitor_event(res, MONITOR_DEAD, "heartbeat gone (last new one %" PRIu64 " ms ago)",
			      now_ms - t->new_ms);
	else if (res->silent_ms > limit)
		monitor_event(res, MONITOR_DEAD,
			      "no new heartbeat for %" PRIu64 " ms (%d intervals of %u ms)",
			      res->silent_ms, MONITOR_MISSED, p->interval_ms);
}

static void monitor_result_fill(const struct monitor_track *t, const struct monitor_sample *s,
				uint64_t now_ms, uint64_t wall_ms, struct monitor_result *res)
{
	res->silent_ms = t->seen && now_ms > t->new_ms ? now_ms - t->new_ms : 0;
	res->age_ms = -1;
	if (s->present && wall_ms > 0)
		res->age_ms = (int64_t)wall_ms - (int64_t)s->ts_ms;
	res->pps = s->present ? s->pps : 0.0;
	res->busy = s->present ? s->busy : 0.0;
}

void monitor_judge(struct monitor_track *t, const struct monitor_sample *s,
		   const struct monitor_params *p, uint64_t now_ms, uint64_t wall_ms,
		   struct monitor_result *res)
{
	memset(res, 0, sizeof(*res));
	if (t->dead) {
		monitor_result_fill(t, s, now_ms, wall_ms, res);
		return;
	}
	if (monitor_ours(t, s) && (s->seq != t->seq || !t->seen))
		monitor_advance(t, s, now_ms, res);
	monitor_result_fill(t, s, now_ms, wall_ms, res);
	if (res->event == MONITOR_NONE && !res->advanced)
		monitor_silence(t, s, p, now_ms, res);
	if (res->event == MONITOR_DEAD) {
		char why[sizeof(res->reason)];

		t->dead = true;
		memcpy(why, res->reason, sizeof(why));
		if (t->draining)
			monitor_event(res, MONITOR_DRAINED, "stopped while draining: %s", why);
	} else if (t->draining && t->n_still >= MONITOR_STILL) {
		t->draining = false;
		monitor_event(res, MONITOR_DRAINED, "rx + tx unchanged at %" PRIu64
			      " over %d heartbeats", t->rxtx, MONITOR_STILL + 1);
	}
}
