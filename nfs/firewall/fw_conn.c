/* Firewall connection tracking: canonical keys and the per-protocol state machines. */
#include <string.h>

#include <netinet/in.h>

#include "nfs/firewall/fw_conn.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_WSCALE 3
#define TCP_MAX_WSCALE 14

static const char *const state_names[FW_ST__COUNT] = {
	[FW_ST_NONE] = "none",
	[FW_ST_TCP_SYN_SENT] = "tcp_syn_sent",
	[FW_ST_TCP_SYN_RECV] = "tcp_syn_recv",
	[FW_ST_TCP_ESTABLISHED] = "tcp_established",
	[FW_ST_TCP_FIN_WAIT] = "tcp_fin_wait",
	[FW_ST_TCP_CLOSING] = "tcp_closing",
	[FW_ST_TCP_CLOSED] = "tcp_closed",
	[FW_ST_UDP] = "udp",
	[FW_ST_UDP_REPLIED] = "udp_replied",
	[FW_ST_ICMP] = "icmp",
};

const char *fw_state_name(uint8_t state)
{
	return state < FW_ST__COUNT ? state_names[state] : "unknown";
}

void fw_ckey_make(const struct flow_key *k, struct fw_ckey *ck, uint8_t *side)
{
	uint32_t s = rte_be_to_cpu_32(k->src_ip), d = rte_be_to_cpu_32(k->dst_ip);
	uint16_t sp = rte_be_to_cpu_16(k->src_port), dp = rte_be_to_cpu_16(k->dst_port);

	*side = s > d || (s == d && sp > dp);
	memset(ck, 0, sizeof(*ck));
	ck->proto = k->proto;
	ck->ip[*side] = k->src_ip;
	ck->ip[!*side] = k->dst_ip;
	ck->port[*side] = k->src_port;
	ck->port[!*side] = k->dst_port;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The window scale option among the 'len' option bytes at 'opt', or 0xff. */
static uint8_t tcp_wscale(const uint8_t *opt, uint32_t len)
{
	uint32_t i = 0;

	while (i < len && opt[i] != TCPOPT_EOL) {
		if (opt[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len || opt[i + 1] < 2 || i + opt[i + 1] > len)
			return 0xff;
		if (opt[i] == TCPOPT_WSCALE && opt[i + 1] == 3)
			return opt[i + 2] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : opt[i + 2];
		i += opt[i + 1];
	}
	return 0xff;
}

void fw_seg_parse(const uint8_t *l4, const struct pkt_info *pi, struct fw_seg *s)
{
	uint32_t doff;

	memset(s, 0, sizeof(*s));
	s->proto = pi->proto;
	s->wscale = 0xff;
	s->icmp_type = pi->icmp_type;
	if (pi->proto != IPPROTO_TCP)
		return;
	doff = (uint32_t)(l4[12] >> 4) * 4;	/* the parser checked 20 <= doff <= l4_len */
	s->tcp_flags = pi->tcp_flags;
	s->seq = rd32(l4 + 4);
	s->ack = rd32(l4 + 8);
	s->win = (uint16_t)(l4[14] << 8 | l4[15]);
	s->end = s->seq + (pi->l4_len - doff) + !!(s->tcp_flags & TCP_SYN) + !!(s->tcp_flags & TCP_FIN);
	if (s->tcp_flags & TCP_SYN)
		s->wscale = tcp_wscale(l4 + 20, doff - 20);
}

bool fw_seg_can_open(const struct fw_seg *s)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		return (s->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) == TCP_SYN;
	case IPPROTO_UDP:
		return true;
	case IPPROTO_ICMP:
		return s->icmp_type == 8;
	default:
		return false;
	}
}

static uint32_t get32(rte_be32_t v)
{
	return rte_be_to_cpu_32(v);
}

static rte_be32_t put32(uint32_t v)
{
	return rte_cpu_to_be_32(v);
}

