/* The autoscaling policy: a pure function from load history to a desired instance count. */
#ifndef ORCH_AUTOSCALE_H
#define ORCH_AUTOSCALE_H

#include <stddef.h>
#include <stdint.h>

#include "orchestrator/model.h"

/* One load sample: the average busy ratio (0..1) over an NF's ready instances at 't_ms'
 * (any clock, the same as the 'now_ms' and 'last_ms' given to autoscale_decide). */
struct autoscale_sample {
	uint64_t t_ms;
	double load;
};

struct autoscale_decision {
	unsigned desired;	/* the new desired count */
	int delta;		/* desired - current: +1, -1, 0 (or more to enter [min, max]) */
	char reason[128];	/* "average busy 0.83 > 0.70 for 3 s: 2 -> 3", "cooldown: ..." */
};

/* Decide the NF's desired instance count. 'hist' holds 'n' samples, oldest first.
 *
 * - Out of bounds first: a 'current' below 'as->min' or above 'as->max' (bounds changed by a
 *   PATCH) is brought to the nearest bound at once, whatever the load and the cooldown.
 * - Cooldown: no load decision while now_ms < last_ms + cooldown_s (last_ms = the previous
 *   decision that changed the count; 0 = never).
 * - The window is [now_ms - window_s, now_ms]. It must be covered: there must be a sample
 *   at or before its start (the condition held when the window opened), taken after the
 *   last decision (load seen before a change says nothing about the new count), and every
 *   sample from that one on must be strictly above 'scale_out_load' (then +1, if below
 *   'max') or strictly below 'scale_in_load' (then -1, if above 'min'). window_s = 0 means
 *   the newest sample alone decides.
 * - Disabled autoscale never changes the count.
 *
 * Pure: no clock, no I/O. Returns 0 with 'out' filled (reason always set), or -EINVAL
 * with the reason in out->reason when the policy itself is inconsistent (min > max,
 * scale_in_load >= scale_out_load, a load outside 0..1). */
int autoscale_decide(const struct orch_autoscale *as, unsigned current,
		     const struct autoscale_sample *hist, unsigned n, uint64_t last_ms,
		     uint64_t now_ms, struct autoscale_decision *out);

#endif
