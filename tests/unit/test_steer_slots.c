/* Tests of the steering slot assignment (orchestrator/steer_slots.c): balance, minimal
 * movement when members come and go, determinism. Pure: no switch involved. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "orchestrator/steer.h"

typedef char slot_table[ORCH_SLOTS][ORCH_ID_MAX];

/* Members "nf-<ids[i]>" with ports derived from the id. */
static void make_members(struct steer_member *m, const unsigned *ids, unsigned n)
{
	memset(m, 0, n * sizeof(*m));
	for (unsigned i = 0; i < n; i++) {
		snprintf(m[i].id, sizeof(m[i].id), "nf-%u", ids[i]);
		m[i].ofport_in = 100 + 2 * ids[i];
		m[i].ofport_out = 101 + 2 * ids[i];
	}
}

/* Members nf-0 .. nf-(n-1). */
static void make_range(struct steer_member *m, unsigned n)
{
	unsigned ids[ORCH_SLOTS];

	for (unsigned i = 0; i < n; i++)
		ids[i] = i;
	make_members(m, ids, n);
}

static unsigned count_of(slot_table t, const char *id)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ORCH_SLOTS; i++)
		n += strcmp(t[i], id) == 0;
	return n;
}

static unsigned moved(slot_table a, slot_table b)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ORCH_SLOTS; i++)
		n += strcmp(a[i], b[i]) != 0;
	return n;
}

/* Every slot belongs to a member and the counts differ by at most one. */
static void assert_balanced(slot_table t, const struct steer_member *m, unsigned n)
{
	unsigned lo = ORCH_SLOTS, hi = 0, total = 0;

	for (unsigned i = 0; i < n; i++) {
		unsigned c = count_of(t, m[i].id);

		lo = c < lo ? c : lo;
		hi = c > hi ? c : hi;
		total += c;
	}
	cr_assert_eq(total, ORCH_SLOTS, "%u of %u slots owned by the %u members", total, ORCH_SLOTS, n);
	cr_assert_leq(hi - lo, 1, "counts from %u to %u with %u members", lo, hi, n);
}

Test(steer_slots, empty_member_set_frees_everything)
{
	struct steer_member m[3];
	slot_table t = { { 0 } };

	make_range(m, 3);
	steer_assign_slots(t, m, 3);
	steer_assign_slots(t, NULL, 0);
	for (unsigned i = 0; i < ORCH_SLOTS; i++)
		cr_assert_str_empty(t[i]);
}

Test(steer_slots, balanced_for_every_size)
{
	struct steer_member m[ORCH_SLOTS];

	for (unsigned n = 1; n <= 20; n++) {
		slot_table t = { { 0 } };

		make_range(m, n);
		steer_assign_slots(t, m, n);
		assert_balanced(t, m, n);
	}
	make_range(m, ORCH_SLOTS);
	{
		slot_table t = { { 0 } };

		steer_assign_slots(t, m, ORCH_SLOTS);
		assert_balanced(t, m, ORCH_SLOTS);
	}
}

Test(steer_slots, one_member_owns_all_slots)
{
	struct steer_member m[1];
	slot_table t = { { 0 } };

	make_range(m, 1);
	steer_assign_slots(t, m, 1);
	cr_assert_eq(count_of(t, "nf-0"), ORCH_SLOTS);
}

/* Stale ids in the table (instances that are gone) are replaced. */
Test(steer_slots, stale_ids_are_reassigned)
{
	struct steer_member m[2];
	slot_table t;

	for (unsigned i = 0; i < ORCH_SLOTS; i++)
		snprintf(t[i], ORCH_ID_MAX, "old-%u", i % 5);
	make_range(m, 2);
	steer_assign_slots(t, m, 2);
	assert_balanced(t, m, 2);
}

/* Adding one member to n moves exactly the new member's share: 64/(n+1) rounded, all of
 * them to the new member; the others keep every slot they still own. */
struct grow_case {
	unsigned n;
};

