/* Growable byte buffers for encoding OpenFlow messages, bounds-checked cursors for decoding. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/ofp_buf.h"

#define OFP_BUF_MIN_CAP 256

void ofp_buf_init(struct ofp_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void ofp_buf_uninit(struct ofp_buf *b)
{
	free(b->data);
	ofp_buf_init(b);
}

void ofp_buf_reset(struct ofp_buf *b)
{
	b->size = 0;
	b->err = 0;
}

static int buf_reserve(struct ofp_buf *b, size_t size)
{
	size_t cap = b->cap ? b->cap : OFP_BUF_MIN_CAP;
	uint8_t *data;

	if (size > SIZE_MAX / 2 - b->size)
		return -ENOMEM;
	while (cap < b->size + size)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	data = realloc(b->data, cap);
	if (!data)
		return -ENOMEM;
	b->data = data;
	b->cap = cap;
	return 0;
}

void *ofp_buf_put_uninit(struct ofp_buf *b, size_t size)
{
	void *p;

	if (b->err)
		return NULL;
	if (buf_reserve(b, size) < 0) {
		b->err = -ENOMEM;
		return NULL;
	}
	p = b->data + b->size;
	b->size += size;
	return p;
}

void ofp_buf_put(struct ofp_buf *b, const void *p, size_t size)
{
	void *dst = ofp_buf_put_uninit(b, size);

	if (dst && size)
		memcpy(dst, p, size);
}

void ofp_buf_put_zeros(struct ofp_buf *b, size_t size)
{
	void *dst = ofp_buf_put_uninit(b, size);

	if (dst && size)
		memset(dst, 0, size);
}

void ofp_buf_put_u8(struct ofp_buf *b, uint8_t v)
{
	ofp_buf_put(b, &v, 1);
}

void ofp_buf_put_u16(struct ofp_buf *b, uint16_t v)
{
	uint8_t be[2] = { v >> 8, v };

	ofp_buf_put(b, be, sizeof(be));
}

void ofp_buf_put_u32(struct ofp_buf *b, uint32_t v)
{
	ofp_buf_put_u16(b, v >> 16);
	ofp_buf_put_u16(b, v);
}

void ofp_buf_put_u64(struct ofp_buf *b, uint64_t v)
{
	ofp_buf_put_u32(b, v >> 32);
	ofp_buf_put_u32(b, v);
}

void ofp_buf_pad8(struct ofp_buf *b, size_t start)
{
	if (!b->err)
		ofp_buf_put_zeros(b, ofp_pad8(b->size - start));
}

void ofp_buf_set_u16(struct ofp_buf *b, size_t ofs, uint16_t v)
{
	if (b->err || ofs + 2 > b->size)
		return;
	b->data[ofs] = v >> 8;
	b->data[ofs + 1] = v;
}

void ofp_buf_set_u32(struct ofp_buf *b, size_t ofs, uint32_t v)
{
	ofp_buf_set_u16(b, ofs, v >> 16);
	ofp_buf_set_u16(b, ofs + 2, v);
}

void ofp_rd_init(struct ofp_rd *rd, const void *p, size_t size)
{
	rd->p = p;
	rd->left = size;
	rd->err = 0;
}

const uint8_t *ofp_rd_take(struct ofp_rd *rd, size_t size)
{
	const uint8_t *p = rd->p;

	if (rd->err || size > rd->left) {
		rd->err = -EBADMSG;
		rd->left = 0;
		return NULL;
	}
	rd->p += size;
	rd->left -= size;
	return p;
}

void ofp_rd_bytes(struct ofp_rd *rd, void *dst, size_t size)
{
	const uint8_t *p = ofp_rd_take(rd, size);

	if (p)
		memcpy(dst, p, size);
	else
		memset(dst, 0, size);
}

void ofp_rd_skip(struct ofp_rd *rd, size_t size)
{
	ofp_rd_take(rd, size);
}

uint8_t ofp_rd_u8(struct ofp_rd *rd)
{
	const uint8_t *p = ofp_rd_take(rd, 1);

	return p ? p[0] : 0;
}

uint16_t ofp_rd_u16(struct ofp_rd *rd)
{
	const uint8_t *p = ofp_rd_take(rd, 2);

	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t ofp_rd_u32(struct ofp_rd *rd)
{
	uint32_t hi = ofp_rd_u16(rd);

	return hi << 16 | ofp_rd_u16(rd);
}

uint64_t ofp_rd_u64(struct ofp_rd *rd)
{
	uint64_t hi = ofp_rd_u32(rd);

	return hi << 32 | ofp_rd_u32(rd);
}

void ofp_rd_sub(struct ofp_rd *rd, size_t size, struct ofp_rd *sub)
{
	const uint8_t *p = ofp_rd_take(rd, size);

	ofp_rd_init(sub, p, p ? size : 0);
	sub->err = p ? 0 : -EBADMSG;
}

int ofp_bad(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -EBADMSG;
}
