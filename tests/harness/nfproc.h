/* Test harness: a real NF binary (build/nf-nat) run as a child process on DPDK net_pcap
 * ports with --no-huge, and what it printed (its "counter NAME VALUE" lines). */
#ifndef TESTS_HARNESS_NFPROC_H
#define TESTS_HARNESS_NFPROC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define NFPROC_MAX_PORTS 2

/* What to run and on which pcaps. */
struct nfproc_cfg {
	const char *exe;		/* the NF binary, e.g. from nfproc_build_path() */
	const char *dir;		/* its stdout and stderr go to <dir>/<name>.stdout, .stderr */
	const char *name;
	unsigned lcore;			/* EAL -l: the one lcore it polls on */
	unsigned n_ports;		/* 1 (--one-armed) or 2 (port 0 inside, port 1 outside);
					 * 0 only to see the NF refuse to run without ports */
	const char *rx[NFPROC_MAX_PORTS];	/* pcap (or FIFO) read on each port */
	const char *tx[NFPROC_MAX_PORTS];	/* pcap written on each port (at close) */
};

/* One spawned NF process. */
struct nfproc {
	pid_t pid;		/* 0 when not running (never started, or reaped) */
	int status;		/* waitpid status once reaped */
	char out[PATH_MAX];	/* its stdout file */
	char err[PATH_MAX];	/* its stderr file */
};

/* One "counter NAME VALUE" line. */
struct nfproc_counter {
	char name[48];
	unsigned long long value;
};

/* '<build dir>/<rel>', the build dir being the parent of the directory holding the running
 * test binary (build/tests/test_x -> build/<rel>). Returns 0 or -errno. */
int nfproc_build_path(const char *rel, char *buf, size_t size);

/* The 'i'-th CPU this process may run on (wrapping around): spreads NF processes over
 * the CPUs of the test's affinity set. */
unsigned nfproc_pick_lcore(unsigned i);

/* Start the NF: EAL options (--no-huge, --no-pci, --no-shconf, ..., one net_pcap vdev per
 * port), "--", then the NF options 'nf_fmt' (printf format, split on spaces). The child
 * dies with the caller (PR_SET_PDEATHSIG). Returns 0 or -errno; the caller must end it
 * with nfproc_wait() or nfproc_kill(). */
int nfproc_start(struct nfproc *p, const struct nfproc_cfg *cfg, const char *nf_fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Wait up to 'timeout_ms' for the NF to exit. Returns 0 once reaped (see 'status'),
 * -ETIMEDOUT while it still runs. */
int nfproc_wait(struct nfproc *p, unsigned timeout_ms);

/* True when it was reaped after exit(0). */
bool nfproc_exited_ok(const struct nfproc *p);

/* SIGKILL it (if running) and reap it. Safe to call on a struct never started. */
void nfproc_kill(struct nfproc *p);

/* Wait up to 'timeout_ms' until its stderr contains 'needle'. Returns 0, -ECHILD when
 * it exited first (it is then reaped), or -ETIMEDOUT. */
int nfproc_wait_log(struct nfproc *p, const char *needle, unsigned timeout_ms);

/* The whole file 'path' as a NUL-terminated string ("" when missing); caller frees.
 * NULL only when out of memory. */
char *nfproc_slurp(const char *path);

/* Whether file 'path' exists and contains 'needle'. */
bool nfproc_file_has(const char *path, const char *needle);

/* The value of counter 'name' in its stdout, 0 when not printed (zero counters are not). */
unsigned long long nfproc_counter(const struct nfproc *p, const char *name);

/* Every counter it printed, in order, at most 'max' into 'out'. Returns how many. */
unsigned nfproc_counters(const struct nfproc *p, struct nfproc_counter *out, unsigned max);

/* EAL options of a command-line run: no packets, two net_null ports, lcore 0. */
#define NFPROC_CLI_EAL "--no-huge -m 128 --no-pci --no-shconf --no-telemetry --log-level=error " \
		       "-l 0 --vdev=net_null0 --vdev=net_null1"

/* A command-line run of an NF binary (EAL options NFPROC_CLI_EAL), its stdout
 * dropped, killed after 20 s. Its NF options are 'pre', "--stats-interval-ms 0", then
 * "'file_opt' FILE" when 'file_text' is not empty (FILE: a temporary file holding it), then
 * 'args' ('pre' and 'args' may be NULL). */
struct nfproc_cli {
	const char *exe;	/* under the build directory, e.g. "nf-nat" */
	const char *pre;
	const char *file_opt;	/* e.g. "--config" */
	const char *file_text;
	const char *args;
};

/* Run it to the end. Returns its exit status (-1 when it did not exit normally) with its
 * stderr in 'err', or -errno when it could not be run. */
int nfproc_cli_run(const struct nfproc_cli *c, char *err, size_t errsz);

#endif
