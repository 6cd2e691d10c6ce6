/* The reconciler: brings each NF's instances to its desired state, one step at a time.
 *
 * Life of an instance: LAUNCHING (veths, bridge ports, process; no traffic) -> READY (first
 * heartbeat: added to the steering) -> DRAINING (removed from the steering; stopped with
 * SIGTERM once its counters stop moving) -> gone; or at any point FAILED (its process
 * ended, it hung, or its port went down): removed from the steering first, then killed,
 * cleaned up and replaced. Every state change is written to Redis, every step is an event.
 * The reconciler runs in the main loop only; it launches at most one instance per pass
 * (a launch takes a few hundred ms of ovs-vsctl) so that exits and heartbeats are handled
 * in between. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nf/clock.h"
#include "nf/log.h"
#include "orchestrator/orch_int.h"

#define TERM_GRACE_MS 5000	/* SIGTERM, then SIGKILL after this */
#define DELETE_GRACE_MS 3000

static const char *const fail_cause_names[ORCH_FAIL__COUNT] = {
	[ORCH_FAIL_EXIT] = "exit",
	[ORCH_FAIL_HUNG] = "hung",
	[ORCH_FAIL_PORT] = "port_down",
	[ORCH_FAIL_START] = "start_timeout",
	[ORCH_FAIL_LOST] = "lost",
};

const char *orch_fail_cause_name(enum orch_fail_cause c)
{
	return (unsigned)c < ORCH_FAIL__COUNT ? fail_cause_names[c] : "?";
}

/* ---- records and events ---- */

