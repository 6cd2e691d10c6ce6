/* The core's OpenFlow side: the bridge's connection, steering changes and their barriers.
 *
 * Every change of an NF's ready set is one steer_apply() numbered by the NF's apply_seq;
 * its barrier reply (steer_done) marks the record of that change done, and the main loop
 * (orch_steer_process) then advances the NF's confirmed_seq. An instance is "in steering"
 * once the change that added it is confirmed, "out of steering" once the change that
 * removed it is: a failed instance is replaced, and a draining one watched for its counters
 * to stop, only then. A change that could not be sent (no connection) counts as confirmed:
 * the steer re-applies the NF's last state when the bridge reconnects. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nf/clock.h"
#include "nf/log.h"
#include "orchestrator/ofp_proto.h"
#include "orchestrator/orch_int.h"

#define PENDING_TIMEOUT_US (5u * 1000000u)	/* a barrier not answered by then: give up */
#define KEEPALIVE_MS 1000
#define KEEPALIVE_MISSED 3

/* ---- the OpenFlow connection's callbacks (main loop, inside ofconn_run) ---- */

static void of_connected(struct ofconn *c, void *arg)
{
	struct orch *o = arg;
	uint64_t n;

	(void)c;
	pthread_mutex_lock(&o->lock);
	o->of_ready = true;
	n = ++o->m.of_connects;
	pthread_mutex_unlock(&o->lock);
	NF_LOG(INFO, ORCH_LOG, "bridge %s connected (connection %llu): re-installing its flows",
	       o->cfg.launcher.bridge, (unsigned long long)n);
	steer_resync(o->steer);
}

static void of_disconnected(struct ofconn *c, void *arg, int reason)
{
	struct orch *o = arg;

	(void)c;
	pthread_mutex_lock(&o->lock);
	o->of_ready = false;
	pthread_mutex_unlock(&o->lock);
	NF_LOG(WARN, ORCH_LOG, "bridge %s disconnected: %s (the flows stay; waiting for it)",
	       o->cfg.launcher.bridge, strerror(-reason));
}

/* The instance whose bridge port is 'name', and its NF. */
static struct orch_inst *inst_by_port(struct orch *o, const char *name, struct orch_nf **nfp)
{
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next) {
		for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++) {
			struct orch_inst *in = &nf->insts[i];

			if (in->in_use && (strcmp(in->rec.br_in, name) == 0 ||
					   strcmp(in->rec.br_out, name) == 0)) {
				*nfp = nf;
				return in;
			}
		}
	}
	return NULL;
}

/* A port of a live instance that goes down or away: that instance failed. */
static void of_port_status(struct ofconn *c, void *arg, const struct ofp_port_status *ps)
{
	struct orch *o = arg;
	struct orch_nf *nf = NULL;
	struct orch_inst *in = inst_by_port(o, ps->port.name, &nf);
	bool down = ps->reason == OFPPR_DELETE || (ps->port.state & OFPPS_LINK_DOWN) ||
		    (ps->port.config & OFPPC_PORT_DOWN);
	char why[96];

	(void)c;
	if (in == NULL || !down || nf->deleting || (in->rec.state != ORCH_INST_READY &&
						    in->rec.state != ORCH_INST_LAUNCHING))
		return;
	snprintf(why, sizeof(why), "OVS port %s %s", ps->port.name,
		 ps->reason == OFPPR_DELETE ? "deleted" : "down");
	orch_inst_failed(o, nf, in, ORCH_FAIL_PORT, why);
}

static void of_packet_in(struct ofconn *c, void *arg, const struct ofp_packet_in *pin)
{
	struct orch *o = arg;

	(void)c;
	steer_packet_in(o->steer, pin);
}

int orch_steer_open(struct orch *o, char *err, size_t errsz)
{
	const struct ofconn_cbs cbs = {
		.connected = of_connected,
		.disconnected = of_disconnected,
		.port_status = of_port_status,
		.packet_in = of_packet_in,
	};

	for (unsigned i = 0; i < ORCH_PENDING_MAX; i++)
		o->pending[i].owner = o;
	o->of = ofconn_listen(o->cfg.of_addr, o->cfg.of_port, &cbs, o);
	if (o->of == NULL) {
		snprintf(err, errsz, "openflow: cannot listen on %s:%u: %s", o->cfg.of_addr,
			 o->cfg.of_port, strerror(errno));
		return -errno;
	}
	ofconn_set_keepalive(o->of, KEEPALIVE_MS, KEEPALIVE_MISSED);
	o->steer = steer_create(o->of);
	if (o->steer == NULL) {
		snprintf(err, errsz, "openflow: cannot create the steering: out of memory");
		return -ENOMEM;
	}
	return 0;
}

