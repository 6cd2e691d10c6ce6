/* Unit tests for nf/parse.c: table-driven valid and malformed frames, every truncation. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <rte_byteorder.h>

#include "nf/flowkey.h"
#include "nf/parse.h"

#define T_SRC_IP  0x0a000001u	/* 10.0.0.1 */
#define T_DST_IP  0xc0a80102u	/* 192.168.1.2 */
#define T_SPORT   40000
#define T_DPORT   80
#define T_ICMP_ID 0x4242

#define P_TCP  6
#define P_UDP  17
#define P_ICMP 1
#define P_GRE  47

#define F_V PKT_F_VLAN
#define F_F PKT_F_FRAG_FIRST
#define F_O PKT_F_IP_OPTS

/* How to build one frame. Zero fields mean "the normal value". */
struct build {
	bool vlan;		/* add one 802.1Q tag */
	uint16_t ethertype;	/* 0: IPv4 */
	uint8_t ver_ihl;	/* 0: 0x45 plus the options */
	uint8_t n_opt;		/* IPv4 option bytes (multiple of 4) */
	uint8_t proto;
	uint16_t frag;		/* flags and fragment offset, host order */
	uint16_t tot_len;	/* 0: header + L4 bytes */
	uint16_t csum_xor;	/* corrupt the IPv4 checksum */
	uint8_t l4_size;	/* L4 header + payload bytes; 0: a default per protocol */
	uint8_t tcp_doff;	/* 0: 5 */
	uint8_t tcp_flags;
	uint16_t udp_len;	/* 0: 'l4_size' */
	uint8_t icmp_type;
	uint8_t pad;		/* Ethernet padding after the datagram */
	uint16_t cut;		/* nonzero: the frame is cut to this many bytes */
};

/* What the parser must say. Offsets and lengths are only checked for PARSE_OK. */
struct expect {
	enum parse_status st;
	uint16_t l3_off, l4_off, ip_len, l4_len;
	uint8_t flags, tcp_flags, icmp_type;
	uint16_t sport, dport;	/* host order */
};

struct pcase {
	const char *name;
	struct build b;
	struct expect e;
};

struct frame {
	uint8_t b[256];
	uint32_t size;
	uint32_t pad;		/* trailing bytes that are Ethernet padding */
};

/* Independent reference: byte pairs, 32-bit accumulate, fold, complement. */
static uint16_t naive_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	return put16(put16(p, v >> 16), v & 0xffff);
}

static uint8_t *build_eth(uint8_t *p, const struct build *b)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	memcpy(p, macs, sizeof(macs));
	p += sizeof(macs);
	if (b->vlan) {
		p = put16(p, 0x8100);
		p = put16(p, 0x0064);
	}
	return put16(p, b->ethertype ? b->ethertype : 0x0800);
}

static uint8_t default_l4_size(const struct build *b)
{
	uint8_t doff = b->tcp_doff ? b->tcp_doff : 5;

	if (b->l4_size)
		return b->l4_size;
	switch (b->proto) {
	case P_TCP:
		return (doff >= 5 ? doff * 4 : 20) + 6;
	case P_UDP:
		return 8 + 5;
	case P_ICMP:
		return 8 + 4;
	default:
		return 12;
	}
}

/* Write the L4 header (as far as 'size' allows, the rest is a byte pattern). */
static void build_l4(uint8_t *p, const struct build *b, uint8_t size)
{
	uint8_t h[64] = { 0 };
	unsigned i;

	for (i = 0; i < size; i++)
		p[i] = (uint8_t)(0xa0 + i);
	if (b->proto == P_TCP) {
		put32(put32(put16(put16(h, T_SPORT), T_DPORT), 0x01020304), 0);
		h[12] = (uint8_t)((b->tcp_doff ? b->tcp_doff : 5) << 4);
		h[13] = b->tcp_flags;
		put16(h + 14, 0xffff);
		memcpy(p, h, size < 20 ? size : 20);
	} else if (b->proto == P_UDP) {
		put16(put16(put16(h, T_SPORT), T_DPORT), b->udp_len ? b->udp_len : size);
		memcpy(p, h, size < 8 ? size : 8);
	} else if (b->proto == P_ICMP) {
		h[0] = b->icmp_type;
		put16(put16(h + 4, T_ICMP_ID), 7);
		memcpy(p, h, size < 8 ? size : 8);
	}
}

