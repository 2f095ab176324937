/* buf.h: a growable byte buffer with a hard cap (curl's dynbuf), and the
 * little-endian/varint codecs that append to one or read from a `struct rd`.
 *
 * Ownership: the buffer owns `p`; buf_fini() frees it. A failed append
 * (TIDE_ELIMIT past `max`, -ENOMEM) leaves the contents as they were.
 * Thread: none; a buffer belongs to one thread at a time.
 */
#ifndef TIDE_CORE_BUF_H
#define TIDE_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    char *p;    /* bytes; NUL-terminated after every append (p[len] == 0) */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated, excluding the NUL slot */
    size_t max; /* the buffer never grows past this many bytes (0 = SIZE_MAX) */
};

void buf_init(struct buf *b, size_t max_bytes);
void buf_fini(struct buf *b);
static inline void buf_reset(struct buf *b) { b->len = 0; if (b->p) b->p[0] = 0; }

/* Make room for `extra` more bytes. 0, TIDE_ELIMIT or -ENOMEM. */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_putc(struct buf *b, char c);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Detach the bytes: the caller owns the returned pointer (free()), the
 * buffer is left empty. */
char *buf_take(struct buf *b, size_t *len);

int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_u32le(struct buf *b, uint32_t v);
int buf_put_u64le(struct buf *b, uint64_t v);
int buf_put_uvarint(struct buf *b, uint64_t v);
/* Bytes the uvarint of v takes (7 bits a byte, low groups first): 1..10. */
static inline size_t uvarint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}
/* Write the uvarint of v at p (room for uvarint_len(v) bytes); returns the
 * byte after it. */
static inline uint8_t *uvarint_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}
int buf_put_varint(struct buf *b, int64_t v); /* zig-zag */
int buf_put_f64(struct buf *b, double v);      /* the IEEE bits, little-endian */
/* A length-prefixed (uvarint) byte string. */
int buf_put_bytes(struct buf *b, const void *p, size_t n);

/* A bounds-checked reader over borrowed bytes. A read past the end sets
 * `bad` and returns 0; check `bad` once after a sequence of reads. */
struct rd {
    const uint8_t *p;   /* next byte */
    const uint8_t *end; /* one past the last byte */
    bool bad;           /* a read ran past `end` or a varint overflowed */
};

static inline void rd_init(struct rd *r, const void *p, size_t n)
{
    r->p = p;
    r->end = r->p + n;
    r->bad = false;
}
static inline size_t rd_left(const struct rd *r) { return (size_t)(r->end - r->p); }

uint8_t rd_u8(struct rd *r);
uint32_t rd_u32le(struct rd *r);
uint64_t rd_u64le(struct rd *r);
/* rd_uvarint() past its one-byte case (buf.c). */
uint64_t rd_uvarint_long(struct rd *r);
/* The decoders of WAL records, blocks and chunks read these a few times a
 * sample: the common case is inline (a one-byte varint, 8 bytes in reach),
 * the rest in buf.c. */
static inline uint64_t rd_uvarint(struct rd *r)
{
    if (r->p < r->end && *r->p < 0x80)
        return *r->p++;
    return rd_uvarint_long(r);
}
static inline int64_t rd_varint(struct rd *r)
{
    uint64_t z = rd_uvarint(r);
    return (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
}
static inline double rd_f64(struct rd *r)
{
    uint64_t u = rd_u64le(r);
    double v;
    __builtin_memcpy(&v, &u, 8);
    return v;
}
const void *rd_skip(struct rd *r, size_t n);
/* A length-prefixed byte string; *p borrows from the reader's bytes. */
static inline const void *rd_bytes(struct rd *r, size_t *n)
{
    uint64_t len = rd_uvarint(r);
    if (r->bad || len > rd_left(r)) {
        r->bad = true;
        *n = 0;
        return NULL;
    }
    *n = (size_t)len;
    const void *p = r->p;
    r->p += len;
    return p;
}

static inline uint32_t le32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline void put_le32(void *p, uint32_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

#endif
