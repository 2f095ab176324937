/* chunk.h: the head's in-memory compressed chunks (Gorilla: timestamps as
 * delta-of-delta, values as XOR with the previous value), appended one sample
 * at a time, in time order. Bit-exact for every float64.
 *
 * Ownership: the encoder appends to a caller-owned `struct buf`; the decoder
 * borrows the bytes it is given for its whole life.
 * Thread: none; head.c serialises access per series.
 * Byte layout: docs/format/chunks.md.
 */
#ifndef TIDE_STORAGE_CHUNK_H
#define TIDE_STORAGE_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define CHUNK_MAX_SAMPLES 240 /* head.c starts a new chunk after this many */

struct chunk_enc {
    struct buf *dst;      /* bytes of the chunk; owned by the caller */
    uint32_t n;           /* samples appended */
    uint8_t bit;          /* bits used in the last byte of dst (0..8) */
    int64_t t, t_delta;   /* last timestamp and last delta */
    uint64_t v_bits;      /* last value's bits */
    uint8_t lead, trail;  /* leading/trailing zeros of the last XOR window */
};

/* Start a new chunk into dst (which must be empty). */
void chunk_enc_init(struct chunk_enc *e, struct buf *dst);
/* Resume appending to an existing chunk of n samples: decodes it once to
 * restore the encoder state. 0 or TIDE_ECORRUPT. */
int chunk_enc_resume(struct chunk_enc *e, struct buf *dst, uint32_t n);
/* Append one sample; t_ms must be > the last one. 0, -ENOMEM or TIDE_ELIMIT
 * (buffer cap, or a gap between samples wider than INT64_MAX ms); TIDE_EINVAL
 * when t_ms is not after the last sample. A failed append changes nothing. */
int chunk_enc_append(struct chunk_enc *e, int64_t t_ms, double v);

struct chunk_dec {
    const uint8_t *p;     /* chunk bytes (borrowed) */
    size_t nbits;         /* bits available */
    size_t pos;           /* next bit */
    uint32_t n, i;        /* samples in the chunk, samples decoded */
    int64_t t, t_delta;
    uint64_t v_bits;
    uint8_t lead, trail;
    bool bad;             /* ran out of bits or met an impossible code */
};

void chunk_dec_init(struct chunk_dec *d, const void *p, size_t len, uint32_t n);
/* Decode the next sample; false at the end or on corruption (see chunk_dec_err). */
bool chunk_dec_next(struct chunk_dec *d);
static inline void chunk_dec_at(const struct chunk_dec *d, int64_t *t_ms, double *v)
{
    union { uint64_t u; double d; } x = {.u = d->v_bits};
    *t_ms = d->t;
    *v = x.d;
}
/* 0, or TIDE_ECORRUPT if decoding stopped early. */
int chunk_dec_err(const struct chunk_dec *d);
/* The first sample's time without decoding the sample: sample 0 starts the
 * chunk byte-aligned, its t a zig-zag uvarint in whole bytes. False when the
 * chunk is empty or cut short (*t_ms untouched). For time-range checks of
 * many series (the head's mint), where decoding the value cost more. */
bool chunk_first_t(const void *p, size_t len, int64_t *t_ms);

#endif