/* IPv4 header with options; the checksum covers IHL*4 bytes of the buffer. */
static void build_ip(uint8_t *p, const struct build *b, uint16_t tot)
{
	uint8_t ver_ihl = b->ver_ihl ? b->ver_ihl : (uint8_t)(0x45 + b->n_opt / 4);
	uint16_t csum;

	p[0] = ver_ihl;
	p[1] = 0;
	put16(put16(put16(p + 2, b->tot_len ? b->tot_len : tot), 0x1234), b->frag);
	p[8] = 64;
	p[9] = b->proto;
	put16(p + 10, 0);
	put32(put32(p + 12, T_SRC_IP), T_DST_IP);
	memset(p + 20, 0x01, b->n_opt);
	csum = naive_csum(p, (size_t)(ver_ihl & 0x0f) * 4) ^ b->csum_xor;
	put16(p + 10, csum);
}

static void build_frame(const struct build *b, struct frame *f)
{
	uint8_t *ip, l4_size = default_l4_size(b);
	uint16_t ihl = 20 + b->n_opt, tot = ihl + l4_size;

	memset(f, 0, sizeof(*f));
	ip = build_eth(f->b, b);
	build_l4(ip + ihl, b, l4_size);
	build_ip(ip, b, tot);
	f->pad = b->pad;
	f->size = (uint32_t)(ip - f->b) + tot + b->pad;
	if (b->cut) {
		f->size = b->cut;
		f->pad = 0;
	}
	cr_assert_leq(f->size, sizeof(f->b));
}

/* Parse a copy of 'size' bytes of 'f' in an exactly-sized heap buffer, so that any
 * read past the end is caught by ASan or valgrind. */
static enum parse_status parse_exact(const struct frame *f, uint32_t size, struct pkt_info *info)
{
	uint8_t *copy = malloc(size ? size : 1);
	enum parse_status st;

	cr_assert_not_null(copy);
	memcpy(copy, f->b, size);
	st = parse_packet(copy, size, info);
	free(copy);
	return st;
}

static void check_key(const struct pcase *c, const struct pkt_info *info)
{
	struct flow_key want;

	memset(&want, 0, sizeof(want));
	want.src_ip = rte_cpu_to_be_32(T_SRC_IP);
	want.dst_ip = rte_cpu_to_be_32(T_DST_IP);
	want.src_port = rte_cpu_to_be_16(c->e.sport);
	want.dst_port = rte_cpu_to_be_16(c->e.dport);
	want.proto = c->b.proto;
	cr_assert_eq(memcmp(&info->key, &want, sizeof(want)), 0, "%s: key", c->name);
}

static void check_ok(const struct pcase *c, const struct pkt_info *info)
{
	const struct expect *e = &c->e;

	cr_assert_eq(info->l3_off, e->l3_off, "%s: l3_off %u", c->name, info->l3_off);
	cr_assert_eq(info->l4_off, e->l4_off, "%s: l4_off %u", c->name, info->l4_off);
	cr_assert_eq(info->ip_len, e->ip_len, "%s: ip_len %u", c->name, info->ip_len);
	cr_assert_eq(info->l4_len, e->l4_len, "%s: l4_len %u", c->name, info->l4_len);
	cr_assert_eq(info->proto, c->b.proto, "%s: proto", c->name);
	cr_assert_eq(info->flags, e->flags, "%s: flags 0x%x", c->name, info->flags);
	cr_assert_eq(info->tcp_flags, e->tcp_flags, "%s: tcp_flags", c->name);
	cr_assert_eq(info->icmp_type, e->icmp_type, "%s: icmp_type", c->name);
	check_key(c, info);
}

