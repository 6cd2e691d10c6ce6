/* Maglev lookup table: per-backend permutations over a prime-sized table, filled in turns. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfs/lb/lb_maglev.h"

#define MAGLEV_FREE 0xffffu
#define SEED_OFFSET 0x9e3779b97f4a7c15ull
#define SEED_SKIP 0xc2b2ae3d27d4eb4full
#define SEED_FLOW 0x165667b19e3779f9ull

/* MurmurHash3's 64-bit finalizer: every input bit flips about half of the output bits. */
static uint64_t maglev_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* Address and port as one 48-bit number, the same on any host byte order. */
static uint64_t maglev_ep(rte_be32_t ip, rte_be16_t port)
{
	return (uint64_t)rte_be_to_cpu_32(ip) << 16 | rte_be_to_cpu_16(port);
}

void lb_maglev_perm(rte_be32_t ip, rte_be16_t port, uint32_t size, uint32_t *offset,
		    uint32_t *skip)
{
	uint64_t k = maglev_ep(ip, port);

	*offset = (uint32_t)(maglev_mix(k ^ SEED_OFFSET) % size);
	*skip = (uint32_t)(maglev_mix(k ^ SEED_SKIP) % (size - 1)) + 1;
}

uint64_t lb_maglev_flow_hash(rte_be32_t client_ip, rte_be16_t client_port, rte_be32_t vip,
			     rte_be16_t vport, uint8_t proto)
{
	uint64_t a = maglev_ep(client_ip, client_port), b = maglev_ep(vip, vport);

	return maglev_mix(maglev_mix(a ^ SEED_FLOW) ^ b ^ (uint64_t)proto << 48);
}

static int maglev_is_prime(uint32_t n)
{
	if (n < 2)
		return 0;
	for (uint32_t d = 2; (uint64_t)d * d <= n; d++)
		if (n % d == 0)
			return 0;
	return 1;
}

static int maglev_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* The turn order: backend indexes sorted by (address, port). Each sort key is the 48-bit
 * endpoint above the 16-bit index, so it also breaks ties. Returns 0 or -ENOMEM. */
static int maglev_order(const struct lb_maglev_backend *b, unsigned n, uint16_t *order)
{
	uint64_t *keys = calloc(n, sizeof(*keys));

	if (keys == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		keys[i] = maglev_ep(b[i].ip, b[i].port) << 16 | i;
	qsort(keys, n, sizeof(*keys), maglev_cmp);
	for (unsigned i = 0; i < n; i++)
		order[i] = (uint16_t)keys[i];
	free(keys);
	return 0;
}

/* Per-backend fill state. */
struct maglev_turn {
	uint32_t next;		/* next slot of its permutation to try */
	uint32_t skip;
	uint32_t acc;		/* weight credit: a turn costs max_weight */
};

/* Backend 'i' claims the next free slot of its permutation. */
static void maglev_claim(struct maglev_turn *t, uint16_t i, uint16_t *table, uint32_t size)
{
	uint32_t c = t->next;

	while (table[c] != MAGLEV_FREE)
		c = (c + t->skip) % size;
	table[c] = i;
	t->next = (c + t->skip) % size;
}

static void maglev_fill(const struct lb_maglev_backend *b, const uint16_t *order, unsigned n,
			struct maglev_turn *t, uint16_t *table, uint32_t size)
{
	uint32_t wmax = 0, filled = 0;

	for (unsigned i = 0; i < n; i++)
		wmax = b[i].weight > wmax ? b[i].weight : wmax;
	for (;;) {
		for (unsigned k = 0; k < n; k++) {
			struct maglev_turn *ti = &t[order[k]];

			ti->acc += b[order[k]].weight;
			if (ti->acc < wmax)
				continue;
			ti->acc -= wmax;
			maglev_claim(ti, order[k], table, size);
			if (++filled == size)
				return;
		}
	}
}

/* The caller owns 'table'. Temporary arrays are allocated and freed here. */
int lb_maglev_build(const struct lb_maglev_backend *b, unsigned n, uint16_t *table,
		    uint32_t size)
{
	struct maglev_turn *t;
	uint16_t *order;
	int rc;

	if (b == NULL || table == NULL || n == 0 || n >= MAGLEV_FREE || !maglev_is_prime(size))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (b[i].weight == 0)
			return -EINVAL;
	t = calloc(n, sizeof(*t));
	order = calloc(n, sizeof(*order));
	rc = t == NULL || order == NULL ? -ENOMEM : maglev_order(b, n, order);
	if (rc != 0)
		goto out;
	for (unsigned i = 0; i < n; i++)
		lb_maglev_perm(b[i].ip, b[i].port, size, &t[i].next, &t[i].skip);
	memset(table, 0xff, (size_t)size * sizeof(*table));
	maglev_fill(b, order, n, t, table, size);
out:
	free(t);
	free(order);
	return rc;
}
