/* Internals shared by the launcher files: launcher.c (the backend interface and its
 * wrappers), launcher_proc.c (the process backend: names, plumbing, files, spawning, stop,
 * cleanup) and launcher_watch.c (the table of watched processes: pidfds, exit checks,
 * reaping, adoption). Not for use outside orchestrator/launcher*.c. */
#ifndef ORCH_LAUNCHER_INT_H
#define ORCH_LAUNCHER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "orchestrator/launcher.h"
#include "orchestrator/netdev.h"

#define LAUNCHER_CMDLINE_SIZE 8192
#define LAUNCHER_MAX_SPARES 16

/* The four interface names of one instance's two veth pairs, all made from one base. */
struct launcher_names {
	char if_in[ORCH_IFNAME_MAX], if_out[ORCH_IFNAME_MAX];
	char br_in[ORCH_IFNAME_MAX], br_out[ORCH_IFNAME_MAX];
	char prefix[ORCH_IFNAME_MAX];	/* the base, "snf" + 8 hex: also the DPDK --file-prefix */
};

/* The names made from 'base' (at most ORCH_IFNAME_MAX - 4 characters are used). */
void launcher_names_from_base(const char *base, struct launcher_names *n);

/* A port pair left on the bridge by an instance that ended, for the next launch. */
struct launcher_spare {
	struct launcher_names n;
	uint32_t ofports[2];
};

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
	struct launcher_spare spares[LAUNCHER_MAX_SPARES];	/* stack: the last parked first */
	unsigned n_spares;
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

/* ---- spare port pairs (launcher_spare.c) ---- */

/* Keep the ports of an instance that ended for reuse, when fewer than cfg.spare_ports are
 * kept and all four ends still exist. Returns whether it did (else remove them). */
bool launcher_spare_park(struct orch_launcher *l, const struct launcher_names *n,
			 const uint32_t ofports[2]);

/* Take a spare pair for a new instance: the one with base 'base' if kept, else the last
 * parked. Its ends are brought up and prepared again. Returns false when none is kept or
 * preparing failed (the failed pair is removed). */
bool launcher_spare_take(struct orch_launcher *l, const char *base, struct launcher_names *n,
			 uint32_t ofports[2]);

/* Remove the bridge ports and veths of 'n'; keeps going on errors, returns the first. */
int launcher_plumb_remove(struct orch_launcher *l, const struct launcher_names *n, char *err,
			  size_t errsz);

/* ---- files (launcher_proc.c) ---- */

/* The last non-empty line of the instance's log into 'buf'. */
void launcher_log_tail(const struct orch_launcher *l, const char *id, char *buf, size_t size);

#endif
