/* Test harness: a small packet decoder naming header fields ("ipv4.src" = "10.0.0.5"), enough
 * to say which field of a packet differs from the expected one. */
#ifndef TESTS_HARNESS_GOLDEN_DECODE_H
#define TESTS_HARNESS_GOLDEN_DECODE_H

#include <stddef.h>
#include <stdint.h>

#define GOLDEN_MAX_FIELDS 48

/* One named field and its value as text. */
struct golden_field {
	char name[16];
	char val[112];
};

/* A packet decoded into fields, in wire order: Ethernet, 802.1Q, IPv4, TCP/UDP/ICMP, and the
 * rest as "N bytes <hex of the first few> (fnv <hash of all>)". */
struct golden_fields {
	unsigned n;
	struct golden_field f[GOLDEN_MAX_FIELDS];
};

/* Decode the 'size' bytes at 'p' into 'd'. */
void golden_decode(const uint8_t *p, unsigned size, struct golden_fields *d);

/* What a packet is, in one line into 'buf': "54 bytes, ipv4 10.0.0.5 -> 198.51.100.10
 * proto 6", or "42 bytes, ethertype 0x0806". */
void golden_summary(const uint8_t *p, unsigned size, char *buf, size_t bufsz);

#endif