static void check_case(const struct pcase *c, const struct pkt_info *info, enum parse_status st)
{
	cr_assert_eq(st, c->e.st, "%s: got %s, want %s", c->name, parse_status_name(st),
		     parse_status_name(c->e.st));
	if (st == PARSE_OK)
		check_ok(c, info);
	if (st == PARSE_NOT_IPV4) {
		cr_assert_eq(info->l3_off, c->e.l3_off, "%s: l3_off", c->name);
		cr_assert_eq(info->flags, c->e.flags, "%s: flags", c->name);
	}
}

#define OK_TCP(fl)  .st = PARSE_OK, .tcp_flags = (fl), .sport = T_SPORT, .dport = T_DPORT
#define OK_UDP      .st = PARSE_OK, .sport = T_SPORT, .dport = T_DPORT
#define OK_ICMP(ty) .st = PARSE_OK, .icmp_type = (ty), .sport = T_ICMP_ID, .dport = T_ICMP_ID

static struct pcase valid_cases[] = {
	{ "tcp", { .proto = P_TCP, .tcp_flags = 0x12 },
	  { OK_TCP(0x12), .l3_off = 14, .l4_off = 34, .ip_len = 46, .l4_len = 26 } },
	{ "tcp_options", { .proto = P_TCP, .tcp_doff = 8, .tcp_flags = 0x02 },
	  { OK_TCP(0x02), .l3_off = 14, .l4_off = 34, .ip_len = 58, .l4_len = 38 } },
	{ "udp_reserved_flag", { .proto = P_UDP, .frag = 0x8000 },
	  { OK_UDP, .l3_off = 14, .l4_off = 34, .ip_len = 33, .l4_len = 13 } },
	{ "tcp_df", { .proto = P_TCP, .frag = 0x4000, .tcp_flags = 0x10 },
	  { OK_TCP(0x10), .l3_off = 14, .l4_off = 34, .ip_len = 46, .l4_len = 26 } },
	{ "udp", { .proto = P_UDP },
	  { OK_UDP, .l3_off = 14, .l4_off = 34, .ip_len = 33, .l4_len = 13 } },
	{ "udp_len_short", { .proto = P_UDP, .udp_len = 8 },
	  { OK_UDP, .l3_off = 14, .l4_off = 34, .ip_len = 33, .l4_len = 13 } },
	{ "udp_eth_padding", { .proto = P_UDP, .l4_size = 8, .pad = 18 },
	  { OK_UDP, .l3_off = 14, .l4_off = 34, .ip_len = 28, .l4_len = 8 } },
	{ "icmp_echo_request", { .proto = P_ICMP, .icmp_type = 8 },
	  { OK_ICMP(8), .l3_off = 14, .l4_off = 34, .ip_len = 32, .l4_len = 12 } },
	{ "icmp_echo_reply", { .proto = P_ICMP, .icmp_type = 0 },
	  { OK_ICMP(0), .l3_off = 14, .l4_off = 34, .ip_len = 32, .l4_len = 12 } },
	{ "vlan_tcp", { .vlan = true, .proto = P_TCP, .tcp_flags = 0x11 },
	  { OK_TCP(0x11), .l3_off = 18, .l4_off = 38, .ip_len = 46, .l4_len = 26, .flags = F_V } },
	{ "vlan_udp_padding", { .vlan = true, .proto = P_UDP, .pad = 4 },
	  { OK_UDP, .l3_off = 18, .l4_off = 38, .ip_len = 33, .l4_len = 13, .flags = F_V } },
	{ "ip_options_tcp", { .n_opt = 8, .proto = P_TCP, .tcp_flags = 0x18 },
	  { OK_TCP(0x18), .l3_off = 14, .l4_off = 42, .ip_len = 54, .l4_len = 26, .flags = F_O } },
	{ "ip_options_max_icmp", { .n_opt = 40, .proto = P_ICMP, .icmp_type = 8 },
	  { OK_ICMP(8), .l3_off = 14, .l4_off = 74, .ip_len = 72, .l4_len = 12, .flags = F_O } },
	{ "vlan_ip_options_udp", { .vlan = true, .n_opt = 4, .proto = P_UDP },
	  { OK_UDP, .l3_off = 18, .l4_off = 42, .ip_len = 37, .l4_len = 13, .flags = F_V | F_O } },
	{ "first_fragment_udp", { .proto = P_UDP, .frag = 0x2000, .udp_len = 1000 },
	  { OK_UDP, .l3_off = 14, .l4_off = 34, .ip_len = 33, .l4_len = 13, .flags = F_F } },
	{ "first_fragment_tcp", { .proto = P_TCP, .frag = 0x2000, .tcp_flags = 0x10 },
	  { OK_TCP(0x10), .l3_off = 14, .l4_off = 34, .ip_len = 46, .l4_len = 26, .flags = F_F } },
	{ "first_fragment_icmp", { .proto = P_ICMP, .frag = 0x2000, .icmp_type = 8 },
	  { OK_ICMP(8), .l3_off = 14, .l4_off = 34, .ip_len = 32, .l4_len = 12, .flags = F_F } },
};

