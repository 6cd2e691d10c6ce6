/* Tests of the OpenFlow controller connection (orchestrator/ofconn.c): against a real
 * ovs-vswitchd started by the harness in a private network namespace, and against a
 * scripted fake switch for framing and version negotiation. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "nf/clock.h"
#include "orchestrator/ofconn.h"
#include "orchestrator/ofp_mod.h"
#include "orchestrator/ofp_mp.h"
#include "orchestrator/ofp_msg.h"
#include "orchestrator/ofp_names.h"
#include "orchestrator/ofp_proto.h"
#include "tests/harness/ovs.h"

#define WAIT_MS 10000
#define MAX_EVENTS 64

/* What the callbacks saw. */
struct events {
	unsigned n_connected, n_disconnected;
	int last_reason;
	unsigned n_port_status;
	struct ofp_port_status port_status[MAX_EVENTS];
	unsigned n_errors;
	struct ofp_error errors[MAX_EVENTS];	/* 'data' not kept */
	char error_text[MAX_EVENTS][160];
	unsigned n_messages;
	unsigned n_packet_in;
};

/* One barrier's completion. */
struct barrier {
	bool done;
	int status;
	unsigned n_errors;
};

/* A request's replies, decoded as they come. */
struct reply {
	bool done;
	int status;
	unsigned n_parts;
	uint16_t mp_type;
	struct ofp_port_desc_reply ports;
	struct ofp_port_stats_reply stats;
	struct ofp_group_stats_reply groups;
	struct ofp_error error;
};

static struct ovs ovs;
static struct ofconn *conn;
static struct events ev;
static char br[16];		/* this test's bridge */

/* ---- Callbacks ---- */

static void on_connected(struct ofconn *c, void *arg)
{
	(void)c;
	((struct events *)arg)->n_connected++;
}

static void on_disconnected(struct ofconn *c, void *arg, int reason)
{
	struct events *e = arg;

	(void)c;
	e->n_disconnected++;
	e->last_reason = reason;
}

static void on_port_status(struct ofconn *c, void *arg, const struct ofp_port_status *ps)
{
	struct events *e = arg;

	(void)c;
	if (e->n_port_status < MAX_EVENTS)
		e->port_status[e->n_port_status] = *ps;
	e->n_port_status++;
}

static void on_error(struct ofconn *c, void *arg, const struct ofp_error *err)
{
	struct events *e = arg;

	(void)c;
	if (e->n_errors < MAX_EVENTS) {
		e->errors[e->n_errors] = *err;
		e->errors[e->n_errors].data = NULL;
		ofp_error_format(err, e->error_text[e->n_errors], sizeof(e->error_text[0]));
	}
	e->n_errors++;
}

static void on_packet_in(struct ofconn *c, void *arg, const struct ofp_packet_in *pin)
{
	(void)c, (void)pin;
	((struct events *)arg)->n_packet_in++;
}

static void on_message(struct ofconn *c, void *arg, const uint8_t *msg, size_t size)
{
	(void)c, (void)msg, (void)size;
	((struct events *)arg)->n_messages++;
}

static const struct ofconn_cbs cbs = {
	.connected = on_connected,
	.disconnected = on_disconnected,
	.port_status = on_port_status,
	.error = on_error,
	.packet_in = on_packet_in,
	.message = on_message,
};

static void on_barrier(struct ofconn *c, void *arg, int status, unsigned n_errors)
{
	struct barrier *b = arg;

	(void)c;
	b->done = true;
	b->status = status;
	b->n_errors = n_errors;
}

static void on_reply(struct ofconn *c, void *arg, int status, const uint8_t *msg, size_t size)
{
	struct reply *r = arg;
	bool more = false;

	(void)c;
	r->status = status;
	if (status == -EPROTO) {
		cr_assert_eq(ofp_error_decode(msg, size, &r->error, NULL), 0);
		r->done = true;
		return;
	}
	if (status < 0) {
		r->done = true;
		return;
	}
	r->n_parts++;
	cr_assert_eq(ofp_mp_decode_header(msg, size, OFPT_MULTIPART_REPLY, &r->mp_type, &more, NULL), 0);
	if (r->mp_type == OFPMP_PORT_DESC)
		cr_assert_eq(ofp_port_desc_reply_decode(msg, size, &r->ports, NULL), 0);
	else if (r->mp_type == OFPMP_PORT_STATS)
		cr_assert_eq(ofp_port_stats_reply_decode(msg, size, &r->stats, NULL), 0);
	else if (r->mp_type == OFPMP_GROUP)
		cr_assert_eq(ofp_group_stats_reply_decode(msg, size, &r->groups, NULL), 0);
	r->done = !more;
}

static void reply_uninit(struct reply *r)
{
	ofp_port_desc_reply_uninit(&r->ports);
	ofp_port_stats_reply_uninit(&r->stats);
	ofp_group_stats_reply_uninit(&r->groups);
}

/* ---- Helpers ---- */

