/* OpenFlow 1.3 OXM match fields: the typed match, and OXM TLVs shared with set-field. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "orchestrator/ofp_match.h"
#include "orchestrator/ofp_proto.h"

enum mf_kind { MF_UINT, MF_IPV4, MF_ETH };

struct mf_def {
	const char *name;
	uint8_t oxm_field;	/* OXM_OF_* of class OFPXMC_OPENFLOW_BASIC */
	uint8_t size;		/* value bytes on the wire */
	bool maskable;
	enum mf_kind kind;
};

static const struct mf_def mf_defs[OFP_MF_N] = {
	[OFP_MF_IN_PORT] = { "in_port", OFPXMT_OFB_IN_PORT, 4, false, MF_UINT },
	[OFP_MF_ETH_SRC] = { "eth_src", OFPXMT_OFB_ETH_SRC, 6, true, MF_ETH },
	[OFP_MF_ETH_DST] = { "eth_dst", OFPXMT_OFB_ETH_DST, 6, true, MF_ETH },
	[OFP_MF_ETH_TYPE] = { "eth_type", OFPXMT_OFB_ETH_TYPE, 2, false, MF_UINT },
	[OFP_MF_IPV4_SRC] = { "ipv4_src", OFPXMT_OFB_IPV4_SRC, 4, true, MF_IPV4 },
	[OFP_MF_IPV4_DST] = { "ipv4_dst", OFPXMT_OFB_IPV4_DST, 4, true, MF_IPV4 },
	[OFP_MF_IP_PROTO] = { "ip_proto", OFPXMT_OFB_IP_PROTO, 1, false, MF_UINT },
	[OFP_MF_TCP_SRC] = { "tcp_src", OFPXMT_OFB_TCP_SRC, 2, true, MF_UINT },
	[OFP_MF_TCP_DST] = { "tcp_dst", OFPXMT_OFB_TCP_DST, 2, true, MF_UINT },
	[OFP_MF_UDP_SRC] = { "udp_src", OFPXMT_OFB_UDP_SRC, 2, true, MF_UINT },
	[OFP_MF_UDP_DST] = { "udp_dst", OFPXMT_OFB_UDP_DST, 2, true, MF_UINT },
	[OFP_MF_ARP_OP] = { "arp_op", OFPXMT_OFB_ARP_OP, 2, false, MF_UINT },
	[OFP_MF_ARP_SPA] = { "arp_spa", OFPXMT_OFB_ARP_SPA, 4, true, MF_IPV4 },
	[OFP_MF_ARP_TPA] = { "arp_tpa", OFPXMT_OFB_ARP_TPA, 4, true, MF_IPV4 },
	[OFP_MF_ARP_SHA] = { "arp_sha", OFPXMT_OFB_ARP_SHA, 6, true, MF_ETH },
	[OFP_MF_ARP_THA] = { "arp_tha", OFPXMT_OFB_ARP_THA, 6, true, MF_ETH },
};

static bool mf_valid(enum ofp_mf mf)
{
	return (unsigned)mf < OFP_MF_N;
}

const char *ofp_mf_name(enum ofp_mf mf)
{
	return mf_valid(mf) ? mf_defs[mf].name : "?";
}

unsigned ofp_mf_size(enum ofp_mf mf)
{
	return mf_valid(mf) ? mf_defs[mf].size : 0;
}

