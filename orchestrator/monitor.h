/* Liveness and load of NF instances from the heartbeats they publish (nf/stats.c) in the store. */
#ifndef ORCH_MONITOR_H
#define ORCH_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "datastore/store.h"

/* Times. An instance publishes a heartbeat every 'interval_ms' (its --stats-interval-ms):
 * HSET snf:inst:<id> with ts_ms (its wall clock), seq (+1 per heartbeat), pps, busy, rx, tx,
 * pid, ..., expiring max(10 intervals, 3 s) after the last one; a clean exit deletes it.
 * The orchestrator polls every P ms (P <= interval recommended). Every time below is the
 * orchestrator's own clock ('now_ms', monotonic or wall, the caller's choice, one clock):
 * a heartbeat counts as new when its seq differs from the previous poll's, and is dated
 * when the poll saw it (not by its ts_ms), so clock differences between hosts, and clock
 * steps, do not matter.
 * - ready: the first poll that sees a heartbeat of this process (its pid field matches, so
 *   a stale key of an earlier process with the same id is ignored), i.e. between 0 and
 *   interval + P after the NF starts publishing.
 * - dead (hung): no new heartbeat for more than 3 intervals (MONITOR_MISSED intervals):
 *   a process that stops right after a heartbeat is declared dead 3 intervals after the
 *   poll that saw that heartbeat, at the first poll after that, so between 3 intervals and
 *   3 intervals + 2 P after it stopped (with interval 100 ms and P 50 ms: 300-400 ms).
 * - dead (gone): the key disappeared after having been seen (deleted on a clean exit, or
 *   expired 10 intervals / 3 s after a kill: the hang rule fires first).
 * - dead (never started): no heartbeat within 'start_timeout_ms' of the launch.
 * - drained: while draining (removed from steering), rx + tx did not change between two
 *   consecutive new heartbeats, twice in a row (MONITOR_STILL): 2-3 intervals after the
 *   traffic stopped; a dead or gone instance counts as drained. Polls that see the same
 *   heartbeat again do not count. */
#define MONITOR_MISSED 3
#define MONITOR_STILL 2

/* The fields of one heartbeat, as read by monitor_fetch. */
struct monitor_sample {
	bool present;		/* the key exists (has ts_ms and seq) */
	uint64_t ts_ms;		/* the NF's wall clock when it published */
	uint64_t seq;
	double pps, busy;
	uint64_t rx, tx;
	pid_t pid;		/* the publishing process; 0 if not given */
};

/* Read the heartbeats of 'n' instances 'ids' in one pipelined batch (one HMGET each) into
 * 'out'. Returns 0, or a negative errno (-ENOTCONN, -ETIMEDOUT, -EIO) with a reason in
 * 'err'; then 'out' is not filled. A missing key is 'present' = false, not an error. */
int monitor_fetch(struct store *st, const char *const *ids, unsigned n,
		  struct monitor_sample *out, char *err, size_t errsz);

/* What the monitor remembers of one instance between polls. Zero it, then
 * monitor_track_init. Plain data owned by the caller. */
struct monitor_track {
	pid_t pid;		/* the process whose heartbeats count (0 = any) */
	uint64_t started_ms;	/* launch (or adoption) time */
	bool seen;		/* a heartbeat of this process was seen */
	uint64_t seq;		/* the last seq seen */
	uint64_t new_ms;	/* when the last new heartbeat was seen */
	uint64_t rxtx;		/* rx + tx of the last new heartbeat */
	bool draining;
	unsigned n_still;	/* consecutive new heartbeats with rx + tx unchanged */
	bool dead;		/* sticky once reported */
};

/* Start tracking an instance launched (or adopted) at 'now_ms' as process 'pid' (0: do not
 * check the pid field). An adopted instance that was ready before is passed 'ready' =
 * true: it is then judged by the hang rule from 'now_ms' on without a new ready event. */
void monitor_track_init(struct monitor_track *t, pid_t pid, bool ready, uint64_t now_ms);

/* Removed from steering at 'now_ms': from now on, watch for the counters to stop. */
void monitor_track_drain(struct monitor_track *t);

enum monitor_event {
	MONITOR_NONE,		/* nothing new */
	MONITOR_READY,		/* the first heartbeat arrived: may receive traffic */
	MONITOR_DEAD,		/* hung, gone, or never started: replace it */
	MONITOR_DRAINED,	/* draining and its counters stopped: stop it */
};

/* The judgement of one poll. */
struct monitor_result {
	enum monitor_event event;
	bool advanced;		/* this poll saw a new heartbeat */
	uint64_t silent_ms;	/* since the last new heartbeat was seen (0 before the first) */
	int64_t age_ms;		/* now_wall_ms - ts_ms of the heartbeat (display; -1 if none) */
	double pps, busy;	/* of the last heartbeat */
	char reason[128];	/* for DEAD and DRAINED, e.g. "no new heartbeat for 312 ms
				 * (3 intervals of 100 ms)" */
};

/* Parameters of the decision. */
struct monitor_params {
	unsigned interval_ms;		/* the instances' heartbeat interval */
	unsigned start_timeout_ms;	/* first heartbeat due within this after launch (0: no limit) */
};

/* The pure decision: update 't' with sample 's' taken at 'now_ms' and say what happened.
 * 'wall_ms' only feeds result->age_ms (0 = unknown). Each event is reported once: READY
 * on the first heartbeat, DEAD once (then 't' stays dead), DRAINED once. */
void monitor_judge(struct monitor_track *t, const struct monitor_sample *s,
		   const struct monitor_params *p, uint64_t now_ms, uint64_t wall_ms,
		   struct monitor_result *res);

const char *monitor_event_name(enum monitor_event e);

#endif