/* Run the connection until '*flag' is true (or 'count' reaches 'want'), at most 'ms'. */
static bool run_until_flag(const bool *flag, int ms)
{
	uint64_t end = nf_now_us() + ms * 1000ull;

	while (!*flag && nf_now_us() < end)
		ofconn_poll(conn, 20);
	return *flag;
}

static bool run_until_count(const unsigned *count, unsigned want, int ms)
{
	uint64_t end = nf_now_us() + ms * 1000ull;

	while (*count < want && nf_now_us() < end)
		ofconn_poll(conn, 20);
	return *count >= want;
}

/* Run for 'ms' whatever happens. */
static void run_for(int ms)
{
	uint64_t end = nf_now_us() + ms * 1000ull;

	while (nf_now_us() < end)
		ofconn_poll(conn, 20);
}

/* Send a barrier and wait for its completion. */
static struct barrier barrier_sync(void)
{
	struct barrier b = { 0 };

	cr_assert_eq(ofconn_send_barrier(conn, on_barrier, &b, NULL), 0);
	cr_assert(run_until_flag(&b.done, WAIT_MS), "no BARRIER_REPLY");
	return b;
}

/* Send 'msg' and free it. */
static void send_buf(struct ofp_buf *b, uint32_t *xid)
{
	cr_assert_eq(b->err, 0);
	cr_assert_eq(ofconn_send(conn, b, xid), 0);
	ofp_buf_uninit(b);
}

/* Send a request and wait until its reply is complete. */
static void request_sync(struct ofp_buf *b, struct reply *r)
{
	memset(r, 0, sizeof(*r));
	cr_assert_eq(ofconn_request(conn, b, on_reply, r, NULL), 0);
	ofp_buf_uninit(b);
	cr_assert(run_until_flag(&r->done, WAIT_MS), "no complete reply");
}

static void port_desc_sync(struct reply *r)
{
	struct ofp_buf b = OFP_BUF_INIT;

	cr_assert_eq(ofp_port_desc_request_encode(&b, 0), 0);
	request_sync(&b, r);
	cr_assert_eq(r->status, 0);
}

/* ovs_vsctl that must succeed. */
#define VSCTL(...) cr_assert_eq(ovs_vsctl(&ovs, __VA_ARGS__), 0, "ovs-vsctl: %s", ovs.out)
#define OFCTL(...) cr_assert_eq(ovs_ofctl(&ovs, __VA_ARGS__), 0, "ovs-ofctl: %s", ovs.out)

/* `ovs-vsctl get interface NAME ofport` */
static unsigned ofport_of(const char *name)
{
	VSCTL("get interface %s ofport", name);
	return strtoul(ovs.out, NULL, 10);
}

/* The bridge's port names: BR + 'suffix' (still under IFNAMSIZ). */
static void port_name(char out[16], char suffix)
{
	snprintf(out, 16, "%.12s%c", br, suffix);
}

static unsigned count_substr(const char *s, const char *sub)
{
	unsigned n = 0;

	while ((s = strstr(s, sub)) != NULL) {
		n++;
		s += strlen(sub);
	}
	return n;
}

/* ---- Fixture: a private OVS, a bridge, and our listener as its controller ---- */

static void listen_and_point_bridge(void)
{
	conn = ofconn_listen("127.0.0.1", 0, &cbs, &ev);
	cr_assert_not_null(conn);
	cr_assert_eq(ovs_set_controller(&ovs, br, ofconn_local_port(conn)), 0, "%s", ovs.out);
	cr_assert(run_until_count(&ev.n_connected, 1, WAIT_MS), "the bridge did not connect");
}

static void ovs_up(void)
{
	memset(&ev, 0, sizeof(ev));
	cr_assert_eq(ovs_private_netns(), 0, "cannot make a network namespace (not root?)");
	cr_assert_eq(ovs_start(&ovs), 0, "cannot start ovsdb-server/ovs-vswitchd");
	snprintf(br, sizeof(br), "ofc%d", (int)(getpid() % 100000));
	cr_assert_eq(ovs_add_bridge(&ovs, br), 0, "add-br: %s", ovs.out);
}

static void setup(void)
{
	ovs_up();
	listen_and_point_bridge();
}

static void teardown(void)
{
	ofconn_destroy(conn);
	conn = NULL;
	ovs_stop(&ovs);
}

TestSuite(ofconn, .init = setup, .fini = teardown, .timeout = 60);

/* ---- Against ovs-vswitchd ---- */

Test(ofconn, handshake_datapath_id)
{
	uint64_t dpid;

	cr_assert(ofconn_is_ready(conn));
	cr_assert_eq(ofconn_generation(conn), 1);
	VSCTL("get bridge %s datapath_id", br);
	dpid = strtoull(ovs.out + (ovs.out[0] == '"'), NULL, 16);
	cr_assert_neq(dpid, 0);
	cr_assert_eq(ofconn_features(conn)->datapath_id, dpid, "features %016" PRIx64 ", vsctl %s",
		     ofconn_features(conn)->datapath_id, ovs.out);
	cr_assert_eq(ofconn_features(conn)->n_tables, 254);
	cr_assert(ofconn_features(conn)->capabilities & OFPC_GROUP_STATS);
}

