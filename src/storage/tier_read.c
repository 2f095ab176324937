/* tier_read.c: reading rollup tiers back (tier_series_rollups,
 * storage_tier_has_data), stitched with raw data.
 *
 * Partition by partition, a tier file is used while it matches the raw data
 * (computed from the partition's only block, no tombstone over it, nothing
 * of the series in the head for that partition) or when the raw data is
 * gone (retention); otherwise the rollups are computed from the raw samples
 * on the spot. Either way the rollups equal what the raw data gives
 * wherever raw data exists. Consecutive partitions read from raw data are
 * read in one go, and rollups come out in time order.
 */
#include <errno.h>
#include <stdlib.h>

#include "storage/engine.h"
#include "storage/tier.h"

static const struct storage_tier_spec *spec(const struct storage *s, int t)
{
    return &s->o.policy->tiers[t];
}

bool storage_tier_has_data(struct storage *s, int tier, int64_t mint_ms, int64_t maxt_ms)
{
    if (tier < 0 || !s->o.policy || (size_t)tier >= s->o.policy->ntiers)
        return false;
    bool hit = false;
    pthread_rwlock_rdlock(&s->lock);
    const struct tier_state *ts = &s->tiers[tier];
    for (size_t i = 0; i < ts->nparts && !hit; i++)
        hit = ts->parts[i].partition <= maxt_ms &&
              ts->parts[i].partition + s->o.partition_ms > mint_ms;
    pthread_rwlock_unlock(&s->lock);
    return hit;
}

/* Does series sid have head samples in [a, b]? Caller holds lock(read). */
static bool head_has(struct storage *s, uint32_t sid, int64_t a, int64_t b)
{
    struct series *sr = series_get(&s->reg, sid);
    pthread_mutex_t *mu = storage_stripe(s, sid);
    pthread_mutex_lock(mu);
    bool hit = head_data_overlaps(&sr->head, a, b);
    pthread_mutex_unlock(mu);
    const struct head_data *frozen = series_frozen(s, sid);
    if (frozen && head_data_overlaps(frozen, a, b))
        hit = true;
    return hit;
}

/* The tier part to read for series sid in partition p, or NULL when the
 * raw data must be rolled up instead. Caller holds lock(read). */
static const struct tier_part *usable(struct storage *s, int t, uint32_t sid, int64_t p)
{
    int64_t k = tier_part_find(&s->tiers[t], p);
    if (k < 0)
        return NULL;
    const struct tier_part *tp = &s->tiers[t].parts[k];
    size_t nraw = 0;
    const struct db_block *only = NULL;
    for (size_t i = 0; i < s->nblocks; i++)
        if (s->blocks[i].partition == p) {
            nraw++;
            only = &s->blocks[i];
        }
    bool ok = nraw == 0 ||
              (nraw == 1 && only->seq == tp->src_seq && !compact_has_tombstones(s, only));
    if (!ok || head_has(s, sid, p, p + s->o.partition_ms - 1))
        return NULL;
    return tp;
}

struct rollup_read {
    struct sample *v;
    size_t nv, capv;
};

/* Roll up the raw samples of windows starting in [a, b]. */
static int from_raw(struct storage *s, int64_t res, uint32_t sid, int64_t a, int64_t b,
                    struct rollup_read *rr, struct storage_rollup **out, size_t *n, size_t *cap,
                    unsigned *sources, struct err *e)
{
    rr->nv = 0;
    int rc = querier_series_samples(s, sid, a, b + res - 1, &rr->v, &rr->nv, &rr->capv, NULL, e);
    if (rc == 0 && rr->nv > 0) {
        if ((rc = storage_rollup_compute(rr->v, rr->nv, res, out, n, cap)) != 0)
            ERR_SET(e, rc, "out of memory");
        *sources |= 1;
    }
    return rc;
}

/* Read tier part tp's rollups of sid for windows starting in [a, b], the
 * ROLLUP_F_* `fields` only. Caller holds lock(read). */
static int from_tier(const struct tier_part *tp, int64_t res, uint32_t sid, int64_t a, int64_t b,
                     unsigned fields, struct rollup_read *rr, struct storage_rollup **out,
                     size_t *n, size_t *cap, unsigned *sources, struct err *e)
{
    size_t lo = 0, hi = tp->nsids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tp->sids[2 * mid] < sid)
            lo = mid + 1;
        else
            hi = mid;
    }
    *sources |= 2;
    if (lo == tp->nsids || tp->sids[2 * lo] != sid)
        return 0; /* no rollup in this partition */
    /* The fields are columns, each in chunks of its own (tier.c): read the
     * windows asked for of each field wanted, column after column. Files
     * written before fields had chunks of their own mix them in a chunk;
     * the same reads serve, decoding more. */
    rr->nv = 0;
    int64_t ka = rollup_window_of(a, res), kb = rollup_window_of(b, res);
    int rc = 0;
    for (int f = 0; f < ROLLUP_FIELDS && rc == 0; f++)
        if (fields & (1u << f))
            rc = block_series_samples_range(tp->b, tp->sids[2 * lo + 1], rollup_ts(f, ka),
                                            rollup_ts(f, kb), &rr->v, &rr->nv, &rr->capv, NULL, e);
    if (rc == 0)
        rc = rollup_decode(rr->v, rr->nv, fields, res, ka, kb, out, n, cap);
    if (rc == TIDE_ECORRUPT)
        ERR_CORRUPT(e, "%s: rollups of a series do not decode", block_path(tp->b));
    else if (rc == -ENOMEM)
        ERR_SET(e, rc, "out of memory");
    return rc;
}

int tier_series_rollups(struct storage *s, int t, uint32_t sid, int64_t lo, int64_t hi,
                        unsigned fields, struct storage_rollup **out, size_t *n, size_t *cap,
                        unsigned *sources, struct err *e)
{
    int64_t res = spec(s, t)->resolution_ms, pms = s->o.partition_ms;
    struct rollup_read rr = {0};
    int rc = 0;
    /* Consecutive partitions without a usable tier part are read in one go. */
    int64_t raw_a = 0, raw_b = 0;
    bool pending = false;
    for (int64_t p = rollup_window_of(lo, pms) * pms; p <= hi && rc == 0; p += pms) {
        int64_t a = p > lo ? p : lo;
        int64_t b = p + pms - res < hi ? p + pms - res : hi;
        pthread_rwlock_rdlock(&s->lock);
        const struct tier_part *tp = usable(s, t, sid, p);
        if (tp && pending) {
            /* Older raw windows first: rollups come out in time order. */
            pthread_rwlock_unlock(&s->lock);
            rc = from_raw(s, res, sid, raw_a, raw_b, &rr, out, n, cap, sources, e);
            pending = false;
            pthread_rwlock_rdlock(&s->lock);
            tp = rc == 0 ? usable(s, t, sid, p) : NULL;
        }
        if (tp)
            rc = from_tier(tp, res, sid, a, b, fields, &rr, out, n, cap, sources, e);
        pthread_rwlock_unlock(&s->lock);
        if (tp || rc)
            continue;
        if (!pending)
            raw_a = a;
        raw_b = b;
        pending = true;
    }
    if (rc == 0 && pending)
        rc = from_raw(s, res, sid, raw_a, raw_b, &rr, out, n, cap, sources, e);
    free(rr.v);
    return rc;
}

