/* Test harness: golden packet files. Classic pcap files read and written without libpcap,
 * and packet lists compared packet by packet, naming the first field that differs. */
#ifndef TESTS_HARNESS_GOLDEN_H
#define TESTS_HARNESS_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

#define GOLDEN_MAX_PKTS 64
#define GOLDEN_MAX_PKT_SIZE 2048

struct golden_pkt {
	unsigned size;
	uint8_t data[GOLDEN_MAX_PKT_SIZE];
};

/* The packets of a pcap, or the packets it should hold. */
struct golden_pkts {
	unsigned n;
	struct golden_pkt p[GOLDEN_MAX_PKTS];
};

/* Read the classic pcap 'path' (either byte order, micro- or nanosecond timestamps) into
 * 'ps'. Returns 0, or -errno with the reason in 'err': it cannot be read, is no pcap, has
 * more than GOLDEN_MAX_PKTS packets, or one larger than GOLDEN_MAX_PKT_SIZE or cut short. */
int golden_pcap_read(const char *path, struct golden_pkts *ps, char *err, size_t errsz);

/* Write 'ps' to 'path' as a classic pcap (Ethernet, microseconds, packet i at 1 s + i us).
 * Returns 0 or -errno. */
int golden_pcap_write(const char *path, const struct golden_pkts *ps);

/* Compare 'got' with 'want'. Returns 0 when they hold the same packets, in order, byte for
 * byte; else -1 with the first difference in 'msg': "packet I: FIELD GOT != EXPECTED" (a
 * checksum is named only when no other field differs: a wrong address makes a wrong
 * checksum too), or "N packets, expected M; packet K is extra|missing: SUMMARY". */
int golden_diff(const struct golden_pkts *got, const struct golden_pkts *want, char *msg,
		size_t size);

/* golden_diff() of the pcaps 'got_path' and 'want_path': 0, or -1 with the difference in
 * 'msg' ("GOT vs WANT: " and what golden_diff() says), or what kept one from being read. */
int golden_pcap_diff(const char *got_path, const char *want_path, char *msg, size_t size);

#endif
