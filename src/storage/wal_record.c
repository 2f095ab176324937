/* wal_record.c: what the WAL's records hold (wal.c only frames them).
 *
 * storage_append() writes one SERIES record for the series the current WAL
 * generation has not described yet, then one SAMPLES record for the call;
 * storage_delete() writes a TOMBSTONE record. replay.c decodes them at open.
 * Byte layout, all integers varints (zig-zag when signed):
 *   SERIES    [u8 1] { uvarint id, uvarint nlabels, { bytes name, bytes value } }*
 *   SAMPLES   [u8 2] { uvarint id, uvarint n, varint t0, f64le v0,
 *                      { varint t - previous t, f64le v } x (n - 1) }*
 *   TOMBSTONE [u8 3] varint mint, varint maxt, { uvarint id }*
 * Values are the raw 8 IEEE bytes, so every float64 round-trips bit-exactly.
 * Ids are those of the process that wrote the record: a SERIES record
 * (re)binds an id to a label set for the records that follow it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "storage/engine.h"

int wal_record_series_begin(struct buf *b)
{
    return buf_put_u8(b, WAL_REC_SERIES);
}

int wal_record_series_add(struct buf *b, uint32_t id, const struct label *ls, size_t n)
{
    int rc = buf_put_uvarint(b, id);
    rc = rc ? rc : buf_put_uvarint(b, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = buf_put_bytes(b, ls[i].name.p, ls[i].name.n);
        if (rc == 0)
            rc = buf_put_bytes(b, ls[i].value.p, ls[i].value.n);
    }
    return rc;
}

int wal_record_series_add_series(struct buf *b, const struct intern *in, const struct series *sr)
{
    int rc = buf_put_uvarint(b, sr->id);
    rc = rc ? rc : buf_put_uvarint(b, sr->nlabels);
    for (uint32_t i = 0; i < sr->nlabels && rc == 0; i++) {
        struct label l = series_label(in, sr, i);
        rc = buf_put_bytes(b, l.name.p, l.name.n);
        rc = rc ? rc : buf_put_bytes(b, l.value.p, l.value.n);
    }
    return rc;
}

int wal_record_samples_begin(struct buf *b)
{
    return buf_put_u8(b, WAL_REC_SAMPLES);
}

int wal_record_samples_add(struct buf *b, uint32_t id, const struct sample *v, size_t n)
{
    if (n == 0)
        return 0;
    int rc = buf_reserve(b, 20 + n * 18);
    if (rc)
        return rc;
    rc = buf_put_uvarint(b, id);
    rc = rc ? rc : buf_put_uvarint(b, n);
    int64_t prev = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = buf_put_varint(b, (int64_t)((uint64_t)v[i].t_ms - (uint64_t)prev));
        rc = rc ? rc : buf_put_f64(b, v[i].v);
        prev = v[i].t_ms;
    }
    return rc;
}

int wal_record_tombstone(struct buf *b, const uint32_t *ids, size_t n, int64_t mint_ms,
                         int64_t maxt_ms)
{
    int rc = buf_put_u8(b, WAL_REC_TOMBSTONE);
    rc = rc ? rc : buf_put_varint(b, mint_ms);
    rc = rc ? rc : buf_put_varint(b, maxt_ms);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = buf_put_uvarint(b, ids[i]);
    return rc;
}

/* Entries a SERIES record is read ahead by: each one's hash goes to
 * vis->series_hint before the first of them is bound, so the registry
 * slots they need are fetched while the others are parsed. */
#define SERIES_AHEAD 8
#define SERIES_AHEAD_LABELS 256

struct entry_ahead {
    uint32_t id;
    uint32_t n;   /* labels */
    size_t at;    /* its first label in the group's array */
    uint64_t hash;
};

/* Parse one entry's labels into ls (room for n) and hash them: from the
 * record's own bytes, which are labels_key(ls) when written canonically
 * (minimal varints, as wal_record_series_add does), else rebuilt. */
static uint64_t parse_labels(struct rd *r, struct label *ls, uint64_t n)
{
    const uint8_t *key = r->p;
    size_t canonical = 0; /* labels_key()'s length of ls */
    for (uint64_t i = 0; i < n; i++) {
        size_t nn, vn;
        const void *np = rd_bytes(r, &nn);
        const void *vp = rd_bytes(r, &vn);
        ls[i] = (struct label){{np, nn}, {vp, vn}};
        canonical += uvarint_len(nn) + nn + uvarint_len(vn) + vn;
    }
    if (r->bad)
        return 0;
    size_t keylen = (size_t)(r->p - key);
    return keylen == canonical ? hash_bytes(key, keylen) : labels_hash(ls, n);
}

