/* Tests of the OpenFlow 1.3 codec (orchestrator/ofp_*.c): byte-exact encoding against the
 * messages ovs-ofctl sends (tests/data/ofp, made by capture.py there), decoding of what
 * ovs-vswitchd sends, and malformed input that must fail cleanly. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "orchestrator/ofp_action.h"
#include "orchestrator/ofp_buf.h"
#include "orchestrator/ofp_match.h"
#include "orchestrator/ofp_mod.h"
#include "orchestrator/ofp_mp.h"
#include "orchestrator/ofp_msg.h"
#include "orchestrator/ofp_names.h"
#include "orchestrator/ofp_proto.h"
#include "tests/harness/nfproc.h"

#define MAX_MSG 4096
#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* ---- Captured messages ---- */

struct capture {
	uint8_t bytes[MAX_MSG];
	size_t size;
	char command[1024];	/* the comment line naming the command */
};

static void data_path(const char *name, char *path, size_t size)
{
	const char *env = getenv("SNF_OFP_DATA_DIR");
	char dir[PATH_MAX];

	if (env && env[0])
		snprintf(dir, sizeof(dir), "%s", env);
	else if (access("tests/data/ofp/capture.py", R_OK) == 0)
		snprintf(dir, sizeof(dir), "tests/data/ofp");
	else
		cr_assert_eq(nfproc_build_path("../tests/data/ofp", dir, sizeof(dir)), 0);
	snprintf(path, size, "%s/%s.hex", dir, name);
}

/* Read tests/data/ofp/NAME.hex: '#' lines are comments, the rest hex bytes. */
static void load(const char *name, struct capture *cap)
{
	char path[PATH_MAX + 64], line[2048];
	unsigned byte;
	int n, used;
	char *p;
	FILE *f;

	memset(cap, 0, sizeof(*cap));
	data_path(name, path, sizeof(path));
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#') {
			if (strstr(line, "ovs-ofctl"))
				snprintf(cap->command, sizeof(cap->command), "%.1000s", line + 2);
			continue;
		}
		for (p = line; sscanf(p, "%2x%n", &byte, &used) == 1; p += used) {
			cr_assert_lt(cap->size, sizeof(cap->bytes));
			cap->bytes[cap->size++] = byte;
		}
	}
	fclose(f);
	n = cap->size;
	cr_assert_gt(n, 8, "%s: no message", path);
}

/* A copy of 'size' bytes in an exactly-sized heap block, so that ASan or valgrind flag
 * any read past the end. Free it. */
static uint8_t *exact_copy(const void *p, size_t size)
{
	uint8_t *q = malloc(size ? size : 1);

	cr_assert_not_null(q);
	memcpy(q, p, size);
	return q;
}

static void hex(const uint8_t *p, size_t size, char *out, size_t out_size)
{
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < size && used + 4 < out_size; i++)
		used += snprintf(out + used, out_size - used, "%s%02x", i % 16 ? " " : "\n  ", p[i]);
}

/* 'b' must hold the captured message byte for byte, except the xid. */
static void assert_same_as_capture(const struct ofp_buf *b, const char *name)
{
	static char want[16384], got[16384];
	struct capture cap;

	load(name, &cap);
	cr_assert_eq(b->err, 0);
	cr_assert_geq(b->size, 8);
	ofp_msg_set_xid(b->data, ofp_msg_xid(cap.bytes));
	if (b->size == cap.size && memcmp(b->data, cap.bytes, cap.size) == 0)
		return;
	hex(cap.bytes, cap.size, want, sizeof(want));
	hex(b->data, b->size, got, sizeof(got));
	cr_assert_fail("%s: encoding differs from %s\nwant:%s\ngot:%s", name, cap.command, want, got);
}

/* ---- Builders: the same flows and groups as the ovs-ofctl commands of the captures ---- */

static const uint8_t mac1[6] = { 2, 0, 0, 0, 0, 1 }, mac2[6] = { 2, 0, 0, 0, 0, 2 };
static const uint8_t arp_frame[] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,
};

static void mac(uint8_t out[6], uint8_t last)
{
	static const uint8_t base[6] = { 2, 0, 0, 0, 0, 0 };

	memcpy(out, base, 6);
	out[5] = last;
}

static int flow_encode(struct ofp_buf *b, const struct ofp_flow_mod *fm)
{
	return ofp_flow_mod_encode(b, 0, fm);
}

static int build_flow_add_simple(struct ofp_buf *b)
{
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.cookie = 0x1234;
	fm.priority = 100;
	ofp_match_set_uint(&fm.match, OFP_MF_IN_PORT, 1);
	ofp_actions_output(&fm.instructions.apply, 2);
	return flow_encode(b, &fm);
}

static int build_flow_add_tcp(struct ofp_buf *b)
{
	struct ofp_flow_mod fm;
	struct ofp_match *m = &fm.match;
	struct ofp_actions *a = &fm.instructions.apply;

	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.priority = 200;
	fm.cookie = 0xabcdef;
	fm.idle_timeout = 30;
	fm.hard_timeout = 300;
	fm.flags = OFPFF_SEND_FLOW_REM;
	ofp_match_set_uint(m, OFP_MF_ETH_TYPE, 0x0800);
	ofp_match_set_uint(m, OFP_MF_IP_PROTO, 6);
	ofp_match_set_uint(m, OFP_MF_IN_PORT, 3);
	ofp_match_set_eth(m, OFP_MF_ETH_DST, mac1, NULL);
	ofp_match_set_uint_masked(m, OFP_MF_IPV4_SRC, IP4(10, 0, 0, 0), 0xff000000);
	ofp_match_set_uint(m, OFP_MF_IPV4_DST, IP4(192, 168, 1, 10));
	ofp_match_set_uint(m, OFP_MF_TCP_SRC, 1234);
	ofp_match_set_uint(m, OFP_MF_TCP_DST, 80);
	ofp_actions_set_eth(a, OFP_MF_ETH_DST, mac2);
	ofp_actions_set_uint(a, OFP_MF_IPV4_DST, IP4(10, 1, 2, 3));
	ofp_actions_output(a, 4);
	return flow_encode(b, &fm);
}

static int build_flow_add_udp_goto(struct ofp_buf *b)
{
	static const uint8_t mcast[6] = { 1, 0, 0, 0, 0, 0 };
	struct ofp_flow_mod fm;
	struct ofp_match *m = &fm.match;

	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.table_id = 1;
	fm.priority = 10;
	ofp_match_set_uint(m, OFP_MF_ETH_TYPE, 0x0800);
	ofp_match_set_uint(m, OFP_MF_IP_PROTO, 17);
	ofp_match_set_eth(m, OFP_MF_ETH_DST, mcast, mcast);
	ofp_match_set_uint(m, OFP_MF_IPV4_SRC, IP4(172, 16, 0, 1));
	ofp_match_set_uint(m, OFP_MF_UDP_SRC, 5353);
	ofp_match_set_uint(m, OFP_MF_UDP_DST, 53);
	ofp_actions_group(&fm.instructions.apply, 7);
	fm.instructions.has_goto = true;
	fm.instructions.goto_table = 2;
	return flow_encode(b, &fm);
}

