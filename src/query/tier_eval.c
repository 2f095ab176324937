/* tier_eval.c: query planning over rollup tiers (docs/storage.md#tiers).
 *
 * A call f(sel[w]) can be answered from a tier of resolution R when f is
 * rate, increase, avg/min/max/sum/count/last_over_time, the selector has no
 * `@`, and w, the offset, the first evaluation time and the step are
 * multiples of R: each window [T - w, T] is then the tier windows starting
 * in [T - w, T - R], plus the sample at exactly T when there is one (the
 * `first` of the tier window starting at T). tier_eval_pick() asks storage
 * for the coarsest such tier (storage_tier_for) within ev->tier_max that
 * holds rolled-up partitions in the query's range (else raw is read); the
 * rollups come from storage_select_rollups(), which reads tier files where
 * they match the raw data and rolls raw samples up elsewhere (head,
 * retention edges), so the answer equals the raw one: exactly for count,
 * min, max, last_over_time and for rate/increase without counter resets,
 * to floating-point rounding for sums, averages and several resets (the
 * same numbers added in another grouping).
 * Everything else (plain selectors, quantile_over_time, irate, deriv, ...)
 * reads raw samples.
 * The windows of each series are computed where its rollups are read, by
 * tier_points.c (on two threads for a long query: series_points() only
 * reads its arguments); labels and output series are made here, in series
 * order.
 */
#include <math.h>
#include <stdlib.h>

#include "query/eval.h"
#include "storage/storage.h"

static bool tier_capable(enum promql_func_id f)
{
    switch (f) {
    case FN_RATE:
    case FN_INCREASE:
    case FN_AVG_OVER_TIME:
    case FN_MIN_OVER_TIME:
    case FN_MAX_OVER_TIME:
    case FN_SUM_OVER_TIME:
    case FN_COUNT_OVER_TIME:
    case FN_LAST_OVER_TIME:
        return true;
    default:
        return false;
    }
}

int tier_eval_pick(struct eval *ev, const struct ast_node *n, size_t marg)
{
    const struct ast_call *c = &n->u.call;
    if (ev->tier_max < 0 || !tier_capable(c->func->id))
        return -1;
    const struct ast_node *m = ast_unparen(c->args[marg]);
    if (m->kind != AST_MATRIX)
        return -1;
    const struct ast_selector *sel = &m->u.mat.vs->u.sel;
    if (sel->at != AT_NONE)
        return -1;
    int64_t d[4] = {m->u.mat.range_ms, sel->offset_ms, ev->start,
                    eval_nsteps(ev) > 1 ? ev->interval : 0};
    if (d[0] <= 0)
        return -1;
    int t = storage_tier_for(ev->st, d, 4);
    /* storage_tier_for() ignores zeros; a zero start is a multiple of all. */
    if (t > ev->tier_max)
        t = ev->tier_max;
    while (t >= 0) {
        int64_t res = storage_tier_resolution(ev->st, t);
        if (d[0] % res == 0 && d[1] % res == 0 && d[2] % res == 0 && d[3] % res == 0)
            break;
        t--;
    }
    /* Only where the tier holds rolled-up data: rolling raw samples up on
     * the spot gains nothing, and raw evaluation is Prometheus' to the bit. */
    int64_t lo = ev->start - sel->offset_ms - d[0], hi = ev->end - sel->offset_ms;
    if (t >= 0 && !storage_tier_has_data(ev->st, t, lo, hi))
        return -1;
    return t;
}

static void kahan(double inc, double *sum, double *c)
{
    double t = *sum + inc;
    if (fabs(*sum) >= fabs(inc))
        *c += (*sum - t) + inc;
    else
        *c += (inc - t) + *sum;
    *sum = t;
}

/* The samples of one PromQL window, summarised from its rollups. */
struct wsum {
    double count, sum, c, min, max, resets, first, last;
    int64_t first_t, last_t;
};

/* What of a window a function reads (wsum_add keeps only that). */
enum {
    W_SUM = 1,     /* sum, c */
    W_MINMAX = 2,  /* min, max */
    W_COUNTER = 4, /* first, first_t, last, last_t, resets */
    W_LAST = 8,    /* last */
    W_COUNT = 16,  /* count as the samples; else as the rollups (empty or not is all it tells) */
};

static unsigned wsum_needs(enum promql_func_id f)
{
    switch (f) {
    case FN_RATE:
    case FN_INCREASE: return W_COUNTER | W_COUNT;
    case FN_AVG_OVER_TIME:
    case FN_SUM_OVER_TIME: return W_SUM | W_COUNT;
    case FN_MIN_OVER_TIME:
    case FN_MAX_OVER_TIME: return W_MINMAX;
    case FN_LAST_OVER_TIME: return W_LAST;
    case FN_COUNT_OVER_TIME: return W_COUNT;
    default: return W_SUM | W_MINMAX | W_COUNTER | W_COUNT;
    }
}

