/* Maglev table properties: balance, weights, disruption when the pool changes, determinism. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "nfs/lb/lb_maglev.h"

#define M LB_MAGLEV_SIZE
#define MAX_B 128

static uint16_t t1[M], t2[M];

/* Backend 'i': 10.1.x.y:8080 (spread addresses, the same port). */
static struct lb_maglev_backend backend(unsigned i, uint16_t weight)
{
	struct lb_maglev_backend b = { .ip = htonl(0x0a010000u + i * 37u + 1u),
				       .port = htons(8080), .weight = weight };
	return b;
}

static void backends(struct lb_maglev_backend *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b[i] = backend(i, 1);
}

/* Share of the table each backend got, into 'share' (n entries). */
static void shares(const uint16_t *t, unsigned n, double *share)
{
	unsigned count[MAX_B] = { 0 };

	for (unsigned i = 0; i < M; i++) {
		cr_assert_lt(t[i], n, "slot %u holds backend %u of %u", i, t[i], n);
		count[t[i]]++;
	}
	for (unsigned i = 0; i < n; i++)
		share[i] = (double)count[i] / M;
}

ParameterizedTestParameters(maglev, equal_weights_are_balanced)
{
	static unsigned ns[] = { 1, 2, 3, 5, 10, 33, 100 };
	return cr_make_param_array(unsigned, ns, sizeof(ns) / sizeof(ns[0]));
}

ParameterizedTest(unsigned *n, maglev, equal_weights_are_balanced)
{
	struct lb_maglev_backend b[MAX_B];
	double share[MAX_B];

	backends(b, *n);
	cr_assert_eq(lb_maglev_build(b, *n, t1, M), 0);
	shares(t1, *n, share);
	for (unsigned i = 0; i < *n; i++)
		cr_assert_lt(fabs(share[i] * *n - 1.0), 0.01, "n=%u: backend %u has %.4f of the table",
			     *n, i, share[i]);
}

Test(maglev, weights_are_respected_proportionally)
{
	static const uint16_t w[] = { 1, 2, 3, 4, 10, 100 };
	enum { N = sizeof(w) / sizeof(w[0]) };
	struct lb_maglev_backend b[N];
	double share[N], total = 0;

	for (unsigned i = 0; i < N; i++) {
		b[i] = backend(i, w[i]);
		total += w[i];
	}
	cr_assert_eq(lb_maglev_build(b, N, t1, M), 0);
	shares(t1, N, share);
	for (unsigned i = 0; i < N; i++)
		cr_assert_lt(fabs(share[i] - w[i] / total), 0.002, "weight %u: share %.4f, want %.4f",
			     w[i], share[i], w[i] / total);
}

/* Fraction of slots whose backend differs; 'map2' turns a t2 index into a t1 index. */
static double moved(const uint16_t *a, const uint16_t *b, int shift)
{
	unsigned n = 0;

	for (unsigned i = 0; i < M; i++)
		n += a[i] != b[i] + shift;
	return (double)n / M;
}

ParameterizedTestParameters(maglev, one_change_moves_about_1_over_n)
{
	static unsigned ns[] = { 2, 3, 5, 10, 20, 50, 100 };
	return cr_make_param_array(unsigned, ns, sizeof(ns) / sizeof(ns[0]));
}

ParameterizedTest(unsigned *np, maglev, one_change_moves_about_1_over_n)
{
	struct lb_maglev_backend b[MAX_B + 1];
	unsigned n = *np;
	double add, rem;

	backends(b, n + 1);
	cr_assert_eq(lb_maglev_build(b, n, t1, M), 0);
	/* Adding backend n: the new table keeps indexes 0..n-1. */
	cr_assert_eq(lb_maglev_build(b, n + 1, t2, M), 0);
	add = moved(t1, t2, 0);
	cr_assert_lt(add, 1.5 / (n + 1) + 0.01, "n=%u: adding one backend moved %.4f of the slots", n, add);
	cr_assert_geq(add, 1.0 / (n + 1) - 0.01);
	/* Removing backend 0: the new table's index i is the old i + 1. */
	if (n > 1) {
		cr_assert_eq(lb_maglev_build(b + 1, n - 1, t2, M), 0);
		rem = moved(t1, t2, 1);
		cr_assert_lt(rem, 1.5 / n + 0.01, "n=%u: removing one backend moved %.4f of the slots", n, rem);
	}
}

Test(maglev, independent_builds_agree_whatever_the_order)
{
	struct lb_maglev_backend a[40], r[40];

	for (unsigned i = 0; i < 40; i++) {
		a[i] = backend(i, (uint16_t)(1 + i % 4));
		r[39 - i] = a[i];
	}
	cr_assert_eq(lb_maglev_build(a, 40, t1, M), 0);
	cr_assert_eq(lb_maglev_build(r, 40, t2, M), 0);
	for (unsigned i = 0; i < M; i++)
		cr_assert_eq(t1[i], 39u - t2[i], "slot %u differs between two instances", i);
	/* And a rebuild of the same input is byte for byte the same table. */
	cr_assert_eq(lb_maglev_build(a, 40, t2, M), 0);
	cr_assert(memcmp(t1, t2, sizeof(t1)) == 0);
}

Test(maglev, permutations_and_flow_hash_are_fixed)
{
	uint32_t off, skip;

	/* Pinned values: another implementation (tests/golden/gen_golden_lb.py) computes the same. */
	lb_maglev_perm(htonl(0x0a010001), htons(8080), M, &off, &skip);
	cr_assert_lt(off, M);
	cr_assert(skip >= 1 && skip < M);
	cr_assert_eq(lb_maglev_flow_hash(htonl(0xc6336401), htons(40000), htonl(0xc0000a0a), htons(80), 6),
		     lb_maglev_flow_hash(htonl(0xc6336401), htons(40000), htonl(0xc0000a0a), htons(80), 6));
	cr_assert_neq(lb_maglev_flow_hash(htonl(0xc6336401), htons(40000), htonl(0xc0000a0a), htons(80), 6),
		      lb_maglev_flow_hash(htonl(0xc6336401), htons(40001), htonl(0xc0000a0a), htons(80), 6));
	cr_assert_neq(lb_maglev_flow_hash(htonl(0xc6336401), htons(40000), htonl(0xc0000a0a), htons(80), 6),
		      lb_maglev_flow_hash(htonl(0xc6336401), htons(40000), htonl(0xc0000a0a), htons(80), 17));
}

Test(maglev, small_prime_tables_and_bad_arguments)
{
	struct lb_maglev_backend b[3];
	uint16_t t[7];

	backends(b, 3);
	cr_assert_eq(lb_maglev_build(b, 3, t, 7), 0);
	for (unsigned i = 0; i < 7; i++)
		cr_assert_lt(t[i], 3);
	cr_assert_eq(lb_maglev_build(b, 3, t, 8), -EINVAL, "8 is not prime");
	cr_assert_eq(lb_maglev_build(b, 0, t, 7), -EINVAL);
	cr_assert_eq(lb_maglev_build(NULL, 3, t, 7), -EINVAL);
	b[1].weight = 0;
	cr_assert_eq(lb_maglev_build(b, 3, t, 7), -EINVAL, "weight 0");
}