ParameterizedTestParameters(steer_slots, adding_one_moves_only_its_share)
{
	static struct grow_case cases[] = { { 1 }, { 2 }, { 3 }, { 4 }, { 5 }, { 7 }, { 8 }, { 15 } };

	return cr_make_param_array(struct grow_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct grow_case *c, steer_slots, adding_one_moves_only_its_share)
{
	struct steer_member m[ORCH_SLOTS];
	slot_table before = { { 0 } }, after;
	unsigned n = c->n, got, want_lo = ORCH_SLOTS / (n + 1), want_hi = want_lo + 1;

	make_range(m, n + 1);
	steer_assign_slots(before, m, n);
	memcpy(after, before, sizeof(after));
	steer_assign_slots(after, m, n + 1);
	assert_balanced(after, m, n + 1);
	got = moved(before, after);
	cr_assert(got >= want_lo && got <= want_hi, "%u -> %u members moved %u slots", n, n + 1, got);
	for (unsigned i = 0; i < ORCH_SLOTS; i++)
		if (strcmp(before[i], after[i]) != 0)
			cr_assert_str_eq(after[i], m[n].id, "slot %u moved to %s, not the new member", i,
					 after[i]);
}

/* Removing one member moves exactly its slots. */
Test(steer_slots, removing_one_moves_only_its_slots)
{
	struct steer_member m[8], rest[7];

	for (unsigned n = 2; n <= 8; n++) {
		for (unsigned gone = 0; gone < n; gone++) {
			slot_table before = { { 0 } }, after;
			unsigned k = 0;

			make_range(m, n);
			steer_assign_slots(before, m, n);
			for (unsigned i = 0; i < n; i++)
				if (i != gone)
					rest[k++] = m[i];
			memcpy(after, before, sizeof(after));
			steer_assign_slots(after, rest, n - 1);
			assert_balanced(after, rest, n - 1);
			for (unsigned i = 0; i < ORCH_SLOTS; i++)
				if (strcmp(before[i], m[gone].id) != 0)
					cr_assert_str_eq(before[i], after[i], "n %u, removing %s moved slot %u",
							 n, m[gone].id, i);
			cr_assert_eq(moved(before, after), count_of(before, m[gone].id));
		}
	}
}

/* Replacing a member (one leaves, one joins in the same change) moves only its slots. */
Test(steer_slots, replacement_takes_over_exactly_the_departed_slots)
{
	unsigned ids_before[] = { 0, 1, 2 }, ids_after[] = { 0, 2, 3 };
	struct steer_member a[3], b[3];
	slot_table before = { { 0 } }, after;

	make_members(a, ids_before, 3);
	make_members(b, ids_after, 3);
	steer_assign_slots(before, a, 3);
	memcpy(after, before, sizeof(after));
	steer_assign_slots(after, b, 3);
	for (unsigned i = 0; i < ORCH_SLOTS; i++) {
		if (strcmp(before[i], "nf-1") == 0)
			cr_assert_str_eq(after[i], "nf-3");
		else
			cr_assert_str_eq(after[i], before[i]);
	}
}

/* Same input, same output, whatever the order of the members; and applying the same set
 * again changes nothing. */
Test(steer_slots, deterministic_and_order_independent)
{
	unsigned fwd[] = { 4, 9, 1, 7, 3 }, rev[] = { 3, 7, 1, 9, 4 };
	struct steer_member a[5], b[5];
	slot_table t1 = { { 0 } }, t2 = { { 0 } }, t3;

	make_members(a, fwd, 5);
	make_members(b, rev, 5);
	steer_assign_slots(t1, a, 5);
	steer_assign_slots(t2, b, 5);
	cr_assert_eq(moved(t1, t2), 0);
	memcpy(t3, t1, sizeof(t3));
	steer_assign_slots(t3, b, 5);
	cr_assert_eq(moved(t1, t3), 0, "a second assignment of the same set moved slots");
	/* From the same uneven start, both orders agree too. */
	for (unsigned i = 0; i < ORCH_SLOTS; i++)
		snprintf(t1[i], ORCH_ID_MAX, "nf-%u", i < 40 ? 4 : 9);
	memcpy(t2, t1, sizeof(t2));
	steer_assign_slots(t1, a, 5);
	steer_assign_slots(t2, b, 5);
	cr_assert_eq(moved(t1, t2), 0);
	assert_balanced(t1, a, 5);
}

/* The fewest slots any assignment can move from 'prev' to a balanced table over 'cur':
 * the slots no member holds (free, or of departed instances), plus what each member holds beyond its quota when the
 * members holding the most get the larger quotas. */
static unsigned min_moves(slot_table prev, const struct steer_member *cur, unsigned k)
{
	unsigned counts[ORCH_SLOTS], total = 0, owned = 0, i, j, t;

	for (i = 0; i < k; i++)
		counts[i] = count_of(prev, cur[i].id);
	for (i = 1; i < k; i++)	/* descending */
		for (j = i; j > 0 && counts[j] > counts[j - 1]; j--)
			t = counts[j], counts[j] = counts[j - 1], counts[j - 1] = t;
	for (i = 0; i < k; i++) {
		unsigned q = ORCH_SLOTS / k + (i < ORCH_SLOTS % k);

		owned += counts[i];
		total += counts[i] > q ? counts[i] - q : 0;
	}
	return total + ORCH_SLOTS - owned;	/* + the slots no member holds */
}

/* A long random walk of joins and leaves: always balanced, and every step moves exactly
 * the minimum. */
Test(steer_slots, random_walk_moves_the_minimum)
{
	struct steer_member all[16], cur[16];
	bool in[16] = { false };
	slot_table t = { { 0 } }, prev;
	unsigned seed = 12345, n = 0, steps = 0;

	make_range(all, 16);
	while (steps < 500) {
		unsigned pick, k = 0;

		seed = seed * 1103515245 + 12345;
		pick = (seed >> 16) % 16;
		if (in[pick] && n == 1)
			continue;
		in[pick] = !in[pick];
		n += in[pick] ? 1 : -1;
		for (unsigned i = 0; i < 16; i++)
			if (in[i])
				cur[k++] = all[i];
		memcpy(prev, t, sizeof(prev));
		steer_assign_slots(t, cur, k);
		assert_balanced(t, cur, k);
		cr_assert_eq(moved(prev, t), min_moves(prev, cur, k), "step %u (%u members): moved %u, minimum %u",
			     steps, k, moved(prev, t), min_moves(prev, cur, k));
		steps++;
	}
}