void orch_event(struct orch *o, const char *nf, enum orch_event_kind kind, const char *inst,
		const char *fmt, ...)
{
	char detail[ORCH_EVENT_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	NF_LOG(INFO, ORCH_LOG, "event %s: NF '%s'%s%s: %s", orch_event_kind_name(kind), nf,
	       inst ? " instance " : "", inst ? inst : "", detail);
	if (orch_state_add_event(o->st_loop, nf, kind, inst, detail) < 0)
		NF_LOG_RL(WARN, ORCH_LOG, "could not record an event: store unreachable");
}

void orch_inst_persist(struct orch *o, const struct orch_inst *in)
{
	int rc = orch_state_put_instance(o->st_loop, &in->rec);

	if (rc < 0 && rc != -ENOENT)
		NF_LOG_RL(WARN, ORCH_LOG, "could not store instance %s: %s", in->rec.id, strerror(-rc));
}

static void inst_set_state(struct orch *o, struct orch_inst *in, enum orch_inst_state st)
{
	pthread_mutex_lock(&o->lock);
	in->rec.state = st;
	pthread_mutex_unlock(&o->lock);
}

/* Forget entry 'in' and its record in Redis (gone already when the NF is deleted). */
static void inst_free(struct orch *o, struct orch_nf *nf, struct orch_inst *in)
{
	if (!nf->deleting)
		orch_state_del_instance(o->st_loop, nf->spec.name, in->rec.id);
	pthread_mutex_lock(&o->lock);
	memset(in, 0, sizeof(*in));
	pthread_mutex_unlock(&o->lock);
}

static void inst_signal(struct orch *o, struct orch_inst *in, bool graceful)
{
	char err[256];

	if (in->exited || !in->watched)
		return;
	if (launcher_stop(o->launcher, &in->rec, graceful, err, sizeof(err)) < 0)
		NF_LOG(WARN, ORCH_LOG, "%s: %s", in->rec.id, err);
	if (graceful)
		in->term_mono_ms = orch_mono_ms();
	else
		in->kill_mono_ms = orch_mono_ms();
}

/* Remove the instance's ports, veths and files; true when done. */
static bool inst_cleanup(struct orch *o, struct orch_inst *in)
{
	char err[256];
	int rc = launcher_cleanup(o->launcher, &in->rec, err, sizeof(err));

	if (rc < 0)
		NF_LOG_RL(WARN, ORCH_LOG, "cleanup of %s: %s", in->rec.id, err);
	return rc != -EBUSY;
}

/* ---- events from the loop ---- */

void orch_inst_failed(struct orch *o, struct orch_nf *nf, struct orch_inst *in,
		      enum orch_fail_cause cause, const char *why)
{
	bool steered = in->steered_seq != 0 && in->unsteered_seq == 0;

	if (in->detect_us != 0 || nf->deleting || (in->rec.state != ORCH_INST_READY &&
						   in->rec.state != ORCH_INST_LAUNCHING))
		return;
	in->detect_us = nf_now_us();
	in->cause = cause;
	in->rr_ms = -1;
	pthread_mutex_lock(&o->lock);
	in->rec.state = ORCH_INST_FAILED;
	o->m.failovers[cause]++;
	pthread_mutex_unlock(&o->lock);
	if (steered)
		orch_steer_sync(o, nf);	/* first: traffic away from it */
	inst_signal(o, in, false);
	orch_inst_persist(o, in);
	orch_event(o, nf->spec.name, ORCH_EV_FAILED, in->rec.id, "%s (%s)%s", why,
		   orch_fail_cause_name(cause), steered ? "; removing it from the steering" : "");
	o->reconcile_due = true;
}

void orch_inst_exited(struct orch *o, struct orch_nf *nf, struct orch_inst *in)
{
	struct launcher_exit ex;
	char why[sizeof(ex.desc) + sizeof(ex.log_tail) + 16];
	int rc = launcher_check_exit(o->launcher, &in->rec, &ex);

	if (rc == 0)
		return;
	in->exited = true;
	in->watched = false;
	if (rc < 0)
		snprintf(ex.desc, sizeof(ex.desc), "ended"), ex.log_tail[0] = '\0';
	snprintf(why, sizeof(why), "process %s%s%s", ex.desc, ex.log_tail[0] ? ": " : "",
		 ex.log_tail);
	if (!nf->deleting &&
	    (in->rec.state == ORCH_INST_READY || in->rec.state == ORCH_INST_LAUNCHING))
		orch_inst_failed(o, nf, in, ORCH_FAIL_EXIT, why);
	else if (in->rec.state == ORCH_INST_FAILED && in->cause == ORCH_FAIL_EXIT)
		orch_event(o, nf->spec.name, ORCH_EV_STOPPED, in->rec.id, "%s", why);
	else
		NF_LOG(INFO, ORCH_LOG, "NF '%s': %s %s", nf->spec.name, in->rec.id, why);
	o->reconcile_due = true;
}

void orch_inst_ready(struct orch *o, struct orch_nf *nf, struct orch_inst *in)
{
	if (in->rec.state != ORCH_INST_LAUNCHING)
		return;
	pthread_mutex_lock(&o->lock);
	in->rec.state = ORCH_INST_READY;
	in->rec.ready_ms = orch_wall_ms();
	pthread_mutex_unlock(&o->lock);
	in->ready_mono_ms = orch_mono_ms();
	orch_inst_persist(o, in);
	if (orch_inst_steerable(in))
		orch_steer_sync(o, nf);
}

void orch_inst_drained(struct orch *o, struct orch_nf *nf, struct orch_inst *in, const char *why)
{
	if (in->rec.state != ORCH_INST_DRAINING || in->term_mono_ms != 0)
		return;
	NF_LOG(INFO, ORCH_LOG, "NF '%s': %s drained (%s): SIGTERM", nf->spec.name, in->rec.id, why);
	inst_signal(o, in, true);
}

/* ---- per-instance steps ---- */

/* A failed instance: once out of the steering and ended, clean up and owe a replacement. */
static void step_failed(struct orch *o, struct orch_nf *nf, struct orch_inst *in)
{
	if (!in->exited && in->kill_mono_ms == 0)
		inst_signal(o, in, false);
	if (!in->exited && !in->watched)
		in->exited = true;	/* not ours to watch (lost): nothing runs */
	if (!orch_inst_unsteered(nf, in))
		return;
	if (!in->owed && nf->n_owed < ORCH_NF_ENTRIES) {
		struct orch_owed *w = &nf->owed[nf->n_owed++];

		snprintf(w->id, sizeof(w->id), "%s", in->rec.id);
		w->rr_ms = in->rr_ms;
		w->cause = in->cause;
		in->owed = true;
	}
	if (in->exited && inst_cleanup(o, in))
		inst_free(o, nf, in);
}

void orch_inst_drain_begin(struct orch *o, struct orch_nf *nf, struct orch_inst *in)
{
	bool steered = in->steered_seq != 0 && in->unsteered_seq == 0;

	inst_set_state(o, in, ORCH_INST_DRAINING);
	in->draining_mono_ms = orch_mono_ms();
	orch_inst_persist(o, in);
	orch_event(o, nf->spec.name, ORCH_EV_DRAINING, in->rec.id, "%s",
		   steered ? "removing it from the steering, then waiting for its counters to stop"
			   : "not in the steering: stopping it");
	if (steered)
		orch_steer_sync(o, nf);
}

/* A draining instance: out of the steering, counters still, SIGTERM, ended, cleaned up. */
static void step_draining(struct orch *o, struct orch_nf *nf, struct orch_inst *in)
{
	uint64_t now = orch_mono_ms();

	if (!in->drain_watching && orch_inst_unsteered(nf, in)) {
		in->drain_watching = true;
		in->draining_mono_ms = now;
		monitor_track_drain(&in->track);
		if (in->steered_seq == 0)
			inst_signal(o, in, true);	/* never carried traffic */
	}
	if (in->drain_watching && in->term_mono_ms == 0 &&
	    now - in->draining_mono_ms > o->cfg.drain_timeout_ms)
		orch_inst_drained(o, nf, in, "drain timeout");
	if (in->term_mono_ms != 0 && !in->exited && in->kill_mono_ms == 0 &&
	    now - in->term_mono_ms > TERM_GRACE_MS)
		inst_signal(o, in, false);
	if (!in->exited && !in->watched)
		in->exited = true;
	if (!in->exited || !inst_cleanup(o, in))
		return;
	inst_set_state(o, in, ORCH_INST_STOPPED);
	orch_event(o, nf->spec.name, ORCH_EV_STOPPED, in->rec.id, "drained and stopped after %llu ms",
		   (unsigned long long)(now - in->draining_mono_ms));
	inst_free(o, nf, in);
}

static void inst_step(struct orch *o, struct orch_nf *nf, struct orch_inst *in)
{
	switch (in->rec.state) {
	case ORCH_INST_FAILED:
		step_failed(o, nf, in);
		break;
	case ORCH_INST_DRAINING:
		step_draining(o, nf, in);
		break;
	case ORCH_INST_LAUNCHING:
	case ORCH_INST_READY:
		if (in->drain_requested)
			orch_inst_drain_begin(o, nf, in);
		break;
	default:
		if (in->exited || !in->watched)
			inst_free(o, nf, in);
		break;
	}
}

/* ---- deleting an NF ---- */

static void unlink_nf(struct orch *o, struct orch_nf *nf)
{
	pthread_mutex_lock(&o->lock);
	for (struct orch_nf **pp = &o->nfs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == nf) {
			*pp = nf->next;
			break;
		}
	}
	pthread_mutex_unlock(&o->lock);
}

