/* OpenFlow 1.3 multipart messages: port stats, group stats and port descriptions
 * (conventions in ofp_msg.h).
 *
 * A switch may split a reply over several MULTIPART_REPLY messages with the same xid,
 * all but the last flagged OFPMPF_MORE. The reply decoders therefore append: decode
 * every part into the same struct (zeroed before the first), and free the arrays with
 * the matching _uninit() once done. A part that fails to decode adds nothing. */
#ifndef ORCH_OFP_MP_H
#define ORCH_OFP_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestrator/ofp_buf.h"
#include "orchestrator/ofp_msg.h"

/* Requests. 'port_no' OFPP_ANY asks for every port, 'group_id' OFPG_ALL for every group. */
int ofp_port_stats_request_encode(struct ofp_buf *b, uint32_t xid, uint32_t port_no);
int ofp_group_stats_request_encode(struct ofp_buf *b, uint32_t xid, uint32_t group_id);
int ofp_port_desc_request_encode(struct ofp_buf *b, uint32_t xid);

/* The multipart header of a MULTIPART_REQUEST or MULTIPART_REPLY ('msg_type'). */
int ofp_mp_decode_header(const uint8_t *msg, size_t size, uint8_t msg_type, uint16_t *mp_type,
			 bool *more, const char **why);

struct ofp_port_stats {
	uint32_t port_no;
	uint64_t rx_packets, tx_packets;
	uint64_t rx_bytes, tx_bytes;
	uint64_t rx_dropped, tx_dropped;
	uint64_t rx_errors, tx_errors;
	uint64_t rx_frame_err, rx_over_err, rx_crc_err, collisions;
	uint32_t duration_sec, duration_nsec;
};

struct ofp_port_stats_reply {
	size_t n;
	struct ofp_port_stats *stats;	/* owned; ofp_port_stats_reply_uninit() */
	bool more;			/* of the last part decoded */
};
int ofp_port_stats_reply_decode(const uint8_t *msg, size_t size, struct ofp_port_stats_reply *r,
				const char **why);
void ofp_port_stats_reply_uninit(struct ofp_port_stats_reply *r);

struct ofp_bucket_counter {
	uint64_t packet_count, byte_count;
};

struct ofp_group_stats {
	uint32_t group_id;
	uint32_t ref_count;	/* flows that point at the group */
	uint64_t packet_count, byte_count;
	uint32_t duration_sec, duration_nsec;
	size_t n_buckets;
	struct ofp_bucket_counter *buckets;	/* owned by the reply */
};

struct ofp_group_stats_reply {
	size_t n;
	struct ofp_group_stats *groups;	/* owned; ofp_group_stats_reply_uninit() */
	bool more;
};
int ofp_group_stats_reply_decode(const uint8_t *msg, size_t size,
				 struct ofp_group_stats_reply *r, const char **why);
void ofp_group_stats_reply_uninit(struct ofp_group_stats_reply *r);

struct ofp_port_desc_reply {
	size_t n;
	struct ofp_port *ports;		/* owned; ofp_port_desc_reply_uninit() */
	bool more;
};
int ofp_port_desc_reply_decode(const uint8_t *msg, size_t size, struct ofp_port_desc_reply *r,
			       const char **why);
void ofp_port_desc_reply_uninit(struct ofp_port_desc_reply *r);
/* The port called 'name' in 'r', or NULL. */
const struct ofp_port *ofp_port_desc_find(const struct ofp_port_desc_reply *r, const char *name);

#endif
