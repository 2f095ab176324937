/* head_append.c: storage_append(), the write path from a batch to the head.
 *
 * First, outside append_mu so concurrent writers overlap: hash each batch
 * series and look it up under lock(read) (labels_hash + full compare), and
 * when all exist encode the SAMPLES record for the whole call. Then under
 * append_mu: create the missing series after the limits check, encode one
 * SERIES record for the series this WAL generation has not described yet,
 * append both records to the WAL, and only then apply the samples to the
 * head chunks (in order) or the ooo buffer.
 * Invariant: nothing reaches the head before its WAL record was written, so
 * a replay rebuilds what readers saw. With STORAGE_FSYNC_ALWAYS the call
 * returns 0 only after a wal_sync() that covered its records (group commit:
 * one fsync may cover several concurrent appenders).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "storage/engine.h"

/* Bytes one chunk_enc_append() may add at most (chunk.c reserves as much). */
#define HEAD_APPEND_MAX_BYTES 24

/* Open chunks up to this many bytes grow by exactly what a sample takes;
 * longer ones by an eighth more. */
#define HEAD_OPEN_EXACT_BYTES 256

/* Make `open` hold at least `need` bytes (plus its NUL slot). A failed grow
 * changes nothing. */
static int open_grow(struct head_data *h, size_t need)
{
    size_t ncap = need < HEAD_OPEN_EXACT_BYTES ? need : need + need / 8;
    /* malloc hands out 16-byte multiples (8 of them its header): use them */
    ncap = ((ncap + 1 + 8 + 15) & ~(size_t)15) - 8 - 1;
    if (ncap > UINT32_MAX - 1)
        return TIDE_ELIMIT;
    char *np = realloc(h->open, ncap + 1);
    if (!np)
        return -ENOMEM;
    h->open = np;
    h->open_cap = (uint32_t)ncap;
    return 0;
}

/* Append to the open chunk. The sample is encoded into a scratch copy of
 * the chunk's last byte (the only one an append rewrites), then `open` grows
 * by what the sample took and the bytes are copied back. So an open chunk
 * keeps no room for the next sample: with many series of few samples each
 * (a million of 10 here), a spare room of HEAD_APPEND_MAX_BYTES per series
 * cost more than the extra reallocs. A failed append changes nothing. */
static int open_append(struct head_data *h, int64_t t_ms, double v)
{
    char tmp[1 + HEAD_APPEND_MAX_BYTES + 1]; /* last byte, new bytes, NUL slot */
    size_t keep = h->open_len ? h->open_len - 1 : 0; /* bytes the append leaves alone */
    struct buf b = {.p = tmp, .len = h->open_len - keep, .cap = sizeof tmp - 1,
                    .max = sizeof tmp - 1};
    if (b.len)
        tmp[0] = h->open[keep];
    tmp[b.len] = 0;
    const struct head_enc *he = &h->enc;
    struct chunk_enc e = {.dst = &b, .n = he->n, .bit = he->bit, .t = he->t,
                          .t_delta = he->t_delta, .v_bits = he->v_bits, .lead = he->lead,
                          .trail = he->trail};
    int rc = chunk_enc_append(&e, t_ms, v);
    if (rc)
        return rc;
    assert(b.p == tmp);
    size_t len = keep + b.len;
    if (len > h->open_cap || !h->open) {
        rc = open_grow(h, len);
        if (rc)
            return rc;
    }
    memcpy(h->open + keep, tmp, b.len + 1);
    h->open_len = (uint32_t)len;
    h->enc = (struct head_enc){.t = e.t, .t_delta = e.t_delta, .v_bits = e.v_bits, .n = e.n,
                               .bit = e.bit, .lead = e.lead, .trail = e.trail};
    return 0;
}

/* h->x, made on first use. 0 or -ENOMEM. */
static int extra(struct head_data *h)
{
    if (h->x == NULL)
        h->x = calloc(1, sizeof *h->x);
    return h->x ? 0 : -ENOMEM;
}

