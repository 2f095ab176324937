/* querier.c: storage_select() and the label APIs, the read side of storage.
 *
 * A select resolves its matchers through postings.c under lock(read), drops
 * series whose [mint, maxt] misses the query range (so a last-hour query
 * never decodes series that stopped a month ago), and sorts the ids by label
 * set (a big selection in two halves, the second offered to a helper
 * thread: core/assist.h). Samples are then read one series at a time, each
 * under lock(read) for just that series: blocks by increasing seq
 * (tombstones applied), then the frozen head of a cut in progress, then the
 * active head, each layer overriding the previous at equal timestamps
 * (ooo.c explains why that is write order). Holding lock(read) per series
 * rather than per set means a slow consumer never stalls ingestion or head
 * cuts, and each series is read from one consistent state: a head cut swaps
 * frozen data for its block under lock(write), so a series is never seen
 * half in both or in neither.
 * A rollup set's series are read in batches by storage_set_read_rollups(),
 * partition after partition, each partition of each series from one
 * consistent state (tier_read.c); it never moves the set, so the query
 * engine reads a long chart's batches on two threads (query/tier_points.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/assist.h"
#include "storage/engine.h"
#include "storage/tier.h"

_Static_assert(STORAGE_ROLLUP_BATCH <= TIER_GROUP_MAX, "a batch is one tier_group_rollups()");

struct storage_set {
    struct storage *s;
    uint32_t *ids;       /* sorted by label set */
    size_t n, pos;       /* pos: 1 + index of the current series; 0 before the first */
    int64_t mint_ms, maxt_ms;
    struct sample *v;    /* samples of the current series */
    size_t nv, cap;
    size_t hint;         /* samples the last series had: the size to reserve next */
    bool maybe_nan;      /* the current series' samples may hold NaN */
    int tier;            /* storage_select_rollups(): the tier; -1 for samples */
    unsigned fields;     /* ROLLUP_F_* bits to read (storage_set_rollup_fields) */
    struct arena labels; /* every label array handed out, until storage_set_free() */
    const struct label *ls; /* the labels of series lpos (1-based; 0 = none yet) */
    size_t nls, lpos;
};

static int cmp_labels(const void *a, const void *b, void *ctx)
{
    const struct storage *s = ctx;
    const struct series *x = series_get(&s->reg, *(const uint32_t *)a);
    const struct series *y = series_get(&s->reg, *(const uint32_t *)b);
    return series_cmp(&s->intern, x, y);
}

/* A sort of ids[0..n) by labels, for a second thread (core/assist.h). */
struct sort_job {
    struct storage *s;
    uint32_t *ids;
    size_t n;
};

static void sort_job_run(void *arg)
{
    struct sort_job *j = arg;
    qsort_r(j->ids, j->n, sizeof *j->ids, cmp_labels, j->s);
}

/* Selections at least this large sort in two halves, the second offered to
 * a helper thread, then merge (100 000 series: 90 ms on one thread). */
#define SORT_SPLIT 16384

/* Series labels never change, so sorting needs no lock. */
static void sort_by_labels(struct storage *s, uint32_t *ids, size_t n)
{
    uint32_t *tmp = n >= SORT_SPLIT ? malloc(n * sizeof *tmp) : NULL;
    if (!tmp) {
        qsort_r(ids, n, sizeof *ids, cmp_labels, s);
        return;
    }
    size_t h = n / 2;
    struct sort_job second = {s, ids + h, n - h};
    struct assist *as = NULL;
    (void)assist_start(&as, sort_job_run, &second); /* NULL: both halves here */
    qsort_r(ids, h, sizeof *ids, cmp_labels, s);
    if (as)
        assist_finish(as); /* sorts the second half here if the helper is late */
    else
        sort_job_run(&second);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp_labels(&ids[j], &ids[i], s) < 0 ? ids[j++] : ids[i++];
    memcpy(tmp + k, ids + i, (h - i) * sizeof *ids);
    k += h - i;
    memcpy(tmp + k, ids + j, (n - j) * sizeof *ids);
    memcpy(ids, tmp, n * sizeof *ids);
    free(tmp);
}

