/* Steering slots: which ready instance owns each of an NF's ORCH_SLOTS select-group buckets.
 *
 * The assignment moves as few slots as possible: the slots of departed instances are freed,
 * each member gets a quota (ORCH_SLOTS / n, and one more for the ORCH_SLOTS % n members
 * already holding the most slots), members over their quota give up their highest slots,
 * and the free slots go, lowest first, to the member furthest below its quota. Ties are
 * broken by instance id, so the result depends on the member set, not on its order. */
#include <stdio.h>
#include <string.h>

#include "orchestrator/steer.h"

/* The index of 'id' in 'members', or -1. */
static int slots_member_index(const struct steer_member *members, unsigned n, const char *id)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(members[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* Free the slots of instances that are no longer members; count every member's slots
 * into 'counts' and record each slot's member index in 'owner' (-1: free). */
static void slots_free_departed(char slots[ORCH_SLOTS][ORCH_ID_MAX],
				const struct steer_member *members, unsigned n, unsigned *counts,
				int *owner)
{
	memset(counts, 0, n * sizeof(*counts));
	for (unsigned i = 0; i < ORCH_SLOTS; i++) {
		owner[i] = slots[i][0] ? slots_member_index(members, n, slots[i]) : -1;
		if (owner[i] < 0)
			slots[i][0] = '\0';
		else
			counts[owner[i]]++;
	}
}

/* True when member 'a' comes before 'b' in the quota order: more slots first, then id. */
static bool slots_before(const struct steer_member *members, const unsigned *counts, unsigned a,
			 unsigned b)
{
	if (counts[a] != counts[b])
		return counts[a] > counts[b];
	return strcmp(members[a].id, members[b].id) < 0;
}

/* Quotas: ORCH_SLOTS / n each, one more for the first ORCH_SLOTS % n in quota order. */
static void slots_quotas(const struct steer_member *members, unsigned n, const unsigned *counts,
			 unsigned *quotas)
{
	unsigned order[ORCH_SLOTS], i, j, t;

	for (i = 0; i < n; i++) {	/* insertion sort: n <= ORCH_SLOTS */
		for (j = i; j > 0 && slots_before(members, counts, i, order[j - 1]); j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	for (i = 0; i < n; i++) {
		t = order[i];
		quotas[t] = ORCH_SLOTS / n + (i < ORCH_SLOTS % n ? 1 : 0);
	}
}

/* Members over their quota give up their highest-numbered slots. */
static void slots_release_excess(char slots[ORCH_SLOTS][ORCH_ID_MAX], unsigned *counts,
				 const unsigned *quotas, int *owner)
{
	for (int i = ORCH_SLOTS - 1; i >= 0; i--) {
		int m = owner[i];

		if (m >= 0 && counts[m] > quotas[m]) {
			counts[m]--;
			owner[i] = -1;
			slots[i][0] = '\0';
		}
	}
}

/* The member furthest below its quota (ties: the smallest id), or -1 when none is. */
static int slots_neediest(const struct steer_member *members, unsigned n, const unsigned *counts,
			  const unsigned *quotas)
{
	unsigned best_gap = 0, gap;
	int best = -1;

	for (unsigned i = 0; i < n; i++) {
		gap = quotas[i] > counts[i] ? quotas[i] - counts[i] : 0;
		if (gap > best_gap ||
		    (gap > 0 && gap == best_gap && strcmp(members[i].id, members[best].id) < 0)) {
			best_gap = gap;
			best = (int)i;
		}
	}
	return best;
}

/* Give the free slots, lowest first, to the members under their quota. */
static void slots_fill(char slots[ORCH_SLOTS][ORCH_ID_MAX], const struct steer_member *members,
		       unsigned n, unsigned *counts, const unsigned *quotas)
{
	for (unsigned i = 0; i < ORCH_SLOTS; i++) {
		int m;

		if (slots[i][0])
			continue;
		m = slots_neediest(members, n, counts, quotas);
		if (m < 0)
			return;
		snprintf(slots[i], ORCH_ID_MAX, "%s", members[m].id);
		counts[m]++;
	}
}

void steer_assign_slots(char slots[ORCH_SLOTS][ORCH_ID_MAX], const struct steer_member *members,
			unsigned n_members)
{
	unsigned counts[ORCH_SLOTS], quotas[ORCH_SLOTS];
	int owner[ORCH_SLOTS];

	if (n_members > ORCH_SLOTS)	/* more would get no slot anyway */
		n_members = ORCH_SLOTS;
	slots_free_departed(slots, members, n_members, counts, owner);
	if (n_members == 0)
		return;
	slots_quotas(members, n_members, counts, quotas);
	slots_release_excess(slots, counts, quotas, owner);
	slots_fill(slots, members, n_members, counts, quotas);
}