int head_data_append(struct head_data *h, int64_t t_ms, double v, bool *ooo)
{
    *ooo = false;
    if (h->nsamples == UINT32_MAX)
        return TIDE_ELIMIT;
    if (h->nsamples > 0 && t_ms <= h->enc.t) {
        bool replaced;
        int rc = extra(h);
        if (rc == 0)
            rc = ooo_insert(&h->x->ooo, &h->x->nooo, &h->x->cap_ooo, t_ms, v, &replaced);
        if (rc)
            return rc;
        *ooo = t_ms < h->enc.t;
        if (!replaced)
            h->nsamples++;
        return 0;
    }
    if (h->enc.n >= CHUNK_MAX_SAMPLES) {
        int rc = extra(h);
        if (rc)
            return rc;
        /* Room for 4 chunks, then doubling at each power of two. */
        struct head_extra *x = h->x;
        uint32_t ns = x->nsealed;
        if (ns == 0 || (ns >= 4 && (ns & (ns - 1)) == 0)) {
            uint32_t cap = ns ? ns * 2 : 4;
            struct head_chunk *nc = realloc(x->sealed, cap * sizeof *nc);
            if (!nc)
                return -ENOMEM;
            x->sealed = nc;
        }
        struct head_chunk c = {.p = h->open, .len = h->open_len, .n = h->enc.n};
        char *fit = realloc(c.p, (size_t)c.len + 1); /* sealed: drop the slack */
        if (fit)
            c.p = fit;
        x->sealed[x->nsealed++] = c;
        h->open = NULL;
        h->open_len = h->open_cap = 0;
        int64_t last_t = h->enc.t;
        head_enc_reset(&h->enc);
        h->enc.t = last_t; /* still the last in-order t; a first sample ignores it */
    }
    int rc = open_append(h, t_ms, v);
    if (rc)
        return rc;
    h->nsamples++;
    return 0;
}

int head_append(struct storage *s, struct series *sr, const struct sample *v, size_t n)
{
    uint64_t before = sr->head.nsamples, nooo = 0;
    int64_t mint = INT64_MAX, maxt = INT64_MIN;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        bool ooo;
        rc = head_data_append(&sr->head, v[i].t_ms, v[i].v, &ooo);
        if (rc)
            break;
        nooo += ooo;
        if (v[i].t_ms < mint)
            mint = v[i].t_ms;
        if (v[i].t_ms > maxt)
            maxt = v[i].t_ms;
    }
    if (mint <= maxt) {
        series_widen(sr, mint, maxt);
        if (mint < s->head_mint)
            s->head_mint = mint;
        if (maxt > s->head_maxt)
            s->head_maxt = maxt;
    }
    atomic_fetch_add_explicit(&s->head_samples, sr->head.nsamples - before, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->samples_ooo, nooo, memory_order_relaxed);
    return rc;
}

int head_append_replay(struct series *sr, int64_t t_ms, double v, struct replay_totals *tot)
{
    uint32_t before = sr->head.nsamples;
    bool ooo;
    int rc = head_data_append(&sr->head, t_ms, v, &ooo);
    if (rc)
        return rc;
    tot->added += sr->head.nsamples - before;
    tot->nooo += ooo;
    /* one owner: a relaxed load and store stand for series_widen()'s CAS */
    if (t_ms < atomic_load_explicit(&sr->mint, memory_order_relaxed))
        atomic_store_explicit(&sr->mint, t_ms, memory_order_relaxed);
    if (t_ms > atomic_load_explicit(&sr->maxt, memory_order_relaxed))
        atomic_store_explicit(&sr->maxt, t_ms, memory_order_relaxed);
    if (t_ms < tot->mint)
        tot->mint = t_ms;
    if (t_ms > tot->maxt)
        tot->maxt = t_ms;
    return 0;
}

/* Wait until the WAL is synced up to `seq` (group commit). */
static int sync_upto(struct storage *s, uint64_t seq)
{
    if (atomic_load(&s->synced_seq) >= seq)
        return 0;
    pthread_mutex_lock(&s->sync_mu);
    int rc = 0;
    if (atomic_load(&s->synced_seq) < seq) {
        uint64_t target = atomic_load(&s->written_seq);
        rc = wal_sync(s->wal);
        if (rc == 0)
            atomic_store(&s->synced_seq, target);
    }
    pthread_mutex_unlock(&s->sync_mu);
    return rc;
}

/* Encode the SAMPLES record of every resolved series of b into rec. */
static int encode_samples(struct buf *rec, const struct batch *b, const uint32_t *sids,
                          size_t *nsamples)
{
    *nsamples = 0;
    int rc = wal_record_samples_begin(rec);
    for (size_t i = 0; i < b->nseries && rc == 0; i++) {
        if (sids[i] == SERIES_NONE)
            continue;
        const struct batch_series *bs = &b->series[i];
        rc = wal_record_samples_add(rec, sids[i], b->samples + bs->sample_off, bs->nsamples);
        *nsamples += bs->nsamples;
    }
    return rc;
}