/* All-ones for the field's width. */
static uint32_t mf_full_mask(enum ofp_mf mf)
{
	unsigned size = mf_defs[mf].size;

	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static bool eth_is_full(const uint8_t mask[6])
{
	static const uint8_t ones[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	return memcmp(mask, ones, 6) == 0;
}

static bool eth_is_zero(const uint8_t mask[6])
{
	static const uint8_t zeros[6];

	return memcmp(mask, zeros, 6) == 0;
}

void ofp_match_init(struct ofp_match *m)
{
	memset(m, 0, sizeof(*m));
}

bool ofp_match_has(const struct ofp_match *m, enum ofp_mf mf)
{
	return mf_valid(mf) && (m->present & (1u << mf));
}

void ofp_match_clear(struct ofp_match *m, enum ofp_mf mf)
{
	if (!mf_valid(mf))
		return;
	m->present &= ~(1u << mf);
	m->masked &= ~(1u << mf);
	memset(&m->values[mf], 0, sizeof(m->values[mf]));
	memset(&m->masks[mf], 0, sizeof(m->masks[mf]));
}

int ofp_match_set_uint_masked(struct ofp_match *m, enum ofp_mf mf, uint32_t value, uint32_t mask)
{
	uint32_t full;

	if (!mf_valid(mf) || mf_defs[mf].kind == MF_ETH)
		return -EINVAL;
	full = mf_full_mask(mf);
	if ((value & ~full) || (mask & ~full))
		return -EINVAL;
	if (mask != full && !mf_defs[mf].maskable)
		return -EINVAL;
	ofp_match_clear(m, mf);
	if (mask == 0)
		return 0;
	m->present |= 1u << mf;
	m->values[mf].u32 = value & mask;
	m->masks[mf].u32 = mask;
	if (mask != full)
		m->masked |= 1u << mf;
	return 0;
}

int ofp_match_set_uint(struct ofp_match *m, enum ofp_mf mf, uint32_t value)
{
	if (!mf_valid(mf))
		return -EINVAL;
	return ofp_match_set_uint_masked(m, mf, value, mf_full_mask(mf));
}

int ofp_match_set_eth(struct ofp_match *m, enum ofp_mf mf, const uint8_t mac[6],
		      const uint8_t mask[6])
{
	static const uint8_t ones[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	int i;

	if (!mf_valid(mf) || mf_defs[mf].kind != MF_ETH)
		return -EINVAL;
	if (!mask)
		mask = ones;
	ofp_match_clear(m, mf);
	if (eth_is_zero(mask))
		return 0;
	m->present |= 1u << mf;
	for (i = 0; i < 6; i++) {
		m->values[mf].eth[i] = mac[i] & mask[i];
		m->masks[mf].eth[i] = mask[i];
	}
	if (!eth_is_full(mask))
		m->masked |= 1u << mf;
	return 0;
}

/* ---- OXM TLVs ---- */

static void mf_put_value(struct ofp_buf *b, enum ofp_mf mf, const union ofp_mf_value *v)
{
	switch (mf_defs[mf].size) {
	case 1:
		ofp_buf_put_u8(b, v->u32);
		break;
	case 2:
		ofp_buf_put_u16(b, v->u32);
		break;
	case 4:
		ofp_buf_put_u32(b, v->u32);
		break;
	default:
		ofp_buf_put(b, v->eth, 6);
		break;
	}
}

static void mf_get_value(struct ofp_rd *rd, enum ofp_mf mf, union ofp_mf_value *v)
{
	memset(v, 0, sizeof(*v));
	switch (mf_defs[mf].size) {
	case 1:
		v->u32 = ofp_rd_u8(rd);
		break;
	case 2:
		v->u32 = ofp_rd_u16(rd);
		break;
	case 4:
		v->u32 = ofp_rd_u32(rd);
		break;
	default:
		ofp_rd_bytes(rd, v->eth, 6);
		break;
	}
}

static void mf_set_full(enum ofp_mf mf, union ofp_mf_value *mask)
{
	memset(mask, 0, sizeof(*mask));
	if (mf_defs[mf].kind == MF_ETH)
		memset(mask->eth, 0xff, 6);
	else
		mask->u32 = mf_full_mask(mf);
}

void ofp_oxm_encode(struct ofp_buf *b, enum ofp_mf mf, const union ofp_mf_value *value,
		    const union ofp_mf_value *mask)
{
	const struct mf_def *d;

	if (!mf_valid(mf)) {
		b->err = b->err ? b->err : -EINVAL;
		return;
	}
	d = &mf_defs[mf];
	ofp_buf_put_u16(b, OFPXMC_OPENFLOW_BASIC);
	ofp_buf_put_u8(b, d->oxm_field << 1 | (mask != NULL));
	ofp_buf_put_u8(b, d->size * (mask ? 2 : 1));
	mf_put_value(b, mf, value);
	if (mask)
		mf_put_value(b, mf, mask);
}

static enum ofp_mf mf_from_oxm(uint16_t class, uint8_t field)
{
	int mf;

	if (class != OFPXMC_OPENFLOW_BASIC)
		return OFP_MF_N;
	for (mf = 0; mf < OFP_MF_N; mf++)
		if (mf_defs[mf].oxm_field == field)
			return mf;
	return OFP_MF_N;
}

int ofp_oxm_decode(struct ofp_rd *rd, enum ofp_mf *mf, union ofp_mf_value *value,
		   union ofp_mf_value *mask, bool *has_mask, const char **why)
{
	uint16_t class = ofp_rd_u16(rd);
	uint8_t fh = ofp_rd_u8(rd), len = ofp_rd_u8(rd);
	struct ofp_rd tlv;

	if (rd->err)
		return ofp_bad(why, "oxm: truncated TLV header");
	ofp_rd_sub(rd, len, &tlv);
	if (tlv.err)
		return ofp_bad(why, "oxm: TLV length past the end of the match");
	*mf = mf_from_oxm(class, fh >> 1);
	*has_mask = fh & 1;
	if (*mf == OFP_MF_N)	/* unknown: skipped (experimenter ids are inside 'len') */
		return class == OFPXMC_EXPERIMENTER && len < 4 ?
			       ofp_bad(why, "oxm: experimenter TLV shorter than its id") : 0;
	if (len != mf_defs[*mf].size * (*has_mask ? 2 : 1))
		return ofp_bad(why, "oxm: TLV length does not fit the field");
	if (*has_mask && !mf_defs[*mf].maskable)
		return ofp_bad(why, "oxm: mask on a field that takes none");
	mf_get_value(&tlv, *mf, value);
	if (*has_mask)
		mf_get_value(&tlv, *mf, mask);
	else
		mf_set_full(*mf, mask);
	return 0;
}

/* ---- The ofp_match structure ---- */

void ofp_match_encode(struct ofp_buf *b, const struct ofp_match *m)
{
	size_t start = b->size;
	int mf;

	ofp_buf_put_u16(b, OFPMT_OXM);
	ofp_buf_put_u16(b, 0);	/* length, set below */
	for (mf = 0; mf < OFP_MF_N; mf++) {
		if (!(m->present & (1u << mf)))
			continue;
		ofp_oxm_encode(b, mf, &m->values[mf],
			       (m->masked & (1u << mf)) ? &m->masks[mf] : NULL);
	}
	ofp_buf_set_u16(b, start + 2, b->size - start);
	ofp_buf_pad8(b, start);
}

/* Store one decoded TLV in 'm'. */
static int match_add(struct ofp_match *m, enum ofp_mf mf, const union ofp_mf_value *v,
		     const union ofp_mf_value *mask, bool has_mask, const char **why)
{
	if (mf == OFP_MF_N) {
		m->n_unknown++;
		return 0;
	}
	if (m->present & (1u << mf))
		return ofp_bad(why, "oxm: duplicate field in match");
	m->present |= 1u << mf;
	m->values[mf] = *v;
	m->masks[mf] = *mask;
	if (has_mask)
		m->masked |= 1u << mf;
	return 0;
}

int ofp_match_decode(struct ofp_rd *rd, struct ofp_match *m, const char **why)
{
	uint16_t type = ofp_rd_u16(rd), len = ofp_rd_u16(rd);
	union ofp_mf_value v, mask;
	struct ofp_rd fields;
	enum ofp_mf mf;
	bool has_mask;
	int rc;

	ofp_match_init(m);
	if (rd->err)
		return ofp_bad(why, "match: truncated header");
	if (type != OFPMT_OXM)
		return ofp_bad(why, "match: type is not OXM");
	if (len < 4)
		return ofp_bad(why, "match: length shorter than its header");
	ofp_rd_sub(rd, len - 4, &fields);
	ofp_rd_skip(rd, ofp_pad8(len));
	if (fields.err || rd->err)
		return ofp_bad(why, "match: length past the end of the message");
	while (fields.left) {
		rc = ofp_oxm_decode(&fields, &mf, &v, &mask, &has_mask, why);
		if (rc == 0)
			rc = match_add(m, mf, &v, &mask, has_mask, why);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- Text ---- */

void ofp_mf_format(enum ofp_mf mf, const union ofp_mf_value *v, char *buf, size_t size)
{
	uint32_t a = v->u32;
	const uint8_t *e = v->eth;

	if (!mf_valid(mf))
		snprintf(buf, size, "?");
	else if (mf_defs[mf].kind == MF_ETH)
		snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", e[0], e[1], e[2], e[3], e[4], e[5]);
	else if (mf_defs[mf].kind == MF_IPV4)
		snprintf(buf, size, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
	else if (mf == OFP_MF_ETH_TYPE)
		snprintf(buf, size, "0x%04x", a);
	else
		snprintf(buf, size, "%u", a);
}

void ofp_match_format(const struct ofp_match *m, char *buf, size_t size)
{
	char val[32], mask[32];
	size_t used = 0;
	int mf, n;

	if (size)
		snprintf(buf, size, "any");
	for (mf = 0; mf < OFP_MF_N && used < size; mf++) {
		if (!(m->present & (1u << mf)))
			continue;
		ofp_mf_format(mf, &m->values[mf], val, sizeof(val));
		ofp_mf_format(mf, &m->masks[mf], mask, sizeof(mask));
		n = snprintf(buf + used, size - used, "%s%s=%s%s%s", used ? "," : "", mf_defs[mf].name,
			     val, (m->masked & (1u << mf)) ? "/" : "",
			     (m->masked & (1u << mf)) ? mask : "");
		used += n > 0 ? (size_t)n : 0;
	}
}
