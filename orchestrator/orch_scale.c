/* Scaling: launching instances (with backoff after a failure), choosing the one to drain
 * when there are more than desired, and replacing the instances of an older config one at
 * a time. Part of the reconciler's pass (orch_reconcile.c), on the main loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "nf/log.h"
#include "orchestrator/orch_int.h"

#define LAUNCH_BACKOFF_MAX_MS 10000

/* ---- launching ---- */

/* Give a new instance the configured CPU priority: the nice value of its main thread (the
 * poll loop) and of its autogroup (it runs in a session of its own, and with autogroup
 * scheduling sessions share the CPU fairly whatever their tasks' nice values). */
static void inst_prioritize(struct orch *o, const struct orch_inst *in)
{
	char path[64];
	FILE *f;

	if (o->cfg.nf_nice == 0)
		return;
	if (setpriority(PRIO_PROCESS, (id_t)in->rec.pid, o->cfg.nf_nice) < 0)
		NF_LOG_RL(WARN, ORCH_LOG, "%s: setpriority: %s", in->rec.id, strerror(errno));
	snprintf(path, sizeof(path), "/proc/%ld/autogroup", (long)in->rec.pid);
	f = fopen(path, "we");
	if (f != NULL) {
		fprintf(f, "%d", o->cfg.nf_nice);
		fclose(f);	/* no autogroup scheduling: nothing to do */
	}
}

static struct orch_inst *entry_free(struct orch_nf *nf)
{
	for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++)
		if (!nf->insts[i].in_use)
			return &nf->insts[i];
	return NULL;
}

static void launch_failed(struct orch *o, struct orch_nf *nf, struct orch_inst *in,
			  const char *id, const char *err)
{
	pthread_mutex_lock(&o->lock);
	memset(in, 0, sizeof(*in));
	o->m.launch_failures++;
	pthread_mutex_unlock(&o->lock);
	nf->launch_retry_ms = orch_mono_ms() + nf->launch_backoff_ms;
	if (nf->launch_backoff_ms < LAUNCH_BACKOFF_MAX_MS)
		nf->launch_backoff_ms *= 2;
	orch_event(o, nf->spec.name, ORCH_EV_FAILED, id, "launch failed: %s (retry in %u ms)", err,
		   nf->launch_backoff_ms);
}

/* The "replaced" event for the oldest failed instance still owed a replacement. */
static void launch_replaces(struct orch *o, struct orch_nf *nf, const char *id)
{
	struct orch_owed w;
	char rr[48] = "";

	if (nf->n_owed == 0)
		return;
	w = nf->owed[0];
	memmove(&nf->owed[0], &nf->owed[1], (--nf->n_owed) * sizeof(nf->owed[0]));
	if (w.rr_ms >= 0)
		snprintf(rr, sizeof(rr), "; detection to reroute %.1f ms", w.rr_ms);
	orch_event(o, nf->spec.name, ORCH_EV_REPLACED, w.id, "by %s (failure: %s%s)", id,
		   orch_fail_cause_name(w.cause), rr);
}

static void launch_one(struct orch *o, struct orch_nf *nf)
{
	struct orch_inst *in = entry_free(nf);
	struct orch_nf_spec spec;
	struct orch_instance rec;
	char id[ORCH_ID_MAX], err[512] = "";
	int rc;

	if (in == NULL || orch_state_next_instance_id(o->st_loop, nf->spec.name, id) < 0) {
		nf->launch_retry_ms = orch_mono_ms() + 1000;
		return;
	}
	pthread_mutex_lock(&o->lock);
	rc = orch_spec_copy(&spec, &nf->spec);
	memset(in, 0, sizeof(*in));
	in->in_use = true;
	snprintf(in->rec.id, sizeof(in->rec.id), "%s", id);
	snprintf(in->rec.nf, sizeof(in->rec.nf), "%s", nf->spec.name);
	in->rec.state = ORCH_INST_LAUNCHING;
	pthread_mutex_unlock(&o->lock);
	rec = in->rec;
	if (rc == 0)
		rc = launcher_start(o->launcher, &spec, &rec, err, sizeof(err));
	rec.config_gen = spec.config_gen;
	orch_nf_spec_clear(&spec);
	if (rc < 0) {
		launch_failed(o, nf, in, id, err);
		return;
	}
	pthread_mutex_lock(&o->lock);
	in->rec = rec;
	o->m.launches++;
	pthread_mutex_unlock(&o->lock);
	inst_prioritize(o, in);
	in->watched = true;
	in->rr_ms = -1;
	in->hb_age_ms = -1;
	in->launch_mono_ms = orch_mono_ms();
	in->scale_req_us = nf->n_owed == 0 ? nf->scale_req_us : 0;
	orch_inst_track_init(in, false);
	nf->launch_backoff_ms = 500;
	orch_inst_persist(o, in);
	orch_event(o, nf->spec.name, ORCH_EV_LAUNCHED, id, "pid %ld, ports %s/%s (OpenFlow %u/%u)",
		   (long)rec.pid, rec.br_in, rec.br_out, rec.ofport_in, rec.ofport_out);
	launch_replaces(o, nf, id);
}