void orch_steer_close(struct orch *o)
{
	steer_destroy(o->steer);
	o->steer = NULL;
	ofconn_destroy(o->of);
	o->of = NULL;
}

/* ---- steering changes ---- */

bool orch_inst_steerable(const struct orch_inst *in)
{
	return in->in_use && in->rec.state == ORCH_INST_READY && !in->drain_requested &&
	       in->detect_us == 0;
}

bool orch_inst_steer_confirmed(const struct orch_nf *nf, const struct orch_inst *in)
{
	return in->steered_seq != 0 && nf->confirmed_seq >= in->steered_seq;
}

bool orch_inst_unsteered(const struct orch_nf *nf, const struct orch_inst *in)
{
	return in->steered_seq == 0 || (in->unsteered_seq != 0 && nf->confirmed_seq >= in->unsteered_seq);
}

/* The barrier reply of a change (or its failure). Only marks the record: the main loop
 * acts on it (orch_steer_process), since this may run inside steer or ofconn calls. */
static void steer_done(void *arg, int status)
{
	struct orch_pending *p = arg;

	p->status = status;
	p->done = true;
	p->done_us = nf_now_us();
	p->owner->reconcile_due = true;
}

static struct orch_pending *pending_new(struct orch *o, const char *nf, uint64_t seq)
{
	for (unsigned i = 0; i < ORCH_PENDING_MAX; i++) {
		struct orch_pending *p = &o->pending[i];

		if (!p->in_use) {
			p->in_use = true;
			p->done = false;
			p->status = 0;
			p->seq = seq;
			p->sent_us = nf_now_us();
			snprintf(p->nf, sizeof(p->nf), "%s", nf);
			return p;
		}
	}
	return NULL;
}

/* Number the members of the change 'seq': who enters, who leaves. */
static unsigned members_collect(struct orch_nf *nf, uint64_t seq, struct steer_member *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++) {
		struct orch_inst *in = &nf->insts[i];

		if (orch_inst_steerable(in)) {
			snprintf(m[n].id, sizeof(m[n].id), "%s", in->rec.id);
			m[n].ofport_in = in->rec.ofport_in;
			m[n].ofport_out = in->rec.ofport_out;
			n++;
			if (in->steered_seq == 0)
				in->steered_seq = seq;
		} else if (in->in_use && in->steered_seq != 0 && in->unsteered_seq == 0) {
			in->unsteered_seq = seq;
		}
	}
	return n;
}

void orch_steer_sync(struct orch *o, struct orch_nf *nf)
{
	struct steer_member members[ORCH_NF_ENTRIES];
	uint64_t seq = ++nf->apply_seq;
	unsigned n = members_collect(nf, seq, members);
	struct orch_pending *p = pending_new(o, nf->spec.name, seq);
	struct steer_nf desc;
	int rc;

	pthread_mutex_lock(&o->lock);
	desc = nf->steer;	/* a PATCH of the config may change the owned addresses */
	pthread_mutex_unlock(&o->lock);
	nf->steer_dirty = false;
	rc = steer_apply(o->steer, &desc, members, n, nf->slots, p ? steer_done : NULL, p);
	if (rc < 0 || p == NULL) {
		if (p != NULL && !p->done)
			p->in_use = false;
		if (nf->confirmed_seq < seq)
			nf->confirmed_seq = seq;	/* the resync applies it on reconnection */
		if (rc < 0 && rc != -ENOTCONN)
			NF_LOG(WARN, ORCH_LOG, "NF '%s': steering change %llu: %s", nf->spec.name,
			       (unsigned long long)seq, strerror(-rc));
	}
	if (!nf->deleting && orch_state_put_slots(o->st_loop, nf->spec.name, nf->slots) < 0)
		NF_LOG(WARN, ORCH_LOG, "NF '%s': could not store the slot table", nf->spec.name);
	NF_LOG(DEBUG, ORCH_LOG, "NF '%s': steering change %llu with %u members%s", nf->spec.name,
	       (unsigned long long)seq, n, rc < 0 ? " (not connected)" : "");
}

