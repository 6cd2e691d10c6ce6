/* OpenFlow steering of NF chains on one Open vSwitch bridge: traffic entering from an NF's
 * inside and outside uplinks is spread over the NF's ready instances through a fixed set
 * of ORCH_SLOTS slot buckets per side, so one flow stays on one instance while membership
 * is unchanged and a membership change moves only the slots of the instances that came or
 * went (about 1/n of the flows).
 *
 * Per NF (all flows carry the NF's cookie, so they are removed together):
 *   inside uplink  -> select group "in"  (ORCH_SLOTS buckets, bucket i -> slot i's instance inside port)
 *   outside uplink, IPv4 to an owned address (NAT public IPs, LB VIPs) or any IPv4 (firewall)
 *                  -> select group "out" (same slots, instance outside ports)
 *   instance inside port  -> inside delivery table (1)  -> inside uplink
 *   instance outside port -> outside delivery table (2) -> outside uplink
 * L2: NFs rewrite addresses, not MACs, so frames leaving an instance get the destination
 * host's MAC from the delivery table of their side, keyed by IPv4 destination (shared by
 * the NFs: host addresses are unique on the bridge), filled from ARP: every ARP
 * packet is copied to the controller, which learns (IP, MAC, side) of its sender and
 * forwards it between the two uplinks unchanged (the uplinks form one L2 segment); ARP
 * requests for owned addresses are answered by the controller (packet-out) with a virtual
 * MAC. A frame to a destination not learned yet goes to the controller, which sends an
 * ARP request for it out of that side and drops the frame (the sender retransmits).
 * Every change ends with a barrier; the caller's callback runs when it is confirmed.
 *
 * Measured on OVS 3.1 (tests/unit/test_steer.c): an OpenFlow 1.3 select group is hashed
 * by the datapath with hash(sym_l4), and with a fixed bucket count a flow keeps its bucket
 * across MODIFYs of the buckets' outputs. sym_l4 covers TCP and SCTP ports but not UDP
 * ports: all UDP between two hosts shares one slot (one instance). */
#ifndef ORCH_STEER_H
#define ORCH_STEER_H

#include <stdbool.h>
#include <stdint.h>

#include "orchestrator/model.h"
#include "orchestrator/ofconn.h"

struct steer;

/* Flow tables: table 0 classifies (ARP to the controller, uplinks to the NFs' select
 * groups, instance ports to delivery), tables 1 and 2 deliver the frames leaving instance
 * inside ports to the inside uplinks and those leaving outside ports to the outside
 * uplinks, keyed by ipv4_dst (one table per side, so a frame never changes sides). */
#define STEER_TABLE_CLASSIFY 0
#define STEER_TABLE_DELIVER_IN 1
#define STEER_TABLE_DELIVER_OUT 2

/* Cookies of the flows that belong to no NF: the base flows (table-miss drop, ARP to the
 * controller, delivery misses to the controller) and the learned delivery flows. */
#define STEER_COOKIE_BASE 0x57ee700000000000ull
#define STEER_COOKIE_DELIVERY 0x57ee700000000001ull

/* When an instance leaves the slots, the flows taking its output to delivery stay until
 * they have been idle this long (a draining instance still emits what it holds). */
#define STEER_DRAIN_IDLE_S 10

/* The locally administered MAC the controller answers ARP requests for owned addresses
 * with, and sends its own ARP requests from: 02:00:5e:57:ee:01. */
extern const uint8_t steer_vmac[6];

/* What the controller did, for tests and metrics. */
struct steer_stats {
	uint64_t n_packet_in;		/* every packet-in handed to steer_packet_in() */
	uint64_t n_arp_learned;		/* (IP, MAC, side) entries added or changed */
	uint64_t n_arp_replied;		/* requests for owned addresses answered */
	uint64_t n_arp_forwarded;	/* ARP frames passed to the other uplink */
	uint64_t n_arp_requests;	/* requests sent for unresolved destinations */
	uint64_t n_resyncs;		/* steer_resync() runs */
};

/* One ready instance as steering sees it. */
struct steer_member {
	char id[ORCH_ID_MAX];
	uint32_t ofport_in;	/* bridge side of the instance's inside veth */
	uint32_t ofport_out;
};