int querier_resolve(struct storage *s, const struct matcher *m, size_t nm, int64_t mint_ms,
                    int64_t maxt_ms, bool sort_labels, uint32_t **out, size_t *n, struct err *e)
{
    *out = NULL;
    *n = 0;
    uint32_t *ids;
    size_t nids;
    pthread_rwlock_rdlock(&s->lock);
    int rc = postings_select(&s->postings, &s->intern, series_count(&s->reg), m, nm, &ids, &nids, e);
    pthread_rwlock_unlock(&s->lock);
    if (rc)
        return rc;
    size_t k = 0;
    for (size_t i = 0; i < nids; i++) {
        struct series *sr = series_get(&s->reg, ids[i]);
        int64_t smin = atomic_load_explicit(&sr->mint, memory_order_relaxed);
        int64_t smax = atomic_load_explicit(&sr->maxt, memory_order_relaxed);
        if (smin > smax || smax < mint_ms || smin > maxt_ms)
            continue;
        ids[k++] = ids[i];
    }
    if (sort_labels)
        sort_by_labels(s, ids, k);
    *out = ids;
    *n = k;
    return 0;
}

int querier_resolve_all(struct storage *s, const struct matcher *m, size_t nm, uint32_t **out,
                        size_t *n, struct err *e)
{
    pthread_rwlock_rdlock(&s->lock);
    int rc = postings_select(&s->postings, &s->intern, series_count(&s->reg), m, nm, out, n, e);
    pthread_rwlock_unlock(&s->lock);
    if (rc == 0)
        sort_by_labels(s, *out, *n);
    return rc;
}

int64_t querier_block_find(const struct db_block *db, uint32_t sid)
{
    size_t lo = 0, hi = db->nsids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (db->sids[2 * mid] < sid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < db->nsids && db->sids[2 * lo] == sid)
        return db->sids[2 * lo + 1];
    return -1;
}

int querier_block_samples_range(struct storage *s, const struct db_block *db, uint32_t sid,
                                int64_t mint_ms, int64_t maxt_ms, struct sample **v, size_t *n,
                                size_t *cap, bool *maybe_nan, struct err *e)
{
    int64_t idx = querier_block_find(db, sid);
    if (idx < 0)
        return 0;
    size_t base = *n;
    int rc = block_series_samples_range(db->b, (uint64_t)idx, mint_ms, maxt_ms, v, n, cap,
                                        maybe_nan, e);
    if (rc)
        return rc;
    size_t k = *n - base;
    tombstone_filter(s, sid, db->seq, *v + base, &k);
    *n = base + k;
    return 0;
}

int querier_block_samples(struct storage *s, const struct db_block *db, uint32_t sid,
                          struct sample **v, size_t *n, size_t *cap, struct err *e)
{
    return querier_block_samples_range(s, db, sid, INT64_MIN, INT64_MAX, v, n, cap, NULL, e);
}

/* Keep the samples of v within [mint, maxt]. */
static void clip(struct sample *v, size_t *n, int64_t mint_ms, int64_t maxt_ms)
{
    size_t lo = 0, hi = *n;
    while (lo < *n && v[lo].t_ms < mint_ms)
        lo++;
    while (hi > lo && v[hi - 1].t_ms > maxt_ms)
        hi--;
    if (lo > 0)
        memmove(v, v + lo, (hi - lo) * sizeof *v);
    *n = hi - lo;
}

