/* Internals shared by the steering files: steer.c (state, changes, barriers),
 * steer_resync.c (the resync after a (re)connection), steer_ports.c (the port table),
 * steer_flows.c (the OpenFlow program of the base flows and of one NF) and steer_arp.c
 * (packet-ins: ARP learning, answering and forwarding, resolution of delivery misses).
 * Not for use outside orchestrator/steer*.c. */
#ifndef ORCH_STEER_PRIV_H
#define ORCH_STEER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestrator/ofconn.h"
#include "orchestrator/ofp_buf.h"
#include "orchestrator/ofp_mod.h"
#include "orchestrator/ofp_msg.h"
#include "orchestrator/ofp_mp.h"
#include "orchestrator/steer.h"

#define STEER_LOG "steer"

/* Priorities in table 0 (the delivery tables use STEER_PRIO_NF for learned hosts). */
#define STEER_PRIO_ARP 1000
#define STEER_PRIO_NF 100
#define STEER_PRIO_MISS 0

#define STEER_MAX_NEIGH 4096	/* learned hosts (both sides) */
#define STEER_RESOLVE_RING 64	/* recent ARP requests we sent, for rate limiting */
#define STEER_RESOLVE_GAP_US 200000	/* at most one request per host and side per 200 ms */
#define STEER_MISS_LEN 128	/* bytes of an unresolved frame sent to the controller */

/* What the switch is known to hold of an NF's two groups. */
enum steer_groups { STEER_G_UNKNOWN, STEER_G_ABSENT, STEER_G_PRESENT };

/* One NF as last applied. */
struct steer_entry {
	struct steer_nf nf;
	struct steer_member members[ORCH_SLOTS];
	unsigned n_members;
	char slots[ORCH_SLOTS][ORCH_ID_MAX];
	enum steer_groups groups;
	bool uplinks_installed;		/* the uplink flows of 'nf' are on the switch */
};

/* A learned host: frames for 'ip' leaving instances towards 'table''s side get eth_dst
 * 'mac' and leave through 'port' (the uplink the host's ARP came in on). */
struct steer_neigh {
	uint32_t ip;			/* host order */
	uint8_t mac[6];
	uint8_t table;			/* STEER_TABLE_DELIVER_IN or _OUT */
	uint32_t port;
};

/* A recent ARP request of ours, for rate limiting. */
struct steer_resolve {
	uint32_t ip;
	uint8_t table;
	uint64_t at_us;
};

/* A bridge port from the port description. */
struct steer_port {
	char name[OFP_PORT_NAME_LEN + 1];
	uint32_t port_no;
};

/* One caller callback waiting for a barrier. */
struct steer_cb {
	steer_done_cb *done;
	void *arg;
};

enum steer_phase {
	STEER_DOWN,	/* not connected, or connected and not resynced yet */
	STEER_SYNCING,	/* resync waiting for the group stats: changes are deferred */
	STEER_UP,
};

enum steer_wait_kind { STEER_WAIT_BARRIER, STEER_WAIT_PORTS, STEER_WAIT_SYNC };

/* The context of a barrier or request: freed by the ofconn callback, which always comes
 * (reply, connection loss, or -ECANCELED from ofconn_destroy). */
struct steer_wait {
	struct steer *s;		/* NULL once the steer is destroyed */
	struct steer_wait *next;
	enum steer_wait_kind kind;
	uint64_t seq;			/* STEER_WAIT_SYNC: the resync it belongs to */
	struct steer_cb *cbs;		/* owned */
	size_t n_cbs;
	struct ofp_port_desc_reply ports;	/* STEER_WAIT_PORTS: parts so far */
	struct ofp_group_stats_reply groups;	/* STEER_WAIT_SYNC: parts so far */
};

struct steer {
	struct ofconn *conn;		/* not owned */
	struct ofp_buf buf;		/* scratch for one message */
	int send_err;			/* first send error of the current batch */
	enum steer_phase phase;
	uint64_t gen;			/* ofconn generation of the last resync */
	uint64_t sync_seq;		/* bumped by every resync */

	struct steer_entry *entries;	/* NFs as last applied */
	size_t n_entries, cap_entries;
	struct steer_nf *removals;	/* removed while not up: deleted at the next resync */
	size_t n_removals, cap_removals;
	struct steer_cb *deferred;	/* callbacks of changes made while syncing */
	size_t n_deferred, cap_deferred;
	struct steer_wait *waits;	/* live barrier and request contexts */
	bool snap_valid;		/* 'snap' holds the group ids the switch reported */
	uint32_t *snap;			/* at the last resync, minus those we deleted */
	size_t n_snap;