/* Record the SYN (or SYN-ACK) 's' as direction 'd''s start of sequence space. */
static void tcp_syn_record(struct fw_conn *c, const struct fw_seg *s, unsigned d)
{
	c->isn[d] = put32(s->seq);
	c->end[d] = put32(s->seq + 1);
	c->maxwin[d] = put32(s->win);
	c->flags &= (uint8_t)~(d == FW_ORIG ? FW_CF_WS_ORIG : FW_CF_WS_REPLY);
	c->wscale[d] = 0;
	if (s->wscale != 0xff) {
		c->flags |= d == FW_ORIG ? FW_CF_WS_ORIG : FW_CF_WS_REPLY;
		c->wscale[d] = s->wscale;
	}
}

void fw_conn_open(struct fw_conn *c, const struct fw_seg *s, uint8_t side)
{
	memset(c, 0, sizeof(*c));
	c->proto = s->proto;
	c->orig = side;
	if (s->proto == IPPROTO_TCP) {
		c->state = FW_ST_TCP_SYN_SENT;
		tcp_syn_record(c, s, FW_ORIG);
	} else {
		c->state = s->proto == IPPROTO_UDP ? FW_ST_UDP : FW_ST_ICMP;
	}
}

/* Serial-number distance |a - b| (RFC 1982). */
static uint32_t seq_dist(uint32_t a, uint32_t b)
{
	int32_t d = (int32_t)(a - b);

	return d < 0 ? (uint32_t)-(int64_t)d : (uint32_t)d;
}

/* The receive window direction 'd' advertises, scaled when both sides agreed on scaling. */
static uint64_t tcp_window(const struct fw_conn *c, unsigned d)
{
	uint64_t w = get32(c->maxwin[d]);

	if ((c->flags & (FW_CF_WS_ORIG | FW_CF_WS_REPLY)) == (FW_CF_WS_ORIG | FW_CF_WS_REPLY))
		w <<= c->wscale[d];
	return w;
}

/* An RST from 'd' is accepted when its sequence number is within the receiver's window
 * around the next sequence number 'd' was expected to send. Before the responder has
 * spoken (SYN_SENT) its RST must acknowledge the SYN instead (as Linux conntrack). */
static bool tcp_rst_ok(const struct fw_conn *c, const struct fw_seg *s, unsigned d)
{
	if (c->state == FW_ST_TCP_SYN_SENT) {
		if (d == FW_REPLY)
			return (s->tcp_flags & TCP_ACK) && s->ack == get32(c->end[FW_ORIG]);
		return s->seq == get32(c->end[FW_ORIG]);
	}
	return seq_dist(s->seq, get32(c->end[d])) <= tcp_window(c, !d);
}

/* Advance direction 'd''s tracking with an accepted segment. */
static void tcp_track(struct fw_conn *c, const struct fw_seg *s, unsigned d)
{
	if ((int32_t)(s->end - get32(c->end[d])) > 0)
		c->end[d] = put32(s->end);
	if (s->win > get32(c->maxwin[d]))
		c->maxwin[d] = put32(s->win);
}

static enum fw_step tcp_rst(struct fw_conn *c, const struct fw_seg *s, unsigned d)
{
	if (!tcp_rst_ok(c, s, d))
		return FW_STEP_BAD;
	c->state = FW_ST_TCP_CLOSED;
	return FW_STEP_ACCEPT;
}

/* A SYN without ACK from 'd'. */
static enum fw_step tcp_syn(struct fw_conn *c, const struct fw_seg *s, unsigned d)
{
	switch (c->state) {
	case FW_ST_TCP_CLOSING:
	case FW_ST_TCP_CLOSED:
		return FW_STEP_REOPEN;
	case FW_ST_TCP_SYN_SENT:
		if (d != FW_ORIG)
			return FW_STEP_BAD;	/* simultaneous open: not supported */
		tcp_syn_record(c, s, FW_ORIG);	/* retransmission, possibly with a new ISN */
		return FW_STEP_ACCEPT;
	case FW_ST_TCP_SYN_RECV:
		return d == FW_ORIG && s->seq == get32(c->isn[FW_ORIG]) ? FW_STEP_ACCEPT : FW_STEP_BAD;
	default:
		return FW_STEP_BAD;
	}
}

/* A SYN-ACK from 'd': only the responder's, acknowledging the originator's SYN. */
static enum fw_step tcp_synack(struct fw_conn *c, const struct fw_seg *s, unsigned d)
{
	if (d != FW_REPLY || (c->state != FW_ST_TCP_SYN_SENT && c->state != FW_ST_TCP_SYN_RECV))
		return FW_STEP_BAD;
	if (s->ack != get32(c->end[FW_ORIG]))
		return FW_STEP_BAD;
	tcp_syn_record(c, s, FW_REPLY);
	c->state = FW_ST_TCP_SYN_RECV;
	return FW_STEP_ACCEPT;
}

