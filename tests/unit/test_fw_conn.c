/* The firewall's connection tracking state machine (fw_conn.c), without I/O: every TCP
 * transition, RSTs in and out of the window, FIN both ways, UDP and ICMP echo, keys. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "nfs/firewall/fw_conn.h"

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10

#define C 0	/* key side of the client (the originator) */
#define S 1	/* key side of the server */
#define CISN 1000u
#define SISN 5000u

static struct fw_seg seg(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t len)
{
	struct fw_seg s = { .proto = IPPROTO_TCP, .tcp_flags = flags, .seq = seq, .ack = ack,
			    .win = 1000, .wscale = 0xff };

	s.end = seq + len + !!(flags & SYN) + !!(flags & FIN);
	return s;
}

static void step_ok(struct fw_conn *c, struct fw_seg s, uint8_t side, uint8_t want_state)
{
	cr_assert_eq(fw_conn_step(c, &s, side), FW_STEP_ACCEPT, "flags 0x%02x from side %u in state %s",
		     s.tcp_flags, side, fw_state_name(c->state));
	cr_assert_eq(c->state, want_state, "state %s, expected %s", fw_state_name(c->state),
		     fw_state_name(want_state));
}

static void step_bad(struct fw_conn *c, struct fw_seg s, uint8_t side)
{
	struct fw_conn before = *c;

	cr_assert_eq(fw_conn_step(c, &s, side), FW_STEP_BAD, "flags 0x%02x from side %u in state %s "
		     "was accepted", s.tcp_flags, side, fw_state_name(before.state));
	cr_assert(memcmp(&before, c, sizeof(*c)) == 0, "a rejected segment changed the connection");
}

/* A connection driven to 'state' by a normal exchange (client 0 opens). */
static struct fw_conn conn_in(uint8_t state)
{
	struct fw_conn c;
	struct fw_seg s = seg(SYN, CISN, 0, 0);

	fw_conn_open(&c, &s, C);
	if (state == FW_ST_TCP_SYN_SENT)
		return c;
	step_ok(&c, seg(SYN | ACK, SISN, CISN + 1, 0), S, FW_ST_TCP_SYN_RECV);
	if (state == FW_ST_TCP_SYN_RECV)
		return c;
	step_ok(&c, seg(ACK, CISN + 1, SISN + 1, 0), C, FW_ST_TCP_ESTABLISHED);
	step_ok(&c, seg(ACK | PSH, CISN + 1, SISN + 1, 100), C, FW_ST_TCP_ESTABLISHED);
	step_ok(&c, seg(ACK | PSH, SISN + 1, CISN + 101, 200), S, FW_ST_TCP_ESTABLISHED);
	if (state == FW_ST_TCP_ESTABLISHED)
		return c;
	step_ok(&c, seg(FIN | ACK, CISN + 101, SISN + 201, 0), C, FW_ST_TCP_FIN_WAIT);
	if (state == FW_ST_TCP_FIN_WAIT)
		return c;
	step_ok(&c, seg(FIN | ACK, SISN + 201, CISN + 102, 0), S, FW_ST_TCP_CLOSING);
	if (state == FW_ST_TCP_CLOSING)
		return c;
	step_ok(&c, seg(RST, CISN + 102, 0, 0), C, FW_ST_TCP_CLOSED);
	return c;
}

Test(fw_conn, handshake_data_and_close_in_order)
{
	struct fw_conn c = conn_in(FW_ST_TCP_SYN_SENT);

	cr_assert_eq(c.orig, C);
	cr_assert_eq(ntohl(c.isn[FW_ORIG]), CISN);
	cr_assert_eq(ntohl(c.end[FW_ORIG]), CISN + 1);
	c = conn_in(FW_ST_TCP_ESTABLISHED);
	cr_assert_eq(ntohl(c.isn[FW_REPLY]), SISN);
	cr_assert_eq(ntohl(c.end[FW_ORIG]), CISN + 101, "next client sequence tracked");
	cr_assert_eq(ntohl(c.end[FW_REPLY]), SISN + 201, "next server sequence tracked");
	c = conn_in(FW_ST_TCP_FIN_WAIT);
	cr_assert_eq(c.flags & (FW_CF_FIN_ORIG | FW_CF_FIN_REPLY), FW_CF_FIN_ORIG);
	/* The half-closed side still receives data and ACKs. */
	step_ok(&c, seg(ACK | PSH, SISN + 201, CISN + 102, 50), S, FW_ST_TCP_FIN_WAIT);
	step_ok(&c, seg(ACK, CISN + 102, SISN + 251, 0), C, FW_ST_TCP_FIN_WAIT);
	step_ok(&c, seg(FIN | ACK, SISN + 251, CISN + 102, 0), S, FW_ST_TCP_CLOSING);
	/* The last ACK and retransmitted FINs are accepted while closing. */
	step_ok(&c, seg(ACK, CISN + 102, SISN + 252, 0), C, FW_ST_TCP_CLOSING);
	step_ok(&c, seg(FIN | ACK, SISN + 251, CISN + 102, 0), S, FW_ST_TCP_CLOSING);
}

