/* The main loop: one poll over the wake-up eventfd, the OpenFlow connection and every
 * instance's pidfd, plus the timers: heartbeats (every tenth of the interval), autoscaling
 * (every interval), the reconciler (when woken, and twice a second). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nf/clock.h"
#include "nf/log.h"
#include "orchestrator/orch_int.h"

#define LOOP_MAX_FDS (4 + 64 * ORCH_NF_ENTRIES)
#define RECONCILE_EVERY_MS 500
#define REAP_EVERY_MS 1000
#define MONITOR_MAX (64 * ORCH_NF_ENTRIES)

/* What a pollfd of the loop stands for. */
struct loop_ref {
	struct orch_nf *nf;	/* NULL: not an instance */
	struct orch_inst *in;
};

/* ---- heartbeats ----
 *
 * Each instance is judged on a clock of its own: monotonic time minus the time its process
 * spent runnable but waiting for a CPU (/proc/<pid>/schedstat). On an overloaded host an
 * instance that gets no CPU for a while publishes no heartbeat, yet it is not hung: the
 * three missed intervals count only time it could have run. A SIGSTOPped or deadlocked
 * process waits for no CPU, so it is declared dead after 3 intervals of real time. Past
 * HANG_HARD_MS (or 10 intervals) of real silence an instance is dead whatever the cause. */
#define HANG_HARD_MS 2000

/* The time (us) the main thread of 'pid' has waited on a run queue; 0 if unknown. */
static uint64_t proc_wait_us(pid_t pid)
{
	unsigned long long run, wait;
	char path[64];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%ld/schedstat", (long)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	n = fscanf(f, "%llu %llu", &run, &wait);
	fclose(f);
	return n == 2 ? wait / 1000u : 0;
}

/* The instance's clock now (see above): never behind its previous reading. */
static uint64_t inst_clock(struct orch_inst *in, uint64_t now)
{
	uint64_t w = proc_wait_us(in->rec.pid), t;

	if (w > in->wait_us)
		in->wait_us = w;	/* an unreadable value keeps the last one */
	t = now - (in->wait_us - in->wait0_us) / 1000u;
	if (t < in->clock_ms)
		t = in->clock_ms;
	in->clock_ms = t;
	return t;
}

void orch_inst_track_init(struct orch_inst *in, bool ready)
{
	uint64_t now = orch_mono_ms();

	in->wait0_us = in->wait_us = proc_wait_us(in->rec.pid);
	in->clock_ms = now;
	in->hb_real_ms = now;
	monitor_track_init(&in->track, in->rec.pid, ready, now);
}

/* Real silence beyond the hard limit: dead, starved or not. */
static bool hang_hard(const struct orch *o, const struct orch_inst *in, uint64_t now,
		      struct monitor_result *r)
{
	uint64_t limit = 10u * o->cfg.heartbeat_ms > HANG_HARD_MS ? 10u * o->cfg.heartbeat_ms :
								     HANG_HARD_MS;

	if (!in->track.seen || in->track.dead || now - in->hb_real_ms <= limit)
		return false;
	r->event = MONITOR_DEAD;
	snprintf(r->reason, sizeof(r->reason), "no new heartbeat for %llu ms (starved of CPU for "
		 "%llu ms of it)", (unsigned long long)(now - in->hb_real_ms),
		 (unsigned long long)((in->wait_us - in->wait0_us) / 1000u));
	return true;
}

/* Whether the monitor judges 'in' now: its process runs and it is not failed. */
static bool monitored(const struct orch_inst *in)
{
	return in->in_use && in->watched && !in->exited &&
	       (in->rec.state == ORCH_INST_LAUNCHING || in->rec.state == ORCH_INST_READY ||
		in->rec.state == ORCH_INST_DRAINING);
}

