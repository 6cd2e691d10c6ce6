/* Test packet builder with its own straightforward checksum code (independent of nf/cksum.c). */
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "tests/harness/pktgen.h"

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t pseudo(const uint8_t *ip, uint8_t proto, uint16_t l4len)
{
	return sum16(ip + 12, 8, 0) + proto + l4len;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t l4_hdr_len(const struct pkt_spec *s)
{
	return s->proto == IPPROTO_TCP ? 20 : 8;
}

static size_t build_l2(uint8_t *buf, const struct pkt_spec *s)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x02 }, src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	size_t off = 12;

	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	if (s->vlan) {
		put16(buf + 12, 0x8100);
		put16(buf + 14, s->vlan);
		off = 16;
	}
	put16(buf + off, 0x0800);
	return off + 2;
}

static void build_l4(uint8_t *ip, uint8_t *l4, uint16_t l4len, const struct pkt_spec *s)
{
	uint16_t c;

	if (s->proto == IPPROTO_TCP) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		l4[4] = (uint8_t)(s->seq >> 24), l4[5] = (uint8_t)(s->seq >> 16);
		l4[6] = (uint8_t)(s->seq >> 8), l4[7] = (uint8_t)s->seq;
		l4[8] = (uint8_t)(s->ack >> 24), l4[9] = (uint8_t)(s->ack >> 16);
		l4[10] = (uint8_t)(s->ack >> 8), l4[11] = (uint8_t)s->ack;
		l4[12] = 5 << 4;
		l4[13] = s->tcp_flags ? s->tcp_flags : 0x02;
		put16(l4 + 14, 65535);
		c = s->partial_csum ? fold(pseudo(ip, IPPROTO_TCP, l4len))
				    : (uint16_t)~fold(sum16(l4, l4len, pseudo(ip, IPPROTO_TCP, l4len)));
		put16(l4 + 16, c);
	} else if (s->proto == IPPROTO_UDP) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, l4len);
		c = s->partial_csum ? fold(pseudo(ip, IPPROTO_UDP, l4len))
				    : (uint16_t)~fold(sum16(l4, l4len, pseudo(ip, IPPROTO_UDP, l4len)));
		put16(l4 + 6, s->udp_no_csum ? 0 : (c == 0 ? 0xffff : c));
	} else {
		l4[0] = s->icmp_type;
		put16(l4 + 4, s->sport);
		put16(l4 + 6, 1);
		put16(l4 + 2, (uint16_t)~fold(sum16(l4, l4len, 0)));
	}
}

uint16_t pktgen_build(uint8_t *buf, size_t size, const struct pkt_spec *s)
{
	size_t l3 = s->vlan ? 18 : 14;
	uint16_t ihl = (uint16_t)(20 + s->ip_opts_len);
	uint16_t l4len = (uint16_t)(l4_hdr_len(s) + s->payload_len);
	uint8_t *ip = buf + l3, *l4 = ip + ihl;
	struct in_addr a;

	if (l3 + ihl + l4len > size)
		return 0;
	memset(buf, 0, l3 + ihl + l4len);
	build_l2(buf, s);
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	put16(ip + 2, (uint16_t)(ihl + l4len));
	put16(ip + 4, 0x1234);
	ip[8] = 64;
	ip[9] = s->proto;
	inet_pton(AF_INET, s->src, &a);
	memcpy(ip + 12, &a, 4);
	inet_pton(AF_INET, s->dst, &a);
	memcpy(ip + 16, &a, 4);
	memset(ip + 20, 1, s->ip_opts_len);	/* NOP options */
	put16(ip + 10, (uint16_t)~fold(sum16(ip, ihl, 0)));
	for (uint16_t i = 0; i < s->payload_len; i++)
		l4[l4_hdr_len(s) + i] = (uint8_t)(i * 7 + 3);
	build_l4(ip, l4, l4len, s);
	return (uint16_t)(l3 + ihl + l4len);
}

bool pktgen_csums_ok(const uint8_t *frame, uint16_t len)
{
	size_t l3 = (frame[12] == 0x81 && frame[13] == 0x00) ? 18 : 14;
	const uint8_t *ip = frame + l3, *l4;
	uint16_t ihl, tot, l4len;

	if (len < l3 + 20)
		return false;
	ihl = (uint16_t)((ip[0] & 0xf) * 4);
	tot = (uint16_t)(ip[2] << 8 | ip[3]);
	l4 = ip + ihl;
	l4len = (uint16_t)(tot - ihl);
	if (fold(sum16(ip, ihl, 0)) != 0xffff)
		return false;
	if (ip[9] == IPPROTO_ICMP)
		return fold(sum16(l4, l4len, 0)) == 0xffff;
	if (ip[9] == IPPROTO_UDP && l4[6] == 0 && l4[7] == 0)
		return true;
	return fold(sum16(l4, l4len, pseudo(ip, ip[9], l4len))) == 0xffff;
}

void fake_mbuf_init(struct fake_mbuf *fm, const uint8_t *frame, uint16_t len)
{
	memset(&fm->m, 0, sizeof(fm->m));
	memcpy(fm->data, frame, len);
	fm->m.buf_addr = fm->data;
	fm->m.buf_len = sizeof(fm->data);
	fm->m.data_off = 0;
	fm->m.data_len = len;
	fm->m.pkt_len = len;
	fm->m.nb_segs = 1;
}

void fake_mbuf_build(struct fake_mbuf *fm, const struct pkt_spec *s)
{
	uint8_t frame[2048];
	uint16_t len = pktgen_build(frame, sizeof(frame), s);

	fake_mbuf_init(fm, frame, len);
}

struct pkt_spec pktgen_tcp(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			   uint8_t flags)
{
	struct pkt_spec s = { .proto = IPPROTO_TCP, .src = src, .dst = dst, .sport = sport,
			      .dport = dport, .tcp_flags = flags, .payload_len = 10 };

	return s;
}

const uint8_t *fake_mbuf_ip(const struct fake_mbuf *fm)
{
	return fm->data + 14;
}

const uint8_t *fake_mbuf_l4(const struct fake_mbuf *fm)
{
	return fake_mbuf_ip(fm) + (fake_mbuf_ip(fm)[0] & 0xf) * 4;
}
