/* series_codec.c: the column codec inside blocks (block.h), used when
 * block.c writes a series cut from the head or a compaction, and when a
 * query reads it back. Pure: bytes in, samples out, no I/O.
 *
 * Layout (docs/format/block.md, "series codec"):
 *   u8       header: bits 0..2 value mode (enum series_codec_mode), bits 3..7 k
 *   uvarint  n samples
 *   ints     timestamps: varint t0, then n-1 delta-of-delta tokens with zero runs
 *   values   CONST: u64le bits | DEC_DELTA: varint m0, n-1 zig-zag varint deltas
 *            | DEC_DOD: varint m0, n-1 dod tokens with zero runs
 *            | XOR: uvarint nbytes, Gorilla bits (64 raw bits, then XOR steps)
 *            | DEC_PACK: varint m0, uvarint nbytes, then per group of up to 64
 *              deltas a 7-bit width w and the zig-zag deltas in w bits each
 *              (small integer steps, e.g. TSBS' 0..100 random walks: ~2 bits
 *              a sample where a varint takes 8)
 *   A "token with zero runs" is a zig-zag varint; a 0 is followed by a uvarint
 *   count of further zeros, so a regular 10 s series costs a few bytes in all.
 * Decimal values: v == (double)m / 10^k bit for bit, k the smallest in
 * 0..SERIES_DEC_MAX_EXP that works for every value; -0.0, NaN and ±Inf never
 * do, so they force XOR. The encoder tries every mode that applies and keeps
 * the smallest: why each mode exists is measured in docs/format/chunks.md.
 * Invariant: decode consumes exactly `len` bytes, yields strictly increasing
 * timestamps and at most SERIES_CODEC_MAX_SAMPLES samples, whatever the input.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "storage/bitstream.h"
#include "storage/block.h"

#define SERIES_DEC_MAX_EXP 18

static const double pow10_tab[SERIES_DEC_MAX_EXP + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
    1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
};

static uint64_t bits_of(double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return u;
}

static double double_of(uint64_t u)
{
    double v;
    memcpy(&v, &u, 8);
    return v;
}

/* v as m / 10^k exactly? */
static bool dec_fits(double v, unsigned k, int64_t *m)
{
    double x = v * pow10_tab[k];
    if (!(x >= -0x1p63 && x < 0x1p63))
        return false; /* also NaN and ±Inf */
    int64_t i = (int64_t)round(x);
    if (bits_of((double)i / pow10_tab[k]) != bits_of(v))
        return false;
    *m = i;
    return true;
}

/* m / 10^k as the encoder checked it; k == 0 skips the (exact) division by 1,
 * which shows in profiles of integer-valued series. */
static inline double dec_value(uint64_t m, unsigned k, double scale)
{
    return k ? (double)(int64_t)m / scale : (double)(int64_t)m;
}

/* Smallest k that scales every value exactly, or -1. */
static int dec_exponent(const struct sample *v, size_t n)
{
    unsigned k = 0;
    int64_t m;
    for (size_t i = 0; i < n; i++) {
        while (!dec_fits(v[i].v, k, &m)) {
            if (++k > SERIES_DEC_MAX_EXP)
                return -1;
        }
    }
    /* A value that fit a smaller k usually fits k too; check, widen if not. */
    for (;;) {
        size_t i = 0;
        while (i < n && dec_fits(v[i].v, k, &m))
            i++;
        if (i == n)
            break;
        if (++k > SERIES_DEC_MAX_EXP)
            return -1;
    }
    return (int)k;
}

static int put_tokens_begin(struct buf *b, int64_t x, size_t *zeros)
{
    if (x == 0) {
        (*zeros)++;
        return 0;
    }
    int rc = 0;
    if (*zeros > 0) {
        rc = buf_put_uvarint(b, 0);
        if (rc == 0)
            rc = buf_put_uvarint(b, *zeros - 1);
        *zeros = 0;
    }
    return rc ? rc : buf_put_varint(b, x);
}

static int put_tokens_end(struct buf *b, size_t *zeros)
{
    if (*zeros == 0)
        return 0;
    int rc = buf_put_uvarint(b, 0);
    if (rc == 0)
        rc = buf_put_uvarint(b, *zeros - 1);
    *zeros = 0;
    return rc;
}