int storage_append(struct storage *s, const struct batch *b, struct storage_append_result *r,
                   struct err *e)
{
    struct storage_append_result res = {0};
    int rc = 0, limit_rc = 0;
    bool wrlocked = false, locked = false;
    uint64_t my_seq = 0;
    size_t nsamples = 0;
    bool encoded = false;
    struct buf rsm;
    buf_init(&rsm, 0);
    struct buf keys; /* every series' labels_key(), back to back */
    buf_init(&keys, 0);
    uint64_t *hashes = malloc((b->nseries ? b->nseries : 1) * sizeof *hashes);
    uint32_t *sids = malloc((b->nseries ? b->nseries : 1) * sizeof *sids);
    size_t *key_off = malloc((b->nseries + 1) * sizeof *key_off);
    if (!hashes || !sids || !key_off) {
        rc = ERR_SET(e, -ENOMEM, "out of memory");
        goto out;
    }

    /* 0. Outside append_mu, so concurrent writers overlap here: hash every
     * label set and resolve the series that exist (lock(read) suffices for
     * lookups; only append_mu holders add series). In steady state every
     * series resolves, and the SAMPLES record is encoded here too. */
    size_t unresolved = 0;
    for (size_t i = 0; i < b->nseries; i++) {
        const struct batch_series *bs = &b->series[i];
        const struct label *ls = b->labels + bs->label_off;
        size_t room = keys.cap - keys.len;
        size_t len = labels_key(ls, bs->nlabels, keys.p ? keys.p + keys.len : NULL, room);
        if (len > room) {
            rc = buf_reserve(&keys, len > 4096 ? len : 4096);
            if (rc) {
                ERR_SET(e, rc, "out of memory");
                goto out;
            }
            labels_key(ls, bs->nlabels, keys.p + keys.len, len);
        }
        key_off[i] = keys.len;
        keys.len += len;
        hashes[i] = hash_bytes(keys.p + key_off[i], len);
    }
    key_off[b->nseries] = keys.len;
    pthread_rwlock_rdlock(&s->lock);
    /* A batch's lookups miss the cache (a slot, then a series, per series):
     * load slots PREFETCH_SLOT ahead and series PREFETCH_SERIES ahead. */
    enum { PREFETCH_SLOT = 16, PREFETCH_SERIES = 8 };
    for (size_t i = 0; i < b->nseries && i < PREFETCH_SLOT; i++)
        series_prefetch(&s->reg, hashes[i], 0);
    for (size_t i = 0; i < b->nseries && i < PREFETCH_SERIES; i++)
        series_prefetch(&s->reg, hashes[i], 1);
    for (size_t i = 0; i < b->nseries; i++) {
        if (i + PREFETCH_SLOT < b->nseries)
            series_prefetch(&s->reg, hashes[i + PREFETCH_SLOT], 0);
        if (i + PREFETCH_SERIES < b->nseries)
            series_prefetch(&s->reg, hashes[i + PREFETCH_SERIES], 1);
        sids[i] = series_lookup_key(&s->reg, hashes[i], keys.p + key_off[i],
                                    key_off[i + 1] - key_off[i]);
        unresolved += sids[i] == SERIES_NONE;
    }
    pthread_rwlock_unlock(&s->lock);
    if (unresolved == 0) {
        rc = encode_samples(&rsm, b, sids, &nsamples);
        if (rc) {
            ERR_SET(e, rc, "encoding the WAL record: %s", tide_strerror(rc));
            goto out;
        }
        encoded = true;
    }

    pthread_mutex_lock(&s->append_mu);
    locked = true;

