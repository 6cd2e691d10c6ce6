/* Test harness: golden scenarios run through a real NF binary (tests/harness/nfproc.h):
 * input pcaps in, every port's output compared with the expected pcaps, counters checked
 * against golden files. */
#ifndef TESTS_HARNESS_GOLDEN_RUN_H
#define TESTS_HARNESS_GOLDEN_RUN_H

#include <stddef.h>

#include "tests/harness/nfproc.h"

/* The directory of the golden files into 'buf': $SNF_GOLDEN_DIR if set, ./tests/golden if
 * it holds 'probe', else tests/golden next to the build directory. Returns 0 or -errno. */
int golden_dir(const char *probe, char *buf, size_t size);

/* One scenario: <golden_dir>/<name>.in<N>.pcap is read on port N, <out_dir>/<name>.out<N>.pcap
 * written, and must equal <golden_dir>/<name>.want<N>.pcap. */
struct golden_run {
	const char *exe;	/* the NF binary */
	const char *golden_dir;
	const char *out_dir;	/* also gets <name>.stdout and <name>.stderr */
	const char *name;
	unsigned n_ports;
	unsigned lcore;
};

/* Run the scenario with the NF options 'nf_fmt' (printf, split on spaces) until the NF exits
 * (at most 'timeout_ms'), then compare every port's output. Returns 0, or -1 with what went
 * wrong in 'msg': an input is missing, it did not start, did not exit, failed (and its
 * stderr), or the first difference of an output. The caller kills 'p' if it still runs. */
int golden_run(struct nfproc *p, const struct golden_run *r, unsigned timeout_ms, char *msg,
	       size_t size, const char *nf_fmt, ...) __attribute__((format(printf, 6, 7)));

/* Check the counters 'p' printed against the golden file 'path' of "NAME VALUE" lines: each
 * has that value, and no drop_* counter it does not list is non-zero. Returns 0, or -1 with
 * the first mismatch in 'msg' ("counter NAME is N, expected M", "unexpected NAME N"), or
 * -errno when 'path' cannot be read. */
int golden_counters_diff(const struct nfproc *p, const char *path, char *msg, size_t size);

#endif
