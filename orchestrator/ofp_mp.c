/* OpenFlow 1.3 multipart messages: port stats, group stats and port descriptions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/ofp_mp.h"
#include "orchestrator/ofp_proto.h"

#define MP_HEADER_SIZE 8	/* type, flags, pad */
#define PORT_STATS_SIZE 112
#define PORT_DESC_SIZE 64
#define GROUP_STATS_SIZE 40	/* without its bucket counters */
#define BUCKET_COUNTER_SIZE 16

/* ---- Requests ---- */

static size_t mp_request_start(struct ofp_buf *b, uint32_t xid, uint16_t mp_type)
{
	size_t start = ofp_msg_start(b, OFPT_MULTIPART_REQUEST, xid);

	ofp_buf_put_u16(b, mp_type);
	ofp_buf_put_u16(b, 0);	/* flags */
	ofp_buf_put_zeros(b, 4);
	return start;
}

int ofp_port_stats_request_encode(struct ofp_buf *b, uint32_t xid, uint32_t port_no)
{
	size_t start = mp_request_start(b, xid, OFPMP_PORT_STATS);

	ofp_buf_put_u32(b, port_no);
	ofp_buf_put_zeros(b, 4);
	return ofp_msg_finish(b, start);
}

int ofp_group_stats_request_encode(struct ofp_buf *b, uint32_t xid, uint32_t group_id)
{
	size_t start = mp_request_start(b, xid, OFPMP_GROUP);

	ofp_buf_put_u32(b, group_id);
	ofp_buf_put_zeros(b, 4);
	return ofp_msg_finish(b, start);
}

int ofp_port_desc_request_encode(struct ofp_buf *b, uint32_t xid)
{
	return ofp_msg_finish(b, mp_request_start(b, xid, OFPMP_PORT_DESC));
}

/* ---- Reply framing ---- */

int ofp_mp_decode_header(const uint8_t *msg, size_t size, uint8_t msg_type, uint16_t *mp_type,
			 bool *more, const char **why)
{
	struct ofp_header h;
	struct ofp_rd rd;
	int rc = ofp_msg_body(msg, size, msg_type, &h, &rd, why);

	if (rc < 0)
		return rc;
	*mp_type = ofp_rd_u16(&rd);
	*more = ofp_rd_u16(&rd) & OFPMPF_MORE;
	return rd.err ? ofp_bad(why, "multipart: truncated header") : 0;
}

/* Check a reply of 'mp_type' and point 'body' past its multipart header. */
static int mp_reply_body(const uint8_t *msg, size_t size, uint16_t mp_type, struct ofp_rd *body,
			 bool *more, const char **why)
{
	struct ofp_header h;
	uint16_t type;
	int rc = ofp_mp_decode_header(msg, size, OFPT_MULTIPART_REPLY, &type, more, why);

	if (rc < 0)
		return rc;
	if (type != mp_type) {
		if (why)
			*why = "multipart: not the expected reply type";
		return -EINVAL;
	}
	ofp_msg_body(msg, size, OFPT_MULTIPART_REPLY, &h, body, why);
	ofp_rd_skip(body, MP_HEADER_SIZE);
	return 0;
}

