/* OpenFlow 1.3 actions and instructions: typed lists, their encoding and decoding. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "orchestrator/ofp_action.h"
#include "orchestrator/ofp_proto.h"

#define ACTION_HEADER_SIZE 8	/* type, len, and the common 4 bytes */
#define OUTPUT_SIZE 16
#define INSTRUCTION_HEADER_SIZE 8

static bool action_is_simple(uint16_t type)
{
	switch (type) {
	case OFPAT_COPY_TTL_OUT:
	case OFPAT_COPY_TTL_IN:
	case OFPAT_DEC_MPLS_TTL:
	case OFPAT_POP_VLAN:
	case OFPAT_DEC_NW_TTL:
	case OFPAT_POP_PBB:
		return true;
	default:
		return false;
	}
}

/* The next free slot of 'acts', zeroed, or NULL when the list is full. */
static struct ofp_action *actions_add(struct ofp_actions *acts, uint16_t type)
{
	struct ofp_action *a;

	if (acts->n >= OFP_MAX_ACTIONS)
		return NULL;
	a = &acts->a[acts->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	return a;
}

int ofp_actions_output(struct ofp_actions *acts, uint32_t port)
{
	struct ofp_action *a = actions_add(acts, OFPAT_OUTPUT);

	if (!a)
		return -ENOSPC;
	a->output.port = port;
	a->output.max_len = port == OFPP_CONTROLLER ? OFPCML_NO_BUFFER : 0;
	return 0;
}

int ofp_actions_group(struct ofp_actions *acts, uint32_t group_id)
{
	struct ofp_action *a = actions_add(acts, OFPAT_GROUP);

	if (!a)
		return -ENOSPC;
	a->group_id = group_id;
	return 0;
}

int ofp_actions_set_uint(struct ofp_actions *acts, enum ofp_mf field, uint32_t value)
{
	unsigned size = ofp_mf_size(field);
	struct ofp_action *a;

	if (size == 0 || size == 6 || (size < 4 && value >> (8 * size)))
		return -EINVAL;
	a = actions_add(acts, OFPAT_SET_FIELD);
	if (!a)
		return -ENOSPC;
	a->set_field.field = field;
	a->set_field.value.u32 = value;
	return 0;
}

int ofp_actions_set_eth(struct ofp_actions *acts, enum ofp_mf field, const uint8_t mac[6])
{
	struct ofp_action *a;

	if (ofp_mf_size(field) != 6)
		return -EINVAL;
	a = actions_add(acts, OFPAT_SET_FIELD);
	if (!a)
		return -ENOSPC;
	a->set_field.field = field;
	memcpy(a->set_field.value.eth, mac, 6);
	return 0;
}

int ofp_actions_simple(struct ofp_actions *acts, uint16_t type)
{
	if (!action_is_simple(type))
		return -EINVAL;
	return actions_add(acts, type) ? 0 : -ENOSPC;
}

/* ---- Encoding ---- */

static void action_encode(struct ofp_buf *b, const struct ofp_action *a)
{
	size_t start = b->size;

	ofp_buf_put_u16(b, a->type);
	ofp_buf_put_u16(b, 0);	/* length, set below */
	switch (a->type) {
	case OFPAT_OUTPUT:
		ofp_buf_put_u32(b, a->output.port);
		ofp_buf_put_u16(b, a->output.max_len);
		ofp_buf_put_zeros(b, 6);
		break;
	case OFPAT_GROUP:
		ofp_buf_put_u32(b, a->group_id);
		break;
	case OFPAT_SET_FIELD:
		ofp_oxm_encode(b, a->set_field.field, &a->set_field.value, NULL);
		ofp_buf_pad8(b, start);
		break;
	default:
		if (!action_is_simple(a->type) && !b->err)
			b->err = -EINVAL;
		ofp_buf_put_zeros(b, 4);
		break;
	}
	ofp_buf_set_u16(b, start + 2, b->size - start);
}

void ofp_actions_encode(struct ofp_buf *b, const struct ofp_actions *acts)
{
	unsigned i;

	for (i = 0; i < acts->n && i < OFP_MAX_ACTIONS; i++)
		action_encode(b, &acts->a[i]);
}

/* Append an instruction carrying an action list. */
static void instruction_actions(struct ofp_buf *b, uint16_t type, const struct ofp_actions *acts)
{
	size_t start = b->size;

	ofp_buf_put_u16(b, type);
	ofp_buf_put_u16(b, 0);
	ofp_buf_put_zeros(b, 4);
	ofp_actions_encode(b, acts);
	ofp_buf_set_u16(b, start + 2, b->size - start);
}

void ofp_instructions_encode(struct ofp_buf *b, const struct ofp_instructions *in)
{
	if (in->apply.n)
		instruction_actions(b, OFPIT_APPLY_ACTIONS, &in->apply);
	if (in->clear_actions) {
		ofp_buf_put_u16(b, OFPIT_CLEAR_ACTIONS);
		ofp_buf_put_u16(b, INSTRUCTION_HEADER_SIZE);
		ofp_buf_put_zeros(b, 4);
	}
	if (in->write.n)
		instruction_actions(b, OFPIT_WRITE_ACTIONS, &in->write);
	if (in->has_goto) {
		ofp_buf_put_u16(b, OFPIT_GOTO_TABLE);
		ofp_buf_put_u16(b, INSTRUCTION_HEADER_SIZE);
		ofp_buf_put_u8(b, in->goto_table);
		ofp_buf_put_zeros(b, 3);
	}
}

/* ---- Decoding ---- */

static int set_field_decode(struct ofp_rd *body, struct ofp_action *a, const char **why)
{
	union ofp_mf_value mask;
	bool has_mask;
	int rc = ofp_oxm_decode(body, &a->set_field.field, &a->set_field.value, &mask, &has_mask, why);

	if (rc < 0)
		return rc;
	if (has_mask)
		return ofp_bad(why, "action: set_field with a mask");
	if (a->set_field.field == OFP_MF_N) {
		if (why)
			*why = "action: set_field of a field this codec does not model";
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Decode the arguments of an action whose header (type, len) is already read; 'body' is
 * the rest of the action. */
static int action_body_decode(struct ofp_rd *body, struct ofp_action *a, uint16_t len,
			      const char **why)
{
	switch (a->type) {
	case OFPAT_OUTPUT:
		if (len != OUTPUT_SIZE)
			return ofp_bad(why, "action: output length is not 16");
		a->output.port = ofp_rd_u32(body);
		a->output.max_len = ofp_rd_u16(body);
		return 0;
	case OFPAT_GROUP:
		if (len != ACTION_HEADER_SIZE)
			return ofp_bad(why, "action: group length is not 8");
		a->group_id = ofp_rd_u32(body);
		return 0;
	case OFPAT_SET_FIELD:
		return set_field_decode(body, a, why);
	default:
		if (action_is_simple(a->type))
			return len == ACTION_HEADER_SIZE ? 0 : ofp_bad(why, "action: length is not 8");
		if (why)
			*why = "action: type this codec does not model";
		return -EOPNOTSUPP;
	}
}

static int action_decode(struct ofp_rd *rd, struct ofp_actions *acts, const char **why)
{
	uint16_t type = ofp_rd_u16(rd), len = ofp_rd_u16(rd);
	struct ofp_action *a;
	struct ofp_rd body;

	if (rd->err)
		return ofp_bad(why, "action: truncated header");
	if (len < ACTION_HEADER_SIZE || len % 8)
		return ofp_bad(why, "action: length not a multiple of 8 of at least 8");
	ofp_rd_sub(rd, len - 4, &body);
	if (body.err)
		return ofp_bad(why, "action: length past the end of the list");
	a = actions_add(acts, type);
	if (!a)
		return ofp_bad(why, "action: more actions than OFP_MAX_ACTIONS");
	return action_body_decode(&body, a, len, why);
}

int ofp_actions_decode(struct ofp_rd *rd, struct ofp_actions *acts, const char **why)
{
	int rc;

	acts->n = 0;
	while (rd->left) {
		rc = action_decode(rd, acts, why);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int instruction_decode(struct ofp_rd *rd, struct ofp_instructions *in, uint32_t *seen,
			      const char **why)
{
	uint16_t type = ofp_rd_u16(rd), len = ofp_rd_u16(rd);
	struct ofp_rd body;

	if (rd->err)
		return ofp_bad(why, "instruction: truncated header");
	if (len < INSTRUCTION_HEADER_SIZE || len % 8)
		return ofp_bad(why, "instruction: length not a multiple of 8 of at least 8");
	ofp_rd_sub(rd, len - 4, &body);
	if (body.err)
		return ofp_bad(why, "instruction: length past the end of the message");
	if (type < 32 && (*seen & (1u << type)))
		return ofp_bad(why, "instruction: duplicate instruction type");
	*seen |= type < 32 ? 1u << type : 0;
	switch (type) {
	case OFPIT_APPLY_ACTIONS:
		ofp_rd_skip(&body, 4);
		return ofp_actions_decode(&body, &in->apply, why);
	case OFPIT_WRITE_ACTIONS:
		ofp_rd_skip(&body, 4);
		return ofp_actions_decode(&body, &in->write, why);
	case OFPIT_CLEAR_ACTIONS:
		in->clear_actions = true;
		return 0;
	case OFPIT_GOTO_TABLE:
		in->has_goto = true;
		in->goto_table = ofp_rd_u8(&body);
		return 0;
	default:
		if (why)
			*why = "instruction: type this codec does not model";
		return -EOPNOTSUPP;
	}
}

int ofp_instructions_decode(struct ofp_rd *rd, struct ofp_instructions *in, const char **why)
{
	uint32_t seen = 0;
	int rc;

	memset(in, 0, sizeof(*in));
	while (rd->left) {
		rc = instruction_decode(rd, in, &seen, why);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- Text ---- */

static int action_format(const struct ofp_action *a, char *buf, size_t size)
{
	char val[32];

	switch (a->type) {
	case OFPAT_OUTPUT:
		return snprintf(buf, size, "output:%u", a->output.port);
	case OFPAT_GROUP:
		return snprintf(buf, size, "group:%u", a->group_id);
	case OFPAT_SET_FIELD:
		ofp_mf_format(a->set_field.field, &a->set_field.value, val, sizeof(val));
		return snprintf(buf, size, "set_field:%s->%s", val, ofp_mf_name(a->set_field.field));
	default:
		return snprintf(buf, size, "action%u", a->type);
	}
}

void ofp_actions_format(const struct ofp_actions *acts, char *buf, size_t size)
{
	size_t used = 0;
	unsigned i;
	int n;

	if (size)
		snprintf(buf, size, "drop");
	for (i = 0; i < acts->n && i < OFP_MAX_ACTIONS && used + 1 < size; i++) {
		if (used)
			buf[used++] = ',';
		n = action_format(&acts->a[i], buf + used, size - used);
		used += n > 0 ? (size_t)n : 0;
	}
}
