/* The core's internal structures, shared by orch.c, orch_*.c only.
 *
 * Locking. 'lock' protects what the API thread reads or writes: the NF list, each NF's
 * spec and flags, the instance entries' 'in_use' and 'rec', the metrics and 'st_api'. Only
 * the main loop adds or frees NFs and instance entries and writes their other fields, so
 * it reads everything without the lock and takes it to write shared fields. The main loop
 * never holds the lock across slow calls (launcher, ovs-vsctl) nor across OpenFlow calls
 * whose callbacks might run synchronously: callbacks only queue work (orch_steer.c). */
#ifndef ORCH_ORCH_INT_H
#define ORCH_ORCH_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "datastore/store.h"
#include "orchestrator/autoscale.h"
#include "orchestrator/core.h"
#include "orchestrator/launcher.h"
#include "orchestrator/model.h"
#include "orchestrator/monitor.h"
#include "orchestrator/ofconn.h"
#include "orchestrator/orch.h"
#include "orchestrator/state.h"
#include "orchestrator/steer.h"

#define ORCH_LOG "orch"
#define ORCH_NF_ENTRIES (2 * ORCH_MAX_INSTANCES)	/* live instances plus ending ones */
#define ORCH_PENDING_MAX 64				/* steering changes awaiting a barrier */
#define ORCH_RR_BUCKETS 13				/* detection-to-reroute histogram */

/* Why an instance failed. */
enum orch_fail_cause {
	ORCH_FAIL_EXIT,		/* its process ended (pidfd) */
	ORCH_FAIL_HUNG,		/* no new heartbeat for 3 intervals (or its key vanished) */
	ORCH_FAIL_PORT,		/* its OVS port went down or away */
	ORCH_FAIL_START,	/* no first heartbeat within the start timeout */
	ORCH_FAIL_LOST,		/* not running when a restarted orchestrator looked */
	ORCH_FAIL__COUNT
};

/* One instance entry of an NF. */
struct orch_inst {
	bool in_use;
	struct orch_instance rec;	/* what Redis and the API see (lock) */
	struct monitor_track track;
	bool watched;			/* the launcher watches its process (pidfd) */
	bool exited;			/* its process ended (exit collected) */
	bool drain_requested;		/* API: remove it gracefully (lock) */
	bool drain_watching;		/* out of steering: the monitor watches its counters */
	uint64_t steered_seq;		/* the steering change that added it (0: none) */
	uint64_t unsteered_seq;		/* the one that removed it (0: none) */
	bool announced;			/* its "ready" event (steering confirmed) was recorded */
	uint64_t launch_mono_ms, ready_mono_ms, draining_mono_ms;
	uint64_t term_mono_ms, kill_mono_ms;	/* SIGTERM / SIGKILL sent (0: not) */
	uint64_t detect_us;		/* failure detected (monotonic us; 0: not failed) */
	enum orch_fail_cause cause;
	double rr_ms;			/* detection to reroute, once measured (-1: not) */
	bool replaced;			/* its replacement was launched */
	uint64_t scale_req_us;		/* the scale request it answers (0: none) */
	int64_t hb_age_ms;		/* of the last heartbeat seen (-1: none) */
	uint64_t wait0_us, wait_us;	/* its time waiting for a CPU: at tracking start, last read */
	uint64_t clock_ms;		/* its own clock's last reading (orch_loop.c) */
	uint64_t hb_real_ms;		/* monotonic time of the last new heartbeat */
	bool owed;			/* failed: its replacement is owed (nf->owed) */
};

/* A replacement owed for a failed instance that has been cleaned up. */
struct orch_owed {
	char id[ORCH_ID_MAX];
	double rr_ms;			/* its detection to reroute (-1: not measured) */
	enum orch_fail_cause cause;
};

struct orch_nf {
	struct orch_nf *next;
	struct orch_nf_spec spec;	/* desired state, as in Redis (lock) */
	bool deleting;			/* deleted from Redis: stop everything, then free (lock) */
	struct orch_inst insts[ORCH_NF_ENTRIES];
	char slots[ORCH_SLOTS][ORCH_ID_MAX];
	struct steer_nf steer;		/* its uplink ports come from spec.uplink_in/out */
	bool steer_dirty;		/* membership changed: steer_apply due */
	bool push_due;			/* rule set / pool to publish (orch_push.c) (lock) */
	bool push_announce;		/* ... after a PATCH: an event says so (lock) */
	bool steer_removed;		/* deleting: steer_remove confirmed */
	bool steer_removing;
	uint64_t apply_seq, confirmed_seq;
	uint64_t scale_req_us;		/* the last API scale (or create) request */
	uint64_t launch_retry_ms;	/* no launch before this (backoff after a failure) */
	unsigned launch_backoff_ms;
	struct autoscale_sample *hist;	/* autoscale load history, oldest first */
	unsigned n_hist, cap_hist;
	uint64_t as_last_ms;		/* the last autoscale decision that changed the count */
	struct orch_owed owed[ORCH_NF_ENTRIES];	/* failed and cleaned up, not replaced yet */
	unsigned n_owed;
};

/* A steering change waiting for its barrier reply. */
struct orch_pending {
	struct orch *owner;
	bool in_use;
	char nf[ORCH_NAME_MAX];
	uint64_t seq;			/* 0: a steer_remove of a deleted NF */
	int status;			/* filled by the callback */
	bool done;
	uint64_t sent_us, done_us;
};