#define N_VALID (sizeof(valid_cases) / sizeof(valid_cases[0]))

static struct pcase bad_cases[] = {
	{ "arp", { .ethertype = 0x0806, .proto = P_UDP },
	  { .st = PARSE_NOT_IPV4, .l3_off = 14 } },
	{ "vlan_ipv6", { .vlan = true, .ethertype = 0x86dd, .proto = P_UDP },
	  { .st = PARSE_NOT_IPV4, .l3_off = 18, .flags = F_V } },
	{ "qinq_inner_tag", { .vlan = true, .ethertype = 0x8100, .proto = P_UDP },
	  { .st = PARSE_NOT_IPV4, .l3_off = 18, .flags = F_V } },
	{ "arp_bare", { .ethertype = 0x0806, .cut = 14 },
	  { .st = PARSE_NOT_IPV4, .l3_off = 14 } },
	{ "eth_empty", { .proto = P_UDP, .cut = 1 }, { .st = PARSE_ERR_ETH_TRUNC } },
	{ "eth_trunc", { .proto = P_UDP, .cut = 13 }, { .st = PARSE_ERR_ETH_TRUNC } },
	{ "vlan_trunc", { .vlan = true, .proto = P_UDP, .cut = 17 }, { .st = PARSE_ERR_ETH_TRUNC } },
	{ "vlan_trunc_no_type", { .vlan = true, .proto = P_UDP, .cut = 14 },
	  { .st = PARSE_ERR_ETH_TRUNC } },
	{ "ip_trunc", { .proto = P_UDP, .cut = 33 }, { .st = PARSE_ERR_IP_TRUNC } },
	{ "ip_missing", { .proto = P_UDP, .cut = 14 }, { .st = PARSE_ERR_IP_TRUNC } },
	{ "vlan_ip_trunc", { .vlan = true, .proto = P_UDP, .cut = 30 }, { .st = PARSE_ERR_IP_TRUNC } },
	{ "ip_version_6", { .ver_ihl = 0x65, .proto = P_UDP }, { .st = PARSE_ERR_IP_VERSION } },
	{ "ip_version_0", { .ver_ihl = 0x05, .proto = P_UDP }, { .st = PARSE_ERR_IP_VERSION } },
	{ "ip_ihl_4", { .ver_ihl = 0x44, .proto = P_UDP }, { .st = PARSE_ERR_IP_IHL } },
	{ "ip_ihl_0", { .ver_ihl = 0x40, .proto = P_UDP }, { .st = PARSE_ERR_IP_IHL } },
	{ "ip_ihl_beyond_frame", { .ver_ihl = 0x4f, .proto = P_UDP }, { .st = PARSE_ERR_IP_IHL } },
	{ "ip_opts_cut", { .n_opt = 8, .proto = P_UDP, .cut = 14 + 24 },
	  { .st = PARSE_ERR_IP_IHL } },
	{ "ip_tot_below_ihl", { .proto = P_UDP, .tot_len = 19 }, { .st = PARSE_ERR_IP_LEN } },
	{ "ip_tot_max", { .proto = P_UDP, .tot_len = 0xffff }, { .st = PARSE_ERR_IP_LEN } },
	{ "ip_tot_below_opts", { .n_opt = 8, .proto = P_UDP, .tot_len = 24 },
	  { .st = PARSE_ERR_IP_LEN } },
	{ "ip_tot_beyond_frame", { .proto = P_UDP, .tot_len = 34 }, { .st = PARSE_ERR_IP_LEN } },
	{ "ip_frame_cut", { .proto = P_UDP, .cut = 14 + 32 }, { .st = PARSE_ERR_IP_LEN } },
	{ "ip_bad_csum", { .proto = P_UDP, .csum_xor = 0x0100 }, { .st = PARSE_ERR_IP_CSUM } },
	{ "ip_bad_csum_opts", { .n_opt = 12, .proto = P_TCP, .csum_xor = 0x0001 },
	  { .st = PARSE_ERR_IP_CSUM } },
	{ "tcp_trunc", { .proto = P_TCP, .l4_size = 19 }, { .st = PARSE_ERR_L4_TRUNC } },
	{ "tcp_trunc_by_tot", { .proto = P_TCP, .tot_len = 20 + 12 }, { .st = PARSE_ERR_L4_TRUNC } },
	{ "tcp_empty", { .proto = P_TCP, .tot_len = 20 }, { .st = PARSE_ERR_L4_TRUNC } },
	{ "tcp_doff_4", { .proto = P_TCP, .tcp_doff = 4 }, { .st = PARSE_ERR_TCP_DOFF } },
	{ "tcp_doff_1", { .proto = P_TCP, .tcp_doff = 1 }, { .st = PARSE_ERR_TCP_DOFF } },
	{ "tcp_doff_beyond", { .proto = P_TCP, .tcp_doff = 15, .l4_size = 26 },
	  { .st = PARSE_ERR_TCP_DOFF } },
	{ "tcp_doff_beyond_by_1", { .proto = P_TCP, .tcp_doff = 6, .l4_size = 23 },
	  { .st = PARSE_ERR_TCP_DOFF } },
	{ "udp_trunc", { .proto = P_UDP, .l4_size = 7 }, { .st = PARSE_ERR_L4_TRUNC } },
	{ "udp_len_7", { .proto = P_UDP, .udp_len = 7 }, { .st = PARSE_ERR_UDP_LEN } },
	{ "udp_len_1", { .proto = P_UDP, .udp_len = 1 }, { .st = PARSE_ERR_UDP_LEN } },
	{ "udp_len_max", { .proto = P_UDP, .udp_len = 0xffff }, { .st = PARSE_ERR_UDP_LEN } },
	{ "udp_len_beyond", { .proto = P_UDP, .udp_len = 14 }, { .st = PARSE_ERR_UDP_LEN } },
	{ "icmp_trunc", { .proto = P_ICMP, .icmp_type = 8, .l4_size = 7 },
	  { .st = PARSE_ERR_L4_TRUNC } },
	{ "icmp_dest_unreach", { .proto = P_ICMP, .icmp_type = 3 }, { .st = PARSE_UNSUPPORTED } },
	{ "icmp_time_exceeded", { .proto = P_ICMP, .icmp_type = 11, .l4_size = 36 },
	  { .st = PARSE_UNSUPPORTED } },
	{ "gre", { .proto = P_GRE }, { .st = PARSE_UNSUPPORTED } },
	{ "gre_empty", { .proto = P_GRE, .tot_len = 20 }, { .st = PARSE_UNSUPPORTED } },
	{ "frag_later", { .proto = P_UDP, .frag = 0x2000 | 185 }, { .st = PARSE_FRAG_LATER } },
	{ "frag_last", { .proto = P_TCP, .frag = 10 }, { .st = PARSE_FRAG_LATER } },
	{ "frag_max_offset", { .proto = P_UDP, .frag = 0x1fff }, { .st = PARSE_FRAG_LATER } },
	{ "frag_offset_high_bit", { .proto = P_UDP, .frag = 0x5000 }, { .st = PARSE_FRAG_LATER } },
	{ "frag_later_tiny", { .proto = P_TCP, .frag = 1, .l4_size = 4 }, { .st = PARSE_FRAG_LATER } },
	{ "frag_first_tcp_trunc", { .proto = P_TCP, .frag = 0x2000, .l4_size = 16 },
	  { .st = PARSE_ERR_L4_TRUNC } },
	{ "frag_first_udp_trunc", { .proto = P_UDP, .frag = 0x2000, .l4_size = 6 },
	  { .st = PARSE_ERR_L4_TRUNC } },
	{ "frag_first_udp_len_7", { .proto = P_UDP, .frag = 0x2000, .udp_len = 7 },
	  { .st = PARSE_ERR_UDP_LEN } },
};

