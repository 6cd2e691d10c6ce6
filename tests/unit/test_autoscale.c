/* The autoscaling policy (orchestrator/autoscale.c): thresholds, window, cooldown, bounds. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "orchestrator/autoscale.h"

#define NOW 100000u		/* ms: the window of 3 s opens at 97000 */
#define MAX_SAMPLES 8

/* min 1, max 4, out above 0.70, in below 0.30, cooldown 10 s, window 3 s. */
#define POLICY { .enabled = true, .min = 1, .max = 4, .scale_out_load = 0.70, \
		 .scale_in_load = 0.30, .cooldown_s = 10, .window_s = 3 }

/* One sample a second from 95 s to 100 s with these loads. */
#define SECONDS(a, b, c, d, e, f) { { 95000, a }, { 96000, b }, { 97000, c }, { 98000, d }, \
				    { 99000, e }, { 100000, f } }, 6

/* No pointers: Criterion copies the table into each test's process. */
struct as_case {
	char name[80];
	struct orch_autoscale as;
	unsigned current;
	struct autoscale_sample hist[MAX_SAMPLES];
	unsigned n;
	uint64_t last_ms;
	uint64_t now_ms;
	int ret;
	unsigned desired;
	char reason[64];	/* a substring of the reason */
};

static struct as_case cases[] = {
	{ "above for the whole window: out", POLICY, 2, SECONDS(0.1, 0.2, 0.80, 0.85, 0.85, 0.82),
	  0, NOW, 0, 3, "average busy 0.83 > 0.70 for 3 s: 2 -> 3" },
	{ "a dip inside the window: unchanged", POLICY, 2, SECONDS(0.9, 0.9, 0.9, 0.5, 0.9, 0.9),
	  0, NOW, 0, 2, "not beyond [0.30, 0.70] for all of 3 s" },
	{ "the dip was before the window opened: out", POLICY, 2,
	  SECONDS(0.9, 0.2, 0.9, 0.9, 0.9, 0.9), 0, NOW, 0, 3, "2 -> 3" },
	{ "the window's first sample is the anchor: a dip there counts", POLICY, 2,
	  SECONDS(0.9, 0.9, 0.2, 0.9, 0.9, 0.9), 0, NOW, 0, 2, "not beyond" },
	{ "exactly at the threshold is not above", POLICY, 2,
	  SECONDS(0.7, 0.7, 0.7, 0.7, 0.7, 0.7), 0, NOW, 0, 2, "not beyond" },
	{ "history shorter than the window", POLICY, 2,
	  { { 98000, 0.9 }, { 99000, 0.9 }, { 100000, 0.9 } }, 3, 0, NOW, 0, 2,
	  "covers less than the 3 s window" },
	{ "no samples", POLICY, 2, { { 0, 0 } }, 0, 0, NOW, 0, 2, "covers less" },
	{ "above, but at max", POLICY, 4, SECONDS(0.9, 0.9, 0.9, 0.9, 0.9, 0.9), 0, NOW, 0, 4,
	  "but at max 4" },
	{ "below for the whole window: in", POLICY, 3, SECONDS(0.5, 0.5, 0.1, 0.2, 0.1, 0.2), 0,
	  NOW, 0, 2, "average busy 0.15 < 0.30 for 3 s: 3 -> 2" },
	{ "below, but at min", POLICY, 1, SECONDS(0.1, 0.1, 0.1, 0.1, 0.1, 0.1), 0, NOW, 0, 1,
	  "but at min 1" },
	{ "between the thresholds", POLICY, 2, SECONDS(0.5, 0.5, 0.5, 0.5, 0.5, 0.5), 0, NOW, 0,
	  2, "average busy 0.50" },
	{ "cooldown: 5 s after the last change", POLICY, 2, SECONDS(0.9, 0.9, 0.9, 0.9, 0.9, 0.9),
	  95000, NOW, 0, 2, "cooldown: 5.0 s of 10 s left" },
	{ "cooldown over, the window after the change: out", POLICY, 2,
	  SECONDS(0.9, 0.9, 0.9, 0.9, 0.9, 0.9), 85000, NOW, 0, 3, "2 -> 3" },
	{ "cooldown over, but the window starts before the change", { .enabled = true, .min = 1,
	  .max = 4, .scale_out_load = 0.7, .scale_in_load = 0.3, .cooldown_s = 0, .window_s = 3 },
	  2, SECONDS(0.9, 0.9, 0.9, 0.9, 0.9, 0.9), 97500, NOW, 0, 2, "since the last change" },
	{ "cooldown ends exactly now", POLICY, 2, SECONDS(0.9, 0.9, 0.9, 0.9, 0.9, 0.9), 90000,
	  NOW, 0, 3, "2 -> 3" },
	{ "samples stopped long ago", POLICY, 2, { { 80000, 0.9 }, { 90000, 0.9 } }, 2, 0, NOW,
	  0, 2, "no load sample in the last 3 s" },
	{ "samples after 'now' are ignored", POLICY, 2,
	  { { 97000, 0.9 }, { 99000, 0.9 }, { 100500, 0.1 } }, 3, 0, NOW, 0, 3, "2 -> 3" },
	{ "window 0: the newest sample decides", { .enabled = true, .min = 1, .max = 4,
	  .scale_out_load = 0.7, .scale_in_load = 0.3, .cooldown_s = 0, .window_s = 0 }, 2,
	  SECONDS(0.1, 0.1, 0.1, 0.1, 0.1, 0.9), 0, NOW, 0, 3, "for 0 s: 2 -> 3" },
	{ "below min: up to min at once", { .enabled = true, .min = 3, .max = 6,
	  .scale_out_load = 0.7, .scale_in_load = 0.3, .cooldown_s = 10, .window_s = 3 }, 1,
	  SECONDS(0.1, 0.1, 0.1, 0.1, 0.1, 0.1), 99000, NOW, 0, 3, "1 below min 3: 1 -> 3" },
	{ "above max: down to max at once", POLICY, 6, SECONDS(0.9, 0.9, 0.9, 0.9, 0.9, 0.9),
	  99000, NOW, 0, 4, "6 above max 4: 6 -> 4" },
	{ "disabled", { .enabled = false, .min = 1, .max = 4, .scale_out_load = 0.7,
	  .scale_in_load = 0.3, .cooldown_s = 10, .window_s = 3 }, 2,
	  SECONDS(0.9, 0.9, 0.9, 0.9, 0.9, 0.9), 0, NOW, 0, 2, "autoscale off" },
	{ "min > max", { .enabled = true, .min = 5, .max = 4, .scale_out_load = 0.7,
	  .scale_in_load = 0.3, .cooldown_s = 10, .window_s = 3 }, 4,
	  SECONDS(0.9, 0.9, 0.9, 0.9, 0.9, 0.9), 0, NOW, -EINVAL, 4, "min 5 > max 4" },
	{ "in >= out", { .enabled = true, .min = 1, .max = 4, .scale_out_load = 0.5,
	  .scale_in_load = 0.5, .cooldown_s = 10, .window_s = 3 }, 2,
	  SECONDS(0.9, 0.9, 0.9, 0.9, 0.9, 0.9), 0, NOW, -EINVAL, 2, "scale_in_load" },
	{ "out above 1", { .enabled = true, .min = 1, .max = 4, .scale_out_load = 1.5,
	  .scale_in_load = 0.5, .cooldown_s = 10, .window_s = 3 }, 2,
	  SECONDS(0.9, 0.9, 0.9, 0.9, 0.9, 0.9), 0, NOW, -EINVAL, 2, "<= 1" },
	{ "window longer than the clock", { .enabled = true, .min = 1, .max = 4,
	  .scale_out_load = 0.7, .scale_in_load = 0.3, .cooldown_s = 0, .window_s = 3600 }, 2,
	  { { 0, 0.9 }, { 1000, 0.9 } }, 2, 0, 2000, 0, 3, "2 -> 3" },
};