    /* 1. Create the series that did not exist (under lock(write), taken once);
     * another writer may have created some meanwhile. */
    for (size_t i = 0; i < b->nseries && unresolved > 0; i++) {
        if (sids[i] != SERIES_NONE)
            continue;
        const struct batch_series *bs = &b->series[i];
        const struct label *ls = b->labels + bs->label_off;
        uint32_t sid = series_lookup_key(&s->reg, hashes[i], keys.p + key_off[i],
                                         key_off[i + 1] - key_off[i]);
        if (sid == SERIES_NONE) {
            struct err le;
            int lrc = series_check_limits(s, ls, bs->nlabels, true, &le);
            if (lrc) {
                if (limit_rc == 0 && e)
                    *e = le;
                limit_rc = lrc;
                res.samples_rejected += bs->nsamples;
                continue;
            }
            if (!wrlocked) {
                pthread_rwlock_wrlock(&s->lock);
                wrlocked = true;
            }
            rc = series_create(s, ls, bs->nlabels, hashes[i], &sid);
            if (rc) {
                ERR_SET(e, rc, "creating a series: %s", tide_strerror(rc));
                goto out;
            }
            res.series_created++;
        }
        sids[i] = sid;
    }
    if (wrlocked) {
        pthread_rwlock_unlock(&s->lock);
        wrlocked = false;
    }

    /* 2. Encode the records: SERIES for those this WAL generation has not
     * described yet (needs append_mu), SAMPLES unless done above. */
    struct buf *rs = &s->rec_series;
    buf_reset(rs);
    uint32_t nnew = 0;
    rc = wal_record_series_begin(rs);
    for (size_t i = 0; i < b->nseries && rc == 0; i++) {
        if (sids[i] == SERIES_NONE)
            continue;
        struct series *sr = series_get(&s->reg, sids[i]);
        if (sr->wal_gen == s->wal_gen)
            continue;
        rc = wal_record_series_add_series(rs, &s->intern, sr);
        sr->wal_gen = s->wal_gen; /* undone below on failure */
        nnew++;
    }
    if (rc == 0 && !encoded)
        rc = encode_samples(&rsm, b, sids, &nsamples);

    /* 3. Write them. */
    if (rc == 0 && nnew > 0)
        rc = wal_append(s->wal, rs->p, rs->len);
    if (rc == 0 && nsamples > 0)
        rc = wal_append(s->wal, rsm.p, rsm.len);
    if (rc == 0 && s->o.fsync == STORAGE_FSYNC_ALWAYS)
        rc = wal_flush(s->wal);
    if (rc) {
        /* Not acknowledged, not applied; describe the series again next time. */
        for (size_t i = 0; i < b->nseries; i++)
            if (sids[i] != SERIES_NONE)
                series_get(&s->reg, sids[i])->wal_gen = 0;
        ERR_SET(e, rc, "writing the WAL: %s", tide_strerror(rc));
        goto out;
    }
    my_seq = atomic_fetch_add(&s->written_seq, 1) + 1;

    /* 4. Apply to the head, still under append_mu so the head sees writes in
     * WAL order (last write wins the same way live and at replay). */
    for (size_t i = 0; i < b->nseries; i++) {
        if (sids[i] == SERIES_NONE)
            continue;
        const struct batch_series *bs = &b->series[i];
        struct series *sr = series_get(&s->reg, sids[i]);
        pthread_mutex_t *mu = storage_stripe(s, sids[i]);
        pthread_mutex_lock(mu);
        rc = head_append(s, sr, b->samples + bs->sample_off, bs->nsamples);
        pthread_mutex_unlock(mu);
        if (rc) {
            ERR_SET(e, rc, "appending to the head: %s", tide_strerror(rc));
            goto out;
        }
        res.samples_added += bs->nsamples;
    }
out:
    if (wrlocked)
        pthread_rwlock_unlock(&s->lock);
    if (locked)
        pthread_mutex_unlock(&s->append_mu);
    free(hashes);
    free(sids);
    free(key_off);
    buf_fini(&keys);
    buf_fini(&rsm);
    if (rc == 0 && my_seq && s->o.fsync == STORAGE_FSYNC_ALWAYS) {
        rc = sync_upto(s, my_seq);
        if (rc)
            ERR_SET(e, rc, "syncing the WAL: %s", tide_strerror(rc));
    }
    atomic_fetch_add_explicit(&s->samples_appended, res.samples_added, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->samples_rejected, res.samples_rejected, memory_order_relaxed);
    if (r)
        *r = res;
    if (rc)
        return rc;
    return limit_rc;
}

/* Sync the WAL now, covering every record written so far (fsync timer,
 * storage_maintain()). */
int head_append_sync(struct storage *s)
{
    pthread_mutex_lock(&s->sync_mu);
    uint64_t target = atomic_load(&s->written_seq);
    int rc = wal_sync(s->wal);
    if (rc == 0)
        atomic_store(&s->synced_seq, target);
    pthread_mutex_unlock(&s->sync_mu);
    return rc;
}
