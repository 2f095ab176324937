/* bitstream.c: bit-level writer/reader and the Gorilla XOR value step.
 *
 * Sits under chunk.c (head chunks, one sample appended at a time) and
 * series_codec.c (block columns, whole series at once). Bits are packed most
 * significant first, so a chunk is read in the order it was written; the
 * unused low bits of the last byte are always zero, which lets the writer OR
 * new bits in and lets chunk_enc_resume() continue a chunk.
 * Invariant: the reader never touches a byte at or past nbits/8 rounded up,
 * whatever the input (decoders are fuzzed).
 * XOR step layout (Gorilla paper, as in Prometheus' XOR chunk):
 *   '0'                       same bits as the previous value
 *   '10' <meaningful bits>    XOR fits in the previous leading/trailing window
 *   '11' <5b lead> <6b sig> <sig bits>   new window; sig 0 means 64
 */
#include "storage/bitstream.h"

#include <string.h>

#include "core/err.h"

int bitstream_write(struct bitstream_writer *w, uint64_t v, unsigned n)
{
    if (n == 0)
        return 0;
    struct buf *b = w->b;
    unsigned room = (w->bit == 0 || w->bit == 8) ? 0 : 8u - w->bit; /* free bits in last byte */
    if (n > room) {
        int rc = buf_reserve(b, (n - room + 7) / 8);
        if (rc != 0)
            return rc;
    }
    if (n < 64)
        v &= ((uint64_t)1 << n) - 1;
    uint8_t *p = (uint8_t *)b->p + b->len; /* one past the last byte */
    if (room > 0) {
        unsigned take = n < room ? n : room;
        p[-1] = (uint8_t)(p[-1] | (unsigned)(v >> (n - take)) << (room - take));
        n -= take;
        w->bit = (uint8_t)(w->bit + take);
    }
    if (n > 0) {
        /* The n bits left start a new byte: write them as whole bytes, all
         * at once when 8 fit (the NUL slot counts: it is reset below). */
        unsigned nbytes = (n + 7) / 8;
        uint64_t x = v << (64 - n); /* top-aligned; the low bits are zero */
        if ((size_t)((char *)p - b->p) + 8 <= b->cap + 1) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            x = __builtin_bswap64(x);
#endif
            memcpy(p, &x, 8);
        } else {
            for (unsigned i = 0; i < nbytes; i++)
                p[i] = (uint8_t)(x >> (56 - 8 * i));
        }
        p += nbytes;
        w->bit = (uint8_t)(n & 7 ? n & 7 : 8);
    }
    b->len = (size_t)((char *)p - b->p);
    b->p[b->len] = 0;
    return 0;
}

uint64_t bitstream_read(struct bitstream_reader *r, unsigned n)
{
    if (r->pos > r->nbits || n > r->nbits - r->pos) {
        r->bad = true;
        r->pos = r->nbits;
        return 0;
    }
    if (n == 0)
        return 0;
    size_t pos = r->pos;
    unsigned off = (unsigned)(pos & 7);
    if (n + off <= 64 && (pos >> 3) + 8 <= r->nbits / 8) {
        /* Fast path: one unaligned big-endian load holds all n bits. */
        uint64_t x;
        memcpy(&x, r->p + (pos >> 3), 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        x = __builtin_bswap64(x);
#endif
        r->pos = pos + n;
        return (x << off) >> (64 - n);
    }
    uint64_t v = 0;
    while (n > 0) {
        unsigned avail = 8u - (unsigned)(pos & 7);
        unsigned take = n < avail ? n : avail;
        unsigned byte = r->p[pos >> 3];
        unsigned bits = (byte >> (avail - take)) & ((1u << take) - 1u);
        v = (v << take) | bits;
        pos += take;
        n -= take;
    }
    r->pos = pos;
    return v;
}

int bitstream_xor_put(struct bitstream_writer *w, uint64_t v_bits, uint64_t *prev, uint8_t *lead,
                      uint8_t *trail)
{
    uint64_t x = v_bits ^ *prev;
    *prev = v_bits;
    if (x == 0)
        return bitstream_write(w, 0, 1);
    unsigned l = (unsigned)__builtin_clzll(x);
    unsigned t = (unsigned)__builtin_ctzll(x);
    if (l > 31)
        l = 31; /* 5 bits of leading count */
    if (*lead != BITSTREAM_NO_WINDOW && l >= *lead && t >= *trail) {
        unsigned sig = 64u - *lead - *trail;
        int rc = bitstream_write(w, 2, 2);
        if (rc == 0)
            rc = bitstream_write(w, x >> *trail, sig);
        return rc;
    }
    unsigned sig = 64u - l - t;
    *lead = (uint8_t)l;
    *trail = (uint8_t)t;
    int rc = bitstream_write(w, 3, 2);
    if (rc == 0)
        rc = bitstream_write(w, l, 5);
    if (rc == 0)
        rc = bitstream_write(w, sig & 63u, 6);
    if (rc == 0)
        rc = bitstream_write(w, x >> t, sig);
    return rc;
}

bool bitstream_xor_get(struct bitstream_reader *r, uint64_t *prev, uint8_t *lead, uint8_t *trail)
{
    if (!bitstream_read_bit(r))
        return !r->bad; /* '0': unchanged */
    if (bitstream_read_bit(r)) {
        unsigned l = (unsigned)bitstream_read(r, 5);
        unsigned sig = (unsigned)bitstream_read(r, 6);
        if (sig == 0)
            sig = 64;
        if (r->bad || l + sig > 64) {
            r->bad = true;
            return false;
        }
        *lead = (uint8_t)l;
        *trail = (uint8_t)(64u - l - sig);
    } else if (*lead == BITSTREAM_NO_WINDOW) {
        r->bad = true; /* '10' needs a window */
        return false;
    }
    unsigned sig = 64u - *lead - *trail;
    uint64_t x = bitstream_read(r, sig);
    if (r->bad)
        return false;
    *prev ^= x << *trail;
    return true;
}
