/* replay.c: rebuilding the head from the WAL at storage_open().
 *
 * Essay. The WAL holds, in write order, everything acknowledged since the
 * last completed head cut (older segments are deleted once their samples
 * are in durable blocks). Replay runs after the blocks were loaded and
 * before the WAL is reopened for appending. This thread reads, checks and
 * decodes the records and binds series; the head appends are queued to
 * replay_apply.c, which shares them out between worker threads and this
 * one, each series' in WAL order.
 * Record ids belong to the process that wrote them: a SERIES record binds a
 * WAL id to a label set, which replay maps to this process' id (creating the
 * series if no block knew it; a worker adds its postings); each process re-describes a series in a new
 * segment before using its id (series.wal_gen), so the binding seen last is
 * always the right one. SAMPLES go through the same head_data_append() as
 * live writes, so the out-of-order and last-write-wins rules give the same
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
#include <unistd.h>

#include "core/hash.h"
#include "storage/engine.h"

struct replay {
    struct storage *s;
    uint32_t *map;       /* WAL id -> series id, SERIES_NONE when unbound */
    size_t cap;
    struct replay_apply *apply;
    uint64_t corrupt;
    bool tombs_added;
};

static int bind(void *ctx, uint32_t id, const struct label *ls, size_t n, uint64_t h)
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
    uint32_t sid = series_lookup(&s->reg, h, ls, n);
    if (sid == SERIES_NONE) {
        int rc = series_create(s, ls, n, h, &sid);
        if (rc == 0)
            rc = replay_apply_index(r->apply, sid);
        if (rc)
            return rc;
    }
    r->map[id] = sid;
    return 0;
}

/* A series to bind soon: fetch its registry slot meanwhile. */
static void bind_hint(void *ctx, uint64_t hash)
{
    struct replay *r = ctx;
    series_prefetch(&r->s->reg, hash, 0);
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
    return replay_apply_sample(r->apply, sid, t_ms, v);
}

/* The head's part goes to the series' worker, in order with its samples;
 * the block tombstone is this thread's. */
static int tombstone(void *ctx, uint32_t id, int64_t mint_ms, int64_t maxt_ms)
{
    struct replay *r = ctx;
    struct storage *s = r->s;
    uint32_t sid = lookup(r, id);
    if (sid == SERIES_NONE)
        return 0;
    int rc = replay_apply_delete(r->apply, sid, mint_ms, maxt_ms);
    if (rc)
        return rc;
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
    struct wal_record_visitor vis = {r, bind, bind_hint, sample, tombstone};
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

/* Worker threads for the appends: opts.replay_workers, or one per CPU but
 * this thread's, at most 3 (decoding here keeps about one busy). */
static unsigned apply_workers(const struct storage *s)
{
    if (s->o.replay_workers)
        return s->o.replay_workers < 0 ? 0 : (unsigned)s->o.replay_workers;
    long n = sysconf(_SC_NPROCESSORS_ONLN) - 1;
    return n <= 0 ? 0 : n > 3 ? 3 : (unsigned)n;
}

int replay_wal(struct storage *s, struct err *e)
{
    struct replay r = {.s = s};
    struct wal_replay_stats st = {0};
    int rc = replay_apply_start(&r.apply, s, apply_workers(s));
    if (rc)
        return ERR_SET(e, rc, "replaying the WAL: starting the appending threads: %s",
                       tide_strerror(rc));
    s->postings_deferred = true;
    rc = wal_replay(s->wal_dir, on_record, on_damage, &r, &st, e);
    struct replay_totals tot;
    int arc = replay_apply_finish(r.apply, &tot);
    s->postings_deferred = false;
    free(r.map);
    if (rc == 0 && arc)
        rc = ERR_SET(e, arc, "replaying the WAL: %s", tide_strerror(arc));
    atomic_fetch_add_explicit(&s->head_samples, (uint64_t)tot.added, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->samples_ooo, tot.nooo, memory_order_relaxed);
    if (tot.mint < s->head_mint)
        s->head_mint = tot.mint;
    if (tot.maxt > s->head_maxt)
        s->head_maxt = tot.maxt;
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
