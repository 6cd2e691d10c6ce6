/* Launching NF instances: the backend interface and the process backend (fork/exec on veths). */
#ifndef ORCH_LAUNCHER_H
#define ORCH_LAUNCHER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "orchestrator/model.h"

/* Theory of operation (process backend). An instance is one nf-<type> process with two
 * veth pairs: "<short>i" <-> "<short>i-b" (inside) and "<short>o" <-> "<short>o-b"
 * (outside), where <short> is "snf" + 8 hex digits of a hash of the bridge name and the
 * instance id (the same names again after a restart; different bridges do not collide).
 * The "-b" ends are ports of the OVS bridge; the NF opens the other ends with DPDK
 * af_packet (ethdev 0 inside, ethdev 1 outside). Start: veths, bridge ports (their
 * OpenFlow port numbers read back), <run_dir>/<id>.json (the NF's config), then the
 * process in a session of its own, output appended to <run_dir>/<id>.log. Nothing ties
 * the process to the orchestrator's life (no PDEATHSIG, no inherited descriptor): an
 * instance keeps running while the orchestrator is down, and a restarted orchestrator
 * adopts it (launcher_adopt). Exits are seen through a pidfd per instance (readable once
 * the process has ended), which works for children and adopted processes alike; children
 * are also reaped. Cleanup removes the ports, the veths, the config file and DPDK's runtime
 * directory of the instance; the log stays.
 *
 * Not thread-safe: one thread (the main loop) uses a launcher. */

struct orch_launcher_cfg {
	char backend[16];		/* "process" ("" = process) */
	char bin_dir[PATH_MAX];		/* holds nf-nat, nf-firewall, nf-lb */
	char run_dir[PATH_MAX];		/* config and log files of the instances (created) */
	char ovs_vsctl[PATH_MAX];	/* "" = ovs-vsctl from $PATH */
	char ovs_db[PATH_MAX];		/* ovs-vsctl --db, e.g. "unix:/run/snf/db.sock" */
	unsigned ovs_timeout_ms;	/* per ovs-vsctl call; 0 = 10000 */
	char bridge[ORCH_IFNAME_MAX];	/* the OVS bridge (datapath_type=netdev) */
	char store_url[256];		/* the NFs' --store */
	char store_password[128];	/* passed as $SNF_STORE_PASSWORD (not visible in argv) */
	unsigned heartbeat_ms;		/* the NFs' --stats-interval-ms; 0 = 100 */
	unsigned mtu;			/* veth MTU; 0 = the kernel's default */
	unsigned mem_mb;		/* EAL -m; 0 = 256 */
	int lcore;			/* EAL -l: a CPU, or -1 = spread over the CPUs we may use */
	unsigned idle_sleep_us;		/* the NFs' --idle-sleep-us (0 = busy-poll) */
	unsigned mbufs;			/* the NFs' --mbufs per port; 0 = 2047 */
	unsigned spare_ports;		/* port pairs of ended instances kept for reuse (4) */
};

/* Fill 'cfg' with the defaults above (no paths, no bridge). */
void launcher_cfg_default(struct orch_launcher_cfg *cfg);

/* How an instance ended. */
struct launcher_exit {
	bool status_known;	/* our child: 'status' is its wait status */
	int status;
	char desc[64];		/* "exit status 0", "killed by signal 9", "ended (not our child)" */
	char log_tail[160];	/* the last line of its log, "" if none */
};

struct orch_launcher;

/* A backend. Every function returns 0 or a negative errno with a reason in 'err', unless
 * said otherwise. 'inst' is the caller's record (see the launcher_* wrappers below). */
struct orch_launcher_ops {
	const char *name;
	int (*start)(struct orch_launcher *l, const struct orch_nf_spec *spec,
		     struct orch_instance *inst, char *err, size_t errsz);
	int (*stop)(struct orch_launcher *l, const struct orch_instance *inst, bool graceful,
		    char *err, size_t errsz);
	int (*cleanup)(struct orch_launcher *l, const struct orch_instance *inst, char *err,
		       size_t errsz);
	int (*adopt)(struct orch_launcher *l, const struct orch_instance *inst, char *err,
		     size_t errsz);
	int (*watch_fd)(struct orch_launcher *l, const struct orch_instance *inst);
	int (*check_exit)(struct orch_launcher *l, const struct orch_instance *inst,
			  struct launcher_exit *ex);
	void (*reap)(struct orch_launcher *l);
	void (*destroy)(struct orch_launcher *l);
};