/* Layer `run` (newer) over acc. */
static int layer(struct sample **acc, size_t *nacc, size_t *capacc, struct sample **tmp,
                 size_t *ntmp, size_t *captmp, int64_t mint_ms, int64_t maxt_ms)
{
    clip(*tmp, ntmp, mint_ms, maxt_ms);
    if (*ntmp == 0)
        return 0;
    if (*nacc == 0) {
        struct sample *sw = *acc;
        size_t cw = *capacc;
        *acc = *tmp;
        *capacc = *captmp;
        *nacc = *ntmp;
        *tmp = sw;
        *captmp = cw;
        *ntmp = 0;
        return 0;
    }
    if ((*acc)[*nacc - 1].t_ms < (*tmp)[0].t_ms) {
        /* Disjoint in time (consecutive blocks of a partition): append. */
        size_t need = *nacc + *ntmp;
        if (need > *capacc) {
            size_t nc = *capacc ? *capacc : 64;
            while (nc < need)
                nc *= 2;
            struct sample *nv = realloc(*acc, nc * sizeof *nv);
            if (nv == NULL)
                return -ENOMEM;
            *acc = nv;
            *capacc = nc;
        }
        memcpy(*acc + *nacc, *tmp, *ntmp * sizeof **tmp);
        *nacc = need;
        *ntmp = 0;
        return 0;
    }
    struct sample *out = NULL;
    size_t nout = 0, capout = 0;
    int rc = ooo_merge(*acc, *nacc, *tmp, *ntmp, &out, &nout, &capout);
    if (rc) {
        free(out);
        return rc;
    }
    free(*acc);
    *acc = out;
    *nacc = nout;
    *capacc = capout;
    *ntmp = 0;
    return 0;
}

/* v[0..base) and v[base..*n) are each sorted; the second is newer. Make the
 * whole sorted, newer winning at equal t, in place: blocks of a partition
 * follow each other in time and overlap at most at their edges, so only the
 * older run's tail from the newer run's first timestamp on is set aside (in
 * *tmp) and merged back; the merge never writes past what it has read. */
static int merge_in_place(struct sample *v, size_t base, size_t *n, struct sample **tmp,
                          size_t *captmp)
{
    if (base == 0 || base == *n || v[base - 1].t_ms < v[base].t_ms)
        return 0;
    size_t lo = 0, hi = base;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].t_ms < v[base].t_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t ntail = base - lo;
    if (ntail > *captmp) {
        struct sample *nt = realloc(*tmp, ntail * sizeof *nt);
        if (nt == NULL)
            return -ENOMEM;
        *tmp = nt;
        *captmp = ntail;
    }
    memcpy(*tmp, v + lo, ntail * sizeof *v);
    const struct sample *old = *tmp;
    size_t i = 0, j = base, k = lo;
    while (i < ntail && j < *n) {
        if (old[i].t_ms < v[j].t_ms)
            v[k++] = old[i++];
        else if (v[j].t_ms < old[i].t_ms)
            v[k++] = v[j++];
        else {
            v[k++] = v[j++];
            i++;
        }
    }
    while (i < ntail)
        v[k++] = old[i++];
    if (j < *n && k < j)
        memmove(v + k, v + j, (*n - j) * sizeof *v);
    k += *n - j;
    *n = k;
    return 0;
}

int querier_series_samples(struct storage *s, uint32_t sid, int64_t mint_ms, int64_t maxt_ms,
                           struct sample **v, size_t *n, size_t *cap, bool *maybe_nan,
                           struct err *e)
{
    *n = 0;
    if (maybe_nan)
        *maybe_nan = false;
    struct sample *tmp = NULL;
    size_t ntmp = 0, captmp = 0;
    int rc = 0;
    struct series *sr = series_get(&s->reg, sid);
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->nblocks && rc == 0; i++) {
        const struct db_block *db = &s->blocks[i];
        const struct block_meta *bm = block_meta(db->b);
        if (bm->maxt_ms < mint_ms || bm->mint_ms > maxt_ms)
            continue;
        /* Decode straight after what earlier blocks gave, then merge only
         * where the two overlap. */
        size_t base = *n;
        rc = querier_block_samples_range(s, db, sid, mint_ms, maxt_ms, v, n, cap, maybe_nan, e);
        if (rc == 0)
            rc = merge_in_place(*v, base, n, &tmp, &captmp);
    }
    const struct head_data *frozen = series_frozen(s, sid);
    if (rc == 0 && frozen) {
        ntmp = 0;
        rc = head_data_read(frozen, &tmp, &ntmp, &captmp, e);
        if (rc == 0 && maybe_nan && ntmp > 0)
            *maybe_nan = true;
        if (rc == 0)
            rc = layer(v, n, cap, &tmp, &ntmp, &captmp, mint_ms, maxt_ms);
    }
    if (rc == 0) {
        ntmp = 0;
        pthread_mutex_t *mu = storage_stripe(s, sid);
        pthread_mutex_lock(mu);
        if (head_data_overlaps(&sr->head, mint_ms, maxt_ms))
            rc = head_data_read(&sr->head, &tmp, &ntmp, &captmp, e);
        pthread_mutex_unlock(mu);
        if (rc == 0 && maybe_nan && ntmp > 0)
            *maybe_nan = true;
        if (rc == 0)
            rc = layer(v, n, cap, &tmp, &ntmp, &captmp, mint_ms, maxt_ms);
    }
    pthread_rwlock_unlock(&s->lock);
    free(tmp);
    if (rc == -ENOMEM)
        ERR_SET(e, rc, "out of memory reading a series");
    return rc;
}