static void judge_one(struct orch *o, struct orch_nf *nf, struct orch_inst *in,
		      const struct monitor_sample *s, uint64_t now, uint64_t wall)
{
	const struct monitor_params p = {
		.interval_ms = o->cfg.heartbeat_ms,
		.start_timeout_ms = o->cfg.start_timeout_ms,
	};
	struct monitor_result r;

	monitor_judge(&in->track, s, &p, inst_clock(in, now), wall, &r);
	if (r.advanced)
		in->hb_real_ms = now;
	else if (r.event == MONITOR_NONE && hang_hard(o, in, now, &r))
		in->track.dead = true;
	in->hb_age_ms = r.age_ms;
	if (s->present && (s->pid == 0 || s->pid == in->rec.pid)) {
		pthread_mutex_lock(&o->lock);
		in->rec.pps = s->pps;
		in->rec.busy = s->busy;
		in->rec.last_heartbeat_ms = s->ts_ms;
		pthread_mutex_unlock(&o->lock);
	}
	if (r.event == MONITOR_READY)
		orch_inst_ready(o, nf, in);
	else if (r.event == MONITOR_DRAINED)
		orch_inst_drained(o, nf, in, r.reason);
	else if (r.event == MONITOR_DEAD)
		orch_inst_failed(o, nf, in, in->rec.state == ORCH_INST_LAUNCHING ? ORCH_FAIL_START :
				 ORCH_FAIL_HUNG, r.reason);
}

/* After the store was unreachable, silence says nothing: restart the hang clocks. */
static void monitor_resume(struct orch *o, uint64_t now)
{
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next) {
		for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++) {
			struct orch_inst *in = &nf->insts[i];

			if (monitored(in)) {
				in->track.new_ms = inst_clock(in, now);
				in->hb_real_ms = now;
			}
		}
	}
}

void orch_monitor_poll(struct orch *o)
{
	static struct monitor_sample samples[MONITOR_MAX];
	static struct loop_ref refs[MONITOR_MAX];
	static const char *ids[MONITOR_MAX];
	uint64_t now = orch_mono_ms(), wall = orch_wall_ms();
	char err[256];
	unsigned n = 0;

	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next)
		for (unsigned i = 0; i < ORCH_NF_ENTRIES && n < MONITOR_MAX; i++)
			if (monitored(&nf->insts[i]) && !nf->deleting) {
				refs[n] = (struct loop_ref){ nf, &nf->insts[i] };
				ids[n++] = nf->insts[i].rec.id;
			}
	if (n == 0)
		return;
	if (!store_ready(o->hb, nf_now_us()) || monitor_fetch(o->hb, ids, n, samples, err,
							      sizeof(err)) < 0) {
		if (o->store_up)
			NF_LOG(WARN, ORCH_LOG, "heartbeats unreadable: store down (no instance is "
			       "judged until it is back)");
		o->store_up = false;
		return;
	}
	if (!o->store_up)
		monitor_resume(o, now);
	o->store_up = true;
	for (unsigned i = 0; i < n; i++)
		judge_one(o, refs[i].nf, refs[i].in, &samples[i], now, wall);
}

/* ---- exits seen early ----
 *
 * A killed NF takes tens to hundreds of ms to end (the kernel frees its memory and its
 * packet rings) before its pidfd becomes readable; it stopped forwarding at the kill. The
 * kernel flags the process as exiting (PF_EXITING in /proc/<pid>/stat) at once: polling
 * that every EXIT_POLL_MS catches the failure earlier; the pidfd still collects the exit. */
#define PF_EXITING_FLAG 0x4u
#define EXIT_POLL_MS 5

/* Whether process 'pid' is exiting or dead (zombie). */
static bool proc_exiting(pid_t pid)
{
	char path[64], buf[512], state = 0;
	unsigned long flags = 0;
	const char *rp;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return false;	/* reaped: the pidfd reports it */
	rp = fgets(buf, sizeof(buf), f) != NULL ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (rp == NULL || sscanf(rp + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
		return false;
	return state == 'Z' || state == 'X' || (flags & PF_EXITING_FLAG);
}

void orch_exit_poll(struct orch *o)
{
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next) {
		for (unsigned i = 0; i < ORCH_NF_ENTRIES && !nf->deleting; i++) {
			struct orch_inst *in = &nf->insts[i];

			if (monitored(in) && in->rec.state != ORCH_INST_DRAINING &&
			    proc_exiting(in->rec.pid))
				orch_inst_failed(o, nf, in, ORCH_FAIL_EXIT, "process exiting (killed or "
						 "ended; its exit status follows when collected)");
		}
	}
}

/* ---- autoscaling ---- */

/* The average busy ratio of the NF's ready instances; false when none is ready. */
static bool nf_load(const struct orch_nf *nf, double *load)
{
	double sum = 0;
	unsigned n = 0;

	for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++) {
		const struct orch_inst *in = &nf->insts[i];

		if (in->in_use && in->rec.state == ORCH_INST_READY && in->rec.last_heartbeat_ms > 0) {
			sum += in->rec.busy < 0 ? 0 : in->rec.busy > 1 ? 1 : in->rec.busy;
			n++;
		}
	}
	*load = n > 0 ? sum / n : 0;
	return n > 0;
}