static int build_flow_add_arp_ctrl(struct ofp_buf *b)
{
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.priority = 5;
	ofp_match_set_uint(&fm.match, OFP_MF_ETH_TYPE, 0x0806);
	ofp_match_set_uint(&fm.match, OFP_MF_ARP_OP, 1);
	ofp_match_set_uint(&fm.match, OFP_MF_ARP_TPA, IP4(10, 0, 0, 1));
	ofp_actions_output(&fm.instructions.apply, OFPP_CONTROLLER);
	return flow_encode(b, &fm);
}

static int build_flow_add_ipsrc_mask(struct ofp_buf *b)
{
	struct ofp_flow_mod fm;
	struct ofp_match *m = &fm.match;
	struct ofp_actions *a = &fm.instructions.apply;
	uint8_t src[6], new_src[6];

	mac(src, 5);
	mac(new_src, 6);
	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.table_id = 3;
	fm.priority = 7;
	fm.flags = OFPFF_CHECK_OVERLAP;
	ofp_match_set_uint(m, OFP_MF_ETH_TYPE, 0x0800);
	ofp_match_set_eth(m, OFP_MF_ETH_SRC, src, NULL);
	ofp_match_set_uint_masked(m, OFP_MF_IPV4_SRC, IP4(10, 128, 0, 0), 0xff800000);
	ofp_match_set_uint_masked(m, OFP_MF_IPV4_DST, IP4(10, 0, 0, 0), IP4(255, 0, 255, 0));
	ofp_match_set_uint(m, OFP_MF_IP_PROTO, 17);
	ofp_actions_set_uint(a, OFP_MF_IPV4_SRC, IP4(10, 9, 9, 9));
	ofp_actions_set_eth(a, OFP_MF_ETH_SRC, new_src);
	ofp_actions_output(a, OFPP_IN_PORT);
	return flow_encode(b, &fm);
}

static int build_flow_add_drop(struct ofp_buf *b)
{
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.priority = 0;
	return flow_encode(b, &fm);
}

static int build_flow_add_eth_both(struct ofp_buf *b)
{
	struct ofp_flow_mod fm;
	uint8_t src[6], dst[6];

	mac(src, 0x0a);
	mac(dst, 0x0b);
	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.priority = 9;
	ofp_match_set_uint(&fm.match, OFP_MF_IN_PORT, 2);
	ofp_match_set_eth(&fm.match, OFP_MF_ETH_DST, dst, NULL);	/* order must not matter */
	ofp_match_set_eth(&fm.match, OFP_MF_ETH_SRC, src, NULL);
	ofp_actions_group(&fm.instructions.apply, OFPG_MAX);
	return flow_encode(b, &fm);
}

static int build_flow_add_arp_all(struct ofp_buf *b)
{
	static const uint8_t tha_mask[6] = { 0xff, 0xff, 0xff, 0, 0, 0 };
	struct ofp_flow_mod fm;
	struct ofp_match *m = &fm.match;
	uint8_t sha[6], tha[6];

	mac(sha, 0x0c);
	mac(tha, 0x00);
	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.table_id = 4;
	fm.priority = 6;
	fm.flags = OFPFF_RESET_COUNTS;
	ofp_match_set_uint(m, OFP_MF_ETH_TYPE, 0x0806);
	ofp_match_set_uint(m, OFP_MF_ARP_OP, 2);
	ofp_match_set_uint(m, OFP_MF_ARP_SPA, IP4(10, 0, 0, 2));
	ofp_match_set_uint_masked(m, OFP_MF_ARP_TPA, IP4(10, 0, 0, 0), 0xffffff00);
	ofp_match_set_eth(m, OFP_MF_ARP_SHA, sha, NULL);
	ofp_match_set_eth(m, OFP_MF_ARP_THA, tha, tha_mask);
	ofp_actions_output(&fm.instructions.apply, OFPP_CONTROLLER);
	ofp_actions_output(&fm.instructions.apply, OFPP_LOCAL);
	return flow_encode(b, &fm);
}

static int build_flow_modify(struct ofp_buf *b)
{
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_MODIFY);
	fm.cookie = 0x1234;
	fm.cookie_mask = UINT64_MAX;
	ofp_match_set_uint(&fm.match, OFP_MF_IN_PORT, 1);
	ofp_actions_output(&fm.instructions.apply, 3);
	return flow_encode(b, &fm);
}

static int build_flow_modify_strict(struct ofp_buf *b)
{
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_MODIFY_STRICT);
	fm.priority = 100;
	ofp_match_set_uint(&fm.match, OFP_MF_IN_PORT, 1);
	ofp_actions_output(&fm.instructions.apply, 5);
	return flow_encode(b, &fm);
}

static int build_flow_delete_cookie(struct ofp_buf *b)
{
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_DELETE);
	fm.table_id = OFPTT_ALL;
	fm.cookie = 0x1234;
	fm.cookie_mask = UINT64_MAX;
	return flow_encode(b, &fm);
}

static int build_flow_delete_strict(struct ofp_buf *b)
{
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_DELETE_STRICT);
	fm.priority = 100;
	ofp_match_set_uint(&fm.match, OFP_MF_IN_PORT, 1);
	return flow_encode(b, &fm);
}

static int build_flow_delete_out_port(struct ofp_buf *b)
{
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_DELETE);
	fm.table_id = 2;
	fm.out_port = 3;
	return flow_encode(b, &fm);
}

static int build_group_add_select(struct ofp_buf *b)
{
	struct ofp_bucket buckets[2];
	struct ofp_group_mod gm = { OFPGC_ADD, OFPGT_SELECT, 1, 2, buckets };

	ofp_bucket_init(&buckets[0]);
	buckets[0].weight = 10;
	buckets[0].watch_port = 2;
	ofp_actions_output(&buckets[0].actions, 2);
	ofp_bucket_init(&buckets[1]);
	buckets[1].weight = 20;
	ofp_actions_output(&buckets[1].actions, 3);
	return ofp_group_mod_encode(b, 0, &gm);
}

static int build_group_add_all(struct ofp_buf *b)
{
	struct ofp_bucket buckets[2];
	struct ofp_group_mod gm = { OFPGC_ADD, OFPGT_ALL, 2, 2, buckets };
	uint8_t dst[6];

	mac(dst, 9);
	ofp_bucket_init(&buckets[0]);
	ofp_actions_output(&buckets[0].actions, 1);
	ofp_bucket_init(&buckets[1]);
	ofp_actions_set_eth(&buckets[1].actions, OFP_MF_ETH_DST, dst);
	ofp_actions_output(&buckets[1].actions, 2);
	return ofp_group_mod_encode(b, 0, &gm);
}

