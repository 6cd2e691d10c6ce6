/* Firewall connection tracking: the canonical flow key, the stored connection value and the
 * TCP / UDP / ICMP echo state machine (pure functions, no I/O). */
#ifndef NFS_FIREWALL_FW_CONN_H
#define NFS_FIREWALL_FW_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>

#include "nf/flowkey.h"
#include "nf/parse.h"

/* Connection states; each has its own idle timeout (struct fw_timeouts). */
enum fw_state {
	FW_ST_NONE = 0,
	FW_ST_TCP_SYN_SENT,	/* the originator's SYN */
	FW_ST_TCP_SYN_RECV,	/* the responder's SYN-ACK, acknowledging that SYN */
	FW_ST_TCP_ESTABLISHED,	/* the originator's ACK of the SYN-ACK */
	FW_ST_TCP_FIN_WAIT,	/* a FIN in one direction */
	FW_ST_TCP_CLOSING,	/* a FIN in both directions */
	FW_ST_TCP_CLOSED,	/* an accepted RST */
	FW_ST_UDP,		/* UDP, only the originator has sent */
	FW_ST_UDP_REPLIED,	/* UDP, the responder has answered */
	FW_ST_ICMP,		/* ICMP echo: requests one way, replies the other */
	FW_ST__COUNT
};

/* Direction of a packet relative to its connection. */
enum fw_cdir { FW_ORIG = 0, FW_REPLY = 1 };

#define FW_CF_FIN_ORIG  0x01	/* the originator sent a FIN */
#define FW_CF_FIN_REPLY 0x02	/* the responder sent a FIN */
#define FW_CF_WS_ORIG   0x04	/* the originator's SYN had a window scale option */
#define FW_CF_WS_REPLY  0x08	/* the responder's SYN-ACK had one */

/* The canonical, direction-independent key of a connection: the two endpoints in a fixed
 * order (side a sorts below side b by address, then port), so both directions of a flow
 * compute the same key. For ICMP echo both ports hold the identifier. Network byte order. */
struct fw_ckey {
	rte_be32_t ip[2];	/* side a, side b */
	rte_be16_t port[2];
	uint8_t proto;
	uint8_t pad[3];		/* always zero */
} __attribute__((packed, aligned(8)));	/* hashed with 8-byte loads (rte_hash_crc) */
_Static_assert(sizeof(struct fw_ckey) == 16, "fw_ckey is 16 bytes (flow cache key, Redis key)");

/* One tracked connection, stored byte for byte in Redis (network byte order). Bytes 0-15
 * are the control part that transitions change (compared by fw_update.lua); bytes 16-31
 * are the sequence tracking that advances with every segment (merged by the scripts:
 * per direction, the serial maximum of 'end' and the maximum of 'maxwin'). */
struct fw_conn {
	uint8_t proto;
	uint8_t state;		/* enum fw_state */
	uint8_t orig;		/* key side (0 = a, 1 = b) that opened the connection */
	uint8_t flags;		/* FW_CF_* */
	uint8_t wscale[2];	/* window scale shift by enum fw_cdir (when FW_CF_WS_*) */
	uint8_t pad[2];
	rte_be32_t isn[2];	/* initial sequence number by enum fw_cdir (TCP) */
	rte_be32_t end[2];	/* highest seq + length seen by enum fw_cdir: its next sequence */
	rte_be32_t maxwin[2];	/* largest window advertised by enum fw_cdir (unscaled) */
} __attribute__((packed));
_Static_assert(sizeof(struct fw_conn) == 32, "fw_conn is 32 bytes on the wire and in Redis");
#define FW_CONN_CTL_SIZE 16

/* What the state machine needs from one packet, host byte order. */
struct fw_seg {
	uint8_t proto;
	uint8_t tcp_flags;
	uint8_t icmp_type;
	uint8_t wscale;		/* window scale option of a SYN, or 0xff */
	uint32_t seq, ack;
	uint32_t end;		/* seq + payload length + SYN + FIN */
	uint16_t win;
};

enum fw_step { FW_STEP_ACCEPT, FW_STEP_BAD, FW_STEP_REOPEN };

/* The canonical key of 'k' and the side (0 = a, 1 = b) its sender is on. */
void fw_ckey_make(const struct flow_key *k, struct fw_ckey *ck, uint8_t *side);

/* Fill 's' from a parsed packet; 'l4' points at its L4 header in the frame. */
void fw_seg_parse(const uint8_t *l4, const struct pkt_info *pi, struct fw_seg *s);

/* True when 's' may open a connection: a TCP SYN (no ACK, RST or FIN), any UDP datagram,
 * an ICMP echo request. */
bool fw_seg_can_open(const struct fw_seg *s);

/* A new connection opened by 's' from key side 'side'. */
void fw_conn_open(struct fw_conn *c, const struct fw_seg *s, uint8_t side);

/* Apply 's', sent from key side 'side', to the existing connection 'c' (modified in place
 * when accepted). FW_STEP_BAD: the segment violates the connection's state (e.g. an ACK
 * before the SYN-ACK, an RST outside the window); 'c' is unchanged. FW_STEP_REOPEN: a SYN
 * on a closing or closed connection: the caller may open a new one in its place. */
enum fw_step fw_conn_step(struct fw_conn *c, const struct fw_seg *s, uint8_t side);

/* True when the control parts (bytes 0-15) of 'a' and 'b' are equal. */
bool fw_conn_same_ctl(const struct fw_conn *a, const struct fw_conn *b);

/* True when 'a' and 'b' are the same connection (protocol, originator, originator's ISN). */
bool fw_conn_same_identity(const struct fw_conn *a, const struct fw_conn *b);

/* Merge the sequence tracking of 'other' into 'c' for each direction whose ISN is the same
 * in both (what fw_update.lua and fw_touch.lua do in the store). */
void fw_conn_merge_tracking(struct fw_conn *c, const struct fw_conn *other);

/* Short stable name of a state, e.g. "tcp_established". */
const char *fw_state_name(uint8_t state);

#endif