Test(ofconn, flow_mod_barrier_dump_flows)
{
	struct ofp_buf b = OFP_BUF_INIT;
	struct ofp_flow_mod fm;
	struct barrier done;

	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.cookie = 0x5eed0001;
	fm.priority = 123;
	fm.table_id = 0;
	ofp_match_set_uint(&fm.match, OFP_MF_ETH_TYPE, 0x0800);
	ofp_match_set_uint(&fm.match, OFP_MF_IP_PROTO, 6);
	ofp_match_set_uint_masked(&fm.match, OFP_MF_IPV4_DST, 0x0a000000, 0xffffff00);
	ofp_match_set_uint(&fm.match, OFP_MF_TCP_DST, 443);
	ofp_actions_set_uint(&fm.instructions.apply, OFP_MF_IPV4_DST, 0x0a010203);
	ofp_actions_output(&fm.instructions.apply, OFPP_LOCAL);
	cr_assert_eq(ofp_flow_mod_encode(&b, 0, &fm), 0);
	send_buf(&b, NULL);
	done = barrier_sync();
	cr_assert_eq(done.status, 0);
	cr_assert_eq(done.n_errors, 0, "%s", ev.error_text[0]);
	OFCTL("dump-flows %s", br);
	cr_assert_not_null(strstr(ovs.out, "cookie=0x5eed0001"), "%s", ovs.out);
	cr_assert_not_null(strstr(ovs.out, "priority=123,tcp,nw_dst=10.0.0.0/24,tp_dst=443 "
					   "actions=set_field:10.1.2.3->ip_dst,LOCAL"), "%s", ovs.out);

	/* Delete by cookie (all tables), confirmed by a barrier. */
	ofp_flow_mod_init(&fm, OFPFC_DELETE);
	fm.table_id = OFPTT_ALL;
	fm.cookie = 0x5eed0001;
	fm.cookie_mask = UINT64_MAX;
	cr_assert_eq(ofp_flow_mod_encode(&b, 0, &fm), 0);
	send_buf(&b, NULL);
	cr_assert_eq(barrier_sync().status, 0);
	OFCTL("dump-flows %s", br);
	cr_assert_null(strstr(ovs.out, "cookie=0x5eed0001"), "%s", ovs.out);
}

/* The orchestrator's steering: a select group of 64 slot buckets, outputs rewritten. */
Test(ofconn, select_group_64_slots)
{
	struct ofp_bucket buckets[64];
	struct ofp_group_mod gm = { OFPGC_ADD, OFPGT_SELECT, 1, 64, buckets };
	struct ofp_buf b = OFP_BUF_INIT;
	struct ofp_flow_mod fm;
	struct reply r;
	char p1[16], p2[16];
	unsigned i;

	port_name(p1, 'a');
	port_name(p2, 'b');
	cr_assert_eq(ovs_add_internal_port(&ovs, br, p1, 1), 0, "%s", ovs.out);
	cr_assert_eq(ovs_add_internal_port(&ovs, br, p2, 2), 0, "%s", ovs.out);
	for (i = 0; i < 64; i++) {
		ofp_bucket_init(&buckets[i]);
		buckets[i].weight = 1;
		ofp_actions_output(&buckets[i].actions, 1 + i % 2);
	}
	cr_assert_eq(ofp_group_mod_encode(&b, 0, &gm), 0);
	send_buf(&b, NULL);
	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.priority = 10;
	ofp_match_set_uint(&fm.match, OFP_MF_IN_PORT, OFPP_LOCAL);
	ofp_actions_group(&fm.instructions.apply, 1);
	cr_assert_eq(ofp_flow_mod_encode(&b, 0, &fm), 0);
	send_buf(&b, NULL);
	cr_assert_eq(barrier_sync().n_errors, 0, "%s", ev.error_text[0]);
	OFCTL("dump-groups %s", br);
	cr_assert_not_null(strstr(ovs.out, "group_id=1,type=select"), "%s", ovs.out);
	cr_assert_eq(count_substr(ovs.out, "bucket="), 64, "%s", ovs.out);
	cr_assert_eq(count_substr(ovs.out, "actions=output:1"), 32);

	/* Move every slot to port 2: a MODIFY with the whole bucket list. */
	for (i = 0; i < 64; i++)
		buckets[i].actions.a[0].output.port = 2;
	gm.command = OFPGC_MODIFY;
	cr_assert_eq(ofp_group_mod_encode(&b, 0, &gm), 0);
	send_buf(&b, NULL);
	cr_assert_eq(barrier_sync().n_errors, 0, "%s", ev.error_text[0]);
	OFCTL("dump-groups %s", br);
	cr_assert_eq(count_substr(ovs.out, "actions=output:2"), 64, "%s", ovs.out);

	/* Group stats: one group, 64 bucket counters, referenced by one flow. */
	cr_assert_eq(ofp_group_stats_request_encode(&b, 0, OFPG_ALL), 0);
	request_sync(&b, &r);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.groups.n, 1);
	cr_assert_eq(r.groups.groups[0].group_id, 1);
	cr_assert_eq(r.groups.groups[0].n_buckets, 64);
	cr_assert_eq(r.groups.groups[0].ref_count, 1);
	reply_uninit(&r);
}