ParameterizedTestParameters(autoscale, policy)
{
	return cr_make_param_array(struct as_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct as_case *c, autoscale, policy)
{
	struct autoscale_decision d;
	int ret = autoscale_decide(&c->as, c->current, c->hist, c->n, c->last_ms, c->now_ms, &d);

	cr_assert_eq(ret, c->ret, "%s: returned %d, want %d (%s)", c->name, ret, c->ret, d.reason);
	cr_assert_eq(d.desired, c->desired, "%s: desired %u, want %u (%s)", c->name, d.desired,
		     c->desired, d.reason);
	cr_assert_eq(d.delta, (int)c->desired - (int)c->current, "%s: delta %d", c->name, d.delta);
	cr_assert_not_null(strstr(d.reason, c->reason), "%s: reason '%s' lacks '%s'", c->name,
			   d.reason, c->reason);
}

/* A run over time: load rises, scale out, cooldown holds, the new count's window must
 * fill again before the next step; the load falls, scale in down to min. */
Test(autoscale, timeline)
{
	struct orch_autoscale as = POLICY;
	struct autoscale_sample hist[64];
	struct autoscale_decision d;
	unsigned n = 0, current = 1, changes = 0;
	uint64_t last = 0;
	unsigned at[8];

	for (uint64_t t = 1000; t <= 60000; t += 500) {
		double load = t < 30000 ? 0.9 : 0.1;

		if (n == 64) {
			memmove(hist, hist + 1, sizeof(hist) - sizeof(hist[0]));
			n--;
		}
		hist[n++] = (struct autoscale_sample){ t, load };
		cr_assert_eq(autoscale_decide(&as, current, hist, n, last, t, &d), 0, "%s", d.reason);
		if (d.delta != 0) {
			cr_assert_lt(changes, 8);
			at[changes++] = (unsigned)t;
			current = d.desired;
			last = t;
		}
	}
	/* Out at 4 s (window full), 14 s and 24 s (cooldown 10 s): 4 is max. In after the
	 * fall at 30 s: at 34 s (window full at 33 s, cooldown until 34 s), then every 10 s
	 * down to min 1. */
	cr_assert_eq(changes, 6, "changes %u", changes);
	cr_assert_eq(at[0], 4000);
	cr_assert_eq(at[1], 14000);
	cr_assert_eq(at[2], 24000);
	cr_assert_eq(at[3], 34000, "first scale-in at %u", at[3]);
	cr_assert_eq(at[4], 44000);
	cr_assert_eq(at[5], 54000);
	cr_assert_eq(current, 1);
}