/* ---- scaling ---- */

/* The instance to drain when there are too many: one not ready yet, else the newest. */
static struct orch_inst *victim_pick(struct orch_nf *nf)
{
	struct orch_inst *best = NULL;

	for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++) {
		struct orch_inst *in = &nf->insts[i];

		if (!in->in_use || in->drain_requested || (in->rec.state != ORCH_INST_LAUNCHING &&
							   in->rec.state != ORCH_INST_READY))
			continue;
		if (best == NULL ||
		    (in->rec.state == ORCH_INST_LAUNCHING && best->rec.state != ORCH_INST_LAUNCHING) ||
		    (in->rec.state == best->rec.state && in->rec.launched_ms > best->rec.launched_ms))
			best = in;
	}
	return best;
}

#define ROLL_SETTLE_MS 1000	/* a new instance carries its flows this long before a drain */

/* A config change replaces the instances launched before it, one at a time, without
 * lowering the count: launch one more (with the new config), and once it is ready and has
 * carried its flows for ROLL_SETTLE_MS drain the oldest instance of an older config (one
 * move of flows at a time). While a roll waits for its new instance nothing else is
 * drained. */
struct roll_view {
	unsigned stale;			/* ready instances of an older config */
	unsigned settling;		/* launching, or ready for less than ROLL_SETTLE_MS */
	unsigned draining;
	struct orch_inst *oldest_stale;
};

static void roll_view(const struct orch_nf *nf, uint32_t gen, struct roll_view *v)
{
	memset(v, 0, sizeof(*v));
	for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++) {
		struct orch_inst *in = (struct orch_inst *)&nf->insts[i];

		if (!in->in_use)
			continue;
		if (in->drain_requested || in->rec.state == ORCH_INST_DRAINING) {
			v->draining++;
			continue;
		}
		v->settling += in->rec.state == ORCH_INST_LAUNCHING ||
				(in->rec.state == ORCH_INST_READY &&
				 orch_mono_ms() - in->ready_mono_ms < ROLL_SETTLE_MS);
		if (in->rec.state != ORCH_INST_READY || in->rec.config_gen >= gen)
			continue;
		v->stale++;
		if (v->oldest_stale == NULL ||
		    in->rec.launched_ms < v->oldest_stale->rec.launched_ms)
			v->oldest_stale = in;
	}
}

/* The instance to drain when there are more than desired: during a roll the oldest of an
 * older config, once no new one is still settling; otherwise victim_pick(). */
static struct orch_inst *scale_victim(struct orch_nf *nf, const struct roll_view *rv)
{
	if (rv->stale == 0)
		return victim_pick(nf);
	return rv->settling == 0 ? rv->oldest_stale : NULL;
}

void orch_scale_step(struct orch *o, struct orch_nf *nf)
{
	unsigned active = 0, unrouted = 0, desired;
	struct orch_inst *victim;
	struct roll_view rv;
	bool roll;

	for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++) {
		const struct orch_inst *in = &nf->insts[i];

		if (!in->in_use)
			continue;
		if ((in->rec.state == ORCH_INST_LAUNCHING || in->rec.state == ORCH_INST_READY) &&
		    !in->drain_requested)
			active++;
		else if (in->rec.state == ORCH_INST_FAILED && !orch_inst_unsteered(nf, in))
			unrouted++;	/* replaced once out of the steering */
	}
	pthread_mutex_lock(&o->lock);
	desired = nf->spec.instances;
	roll_view(nf, nf->spec.config_gen, &rv);
	victim = active > desired ? scale_victim(nf, &rv) : NULL;
	if (victim != NULL)
		victim->drain_requested = true;
	pthread_mutex_unlock(&o->lock);
	roll = active == desired && unrouted == 0 && rv.stale > 0 && rv.settling == 0 &&
	       rv.draining == 0;
	if ((active + unrouted < desired || roll) && orch_mono_ms() >= nf->launch_retry_ms) {
		if (roll)
			orch_event(o, nf->spec.name, ORCH_EV_SCALED, NULL, "config %u: replacing "
				   "the %u instance(s) of an older config, one at a time",
				   nf->spec.config_gen, rv.stale);
		launch_one(o, nf);
		o->reconcile_due = true;	/* the next one in the next pass */
	} else if (victim != NULL) {
		orch_inst_drain_begin(o, nf, victim);
		o->reconcile_due = true;
	}
	if (active >= desired) {
		nf->scale_req_us = 0;
		nf->n_owed = 0;
	}
}