/* ---- storage_select ---- */

int storage_select(struct storage *s, const struct matcher *m, size_t nm, int64_t mint_ms,
                   int64_t maxt_ms, struct storage_set **out, struct err *e)
{
    *out = NULL;
    struct storage_set *set = calloc(1, sizeof *set);
    if (!set)
        return ERR_SET(e, -ENOMEM, "out of memory");
    arena_init(&set->labels, 0);
    int rc = querier_resolve(s, m, nm, mint_ms, maxt_ms, true, &set->ids, &set->n, e);
    if (rc) {
        free(set);
        return rc;
    }
    set->s = s;
    set->mint_ms = mint_ms;
    set->maxt_ms = maxt_ms;
    set->tier = -1;
    *out = set;
    return 0;
}

int storage_select_rollups(struct storage *s, const struct matcher *m, size_t nm, int tier,
                           int64_t mint_ms, int64_t maxt_ms, struct storage_set **out,
                           struct err *e)
{
    *out = NULL;
    int64_t res = storage_tier_resolution(s, tier);
    if (res <= 0)
        return ERR_INVAL(e, "no rollup tier %d", tier);
    /* No time filter on the series: the raw data of a series may be gone
     * while its rollups remain (its time range then says nothing). */
    struct storage_set *set = calloc(1, sizeof *set);
    if (!set)
        return ERR_SET(e, -ENOMEM, "out of memory");
    arena_init(&set->labels, 0);
    int rc = querier_resolve_all(s, m, nm, &set->ids, &set->n, e);
    if (rc) {
        free(set);
        return rc;
    }
    set->s = s;
    set->tier = tier;
    set->fields = ROLLUP_ALL_FIELDS;
    set->mint_ms = rollup_window_of(mint_ms, res) * res;
    set->maxt_ms = rollup_window_of(maxt_ms, res) * res;
    *out = set;
    return 0;
}

void storage_set_rollup_fields(struct storage_set *set, unsigned fields)
{
    set->fields = rollup_fields_of(fields);
}

int storage_set_read_rollups(const struct storage_set *set, size_t first, size_t n,
                             struct storage_rollups *out, unsigned *sources, struct err *e)
{
    if (set->tier < 0 || n > STORAGE_ROLLUP_BATCH || first > set->n || n > set->n - first)
        return ERR_INVAL(e, "rollups of series %zu..+%zu of a set of %zu (tier %d)", first, n,
                         set->n, set->tier);
    for (size_t j = 0; j < n; j++)
        out[j].n = 0;
    return tier_group_rollups(set->s, set->tier, set->ids + first, n, set->mint_ms, set->maxt_ms,
                              set->fields, out, sources, e);
}

/* What reading series ids[i]'s labels and head will touch, fetched in
 * stages as the set advances toward it: each stage reads what the one
 * before brought in (the series, then its pair ids and open chunk, then
 * the pairs, then the value strings' entries). A selection of many series
 * was bound by these misses (100 000 series: 0.27 s for count()). */