/* Add a rollup (the fields `need` asks for) to w. */
static inline void wsum_add(struct wsum *w, const struct storage_rollup *r, unsigned need)
{
    bool empty = w->count == 0;
    if (need & W_MINMAX) {
        if (empty) {
            w->min = r->min;
            w->max = r->max;
        } else {
            if (r->min < w->min || isnan(w->min))
                w->min = r->min;
            if (r->max > w->max || isnan(w->max))
                w->max = r->max;
        }
    }
    if (need & W_COUNTER) {
        if (empty) {
            w->first = r->first;
            w->first_t = r->first_t;
        } else if (r->first < w->last) {
            w->resets += w->last; /* a reset between two windows */
        }
        w->resets += r->resets;
        w->last = r->last;
        w->last_t = r->last_t;
    }
    if (need & W_LAST)
        w->last = r->last;
    if (need & W_SUM)
        kahan(r->sum, &w->sum, &w->c);
    /* A rollup holds one sample at least: without counts, w counts rollups. */
    w->count += need & W_COUNT ? r->count : 1;
}

/* The rollup fields f needs: what wsum_add() reads for it, and `first` for
 * the sample at exactly T that closes a window. */
static unsigned fields_for(enum promql_func_id f)
{
    switch (f) {
    case FN_RATE:
    case FN_INCREASE:
        return STORAGE_RU_COUNT | STORAGE_RU_FIRST | STORAGE_RU_LAST | STORAGE_RU_LAST_T |
               STORAGE_RU_RESETS;
    case FN_AVG_OVER_TIME:
    case FN_SUM_OVER_TIME: return STORAGE_RU_COUNT | STORAGE_RU_SUM | STORAGE_RU_FIRST;
    case FN_COUNT_OVER_TIME: return STORAGE_RU_COUNT | STORAGE_RU_FIRST;
    case FN_MIN_OVER_TIME: return STORAGE_RU_MIN | STORAGE_RU_FIRST;
    case FN_MAX_OVER_TIME: return STORAGE_RU_MAX | STORAGE_RU_FIRST;
    case FN_LAST_OVER_TIME: return STORAGE_RU_LAST | STORAGE_RU_FIRST;
    default: return STORAGE_RU_ALL;
    }
}

/* f over the window; 1 with *out set, 0 for no output. */
static int wsum_apply(enum promql_func_id f, const struct wsum *w, int64_t lo, int64_t hi,
                      int64_t range_ms, double *out)
{
    if (w->count == 0)
        return 0;
    double sum = isinf(w->sum) ? w->sum : w->sum + w->c;
    switch (f) {
    case FN_RATE:
    case FN_INCREASE:
        if (w->count < 2)
            return 0;
        *out = func_range_extrapolate(w->last - w->first + w->resets, w->first_t, w->first,
                                      w->last_t, (size_t)w->count, lo, hi, range_ms, true,
                                      f == FN_RATE);
        return 1;
    case FN_AVG_OVER_TIME: *out = sum / w->count; return 1;
    case FN_SUM_OVER_TIME: *out = sum; return 1;
    case FN_COUNT_OVER_TIME: *out = w->count; return 1;
    case FN_MIN_OVER_TIME: *out = w->min; return 1;
    case FN_MAX_OVER_TIME: *out = w->max; return 1;
    case FN_LAST_OVER_TIME: *out = w->last; return 1;
    default: return 0;
    }
}

/* What one series' windows need (shared by both threads, read only). */
struct wctx {
    enum promql_func_id f;
    size_t nsteps;
    int64_t start, interval, offset, range, res;
};

/* The points of one series from its rollups r[0..nr), f being c->f: inlined
 * once per function, so that the fields f does not read and the cases of
 * wsum_apply() it does not take fold away (a year-sized chart computes
 * about a million windows). */
static inline __attribute__((always_inline)) size_t
points_of(const struct wctx *c, const struct storage_rollup *r, size_t nr, struct sample *out,
          enum promql_func_id f)
{
    const unsigned need = wsum_needs(f);
    size_t np = 0;
    size_t a = 0; /* first rollup of the window */
    if (nr == 0)
        return 0;
    /* Steps whose window ends before the first rollup have none: a chart
     * longer than the data (a year over 90 days) starts where it does. */
    size_t k0 = 0;
    int64_t first_hi = c->start - c->offset;
    if (r[0].t_ms > first_hi && c->interval > 0)
        k0 = (size_t)((r[0].t_ms - first_hi) / c->interval);
    for (size_t k = k0; k < c->nsteps; k++) {
        int64_t hi = c->start + (int64_t)k * c->interval - c->offset;
        int64_t lo = hi - c->range;
        while (a < nr && r[a].t_ms < lo)
            a++;
        if (a == nr)
            break; /* every rollup is before this window and the later ones */
        struct wsum w = {0};
        size_t b = a;
        for (; b < nr && r[b].t_ms <= hi - c->res; b++)
            wsum_add(&w, &r[b], need);
        if (b < nr && r[b].t_ms == hi && r[b].first_t == hi) {
            /* The sample at exactly T closes the window. */
            struct storage_rollup one = {.t_ms = hi, .count = 1, .sum = r[b].first,
                                         .min = r[b].first, .max = r[b].first,
                                         .first_t = hi, .first = r[b].first,
                                         .last_t = hi, .last = r[b].first};
            wsum_add(&w, &one, need);
        }
        double v;
        if (wsum_apply(f, &w, lo, hi, c->range, &v))
            out[np++] = (struct sample){c->start + (int64_t)k * c->interval, v};
    }
    return np;
}

