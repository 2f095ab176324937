/* wal_record.c: fuzz target for the WAL record decoder (storage/wal_record.c),
 * which replay feeds every record that passed its frame CRC. Input: one
 * record. Invariants: the decoder never reads outside the input (ASan),
 * answers 0, TIDE_ECORRUPT or -ENOMEM only; a SERIES entry's hash is
 * labels_hash() of its labels (replay looks series up by it), whether the
 * record's varints are minimal or not; every entry is hinted before it is
 * bound, in order; a sample's id is one the record format can carry. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "storage/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Hints given and not yet matched by a series() call, in order. */
static uint64_t hints[64];
static size_t nhints, hint_at;

static void on_hint(void *ctx, uint64_t hash)
{
    (void)ctx;
    if (nhints == sizeof hints / sizeof hints[0])
        abort(); /* hinted far more than "a few entries ahead" */
    hints[nhints++] = hash;
}

static int on_series(void *ctx, uint32_t id, const struct label *ls, size_t n, uint64_t hash)
{
    (void)ctx;
    (void)id;
    if (hash != labels_hash(ls, n))
        abort(); /* replay looks series up by this hash */
    if (hint_at >= nhints || hints[hint_at] != hash)
        abort(); /* every series is hinted, in order, before it is bound */
    if (++hint_at == nhints)
        hint_at = nhints = 0;
    return 0;
}

static int on_sample(void *ctx, uint32_t id, int64_t t_ms, double v)
{
    (void)ctx;
    (void)t_ms;
    (void)v;
    if (id == UINT32_MAX)
        abort();
    return 0;
}

static int on_tombstone(void *ctx, uint32_t id, int64_t mint_ms, int64_t maxt_ms)
{
    (void)ctx;
    (void)id;
    (void)mint_ms;
    (void)maxt_ms;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wal_record_visitor vis = {NULL, on_series, on_hint, on_sample, on_tombstone};
    nhints = hint_at = 0;
    struct err e = {0};
    int rc = wal_record_decode(data, size, &vis, &e);
    if (rc != 0 && rc != TIDE_ECORRUPT && rc != -ENOMEM)
        abort();
    return 0;
}