#define N_BAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

ParameterizedTestParameters(parse, valid)
{
	return cr_make_param_array(struct pcase, valid_cases, N_VALID);
}

/* Each valid frame parses with the expected fields, at every start alignment. */
ParameterizedTest(struct pcase *c, parse, valid)
{
	static uint8_t shifted[256 + 8] __attribute__((aligned(8)));
	struct pkt_info info;
	struct frame f;
	unsigned shift;

	build_frame(&c->b, &f);
	check_case(c, &info, parse_exact(&f, f.size, &info));
	for (shift = 1; shift < 8; shift++) {
		memcpy(shifted + shift, f.b, f.size);
		check_case(c, &info, parse_packet(shifted + shift, f.size, &info));
	}
}

ParameterizedTestParameters(parse, malformed)
{
	return cr_make_param_array(struct pcase, bad_cases, N_BAD);
}

/* Each malformed, unsupported or non-IPv4 frame gets its own status. */
ParameterizedTest(struct pcase *c, parse, malformed)
{
	struct pkt_info info;
	struct frame f;

	build_frame(&c->b, &f);
	check_case(c, &info, parse_exact(&f, f.size, &info));
}

ParameterizedTestParameters(parse, truncated)
{
	return cr_make_param_array(struct pcase, valid_cases, N_VALID);
}

