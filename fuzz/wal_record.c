/* wal_record.c: fuzz target for the WAL record decoder (storage/wal_record.c),
 * which replay feeds every record that passed its frame CRC. Input: one
 * record. Invariants: the decoder never reads outside the input (ASan),
 * answers 0, TIDE_ECORRUPT or -ENOMEM only; a SERIES entry's key, when
 * given, is exactly labels_key() of its labels and hashes as labels_hash()
 * does (replay looks series up by that hash); a sample's id is one the
 * record format can carry. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "storage/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_series(void *ctx, uint32_t id, const struct label *ls, size_t n, const void *key,
                     size_t keylen)
{
    (void)ctx;
    (void)id;
    if (!key)
        return 0;
    char *k = malloc(keylen ? keylen : 1);
    if (!k)
        return -ENOMEM;
    if (labels_key(ls, n, k, keylen) != keylen || memcmp(k, key, keylen) != 0)
        abort(); /* the key is not labels_key(ls) */
    if (hash_bytes(key, keylen) != labels_hash(ls, n))
        abort();
    free(k);
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
    struct wal_record_visitor vis = {NULL, on_series, on_sample, on_tombstone};
    struct err e = {0};
    int rc = wal_record_decode(data, size, &vis, &e);
    if (rc != 0 && rc != TIDE_ECORRUPT && rc != -ENOMEM)
        abort();
    return 0;
}