/* What one NF's steering needs. */
struct steer_nf {
	char name[ORCH_NAME_MAX];
	uint64_t cookie;		/* unique per NF (e.g. a hash of its name) */
	uint32_t group_base;		/* group ids group_base (in) and group_base + 1 (out) */
	uint32_t uplink_in, uplink_out;	/* OpenFlow ports of the inside / outside uplinks */
	uint32_t owned_ips[64];		/* network order; n_owned == 0: all IPv4 from outside */
	unsigned n_owned;
};

/* Called once the change is confirmed by a barrier reply (status 0), or failed (status < 0,
 * e.g. the connection was lost: the change is re-applied on reconnection by the resync). */
typedef void steer_done_cb(void *arg, int status);

/* 'c' stays owned by the caller and must outlive the steer. */
struct steer *steer_create(struct ofconn *c);
void steer_destroy(struct steer *s);

/* Pure slot assignment: given the previous table ('slots', ids or "" for free) and the new
 * member set, reassign only the slots whose instance left, then even out the counts by
 * moving as few slots as possible. Deterministic. With no member every slot is "". */
void steer_assign_slots(char slots[ORCH_SLOTS][ORCH_ID_MAX], const struct steer_member *members,
			unsigned n_members);

/* Program (or reprogram) NF 'nf' with its ready 'members' and the slot table 'slots'
 * (updated in place with steer_assign_slots first). Returns 0 when the messages were
 * queued, a negative errno otherwise (-ENOTCONN: not connected; the resync will apply it).
 * 'done' (may be NULL) runs only after a 0 return: once the barrier confirms the change,
 * or with the error that lost it (-EPROTO: the switch rejected a message, see the log;
 * -ECANCELED from steer_destroy()). The groups always have ORCH_SLOTS buckets (ADDed the
 * first time, MODIFYed after), except with no member: then they have none and the NF's
 * traffic is dropped (its uplink flows stay). Members that left keep their egress flows
 * for STEER_DRAIN_IDLE_S of idleness. Member ids must be distinct and non-empty, ports
 * non-zero, at most ORCH_SLOTS members; an NF's cookie and group_base cannot change
 * (steer_remove() it first): -EINVAL. While a resync waits for the switch's group stats,
 * the change is stored and confirmed by the resync's barrier. */
int steer_apply(struct steer *s, const struct steer_nf *nf, const struct steer_member *members,
		unsigned n_members, char slots[ORCH_SLOTS][ORCH_ID_MAX], steer_done_cb *done,
		void *arg);

/* Remove every flow and group of 'nf' (by cookie and group ids), and the delivery flows
 * of hosts learned on uplinks no other NF uses. 'done' as for steer_apply(); -ENOTCONN
 * when not connected: the removal is then sent by the next resync. */
int steer_remove(struct steer *s, const struct steer_nf *nf, steer_done_cb *done, void *arg);

/* After a (re)connection (call it from the ofconn's connected callback; a change made on
 * a new connection without it resyncs first): reinstall the base flows and the learned
 * delivery flows, ask the switch which groups it kept (group stats), then reprogram every
 * NF last applied (MODIFY for kept groups, ADD for the others) and the removals made
 * while disconnected, and confirm with one barrier. Also refreshes the port table. */
void steer_resync(struct steer *s);

/* Hand the packet-ins of the connection to the steer: ARP (learning, answers for owned
 * addresses, forwarding between the uplinks) and delivery misses (ARP requests). */
void steer_packet_in(struct steer *s, const struct ofp_packet_in *pin);

/* The OpenFlow port number of bridge interface 'ifname' from the last port description,
 * or 0 when unknown; steer_refresh_ports() asks the switch again (cb when known). */
uint32_t steer_port_no(const struct steer *s, const char *ifname);
int steer_refresh_ports(struct steer *s, steer_done_cb *done, void *arg);

/* Hand the PORT_STATUS messages of the connection to the steer (keeps steer_port_no()
 * current between refreshes). */
void steer_port_status(struct steer *s, const struct ofp_port_status *ps);

void steer_get_stats(const struct steer *s, struct steer_stats *stats);

#endif