Test(ofconn, port_desc_maps_names_to_numbers)
{
	char p1[16], p2[16];
	const struct ofp_port *p;
	struct reply r;

	port_name(p1, 'a');
	port_name(p2, 'b');
	cr_assert_eq(ovs_add_internal_port(&ovs, br, p1, 0), 0, "%s", ovs.out);
	cr_assert_eq(ovs_add_internal_port(&ovs, br, p2, 7), 0, "%s", ovs.out);
	port_desc_sync(&r);
	cr_assert_eq(r.mp_type, OFPMP_PORT_DESC);
	cr_assert_eq(r.ports.n, 3);
	p = ofp_port_desc_find(&r.ports, br);
	cr_assert_not_null(p);
	cr_assert_eq(p->port_no, OFPP_LOCAL);
	p = ofp_port_desc_find(&r.ports, p1);
	cr_assert_not_null(p);
	cr_assert_eq(p->port_no, ofport_of(p1));
	p = ofp_port_desc_find(&r.ports, p2);
	cr_assert_not_null(p);
	cr_assert_eq(p->port_no, 7);
	reply_uninit(&r);
}

static const struct ofp_port_status *find_port_status(uint8_t reason, const char *name)
{
	unsigned i;

	for (i = 0; i < ev.n_port_status && i < MAX_EVENTS; i++)
		if (ev.port_status[i].reason == reason && strcmp(ev.port_status[i].port.name, name) == 0)
			return &ev.port_status[i];
	return NULL;
}

Test(ofconn, port_status_add_delete)
{
	const struct ofp_port_status *ps;
	char p1[16];

	port_name(p1, 'a');
	cr_assert_eq(ovs_add_internal_port(&ovs, br, p1, 5), 0, "%s", ovs.out);
	cr_assert(run_until_count(&ev.n_port_status, 1, WAIT_MS));
	ps = find_port_status(OFPPR_ADD, p1);
	cr_assert_not_null(ps);
	cr_assert_eq(ps->port.port_no, 5);
	VSCTL("del-port %s %s", br, p1);
	run_until_count(&ev.n_port_status, ev.n_port_status + 1, WAIT_MS);
	ps = find_port_status(OFPPR_DELETE, p1);
	cr_assert_not_null(ps, "%u port status messages, no DELETE", ev.n_port_status);
	cr_assert_eq(ps->port.port_no, 5);
}

/* Run until a PORT_STATUS says the link of 'name' is up. */
static bool run_until_link_up(const char *name)
{
	uint64_t end = nf_now_us() + WAIT_MS * 1000ull;
	unsigned i;

	while (nf_now_us() < end) {
		for (i = 0; i < ev.n_port_status && i < MAX_EVENTS; i++)
			if (strcmp(ev.port_status[i].port.name, name) == 0 &&
			    ev.port_status[i].reason == OFPPR_MODIFY &&
			    !(ev.port_status[i].port.state & OFPPS_LINK_DOWN))
				return true;
		ofconn_poll(conn, 20);
	}
	return false;
}

/* Port stats, after packets sent out of a port with PACKET_OUT. */
Test(ofconn, port_stats_count_packet_outs)
{
	static const uint8_t frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06 };
	struct ofp_packet_out po = { .buffer_id = OFP_NO_BUFFER, .in_port = OFPP_CONTROLLER,
				     .data = frame, .data_size = sizeof(frame) };
	struct ofp_buf b = OFP_BUF_INIT;
	const struct ofp_port_stats *s = NULL;
	struct reply r;
	char p1[16], cmd[64];
	size_t i;

	port_name(p1, 'a');
	cr_assert_eq(ovs_add_internal_port(&ovs, br, p1, 1), 0, "%s", ovs.out);
	snprintf(cmd, sizeof(cmd), "ip link set %s up", p1);
	cr_assert_eq(system(cmd), 0);
	/* OVS tells of the link coming up (until then it would drop what goes out there). */
	cr_assert(run_until_link_up(p1), "no PORT_STATUS with the link up");
	ofp_actions_output(&po.actions, 1);
	for (i = 0; i < 5; i++) {
		cr_assert_eq(ofp_packet_out_encode(&b, 0, &po), 0);
		send_buf(&b, NULL);
	}
	cr_assert_eq(barrier_sync().n_errors, 0, "%s", ev.error_text[0]);
	cr_assert_eq(ofp_port_stats_request_encode(&b, 0, OFPP_ANY), 0);
	request_sync(&b, &r);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.stats.n, 2);	/* LOCAL and port 1 */
	for (i = 0; i < r.stats.n; i++)
		if (r.stats.stats[i].port_no == 1)
			s = &r.stats.stats[i];
	cr_assert_not_null(s);
	cr_assert_eq(s->tx_packets + s->tx_dropped, 5, "tx_packets %" PRIu64 " tx_dropped %" PRIu64,
		     s->tx_packets, s->tx_dropped);
	cr_assert_eq(s->tx_bytes, s->tx_packets * sizeof(frame));
	reply_uninit(&r);
}