Test(fw_conn, fin_from_the_responder_first)
{
	struct fw_conn c = conn_in(FW_ST_TCP_ESTABLISHED);

	step_ok(&c, seg(FIN | ACK, SISN + 201, CISN + 101, 0), S, FW_ST_TCP_FIN_WAIT);
	cr_assert_eq(c.flags & (FW_CF_FIN_ORIG | FW_CF_FIN_REPLY), FW_CF_FIN_REPLY);
	step_ok(&c, seg(FIN | ACK, CISN + 101, SISN + 202, 0), C, FW_ST_TCP_CLOSING);
}

Test(fw_conn, retransmissions_in_the_handshake)
{
	struct fw_conn c = conn_in(FW_ST_TCP_SYN_SENT);

	step_ok(&c, seg(SYN, CISN, 0, 0), C, FW_ST_TCP_SYN_SENT);
	/* A SYN with a new ISN (the client gave up on the first one) replaces it. */
	step_ok(&c, seg(SYN, CISN + 7, 0, 0), C, FW_ST_TCP_SYN_SENT);
	cr_assert_eq(ntohl(c.isn[FW_ORIG]), CISN + 7);
	step_bad(&c, seg(SYN | ACK, SISN, CISN + 1, 0), S);
	step_ok(&c, seg(SYN | ACK, SISN, CISN + 8, 0), S, FW_ST_TCP_SYN_RECV);
	step_ok(&c, seg(SYN | ACK, SISN, CISN + 8, 0), S, FW_ST_TCP_SYN_RECV);
	step_ok(&c, seg(SYN, CISN + 7, 0, 0), C, FW_ST_TCP_SYN_RECV);
	step_ok(&c, seg(ACK, CISN + 8, SISN + 1, 0), C, FW_ST_TCP_ESTABLISHED);
}

Test(fw_conn, immediate_close_after_the_handshake)
{
	struct fw_conn c = conn_in(FW_ST_TCP_SYN_RECV);

	/* The third segment of the handshake carries a FIN: established, then fin_wait. */
	step_ok(&c, seg(FIN | ACK, CISN + 1, SISN + 1, 0), C, FW_ST_TCP_FIN_WAIT);
}

struct bad_case {
	uint8_t state;		/* state reached by conn_in() */
	uint8_t flags;
	uint8_t side;
	uint32_t seq, ack;
	uint16_t len;
	char what[48];
};

