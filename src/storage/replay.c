/* replay.c: rebuilding the head from the WAL at storage_open().
 *
 * Essay. The WAL holds, in write order, everything acknowledged since the
 * last completed head cut (older segments are deleted once their samples
 * are in durable blocks). Replay runs after the blocks were loaded and
 * before the WAL is reopened for appending, single-threaded.
 * Record ids belong to the process that wrote them: a SERIES record binds a
 * WAL id to a label set, which replay maps to this process' id (creating the
 * series if no block knew it); each process re-describes a series in a new
 * segment before using its id (series.wal_gen), so the binding seen last is
 * always the right one. SAMPLES go through the same head_append() as live
 * writes, so the out-of-order and last-write-wins rules give the same
 * result as before the restart. A TOMBSTONE removes what the head holds in
 * its range and re-adds the block tombstone in case the crash came before
 * the tombstones file was saved. A torn or corrupt tail is wal.c's to drop
 * (counted in wal_torn_records_total); a damaged region mid-segment is
 * skipped by wal.c up to the next valid frame (wal_corrupt_records_total),
 * and each is reported through opts.report; a record that frames fine but
 * does not decode is counted as torn and skipped. None is fatal. A SAMPLES
 * record after damage may name a WAL id whose SERIES record was lost: its
 * samples cannot be placed and are counted, not guessed.
 * Samples that were already cut into a block whose WAL segments were not yet
 * truncated replay into the head again: same values, deduplicated on read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "storage/engine.h"

struct replay {
    struct storage *s;
    uint32_t *map;       /* WAL id -> series id, SERIES_NONE when unbound */
    size_t cap;
    uint64_t corrupt;
    uint64_t added, nooo; /* head samples gained, out-of-order ones among them */
    bool tombs_added;
};

static int bind(void *ctx, uint32_t id, const struct label *ls, size_t n)
{
    struct replay *r = ctx;
    struct storage *s = r->s;
    if (id >= r->cap) {
        size_t cap = r->cap ? r->cap : 1024;
        while (cap <= id)
            cap *= 2;
        uint32_t *m = realloc(r->map, cap * sizeof *m);
        if (!m)
            return -ENOMEM;
        for (size_t i = r->cap; i < cap; i++)
            m[i] = SERIES_NONE;
        r->map = m;
        r->cap = cap;
    }
    uint64_t h = labels_hash(ls, n);
    uint32_t sid = series_lookup(&s->reg, h, ls, n);
    if (sid == SERIES_NONE) {
        int rc = series_create(s, ls, n, h, &sid);
        if (rc)
            return rc;
    }
    r->map[id] = sid;
    return 0;
}

static uint32_t lookup(const struct replay *r, uint32_t id)
{
    return id < r->cap ? r->map[id] : SERIES_NONE;
}

static int sample(void *ctx, uint32_t id, int64_t t_ms, double v)
{
    struct replay *r = ctx;
    uint32_t sid = lookup(r, id);
    if (sid == SERIES_NONE) {
        r->corrupt++;
        return 0;
    }
    return head_append_replay(r->s, series_get(&r->s->reg, sid), t_ms, v, &r->added, &r->nooo);
}

static int tombstone(void *ctx, uint32_t id, int64_t mint_ms, int64_t maxt_ms)
{
    struct replay *r = ctx;
    struct storage *s = r->s;
    uint32_t sid = lookup(r, id);
    if (sid == SERIES_NONE)
        return 0;
    uint64_t removed;
    int rc = head_data_delete(&series_get(&s->reg, sid)->head, mint_ms, maxt_ms, &removed);
    if (rc)
        return rc;
    r->added -= removed; /* all head samples came from this replay */
    series_narrow(series_get(&s->reg, sid), mint_ms, maxt_ms);
    for (size_t i = 0; i < s->ntombs; i++) {
        const struct tombstone *t = &s->tombs[i];
        if (t->sid == sid && t->mint_ms == mint_ms && t->maxt_ms == maxt_ms)
            return 0;
    }
    rc = tombstone_add(s, sid, mint_ms, maxt_ms);
    if (rc > 0) {
        r->tombs_added = true;
        rc = 0;
    }
    return rc;
}

static int on_record(void *ctx, const void *rec, size_t n)
{
    struct replay *r = ctx;
    struct wal_record_visitor vis = {r, bind, sample, tombstone};
    struct err e;
    int rc = wal_record_decode(rec, n, &vis, &e);
    if (rc == TIDE_ECORRUPT) {
        r->corrupt++;
        return 0;
    }
    return rc;
}

/* Damage found by wal.c: said loudly, once per region. */
static void on_damage(void *ctx, const struct wal_damage *d)
{
    struct replay *r = ctx;
    if (d->tail)
        db_report(r->s, -1, "wal_replay",
                  "WAL segment %08u: torn or damaged tail at offset %llu (%llu bytes) dropped",
                  d->seg, (unsigned long long)d->off, (unsigned long long)d->len);
    else
        db_report(r->s, -1, "wal_replay",
                  "WAL segment %08u is damaged at offset %llu: %llu bytes skipped, the records "
                  "after them recovered (the samples of the damaged record are lost)",
                  d->seg, (unsigned long long)d->off, (unsigned long long)d->len);
}

int replay_wal(struct storage *s, struct err *e)
{
    struct replay r = {.s = s};
    struct wal_replay_stats st = {0};
    int rc = wal_replay(s->wal_dir, on_record, on_damage, &r, &st, e);
    free(r.map);
    atomic_fetch_add_explicit(&s->head_samples, r.added, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->samples_ooo, r.nooo, memory_order_relaxed);
    s->wal_torn = st.torn + r.corrupt;
    s->wal_corrupt = st.corrupt;
    s->wal_corrupt_bytes = st.corrupt_bytes;
    if (rc) {
        if (e && e->code == 0)
            ERR_SET(e, rc, "replaying the WAL: %s", tide_strerror(rc));
        return rc;
    }
    if (r.tombs_added)
        rc = tombstone_save(s, e);
    return rc;
}