/* A PACKET_OUT through the table to a flow that sends it back: a PACKET_IN. */
Test(ofconn, packet_out_to_table_comes_back_as_packet_in)
{
	static const uint8_t frame[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06,
					   0, 1, 8, 0, 6, 4, 0, 1 };
	struct ofp_packet_out po = { .buffer_id = OFP_NO_BUFFER, .in_port = OFPP_CONTROLLER,
				     .data = frame, .data_size = sizeof(frame) };
	struct ofp_buf b = OFP_BUF_INIT;
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_ADD);
	ofp_match_set_uint(&fm.match, OFP_MF_ETH_TYPE, 0x0806);
	ofp_actions_output(&fm.instructions.apply, OFPP_CONTROLLER);
	cr_assert_eq(ofp_flow_mod_encode(&b, 0, &fm), 0);
	send_buf(&b, NULL);
	ofp_actions_output(&po.actions, OFPP_TABLE);
	cr_assert_eq(ofp_packet_out_encode(&b, 0, &po), 0);
	send_buf(&b, NULL);
	cr_assert(run_until_count(&ev.n_packet_in, 1, WAIT_MS));
}

/* A FLOW_MOD OVS rejects: the error is decoded into a readable line, and the barrier
 * that follows counts it. */
Test(ofconn, invalid_flow_mod_error)
{
	struct ofp_buf b = OFP_BUF_INIT;
	struct ofp_flow_mod fm;
	struct barrier done;
	uint32_t xid;
	char want[128];

	ofp_flow_mod_init(&fm, OFPFC_ADD);
	ofp_match_set_uint(&fm.match, OFP_MF_TCP_DST, 80);	/* no eth_type, no ip_proto */
	cr_assert_eq(ofp_flow_mod_encode(&b, 0, &fm), 0);
	send_buf(&b, &xid);
	done = barrier_sync();
	cr_assert_eq(done.status, 0);
	cr_assert_eq(done.n_errors, 1);
	cr_assert_eq(ev.n_errors, 1);
	cr_assert_eq(ev.errors[0].xid, xid);
	cr_assert_eq(ev.errors[0].type, OFPET_BAD_MATCH);
	snprintf(want, sizeof(want), "OFPET_BAD_MATCH/OFPBMC_BAD_PREREQ for OFPT_FLOW_MOD xid 0x%x", xid);
	cr_assert_str_eq(ev.error_text[0], want);
	/* The next barrier starts from zero. */
	cr_assert_eq(barrier_sync().n_errors, 0);
}

Test(ofconn, group_exists_error)
{
	struct ofp_bucket bucket;
	struct ofp_group_mod gm = { OFPGC_ADD, OFPGT_ALL, 3, 1, &bucket };
	struct ofp_buf b = OFP_BUF_INIT;

	ofp_bucket_init(&bucket);
	ofp_actions_output(&bucket.actions, OFPP_LOCAL);
	cr_assert_eq(ofp_group_mod_encode(&b, 0, &gm), 0);
	send_buf(&b, NULL);
	cr_assert_eq(ofp_group_mod_encode(&b, 0, &gm), 0);
	send_buf(&b, NULL);
	cr_assert_eq(barrier_sync().n_errors, 1);
	cr_assert_eq(ev.errors[0].type, OFPET_GROUP_MOD_FAILED);
	cr_assert_str_eq(ofp_error_code_name(ev.errors[0].type, ev.errors[0].code),
			 "OFPGMFC_GROUP_EXISTS");
}

/* An error answering an ofconn_request() goes to its callback, not cbs->error. */
Test(ofconn, request_error_goes_to_its_callback)
{
	struct ofp_buf b = OFP_BUF_INIT;
	struct ofp_flow_mod fm;
	struct reply r;

	ofp_flow_mod_init(&fm, OFPFC_ADD);
	ofp_match_set_uint(&fm.match, OFP_MF_IP_PROTO, 6);
	cr_assert_eq(ofp_flow_mod_encode(&b, 0, &fm), 0);
	request_sync(&b, &r);
	cr_assert_eq(r.status, -EPROTO);
	cr_assert_eq(r.error.type, OFPET_BAD_MATCH);
	cr_assert_eq(ev.n_errors, 0);
}

/* del-controller / set-controller: the owner hears of the loss, then of the reconnection,
 * and OVS has flushed the flows (removing the last controller does). */