ParameterizedTestParameters(fw_conn, segments_that_violate_the_state)
{
	static struct bad_case cases[] = {
		{ FW_ST_TCP_SYN_SENT, ACK, C, CISN + 1, 0, 0, "ACK before the SYN-ACK" },
		{ FW_ST_TCP_SYN_SENT, ACK, S, SISN, CISN + 1, 0, "ACK from the server" },
		{ FW_ST_TCP_SYN_SENT, SYN | ACK, S, SISN, CISN + 2, 0, "SYN-ACK with a wrong ack" },
		{ FW_ST_TCP_SYN_SENT, SYN | ACK, C, SISN, CISN + 1, 0, "SYN-ACK from the client" },
		{ FW_ST_TCP_SYN_SENT, SYN, S, SISN, 0, 0, "simultaneous open" },
		{ FW_ST_TCP_SYN_SENT, FIN | ACK, C, CISN + 1, 0, 0, "FIN before the handshake" },
		{ FW_ST_TCP_SYN_SENT, SYN | FIN, C, CISN, 0, 0, "SYN+FIN" },
		{ FW_ST_TCP_SYN_SENT, RST, S, SISN, 0, 0, "RST without ACK from the server" },
		{ FW_ST_TCP_SYN_SENT, RST | ACK, S, SISN, CISN + 5, 0, "RST acking something else" },
		{ FW_ST_TCP_SYN_SENT, RST, C, CISN + 5000, 0, 0, "client RST off sequence" },
		{ FW_ST_TCP_SYN_RECV, ACK, C, CISN + 1, SISN + 2, 0, "final ACK with a wrong ack" },
		{ FW_ST_TCP_SYN_RECV, ACK | PSH, S, SISN + 1, CISN + 1, 10, "server data before the ACK" },
		{ FW_ST_TCP_SYN_RECV, SYN, C, CISN + 3, 0, 0, "SYN with another ISN" },
		{ FW_ST_TCP_SYN_RECV, SYN | ACK, C, CISN, SISN + 1, 0, "SYN-ACK from the client" },
		{ FW_ST_TCP_ESTABLISHED, SYN, C, CISN + 101, 0, 0, "SYN on an established connection" },
		{ FW_ST_TCP_ESTABLISHED, SYN | ACK, S, SISN, CISN + 1, 0, "late SYN-ACK with a new ISN" },
		{ FW_ST_TCP_ESTABLISHED, PSH, C, CISN + 101, 0, 10, "data without ACK" },
		{ FW_ST_TCP_ESTABLISHED, 0, C, CISN + 101, 0, 0, "no flags" },
		{ FW_ST_TCP_FIN_WAIT, SYN, S, SISN + 500, 0, 0, "SYN while half closed" },
		{ FW_ST_TCP_CLOSED, ACK, C, CISN + 102, SISN + 202, 0, "ACK after an RST" },
		{ FW_ST_TCP_CLOSED, FIN | ACK, S, SISN + 202, CISN + 102, 0, "FIN after an RST" },
	};
	return cr_make_param_array(struct bad_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_case *bc, fw_conn, segments_that_violate_the_state)
{
	struct fw_conn c = conn_in(bc->state);
	struct fw_conn before = c;
	struct fw_seg s = seg(bc->flags, bc->seq, bc->ack, bc->len);

	cr_assert_eq(fw_conn_step(&c, &s, bc->side), FW_STEP_BAD, "accepted: %s", bc->what);
	cr_assert(memcmp(&before, &c, sizeof(c)) == 0, "%s changed the connection", bc->what);
}

Test(fw_conn, syn_on_a_closing_or_closed_connection_reopens)
{
	struct fw_conn c = conn_in(FW_ST_TCP_CLOSING);
	struct fw_seg s = seg(SYN, CISN + 100000, 0, 0);

	cr_assert_eq(fw_conn_step(&c, &s, C), FW_STEP_REOPEN);
	cr_assert_eq(fw_conn_step(&c, &s, S), FW_STEP_REOPEN, "the other side may reuse the pair too");
	c = conn_in(FW_ST_TCP_CLOSED);
	cr_assert_eq(fw_conn_step(&c, &s, C), FW_STEP_REOPEN);
}

Test(fw_conn, rst_inside_and_outside_the_window)
{
	/* The server advertised 1000 bytes (no scaling): the client's next sequence is
	 * CISN + 101, so a client RST is accepted within +-1000 of it. */
	struct fw_conn base = conn_in(FW_ST_TCP_ESTABLISHED), c;

	c = base;
	step_ok(&c, seg(RST, CISN + 101, 0, 0), C, FW_ST_TCP_CLOSED);
	c = base;
	step_ok(&c, seg(RST | ACK, CISN + 101 + 1000, SISN + 201, 0), C, FW_ST_TCP_CLOSED);
	c = base;
	step_ok(&c, seg(RST, CISN + 101 - 1000, 0, 0), C, FW_ST_TCP_CLOSED);
	c = base;
	step_bad(&c, seg(RST, CISN + 101 + 1001, 0, 0), C);
	step_bad(&c, seg(RST, CISN + 101 - 1001, 0, 0), C);
	step_bad(&c, seg(RST, CISN + 0x80000000u, 0, 0), C);
	/* Server RSTs are measured against the server's next sequence and the client's window. */
	step_ok(&c, seg(RST, SISN + 201 + 999, 0, 0), S, FW_ST_TCP_CLOSED);
	/* An accepted RST on a closed connection (a retransmitted one) is still fine. */
	step_ok(&c, seg(RST, SISN + 201, 0, 0), S, FW_ST_TCP_CLOSED);
	/* RSTs are checked in every state after the handshake. */
	c = conn_in(FW_ST_TCP_FIN_WAIT);
	step_bad(&c, seg(RST, SISN + 70000, 0, 0), S);
	step_ok(&c, seg(RST, SISN + 201, 0, 0), S, FW_ST_TCP_CLOSED);
	c = conn_in(FW_ST_TCP_CLOSING);
	step_bad(&c, seg(RST, CISN + 5000, 0, 0), C);
	step_ok(&c, seg(RST, CISN + 102, 0, 0), C, FW_ST_TCP_CLOSED);
}

Test(fw_conn, rst_while_syn_sent_must_ack_the_syn)
{
	struct fw_conn c = conn_in(FW_ST_TCP_SYN_SENT);

	step_ok(&c, seg(RST | ACK, 0, CISN + 1, 0), S, FW_ST_TCP_CLOSED);
	c = conn_in(FW_ST_TCP_SYN_SENT);
	step_ok(&c, seg(RST, CISN + 1, 0, 0), C, FW_ST_TCP_CLOSED);
	c = conn_in(FW_ST_TCP_SYN_RECV);
	step_ok(&c, seg(RST, SISN + 1, 0, 0), S, FW_ST_TCP_CLOSED);
}

Test(fw_conn, window_scaling_widens_the_rst_window)
{
	struct fw_conn c;
	struct fw_seg s = seg(SYN, CISN, 0, 0);

	s.wscale = 7;
	fw_conn_open(&c, &s, C);
	s = seg(SYN | ACK, SISN, CISN + 1, 0);
	s.wscale = 2;
	step_ok(&c, s, S, FW_ST_TCP_SYN_RECV);
	step_ok(&c, seg(ACK, CISN + 1, SISN + 1, 0), C, FW_ST_TCP_ESTABLISHED);
	/* The server's window is 1000 << 2 = 4000 bytes. */
	step_bad(&c, seg(RST, CISN + 1 + 4001, 0, 0), C);
	step_ok(&c, seg(RST, CISN + 1 + 4000, 0, 0), C, FW_ST_TCP_CLOSED);
}

Test(fw_conn, rst_window_follows_the_tracked_sequence)
{
	struct fw_conn c = conn_in(FW_ST_TCP_ESTABLISHED);

	/* 100 KB from the client in 1000-byte segments: the acceptable RST moves along. */
	for (uint32_t off = 0; off < 100000; off += 1000)
		step_ok(&c, seg(ACK, CISN + 101 + off, SISN + 201, 1000), C, FW_ST_TCP_ESTABLISHED);
	step_bad(&c, seg(RST, CISN + 101, 0, 0), C);
	step_ok(&c, seg(RST, CISN + 101 + 100000, 0, 0), C, FW_ST_TCP_CLOSED);
}

Test(fw_conn, sequence_numbers_wrap)
{
	struct fw_conn c;
	struct fw_seg s = seg(SYN, 0xfffffff0u, 0, 0);

	fw_conn_open(&c, &s, C);
	step_ok(&c, seg(SYN | ACK, 7, 0xfffffff1u, 0), S, FW_ST_TCP_SYN_RECV);
	step_ok(&c, seg(ACK, 0xfffffff1u, 8, 100), C, FW_ST_TCP_ESTABLISHED);
	cr_assert_eq(ntohl(c.end[FW_ORIG]), 0x55u);
	step_ok(&c, seg(RST, 0x55u, 0, 0), C, FW_ST_TCP_CLOSED);
}

Test(fw_conn, udp_pseudo_connection)
{
	struct fw_seg s = { .proto = IPPROTO_UDP, .wscale = 0xff };
	struct fw_conn c;

	cr_assert(fw_seg_can_open(&s));
	fw_conn_open(&c, &s, S);
	cr_assert_eq(c.state, FW_ST_UDP);
	cr_assert_eq(c.orig, S);
	cr_assert_eq(fw_conn_step(&c, &s, S), FW_STEP_ACCEPT);
	cr_assert_eq(c.state, FW_ST_UDP);
	cr_assert_eq(fw_conn_step(&c, &s, C), FW_STEP_ACCEPT);
	cr_assert_eq(c.state, FW_ST_UDP_REPLIED);
	cr_assert_eq(fw_conn_step(&c, &s, S), FW_STEP_ACCEPT);
	cr_assert_eq(c.state, FW_ST_UDP_REPLIED);
}

Test(fw_conn, icmp_echo_requests_one_way_replies_the_other)
{
	struct fw_seg req = { .proto = IPPROTO_ICMP, .icmp_type = 8, .wscale = 0xff };
	struct fw_seg rep = { .proto = IPPROTO_ICMP, .icmp_type = 0, .wscale = 0xff };
	struct fw_conn c;

	cr_assert(fw_seg_can_open(&req));
	cr_assert(!fw_seg_can_open(&rep));
	fw_conn_open(&c, &req, C);
	cr_assert_eq(c.state, FW_ST_ICMP);
	cr_assert_eq(fw_conn_step(&c, &req, C), FW_STEP_ACCEPT);
	cr_assert_eq(fw_conn_step(&c, &rep, S), FW_STEP_ACCEPT);
	cr_assert_eq(fw_conn_step(&c, &rep, C), FW_STEP_BAD);
	cr_assert_eq(fw_conn_step(&c, &req, S), FW_STEP_BAD);
}

Test(fw_conn, what_may_open_a_connection)
{
	struct fw_seg s = seg(SYN, 1, 0, 0);

	cr_assert(fw_seg_can_open(&s));
	s.tcp_flags = SYN | ACK;
	cr_assert(!fw_seg_can_open(&s));
	s.tcp_flags = ACK;
	cr_assert(!fw_seg_can_open(&s));
	s.tcp_flags = SYN | RST;
	cr_assert(!fw_seg_can_open(&s));
	s.tcp_flags = SYN | FIN;
	cr_assert(!fw_seg_can_open(&s));
	s.tcp_flags = SYN | PSH;
	cr_assert(fw_seg_can_open(&s), "SYN with PSH (and ECN bits) still opens");
	s.proto = IPPROTO_UDP;
	cr_assert(fw_seg_can_open(&s));
}

Test(fw_conn, protocol_mismatch_is_bad)
{
	struct fw_conn c = conn_in(FW_ST_TCP_ESTABLISHED);
	struct fw_seg u = { .proto = IPPROTO_UDP, .wscale = 0xff };

	cr_assert_eq(fw_conn_step(&c, &u, C), FW_STEP_BAD);
}

static struct flow_key fkey(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
	struct flow_key k = { .src_port = htons(sport), .dst_port = htons(dport), .proto = IPPROTO_TCP };

	inet_pton(AF_INET, src, &k.src_ip);
	inet_pton(AF_INET, dst, &k.dst_ip);
	return k;
}

Test(fw_conn, canonical_key_is_direction_independent)
{
	struct flow_key out = fkey("10.0.0.5", 40000, "198.51.100.7", 80);
	struct flow_key in = fkey("198.51.100.7", 80, "10.0.0.5", 40000);
	struct flow_key same_ip = fkey("10.0.0.5", 2, "10.0.0.5", 1);
	struct fw_ckey a, b;
	uint8_t sa, sb;

	fw_ckey_make(&out, &a, &sa);
	fw_ckey_make(&in, &b, &sb);
	cr_assert(memcmp(&a, &b, sizeof(a)) == 0);
	cr_assert_eq(sa, 0, "10.0.0.5 sorts first");
	cr_assert_eq(sb, 1);
	cr_assert_eq(a.ip[0], out.src_ip);
	cr_assert_eq(a.port[1], htons(80));
	fw_ckey_make(&same_ip, &a, &sa);
	cr_assert_eq(sa, 1, "same address: the lower port is side a");
	cr_assert_eq(a.port[0], htons(1));
	cr_assert_eq(a.pad[0] | a.pad[1] | a.pad[2], 0);
}

Test(fw_conn, tracking_merge_takes_the_serial_maximum_of_the_same_connection)
{
	struct fw_conn a = conn_in(FW_ST_TCP_ESTABLISHED), b = a, other = a;

	b.end[FW_ORIG] = htonl(CISN + 5000);
	b.maxwin[FW_REPLY] = htonl(9000);
	fw_conn_merge_tracking(&a, &b);
	cr_assert_eq(ntohl(a.end[FW_ORIG]), CISN + 5000);
	cr_assert_eq(ntohl(a.maxwin[FW_REPLY]), 9000);
	b.end[FW_ORIG] = htonl(CISN + 10);	/* behind: ignored */
	fw_conn_merge_tracking(&a, &b);
	cr_assert_eq(ntohl(a.end[FW_ORIG]), CISN + 5000);
	other.isn[FW_ORIG] = htonl(77);		/* another connection on the same key */
	other.end[FW_ORIG] = htonl(CISN + 9000);
	fw_conn_merge_tracking(&a, &other);
	cr_assert_eq(ntohl(a.end[FW_ORIG]), CISN + 5000);
	cr_assert(fw_conn_same_identity(&a, &b));
	cr_assert(!fw_conn_same_identity(&a, &other));
}

Test(fw_conn, state_names)
{
	cr_assert_str_eq(fw_state_name(FW_ST_TCP_ESTABLISHED), "tcp_established");
	cr_assert_str_eq(fw_state_name(FW_ST__COUNT), "unknown");
}
