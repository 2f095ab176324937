/* tier_read.c: reading rollup tiers back (tier_group_rollups,
 * storage_tier_has_data), stitched with raw data.
 *
 * Partition by partition, a tier file is used while it matches the raw data
 * (computed from the partition's only block, no tombstone over it, nothing
 * of the series in the head for that partition) or when the raw data is
 * gone (retention); otherwise the rollups are computed from the raw samples
 * on the spot. Either way the rollups equal what the raw data gives
 * wherever raw data exists. Consecutive partitions read from raw data are
 * read in one go, and rollups come out in time order.
 *
 * A few series are read together, partition after partition (the group
 * of querier.c's rollup sets): a 90-day chart reads 100 series in 90 daily
 * tier files, and reading one series through all 90 files before the next
 * meets every file's index and page cold each time (most of the read's
 * time went to those cache misses). Series of one metric lie next to each
 * other in a file, so the group's index entries and chunks share cache
 * lines, and the partition's checks are made once for the group, under
 * one hold of lock(read).
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

/* The tier part to read in partition p when the raw data allows it (its
 * only block is the part's source, without tombstones, or it is gone), or
 * NULL. The series' head (head_has) is checked apart. Caller holds
 * lock(read). */
static const struct tier_part *usable_part(struct storage *s, int t, int64_t p)
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
    return ok ? tp : NULL;
}

/* The tier part to read for series sid in partition p, or NULL when the
 * raw data must be rolled up instead. Caller holds lock(read). */
static const struct tier_part *usable(struct storage *s, int t, uint32_t sid, int64_t p)
{
    const struct tier_part *tp = usable_part(s, t, p);
    if (tp == NULL || head_has(s, sid, p, p + s->o.partition_ms - 1))
        return NULL;
    return tp;
}

struct rollup_read {
    struct sample *v;
    size_t nv, capv;
};

/* Roll up the raw samples of windows starting in [a, b]. */
static int from_raw(struct storage *s, int64_t res, uint32_t sid, int64_t a, int64_t b,
                    struct rollup_read *rr, struct storage_rollups *out, unsigned *sources,
                    struct err *e)
{
    rr->nv = 0;
    int rc = querier_series_samples(s, sid, a, b + res - 1, &rr->v, &rr->nv, &rr->capv, NULL, e);
    if (rc == 0 && rr->nv > 0) {
        if ((rc = storage_rollup_compute(rr->v, rr->nv, res, &out->v, &out->n, &out->cap)) != 0)
            ERR_SET(e, rc, "out of memory");
        *sources |= 1;
    }
    return rc;
}

/* Read tier part tp's rollups of sid for windows starting in [a, b], the
 * ROLLUP_F_* `fields` only, through *pin (released by the caller before it
 * releases lock(read)). Caller holds lock(read). */
static int from_tier(const struct tier_part *tp, int64_t res, uint32_t sid, int64_t a, int64_t b,
                     unsigned fields, struct rollup_read *rr, struct block_pin *pin,
                     struct storage_rollups *out, unsigned *sources, struct err *e)
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
     * windows asked for of each field wanted, column after column, in one
     * visit of the series' page. Files written before fields had chunks of
     * their own mix them in a chunk; the same reads serve, decoding more. */
    rr->nv = 0;
    int64_t ka = rollup_window_of(a, res), kb = rollup_window_of(b, res);
    int64_t ranges[ROLLUP_FIELDS][2];
    size_t nr = 0;
    for (int f = 0; f < ROLLUP_FIELDS; f++)
        if (fields & (1u << f)) {
            ranges[nr][0] = rollup_ts(f, ka);
            ranges[nr][1] = rollup_ts(f, kb);
            nr++;
        }
    int rc = block_series_samples_ranges_pin(tp->b, tp->sids[2 * lo + 1],
                                             (const int64_t(*)[2])ranges, nr, &rr->v, &rr->nv,
                                             &rr->capv, NULL, pin, e);
    if (rc == 0)
        rc = rollup_decode(rr->v, rr->nv, fields, res, ka, kb, &out->v, &out->n, &out->cap);
    if (rc == TIDE_ECORRUPT)
        ERR_CORRUPT(e, "%s: rollups of a series do not decode", block_path(tp->b));
    else if (rc == -ENOMEM)
        ERR_SET(e, rc, "out of memory");
    return rc;
}

/* Raw windows a series still owes, [a, b], read before its next tier part. */
struct pending {
    int64_t a, b;
    bool on;
};

static void owe(struct pending *pd, int64_t a, int64_t b)
{
    if (!pd->on)
        pd->a = a;
    pd->b = b;
    pd->on = true;
}

int tier_group_rollups(struct storage *s, int t, const uint32_t *sids, size_t nsids, int64_t lo,
                       int64_t hi, unsigned fields, struct storage_rollups *out, unsigned *sources,
                       struct err *e)
{
    if (nsids > TIER_GROUP_MAX)
        return ERR_INVAL(e, "tier read of %zu series at once (at most %d)", nsids,
                         TIER_GROUP_MAX);
    int64_t res = spec(s, t)->resolution_ms, pms = s->o.partition_ms;
    struct rollup_read rr = {0};
    struct pending pd[TIER_GROUP_MAX] = {0};
    bool flush[TIER_GROUP_MAX];
    int rc = 0;
    for (int64_t p = rollup_window_of(lo, pms) * pms; p <= hi && rc == 0; p += pms) {
        int64_t a = p > lo ? p : lo;
        int64_t b = p + pms - res < hi ? p + pms - res : hi;
        size_t nflush = 0;
        struct block_pin pin = {0}; /* the group's series share a page, mostly */
        pthread_rwlock_rdlock(&s->lock);
        const struct tier_part *part = usable_part(s, t, p);
        for (size_t j = 0; j < nsids && rc == 0; j++) {
            flush[j] = false;
            const struct tier_part *tp =
                part != NULL && !head_has(s, sids[j], p, p + pms - 1) ? part : NULL;
            if (tp == NULL) {
                owe(&pd[j], a, b);
            } else if (pd[j].on) {
                flush[j] = true; /* older raw windows first: time order */
                nflush++;
            } else {
                rc = from_tier(tp, res, sids[j], a, b, fields, &rr, &pin, &out[j], sources, e);
            }
        }
        block_pin_release(&pin);
        pthread_rwlock_unlock(&s->lock);
        for (size_t j = 0; j < nsids && nflush > 0 && rc == 0; j++) {
            if (!flush[j])
                continue;
            /* The raw reads take their own locks; the state may have
             * changed meanwhile, so the partition is checked again. */
            rc = from_raw(s, res, sids[j], pd[j].a, pd[j].b, &rr, &out[j], sources, e);
            pd[j].on = false;
            if (rc != 0)
                break;
            pthread_rwlock_rdlock(&s->lock);
            const struct tier_part *tp = usable(s, t, sids[j], p);
            if (tp != NULL)
                rc = from_tier(tp, res, sids[j], a, b, fields, &rr, &pin, &out[j], sources, e);
            else
                owe(&pd[j], a, b);
            block_pin_release(&pin);
            pthread_rwlock_unlock(&s->lock);
        }
    }
    for (size_t j = 0; j < nsids && rc == 0; j++)
        if (pd[j].on)
            rc = from_raw(s, res, sids[j], pd[j].a, pd[j].b, &rr, &out[j], sources, e);
    free(rr.v);
    return rc;
}
