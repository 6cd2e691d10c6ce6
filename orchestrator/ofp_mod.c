/* OpenFlow 1.3 FLOW_MOD and GROUP_MOD: typed structs, encoders and decoders. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/ofp_mod.h"
#include "orchestrator/ofp_msg.h"
#include "orchestrator/ofp_proto.h"

#define BUCKET_HEADER_SIZE 16	/* len, weight, watch_port, watch_group, pad */

/* ---- FLOW_MOD ---- */

void ofp_flow_mod_init(struct ofp_flow_mod *fm, uint8_t command)
{
	memset(fm, 0, sizeof(*fm));
	fm->command = command;
	fm->priority = OFP_DEFAULT_PRIORITY;
	fm->buffer_id = OFP_NO_BUFFER;
	fm->out_port = OFPP_ANY;
	fm->out_group = OFPG_ANY;
}

int ofp_flow_mod_encode(struct ofp_buf *b, uint32_t xid, const struct ofp_flow_mod *fm)
{
	size_t start = ofp_msg_start(b, OFPT_FLOW_MOD, xid);

	ofp_buf_put_u64(b, fm->cookie);
	ofp_buf_put_u64(b, fm->cookie_mask);
	ofp_buf_put_u8(b, fm->table_id);
	ofp_buf_put_u8(b, fm->command);
	ofp_buf_put_u16(b, fm->idle_timeout);
	ofp_buf_put_u16(b, fm->hard_timeout);
	ofp_buf_put_u16(b, fm->priority);
	ofp_buf_put_u32(b, fm->buffer_id);
	ofp_buf_put_u32(b, fm->out_port);
	ofp_buf_put_u32(b, fm->out_group);
	ofp_buf_put_u16(b, fm->flags);
	ofp_buf_put_zeros(b, 2);
	ofp_match_encode(b, &fm->match);
	ofp_instructions_encode(b, &fm->instructions);
	return ofp_msg_finish(b, start);
}

int ofp_flow_mod_decode(const uint8_t *msg, size_t size, struct ofp_flow_mod *fm,
			const char **why)
{
	struct ofp_header h;
	struct ofp_rd rd;
	int rc = ofp_msg_body(msg, size, OFPT_FLOW_MOD, &h, &rd, why);

	if (rc < 0)
		return rc;
	fm->cookie = ofp_rd_u64(&rd);
	fm->cookie_mask = ofp_rd_u64(&rd);
	fm->table_id = ofp_rd_u8(&rd);
	fm->command = ofp_rd_u8(&rd);
	fm->idle_timeout = ofp_rd_u16(&rd);
	fm->hard_timeout = ofp_rd_u16(&rd);
	fm->priority = ofp_rd_u16(&rd);
	fm->buffer_id = ofp_rd_u32(&rd);
	fm->out_port = ofp_rd_u32(&rd);
	fm->out_group = ofp_rd_u32(&rd);
	fm->flags = ofp_rd_u16(&rd);
	ofp_rd_skip(&rd, 2);
	if (rd.err)
		return ofp_bad(why, "flow_mod: truncated body");
	rc = ofp_match_decode(&rd, &fm->match, why);
	if (rc < 0)
		return rc;
	return ofp_instructions_decode(&rd, &fm->instructions, why);
}

/* ---- GROUP_MOD ---- */

void ofp_bucket_init(struct ofp_bucket *bucket)
{
	memset(bucket, 0, sizeof(*bucket));
	bucket->watch_port = OFPP_ANY;
	bucket->watch_group = OFPG_ANY;
}

static void bucket_encode(struct ofp_buf *b, const struct ofp_bucket *bucket)
{
	size_t start = b->size;

	ofp_buf_put_u16(b, 0);	/* len, set below */
	ofp_buf_put_u16(b, bucket->weight);
	ofp_buf_put_u32(b, bucket->watch_port);
	ofp_buf_put_u32(b, bucket->watch_group);
	ofp_buf_put_zeros(b, 4);
	ofp_actions_encode(b, &bucket->actions);
	ofp_buf_set_u16(b, start, b->size - start);
}

int ofp_group_mod_encode(struct ofp_buf *b, uint32_t xid, const struct ofp_group_mod *gm)
{
	size_t start = ofp_msg_start(b, OFPT_GROUP_MOD, xid), i;

	ofp_buf_put_u16(b, gm->command);
	ofp_buf_put_u8(b, gm->type);
	ofp_buf_put_u8(b, 0);
	ofp_buf_put_u32(b, gm->group_id);
	for (i = 0; i < gm->n_buckets; i++)
		bucket_encode(b, &gm->buckets[i]);
	return ofp_msg_finish(b, start);
}

static int bucket_decode(struct ofp_rd *rd, struct ofp_bucket *bucket, const char **why)
{
	uint16_t len = ofp_rd_u16(rd);
	struct ofp_rd body;

	if (rd->err)
		return ofp_bad(why, "bucket: truncated header");
	if (len < BUCKET_HEADER_SIZE || len % 8)
		return ofp_bad(why, "bucket: length not a multiple of 8 of at least 16");
	ofp_rd_sub(rd, len - 2, &body);
	if (body.err)
		return ofp_bad(why, "bucket: length past the end of the message");
	bucket->weight = ofp_rd_u16(&body);
	bucket->watch_port = ofp_rd_u32(&body);
	bucket->watch_group = ofp_rd_u32(&body);
	ofp_rd_skip(&body, 4);
	return ofp_actions_decode(&body, &bucket->actions, why);
}

/* Count the buckets in 'rd' (a copy) by their lengths, checking only that they chain. */
static int buckets_count(struct ofp_rd rd, size_t *n, const char **why)
{
	uint16_t len;

	for (*n = 0; rd.left; (*n)++) {
		len = ofp_rd_u16(&rd);
		if (rd.err || len < BUCKET_HEADER_SIZE)
			return ofp_bad(why, "bucket: bad length");
		ofp_rd_skip(&rd, len - 2);
		if (rd.err)
			return ofp_bad(why, "bucket: length past the end of the message");
	}
	return 0;
}

int ofp_group_mod_decode(const uint8_t *msg, size_t size, struct ofp_group_mod *gm,
			 const char **why)
{
	struct ofp_header h;
	struct ofp_rd rd;
	size_t i, n;
	int rc = ofp_msg_body(msg, size, OFPT_GROUP_MOD, &h, &rd, why);

	if (rc < 0)
		return rc;
	memset(gm, 0, sizeof(*gm));
	gm->command = ofp_rd_u16(&rd);
	gm->type = ofp_rd_u8(&rd);
	ofp_rd_skip(&rd, 1);
	gm->group_id = ofp_rd_u32(&rd);
	if (rd.err)
		return ofp_bad(why, "group_mod: truncated body");
	rc = buckets_count(rd, &n, why);
	if (rc < 0 || n == 0)
		return rc;
	gm->buckets = calloc(n, sizeof(*gm->buckets));
	if (!gm->buckets)
		return -ENOMEM;
	for (i = 0; i < n && rc == 0; i++)
		rc = bucket_decode(&rd, &gm->buckets[i], why);
	gm->n_buckets = n;
	if (rc < 0)
		ofp_group_mod_uninit(gm);
	return rc;
}

void ofp_group_mod_uninit(struct ofp_group_mod *gm)
{
	free(gm->buckets);
	gm->buckets = NULL;
	gm->n_buckets = 0;
}
