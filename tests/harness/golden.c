/* Test harness: golden packet files: classic pcap I/O and packet-by-packet comparison. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/golden.h"
#include "tests/harness/golden_decode.h"

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du

/* The pcap file header and record header, in the byte order the file was written in. */
struct pcap_file_hdr {
	uint32_t magic;
	uint16_t version_major, version_minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};

struct pcap_rec_hdr {
	uint32_t ts_sec, ts_frac, caplen, len;
};

static uint32_t swap32(uint32_t v)
{
	return __builtin_bswap32(v);
}

/* Read the records of the open pcap 'f' (byte-swapped when 'swap') into 'ps'. */
static int read_records(FILE *f, bool swap, const char *path, struct golden_pkts *ps, char *err,
			size_t errsz)
{
	struct pcap_rec_hdr h;

	for (ps->n = 0; fread(&h, sizeof(h), 1, f) == 1; ps->n++) {
		unsigned caplen = swap ? swap32(h.caplen) : h.caplen, len = swap ? swap32(h.len) : h.len;

		if (ps->n == GOLDEN_MAX_PKTS) {
			snprintf(err, errsz, "%s: more than %d packets", path, GOLDEN_MAX_PKTS);
			return -E2BIG;
		}
		if (caplen > GOLDEN_MAX_PKT_SIZE || caplen != len) {
			snprintf(err, errsz, "%s: packet %u: %u of %u bytes captured", path, ps->n,
				 caplen, len);
			return -EFBIG;
		}
		ps->p[ps->n].size = caplen;
		if (fread(ps->p[ps->n].data, 1, caplen, f) != caplen) {
			snprintf(err, errsz, "%s: packet %u is cut short", path, ps->n);
			return -EIO;
		}
	}
	return 0;
}

int golden_pcap_read(const char *path, struct golden_pkts *ps, char *err, size_t errsz)
{
	struct pcap_file_hdr fh;
	FILE *f = fopen(path, "rb");
	bool swap;
	int rc;

	ps->n = 0;
	if (f == NULL) {
		rc = -errno;
		snprintf(err, errsz, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fread(&fh, sizeof(fh), 1, f) != 1)
		fh.magic = 0;
	swap = swap32(fh.magic) == PCAP_MAGIC_US || swap32(fh.magic) == PCAP_MAGIC_NS;
	if (swap || fh.magic == PCAP_MAGIC_US || fh.magic == PCAP_MAGIC_NS) {
		rc = read_records(f, swap, path, ps, err, errsz);
	} else {
		snprintf(err, errsz, "%s: not a pcap file", path);
		rc = -EINVAL;
	}
	fclose(f);
	return rc;
}

int golden_pcap_write(const char *path, const struct golden_pkts *ps)
{
	struct pcap_file_hdr fh = { PCAP_MAGIC_US, 2, 4, 0, 0, 65535, 1 };
	FILE *f = fopen(path, "wb");
	bool ok;

	if (f == NULL)
		return -errno;
	ok = fwrite(&fh, sizeof(fh), 1, f) == 1;
	for (unsigned i = 0; ok && i < ps->n; i++) {
		struct pcap_rec_hdr h = { 1, i, ps->p[i].size, ps->p[i].size };

		ok = fwrite(&h, sizeof(h), 1, f) == 1 &&
		     fwrite(ps->p[i].data, 1, ps->p[i].size, f) == ps->p[i].size;
	}
	return fclose(f) == 0 && ok ? 0 : -EIO;
}

static bool is_csum(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot != NULL && strcmp(dot, ".csum") == 0;
}

/* The first of the fields 'g' and 'w' that differ, checksums included or not, into 'msg'.
 * Returns false when there is none. */
static bool diff_fields(unsigned i, const struct golden_fields *g, const struct golden_fields *w,
			bool csums, char *msg, size_t size)
{
	for (unsigned k = 0; k < g->n || k < w->n; k++) {
		const struct golden_field *a = k < g->n ? &g->f[k] : NULL;
		const struct golden_field *b = k < w->n ? &w->f[k] : NULL;

		if (a != NULL && b != NULL && strcmp(a->name, b->name) == 0) {
			if (strcmp(a->val, b->val) == 0 || (!csums && is_csum(a->name)))
				continue;
			snprintf(msg, size, "packet %u: %s %s != %s", i, a->name, a->val, b->val);
			return true;
		}
		snprintf(msg, size, "packet %u: got %s %s, expected %s %s", i,
			 a ? a->name : "(nothing)", a ? a->val : "", b ? b->name : "(nothing)",
			 b ? b->val : "");
		return true;
	}
	return false;
}

/* Compare packet 'i': false when equal, else true with the first difference in 'msg'. */
static bool diff_packet(unsigned i, const struct golden_pkt *got, const struct golden_pkt *want,
			char *msg, size_t size)
{
	static struct golden_fields dg, dw;

	if (got->size == want->size && memcmp(got->data, want->data, got->size) == 0)
		return false;
	golden_decode(got->data, got->size, &dg);
	golden_decode(want->data, want->size, &dw);
	if (diff_fields(i, &dg, &dw, false, msg, size) || diff_fields(i, &dg, &dw, true, msg, size))
		return true;
	for (unsigned k = 0; k < got->size; k++) {
		if (got->data[k] != want->data[k]) {
			snprintf(msg, size, "packet %u: byte %u 0x%02x != 0x%02x", i, k, got->data[k],
				 want->data[k]);
			break;
		}
	}
	return true;
}

int golden_diff(const struct golden_pkts *got, const struct golden_pkts *want, char *msg,
		size_t size)
{
	unsigned n = got->n < want->n ? got->n : want->n;
	const struct golden_pkt *odd;
	char sum[160];

	msg[0] = '\0';
	for (unsigned i = 0; i < n; i++)
		if (diff_packet(i, &got->p[i], &want->p[i], msg, size))
			return -1;
	if (got->n == want->n)
		return 0;
	odd = got->n > want->n ? &got->p[n] : &want->p[n];
	golden_summary(odd->data, odd->size, sum, sizeof(sum));
	snprintf(msg, size, "%u packets, expected %u; packet %u %s: %s", got->n, want->n, n,
		 got->n > want->n ? "is extra" : "is missing", sum);
	return -1;
}

int golden_pcap_diff(const char *got_path, const char *want_path, char *msg, size_t size)
{
	struct golden_pkts *got = malloc(sizeof(*got)), *want = malloc(sizeof(*want));
	char why[512];
	int rc = -1;

	if (got == NULL || want == NULL)
		snprintf(msg, size, "out of memory");
	else if (golden_pcap_read(got_path, got, msg, size) == 0 &&
		 golden_pcap_read(want_path, want, msg, size) == 0 &&
		 (rc = golden_diff(got, want, why, sizeof(why))) != 0)
		snprintf(msg, size, "%s vs %s: %s", got_path, want_path, why);
	free(got);
	free(want);
	return rc;
}