static int build_group_modify(struct ofp_buf *b)
{
	struct ofp_bucket bucket;
	struct ofp_group_mod gm = { OFPGC_MODIFY, OFPGT_SELECT, 1, 1, &bucket };

	ofp_bucket_init(&bucket);
	bucket.weight = 1;
	ofp_actions_output(&bucket.actions, 4);
	return ofp_group_mod_encode(b, 0, &gm);
}

static int build_group_delete(struct ofp_buf *b)
{
	struct ofp_group_mod gm = { OFPGC_DELETE, OFPGT_ALL, 1, 0, NULL };

	return ofp_group_mod_encode(b, 0, &gm);
}

static int build_group_delete_all(struct ofp_buf *b)
{
	struct ofp_group_mod gm = { OFPGC_DELETE, OFPGT_ALL, OFPG_ALL, 0, NULL };

	return ofp_group_mod_encode(b, 0, &gm);
}

static int build_packet_out(struct ofp_buf *b)
{
	struct ofp_packet_out po = { .buffer_id = OFP_NO_BUFFER, .in_port = OFPP_CONTROLLER,
				     .data = arp_frame, .data_size = sizeof(arp_frame) };

	ofp_actions_output(&po.actions, 1);
	return ofp_packet_out_encode(b, 0, &po);
}

static int build_mp_port_stats_req(struct ofp_buf *b)
{
	return ofp_port_stats_request_encode(b, 0, OFPP_ANY);
}

static int build_mp_port_stats_req_one(struct ofp_buf *b)
{
	return ofp_port_stats_request_encode(b, 0, 7);
}

static int build_mp_group_stats_req(struct ofp_buf *b)
{
	return ofp_group_stats_request_encode(b, 0, OFPG_ALL);
}

static int build_mp_port_desc_req(struct ofp_buf *b)
{
	return ofp_port_desc_request_encode(b, 0);
}

struct encoding {
	char name[32];
	int (*build)(struct ofp_buf *b);
};

#define ENC(n) { #n, build_##n }
static struct encoding encodings[] = {
	ENC(flow_add_simple), ENC(flow_add_tcp), ENC(flow_add_udp_goto), ENC(flow_add_arp_ctrl),
	ENC(flow_add_ipsrc_mask), ENC(flow_add_drop), ENC(flow_add_eth_both), ENC(flow_add_arp_all),
	ENC(flow_modify), ENC(flow_modify_strict), ENC(flow_delete_cookie),
	ENC(flow_delete_strict), ENC(flow_delete_out_port), ENC(group_add_select),
	ENC(group_add_all), ENC(group_modify), ENC(group_delete), ENC(group_delete_all),
	ENC(packet_out), ENC(mp_port_stats_req), ENC(mp_port_stats_req_one),
	ENC(mp_group_stats_req), ENC(mp_port_desc_req),
};
#undef ENC

#define N_ENCODINGS (sizeof(encodings) / sizeof(encodings[0]))

/* Parameters are indexes into encodings[]: Criterion copies them into a worker whose
 * addresses may differ, so they cannot hold pointers. */
static unsigned *encoding_indexes(void)
{
	static unsigned idx[N_ENCODINGS];
	unsigned i;

	for (i = 0; i < N_ENCODINGS; i++)
		idx[i] = i;
	return idx;
}

ParameterizedTestParameters(ofp, encode_like_ovs_ofctl)
{
	return cr_make_param_array(unsigned, encoding_indexes(), N_ENCODINGS);
}

ParameterizedTest(unsigned *i, ofp, encode_like_ovs_ofctl)
{
	struct encoding *e = &encodings[*i];
	struct ofp_buf b = OFP_BUF_INIT;

	cr_assert_eq(e->build(&b), 0, "%s: encoder failed", e->name);
	assert_same_as_capture(&b, e->name);
	ofp_buf_uninit(&b);
}

/* ---- Decoding the captures ---- */

/* Decode a captured mod and encode it again: the same bytes. */
ParameterizedTestParameters(ofp, decode_reencode)
{
	return cr_make_param_array(unsigned, encoding_indexes(), N_ENCODINGS);
}

ParameterizedTest(unsigned *idx, ofp, decode_reencode)
{
	struct encoding *e = &encodings[*idx];
	struct ofp_buf b = OFP_BUF_INIT;
	struct ofp_flow_mod fm;
	struct ofp_group_mod gm;
	struct ofp_packet_out po;
	struct capture cap;
	const char *why = NULL;
	uint8_t *msg;
	int rc = 0;

	load(e->name, &cap);
	msg = exact_copy(cap.bytes, cap.size);
	switch (msg[1]) {
	case OFPT_FLOW_MOD:
		rc = ofp_flow_mod_decode(msg, cap.size, &fm, &why);
		if (rc == 0)
			rc = ofp_flow_mod_encode(&b, ofp_msg_xid(msg), &fm);
		break;
	case OFPT_GROUP_MOD:
		rc = ofp_group_mod_decode(msg, cap.size, &gm, &why);
		if (rc == 0)
			rc = ofp_group_mod_encode(&b, ofp_msg_xid(msg), &gm);
		ofp_group_mod_uninit(&gm);
		break;
	case OFPT_PACKET_OUT:
		rc = ofp_packet_out_decode(msg, cap.size, &po, &why);
		if (rc == 0)
			rc = ofp_packet_out_encode(&b, ofp_msg_xid(msg), &po);
		break;
	default:	/* multipart requests: the header is all there is to check */
		ofp_buf_put(&b, msg, cap.size);
		break;
	}
	cr_assert_eq(rc, 0, "%s: %d (%s)", e->name, rc, why ? why : "");
	cr_assert_eq(b.size, cap.size, "%s", e->name);
	cr_assert_arr_eq(b.data, cap.bytes, cap.size, "%s", e->name);
	ofp_buf_uninit(&b);
	free(msg);
}