/* Cutting a valid frame anywhere is an error, unless only Ethernet padding went. */
ParameterizedTest(struct pcase *c, parse, truncated)
{
	struct pkt_info info;
	enum parse_status st;
	struct frame f;
	uint32_t size;

	build_frame(&c->b, &f);
	for (size = 0; size < f.size; size++) {
		st = parse_exact(&f, size, &info);
		if (size >= f.size - f.pad) {
			check_case(c, &info, st);
			continue;
		}
		cr_assert(st != PARSE_OK && st != PARSE_NOT_IPV4 && st < PARSE__COUNT,
			  "%s cut to %u: got %s", c->name, size, parse_status_name(st));
	}
}

Test(parse, empty_frame)
{
	struct pkt_info info;

	cr_assert_eq(parse_packet(NULL, 0, &info), PARSE_ERR_ETH_TRUNC);
}

/* The statuses share a counter table with nf/counters.h: names are stable. */
Test(parse, status_names)
{
	static const char *const want[PARSE__COUNT] = {
		"ok", "not_ipv4", "eth_trunc", "ip_trunc", "ip_version", "ip_ihl", "ip_len",
		"ip_csum", "l4_trunc", "tcp_doff", "udp_len", "frag_later", "unsupported",
	};
	int s;

	for (s = 0; s < PARSE__COUNT; s++)
		cr_assert_str_eq(parse_status_name(s), want[s]);
	cr_assert_not_null(parse_status_name(PARSE__COUNT));
}

/* Bytes after the IPv4 total length (Ethernet padding) never reach the key or lengths. */
Test(parse, padding_ignored)
{
	struct build b = { .proto = P_UDP, .l4_size = 8, .pad = 30 };
	struct pkt_info info;
	struct frame f;

	build_frame(&b, &f);
	memset(f.b + f.size - f.pad, 0xee, f.pad);
	cr_assert_eq(parse_exact(&f, f.size, &info), PARSE_OK);
	cr_assert_eq(info.ip_len, 28);
	cr_assert_eq(info.l4_len, 8);
}
