/* Test harness: golden scenarios through a real NF binary, and golden counter files. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness/golden.h"
#include "tests/harness/golden_run.h"

int golden_dir(const char *probe, char *buf, size_t size)
{
	const char *env = getenv("SNF_GOLDEN_DIR");
	char local[512];

	snprintf(local, sizeof(local), "tests/golden/%s", probe);
	if (env != NULL && env[0] != '\0')
		return (size_t)snprintf(buf, size, "%s", env) < size ? 0 : -ENAMETOOLONG;
	if (access(local, R_OK) == 0)
		return (size_t)snprintf(buf, size, "tests/golden") < size ? 0 : -ENAMETOOLONG;
	return nfproc_build_path("../tests/golden", buf, size);
}

/* "<dir>/<name>.<kind><port>.pcap" into the PATH_MAX buffer 'buf'. */
static int pcap_path(char *buf, const char *dir, const char *name, const char *kind,
		     unsigned port)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s.%s%u.pcap", dir, name, kind, port);

	return n > 0 && n < PATH_MAX ? 0 : -ENAMETOOLONG;
}

/* Start 'r' with the NF options 'args'. */
static int run_start(struct nfproc *p, const struct golden_run *r, const char *args, char *msg,
		     size_t size)
{
	static char rx[NFPROC_MAX_PORTS][PATH_MAX], tx[NFPROC_MAX_PORTS][PATH_MAX];
	struct nfproc_cfg cfg = { .exe = r->exe, .dir = r->out_dir, .name = r->name,
				  .n_ports = r->n_ports, .lcore = r->lcore };
	int rc;

	for (unsigned i = 0; i < r->n_ports && i < NFPROC_MAX_PORTS; i++) {
		if (pcap_path(rx[i], r->golden_dir, r->name, "in", i) != 0 ||
		    pcap_path(tx[i], r->out_dir, r->name, "out", i) != 0) {
			snprintf(msg, size, "%s: path too long", r->name);
			return -1;
		}
		if (access(rx[i], R_OK) != 0) {
			snprintf(msg, size, "%s: %s (make golden-pcaps)", rx[i], strerror(errno));
			return -1;
		}
		cfg.rx[i] = rx[i];
		cfg.tx[i] = tx[i];
	}
	rc = nfproc_start(p, &cfg, "%s", args);
	if (rc != 0)
		snprintf(msg, size, "cannot start %s: %s", r->exe, strerror(-rc));
	return rc != 0 ? -1 : 0;
}

/* Wait for the end of 'r' and that it went well. */
static int run_end(struct nfproc *p, const struct golden_run *r, unsigned timeout_ms, char *msg,
		   size_t size)
{
	char *err;

	if (nfproc_wait(p, timeout_ms) != 0) {
		snprintf(msg, size, "%s still running after %u ms", r->exe, timeout_ms);
		return -1;
	}
	if (nfproc_exited_ok(p))
		return 0;
	err = nfproc_slurp(p->err);
	snprintf(msg, size, "%s: exit status %#x, stderr:\n%s", r->exe, p->status, err ? err : "");
	free(err);
	return -1;
}

int golden_run(struct nfproc *p, const struct golden_run *r, unsigned timeout_ms, char *msg,
	       size_t size, const char *nf_fmt, ...)
{
	char args[2048], got[PATH_MAX], want[PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, nf_fmt);
	n = vsnprintf(args, sizeof(args), nf_fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(args)) {
		snprintf(msg, size, "%s: NF options too long", r->name);
		return -1;
	}
	if (run_start(p, r, args, msg, size) != 0 || run_end(p, r, timeout_ms, msg, size) != 0)
		return -1;
	for (unsigned i = 0; i < r->n_ports; i++) {
		if (pcap_path(got, r->out_dir, r->name, "out", i) != 0 ||
		    pcap_path(want, r->golden_dir, r->name, "want", i) != 0) {
			snprintf(msg, size, "%s: path too long", r->name);
			return -1;
		}
		if (golden_pcap_diff(got, want, msg, size) != 0)
			return -1;
	}
	return 0;
}

/* Whether 'c' is a drop_* counter that is not a word of 'listed' (" a b c "). */
static bool drop_unlisted(const struct nfproc_counter *c, const char *listed)
{
	char pat[sizeof(c->name) + 2];

	snprintf(pat, sizeof(pat), " %.*s ", (int)sizeof(c->name) - 1, c->name);
	return strncmp(c->name, "drop_", 5) == 0 && strstr(listed, pat) == NULL;
}

/* Check each "NAME VALUE" line of 'f'; the names go into 'listed' (" a b c "). */
static int counters_listed(const struct nfproc *p, FILE *f, char *listed, size_t listed_size,
			   char *msg, size_t size)
{
	char line[128], name[48];
	unsigned long long want, got;

	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%47s %llu", name, &want) != 2)
			continue;
		got = nfproc_counter(p, name);
		if (got != want) {
			snprintf(msg, size, "counter %s is %llu, expected %llu", name, got, want);
			return -1;
		}
		strncat(listed, name, listed_size - strlen(listed) - 2);
		strcat(listed, " ");
	}
	return 0;
}

int golden_counters_diff(const struct nfproc *p, const char *path, char *msg, size_t size)
{
	struct nfproc_counter printed[128];
	char listed[1024] = " ";
	FILE *f = fopen(path, "r");
	unsigned n;
	int rc;

	if (f == NULL) {
		rc = -errno;
		snprintf(msg, size, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = counters_listed(p, f, listed, sizeof(listed), msg, size);
	fclose(f);
	n = rc == 0 ? nfproc_counters(p, printed, 128) : 0;
	for (unsigned i = 0; i < n; i++) {
		if (drop_unlisted(&printed[i], listed)) {
			snprintf(msg, size, "unexpected %s %llu", printed[i].name, printed[i].value);
			return -1;
		}
	}
	return rc;
}
