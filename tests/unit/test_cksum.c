/* Unit tests for nf/cksum.c against a naive reference and RFC 1624 update properties. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <rte_byteorder.h>

#include "nf/cksum.h"

#define P_TCP  6
#define P_UDP  17
#define N_RAND 5000

/* A contiguous IPv4 packet: header at 'ip', L4 segment right after it. */
struct pkt {
	uint8_t buf[2048];
	uint8_t *ip;
	uint8_t *l4;
	uint16_t l4_len;
	uint8_t proto;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64*: deterministic, so a failure is reproducible. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static void rnd_fill(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void set16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* A host-order value in the form cksum.h uses: network byte order, as stored. */
static uint16_t as_stored(uint16_t host)
{
	return rte_cpu_to_be_16(host);
}

static uint16_t load_stored16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t load_stored32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Reference sum: byte pairs, 32-bit accumulator, fold. Host order, not complemented. */
static uint32_t naive_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += get16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t naive_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t naive_pseudo(const uint8_t *ip, uint16_t l4_len, uint8_t proto)
{
	uint8_t ph[12];

	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = proto;
	set16(ph + 10, l4_len);
	return naive_add(0, ph, sizeof(ph));
}

/* Reference checksum of 'n' bytes at 'p' plus 'sum', with the field at 'off' as zero. */
static uint16_t naive_csum_skip(uint32_t sum, const uint8_t *p, size_t n, size_t off)
{
	uint8_t copy[2048];

	memcpy(copy, p, n);
	if (off + 2 <= n)
		set16(copy + off, 0);
	return (uint16_t)~naive_fold(naive_add(sum, copy, n));
}

static size_t l4_csum_off(uint8_t proto)
{
	return proto == P_UDP ? 6 : 16;
}

/* Reference TCP/UDP checksum, host order. */
static uint16_t naive_l4(const struct pkt *k)
{
	uint32_t ps = naive_pseudo(k->ip, k->l4_len, k->proto);
	uint16_t c = naive_csum_skip(ps, k->l4, k->l4_len, l4_csum_off(k->proto));

	return (k->proto == P_UDP && c == 0) ? 0xffff : c;
}

/* True if the stored L4 checksum verifies: the full sum folds to 0xffff. */
static bool naive_l4_verifies(const struct pkt *k)
{
	uint32_t sum = naive_pseudo(k->ip, k->l4_len, k->proto);

	return naive_fold(naive_add(sum, k->l4, k->l4_len)) == 0xffff;
}

/* Random IPv4 header (IHL 5..15) and L4 segment of 'l4_len' bytes, at a random alignment. */
static void rnd_pkt(struct pkt *k, uint8_t proto, uint16_t l4_len)
{
	unsigned ihl = 5 + rnd_below(11);

	k->ip = k->buf + rnd_below(4);
	rnd_fill(k->ip, ihl * 4 + l4_len);
	k->ip[0] = (uint8_t)(0x40 | ihl);
	k->ip[9] = proto;
	k->l4 = k->ip + ihl * 4;
	k->l4_len = l4_len;
	k->proto = proto;
}

static uint16_t rnd_l4_len(uint8_t proto, unsigned i)
{
	uint16_t min = proto == P_UDP ? 8 : 20;
	uint16_t len = min + rnd_below(1480 - min);

	return (uint16_t)((len & ~1u) | (i & 1));	/* alternate even and odd */
}

static void store_l4_csum(struct pkt *k, uint16_t stored)
{
	memcpy(k->l4 + l4_csum_off(k->proto), &stored, 2);
}

static uint16_t stored_l4_csum(const struct pkt *k)
{
	return load_stored16(k->l4 + l4_csum_off(k->proto));
}

/* Pick one L4 word so that the computed checksum is 0 (TCP) or 0xffff (UDP). */
static void force_zero_csum(struct pkt *k)
{
	size_t off = 2 * rnd_below(k->l4_len / 2 - 1);
	uint32_t sum;

	if (off >= l4_csum_off(k->proto))
		off += 2;	/* any word but the checksum itself */

	set16(k->l4 + off, 0);
	store_l4_csum(k, 0);
	sum = naive_add(naive_pseudo(k->ip, k->l4_len, k->proto), k->l4, k->l4_len);
	set16(k->l4 + off, (uint16_t)~naive_fold(sum));
}

Test(cksum, fold_edges)
{
	static const uint32_t in[] = { 0, 1, 0xffff, 0x10000, 0x1fffe, 0x1ffff, 0xfffeffff,
				       0xffff0000, 0xffffffff, 0x12345678 };
	unsigned i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		cr_assert_eq(cksum_fold(in[i]), naive_fold(in[i]), "fold(0x%x)", in[i]);
}

/* cksum_add works in big-endian words whatever the alignment, length and start sum. */
Test(cksum, add_matches_naive)
{
	uint8_t buf[2048 + 8];
	unsigned i;

	for (i = 0; i < N_RAND; i++) {
		size_t n = rnd_below(1600), off = rnd_below(8), split = 2 * rnd_below(n / 2 + 1);
		uint32_t start = (i & 3) == 0 ? 0 : (uint32_t)rnd();
		uint32_t chained;

		rnd_fill(buf + off, n);
		cr_assert_eq(cksum_fold(cksum_add(start, buf + off, n)),
			     naive_fold(naive_add(naive_fold(start), buf + off, n)), "n=%zu", n);
		chained = cksum_add(cksum_add(0, buf + off, split), buf + off + split, n - split);
		cr_assert_eq(cksum_fold(chained), naive_fold(naive_add(0, buf + off, n)));
	}
}

Test(cksum, add_all_ones_and_zeros)
{
	uint8_t ones[64], zeros[64] = { 0 };

	memset(ones, 0xff, sizeof(ones));
	cr_assert_eq(cksum_fold(cksum_add(0, ones, 64)), 0xffff);
	cr_assert_eq(cksum_fold(cksum_add(0, zeros, 64)), 0);
	cr_assert_eq(cksum_fold(cksum_add(0, ones, 1)), 0xff00);
}

/* The classic example header: 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7. */
Test(cksum, ipv4_known_vector)
{
	static const uint8_t hdr[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40,
					 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8,
					 0x00, 0xc7 };

	cr_assert_eq(cksum_ipv4_header(hdr), as_stored(0xb861));
}

Test(cksum, ipv4_header_matches_naive)
{
	struct pkt k;
	unsigned i;

	for (i = 0; i < N_RAND; i++) {
		rnd_pkt(&k, P_TCP, 0);
		cr_assert_eq(cksum_ipv4_header(k.ip),
			     as_stored(naive_csum_skip(0, k.ip, (k.ip[0] & 0xf) * 4u, 10)));
	}
}

struct l4_param {
	uint8_t proto;
};

static struct l4_param l4_protos[] = { { P_TCP }, { P_UDP } };

ParameterizedTestParameters(cksum, l4_matches_naive)
{
	return cr_make_param_array(struct l4_param, l4_protos, 2);
}

/* Full TCP/UDP checksums of random packets, odd and even lengths, random stored field. */
ParameterizedTest(struct l4_param *p, cksum, l4_matches_naive)
{
	struct pkt k;
	unsigned i;

	for (i = 0; i < N_RAND; i++) {
		rnd_pkt(&k, p->proto, rnd_l4_len(p->proto, i));
		cr_assert_eq(cksum_l4(k.ip, k.l4, k.l4_len, k.proto), as_stored(naive_l4(&k)),
			     "proto %u len %u", k.proto, k.l4_len);
	}
}

/* A computed UDP checksum of 0 is sent as 0xffff; TCP keeps 0. */
Test(cksum, l4_zero_rule)
{
	struct pkt k;
	unsigned i;

	for (i = 0; i < 200; i++) {
		rnd_pkt(&k, P_UDP, rnd_l4_len(P_UDP, i));
		force_zero_csum(&k);
		cr_assert_eq(cksum_l4(k.ip, k.l4, k.l4_len, P_UDP), 0xffff);
		rnd_pkt(&k, P_TCP, rnd_l4_len(P_TCP, i));
		force_zero_csum(&k);
		cr_assert_eq(cksum_l4(k.ip, k.l4, k.l4_len, P_TCP), 0);
	}
}

Test(cksum, icmp_matches_naive)
{
	uint8_t buf[1600 + 4];
	unsigned i;

	for (i = 0; i < N_RAND; i++) {
		uint16_t len = (uint16_t)((8 + rnd_below(1500)) | (i & 1));
		uint8_t *icmp = buf + rnd_below(4);

		rnd_fill(icmp, len);
		cr_assert_eq(cksum_icmp(icmp, len), as_stored(naive_csum_skip(0, icmp, len, 2)));
	}
}

/* Linux x86's csum_tcpudp_nofold() on little-endian: saddr + daddr + ((len + proto) << 8)
 * with carries, folded; ~csum_tcpudp_magic(..., 0) is that fold. */
static uint16_t linux_partial(const uint8_t *ip, uint16_t len, uint8_t proto)
{
	uint64_t s = (uint64_t)load_stored32(ip + 12) + load_stored32(ip + 16);

	s += (uint32_t)(len + proto) << 8;
	s = (s & 0xffffffff) + (s >> 32);
	return naive_fold((uint32_t)((s & 0xffffffff) + (s >> 32)));
}

ParameterizedTestParameters(cksum, pseudo_partial)
{
	return cr_make_param_array(struct l4_param, l4_protos, 2);
}

/* cksum_pseudo is the pseudo-header sum, exactly what a CHECKSUM_PARTIAL packet carries,
 * and completing such a packet by summing from the L4 header gives cksum_l4. */
ParameterizedTest(struct l4_param *p, cksum, pseudo_partial)
{
	struct pkt k;
	unsigned i;

	for (i = 0; i < N_RAND; i++) {
		uint16_t c;

		rnd_pkt(&k, p->proto, rnd_l4_len(p->proto, i));
		c = cksum_pseudo(k.ip, k.l4_len, k.proto);
		cr_assert_eq(c, as_stored(naive_fold(naive_pseudo(k.ip, k.l4_len, k.proto))));
		if (RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN)
			cr_assert_eq(c, linux_partial(k.ip, k.l4_len, k.proto));
		store_l4_csum(&k, c);
		c = (uint16_t)~naive_fold(naive_add(0, k.l4, k.l4_len));
		if (k.proto == P_UDP && c == 0)
			c = 0xffff;
		cr_assert_eq(cksum_l4(k.ip, k.l4, k.l4_len, k.proto), as_stored(c));
	}
}

/* RFC 1624 section 4: eqn. 2 gives 0xffff here, eqn. 3 the correct 0x0000. */
Test(cksum, rfc1624_example)
{
	cr_assert_eq(cksum_update16(as_stored(0xdd2f), as_stored(0x5555), as_stored(0x3285)),
		     as_stored(0x0000));
	cr_assert_eq(cksum_update32(as_stored(0xdd2f), rte_cpu_to_be_32(0x55550000),
				    rte_cpu_to_be_32(0x32850000)), as_stored(0x0000));
}

/* The other ones' complement zero: 0x0000 <-> 0xffff; other values unchanged. */
static uint32_t zero_swap(uint32_t half)
{
	return half == 0 ? 0xffff : half == 0xffff ? 0 : half;
}

/* A new field value, biased toward the ones' complement edge cases. */
static uint32_t rnd_new(uint32_t old, uint32_t mask)
{
	switch (rnd_below(8)) {
	case 0:
		return 0;
	case 1:
		return mask;
	case 2:
		return old;
	case 3:
		return ~old & mask;
	case 4:
		return (zero_swap(old >> 16) << 16 | zero_swap(old & 0xffff)) & mask;
	default:
		return (uint32_t)rnd() & mask;
	}
}

/* Write a new value into a 16-bit field at 'p' and update the stored checksum 'c'. */
static uint16_t change16(uint8_t *p, uint16_t c)
{
	uint16_t old = load_stored16(p), new = (uint16_t)rnd_new(old, 0xffff);

	memcpy(p, &new, 2);
	return cksum_update16(c, old, new);
}

static uint16_t change32(uint8_t *p, uint16_t c, uint16_t *ip_c)
{
	uint32_t old = load_stored32(p), new = rnd_new(old, 0xffffffff);

	memcpy(p, &new, 4);
	if (ip_c)
		*ip_c = cksum_update32(*ip_c, old, new);
	return cksum_update32(c, old, new);
}

/* Change one field (port, address, sequence number or payload word) of 'k', updating
 * the stored L4 checksum (and the IPv4 header checksum for an address). */
static void change_field(struct pkt *k, uint16_t *ip_c)
{
	uint16_t c = stored_l4_csum(k);
	size_t w;

	switch (rnd_below(4)) {
	case 0:
		c = change16(k->l4 + 2 * rnd_below(2), c);
		break;
	case 1:
		c = change32(k->ip + 12 + 4 * rnd_below(2), c, ip_c);
		break;
	case 2:
		c = k->proto == P_TCP ? change32(k->l4 + 4, c, NULL) : change16(k->l4 + 4, c);
		break;
	default:
		w = l4_csum_off(k->proto) + 2;
		if (w + 2 <= k->l4_len)
			c = change16(k->l4 + w + 2 * rnd_below((k->l4_len - w) / 2), c);
		break;
	}
	if (k->proto == P_UDP && c == 0)
		c = 0xffff;	/* the caller's rule: 0 means "no checksum" */
	store_l4_csum(k, c);
}

ParameterizedTestParameters(cksum, update_property)
{
	return cr_make_param_array(struct l4_param, l4_protos, 2);
}

/* Incremental updates, chained over several changes, equal full recomputation. */
ParameterizedTest(struct l4_param *p, cksum, update_property)
{
	struct pkt k;
	unsigned i, j;

	for (i = 0; i < N_RAND; i++) {
		uint16_t ip_c;

		rnd_pkt(&k, p->proto, rnd_l4_len(p->proto, i));
		if (i % 4 == 0)
			force_zero_csum(&k);
		store_l4_csum(&k, cksum_l4(k.ip, k.l4, k.l4_len, k.proto));
		ip_c = cksum_ipv4_header(k.ip);
		for (j = 0; j < 8; j++) {
			change_field(&k, &ip_c);
			cr_assert_eq(stored_l4_csum(&k), cksum_l4(k.ip, k.l4, k.l4_len, k.proto),
				     "packet %u change %u", i, j);
			cr_assert(naive_l4_verifies(&k), "packet %u change %u", i, j);
			cr_assert_eq(ip_c, cksum_ipv4_header(k.ip), "packet %u change %u", i, j);
		}
	}
}

/* The raw update (before any UDP rule) verifies whenever the packet's checksum does. */
Test(cksum, update_edges_verify)
{
	static const uint16_t v[] = { 0x0000, 0xffff, 0x0001, 0xfffe, 0x8000, 0x7fff };
	unsigned a, b, i;
	struct pkt k;

	for (i = 0; i < 64; i++) {
		rnd_pkt(&k, P_TCP, rnd_l4_len(P_TCP, i));
		if (i & 1)
			force_zero_csum(&k);
		for (a = 0; a < 6; a++)
			for (b = 0; b < 6; b++) {
				uint16_t c;

				set16(k.l4, v[a]);
				store_l4_csum(&k, cksum_l4(k.ip, k.l4, k.l4_len, P_TCP));
				c = cksum_update16(stored_l4_csum(&k), as_stored(v[a]), as_stored(v[b]));
				set16(k.l4, v[b]);
				store_l4_csum(&k, c);
				cr_assert_eq(c, cksum_l4(k.ip, k.l4, k.l4_len, P_TCP));
				cr_assert(naive_l4_verifies(&k));
			}
	}
}