void orch_steer_remove_nf(struct orch *o, struct orch_nf *nf)
{
	struct orch_pending *p = pending_new(o, nf->spec.name, 0);
	int rc = steer_remove(o->steer, &nf->steer, p ? steer_done : NULL, p);

	nf->steer_removing = true;
	if (rc < 0 || p == NULL) {
		if (p != NULL && !p->done)
			p->in_use = false;
		nf->steer_removed = true;
	}
}

/* ---- confirmations ---- */

/* A failed instance of 'nf' that left the steering with change 'seq', confirmed at 'us'. */
static void rerouted(struct orch *o, struct orch_nf *nf, uint64_t seq, uint64_t us, bool ok)
{
	for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++) {
		struct orch_inst *in = &nf->insts[i];
		double ms;

		if (!in->in_use || in->detect_us == 0 || in->rr_ms >= 0 || in->unsteered_seq == 0 ||
		    in->unsteered_seq > seq)
			continue;
		if (!ok) {
			in->rr_ms = -2;	/* outcome unknown: re-applied on reconnection */
			continue;
		}
		ms = us > in->detect_us ? (double)(us - in->detect_us) / 1000.0 : 0.0;
		in->rr_ms = ms;
		pthread_mutex_lock(&o->lock);
		orch_metrics_rr(o, ms);
		pthread_mutex_unlock(&o->lock);
		NF_LOG(INFO, ORCH_LOG, "NF '%s': %s out of steering %.1f ms after its failure was "
		       "detected (%s)", nf->spec.name, in->rec.id, ms, orch_fail_cause_name(in->cause));
	}
}

/* Instances of 'nf' whose entry into the steering was confirmed at 'us': announce them. */
static void announce_ready(struct orch *o, struct orch_nf *nf, uint64_t us)
{
	for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++) {
		struct orch_inst *in = &nf->insts[i];
		uint64_t now = us / 1000;
		char scale[64] = "";

		if (!in->in_use || in->announced || !orch_inst_steer_confirmed(nf, in))
			continue;
		in->announced = true;
		if (in->scale_req_us != 0 && us > in->scale_req_us) {
			double ms = (double)(us - in->scale_req_us) / 1000.0;

			snprintf(scale, sizeof(scale), "; %.0f ms after the request", ms);
			pthread_mutex_lock(&o->lock);
			o->m.last_scale_ms = ms;
			pthread_mutex_unlock(&o->lock);
		}
		orch_event(o, nf->spec.name, ORCH_EV_READY, in->rec.id,
			   "first heartbeat %llu ms after launch, in steering %llu ms later%s",
			   (unsigned long long)(in->ready_mono_ms - in->launch_mono_ms),
			   (unsigned long long)(now > in->ready_mono_ms ? now - in->ready_mono_ms : 0),
			   scale);
	}
}

static void pending_finish(struct orch *o, struct orch_pending *p)
{
	struct orch_nf *nf = orch_nf_find(o, p->nf);

	p->in_use = false;
	if (nf == NULL)
		return;
	if (p->seq == 0) {
		nf->steer_removed = true;
		return;
	}
	if (p->status < 0)
		NF_LOG(WARN, ORCH_LOG, "NF '%s': steering change %llu not confirmed: %s (re-applied "
		       "on reconnection)", nf->spec.name, (unsigned long long)p->seq,
		       strerror(-p->status));
	if (nf->confirmed_seq < p->seq)
		nf->confirmed_seq = p->seq;
	rerouted(o, nf, p->seq, p->done_us, p->status == 0);
	announce_ready(o, nf, p->done_us);
}

void orch_steer_process(struct orch *o)
{
	uint64_t now = nf_now_us();

	for (unsigned i = 0; i < ORCH_PENDING_MAX; i++) {
		struct orch_pending *p = &o->pending[i];

		if (!p->in_use)
			continue;
		if (!p->done && now - p->sent_us > PENDING_TIMEOUT_US) {
			p->done = true;
			p->status = -ETIMEDOUT;
			p->done_us = now;
		}
		if (p->done)
			pending_finish(o, p);
	}
	/* Changes confirmed without a barrier (not connected) are announced too. */
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next)
		announce_ready(o, nf, now);
}