/* Append a sample; drop those older than the window, keeping the newest of them. */
static void hist_add(struct orch_nf *nf, uint64_t now, double load, unsigned window_ms)
{
	unsigned drop = 0;

	while (drop + 1 < nf->n_hist && nf->hist[drop + 1].t_ms + window_ms <= now)
		drop++;
	if (drop > 0) {
		memmove(nf->hist, nf->hist + drop, (nf->n_hist - drop) * sizeof(nf->hist[0]));
		nf->n_hist -= drop;
	}
	if (nf->n_hist == nf->cap_hist) {
		unsigned cap = nf->cap_hist ? nf->cap_hist * 2 : 64;
		struct autoscale_sample *h = realloc(nf->hist, cap * sizeof(*h));

		if (h == NULL)
			return;
		nf->hist = h;
		nf->cap_hist = cap;
	}
	nf->hist[nf->n_hist++] = (struct autoscale_sample){ .t_ms = now, .load = load };
}

/* Store the new desired count decided by the policy. */
static void autoscale_apply(struct orch *o, struct orch_nf *nf, const struct autoscale_decision *d,
			    uint64_t now)
{
	struct orch_nf_spec next;
	unsigned before = nf->spec.instances;
	int rc;

	pthread_mutex_lock(&o->lock);
	rc = orch_spec_copy(&next, &nf->spec);
	if (rc == 0) {
		next.instances = d->desired;
		rc = orch_state_put_nf(o->st_loop, &next, false);
		if (rc == 0) {
			orch_nf_spec_clear(&nf->spec);
			nf->spec = next;
			o->m.scale_autoscale++;
		} else {
			orch_nf_spec_clear(&next);
		}
	}
	pthread_mutex_unlock(&o->lock);
	if (rc < 0) {
		NF_LOG_RL(WARN, ORCH_LOG, "NF '%s': autoscale %u -> %u not stored: %s", nf->spec.name,
			  before, d->desired, strerror(-rc));
		return;
	}
	nf->as_last_ms = now;
	nf->n_hist = 0;
	nf->scale_req_us = now * 1000;
	orch_event(o, nf->spec.name, ORCH_EV_AUTOSCALE, NULL, "%s", d->reason);
	orch_event(o, nf->spec.name, ORCH_EV_SCALED, NULL, "%u -> %u (autoscale)", before, d->desired);
	o->reconcile_due = true;
}

static void autoscale_nf(struct orch *o, struct orch_nf *nf, uint64_t now)
{
	struct orch_autoscale as;
	struct autoscale_decision d;
	unsigned current;
	double load;

	pthread_mutex_lock(&o->lock);
	as = nf->spec.autoscale;
	current = nf->spec.instances;
	pthread_mutex_unlock(&o->lock);
	if (!as.enabled || nf->deleting)
		return;
	if (nf_load(nf, &load))
		hist_add(nf, now, load, as.window_s * 1000u);
	if (autoscale_decide(&as, current, nf->hist, nf->n_hist, nf->as_last_ms, now, &d) < 0) {
		NF_LOG_RL(WARN, ORCH_LOG, "NF '%s': autoscale policy: %s", nf->spec.name, d.reason);
		return;
	}
	if (d.desired != current)
		autoscale_apply(o, nf, &d, now);
}

void orch_autoscale_tick(struct orch *o)
{
	uint64_t now = orch_mono_ms();

	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next)
		autoscale_nf(o, nf, now);
}

/* ---- the loop ---- */