Test(ofconn, controller_removed_and_set_again)
{
	struct barrier pending = { 0 };
	struct ofp_buf b = OFP_BUF_INIT;
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.cookie = 0xbeef;
	cr_assert_eq(ofp_flow_mod_encode(&b, 0, &fm), 0);
	send_buf(&b, NULL);
	cr_assert_eq(barrier_sync().n_errors, 0);
	VSCTL("del-controller %s", br);
	ofconn_send_barrier(conn, on_barrier, &pending, NULL);	/* may or may not be answered */
	cr_assert(run_until_count(&ev.n_disconnected, 1, WAIT_MS), "no disconnect");
	cr_assert_not(ofconn_is_ready(conn));
	cr_assert(pending.done, "a pending barrier was neither answered nor failed");
	cr_assert_eq(ev.last_reason, -ECONNRESET);
	cr_assert_eq(ofconn_send_barrier(conn, NULL, NULL, NULL), -ENOTCONN);
	cr_assert_eq(ovs_set_controller(&ovs, br, ofconn_local_port(conn)), 0, "%s", ovs.out);
	cr_assert(run_until_count(&ev.n_connected, 2, WAIT_MS), "no reconnection");
	cr_assert_eq(ofconn_generation(conn), 2);
	cr_assert_eq(barrier_sync().status, 0);
	OFCTL("dump-flows %s", br);
	cr_assert_null(strstr(ovs.out, "cookie=0xbeef"), "%s", ovs.out);
}

/* ovs-vswitchd crashes and restarts: disconnect, reconnection, and the flows are gone
 * (the reason the owner re-syncs on every connection). */
Test(ofconn, vswitchd_killed_and_restarted)
{
	struct ofp_buf b = OFP_BUF_INIT;
	struct ofp_flow_mod fm;

	ofp_flow_mod_init(&fm, OFPFC_ADD);
	fm.cookie = 0xdead;
	cr_assert_eq(ofp_flow_mod_encode(&b, 0, &fm), 0);
	send_buf(&b, NULL);
	cr_assert_eq(barrier_sync().n_errors, 0);
	cr_assert_eq(ovs_kill_vswitchd(&ovs), 0);
	cr_assert(run_until_count(&ev.n_disconnected, 1, WAIT_MS), "no disconnect");
	cr_assert_eq(ev.last_reason, -ECONNRESET);
	cr_assert_eq(ovs_start_vswitchd(&ovs), 0);
	cr_assert(run_until_count(&ev.n_connected, 2, 20000), "no reconnection");
	OFCTL("dump-flows %s", br);
	cr_assert_null(strstr(ovs.out, "cookie=0xdead"), "%s", ovs.out);
}

/* A hung switch (SIGSTOP): our echo keepalive declares it dead; after SIGCONT it comes back. */
Test(ofconn, keepalive_detects_hung_switch)
{
	struct barrier pending = { 0 };
	uint64_t t0;

	ofconn_set_keepalive(conn, 200, 2);
	run_for(600);	/* echoes answered: still connected */
	cr_assert(ofconn_is_ready(conn));
	cr_assert_eq(ovs_pause_vswitchd(&ovs, true), 0);
	t0 = nf_now_us();
	cr_assert_eq(ofconn_send_barrier(conn, on_barrier, &pending, NULL), 0);
	cr_assert(run_until_count(&ev.n_disconnected, 1, WAIT_MS), "hung switch not detected");
	cr_assert_eq(ev.last_reason, -ETIMEDOUT);
	cr_assert_lt(nf_now_us() - t0, 3000000, "took %" PRIu64 " us", nf_now_us() - t0);
	cr_assert(pending.done);
	cr_assert_eq(pending.status, -ETIMEDOUT);
	cr_assert_eq(ovs_pause_vswitchd(&ovs, false), 0);
	ofconn_set_keepalive(conn, 5000, 3);
	cr_assert(run_until_count(&ev.n_connected, 2, 20000), "no reconnection");
}

/* OVS probes an idle controller with its own ECHO_REQUESTs: we answer them. */
Test(ofconn, answers_switch_echo)
{
	VSCTL("set controller %s inactivity_probe=1000", br);
	ofconn_set_keepalive(conn, 60000, 3);	/* we stay quiet */
	run_for(3500);
	cr_assert(ofconn_is_ready(conn));
	cr_assert_eq(ev.n_disconnected, 0);
	cr_assert_eq(ev.n_connected, 1);
}

/* Active mode: OVS listens (ptcp:), we connect. */
static uint16_t free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

Test(ofconn_active, connect_to_ptcp, .init = ovs_up, .fini = teardown, .timeout = 60)
{
	uint16_t port = free_port();

	VSCTL("set-controller %s ptcp:%u:127.0.0.1", br, port);
	conn = ofconn_connect("127.0.0.1", port, &cbs, &ev);
	cr_assert_not_null(conn);
	cr_assert(run_until_count(&ev.n_connected, 1, WAIT_MS), "no connection");
	cr_assert_eq(barrier_sync().status, 0);
	cr_assert_eq(ovs_kill_vswitchd(&ovs), 0);
	cr_assert(run_until_count(&ev.n_disconnected, 1, WAIT_MS));
	cr_assert_eq(ovs_start_vswitchd(&ovs), 0);
	cr_assert(run_until_count(&ev.n_connected, 2, 20000), "no reconnection");
}

/* ---- Against a scripted fake switch: framing and negotiation ---- */

static int fake;	/* the fake switch's socket */