#define SET_AHEAD 8
static void set_prefetch(const struct storage_set *set, size_t i, int stage)
{
    if (i >= set->n)
        return;
    const struct storage *s = set->s;
    const struct series *sr = series_get(&s->reg, set->ids[i]);
    switch (stage) {
    case 0:
        __builtin_prefetch(sr);
        __builtin_prefetch((const char *)sr + 64);
        break;
    case 1:
        __builtin_prefetch(sr->pids);
        if (sr->head.open)
            __builtin_prefetch(sr->head.open);
        break;
    case 2:
        for (uint32_t k = 0; k < sr->nlabels; k++) {
            uint32_t id = sr->pids[k];
            const struct intern_pair *page = __atomic_load_n(
                &s->intern.pair_pages[id >> INTERN_PAGE_BITS], __ATOMIC_ACQUIRE);
            __builtin_prefetch(&page[id & (INTERN_PAGE_SIZE - 1)]);
        }
        break;
    default:
        for (uint32_t k = 0; k < sr->nlabels; k++)
            __builtin_prefetch(intern_ent(&s->intern, intern_pair(&s->intern, sr->pids[k]).value));
        break;
    }
}

bool storage_set_next(struct storage_set *set)
{
    if (set->pos >= set->n)
        return false;
    if (set->tier < 0) {
        set_prefetch(set, set->pos + SET_AHEAD, 0);
        set_prefetch(set, set->pos + SET_AHEAD / 2, 1);
        set_prefetch(set, set->pos + SET_AHEAD / 4, 2);
        set_prefetch(set, set->pos + 1, 3);
    }
    set->pos++;
    set->nv = 0;
    return true;
}

void storage_set_labels(struct storage_set *set, const struct label **ls, size_t *n)
{
    *ls = NULL;
    *n = 0;
    if (set->pos == 0 || set->pos > set->n)
        return;
    if (set->lpos != set->pos) {
        const struct series *sr = series_get(&set->s->reg, set->ids[set->pos - 1]);
        size_t need = (sr->nlabels ? sr->nlabels : 1) * sizeof(struct label);
        struct label *out = arena_alloc(&set->labels, need);
        if (out == NULL)
            return; /* out of memory: reads as a series with no labels */
        series_labels(&set->s->intern, sr, out);
        set->ls = out;
        set->nls = sr->nlabels;
        set->lpos = set->pos;
    }
    *ls = set->ls;
    *n = set->nls;
}

int storage_set_labels_into(struct storage_set *set, struct arena *a, const struct label **ls,
                            size_t *n)
{
    if (set->pos == 0 || set->pos > set->n) {
        *ls = NULL;
        *n = 0;
        return TIDE_EINVAL;
    }
    return storage_set_labels_at(set, set->pos - 1, a, ls, n);
}

int storage_set_labels_at(struct storage_set *set, size_t i, struct arena *a,
                          const struct label **ls, size_t *n)
{
    *ls = NULL;
    *n = 0;
    if (i >= set->n)
        return TIDE_EINVAL;
    const struct series *sr = series_get(&set->s->reg, set->ids[i]);
    size_t need = (sr->nlabels ? sr->nlabels : 1) * sizeof(struct label);
    struct label *out = arena_alloc(a, need);
    if (out == NULL)
        return a->max && a->total + need > a->max ? TIDE_ELIMIT : -ENOMEM;
    series_labels(&set->s->intern, sr, out);
    *ls = out;
    *n = sr->nlabels;
    return 0;
}

int storage_set_samples(struct storage_set *set, const struct sample **v, size_t *n, struct err *e)
{
    *v = NULL;
    *n = 0;
    if (set->pos == 0 || set->pos > set->n)
        return ERR_INVAL(e, "storage_set_samples() without a current series");
    if (set->cap < set->hint) {
        /* Series of one selection tend to be alike: reserve what the last
         * one needed instead of growing by doubling (each step a copy). */
        struct sample *nv = realloc(set->v, set->hint * sizeof *nv);
        if (nv == NULL)
            return ERR_SET(e, -ENOMEM, "out of memory");
        set->v = nv;
        set->cap = set->hint;
    }
    int rc = querier_series_samples(set->s, set->ids[set->pos - 1], set->mint_ms, set->maxt_ms,
                                    &set->v, &set->nv, &set->cap, &set->maybe_nan, e);
    if (rc)
        return rc;
    set->hint = set->nv;
    *v = set->v;
    *n = set->nv;
    return 0;
}