	struct steer_neigh *neighs;
	size_t n_neighs, cap_neighs;
	struct steer_resolve resolves[STEER_RESOLVE_RING];
	unsigned next_resolve;

	struct steer_port *ports;
	size_t n_ports;

	struct steer_stats stats;
};

/* ---- steer.c ---- */

/* Run the callbacks 'cbs' with 'status' (the array stays the caller's). */
void steer_cbs_fire(struct steer_cb *cbs, size_t n, int status);
/* Append ('done', 'arg') to a callback array. 0 or -ENOMEM. */
int steer_cbs_push(struct steer_cb **cbs, size_t *n, size_t *cap, steer_done_cb *done, void *arg);
/* A new context linked on 's->waits', or NULL. */
struct steer_wait *steer_wait_new(struct steer *s, enum steer_wait_kind kind);
/* Take 'w' off its steer's list (if the steer still exists). */
void steer_wait_unlink(struct steer_wait *w);
/* Unlink 'w' and free it with its callbacks (and any reply parts). */
void steer_wait_free(struct steer_wait *w);
/* Send a barrier that completes the callbacks 'cbs' (taken over, even on failure). */
int steer_barrier(struct steer *s, struct steer_cb *cbs, size_t n_cbs);

/* Encode one message into the scratch buffer and queue it on the connection. Returns 0
 * or a negative errno; the first failure of a batch is also kept in 's->send_err' (later
 * sends still run). */
int steer_send_flow(struct steer *s, const struct ofp_flow_mod *fm);
int steer_send_group(struct steer *s, const struct ofp_group_mod *gm);
int steer_send_packet(struct steer *s, uint32_t out_port, const uint8_t *frame, size_t size);
/* The entry of the NF using 'port' as inside (STEER_TABLE_DELIVER_IN) or outside uplink,
 * or NULL. */
const struct steer_entry *steer_entry_by_uplink(const struct steer *s, uint32_t port,
						uint8_t *table);
/* The entry with an instance port 'port' on 'table''s side, or NULL. */
const struct steer_entry *steer_entry_by_instance(const struct steer *s, uint32_t port,
						  uint8_t table);

/* ---- steer_flows.c ---- */

/* Table-miss drop in table 0, ARP to the controller, delivery misses to the controller. */
void steer_flows_base(struct steer *s);
/* The whole program of 'e' (old: what was installed before, NULL after a resync or the
 * first time): instance egress flows, both groups, the uplink flows, and the removal of
 * what 'old' had that 'e' has not. Updates e->groups and e->uplinks_installed. */
void steer_flows_nf(struct steer *s, struct steer_entry *e, const struct steer_entry *old);
/* Every flow (by cookie) and both groups of 'nf'. */
void steer_flows_nf_delete(struct steer *s, const struct steer_nf *nf);
/* The delivery flow of a learned host (ADD: replaces the previous one for its IP). */
void steer_flows_neigh(struct steer *s, const struct steer_neigh *n);
/* Delete the learned delivery flows that output to 'port' (an uplink no NF uses now). */
void steer_flows_neigh_delete_port(struct steer *s, uint32_t port);

/* ---- steer_arp.c ---- */

/* Reinstall every learned delivery flow (after a reconnection). */
void steer_arp_resync(struct steer *s);
/* Forget the hosts learned on 'port' and delete their flows. */
void steer_arp_forget_port(struct steer *s, uint32_t port);
void steer_arp_packet_in(struct steer *s, const struct ofp_packet_in *pin);

/* ---- steer_resync.c ---- */

/* Forget group 'id' from the snapshot (we deleted it). */
void steer_snap_remove(struct steer *s, uint32_t id);
/* What the switch holds of 'nf''s groups, as far as we know. */
enum steer_groups steer_snap_groups(const struct steer *s, const struct steer_nf *nf);
/* Remember the removal of 'nf' for the next resync. */
void steer_removals_push(struct steer *s, const struct steer_nf *nf);
/* Bring the steer up to the connection: -ENOTCONN when there is none, a resync when it is
 * new. Returns 0 when changes can be sent or deferred. */
int steer_check_conn(struct steer *s);

#endif
