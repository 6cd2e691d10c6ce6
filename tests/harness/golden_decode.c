/* Test harness: packets decoded into named fields, for messages about what differs. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tests/harness/golden_decode.h"

#define PAYLOAD_SHOWN 24	/* payload bytes printed in a field value */

static void add(struct golden_fields *d, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add(struct golden_fields *d, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (d->n == GOLDEN_MAX_FIELDS)
		return;
	snprintf(d->f[d->n].name, sizeof(d->f[d->n].name), "%s", name);
	va_start(ap, fmt);
	vsnprintf(d->f[d->n].val, sizeof(d->f[d->n].val), fmt, ap);
	va_end(ap);
	d->n++;
}

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static unsigned long be32(const uint8_t *p)
{
	return (unsigned long)be16(p) << 16 | be16(p + 2);
}

static void add_mac(struct golden_fields *d, const char *name, const uint8_t *p)
{
	add(d, name, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
}

static void add_ip(struct golden_fields *d, const char *name, const uint8_t *p)
{
	add(d, name, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
}

/* 'size' bytes as "N bytes <hex of the first few> (fnv <hash of all>)". */
static void add_bytes(struct golden_fields *d, const char *name, const uint8_t *p, unsigned size)
{
	char hex[2 * PAYLOAD_SHOWN + 4] = "";
	uint32_t h = 2166136261u;
	unsigned i;

	for (i = 0; i < size; i++)
		h = (h ^ p[i]) * 16777619u;
	for (i = 0; i < size && i < PAYLOAD_SHOWN; i++)
		sprintf(hex + 2 * i, "%02x", p[i]);
	if (size > PAYLOAD_SHOWN)
		strcat(hex, "..");
	add(d, name, "%u bytes %s (fnv %08x)", size, hex, h);
}

static void decode_tcp(struct golden_fields *d, const uint8_t *p, unsigned size)
{
	unsigned doff = (unsigned)(p[12] >> 4) * 4;

	add(d, "tcp.sport", "%u", be16(p));
	add(d, "tcp.dport", "%u", be16(p + 2));
	add(d, "tcp.seq", "%lu", be32(p + 4));
	add(d, "tcp.ack", "%lu", be32(p + 8));
	add(d, "tcp.doff", "%u", doff / 4);
	add(d, "tcp.flags", "0x%02x", p[13]);
	add(d, "tcp.window", "%u", be16(p + 14));
	add(d, "tcp.csum", "0x%04x", be16(p + 16));
	add(d, "tcp.urgent", "%u", be16(p + 18));
	if (doff < 20 || doff > size) {
		add_bytes(d, "tcp.rest", p + 20, size - 20);
		return;
	}
	if (doff > 20)
		add_bytes(d, "tcp.options", p + 20, doff - 20);
	add_bytes(d, "payload", p + doff, size - doff);
}

static void decode_udp(struct golden_fields *d, const uint8_t *p, unsigned size)
{
	add(d, "udp.sport", "%u", be16(p));
	add(d, "udp.dport", "%u", be16(p + 2));
	add(d, "udp.len", "%u", be16(p + 4));
	add(d, "udp.csum", "0x%04x", be16(p + 6));
	add_bytes(d, "payload", p + 8, size - 8);
}

static void decode_icmp(struct golden_fields *d, const uint8_t *p, unsigned size)
{
	add(d, "icmp.type", "%u", p[0]);
	add(d, "icmp.code", "%u", p[1]);
	add(d, "icmp.csum", "0x%04x", be16(p + 2));
	if (p[0] == 0 || p[0] == 8) {
		add(d, "icmp.id", "%u", be16(p + 4));
		add(d, "icmp.seq", "%u", be16(p + 6));
	} else {
		add_bytes(d, "icmp.rest", p + 4, 4);
	}
	add_bytes(d, "payload", p + 8, size - 8);
}

/* The L4 segment at 'p' ('size' bytes of it in this packet) of IP protocol 'proto'. */
static void decode_l4(struct golden_fields *d, uint8_t proto, const uint8_t *p, unsigned size)
{
	if (proto == 6 && size >= 20)
		decode_tcp(d, p, size);
	else if (proto == 17 && size >= 8)
		decode_udp(d, p, size);
	else if (proto == 1 && size >= 8)
		decode_icmp(d, p, size);
	else
		add_bytes(d, "ipv4.payload", p, size);
}

/* The IPv4 packet at 'p' with 'size' bytes left in the frame. */
static void decode_ipv4(struct golden_fields *d, const uint8_t *p, unsigned size)
{
	unsigned ihl = (unsigned)(p[0] & 0x0f) * 4, tot = be16(p + 2), frag = be16(p + 6), end;

	add(d, "ipv4.version", "%u", p[0] >> 4);
	add(d, "ipv4.ihl", "%u", ihl / 4);
	add(d, "ipv4.tos", "0x%02x", p[1]);
	add(d, "ipv4.len", "%u", tot);
	add(d, "ipv4.id", "%u", be16(p + 4));
	add(d, "ipv4.flags", "%s%s%s", frag & 0x8000 ? "R" : "", frag & 0x4000 ? "DF" : "",
	    frag & 0x2000 ? "MF" : "");
	add(d, "ipv4.frag", "%u", (frag & 0x1fff) * 8);
	add(d, "ipv4.ttl", "%u", p[8]);
	add(d, "ipv4.proto", "%u", p[9]);
	add(d, "ipv4.csum", "0x%04x", be16(p + 10));
	add_ip(d, "ipv4.src", p + 12);
	add_ip(d, "ipv4.dst", p + 16);
	if (ihl < 20 || ihl > size || tot < ihl || tot > size) {
		add_bytes(d, "ipv4.rest", p + 20, size - 20);
		return;
	}
	if (ihl > 20)
		add_bytes(d, "ipv4.options", p + 20, ihl - 20);
	end = tot;
	if (frag & 0x1fff)
		add_bytes(d, "ipv4.payload", p + ihl, tot - ihl);
	else
		decode_l4(d, p[9], p + ihl, tot - ihl);
	if (size > end)
		add_bytes(d, "trailer", p + end, size - end);
}

void golden_decode(const uint8_t *p, unsigned size, struct golden_fields *d)
{
	unsigned off = 14, type;

	d->n = 0;
	if (size < 14) {
		add_bytes(d, "frame", p, size);
		return;
	}
	add_mac(d, "eth.dst", p);
	add_mac(d, "eth.src", p + 6);
	type = be16(p + 12);
	add(d, "eth.type", "0x%04x", type);
	if (type == 0x8100 && size >= 18) {
		add(d, "vlan.prio", "%u", p[14] >> 5);
		add(d, "vlan.id", "%u", be16(p + 14) & 0x0fff);
		type = be16(p + 16);
		add(d, "vlan.type", "0x%04x", type);
		off = 18;
	}
	if (type == 0x0800 && size >= off + 20)
		decode_ipv4(d, p + off, size - off);
	else
		add_bytes(d, "l2.payload", p + off, size - off);
	add(d, "frame.size", "%u", size);
}

void golden_summary(const uint8_t *p, unsigned size, char *buf, size_t bufsz)
{
	static struct golden_fields d;
	const char *src = NULL, *dst = "?", *proto = "?", *type = "?";

	golden_decode(p, size, &d);
	for (unsigned i = 0; i < d.n; i++) {
		if (strcmp(d.f[i].name, "ipv4.src") == 0)
			src = d.f[i].val;
		else if (strcmp(d.f[i].name, "ipv4.dst") == 0)
			dst = d.f[i].val;
		else if (strcmp(d.f[i].name, "ipv4.proto") == 0)
			proto = d.f[i].val;
		else if (strcmp(d.f[i].name, "eth.type") == 0 || strcmp(d.f[i].name, "vlan.type") == 0)
			type = d.f[i].val;
	}
	if (src != NULL)
		snprintf(buf, bufsz, "%u bytes, ipv4 %s -> %s proto %s", size, src, dst, proto);
	else
		snprintf(buf, bufsz, "%u bytes, ethertype %s", size, type);
}
