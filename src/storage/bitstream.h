/* bitstream.h: MSB-first bit writer and bounds-checked bit reader, plus the
 * Gorilla XOR step for one float64, shared by chunk.c (head chunks) and
 * series_codec.c (block columns).
 *
 * Ownership: the writer appends to a caller-owned `struct buf`; the reader
 * borrows its bytes.
 * Thread: none.
 * Byte layout of the XOR step: docs/format/chunks.md.
 */
#ifndef TIDE_STORAGE_BITSTREAM_H
#define TIDE_STORAGE_BITSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Largest number of bits one bitstream_xor_put() writes (2 + 5 + 6 + 64). */
#define BITSTREAM_XOR_MAX_BITS 77
/* `lead` value meaning "no XOR window yet" (the first XOR after a raw value). */
#define BITSTREAM_NO_WINDOW 0xff

struct bitstream_writer {
    struct buf *b; /* destination; owned by the caller */
    uint8_t bit;   /* bits used in the last byte of b (1..8); 0 or 8 = start a new byte */
};

struct bitstream_reader {
    const uint8_t *p; /* bytes (borrowed) */
    size_t nbits;     /* bits available */
    size_t pos;       /* next bit to read */
    bool bad;         /* a read ran past nbits */
};

static inline void bitstream_writer_init(struct bitstream_writer *w, struct buf *b, uint8_t bit)
{
    w->b = b;
    w->bit = bit;
}

static inline void bitstream_reader_init(struct bitstream_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->nbits = len * 8;
    r->pos = 0;
    r->bad = false;
}

/* Append the low n bits of v (n <= 64), most significant first. 0, TIDE_ELIMIT
 * or -ENOMEM; reserve room first (buf_reserve) to make a sequence infallible. */
int bitstream_write(struct bitstream_writer *w, uint64_t v, unsigned n);
/* Read n bits (n <= 64). Past the end: sets r->bad and returns 0. */
uint64_t bitstream_read(struct bitstream_reader *r, unsigned n);
static inline bool bitstream_read_bit(struct bitstream_reader *r)
{
    if (r->pos >= r->nbits) {
        r->bad = true;
        return false;
    }
    bool b = (r->p[r->pos >> 3] >> (7 - (r->pos & 7))) & 1;
    r->pos++;
    return b;
}

/* One Gorilla XOR step: encode `v_bits` against *prev with the window
 * (*lead, *trail), updating all three. *lead starts as BITSTREAM_NO_WINDOW. */
int bitstream_xor_put(struct bitstream_writer *w, uint64_t v_bits, uint64_t *prev, uint8_t *lead,
                      uint8_t *trail);
/* Decode one XOR step into *prev. False (and r->bad set) on short input or an
 * impossible code. */
bool bitstream_xor_get(struct bitstream_reader *r, uint64_t *prev, uint8_t *lead, uint8_t *trail);

#endif