int storage_set_take_samples(struct storage_set *set, struct sample **v, size_t *n,
                             struct err *e)
{
    const struct sample *cv;
    int rc = storage_set_samples(set, &cv, n, e);
    if (rc)
        return rc;
    /* The reading buffer may be far larger than the samples (head reads
     * reserve 64): a reader that keeps many series would keep the slack of
     * each. Hand over a fitted copy when the slack is worth it. */
    if (set->cap > *n + 4 && set->cap * sizeof *set->v >= 256) {
        struct sample *fit = realloc(set->v, (*n ? *n : 1) * sizeof *fit);
        if (fit != NULL)
            set->v = fit;
    }
    *v = set->v;
    set->v = NULL;
    set->cap = 0;
    set->nv = 0;
    return 0;
}

bool storage_set_maybe_nan(const struct storage_set *set)
{
    return set->maybe_nan;
}

size_t storage_set_count(const struct storage_set *set)
{
    return set->n;
}

void storage_set_free(struct storage_set *set)
{
    if (!set)
        return;
    free(set->ids);
    free(set->v);
    arena_fini(&set->labels);
    free(set);
}

/* ---- label names and values ---- */

static int cmp_strv(const void *a, const void *b)
{
    return strv_cmp(*(const struct strv *)a, *(const struct strv *)b);
}

static int push_strv(struct strv **v, size_t *n, size_t *cap, struct strv x)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct strv *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = x;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static size_t sort_unique_u32(uint32_t *v, size_t n)
{
    if (n < 2)
        return n;
    qsort(v, n, sizeof *v, cmp_u32);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[k - 1])
            v[k++] = v[i];
    return k;
}

static int push_u32(uint32_t **v, size_t *n, size_t *cap, uint32_t x)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        uint32_t *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = x;
    return 0;
}

/* Collect the label names (name NULL) or the values of `name` over ids:
 * distinct intern ids first (a series' labels are ids), strings at the end. */
static int collect(struct storage *s, const uint32_t *ids, size_t nids, const struct strv *name,
                   struct strv **out, size_t *n)
{
    uint32_t name_id = UINT32_MAX;
    if (name) {
        pthread_rwlock_rdlock(&s->lock);
        name_id = intern_find(&s->intern, *name);
        pthread_rwlock_unlock(&s->lock);
        if (name_id == UINT32_MAX)
            return 0; /* no series has that label */
    }
    uint32_t *v = NULL;
    size_t nv = 0, cap = 0, compacted = 0;
    int rc = 0;
    for (size_t i = 0; i < nids && rc == 0; i++) {
        const struct series *sr = series_get(&s->reg, ids[i]);
        for (uint32_t j = 0; j < sr->nlabels && rc == 0; j++) {
            struct intern_pair lp = intern_pair(&s->intern, sr->pids[j]);
            if (!name)
                rc = push_u32(&v, &nv, &cap, lp.name);
            else if (lp.name == name_id)
                rc = push_u32(&v, &nv, &cap, lp.value);
        }
        /* Keep memory proportional to the distinct strings. */
        if (nv >= 65536 && nv > 2 * compacted) {
            nv = sort_unique_u32(v, nv);
            compacted = nv;
        }
    }
    nv = rc ? 0 : sort_unique_u32(v, nv);
    struct strv *sv = NULL;
    if (rc == 0 && nv > 0) {
        sv = malloc(nv * sizeof *sv);
        rc = sv ? 0 : -ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; rc == 0 && i < nv; i++) {
        struct strv x = intern_str(&s->intern, v[i]);
        if (x.n > 0)
            sv[k++] = x;
    }
    free(v);
    if (rc) {
        free(sv);
        return rc;
    }
    if (k > 1)
        qsort(sv, k, sizeof *sv, cmp_strv);
    *out = sv;
    *n = k;
    return 0;
}

/* Does some series of the sorted list have samples in [mint, maxt]? Caller
 * holds lock(read). Stops at the first one: with an open range that is the
 * first series of the list. */
static bool list_live(const struct storage *s, const struct postings_list *l, int64_t mint_ms,
                      int64_t maxt_ms)
{
    struct postings_cursor c;
    postings_cursor_init(&c, l);
    while (postings_cursor_next(&c)) {
        const struct series *sr = series_get(&s->reg, c.id);
        int64_t smin = atomic_load_explicit(&sr->mint, memory_order_relaxed);
        int64_t smax = atomic_load_explicit(&sr->maxt, memory_order_relaxed);
        if (smin <= smax && smax >= mint_ms && smin <= maxt_ms)
            return true;
    }
    return false;
}

