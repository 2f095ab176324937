/* chunk.c: the head's Gorilla chunks (see chunk.h), the in-memory form a
 * series' recent samples take between the WAL and a block.
 *
 * head.c appends one sample at a time with chunk_enc_append(); queries read
 * with chunk_dec_*; a cut hands decoded samples to block.c, which re-encodes
 * them column-wise (series_codec.c). The chunk holds no header: head.c keeps
 * the sample count next to the bytes.
 *
 * Bit layout (docs/format/chunks.md):
 *   sample 0: t as zig-zag varint (8-bit groups), value as 64 raw bits
 *   sample 1: t delta as uvarint (8-bit groups), value as an XOR step
 *   sample k: delta-of-delta in a prefix bucket, value as an XOR step
 *     '0' dod=0 | '10' 14 bits | '110' 17 bits | '1110' 20 bits | '1111' 64 bits
 * Invariant: decoded timestamps strictly increase and every delta fits int64;
 * the decoder flags anything else as corrupt, so it can be fed any bytes.
 */
#include "storage/chunk.h"
#include "storage/storage.h"

#include <string.h>

#include "core/err.h"
#include "storage/bitstream.h"

/* Bytes one append can add: 10-byte varint + 64 value bits, or 68 + 77 bits. */
#define CHUNK_APPEND_MAX_BYTES 24

static const struct {
    uint8_t prefix, prefix_bits, bits;
} dod_buckets[] = {
    {0x2, 2, 14},
    {0x6, 3, 17},
    {0xe, 4, 20},
};

static int put_uvarint(struct bitstream_writer *w, uint64_t u)
{
    int rc = 0;
    while (u >= 0x80 && rc == 0) {
        rc = bitstream_write(w, (u & 0x7f) | 0x80, 8);
        u >>= 7;
    }
    return rc ? rc : bitstream_write(w, u, 8);
}

