/* Growable byte buffers for encoding OpenFlow messages, bounds-checked cursors for decoding. */
#ifndef ORCH_OFP_BUF_H
#define ORCH_OFP_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An encoding buffer. Encoders append to it; a failed allocation makes 'err' -ENOMEM
 * and turns every later append into a no-op, so an encoder checks once, at the end.
 * The buffer owns 'data' (free it with ofp_buf_uninit()). */
struct ofp_buf {
	uint8_t *data;
	size_t size;		/* bytes used */
	size_t cap;		/* bytes allocated */
	int err;		/* 0 or -ENOMEM (sticky) */
};

#define OFP_BUF_INIT { NULL, 0, 0, 0 }

void ofp_buf_init(struct ofp_buf *b);
void ofp_buf_uninit(struct ofp_buf *b);
/* Empty the buffer (and clear 'err'), keeping its memory. */
void ofp_buf_reset(struct ofp_buf *b);

/* Append 'size' bytes and return a pointer to them (uninitialized), or NULL after an
 * allocation failure. The pointer is valid until the next append. */
void *ofp_buf_put_uninit(struct ofp_buf *b, size_t size);
void ofp_buf_put(struct ofp_buf *b, const void *p, size_t size);
void ofp_buf_put_zeros(struct ofp_buf *b, size_t size);
void ofp_buf_put_u8(struct ofp_buf *b, uint8_t v);
/* Big-endian appends. */
void ofp_buf_put_u16(struct ofp_buf *b, uint16_t v);
void ofp_buf_put_u32(struct ofp_buf *b, uint32_t v);
void ofp_buf_put_u64(struct ofp_buf *b, uint64_t v);
/* Append zeros until (size - 'start') is a multiple of 8. */
void ofp_buf_pad8(struct ofp_buf *b, size_t start);
/* Overwrite a big-endian 16/32-bit value at offset 'ofs' (already appended). */
void ofp_buf_set_u16(struct ofp_buf *b, size_t ofs, uint16_t v);
void ofp_buf_set_u32(struct ofp_buf *b, size_t ofs, uint32_t v);

/* A decoding cursor over borrowed bytes. Reading past the end sets 'err' to -EBADMSG,
 * returns zeros and never touches memory beyond 'p + left': a decoder reads a whole
 * structure and checks 'err' once. */
struct ofp_rd {
	const uint8_t *p;
	size_t left;
	int err;		/* 0 or -EBADMSG (sticky) */
};

void ofp_rd_init(struct ofp_rd *rd, const void *p, size_t size);
uint8_t ofp_rd_u8(struct ofp_rd *rd);
uint16_t ofp_rd_u16(struct ofp_rd *rd);
uint32_t ofp_rd_u32(struct ofp_rd *rd);
uint64_t ofp_rd_u64(struct ofp_rd *rd);
void ofp_rd_bytes(struct ofp_rd *rd, void *dst, size_t size);
void ofp_rd_skip(struct ofp_rd *rd, size_t size);
/* Borrow the next 'size' bytes (NULL, with 'err' set, when fewer are left). */
const uint8_t *ofp_rd_take(struct ofp_rd *rd, size_t size);
/* Split off the next 'size' bytes as a cursor of their own ('sub' gets 'err' too when
 * fewer are left). */
void ofp_rd_sub(struct ofp_rd *rd, size_t size, struct ofp_rd *sub);

/* Store 'reason' (a static string) in '*why' when 'why' is not NULL; returns -EBADMSG.
 * Every decoder reports malformed input this way. */
int ofp_bad(const char **why, const char *reason);

/* Bytes of padding that round 'size' up to a multiple of 8. */
static inline size_t ofp_pad8(size_t size)
{
	return (8 - size % 8) % 8;
}

#endif