static unsigned loop_fds(struct orch *o, struct pollfd *fds, struct loop_ref *refs)
{
	unsigned n = 0;
	int k;

	fds[n] = (struct pollfd){ .fd = o->wake_fd, .events = POLLIN };
	refs[n++] = (struct loop_ref){ NULL, NULL };
	k = ofconn_pollfds(o->of, fds + n, 2);
	for (int i = 0; i < k; i++)
		refs[n++] = (struct loop_ref){ NULL, NULL };
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next) {
		for (unsigned i = 0; i < ORCH_NF_ENTRIES && n < LOOP_MAX_FDS; i++) {
			struct orch_inst *in = &nf->insts[i];
			int fd = in->in_use && in->watched && !in->exited ?
					 launcher_watch_fd(o->launcher, &in->rec) : -1;

			if (fd < 0)
				continue;
			fds[n] = (struct pollfd){ .fd = fd, .events = POLLIN };
			refs[n++] = (struct loop_ref){ nf, in };
		}
	}
	return n;
}

/* Timers of the loop (monotonic ms). */
struct loop_timers {
	uint64_t monitor, autoscale, reconcile, reap, exits;
};

static int loop_timeout(struct orch *o, const struct loop_timers *t, uint64_t now)
{
	uint64_t next = t->monitor, of_us = ofconn_next_wakeup_us(o->of);

	if (t->exits < next)
		next = t->exits;
	if (t->autoscale < next)
		next = t->autoscale;
	if (t->reconcile < next)
		next = t->reconcile;
	if (of_us / 1000 < next)
		next = of_us / 1000;
	if (o->reconcile_due || next <= now)
		return 0;
	return next - now > 1000 ? 1000 : (int)(next - now);
}

/* Readable descriptors: the wake-up counter, then ended processes. */
static void loop_events(struct orch *o, struct pollfd *fds, const struct loop_ref *refs,
			unsigned n)
{
	uint64_t v;

	if (fds[0].revents & POLLIN) {
		if (read(o->wake_fd, &v, sizeof(v)) < 0) {
			/* EAGAIN: someone else read it */
		}
		o->reconcile_due = true;
	}
	for (unsigned i = 1; i < n; i++)
		if (refs[i].in != NULL && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
			orch_inst_exited(o, refs[i].nf, refs[i].in);
}

static void loop_timers_run(struct orch *o, struct loop_timers *t)
{
	uint64_t now = orch_mono_ms();
	unsigned hb = o->cfg.heartbeat_ms;

	if (now >= t->exits) {
		orch_exit_poll(o);
		t->exits = now + EXIT_POLL_MS;
	}
	if (now >= t->monitor) {
		orch_monitor_poll(o);
		/* A tenth of the interval: a hung instance is declared dead within about 3
		 * intervals of its last heartbeat (one store round trip per poll). */
		t->monitor = now + (hb / 10 > 5 ? hb / 10 : 5);
	}
	if (now >= t->autoscale) {
		orch_autoscale_tick(o);
		t->autoscale = now + hb;
	}
	if (o->reconcile_due || now >= t->reconcile) {
		o->reconcile_due = false;
		orch_reconcile(o);
		orch_push_configs(o);
		t->reconcile = now + RECONCILE_EVERY_MS;
	}
	if (now >= t->reap) {
		launcher_reap(o->launcher);
		t->reap = now + REAP_EVERY_MS;
	}
}

int orch_run(struct orch *o)
{
	static struct pollfd fds[LOOP_MAX_FDS];
	static struct loop_ref refs[LOOP_MAX_FDS];
	struct loop_timers t = { 0 };

	NF_LOG(INFO, ORCH_LOG, "main loop running (heartbeat interval %u ms)", o->cfg.heartbeat_ms);
	while (!o->stop) {
		unsigned n = loop_fds(o, fds, refs);
		int rc = poll(fds, n, loop_timeout(o, &t, orch_mono_ms()));

		if (rc < 0 && errno != EINTR) {
			NF_LOG(ERR, ORCH_LOG, "poll: %s", strerror(errno));
			return -errno;
		}
		if (rc > 0)
			loop_events(o, fds, refs, n);
		ofconn_run(o->of, nf_now_us());
		orch_steer_process(o);
		loop_timers_run(o, &t);
		orch_steer_process(o);
	}
	NF_LOG(INFO, ORCH_LOG, "main loop stopped");
	return 0;
}
