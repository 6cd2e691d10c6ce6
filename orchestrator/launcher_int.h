/* Internals shared by the launcher files: launcher.c (the backend interface and its
 * wrappers), launcher_proc.c (the process backend: names, plumbing, files, spawning, stop,
 * cleanup) and launcher_watch.c (the table of watched processes: pidfds, exit checks,
 * reaping, adoption). Not for use outside orchestrator/launcher*.c. */
#ifndef ORCH_LAUNCHER_INT_H
#define ORCH_LAUNCHER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "orchestrator/launcher.h"
#include "orchestrator/netdev.h"

#define LAUNCHER_CMDLINE_SIZE 8192

/* One process the launcher watches. */
struct launcher_proc {
	char id[ORCH_ID_MAX];
	pid_t pid;
	int pidfd;		/* readable once the process has ended */
	bool child;		/* ours to reap */
	bool reaped;
	int status;		/* wait status once reaped */
};

struct orch_launcher {
	const struct orch_launcher_ops *ops;
	struct orch_launcher_cfg cfg;
	struct netdev_ovs ovs;
	struct launcher_proc *procs;
	unsigned n_procs, cap_procs;
	unsigned next_cpu;	/* round robin of lcore -1 */
};

/* Write a reason into the caller's buffer (when there is one) and return 'ret'. */
int launcher_fail(int ret, char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- watched processes (launcher_watch.c) ---- */

struct launcher_proc *launcher_proc_find(struct orch_launcher *l, const char *id);
/* Watch 'pid' as instance 'id' through 'pidfd' (the table takes the descriptor). */
int launcher_proc_add(struct orch_launcher *l, const char *id, pid_t pid, int pidfd, bool child);
/* True once the process has ended (its pidfd is readable). */
bool launcher_proc_ended(const struct launcher_proc *p);
/* Whether /proc/<pid>/cmdline has "--id <id>" (or "--id=<id>"): the process is that NF
 * instance. */
bool launcher_proc_is_instance(pid_t pid, const char *id);

/* The process backend's operations kept with the table (see orch_launcher_ops). */
int launcher_process_adopt(struct orch_launcher *l, const struct orch_instance *inst, char *err,
			   size_t errsz);
int launcher_process_watch_fd(struct orch_launcher *l, const struct orch_instance *inst);
int launcher_process_check_exit(struct orch_launcher *l, const struct orch_instance *inst,
				struct launcher_exit *ex);
void launcher_process_reap(struct orch_launcher *l);
void launcher_process_destroy(struct orch_launcher *l);

/* ---- files (launcher_proc.c) ---- */

/* The last non-empty line of the instance's log into 'buf'. */
void launcher_log_tail(const struct orch_launcher *l, const char *id, char *buf, size_t size);

#endif