struct orch_metrics {
	uint64_t failovers[ORCH_FAIL__COUNT];
	uint64_t scale_api, scale_autoscale;
	uint64_t rr_buckets[ORCH_RR_BUCKETS];	/* cumulative at output time */
	uint64_t rr_count;
	double rr_sum_s;
	double last_rr_ms;
	double last_scale_ms;			/* scale request to the new instance in steering */
	uint64_t of_connects;
	uint64_t launches, launch_failures;
};

struct orch {
	pthread_mutex_t lock;
	struct orch_cfg cfg;
	struct orch_state *st_api;	/* the API thread's store connection (lock) */
	struct orch_state *st_loop;	/* the main loop's */
	struct store *hb;		/* heartbeats (monitor_fetch), main loop */
	struct orch_launcher *launcher;
	struct ofconn *of;
	struct steer *steer;
	struct orch_nf *nfs;		/* the NFs, newest first (lock to change) */
	struct orch_pending pending[ORCH_PENDING_MAX];
	struct orch_metrics m;		/* (lock) */
	bool of_ready;			/* (lock) */
	volatile bool store_up;		/* heartbeats readable at the last poll (main loop;
					 * read by the API's health) */
	uint32_t uplink_in_port, uplink_out_port;
	int wake_fd;			/* eventfd: the API thread (and signals) wake the loop */
	volatile int stop;
	bool reconcile_due;
	bool restored;
	uint64_t started_ms;		/* wall clock */
};

/* orch.c */
struct orch_nf *orch_nf_find(struct orch *o, const char *name);
struct orch_inst *orch_inst_find(struct orch_nf *nf, const char *id);
/* The NF 'name' unless it is being deleted. */
struct orch_nf *orch_nf_live(struct orch *o, const char *name);
/* Format the reason into 'err' (when not NULL) and return 'rc'. */
int orch_core_fail(int rc, char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void orch_wake(struct orch *o);
uint64_t orch_wall_ms(void);
uint64_t orch_mono_ms(void);
void orch_nf_free(struct orch_nf *nf);
/* A new NF entry for 'spec' (config deep-copied), not linked yet. */
/* A new NF record for 'spec': its uplinks (the spec's, else the default ones, written into
 * its spec) attached to the bridge. NULL with a reason naming the field in 'err'. */
struct orch_nf *orch_nf_new(struct orch *o, const struct orch_nf_spec *spec, char *err,
			    size_t errsz);
/* Recompute the steering description (owned addresses) from the spec. */
void orch_nf_steer_desc(struct orch *o, struct orch_nf *nf);
/* Copy 'src' into 'dst' with its own reference to a deep copy of the config. */
int orch_spec_copy(struct orch_nf_spec *dst, const struct orch_nf_spec *src);

/* orch_reconcile.c: the main loop's decisions. */
void orch_reconcile(struct orch *o);
/* Mark 'in' draining: out of the steering, SIGTERM once its counters stop (orch_reconcile.c). */
void orch_inst_drain_begin(struct orch *o, struct orch_nf *nf, struct orch_inst *in);
/* orch_scale.c: launch one instance or drain one toward the desired count and config. */
void orch_scale_step(struct orch *o, struct orch_nf *nf);

/* orch_push.c: publish the firewall rule sets and LB pools that are due (main loop). */
void orch_push_configs(struct orch *o);
void orch_inst_exited(struct orch *o, struct orch_nf *nf, struct orch_inst *in);
void orch_inst_failed(struct orch *o, struct orch_nf *nf, struct orch_inst *in,
		      enum orch_fail_cause cause, const char *why);
void orch_inst_ready(struct orch *o, struct orch_nf *nf, struct orch_inst *in);
void orch_inst_drained(struct orch *o, struct orch_nf *nf, struct orch_inst *in, const char *why);
void orch_inst_persist(struct orch *o, const struct orch_inst *in);
void orch_event(struct orch *o, const char *nf, enum orch_event_kind kind, const char *inst,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void orch_stop_all(struct orch *o);
const char *orch_fail_cause_name(enum orch_fail_cause c);

/* orch_steer.c: OpenFlow connection, steering changes and their confirmations. */
int orch_steer_open(struct orch *o, char *err, size_t errsz);
void orch_steer_close(struct orch *o);
void orch_steer_sync(struct orch *o, struct orch_nf *nf);
void orch_steer_remove_nf(struct orch *o, struct orch_nf *nf);
void orch_steer_process(struct orch *o);
bool orch_inst_steer_confirmed(const struct orch_nf *nf, const struct orch_inst *in);
bool orch_inst_unsteered(const struct orch_nf *nf, const struct orch_inst *in);
/* Whether 'in' belongs in the steering members now. */
bool orch_inst_steerable(const struct orch_inst *in);

/* orch_bridge.c: the bridge and its uplinks through ovs-vsctl. */
int orch_bridge_setup(const struct orch_cfg *cfg, uint32_t *uplink_in, uint32_t *uplink_out,
		      char *err, size_t errsz);
/* Attach an NF's uplinks 'in' and 'out' to the bridge (kept when there) and read their
 * OpenFlow ports; errors name the field ("uplinks.inside: ..."). */
int orch_bridge_uplinks(const struct orch_cfg *cfg, const char *in, const char *out,
			uint32_t *port_in, uint32_t *port_out, char *err, size_t errsz);

/* orch_loop.c: heartbeats and autoscale ticks. */
void orch_monitor_poll(struct orch *o);
/* Start judging instance 'in' (launched or adopted now; 'ready' if it was before). */
void orch_inst_track_init(struct orch_inst *in, bool ready);
void orch_autoscale_tick(struct orch *o);
void orch_exit_poll(struct orch *o);

/* orch_metrics.c */
void orch_metrics_rr(struct orch *o, double ms);	/* with the lock held */

#endif