/* With no matcher: straight from the index, one entry per distinct name (or
 * value of `name`) instead of one per series. */
static int from_index(struct storage *s, const struct strv *name, int64_t mint_ms,
                      int64_t maxt_ms, struct strv **out, size_t *n)
{
    struct strv *v = NULL;
    size_t nv = 0, cap = 0;
    int rc = 0;
    pthread_rwlock_rdlock(&s->lock);
    const struct postings *p = &s->postings;
    if (name) {
        /* In value order, from the name's cached order: no sort per request. */
        uint32_t nid = intern_find(&s->intern, *name);
        const struct postings_name *pn = nid == UINT32_MAX ? NULL : postings_name_get(p, nid);
        cap = pn ? pn->nvalues : 0;
        v = malloc((cap ? cap : 1) * sizeof *v);
        rc = v ? 0 : -ENOMEM;
        const uint32_t *order = NULL;
        pthread_mutex_lock(&s->postings.order_mu);
        if (pn && rc == 0)
            rc = postings_value_order(&s->postings, &s->intern, nid, &order);
        for (uint32_t k = 0; order && rc == 0 && k < pn->nvalues; k++) {
            const struct postings_value *pv = &pn->values[order[k]];
            if (list_live(s, &pv->list, mint_ms, maxt_ms))
                v[nv++] = intern_str(&s->intern, pv->value);
        }
        pthread_mutex_unlock(&s->postings.order_mu);
        pthread_rwlock_unlock(&s->lock);
        if (rc) {
            free(v);
            return rc;
        }
        *out = v;
        *n = nv;
        return 0;
    } else {
        for (uint32_t i = 0; rc == 0 && i < p->nnames; i++) {
            const struct postings_name *pn = postings_name_get(p, p->names[i]);
            for (uint32_t j = 0; j < pn->nvalues; j++) {
                if (list_live(s, &pn->values[j].list, mint_ms, maxt_ms)) {
                    rc = push_strv(&v, &nv, &cap, intern_str(&s->intern, pn->name));
                    break;
                }
            }
        }
    }
    pthread_rwlock_unlock(&s->lock);
    if (rc) {
        free(v);
        return rc;
    }
    /* Distinct already: only sort. */
    if (nv > 1)
        qsort(v, nv, sizeof *v, cmp_strv);
    *out = v;
    *n = nv;
    return 0;
}

int storage_label_names(struct storage *s, const struct matcher *m, size_t nm, int64_t mint_ms,
                        int64_t maxt_ms, struct strv **out, size_t *n, struct err *e)
{
    *out = NULL;
    *n = 0;
    if (nm == 0) {
        int rc = from_index(s, NULL, mint_ms, maxt_ms, out, n);
        return rc ? ERR_SET(e, rc, "out of memory listing label names") : 0;
    }
    uint32_t *ids;
    size_t nids;
    int rc = querier_resolve(s, m, nm, mint_ms, maxt_ms, false, &ids, &nids, e);
    if (rc)
        return rc;
    rc = collect(s, ids, nids, NULL, out, n);
    free(ids);
    if (rc)
        return ERR_SET(e, rc, "out of memory listing label names");
    return 0;
}

int storage_label_values(struct storage *s, struct strv name, const struct matcher *m, size_t nm,
                         int64_t mint_ms, int64_t maxt_ms, struct strv **out, size_t *n,
                         struct err *e)
{
    *out = NULL;
    *n = 0;
    if (nm == 0) {
        int rc = from_index(s, &name, mint_ms, maxt_ms, out, n);
        return rc ? ERR_SET(e, rc, "out of memory listing label values") : 0;
    }
    uint32_t *ids;
    size_t nids;
    int rc = querier_resolve(s, m, nm, mint_ms, maxt_ms, false, &ids, &nids, e);
    if (rc)
        return rc;
    rc = collect(s, ids, nids, &name, out, n);
    free(ids);
    if (rc)
        return ERR_SET(e, rc, "out of memory listing label values");
    return 0;
}