/* The points of one series from its rollups r[0..nr) (tier_points_fn). */
static size_t series_points(const void *arg, const struct storage_rollup *r, size_t nr,
                            struct sample *out)
{
    const struct wctx *c = arg;
    switch (c->f) {
    case FN_RATE: return points_of(c, r, nr, out, FN_RATE);
    case FN_INCREASE: return points_of(c, r, nr, out, FN_INCREASE);
    case FN_AVG_OVER_TIME: return points_of(c, r, nr, out, FN_AVG_OVER_TIME);
    case FN_SUM_OVER_TIME: return points_of(c, r, nr, out, FN_SUM_OVER_TIME);
    case FN_COUNT_OVER_TIME: return points_of(c, r, nr, out, FN_COUNT_OVER_TIME);
    case FN_MIN_OVER_TIME: return points_of(c, r, nr, out, FN_MIN_OVER_TIME);
    case FN_MAX_OVER_TIME: return points_of(c, r, nr, out, FN_MAX_OVER_TIME);
    case FN_LAST_OVER_TIME: return points_of(c, r, nr, out, FN_LAST_OVER_TIME);
    default: return points_of(c, r, nr, out, c->f);
    }
}

/* Rollup windows a query must read to be worth a second thread (a 30-day
 * chart of 100 series at 1 h reads 72 000): below, the thread's start
 * costs about what it saves. */
#define TIER_EVAL_SPLIT_WINDOWS 16384

int tier_eval_call(struct eval *ev, const struct ast_node *n, size_t marg, int tier,
                   struct accum *ac)
{
    const struct ast_call *c = &n->u.call;
    enum promql_func_id f = c->func->id;
    const struct ast_node *m = ast_unparen(c->args[marg]);
    const struct ast_selector *sel = &m->u.mat.vs->u.sel;
    int64_t range = m->u.mat.range_ms, res = storage_tier_resolution(ev->st, tier);
    int64_t first_lo = ev->start - sel->offset_ms - range;
    int64_t last_hi = ev->end - sel->offset_ms;
    struct storage_set *set;
    int rc = storage_select_rollups(ev->st, sel->matchers, sel->nmatchers, tier, first_lo, last_hi,
                                    &set, ev->e);
    if (rc != 0)
        return rc;
    storage_set_rollup_fields(set, fields_for(f));
    struct wctx wc = {.f = f, .nsteps = eval_nsteps(ev),
                      .start = ev->start, .interval = ev->interval, .offset = sel->offset_ms,
                      .range = range, .res = res};
    size_t nser = storage_set_count(set);
    struct tier_series_points *pts = calloc(nser ? nser : 1, sizeof *pts);
    unsigned src = 0;
    if (pts == NULL) {
        rc = eval_nomem(ev);
    } else {
        double windows = (double)nser * (double)((last_hi - first_lo) / res + 1);
        rc = tier_points_run(ev, set, series_points, &wc, wc.nsteps,
                             windows >= TIER_EVAL_SPLIT_WINDOWS, pts, &src);
    }
    /* In series order, as one thread would: labels, the output series, and
     * its points handed over. */
    bool keep_name = func_range_keeps_name(f);
    for (size_t i = 0; i < nser && rc == 0; i++) {
        if (pts[i].n == 0)
            continue;
        if ((rc = eval_check(ev)) != 0)
            break;
        const struct label *ls;
        size_t nls;
        if (storage_set_labels_at(set, i, ev->a, &ls, &nls) != 0) {
            rc = eval_nomem(ev);
            break;
        }
        if (!keep_name && (rc = eval_drop_name(ev, ls, nls, &ls, &nls)) != 0)
            break;
        long idx = accum_series(ev, ac, ls, nls);
        if (idx < 0) {
            rc = (int)idx;
            break;
        }
        rc = accum_take_points(ev, ac, (size_t)idx, pts[i].pts, pts[i].n);
        pts[i] = (struct tier_series_points){0};
    }
    for (size_t i = 0; pts != NULL && i < nser; i++)
        free(pts[i].pts);
    free(pts);
    ev->tiers_used |= (src & 2 ? 1u << (tier + 1) : 0) | (src & 1 ? 1u : 0);
    storage_set_free(set);
    return rc;
}
