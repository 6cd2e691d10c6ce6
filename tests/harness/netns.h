/* Test harness: network namespaces held by a child process of the test (they vanish with
 * it, whatever happens), commands and programs run inside them, sockets opened in them.
 * A namespace is entered with nsenter(1), so 'ns' NULL always means the test's own. */
#ifndef TESTS_HARNESS_NETNS_H
#define TESTS_HARNESS_NETNS_H

#include <stddef.h>
#include <sys/types.h>

#include "tests/harness/nfproc.h"

/* One namespace, alive as long as its holder process 'pid' (0: none). */
struct netns {
	pid_t pid;
};

/* Fork a holder that dies with the test (PR_SET_PDEATHSIG), unshares a new network
 * namespace with loopback up, and sleeps. Returns 0 or a negative errno. */
int netns_create(struct netns *ns);
/* Kill and reap the holder: the namespace and the interfaces in it go away once the
 * programs run in it have ended. Safe on a namespace never created. */
void netns_destroy(struct netns *ns);

/* Run the printf-formatted shell command in 'ns' and wait for it. Its output (stdout and
 * stderr, NUL-terminated, truncated) goes into 'out' when not NULL. Returns its exit
 * status, or a negative errno when it could not run. */
int netns_run(const struct netns *ns, char *out, size_t outsize, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Start the printf-formatted shell command in 'ns' in the background, its stdout and
 * stderr in <dir>/<name>.stdout and .stderr: 'p' then works with nfproc_wait(),
 * nfproc_kill(), nfproc_wait_log() and nfproc_counter(). It runs under sh -c and dies
 * with the test: start it with "exec " to make the pid the program's own (signals reach
 * it). Returns 0 or a negative errno. */
int netns_spawn(const struct netns *ns, struct nfproc *p, const char *dir, const char *name,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* socket(2) in 'ns' (the descriptor keeps working from the test's namespace). Returns the
 * descriptor or a negative errno. */
int netns_socket(const struct netns *ns, int domain, int type);

/* Move interface 'ifname' of the test's namespace into 'ns'. */
int netns_move_link(const struct netns *ns, const char *ifname);

#endif
