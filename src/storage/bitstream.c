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

#include "core/err.h"

int bitstream_write(struct bitstream_writer *w, uint64_t v, unsigned n)
{
    struct buf *b = w->b;
    while (n > 0) {
        if (w->bit == 0 || w->bit == 8) {
            int rc = buf_put_u8(b, 0);
            if (rc != 0)
                return rc;
            w->bit = 0;
        }
        unsigned room = 8u - w->bit;
        unsigned take = n < room ? n : room;
        unsigned bits = (unsigned)(v >> (n - take)) & ((1u << take) - 1u);
        uint8_t *last = (uint8_t *)b->p + b->len - 1;
        *last = (uint8_t)(*last | (bits << (room - take)));
        w->bit = (uint8_t)(w->bit + take);
        n -= take;
    }
    return 0;
}

uint64_t bitstream_read(struct bitstream_reader *r, unsigned n)
{
    if (r->pos > r->nbits || n > r->nbits - r->pos) {
        r->bad = true;
        r->pos = r->nbits;
        return 0;
    }
    uint64_t v = 0;
    size_t pos = r->pos;
    while (n > 0) {
        unsigned off = (unsigned)(pos & 7);
        unsigned avail = 8u - off;
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