static void fake_setup(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	memset(&ev, 0, sizeof(ev));
	conn = ofconn_listen("127.0.0.1", 0, &cbs, &ev);
	cr_assert_not_null(conn);
	sa.sin_port = htons(ofconn_local_port(conn));
	fake = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(fake, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

static void fake_teardown(void)
{
	ofconn_destroy(conn);
	conn = NULL;
	if (fake >= 0)
		close(fake);
}

/* Write 'size' bytes in pieces of 'chunk', letting the connection run between them. */
static void fake_write(const void *p, size_t size, size_t chunk)
{
	const uint8_t *q = p;
	size_t n;

	while (size) {
		n = size < chunk ? size : chunk;
		cr_assert_eq(write(fake, q, n), (ssize_t)n);
		q += n;
		size -= n;
		ofconn_poll(conn, 5);
	}
}

/* Read one whole message from the connection (running it meanwhile). */
static size_t fake_read(uint8_t *buf, size_t cap)
{
	uint64_t end = nf_now_us() + WAIT_MS * 1000ull;
	size_t got = 0;
	int len = 0;
	ssize_t n;

	while (nf_now_us() < end) {
		ofconn_poll(conn, 5);
		if (poll(&(struct pollfd){ .fd = fake, .events = POLLIN }, 1, 5) <= 0)
			continue;
		n = read(fake, buf + got, (len ? (size_t)len : 8) - got);
		cr_assert_gt(n, 0, "connection closed");
		got += n;
		if (!len && got == 8)
			len = ofp_msg_length(buf, 8);
		cr_assert_leq((size_t)len, cap);
		if (len && got == (size_t)len)
			return got;
	}
	cr_assert_fail("no message from the controller");
	return 0;
}

static void fake_handshake(size_t chunk)
{
	uint8_t buf[512];
	struct ofp_buf b = OFP_BUF_INIT;
	struct ofp_header h;
	size_t n;

	n = fake_read(buf, sizeof(buf));
	cr_assert_eq(buf[1], OFPT_HELLO);
	cr_assert_eq(ofp_hello_encode(&b, 1, (1u << 1) | (1u << 4) | (1u << 6)), 0);
	fake_write(b.data, b.size, chunk);
	n = fake_read(buf, sizeof(buf));
	cr_assert_eq(ofp_header_decode(buf, n, &h, NULL), 0);
	cr_assert_eq(h.type, OFPT_FEATURES_REQUEST);
	cr_assert_eq(h.version, OFP13_VERSION);
	ofp_buf_reset(&b);
	ofp_msg_start(&b, OFPT_FEATURES_REPLY, h.xid);
	ofp_buf_put_u64(&b, 0x1122334455667788ull);
	ofp_buf_put_u32(&b, 0);
	ofp_buf_put_u8(&b, 9);
	ofp_buf_put_zeros(&b, 3);
	ofp_buf_put_u32(&b, OFPC_FLOW_STATS);
	ofp_buf_put_u32(&b, 0);
	cr_assert_eq(ofp_msg_finish(&b, 0), 0);
	fake_write(b.data, b.size, chunk);
	ofp_buf_uninit(&b);
	cr_assert(run_until_count(&ev.n_connected, 1, WAIT_MS));
	cr_assert_eq(ofconn_features(conn)->datapath_id, 0x1122334455667788ull);
	cr_assert_eq(ofconn_features(conn)->n_tables, 9);
}

Test(ofconn_framing, byte_by_byte_handshake, .init = fake_setup, .fini = fake_teardown, .timeout = 30)
{
	fake_handshake(1);
}

/* Several messages in one write, one message split across writes, a multipart reply in
 * three parts: every callback sees whole messages in order. */
Test(ofconn_framing, coalesced_and_split, .init = fake_setup, .fini = fake_teardown, .timeout = 30)
{
	struct ofp_buf b = OFP_BUF_INIT, burst = OFP_BUF_INIT;
	struct barrier bar = { 0 };
	struct reply r = { 0 };
	uint8_t buf[512];
	uint32_t req_xid, bar_xid;
	size_t n, i, part;

	fake_handshake(1000);
	cr_assert_eq(ofp_port_desc_request_encode(&b, 0), 0);
	cr_assert_eq(ofconn_request(conn, &b, on_reply, &r, &req_xid), 0);
	ofp_buf_reset(&b);
	cr_assert_eq(ofconn_send_barrier(conn, on_barrier, &bar, &bar_xid), 0);
	n = fake_read(buf, sizeof(buf));
	cr_assert_eq(ofp_msg_xid(buf), req_xid);
	n = fake_read(buf, sizeof(buf));
	cr_assert_eq(buf[1], OFPT_BARRIER_REQUEST);
	cr_assert_eq(ofp_msg_xid(buf), bar_xid);
	(void)n;

	/* The reply: 3 parts of 2 ports, MORE on the first two; an echo request and a
	 * port status in between; then the barrier reply, all in one burst. */
	for (part = 0; part < 3; part++) {
		size_t start = ofp_msg_start(&burst, OFPT_MULTIPART_REPLY, req_xid);

		ofp_buf_put_u16(&burst, OFPMP_PORT_DESC);
		ofp_buf_put_u16(&burst, part < 2 ? OFPMPF_MORE : 0);
		ofp_buf_put_zeros(&burst, 4);
		for (i = 0; i < 2; i++) {
			char name[16] = { 0 };

			snprintf(name, sizeof(name), "port%zu", part * 2 + i);
			ofp_buf_put_u32(&burst, part * 2 + i + 1);
			ofp_buf_put_zeros(&burst, 12);
			ofp_buf_put(&burst, name, 16);
			ofp_buf_put_zeros(&burst, 32);
		}
		cr_assert_eq(ofp_msg_finish(&burst, start), 0);
		if (part == 0)
			ofp_echo_encode(&burst, OFPT_ECHO_REQUEST, 0x77, "ping", 4);
		if (part == 1) {
			size_t ps = ofp_msg_start(&burst, OFPT_PORT_STATUS, 0);

			ofp_buf_put_u8(&burst, OFPPR_MODIFY);
			ofp_buf_put_zeros(&burst, 7);
			ofp_buf_put_u32(&burst, 3);
			ofp_buf_put_zeros(&burst, 12);
			ofp_buf_put(&burst, "port2\0\0\0\0\0\0\0\0\0\0\0", 16);
			ofp_buf_put_zeros(&burst, 32);
			cr_assert_eq(ofp_msg_finish(&burst, ps), 0);
		}
	}
	ofp_simple_encode(&burst, OFPT_BARRIER_REPLY, bar_xid);
	cr_assert_eq(burst.err, 0);
	fake_write(burst.data, 100, 100);	/* a partial first message */
	cr_assert_eq(r.n_parts, 0);
	fake_write(burst.data + 100, burst.size - 100, burst.size);
	cr_assert(run_until_flag(&bar.done, WAIT_MS));
	cr_assert(r.done);
	cr_assert_eq(r.n_parts, 3);
	cr_assert_eq(r.ports.n, 6);
	cr_assert_str_eq(r.ports.ports[5].name, "port5");
	cr_assert_eq(ev.n_port_status, 1);
	cr_assert_str_eq(ev.port_status[0].port.name, "port2");
	cr_assert_eq(bar.status, 0);
	/* The echo request was answered with its xid and data. */
	n = fake_read(buf, sizeof(buf));
	cr_assert_eq(buf[1], OFPT_ECHO_REPLY);
	cr_assert_eq(ofp_msg_xid(buf), 0x77);
	cr_assert_eq(n, 12);
	cr_assert_arr_eq(buf + 8, "ping", 4);
	reply_uninit(&r);
	ofp_buf_uninit(&b);
	ofp_buf_uninit(&burst);
}

/* A switch that speaks only OpenFlow 1.0 gets HELLO_FAILED and is dropped. */
Test(ofconn_framing, no_common_version, .init = fake_setup, .fini = fake_teardown, .timeout = 30)
{
	static const uint8_t hello10[] = { 1, 0, 0, 8, 0, 0, 0, 1 };
	struct ofp_error err;
	uint8_t buf[512];
	size_t n;

	n = fake_read(buf, sizeof(buf));
	cr_assert_eq(buf[1], OFPT_HELLO);
	fake_write(hello10, sizeof(hello10), sizeof(hello10));
	n = fake_read(buf, sizeof(buf));
	cr_assert_eq(ofp_error_decode(buf, n, &err, NULL), 0);
	cr_assert_eq(err.type, OFPET_HELLO_FAILED);
	cr_assert_eq(err.code, OFPHFC_INCOMPATIBLE);
	run_for(100);
	cr_assert_eq(read(fake, buf, sizeof(buf)), 0, "still connected");
	cr_assert_eq(ev.n_connected, 0);
	cr_assert_eq(ev.n_disconnected, 0);	/* it never was ready */
}

/* A header claiming fewer than 8 bytes ends the connection. */
Test(ofconn_framing, bad_length_drops, .init = fake_setup, .fini = fake_teardown, .timeout = 30)
{
	static const uint8_t bad[] = { 4, 2, 0, 4, 0, 0, 0, 9 };
	uint8_t buf[64];

	fake_handshake(64);
	fake_write(bad, sizeof(bad), sizeof(bad));
	cr_assert(run_until_count(&ev.n_disconnected, 1, WAIT_MS));
	cr_assert_eq(ev.last_reason, -EPROTO);
	cr_assert_eq(read(fake, buf, sizeof(buf)), 0);
}

/* A second connection replaces the first (a switch that reconnected). */
Test(ofconn_framing, new_connection_replaces_old, .init = fake_setup, .fini = fake_teardown, .timeout = 30)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int old;

	fake_handshake(64);
	old = fake;
	sa.sin_port = htons(ofconn_local_port(conn));
	fake = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(fake, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert(run_until_count(&ev.n_disconnected, 1, WAIT_MS));
	cr_assert_eq(ev.last_reason, -ECONNABORTED);
	ev.n_connected = 0;
	fake_handshake(64);
	cr_assert_eq(ofconn_generation(conn), 2);
	close(old);
}