static uint64_t get_uvarint(struct bitstream_reader *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint64_t c = bitstream_read(r, 8);
        if (r->bad)
            return 0;
        if (shift == 63 && c > 1)
            break; /* overflows 64 bits */
        v |= (c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

void chunk_enc_init(struct chunk_enc *e, struct buf *dst)
{
    buf_reset(dst);
    memset(e, 0, sizeof *e);
    e->dst = dst;
    e->lead = BITSTREAM_NO_WINDOW;
}

int chunk_enc_append(struct chunk_enc *e, int64_t t_ms, double v)
{
    uint64_t v_bits;
    memcpy(&v_bits, &v, 8);
    if (e->n == UINT32_MAX)
        return TIDE_ELIMIT;
    uint64_t delta = (uint64_t)t_ms - (uint64_t)e->t;
    if (e->n > 0 && (t_ms <= e->t || delta > (uint64_t)INT64_MAX))
        return t_ms <= e->t ? TIDE_EINVAL : TIDE_ELIMIT;
    /* Reserve first so the append below cannot fail half-way. */
    int rc = buf_reserve(e->dst, CHUNK_APPEND_MAX_BYTES);
    if (rc != 0)
        return rc;
    struct bitstream_writer w;
    bitstream_writer_init(&w, e->dst, e->bit);
    if (e->n == 0) {
        put_uvarint(&w, ((uint64_t)t_ms << 1) ^ (uint64_t)(t_ms >> 63));
        bitstream_write(&w, v_bits, 64);
        e->v_bits = v_bits;
        e->lead = BITSTREAM_NO_WINDOW;
        e->trail = 0;
        e->t_delta = 0;
    } else {
        if (e->n == 1) {
            put_uvarint(&w, delta);
        } else {
            int64_t dod = (int64_t)delta - e->t_delta;
            if (dod == 0) {
                bitstream_write(&w, 0, 1);
            } else {
                size_t k = 0;
                for (; k < sizeof dod_buckets / sizeof dod_buckets[0]; k++) {
                    int64_t lim = (int64_t)1 << (dod_buckets[k].bits - 1);
                    if (dod >= -lim && dod < lim)
                        break;
                }
                if (k < sizeof dod_buckets / sizeof dod_buckets[0]) {
                    bitstream_write(&w, dod_buckets[k].prefix, dod_buckets[k].prefix_bits);
                    bitstream_write(&w, (uint64_t)dod, dod_buckets[k].bits);
                } else {
                    bitstream_write(&w, 0xf, 4);
                    bitstream_write(&w, (uint64_t)dod, 64);
                }
            }
        }
        e->t_delta = (int64_t)delta;
        bitstream_xor_put(&w, v_bits, &e->v_bits, &e->lead, &e->trail);
    }
    e->t = t_ms;
    e->bit = w.bit;
    e->n++;
    return 0;
}

bool chunk_first_t(const void *p, size_t len, int64_t *t_ms)
{
    struct rd r;
    rd_init(&r, p, len);
    int64_t t = rd_varint(&r);
    if (r.bad || len == 0)
        return false;
    *t_ms = t;
    return true;
}

int chunk_enc_resume(struct chunk_enc *e, struct buf *dst, uint32_t n)
{
    if (n == 0) {
        chunk_enc_init(e, dst);
        return 0;
    }
    struct chunk_dec d;
    chunk_dec_init(&d, dst->p, dst->len, n);
    while (chunk_dec_next(&d))
        ;
    if (chunk_dec_err(&d) != 0)
        return TIDE_ECORRUPT;
    memset(e, 0, sizeof *e);
    e->dst = dst;
    e->n = n;
    e->t = d.t;
    e->t_delta = d.t_delta;
    e->v_bits = d.v_bits;
    e->lead = d.lead;
    e->trail = d.trail;
    e->bit = (uint8_t)(d.pos & 7);
    dst->len = (d.pos + 7) / 8; /* drop bytes past the last sample */
    if (e->bit != 0)
        dst->p[dst->len - 1] &= (uint8_t)(0xff00u >> e->bit);
    dst->p[dst->len] = 0;
    return 0;
}

void chunk_dec_init(struct chunk_dec *d, const void *p, size_t len, uint32_t n)
{
    memset(d, 0, sizeof *d);
    d->p = p;
    d->nbits = len > SIZE_MAX / 8 ? SIZE_MAX / 8 * 8 : len * 8;
    d->n = n;
    d->lead = BITSTREAM_NO_WINDOW;
}

static bool dec_fail(struct chunk_dec *d)
{
    d->bad = true;
    return false;
}

bool chunk_dec_next(struct chunk_dec *d)
{
    if (d->bad || d->i >= d->n)
        return false;
    struct bitstream_reader r = {.p = d->p, .nbits = d->nbits, .pos = d->pos, .bad = false};
    if (d->i == 0) {
        uint64_t z = get_uvarint(&r);
        d->t = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
        d->v_bits = bitstream_read(&r, 64);
        if (r.bad)
            return dec_fail(d);
    } else {
        uint64_t delta;
        if (d->i == 1) {
            delta = get_uvarint(&r);
        } else {
            int64_t dod = 0;
            unsigned ones = 0;
            while (ones < 4 && bitstream_read_bit(&r))
                ones++;
            if (ones == 4) {
                dod = (int64_t)bitstream_read(&r, 64);
            } else if (ones > 0) {
                unsigned bits = dod_buckets[ones - 1].bits;
                uint64_t u = bitstream_read(&r, bits);
                uint64_t sign = (uint64_t)1 << (bits - 1);
                dod = (int64_t)((u ^ sign) - sign); /* sign-extend */
            }
            delta = (uint64_t)d->t_delta + (uint64_t)dod;
        }
        if (r.bad || delta == 0 || delta > (uint64_t)INT64_MAX)
            return dec_fail(d);
        int64_t t = (int64_t)((uint64_t)d->t + delta);
        if (t <= d->t)
            return dec_fail(d); /* wrapped past INT64_MAX */
        d->t = t;
        d->t_delta = (int64_t)delta;
        if (!bitstream_xor_get(&r, &d->v_bits, &d->lead, &d->trail))
            return dec_fail(d);
    }
    d->pos = r.pos;
    d->i++;
    return true;
}

int chunk_dec_err(const struct chunk_dec *d)
{
    return d->bad ? TIDE_ECORRUPT : 0;
}

int storage_xor_chunk(struct buf *dst, const struct sample *v, size_t n)
{
    if (n == 0 || n > 65535)
        return TIDE_EINVAL;
    struct buf tmp;
    buf_init(&tmp, dst->max);
    struct chunk_enc e;
    chunk_enc_init(&e, &tmp);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = chunk_enc_append(&e, v[i].t_ms, v[i].v);
    size_t len0 = dst->len;
    if (rc == 0)
        rc = buf_put_u8(dst, (uint8_t)(n >> 8));
    if (rc == 0)
        rc = buf_put_u8(dst, (uint8_t)(n & 0xff));
    if (rc == 0)
        rc = buf_append(dst, tmp.p, tmp.len);
    if (rc != 0 && dst->len > len0) {
        dst->len = len0;
        dst->p[len0] = 0;
    }
    buf_fini(&tmp);
    return rc;
}