/* Make room for 'add' more elements of 'elem_size' after 'n' in '*arr'. */
static int array_grow(void **arr, size_t n, size_t add, size_t elem_size)
{
	void *p;

	if (add == 0)
		return 0;
	if (n + add > SIZE_MAX / elem_size)
		return -ENOMEM;
	p = realloc(*arr, (n + add) * elem_size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	return 0;
}

/* ---- Port stats ---- */

static void port_stats_decode(struct ofp_rd *rd, struct ofp_port_stats *s)
{
	s->port_no = ofp_rd_u32(rd);
	ofp_rd_skip(rd, 4);
	s->rx_packets = ofp_rd_u64(rd);
	s->tx_packets = ofp_rd_u64(rd);
	s->rx_bytes = ofp_rd_u64(rd);
	s->tx_bytes = ofp_rd_u64(rd);
	s->rx_dropped = ofp_rd_u64(rd);
	s->tx_dropped = ofp_rd_u64(rd);
	s->rx_errors = ofp_rd_u64(rd);
	s->tx_errors = ofp_rd_u64(rd);
	s->rx_frame_err = ofp_rd_u64(rd);
	s->rx_over_err = ofp_rd_u64(rd);
	s->rx_crc_err = ofp_rd_u64(rd);
	s->collisions = ofp_rd_u64(rd);
	s->duration_sec = ofp_rd_u32(rd);
	s->duration_nsec = ofp_rd_u32(rd);
}

int ofp_port_stats_reply_decode(const uint8_t *msg, size_t size, struct ofp_port_stats_reply *r,
				const char **why)
{
	struct ofp_rd rd;
	size_t i, add;
	bool more;
	int rc = mp_reply_body(msg, size, OFPMP_PORT_STATS, &rd, &more, why);

	if (rc < 0)
		return rc;
	if (rd.left % PORT_STATS_SIZE)
		return ofp_bad(why, "port_stats: body not a multiple of 112 bytes");
	add = rd.left / PORT_STATS_SIZE;
	if (array_grow((void **)&r->stats, r->n, add, sizeof(*r->stats)) < 0)
		return -ENOMEM;
	for (i = 0; i < add; i++)
		port_stats_decode(&rd, &r->stats[r->n + i]);
	r->n += add;
	r->more = more;
	return 0;
}

void ofp_port_stats_reply_uninit(struct ofp_port_stats_reply *r)
{
	free(r->stats);
	memset(r, 0, sizeof(*r));
}

/* ---- Port descriptions ---- */

int ofp_port_desc_reply_decode(const uint8_t *msg, size_t size, struct ofp_port_desc_reply *r,
			       const char **why)
{
	struct ofp_rd rd;
	size_t i, add;
	bool more;
	int rc = mp_reply_body(msg, size, OFPMP_PORT_DESC, &rd, &more, why);

	if (rc < 0)
		return rc;
	if (rd.left % PORT_DESC_SIZE)
		return ofp_bad(why, "port_desc: body not a multiple of 64 bytes");
	add = rd.left / PORT_DESC_SIZE;
	if (array_grow((void **)&r->ports, r->n, add, sizeof(*r->ports)) < 0)
		return -ENOMEM;
	for (i = 0; i < add && rc == 0; i++)
		rc = ofp_port_decode(&rd, &r->ports[r->n + i], why);
	if (rc < 0)
		return rc;
	r->n += add;
	r->more = more;
	return 0;
}

void ofp_port_desc_reply_uninit(struct ofp_port_desc_reply *r)
{
	free(r->ports);
	memset(r, 0, sizeof(*r));
}

const struct ofp_port *ofp_port_desc_find(const struct ofp_port_desc_reply *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->ports[i].name, name) == 0)
			return &r->ports[i];
	return NULL;
}

/* ---- Group stats ---- */

/* Count the group entries in 'rd' (a copy), checking that their lengths chain. */
static int group_stats_count(struct ofp_rd rd, size_t *n, const char **why)
{
	uint16_t len;

	for (*n = 0; rd.left; (*n)++) {
		len = ofp_rd_u16(&rd);
		if (rd.err || len < GROUP_STATS_SIZE || (len - GROUP_STATS_SIZE) % BUCKET_COUNTER_SIZE)
			return ofp_bad(why, "group_stats: bad entry length");
		ofp_rd_skip(&rd, len - 2);
		if (rd.err)
			return ofp_bad(why, "group_stats: entry length past the end of the message");
	}
	return 0;
}

/* Decode one entry whose length was checked by group_stats_count(). */
static int group_stats_decode(struct ofp_rd *rd, struct ofp_group_stats *g)
{
	uint16_t len = ofp_rd_u16(rd);
	size_t i;

	memset(g, 0, sizeof(*g));
	ofp_rd_skip(rd, 2);
	g->group_id = ofp_rd_u32(rd);
	g->ref_count = ofp_rd_u32(rd);
	ofp_rd_skip(rd, 4);
	g->packet_count = ofp_rd_u64(rd);
	g->byte_count = ofp_rd_u64(rd);
	g->duration_sec = ofp_rd_u32(rd);
	g->duration_nsec = ofp_rd_u32(rd);
	g->n_buckets = (len - GROUP_STATS_SIZE) / BUCKET_COUNTER_SIZE;
	if (g->n_buckets == 0)
		return 0;
	g->buckets = calloc(g->n_buckets, sizeof(*g->buckets));
	if (!g->buckets)
		return -ENOMEM;
	for (i = 0; i < g->n_buckets; i++) {
		g->buckets[i].packet_count = ofp_rd_u64(rd);
		g->buckets[i].byte_count = ofp_rd_u64(rd);
	}
	return 0;
}

static void group_stats_free(struct ofp_group_stats *groups, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(groups[i].buckets);
}

int ofp_group_stats_reply_decode(const uint8_t *msg, size_t size,
				 struct ofp_group_stats_reply *r, const char **why)
{
	struct ofp_rd rd;
	size_t i, add = 0;
	bool more;
	int rc = mp_reply_body(msg, size, OFPMP_GROUP, &rd, &more, why);

	if (rc == 0)
		rc = group_stats_count(rd, &add, why);
	if (rc == 0)
		rc = array_grow((void **)&r->groups, r->n, add, sizeof(*r->groups));
	for (i = 0; rc == 0 && i < add; i++)
		rc = group_stats_decode(&rd, &r->groups[r->n + i]);
	if (rc < 0) {
		if (i)	/* the entries decoded so far; the failed one has no buckets */
			group_stats_free(r->groups + r->n, i);
		return rc;
	}
	r->n += add;
	r->more = more;
	return 0;
}

void ofp_group_stats_reply_uninit(struct ofp_group_stats_reply *r)
{
	group_stats_free(r->groups, r->n);
	free(r->groups);
	memset(r, 0, sizeof(*r));
}