static int decode_series(struct rd *r, const struct wal_record_visitor *vis, struct err *e)
{
    struct label stack[SERIES_AHEAD_LABELS], *ls = stack;
    size_t cap = SERIES_AHEAD_LABELS;
    struct entry_ahead g[SERIES_AHEAD];
    int rc = 0;
    while (rd_left(r) > 0 && rc == 0) {
        /* Parse up to SERIES_AHEAD entries (an entry that does not fit
         * beside the others waits for the next group), then bind them. */
        size_t ng = 0, used = 0;
        while (ng < SERIES_AHEAD && rd_left(r) > 0 && rc == 0) {
            const uint8_t *start = r->p;
            uint64_t id = rd_uvarint(r), n = rd_uvarint(r);
            if (r->bad || id >= UINT32_MAX || n > rd_left(r)) {
                rc = ERR_CORRUPT(e, "WAL SERIES record: bad header");
                break;
            }
            if (used + n > cap) {
                if (ng > 0) {
                    r->p = start;
                    break;
                }
                struct label *nl = malloc(n * sizeof *nl);
                if (!nl) {
                    rc = -ENOMEM;
                    break;
                }
                if (ls != stack)
                    free(ls);
                ls = nl;
                cap = n;
            }
            uint64_t hash = parse_labels(r, ls + used, n);
            if (r->bad) {
                rc = ERR_CORRUPT(e, "WAL SERIES record: truncated labels");
                break;
            }
            if (vis->series_hint)
                vis->series_hint(vis->ctx, hash);
            g[ng++] = (struct entry_ahead){(uint32_t)id, (uint32_t)n, used, hash};
            used += n;
        }
        /* The entries before a damaged one are bound, as they were read. */
        int brc = 0;
        for (size_t k = 0; k < ng && brc == 0 && vis->series; k++)
            brc = vis->series(vis->ctx, g[k].id, ls + g[k].at, g[k].n, g[k].hash);
        if (brc)
            rc = brc;
    }
    if (ls != stack)
        free(ls);
    return rc;
}

static int decode_samples(struct rd *r, const struct wal_record_visitor *vis, struct err *e)
{
    while (rd_left(r) > 0) {
        uint64_t id = rd_uvarint(r), n = rd_uvarint(r);
        if (r->bad || id >= UINT32_MAX || n > rd_left(r))
            return ERR_CORRUPT(e, "WAL SAMPLES record: bad header");
        int64_t t = 0;
        for (uint64_t i = 0; i < n; i++) {
            t = (int64_t)((uint64_t)t + (uint64_t)rd_varint(r));
            double v = rd_f64(r);
            if (r->bad)
                return ERR_CORRUPT(e, "WAL SAMPLES record: truncated");
            if (vis->sample) {
                int rc = vis->sample(vis->ctx, (uint32_t)id, t, v);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

static int decode_tombstone(struct rd *r, const struct wal_record_visitor *vis, struct err *e)
{
    int64_t mint = rd_varint(r), maxt = rd_varint(r);
    while (!r->bad && rd_left(r) > 0) {
        uint64_t id = rd_uvarint(r);
        if (r->bad || id >= UINT32_MAX)
            break;
        if (vis->tombstone) {
            int rc = vis->tombstone(vis->ctx, (uint32_t)id, mint, maxt);
            if (rc)
                return rc;
        }
    }
    if (r->bad)
        return ERR_CORRUPT(e, "WAL TOMBSTONE record: truncated");
    return 0;
}

int wal_record_decode(const void *rec, size_t n, const struct wal_record_visitor *vis,
                      struct err *e)
{
    struct rd r;
    rd_init(&r, rec, n);
    uint8_t type = rd_u8(&r);
    if (r.bad)
        return ERR_CORRUPT(e, "empty WAL record");
    switch (type) {
    case WAL_REC_SERIES:
        return decode_series(&r, vis, e);
    case WAL_REC_SAMPLES:
        return decode_samples(&r, vis, e);
    case WAL_REC_TOMBSTONE:
        return decode_tombstone(&r, vis, e);
    default:
        return ERR_CORRUPT(e, "unknown WAL record type %u", type);
    }
}