Test(ofp, decode_flow_add_tcp_fields)
{
	struct ofp_flow_mod fm;
	struct capture cap;
	char text[256];
	const struct ofp_actions *a = &fm.instructions.apply;

	load("flow_add_tcp", &cap);
	cr_assert_eq(ofp_flow_mod_decode(cap.bytes, cap.size, &fm, NULL), 0);
	cr_assert_eq(fm.command, OFPFC_ADD);
	cr_assert_eq(fm.cookie, 0xabcdef);
	cr_assert_eq(fm.idle_timeout, 30);
	cr_assert_eq(fm.hard_timeout, 300);
	cr_assert_eq(fm.priority, 200);
	cr_assert_eq(fm.flags, OFPFF_SEND_FLOW_REM);
	cr_assert_eq(fm.buffer_id, OFP_NO_BUFFER);
	cr_assert(ofp_match_has(&fm.match, OFP_MF_TCP_DST));
	cr_assert_eq(fm.match.values[OFP_MF_TCP_DST].u32, 80);
	cr_assert_eq(fm.match.masks[OFP_MF_IPV4_SRC].u32, 0xff000000);
	cr_assert_eq(fm.match.n_unknown, 0);
	ofp_match_format(&fm.match, text, sizeof(text));
	cr_assert_str_eq(text, "in_port=3,eth_dst=02:00:00:00:00:01,eth_type=0x0800,"
			       "ipv4_src=10.0.0.0/255.0.0.0,ipv4_dst=192.168.1.10,ip_proto=6,"
			       "tcp_src=1234,tcp_dst=80");
	cr_assert_eq(a->n, 3);
	ofp_actions_format(a, text, sizeof(text));
	cr_assert_str_eq(text, "set_field:02:00:00:00:00:02->eth_dst,set_field:10.1.2.3->ipv4_dst,"
			       "output:4");
}

Test(ofp, decode_flow_goto_and_group)
{
	struct ofp_flow_mod fm;
	struct capture cap;

	load("flow_add_udp_goto", &cap);
	cr_assert_eq(ofp_flow_mod_decode(cap.bytes, cap.size, &fm, NULL), 0);
	cr_assert_eq(fm.table_id, 1);
	cr_assert(fm.instructions.has_goto);
	cr_assert_eq(fm.instructions.goto_table, 2);
	cr_assert_eq(fm.instructions.apply.n, 1);
	cr_assert_eq(fm.instructions.apply.a[0].type, OFPAT_GROUP);
	cr_assert_eq(fm.instructions.apply.a[0].group_id, 7);
	cr_assert(fm.match.masked & (1u << OFP_MF_ETH_DST));
	cr_assert_eq(fm.match.masks[OFP_MF_ETH_DST].eth[0], 0x01);
}

Test(ofp, decode_group_select)
{
	struct ofp_group_mod gm;
	struct capture cap;

	load("group_add_select", &cap);
	cr_assert_eq(ofp_group_mod_decode(cap.bytes, cap.size, &gm, NULL), 0);
	cr_assert_eq(gm.command, OFPGC_ADD);
	cr_assert_eq(gm.type, OFPGT_SELECT);
	cr_assert_eq(gm.group_id, 1);
	cr_assert_eq(gm.n_buckets, 2);
	cr_assert_eq(gm.buckets[0].weight, 10);
	cr_assert_eq(gm.buckets[0].watch_port, 2);
	cr_assert_eq(gm.buckets[0].watch_group, OFPG_ANY);
	cr_assert_eq(gm.buckets[1].weight, 20);
	cr_assert_eq(gm.buckets[1].watch_port, OFPP_ANY);
	cr_assert_eq(gm.buckets[1].actions.a[0].output.port, 3);
	ofp_group_mod_uninit(&gm);
	cr_assert_null(gm.buckets);
}

Test(ofp, decode_hello_of_ovs)
{
	struct ofp_hello hello;
	struct capture cap;

	load("hello_switch", &cap);
	cr_assert_eq(ofp_hello_decode(cap.bytes, cap.size, &hello, NULL), 0);
	cr_assert_eq(hello.version, OFP13_VERSION);
	cr_assert_eq(hello.bitmap, 1u << OFP13_VERSION);
	cr_assert_eq(ofp_version_negotiate(&hello, 1u << OFP13_VERSION), OFP13_VERSION);
}

Test(ofp, decode_features_reply)
{
	struct ofp_features f;
	struct capture cap;

	load("features_reply", &cap);
	cr_assert_eq(ofp_features_reply_decode(cap.bytes, cap.size, &f, NULL), 0);
	cr_assert_eq(f.datapath_id, 0xa1);	/* other-config:datapath-id of the capture */
	cr_assert_eq(f.n_tables, 254);
	cr_assert_eq(f.auxiliary_id, 0);
	cr_assert_eq(f.capabilities, OFPC_FLOW_STATS | OFPC_TABLE_STATS | OFPC_PORT_STATS |
					     OFPC_GROUP_STATS | OFPC_QUEUE_STATS);
}

Test(ofp, decode_port_desc_reply_appends)
{
	struct ofp_port_desc_reply r = { 0 };
	const struct ofp_port *p;
	struct capture cap;

	load("mp_port_desc_reply", &cap);
	cr_assert_eq(ofp_port_desc_reply_decode(cap.bytes, cap.size, &r, NULL), 0);
	cr_assert_eq(r.n, 2);
	cr_assert_not(r.more);
	p = ofp_port_desc_find(&r, "ofpcap1");
	cr_assert_not_null(p);
	cr_assert_eq(p->port_no, 1);
	cr_assert(p->state & OFPPS_LINK_DOWN);
	cr_assert(p->config & OFPPC_PORT_DOWN);
	p = ofp_port_desc_find(&r, "ofpcap0");
	cr_assert_not_null(p);
	cr_assert_eq(p->port_no, OFPP_LOCAL);
	cr_assert_null(ofp_port_desc_find(&r, "nope"));
	/* A second part appends. */
	cr_assert_eq(ofp_port_desc_reply_decode(cap.bytes, cap.size, &r, NULL), 0);
	cr_assert_eq(r.n, 4);
	ofp_port_desc_reply_uninit(&r);
	cr_assert_eq(r.n, 0);
}

Test(ofp, decode_port_status)
{
	struct ofp_port_status ps;
	struct capture cap;

	load("port_status_add", &cap);
	cr_assert_eq(ofp_port_status_decode(cap.bytes, cap.size, &ps, NULL), 0);
	cr_assert_eq(ps.reason, OFPPR_ADD);
	cr_assert_eq(ps.port.port_no, 2);
	cr_assert_str_eq(ps.port.name, "ofpcap2");
	cr_assert(ps.port.state & OFPPS_LINK_DOWN);
	cr_assert_eq(ps.port.curr_speed, 10000000);
	load("port_status_delete", &cap);
	cr_assert_eq(ofp_port_status_decode(cap.bytes, cap.size, &ps, NULL), 0);
	cr_assert_eq(ps.reason, OFPPR_DELETE);
	cr_assert_str_eq(ps.port.name, "ofpcap2");
}

Test(ofp, decode_port_stats_reply)
{
	struct ofp_port_stats_reply r = { 0 };
	struct capture cap;

	load("mp_port_stats_reply", &cap);
	cr_assert_eq(ofp_port_stats_reply_decode(cap.bytes, cap.size, &r, NULL), 0);
	cr_assert_eq(r.n, 2);
	cr_assert_eq(r.stats[0].port_no, OFPP_LOCAL);
	cr_assert_eq(r.stats[1].port_no, 1);
	cr_assert_gt(r.stats[0].duration_nsec, 0);
	ofp_port_stats_reply_uninit(&r);
}

