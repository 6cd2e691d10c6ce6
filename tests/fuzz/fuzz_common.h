/* What the fuzz targets share: their input format and their NF instances' options.
 * Input: byte 0 = flags (bit 0: one-armed; the rest is the target's), then records of
 * [port:1][len:2 LE][frame:len]; consecutive records on the same port form one burst, at
 * most NF_BURST records in all. Included once per target (tests/fuzz/fuzz_<name>.c). */
#ifndef TESTS_FUZZ_FUZZ_COMMON_H
#define TESTS_FUZZ_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nf/nf.h"
#include "nf/parse.h"
#include "tests/harness/pktgen.h"

/* One burst of the 'n' frames in 'fms' received on 'port'; 'arg' is fuzz_bursts()'s. */
typedef void fuzz_burst_fn(void *arg, uint16_t port, struct fake_mbuf *fms, uint16_t n);

/* Split the records after the flags byte of 'data' ('size' bytes) into bursts for 'fn'. A
 * record longer than what is left, or than a fake mbuf holds, is cut. The frames stay
 * valid until the next call. */
static inline void fuzz_bursts(const uint8_t *data, size_t size, fuzz_burst_fn *fn, void *arg)
{
	static struct fake_mbuf fms[NF_BURST];
	uint16_t n = 0, port = 0;
	size_t off = 1;

	while (off + 3 <= size && n < NF_BURST) {
		uint16_t len = (uint16_t)(data[off + 1] | data[off + 2] << 8);

		port = data[off] & 1;
		off += 3;
		if (len > size - off)
			len = (uint16_t)(size - off);
		if (len > sizeof(fms[n].data))
			len = sizeof(fms[n].data);
		fake_mbuf_init(&fms[n], data + off, len);
		off += len;
		n++;
		/* A port change starts a new burst. */
		if (off + 3 <= size && (data[off] & 1) != port) {
			fn(arg, port, fms, n);
			n = 0;
		}
	}
	if (n > 0)
		fn(arg, port, fms, n);
}

/* The mbuf pointers of the 'n' frames in 'fms', into 'pkts'. */
static inline void fuzz_mbufs(struct fake_mbuf *fms, uint16_t n, struct rte_mbuf **pkts)
{
	for (uint16_t i = 0; i < n; i++)
		pkts[i] = &fms[i].m;
}

/* The options of a fuzzed instance: local mode, a small flow cache. */
static inline void fuzz_opts(struct nf_opts *o, bool one_armed)
{
	memset(o, 0, sizeof(*o));
	strcpy(o->id, "fuzz");
	strcpy(o->ns, "fuzz");
	o->mode = NF_MODE_LOCAL;
	o->one_armed = one_armed;
	o->cache_entries = 64;
}

/* A frame the NF forwards (a 'verdict' other than a drop) must still parse: abort()s when
 * it does not. Returns whether it is a forwarded packet parse_packet() accepts. */
static inline bool fuzz_forwarded_parses(const struct fake_mbuf *fm, uint8_t verdict)
{
	struct pkt_info pi;
	enum parse_status st;

	if (verdict == NF_VERDICT_DROP)
		return false;
	st = parse_packet(fm->data, fm->m.data_len, &pi);
	if (st > PARSE_NOT_IPV4)
		abort();
	return st == PARSE_OK;
}

#endif
