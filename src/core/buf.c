/* buf.c: the capped growable buffer and its binary codecs (see buf.h). */
#include "core/buf.h"

#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max_bytes)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max_bytes ? max_bytes : SIZE_MAX - 1;
}

void buf_fini(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int buf_reserve(struct buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return TIDE_ELIMIT;
    size_t need = b->len + extra;
    if (need <= b->cap && b->p != NULL)
        return 0;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max)
        ncap = b->max;
    char *np = realloc(b->p, ncap + 1);
    if (np == NULL)
        return -ENOMEM;
    b->p = np;
    b->cap = ncap;
    b->p[b->len] = 0;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

int buf_putc(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return TIDE_EINVAL;
    if ((size_t)n < sizeof small)
        return buf_append(b, small, (size_t)n);
    int rc = buf_reserve(b, (size_t)n);
    if (rc != 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *buf_take(struct buf *b, size_t *len)
{
    char *p = b->p;
    if (len)
        *len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

int buf_put_u8(struct buf *b, uint8_t v)
{
    return buf_append(b, &v, 1);
}

int buf_put_u32le(struct buf *b, uint32_t v)
{
    uint8_t t[4];
    put_le32(t, v);
    return buf_append(b, t, 4);
}

int buf_put_u64le(struct buf *b, uint64_t v)
{
    uint8_t t[8];
    for (int i = 0; i < 8; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    return buf_append(b, t, 8);
}

int buf_put_uvarint(struct buf *b, uint64_t v)
{
    uint8_t t[10];
    return buf_append(b, t, (size_t)(uvarint_put(t, v) - t));
}

int buf_put_varint(struct buf *b, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    return buf_put_uvarint(b, z);
}

int buf_put_f64(struct buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return buf_put_u64le(b, u);
}

int buf_put_bytes(struct buf *b, const void *p, size_t n)
{
    int rc = buf_put_uvarint(b, n);
    return rc ? rc : buf_append(b, p, n);
}

uint8_t rd_u8(struct rd *r)
{
    if (r->p >= r->end) {
        r->bad = true;
        return 0;
    }
    return *r->p++;
}

uint32_t rd_u32le(struct rd *r)
{
    if (rd_left(r) < 4) {
        r->bad = true;
        r->p = r->end;
        return 0;
    }
    uint32_t v = le32(r->p);
    r->p += 4;
    return v;
}

uint64_t rd_u64le(struct rd *r)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (rd_left(r) >= 8) {
        uint64_t v;
        memcpy(&v, r->p, 8);
        r->p += 8;
        return v;
    }
#endif
    uint64_t lo = rd_u32le(r);
    uint64_t hi = rd_u32le(r);
    return lo | hi << 32;
}

uint64_t rd_uvarint_long(struct rd *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            break;
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

const void *rd_skip(struct rd *r, size_t n)
{
    if (rd_left(r) < n) {
        r->bad = true;
        r->p = r->end;
        return NULL;
    }
    const void *p = r->p;
    r->p += n;
    return p;
}