/* A segment with ACK and without SYN or RST from 'd' (data, pure ACK, FIN). */
static enum fw_step tcp_ack(struct fw_conn *c, const struct fw_seg *s, unsigned d)
{
	switch (c->state) {
	case FW_ST_TCP_SYN_RECV:
		if (d != FW_ORIG || s->ack != get32(c->end[FW_REPLY]))
			return FW_STEP_BAD;
		c->state = FW_ST_TCP_ESTABLISHED;
		break;
	case FW_ST_TCP_ESTABLISHED:
	case FW_ST_TCP_FIN_WAIT:
	case FW_ST_TCP_CLOSING:
		break;
	default:
		return FW_STEP_BAD;
	}
	tcp_track(c, s, d);
	if (s->tcp_flags & TCP_FIN)
		c->flags |= d == FW_ORIG ? FW_CF_FIN_ORIG : FW_CF_FIN_REPLY;
	if ((c->flags & (FW_CF_FIN_ORIG | FW_CF_FIN_REPLY)) == (FW_CF_FIN_ORIG | FW_CF_FIN_REPLY))
		c->state = FW_ST_TCP_CLOSING;
	else if (c->flags & (FW_CF_FIN_ORIG | FW_CF_FIN_REPLY))
		c->state = FW_ST_TCP_FIN_WAIT;
	return FW_STEP_ACCEPT;
}

static enum fw_step tcp_step(struct fw_conn *c, const struct fw_seg *s, unsigned d)
{
	uint8_t f = s->tcp_flags;

	if (f & TCP_RST)
		return tcp_rst(c, s, d);
	if ((f & (TCP_SYN | TCP_FIN)) == (TCP_SYN | TCP_FIN))
		return FW_STEP_BAD;
	if (f & TCP_SYN)
		return f & TCP_ACK ? tcp_synack(c, s, d) : tcp_syn(c, s, d);
	if (!(f & TCP_ACK))
		return FW_STEP_BAD;
	return tcp_ack(c, s, d);
}

enum fw_step fw_conn_step(struct fw_conn *c, const struct fw_seg *s, uint8_t side)
{
	unsigned d = side == c->orig ? FW_ORIG : FW_REPLY;
	struct fw_conn tmp;
	enum fw_step r;

	if (s->proto != c->proto)
		return FW_STEP_BAD;
	switch (s->proto) {
	case IPPROTO_TCP:
		tmp = *c;
		r = tcp_step(&tmp, s, d);
		if (r == FW_STEP_ACCEPT)
			*c = tmp;
		return r;
	case IPPROTO_UDP:
		if (d == FW_REPLY)
			c->state = FW_ST_UDP_REPLIED;
		return FW_STEP_ACCEPT;
	case IPPROTO_ICMP:
		return s->icmp_type == (d == FW_ORIG ? 8 : 0) ? FW_STEP_ACCEPT : FW_STEP_BAD;
	default:
		return FW_STEP_BAD;
	}
}

bool fw_conn_same_ctl(const struct fw_conn *a, const struct fw_conn *b)
{
	return memcmp(a, b, FW_CONN_CTL_SIZE) == 0;
}

bool fw_conn_same_identity(const struct fw_conn *a, const struct fw_conn *b)
{
	return a->proto == b->proto && a->orig == b->orig && a->isn[FW_ORIG] == b->isn[FW_ORIG];
}

void fw_conn_merge_tracking(struct fw_conn *c, const struct fw_conn *other)
{
	if (c->proto != other->proto || c->orig != other->orig)
		return;
	for (unsigned d = FW_ORIG; d <= FW_REPLY; d++) {
		if (c->isn[d] != other->isn[d])
			continue;
		if ((int32_t)(get32(other->end[d]) - get32(c->end[d])) > 0)
			c->end[d] = other->end[d];
		if (get32(other->maxwin[d]) > get32(c->maxwin[d]))
			c->maxwin[d] = other->maxwin[d];
	}
}
