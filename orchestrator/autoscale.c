/* The autoscaling policy: a pure function from load history to a desired instance count. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "orchestrator/autoscale.h"

/* What the samples of the window say. */
struct window {
	unsigned first, end;	/* samples [first, end) are the window (first is its anchor) */
	double avg;
	bool all_above, all_below;
};

static int decide(struct autoscale_decision *out, unsigned current, int delta, const char *fmt,
		  ...) __attribute__((format(printf, 4, 5)));
static int decide(struct autoscale_decision *out, unsigned current, int delta, const char *fmt,
		  ...)
{
	va_list ap;

	out->delta = delta;
	out->desired = (unsigned)((int)current + delta);
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	return 0;
}

static int autoscale_check(const struct orch_autoscale *as, struct autoscale_decision *out)
{
	if (as->min > as->max) {
		snprintf(out->reason, sizeof(out->reason), "min %u > max %u", as->min, as->max);
		return -EINVAL;
	}
	if (!(as->scale_in_load >= 0.0 && as->scale_out_load <= 1.0 &&
	      as->scale_in_load < as->scale_out_load)) {
		snprintf(out->reason, sizeof(out->reason),
			 "need 0 <= scale_in_load (%.2f) < scale_out_load (%.2f) <= 1",
			 as->scale_in_load, as->scale_out_load);
		return -EINVAL;
	}
	return 0;
}

/* Find the window's samples: the anchor is the newest sample at or before 'start'; the
 * window ends before the first sample after 'now_ms'. Returns false when no anchor. */
static bool window_find(const struct autoscale_sample *hist, unsigned n, uint64_t start,
			uint64_t now_ms, struct window *w)
{
	bool found = false;

	w->end = 0;
	for (unsigned i = 0; i < n && hist[i].t_ms <= now_ms; i++) {
		if (hist[i].t_ms <= start) {
			w->first = i;
			found = true;
		}
		w->end = i + 1;
	}
	return found;
}

static void window_judge(const struct autoscale_sample *hist, const struct orch_autoscale *as,
			 struct window *w)
{
	double sum = 0.0;

	w->all_above = true;
	w->all_below = true;
	for (unsigned i = w->first; i < w->end; i++) {
		sum += hist[i].load;
		w->all_above &= hist[i].load > as->scale_out_load;
		w->all_below &= hist[i].load < as->scale_in_load;
	}
	w->avg = sum / (double)(w->end - w->first);
}

/* The load decision once bounds and cooldown allow one. */
static int autoscale_load(const struct orch_autoscale *as, unsigned current,
			  const struct autoscale_sample *hist, unsigned n, uint64_t last_ms,
			  uint64_t now_ms, struct autoscale_decision *out)
{
	uint64_t win_ms = (uint64_t)as->window_s * 1000u;
	uint64_t start = now_ms > win_ms ? now_ms - win_ms : 0;
	struct window w;

	if (!window_find(hist, n, start, now_ms, &w) || (last_ms > 0 && hist[w.first].t_ms < last_ms))
		return decide(out, current, 0, "load history covers less than the %u s window%s",
			      as->window_s, last_ms > 0 ? " since the last change" : "");
	if (win_ms > 0 && hist[w.end - 1].t_ms <= start)
		return decide(out, current, 0, "no load sample in the last %u s", as->window_s);
	window_judge(hist, as, &w);
	if (w.all_above && current < as->max)
		return decide(out, current, 1, "average busy %.2f > %.2f for %u s: %u -> %u", w.avg,
			      as->scale_out_load, as->window_s, current, current + 1);
	if (w.all_above)
		return decide(out, current, 0, "average busy %.2f > %.2f for %u s, but at max %u",
			      w.avg, as->scale_out_load, as->window_s, as->max);
	if (w.all_below && current > as->min)
		return decide(out, current, -1, "average busy %.2f < %.2f for %u s: %u -> %u", w.avg,
			      as->scale_in_load, as->window_s, current, current - 1);
	if (w.all_below)
		return decide(out, current, 0, "average busy %.2f < %.2f for %u s, but at min %u",
			      w.avg, as->scale_in_load, as->window_s, as->min);
	return decide(out, current, 0, "average busy %.2f, not beyond [%.2f, %.2f] for all of %u s",
		      w.avg, as->scale_in_load, as->scale_out_load, as->window_s);
}

int autoscale_decide(const struct orch_autoscale *as, unsigned current,
		     const struct autoscale_sample *hist, unsigned n, uint64_t last_ms,
		     uint64_t now_ms, struct autoscale_decision *out)
{
	uint64_t cool_ms = (uint64_t)as->cooldown_s * 1000u;
	int ret;

	memset(out, 0, sizeof(*out));
	out->desired = current;
	if (!as->enabled)
		return decide(out, current, 0, "autoscale off");
	ret = autoscale_check(as, out);
	if (ret < 0)
		return ret;
	if (current < as->min)
		return decide(out, current, (int)(as->min - current), "%u below min %u: %u -> %u",
			      current, as->min, current, as->min);
	if (current > as->max)
		return decide(out, current, -(int)(current - as->max), "%u above max %u: %u -> %u",
			      current, as->max, current, as->max);
	if (last_ms > 0 && now_ms < last_ms + cool_ms)
		return decide(out, current, 0, "cooldown: %.1f s of %u s left",
			      (double)(last_ms + cool_ms - now_ms) / 1000.0, as->cooldown_s);
	return autoscale_load(as, current, hist, n, last_ms, now_ms, out);
}