/* Returns true when the NF is gone (freed). */
static bool delete_step(struct orch *o, struct orch_nf *nf)
{
	uint64_t now = orch_mono_ms();
	bool left = false;

	if (!nf->steer_removing)
		orch_steer_remove_nf(o, nf);
	for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++) {
		struct orch_inst *in = &nf->insts[i];

		if (!in->in_use)
			continue;
		if (in->term_mono_ms == 0)
			inst_signal(o, in, true);
		else if (!in->exited && in->kill_mono_ms == 0 && now - in->term_mono_ms > DELETE_GRACE_MS)
			inst_signal(o, in, false);
		if ((in->exited || !in->watched) && inst_cleanup(o, in)) {
			orch_event(o, nf->spec.name, ORCH_EV_STOPPED, in->rec.id, "NF deleted");
			inst_free(o, nf, in);
		} else {
			left = true;
		}
	}
	if (left || !nf->steer_removed)
		return false;
	orch_state_del_nf(o->st_loop, nf->spec.name);	/* records written meanwhile, if any */
	unlink_nf(o, nf);
	NF_LOG(INFO, ORCH_LOG, "NF '%s': every instance stopped, flows removed", nf->spec.name);
	orch_nf_free(nf);
	return true;
}

/* ---- the pass ---- */

void orch_reconcile(struct orch *o)
{
	struct orch_nf *nf = o->nfs, *next;

	for (; nf != NULL; nf = next) {
		next = nf->next;
		if (nf->deleting) {
			delete_step(o, nf);
			continue;
		}
		for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++)
			if (nf->insts[i].in_use)
				inst_step(o, nf, &nf->insts[i]);
		orch_scale_step(o, nf);
		if (nf->steer_dirty)
			orch_steer_sync(o, nf);
	}
}

/* ---- shutdown with --stop-instances-on-exit ---- */

static bool all_ended(struct orch *o, int timeout_ms)
{
	uint64_t deadline = orch_mono_ms() + (uint64_t)timeout_ms;
	bool left;

	do {
		left = false;
		for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next) {
			for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++) {
				struct orch_inst *in = &nf->insts[i];

				if (in->in_use && in->watched && !in->exited) {
					in->exited = launcher_check_exit(o->launcher, &in->rec, NULL) != 0;
					left |= !in->exited;
				}
			}
		}
		if (left)
			poll(NULL, 0, 20);
	} while (left && orch_mono_ms() < deadline);
	return !left;
}

static void signal_all(struct orch *o, bool graceful)
{
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next)
		for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++)
			if (nf->insts[i].in_use)
				inst_signal(o, &nf->insts[i], graceful);
}

void orch_stop_all(struct orch *o)
{
	NF_LOG(INFO, ORCH_LOG, "stopping every instance (--stop-instances-on-exit)");
	signal_all(o, true);
	if (!all_ended(o, 5000)) {
		signal_all(o, false);
		all_ended(o, 3000);
	}
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next) {
		for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++) {
			struct orch_inst *in = &nf->insts[i];

			if (!in->in_use)
				continue;
			inst_cleanup(o, in);
			orch_event(o, nf->spec.name, ORCH_EV_STOPPED, in->rec.id, "orchestrator exit");
			inst_free(o, nf, in);
		}
	}
}
