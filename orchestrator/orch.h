/* The orchestrator daemon's core as main.c sees it: creation from a configuration, restore
 * after a restart, the main loop and shutdown. (core.h is what the REST API sees of it.)
 *
 * Theory of operation. The desired state (NF specs) lives in Redis and in memory; the API
 * thread changes it under the core's lock and wakes the main loop, which alone launches,
 * steers, watches and stops instances (orch_reconcile.c), talks OpenFlow (orch_steer.c) and
 * reads heartbeats (orch_loop.c). Every instance record is written to Redis when its state
 * changes, so a restarted orchestrator adopts the running instances instead of duplicating
 * them (orch_restore.c). Nothing in memory matters only in memory: the NFs' flow state is
 * in Redis too, and the bridge keeps its flows while the orchestrator is down (fail_mode
 * secure). */
#ifndef ORCH_ORCH_H
#define ORCH_ORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datastore/store.h"
#include "orchestrator/launcher.h"
#include "orchestrator/model.h"

struct orch;

struct orch_cfg {
	struct store_cfg store;			/* Redis: desired and observed state, heartbeats */
	struct orch_launcher_cfg launcher;	/* bridge, OVS db, bin and run dirs, NF --store */
	char uplink_in[ORCH_IFNAME_MAX];	/* bridge port facing the clients (inside) */
	char uplink_out[ORCH_IFNAME_MAX];	/* bridge port facing the servers (outside) */
	char of_addr[64];			/* OpenFlow listen address (the bridge connects) */
	uint16_t of_port;
	unsigned heartbeat_ms;			/* the NFs' heartbeat interval */
	unsigned start_timeout_ms;		/* first heartbeat due within this of a launch */
	unsigned drain_timeout_ms;		/* stop a draining instance after this at the latest */
	int nf_nice;				/* CPU priority of the instances (-20..19; 0: as is) */
	bool stop_instances_on_exit;
};

/* Fill 'cfg' with the defaults (no bridge, no uplinks, no paths). */
void orch_cfg_default(struct orch_cfg *cfg);

/* Open the store connections and the launcher, make sure the bridge and its uplinks exist
 * (ovs-vsctl: fail_mode and protocols first, then the controller), listen for the bridge's
 * OpenFlow connection and create the steering. NULL with a reason in 'err'. The caller
 * owns the core (orch_destroy). */
struct orch *orch_create(const struct orch_cfg *cfg, char *err, size_t errsz);

/* Load the NFs and instances from Redis, adopt the instances that still run, mark the
 * others failed (the reconciler replaces them), stop orphans of this bridge, and re-apply
 * the stored slot tables. Returns 0 or a negative errno with a reason in 'err' (-EIO: the
 * store is unreachable). */
int orch_restore(struct orch *o, char *err, size_t errsz);

/* The main loop: until orch_stop(). Returns 0 or a negative errno. */
int orch_run(struct orch *o);

/* Ask orch_run() to return. Async-signal-safe. */
void orch_stop(struct orch *o);

/* Close everything. Instances keep running (a restarted orchestrator adopts them) unless
 * cfg.stop_instances_on_exit: then they are stopped and cleaned up first. */
void orch_destroy(struct orch *o);

#endif