extern const struct orch_launcher_ops launcher_process_ops;

/* A launcher with the backend named in cfg->backend; the configuration is copied. Returns
 * NULL with a reason in 'err' (unknown backend, bad bridge name, run dir not creatable).
 * The caller owns it and frees it with launcher_destroy(), which closes the launcher's
 * descriptors but leaves every instance running. */
struct orch_launcher *launcher_create(const struct orch_launcher_cfg *cfg, char *err,
				      size_t errsz);
void launcher_destroy(struct orch_launcher *l);
const struct orch_launcher_cfg *launcher_cfg(const struct orch_launcher *l);

/* Start instance inst->id (set by the caller, a valid --id; inst->nf = spec->name) of
 * 'spec': fills inst->pid, if_in/if_out, br_in/br_out, ofport_in/ofport_out, launched_ms
 * (wall clock) and state = LAUNCHING. It runs on a spare port pair when one is kept (its
 * names are then another instance's), else on new veths and ports (leftovers of an
 * earlier instance with the same id are removed first). On failure nothing is left
 * behind but a spare pair. The process may still fail right after (a bad config): its
 * exit shows on the watch fd. */
int launcher_start(struct orch_launcher *l, const struct orch_nf_spec *spec,
		   struct orch_instance *inst, char *err, size_t errsz);

/* SIGTERM ('graceful': the NF stops its ports, flushes its store writes and exits 0; give
 * it a few seconds, then stop it again without grace) or SIGKILL. Signals go through the
 * pidfd, never to a recycled pid. 0 when the process has already ended; -ESRCH when the
 * launcher neither started nor adopted it (and it is not running as that instance). */
int launcher_stop(struct orch_launcher *l, const struct orch_instance *inst, bool graceful,
		  char *err, size_t errsz);

/* Remove the instance's config file and DPDK runtime directory, and its bridge ports and
 * veths, or keep those as a spare pair (cfg.spare_ports). Idempotent. Names missing from
 * 'inst' are derived from its id. -EBUSY when its process still runs (stop it and wait for
 * its watch fd first). */
int launcher_cleanup(struct orch_launcher *l, const struct orch_instance *inst, char *err,
		     size_t errsz);

/* After an orchestrator restart: watch instance 'inst' (its id and pid from the store)
 * again. -ESRCH when pid 'inst->pid' no longer runs, or runs something that is not this
 * instance (its /proc/<pid>/cmdline lacks "--id <id>"). Adopting an instance already
 * watched is a no-op. */
int launcher_adopt(struct orch_launcher *l, const struct orch_instance *inst, char *err,
		   size_t errsz);

/* A descriptor that becomes readable (POLLIN) when the instance's process ends, for the
 * main loop's poll; owned by the launcher (do not close it). -ENOENT when the instance is
 * not watched (never started or adopted, or its exit was already collected). */
int launcher_watch_fd(struct orch_launcher *l, const struct orch_instance *inst);

/* Whether the instance's process has ended: 1 (then 'ex' is filled, a child is reaped,
 * its watch fd is closed and it is no longer watched: this reports each exit once), 0
 * while it runs, -ENOENT when not watched. 'ex' may be NULL. */
int launcher_check_exit(struct orch_launcher *l, const struct orch_instance *inst,
			struct launcher_exit *ex);

/* Reap every child of this launcher that has ended (waitpid WNOHANG on each, never
 * waitpid(-1): other children of the program are left alone). Call it on SIGCHLD or
 * from time to time; check_exit then reports the saved status. */
void launcher_reap(struct orch_launcher *l);

/* After an orchestrator restart: the instance port pairs on the bridge that no record
 * uses ('in_use(base, arg)' says whether one does, by the base of its names, "snf" + 8
 * hex) become spares again, up to cfg.spare_ports; the others are removed. */
void launcher_spares_adopt(struct orch_launcher *l, bool (*in_use)(const char *base, void *arg),
			   void *arg);

/* Whether 'ifname' (an instance's NF-side veth end) belongs to a port pair on this
 * launcher's bridge: its "-b" peer is a port of the bridge. */
bool launcher_iface_ours(struct orch_launcher *l, const char *ifname);

/* The four interface names of instance 'id' on 'bridge' (each ORCH_IFNAME_MAX bytes). */
void launcher_ifnames(const char *bridge, const char *id, char *if_in, char *if_out,
		      char *br_in, char *br_out);

#endif