Test(ofp, decode_group_stats_reply)
{
	struct ofp_group_stats_reply r = { 0 };
	struct capture cap;

	load("mp_group_stats_reply", &cap);
	cr_assert_eq(ofp_group_stats_reply_decode(cap.bytes, cap.size, &r, NULL), 0);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.groups[0].group_id, 5);
	cr_assert_eq(r.groups[0].n_buckets, 2);
	cr_assert_eq(r.groups[0].buckets[1].packet_count, 0);
	ofp_group_stats_reply_uninit(&r);
}

Test(ofp, decode_packet_in)
{
	struct ofp_packet_in pin;
	struct capture cap;

	load("packet_in", &cap);
	cr_assert_eq(ofp_packet_in_decode(cap.bytes, cap.size, &pin, NULL), 0);
	cr_assert_eq(pin.buffer_id, OFP_NO_BUFFER);
	cr_assert_eq(pin.reason, OFPR_ACTION);
	cr_assert_eq(pin.table_id, 0);
	cr_assert_eq(pin.cookie, 0x77);
	cr_assert_eq(pin.total_len, sizeof(arp_frame));
	cr_assert(ofp_match_has(&pin.match, OFP_MF_IN_PORT));
	cr_assert_eq(pin.match.values[OFP_MF_IN_PORT].u32, OFPP_CONTROLLER);
	cr_assert_eq(pin.data_size, sizeof(arp_frame));
	cr_assert_arr_eq(pin.data, arp_frame, sizeof(arp_frame));
}

Test(ofp, decode_error_readable)
{
	struct ofp_error err;
	struct capture cap;
	char line[160];

	load("error_bad_prereq", &cap);
	cr_assert_eq(ofp_error_decode(cap.bytes, cap.size, &err, NULL), 0);
	cr_assert_eq(err.type, OFPET_BAD_MATCH);
	cr_assert_eq(err.code, OFPBMC_BAD_PREREQ);
	cr_assert_eq(err.xid, 7);
	cr_assert_eq(err.failed_type, OFPT_FLOW_MOD);
	cr_assert_eq(err.data_size, cap.size - 12);
	ofp_error_format(&err, line, sizeof(line));
	cr_assert_str_eq(line, "OFPET_BAD_MATCH/OFPBMC_BAD_PREREQ for OFPT_FLOW_MOD xid 0x7");
}

Test(ofp, error_names)
{
	struct ofp_error err = { .xid = 0x42, .type = OFPET_BAD_MATCH, .code = 6, .failed_type = -1 };
	char line[160];

	cr_assert_str_eq(ofp_error_code_name(OFPET_BAD_MATCH, 6), "OFPBMC_BAD_FIELD");
	cr_assert_str_eq(ofp_error_code_name(OFPET_GROUP_MOD_FAILED, 0), "OFPGMFC_GROUP_EXISTS");
	cr_assert_str_eq(ofp_error_code_name(OFPET_BAD_ACTION, 4), "OFPBAC_BAD_OUT_PORT");
	cr_assert_str_eq(ofp_error_code_name(OFPET_FLOW_MOD_FAILED, 1), "OFPFMFC_TABLE_FULL");
	cr_assert_str_eq(ofp_error_type_name(OFPET_TABLE_FEATURES_FAILED), "OFPET_TABLE_FEATURES_FAILED");
	cr_assert_null(ofp_error_code_name(OFPET_BAD_MATCH, 200));
	cr_assert_null(ofp_error_type_name(99));
	cr_assert_str_eq(ofp_type_name(OFPT_BARRIER_REPLY), "OFPT_BARRIER_REPLY");
	cr_assert_null(ofp_type_name(200));
	ofp_error_format(&err, line, sizeof(line));
	cr_assert_str_eq(line, "OFPET_BAD_MATCH/OFPBMC_BAD_FIELD for request xid 0x42");
	err.type = 77;
	err.code = 3;
	ofp_error_format(&err, line, sizeof(line));
	cr_assert_str_eq(line, "type 77/code 3 for request xid 0x42");
	err.type = OFPET_EXPERIMENTER;
	err.experimenter = 0x00002320;
	ofp_error_format(&err, line, sizeof(line));
	cr_assert_str_eq(line, "OFPET_EXPERIMENTER/exp_type 3 of 0x00002320 (Nicira) for request xid 0x42");
}

/* ---- Small messages, negotiation, framing ---- */

Test(ofp, simple_messages)
{
	static const uint8_t hello[] = { 4, 0, 0, 16, 0, 0, 0, 9, 0, 1, 0, 8, 0, 0, 0, 0x10 };
	static const uint8_t barrier[] = { 4, 20, 0, 8, 0, 0, 0, 5 };
	static const uint8_t echo[] = { 4, 2, 0, 11, 0, 0, 0, 6, 'a', 'b', 'c' };
	struct ofp_buf b = OFP_BUF_INIT;

	cr_assert_eq(ofp_hello_encode(&b, 9, 1u << OFP13_VERSION), 0);
	cr_assert_eq(b.size, sizeof(hello));
	cr_assert_arr_eq(b.data, hello, sizeof(hello));
	ofp_buf_reset(&b);
	cr_assert_eq(ofp_barrier_request_encode(&b, 5), 0);
	cr_assert_arr_eq(b.data, barrier, sizeof(barrier));
	ofp_buf_reset(&b);
	cr_assert_eq(ofp_echo_encode(&b, OFPT_ECHO_REQUEST, 6, "abc", 3), 0);
	cr_assert_eq(b.size, sizeof(echo));
	cr_assert_arr_eq(b.data, echo, sizeof(echo));
	cr_assert_eq(ofp_echo_encode(&b, OFPT_HELLO, 6, NULL, 0), -EINVAL);
	ofp_buf_uninit(&b);
}

struct nego_case {
	uint8_t version;
	uint32_t bitmap;
	int want;
};