/* Delta-of-delta of consecutive values mod 2^64 (never overflows). */
static int put_dod(struct buf *b, const int64_t *m, size_t n)
{
    size_t zeros = 0;
    uint64_t prev_delta = 0;
    int rc = buf_put_varint(b, n ? m[0] : 0);
    for (size_t i = 1; i < n && rc == 0; i++) {
        uint64_t delta = (uint64_t)m[i] - (uint64_t)m[i - 1];
        rc = put_tokens_begin(b, (int64_t)(delta - prev_delta), &zeros);
        prev_delta = delta;
    }
    return rc ? rc : put_tokens_end(b, &zeros);
}

static int put_delta(struct buf *b, const int64_t *m, size_t n)
{
    int rc = buf_put_varint(b, m[0]);
    for (size_t i = 1; i < n && rc == 0; i++)
        rc = buf_put_varint(b, (int64_t)((uint64_t)m[i] - (uint64_t)m[i - 1]));
    return rc;
}

#define PACK_GROUP 64

/* Read g values of `width` bits: the common case inline, one unaligned
 * big-endian load each (the hot loop of reading TSBS-like blocks); near the
 * end of the bytes, or past them, bitstream_read() does it and flags. */
static void unpack(struct bitstream_reader *br, unsigned width, uint64_t *z, size_t g)
{
    size_t nbytes = br->nbits / 8;
    for (size_t j = 0; j < g; j++) {
        size_t pos = br->pos;
        unsigned off = (unsigned)(pos & 7);
        if (width == 0) {
            z[j] = 0;
        } else if (width + off <= 64 && (pos >> 3) + 8 <= nbytes) {
            uint64_t x;
            memcpy(&x, br->p + (pos >> 3), 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            x = __builtin_bswap64(x);
#endif
            z[j] = (x << off) >> (64 - width);
            br->pos = pos + width;
        } else {
            z[j] = bitstream_read(br, width);
        }
    }
}

/* The fast path of a group: g zigzag deltas of `width` bits (1..56) from
 * bit pos of p, which the caller checked lie at least 8 bytes before the
 * end, added to *m and stored as values out[0..g). */
static void unpack_sum(const uint8_t *p, size_t pos, unsigned width, size_t g, uint64_t *m,
                       unsigned k, double scale, struct sample *out)
{
    uint64_t acc = *m;
    unsigned drop = 64 - width;
    for (size_t j = 0; j < g; j++, pos += width) {
        uint64_t x;
        memcpy(&x, p + (pos >> 3), 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        x = __builtin_bswap64(x);
#endif
        uint64_t z = (x << (pos & 7)) >> drop;
        acc += (z >> 1) ^ -(z & 1);
        out[j].v = k ? (double)(int64_t)acc / scale : (double)(int64_t)acc;
    }
    *m = acc;
}

static uint64_t zigzag(int64_t x)
{
    return ((uint64_t)x << 1) ^ (uint64_t)(x >> 63);
}

static int put_pack(struct buf *b, const int64_t *m, size_t n)
{
    int rc = buf_put_varint(b, m[0]);
    struct buf bits;
    buf_init(&bits, 0);
    struct bitstream_writer w;
    bitstream_writer_init(&w, &bits, 0);
    for (size_t i = 1; i < n && rc == 0; i += PACK_GROUP) {
        size_t g = n - i < PACK_GROUP ? n - i : PACK_GROUP;
        uint64_t z[PACK_GROUP], any = 0;
        for (size_t j = 0; j < g; j++) {
            z[j] = zigzag((int64_t)((uint64_t)m[i + j] - (uint64_t)m[i + j - 1]));
            any |= z[j];
        }
        unsigned width = any ? 64u - (unsigned)__builtin_clzll(any) : 0u;
        rc = bitstream_write(&w, width, 7);
        for (size_t j = 0; j < g && rc == 0 && width > 0; j++)
            rc = bitstream_write(&w, z[j], width);
    }
    if (rc == 0)
        rc = buf_put_bytes(b, bits.p, bits.len);
    buf_fini(&bits);
    return rc;
}

static int put_xor(struct buf *b, const struct sample *v, size_t n)
{
    struct buf bits;
    buf_init(&bits, 0);
    struct bitstream_writer w;
    bitstream_writer_init(&w, &bits, 0);
    uint64_t prev = bits_of(v[0].v);
    uint8_t lead = BITSTREAM_NO_WINDOW, trail = 0;
    int rc = bitstream_write(&w, prev, 64);
    for (size_t i = 1; i < n && rc == 0; i++)
        rc = bitstream_xor_put(&w, bits_of(v[i].v), &prev, &lead, &trail);
    if (rc == 0)
        rc = buf_put_bytes(b, bits.p, bits.len);
    buf_fini(&bits);
    return rc;
}

int series_codec_encode(struct buf *dst, const struct sample *v, size_t n)
{
    if (n > SERIES_CODEC_MAX_SAMPLES)
        return TIDE_ELIMIT;
    for (size_t i = 1; i < n; i++)
        if (v[i].t_ms <= v[i - 1].t_ms)
            return TIDE_EINVAL;
    size_t start = dst->len;
    int64_t *m = NULL;
    struct buf alt;
    buf_init(&alt, 0);
    int rc = buf_put_u8(dst, 0); /* header, patched below */
    if (rc == 0)
        rc = buf_put_uvarint(dst, n);
    if (rc != 0 || n == 0) {
        if (rc == 0)
            dst->p[start] = SERIES_CODEC_CONST;
        goto done;
    }

    /* Timestamps: t0, then dod tokens; delta_0 is taken as 0. */
    rc = buf_put_varint(dst, v[0].t_ms);
    size_t zeros = 0;
    uint64_t prev_delta = 0;
    for (size_t i = 1; i < n && rc == 0; i++) {
        uint64_t delta = (uint64_t)v[i].t_ms - (uint64_t)v[i - 1].t_ms;
        rc = put_tokens_begin(dst, (int64_t)(delta - prev_delta), &zeros);
        prev_delta = delta;
    }
    if (rc == 0)
        rc = put_tokens_end(dst, &zeros);
    if (rc != 0)
        goto done;

    uint64_t first = bits_of(v[0].v);
    size_t same = 1;
    while (same < n && bits_of(v[same].v) == first)
        same++;
    if (same == n) {
        dst->p[start] = SERIES_CODEC_CONST;
        rc = buf_put_u64le(dst, first);
        goto done;
    }

    /* XOR always applies; decimal modes only when every value scales. */
    uint8_t mode = SERIES_CODEC_XOR;
    rc = put_xor(&alt, v, n);
    if (rc != 0)
        goto done;
    int k = dec_exponent(v, n);
    if (k >= 0) {
        m = malloc(n * sizeof *m);
        if (m == NULL) {
            rc = -ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            dec_fits(v[i].v, (unsigned)k, &m[i]);
        static const uint8_t modes[] = {SERIES_CODEC_DEC_DOD, SERIES_CODEC_DEC_DELTA,
                                        SERIES_CODEC_DEC_PACK};
        for (size_t j = 0; j < sizeof modes && rc == 0; j++) {
            size_t mark = dst->len;
            if (modes[j] == SERIES_CODEC_DEC_DOD)
                rc = put_dod(dst, m, n);
            else if (modes[j] == SERIES_CODEC_DEC_DELTA)
                rc = put_delta(dst, m, n);
            else
                rc = put_pack(dst, m, n);
            if (rc == 0 && dst->len - mark < alt.len) {
                buf_reset(&alt);
                rc = buf_append(&alt, dst->p + mark, dst->len - mark);
                mode = (uint8_t)(modes[j] | (unsigned)k << 3);
            }
            dst->len = mark;
            dst->p[mark] = 0;
        }
        if (rc != 0)
            goto done;
    }
    dst->p[start] = mode;
    rc = buf_append(dst, alt.p, alt.len);
done:
    free(m);
    buf_fini(&alt);
    if (rc != 0) {
        dst->len = start;
        if (dst->p)
            dst->p[start] = 0;
    }
    return rc;
}

int series_codec_mode(const void *p, size_t len)
{
    if (len == 0)
        return 0;
    unsigned mode = *(const uint8_t *)p & 7u;
    return mode >= SERIES_CODEC_CONST && mode <= SERIES_CODEC_DEC_PACK ? (int)mode : 0;
}

/* Reader of dod/delta tokens with zero runs. */
struct toks {
    struct rd *r;
    uint64_t zeros; /* zeros still owed by the current run */
};

/* rd_uvarint()/rd_varint() (core/buf.c) inlined for the decode loops, a
 * varint a value: with 10 bytes or more left (the longest varint) no byte
 * is checked against the end; else byte by byte as rd_uvarint() does. An
 * overlong or cut varint leaves r as rd_uvarint() would (bad, position). */
static inline uint64_t uvarint(struct rd *r)
{
    const uint8_t *p = r->p;
    uint64_t v = 0;
    if (r->end - p >= 10) {
        for (int i = 0; i < 10; i++) {
            uint8_t c = p[i];
            v |= (uint64_t)(c & 0x7f) << (7 * i);
            if (c < 0x80) {
                r->p = p + i + 1;
                return v;
            }
        }
        r->p = p + 10;
        r->bad = true;
        return 0;
    }
    for (int shift = 0; shift < 64 && p < r->end; shift += 7) {
        uint8_t c = *p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (c < 0x80) {
            r->p = p;
            return v;
        }
    }
    r->p = p;
    r->bad = true;
    return 0;
}

static inline int64_t varint(struct rd *r)
{
    uint64_t z = uvarint(r);
    return (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
}

static inline int64_t tok_next(struct toks *t)
{
    if (t->zeros > 0) {
        t->zeros--;
        return 0;
    }
    int64_t x = varint(t->r);
    if (x == 0 && !t->r->bad)
        t->zeros = uvarint(t->r);
    return x;
}

static int grow(struct sample **v, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    if (ncap > need && ncap - need > SERIES_CODEC_MAX_SAMPLES)
        ncap = need + SERIES_CODEC_MAX_SAMPLES; /* doubling a huge caller array */
    struct sample *nv = realloc(*v, ncap * sizeof *nv);
    if (nv == NULL)
        return -ENOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

/* A length-prefixed bit stream at r into *br; false when r ran short. */
static bool rd_bits(struct rd *r, struct bitstream_reader *br)
{
    size_t nb;
    const void *bits = rd_bytes(r, &nb);
    if (r->bad)
        return false;
    bitstream_reader_init(br, bits, nb);
    return true;
}

/* Whether br was read to its end: never past it, and less than a byte (the
 * padding) left over. */
static bool bits_done(const struct bitstream_reader *br)
{
    return !br->bad && (br->nbits - br->pos) < 8;
}

int series_codec_decode(const void *p, size_t len, struct sample **v, size_t *n, size_t *cap,
                        struct err *e)
{
    struct rd r;
    rd_init(&r, p, len);
    uint8_t hdr = rd_u8(&r);
    unsigned mode = hdr & 7u, k = hdr >> 3;
    uint64_t cnt = rd_uvarint(&r);
    if (r.bad)
        return ERR_CORRUPT(e, "series codec: short header");
    if (mode < SERIES_CODEC_CONST || mode > SERIES_CODEC_DEC_PACK)
        return ERR_CORRUPT(e, "series codec: bad mode %u", mode);
    if (k > SERIES_DEC_MAX_EXP || (k != 0 && mode != SERIES_CODEC_DEC_DELTA &&
                                   mode != SERIES_CODEC_DEC_DOD && mode != SERIES_CODEC_DEC_PACK))
        return ERR_CORRUPT(e, "series codec: bad exponent %u for mode %u", k, mode);
    if (cnt > SERIES_CODEC_MAX_SAMPLES)
        return ERR_CORRUPT(e, "series codec: %llu samples", (unsigned long long)cnt);
    if (cnt == 0) {
        if (rd_left(&r) != 0)
            return ERR_CORRUPT(e, "series codec: trailing bytes");
        return 0;
    }
    /* Grow with what was decoded, not with the count a damaged header claims. */
    size_t first = (size_t)cnt < 256 + 8 * len ? (size_t)cnt : 256 + 8 * len;
    if (grow(v, cap, *n + first) != 0)
        return ERR_SET(e, -ENOMEM, "series codec: out of memory");
    struct sample *out = *v + *n;

    struct toks tk = {.r = &r, .zeros = 0};
    out[0].t_ms = varint(&r);
    uint64_t delta = 0;
    for (size_t i = 1; i < cnt;) {
        /* A run of zero tokens (a regular interval) is filled in one go:
         * the same delta, checked once for the run's last timestamp. */
        size_t run = 1;
        if (tk.zeros > 0) {
            run = tk.zeros < cnt - i ? (size_t)tk.zeros : (size_t)cnt - i;
            tk.zeros -= run;
        } else {
            delta += (uint64_t)tok_next(&tk);
        }
        if (*n + i + run > *cap) {
            if (grow(v, cap, *n + i + run) != 0)
                return ERR_SET(e, -ENOMEM, "series codec: out of memory");
            out = *v + *n;
        }
        int64_t prev = out[i - 1].t_ms;
        /* INT64_MAX - prev, exact in uint64 for every prev: the headroom left. */
        uint64_t room = (uint64_t)INT64_MAX - (uint64_t)prev;
        if (r.bad || delta == 0 || delta > (uint64_t)INT64_MAX || delta > room / run)
            return ERR_CORRUPT(e, "series codec: bad timestamp at sample %zu", i);
        for (size_t j = 0; j < run; j++) {
            prev = (int64_t)((uint64_t)prev + delta);
            out[i + j].t_ms = prev;
        }
        i += run;
    }
    if (r.bad || tk.zeros != 0)
        return ERR_CORRUPT(e, "series codec: bad timestamp run");

    switch (mode) {
    case SERIES_CODEC_CONST: {
        double c = double_of(rd_u64le(&r));
        for (size_t i = 0; i < cnt; i++)
            out[i].v = c;
        break;
    }
    case SERIES_CODEC_DEC_DELTA:
    case SERIES_CODEC_DEC_DOD: {
        double scale = pow10_tab[k];
        uint64_t m = (uint64_t)rd_varint(&r);
        uint64_t d = 0;
        out[0].v = dec_value(m, k, scale);
        for (size_t i = 1; i < cnt && !r.bad; i++) {
            if (mode == SERIES_CODEC_DEC_DELTA)
                d = (uint64_t)varint(&r);
            else
                d += (uint64_t)tok_next(&tk);
            m += d;
            out[i].v = dec_value(m, k, scale);
        }
        if (tk.zeros != 0)
            return ERR_CORRUPT(e, "series codec: bad value run");
        break;
    }
    case SERIES_CODEC_DEC_PACK: {
        double scale = pow10_tab[k];
        uint64_t m = (uint64_t)rd_varint(&r);
        out[0].v = dec_value(m, k, scale);
        struct bitstream_reader br;
        if (!rd_bits(&r, &br))
            break;
        for (size_t i = 1; i < cnt && !br.bad; i += PACK_GROUP) {
            size_t g = cnt - i < PACK_GROUP ? (size_t)cnt - i : PACK_GROUP;
            unsigned width = (unsigned)bitstream_read(&br, 7);
            if (width > 64)
                return ERR_CORRUPT(e, "series codec: bit width %u", width);
            if (width == 0) { /* a run of equal values */
                for (size_t j = 0; j < g; j++)
                    out[i + j].v = dec_value(m, k, scale);
                continue;
            }
            if (width <= 56 && (br.pos + g * width) / 8 + 8 <= br.nbits / 8) {
                /* The whole group lies inside the bytes with 8 to spare:
                 * no per-value bounds checks, deltas summed as read. */
                unpack_sum(br.p, br.pos, width, g, &m, k, scale, out + i);
                br.pos += g * width;
                continue;
            }
            uint64_t z[PACK_GROUP];
            unpack(&br, width, z, g);
            for (size_t j = 0; j < g; j++) {
                m += (z[j] >> 1) ^ -(z[j] & 1);
                out[i + j].v = dec_value(m, k, scale);
            }
        }
        if (!bits_done(&br))
            return ERR_CORRUPT(e, "series codec: bad packed deltas");
        break;
    }
    case SERIES_CODEC_XOR: {
        struct bitstream_reader br;
        if (!rd_bits(&r, &br))
            break;
        uint64_t prev = bitstream_read(&br, 64);
        uint8_t lead = BITSTREAM_NO_WINDOW, trail = 0;
        out[0].v = double_of(prev);
        for (size_t i = 1; i < cnt && !br.bad; i++) {
            bitstream_xor_get(&br, &prev, &lead, &trail);
            out[i].v = double_of(prev);
        }
        if (!bits_done(&br))
            return ERR_CORRUPT(e, "series codec: bad XOR bits");
        break;
    }
    }
    if (r.bad)
        return ERR_CORRUPT(e, "series codec: truncated values");
    if (rd_left(&r) != 0)
        return ERR_CORRUPT(e, "series codec: %zu trailing bytes", rd_left(&r));
    *n += (size_t)cnt;
    return 0;
}