ParameterizedTestParameters(ofp, negotiation)
{
	static struct nego_case cases[] = {
		{ 4, 1u << 4, 4 },			/* OVS, protocols=OpenFlow13 */
		{ 6, (1u << 1) | (1u << 4) | (1u << 6), 4 },	/* OVS with 1.0, 1.3, 1.5 */
		{ 6, 0, 4 },				/* no bitmap: min(6, 4) */
		{ 4, 0, 4 },
		{ 1, 0, -EPROTONOSUPPORT },		/* OpenFlow 1.0 only */
		{ 6, (1u << 5) | (1u << 6), -EPROTONOSUPPORT },
	};
	return cr_make_param_array(struct nego_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct nego_case *c, ofp, negotiation)
{
	struct ofp_hello h = { c->version, c->bitmap };

	cr_assert_eq(ofp_version_negotiate(&h, 1u << OFP13_VERSION), c->want,
		     "version %u bitmap 0x%x", c->version, c->bitmap);
}

Test(ofp, framing)
{
	static const uint8_t two[] = { 4, 20, 0, 8, 0, 0, 0, 1, 4, 21, 0, 8, 0, 0, 0, 2 };
	static const uint8_t short_len[] = { 4, 0, 0, 4, 0, 0, 0, 1 };

	cr_assert_eq(ofp_msg_length(two, 3), 0);
	cr_assert_eq(ofp_msg_length(two, sizeof(two)), 8);
	cr_assert_eq(ofp_msg_length(two + 8, 8), 8);
	cr_assert_eq(ofp_msg_xid(two + 8), 2);
	cr_assert_eq(ofp_msg_length(short_len, sizeof(short_len)), -EBADMSG);
}

/* ---- Builder and encoder limits ---- */

Test(ofp, match_setters_validate)
{
	struct ofp_match m;

	ofp_match_init(&m);
	cr_assert_eq(ofp_match_set_uint(&m, OFP_MF_ETH_DST, 1), -EINVAL);
	cr_assert_eq(ofp_match_set_uint(&m, OFP_MF_IP_PROTO, 256), -EINVAL);
	cr_assert_eq(ofp_match_set_uint_masked(&m, OFP_MF_IN_PORT, 1, 0xff), -EINVAL);
	cr_assert_eq(ofp_match_set_uint_masked(&m, OFP_MF_IPV4_DST, IP4(10, 1, 2, 3), 0xff000000), 0);
	cr_assert_eq(m.values[OFP_MF_IPV4_DST].u32, IP4(10, 0, 0, 0));	/* masked off */
	cr_assert_eq(ofp_match_set_uint_masked(&m, OFP_MF_IPV4_DST, 0, 0), 0);
	cr_assert_not(ofp_match_has(&m, OFP_MF_IPV4_DST));
	cr_assert_eq(ofp_match_set_uint(&m, OFP_MF_N, 1), -EINVAL);
	cr_assert_eq(m.present, 0);
}

Test(ofp, action_list_limits)
{
	struct ofp_actions a = { 0 };
	unsigned i;

	for (i = 0; i < OFP_MAX_ACTIONS; i++)
		cr_assert_eq(ofp_actions_output(&a, i + 1), 0);
	cr_assert_eq(ofp_actions_output(&a, 99), -ENOSPC);
	a.n = 0;
	cr_assert_eq(ofp_actions_set_uint(&a, OFP_MF_ETH_SRC, 1), -EINVAL);
	cr_assert_eq(ofp_actions_set_eth(&a, OFP_MF_IPV4_SRC, mac1), -EINVAL);
	cr_assert_eq(ofp_actions_set_uint(&a, OFP_MF_TCP_DST, 70000), -EINVAL);
	cr_assert_eq(ofp_actions_simple(&a, OFPAT_OUTPUT), -EINVAL);
	cr_assert_eq(ofp_actions_simple(&a, OFPAT_DEC_NW_TTL), 0);
}

/* A select group too big for one message: -EMSGSIZE, and the buffer is left as it was. */
Test(ofp, group_too_big)
{
	enum { N = 4096 };
	struct ofp_bucket *buckets = calloc(N, sizeof(*buckets));
	struct ofp_group_mod gm = { OFPGC_ADD, OFPGT_SELECT, 1, N, buckets };
	struct ofp_buf b = OFP_BUF_INIT;
	size_t i;

	cr_assert_not_null(buckets);
	for (i = 0; i < N; i++) {
		ofp_bucket_init(&buckets[i]);
		ofp_actions_output(&buckets[i].actions, 1);
	}
	ofp_buf_put(&b, "x", 1);
	cr_assert_eq(ofp_group_mod_encode(&b, 1, &gm), -EMSGSIZE);
	cr_assert_eq(b.size, 1);
	gm.n_buckets = 2000;	/* 8 + 8 + 2000 * 32 bytes fits */
	cr_assert_eq(ofp_group_mod_encode(&b, 1, &gm), 0);
	cr_assert_eq(b.size, 1 + 16 + 2000 * 32);
	ofp_buf_uninit(&b);
	free(buckets);
}

/* A 64-slot select group, as the orchestrator will use, as OVS's own parser reads it. */
Test(ofp, select_group_64_slots_ofp_print, .timeout = 20)
{
	struct ofp_bucket buckets[64];
	struct ofp_group_mod gm = { OFPGC_ADD, OFPGT_SELECT, 10, 64, buckets };
	struct ofp_buf b = OFP_BUF_INIT;
	char cmd[8192], out[16384];
	size_t i, used, n;
	FILE *f;

	for (i = 0; i < 64; i++) {
		ofp_bucket_init(&buckets[i]);
		buckets[i].weight = 5;	/* OVS leaves the default weight 1 out of its text */
		ofp_actions_output(&buckets[i].actions, 1 + i % 3);
	}
	cr_assert_eq(ofp_group_mod_encode(&b, 3, &gm), 0);
	used = snprintf(cmd, sizeof(cmd), "ovs-ofctl -O OpenFlow13 ofp-print ");
	for (i = 0; i < b.size; i++)
		used += snprintf(cmd + used, sizeof(cmd) - used, "%02x", b.data[i]);
	snprintf(cmd + used, sizeof(cmd) - used, " 2>&1");
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	cr_assert_eq(pclose(f), 0, "%s", out);
	cr_assert_null(strstr(out, "error"), "%s", out);
	cr_assert_not_null(strstr(out, "ADD group_id=10,type=select,bucket=weight:5,actions=output:1,"
				       "bucket=weight:5,actions=output:2,"), "%s", out);
	ofp_buf_uninit(&b);
}

/* ---- Malformed input ---- */

enum dec { D_HEADER, D_FLOW, D_GROUP, D_PORT_STATUS, D_PORT_STATS, D_PORT_DESC, D_GROUP_STATS,
	   D_PACKET_IN, D_PACKET_OUT, D_ERROR, D_HELLO, D_FEATURES };

/* Run decoder 'd' on 'msg'; frees whatever it allocated. */
static int decode_with(enum dec d, const uint8_t *msg, size_t size, const char **why)
{
	union {
		struct ofp_header h;
		struct ofp_flow_mod fm;
		struct ofp_group_mod gm;
		struct ofp_port_status ps;
		struct ofp_packet_in pin;
		struct ofp_packet_out po;
		struct ofp_error err;
		struct ofp_hello hello;
		struct ofp_features f;
	} u;
	struct ofp_port_stats_reply psr = { 0 };
	struct ofp_port_desc_reply pdr = { 0 };
	struct ofp_group_stats_reply gsr = { 0 };
	int rc;

	switch (d) {
	case D_HEADER: return ofp_header_decode(msg, size, &u.h, why);
	case D_FLOW: return ofp_flow_mod_decode(msg, size, &u.fm, why);
	case D_GROUP:
		rc = ofp_group_mod_decode(msg, size, &u.gm, why);
		if (rc == 0)
			ofp_group_mod_uninit(&u.gm);
		return rc;
	case D_PORT_STATUS: return ofp_port_status_decode(msg, size, &u.ps, why);
	case D_PORT_STATS:
		rc = ofp_port_stats_reply_decode(msg, size, &psr, why);
		ofp_port_stats_reply_uninit(&psr);
		return rc;
	case D_PORT_DESC:
		rc = ofp_port_desc_reply_decode(msg, size, &pdr, why);
		ofp_port_desc_reply_uninit(&pdr);
		return rc;
	case D_GROUP_STATS:
		rc = ofp_group_stats_reply_decode(msg, size, &gsr, why);
		ofp_group_stats_reply_uninit(&gsr);
		return rc;
	case D_PACKET_IN: return ofp_packet_in_decode(msg, size, &u.pin, why);
	case D_PACKET_OUT: return ofp_packet_out_decode(msg, size, &u.po, why);
	case D_ERROR: return ofp_error_decode(msg, size, &u.err, why);
	case D_HELLO: return ofp_hello_decode(msg, size, &u.hello, why);
	case D_FEATURES: return ofp_features_reply_decode(msg, size, &u.f, why);
	}
	return -EINVAL;
}

/* A captured message with some bytes changed, or cut. */
struct malformed {
	char desc[64];
	char capture[32];
	enum dec dec;
	int cut;		/* >0: keep only this many bytes; header length left as is */
	int ofs[3];		/* bytes to overwrite (-1: none) ... */
	uint8_t val[3];		/* ... with these */
	char why[48];		/* expected start of the reason */
	int err;		/* expected return; 0 means -EBADMSG */
};

/* Offsets: flow_add_simple has its match at 48 (in_port TLV at 52), instructions at 64
 * (apply-actions) and the output action at 72; flow_add_tcp's TLVs start at 52 (in_port),
 * 60 (eth_dst), 70 (eth_type); group_add_select's buckets start at 16 and 48. */
#define NOP -1, -1, -1
static struct malformed malformed[] = {
	{ "truncated header", "flow_add_simple", D_HEADER, 5, { NOP }, { 0 }, "header: fewer", 0 },
	{ "length beyond buffer", "flow_add_simple", D_FLOW, 40, { NOP }, { 0 }, "header: length past", 0 },
	{ "length below 8", "flow_add_simple", D_FLOW, 0, { 2, 3, -1 }, { 0, 4 }, "header: length shorter", 0 },
	{ "flow body cut", "flow_add_simple", D_FLOW, 0, { 2, 3, -1 }, { 0, 20 }, "flow_mod: truncated", 0 },
	{ "match length < 4", "flow_add_simple", D_FLOW, 0, { 50, 51, -1 }, { 0, 2 }, "match: length shorter", 0 },
	{ "match length past end", "flow_add_simple", D_FLOW, 0, { 50, 51, -1 }, { 1, 0 }, "match: length past", 0 },
	{ "match not OXM", "flow_add_simple", D_FLOW, 0, { 49, -1, -1 }, { 0 }, "match: type", 0 },
	{ "OXM length 5 for in_port", "flow_add_tcp", D_FLOW, 0, { 55, -1, -1 }, { 5 }, "oxm: TLV length does not", 0 },
	{ "OXM length past match", "flow_add_tcp", D_FLOW, 0, { 55, -1, -1 }, { 0xff }, "oxm: TLV length past", 0 },
	{ "OXM truncated header", "flow_add_simple", D_FLOW, 0, { 51, -1, -1 }, { 6 }, "oxm: truncated", 0 },
	{ "OXM mask on in_port", "flow_add_tcp", D_FLOW, 0, { 54, 55, -1 }, { 1, 8 }, "oxm: mask on a field", 0 },
	{ "OXM mask on eth_type", "flow_add_tcp", D_FLOW, 0, { 72, -1, -1 }, { 0x0b }, "oxm: TLV length does not", 0 },
	{ "OXM eth_dst renamed in_port", "flow_add_tcp", D_FLOW, 0, { 62, -1, -1 }, { 0 }, "oxm: TLV length does not", 0 },
	{ "duplicate in_port", "flow_add_eth_both", D_FLOW, 0, { 62, 63, -1 }, { 0, 4 }, "oxm: duplicate", 0 },
	{ "instruction length 4", "flow_add_simple", D_FLOW, 0, { 67, -1, -1 }, { 4 }, "instruction: length not", 0 },
	{ "instruction length past end", "flow_add_simple", D_FLOW, 0, { 67, -1, -1 }, { 0x20 }, "instruction: length past", 0 },
	{ "instruction cut", "flow_add_simple", D_FLOW, 0, { 3, -1, -1 }, { 66 }, "instruction: truncated", 0 },
	{ "meter instruction", "flow_add_simple", D_FLOW, 0, { 65, -1, -1 }, { 6 }, "instruction: type", -EOPNOTSUPP },
	{ "action length 12", "flow_add_simple", D_FLOW, 0, { 75, -1, -1 }, { 12 }, "action: length not", 0 },
	{ "action length 0", "flow_add_simple", D_FLOW, 0, { 75, -1, -1 }, { 0 }, "action: length not", 0 },
	{ "action length past end", "flow_add_simple", D_FLOW, 0, { 75, -1, -1 }, { 24 }, "action: length past", 0 },
	{ "output length 8", "flow_add_simple", D_FLOW, 0, { 67, 75, -1 }, { 0x10, 8 }, "action: output length", 0 },
	{ "push_vlan action", "flow_add_simple", D_FLOW, 0, { 73, -1, -1 }, { 17 }, "action: type", -EOPNOTSUPP },
	{ "bucket length 8", "group_add_select", D_GROUP, 0, { 17, -1, -1 }, { 8 }, "bucket: bad length", 0 },
	{ "bucket length past end", "group_add_select", D_GROUP, 0, { 49, -1, -1 }, { 0x28 }, "bucket: length past", 0 },
	{ "bucket length 36", "group_add_select", D_GROUP, 0, { 17, 52, 53 }, { 0x24, 0, 0x1c }, "bucket: length not", 0 },
	{ "bucket action past bucket", "group_add_select", D_GROUP, 0, { 35, -1, -1 }, { 0x18 }, "action: length past", 0 },
	{ "group body cut", "group_add_select", D_GROUP, 0, { 3, -1, -1 }, { 12 }, "group_mod: truncated", 0 },
	{ "port_status cut", "port_status_add", D_PORT_STATUS, 0, { 3, -1, -1 }, { 70 }, "port: fewer", 0 },
	{ "port stats not x112", "mp_port_stats_reply", D_PORT_STATS, 0, { 3, -1, -1 }, { 0xe8 }, "port_stats: body", 0 },
	{ "port desc not x64", "mp_port_desc_reply", D_PORT_DESC, 0, { 3, -1, -1 }, { 0x88 }, "port_desc: body", 0 },
	{ "group stats entry short", "mp_group_stats_reply", D_GROUP_STATS, 0, { 17, -1, -1 }, { 0x20 }, "group_stats: bad", 0 },
	{ "group stats entry past end", "mp_group_stats_reply", D_GROUP_STATS, 0, { 17, -1, -1 }, { 0x58 }, "group_stats: entry length past", 0 },
	{ "packet_in match past end", "packet_in", D_PACKET_IN, 0, { 27, -1, -1 }, { 0x70 }, "match: length past", 0 },
	{ "packet_in cut", "packet_in", D_PACKET_IN, 0, { 3, -1, -1 }, { 20 }, "packet_in: truncated", 0 },
	{ "packet_out actions past end", "packet_out", D_PACKET_OUT, 0, { 16, 17, -1 }, { 1, 0 }, "packet_out: actions", 0 },
	{ "error cut", "error_bad_prereq", D_ERROR, 0, { 3, -1, -1 }, { 10 }, "error: truncated", 0 },
	{ "hello element past end", "hello_switch", D_HELLO, 0, { 11, -1, -1 }, { 0x10 }, "hello: element length", 0 },
	{ "hello element length 2", "hello_switch", D_HELLO, 0, { 11, -1, -1 }, { 2 }, "hello: bad element", 0 },
	{ "hello bitmap 3 bytes", "hello_switch", D_HELLO, 0, { 3, 11, -1 }, { 15, 7 }, "hello: version bitmap", 0 },
	{ "features cut", "features_reply", D_FEATURES, 0, { 3, -1, -1 }, { 24 }, "features_reply: truncated", 0 },
};
#undef NOP

ParameterizedTestParameters(ofp, malformed)
{
	return cr_make_param_array(struct malformed, malformed, sizeof(malformed) / sizeof(malformed[0]));
}

ParameterizedTest(struct malformed *m, ofp, malformed)
{
	struct capture cap;
	const char *why = NULL;
	size_t size;
	uint8_t *msg;
	int i, rc;

	load(m->capture, &cap);
	size = m->cut > 0 ? (size_t)m->cut : cap.size;
	for (i = 0; i < 3; i++)
		if (m->ofs[i] >= 0)
			cap.bytes[m->ofs[i]] = m->val[i];
	msg = exact_copy(cap.bytes, size);
	rc = decode_with(m->dec, msg, size, &why);
	free(msg);
	cr_assert_eq(rc, m->err ? m->err : -EBADMSG, "%s: got %d (%s)", m->desc, rc, why ? why : "no reason");
	cr_assert_not_null(why, "%s: no reason", m->desc);
	cr_assert_eq(strncmp(why, m->why, strlen(m->why)), 0, "%s: reason '%s', want '%s...'",
		     m->desc, why, m->why);
}

/* Every capture, cut at every length (its header length then fixed to the cut, or left
 * pointing past it), through the decoder of its type: never a crash or an out-of-bounds
 * read (run under ASan or valgrind), only 0 or a negative errno. */
static const char *const all_captures[] = {
	"flow_add_simple", "flow_add_tcp", "flow_add_udp_goto", "flow_add_arp_ctrl",
	"flow_add_ipsrc_mask", "flow_add_drop", "flow_add_eth_both", "flow_add_arp_all",
	"flow_modify", "flow_delete_cookie", "group_add_select", "group_add_all", "group_modify",
	"group_delete_all", "packet_out", "mp_port_stats_req", "hello_switch", "features_reply",
	"mp_port_desc_reply", "port_status_add", "mp_port_stats_reply", "mp_group_stats_reply",
	"packet_in", "error_bad_prereq",
};

static enum dec decoder_for(const uint8_t *msg)
{
	switch (msg[1]) {
	case OFPT_FLOW_MOD: return D_FLOW;
	case OFPT_GROUP_MOD: return D_GROUP;
	case OFPT_PORT_STATUS: return D_PORT_STATUS;
	case OFPT_PACKET_IN: return D_PACKET_IN;
	case OFPT_PACKET_OUT: return D_PACKET_OUT;
	case OFPT_ERROR: return D_ERROR;
	case OFPT_HELLO: return D_HELLO;
	case OFPT_FEATURES_REPLY: return D_FEATURES;
	case OFPT_MULTIPART_REPLY:
		return msg[9] == OFPMP_PORT_STATS ? D_PORT_STATS :
		       msg[9] == OFPMP_PORT_DESC ? D_PORT_DESC : D_GROUP_STATS;
	default: return D_HEADER;
	}
}

Test(ofp, truncation_sweep)
{
	struct capture cap;
	size_t i, cut;
	uint8_t *msg;
	enum dec d;
	int rc;

	for (i = 0; i < sizeof(all_captures) / sizeof(all_captures[0]); i++) {
		load(all_captures[i], &cap);
		d = decoder_for(cap.bytes);
		cr_assert_eq(decode_with(d, cap.bytes, cap.size, NULL), 0, "%s", all_captures[i]);
		for (cut = 0; cut < cap.size; cut++) {
			msg = exact_copy(cap.bytes, cut);
			rc = decode_with(d, msg, cut, NULL);	/* length past the end */
			cr_assert_lt(rc, 0, "%s cut at %zu", all_captures[i], cut);
			if (cut >= 4) {
				msg[2] = cut >> 8;
				msg[3] = cut;
				rc = decode_with(d, msg, cut, NULL);
				cr_assert_leq(rc, 0);
			}
			free(msg);
		}
	}
}

/* Deterministic random byte changes in every capture: decoders return 0 or a negative
 * errno, and what decodes as a flow or group mod encodes again. */
Test(ofp, mutation_sweep)
{
	struct ofp_buf b = OFP_BUF_INIT;
	struct ofp_flow_mod fm;
	struct capture cap;
	uint32_t seed = 12345;
	size_t i, round;
	uint8_t *msg;
	int rc, k;

	for (i = 0; i < sizeof(all_captures) / sizeof(all_captures[0]); i++) {
		load(all_captures[i], &cap);
		for (round = 0; round < 400; round++) {
			msg = exact_copy(cap.bytes, cap.size);
			for (k = 0; k < 3; k++) {
				seed = seed * 1103515245 + 12345;
				msg[8 + (seed >> 8) % (cap.size - 8)] = seed >> 24;
			}
			rc = decode_with(decoder_for(cap.bytes), msg, cap.size, NULL);
			cr_assert_leq(rc, 0);
			if (msg[1] == OFPT_FLOW_MOD && ofp_flow_mod_decode(msg, cap.size, &fm, NULL) == 0) {
				ofp_buf_reset(&b);
				cr_assert_eq(ofp_flow_mod_encode(&b, 1, &fm), 0);
			}
			free(msg);
		}
	}
	ofp_buf_uninit(&b);
}
