/* rollup.c: rollup windows of a series (storage_rollup_compute) and their
 * encoding as block samples (tier files, docs/format/tier.md).
 *
 * A window k of resolution R holds the samples with t in [kR, (k+1)R):
 * left-closed like partitions (R divides the partition width, so no window
 * straddles two), so a PromQL window [T - w, T] with T and w multiples of R
 * is the windows starting in [T - w, T - R] plus, at most, the one sample
 * at exactly T, which is the `first` of the window starting there.
 * Stale markers are left out (range vectors drop them); NaN values count.
 *
 * Encoding: window k's nine fields become nine samples of the series in the
 * tier block, field f at timestamp f * 2^40 + k + 2^39 (rollup_ts), so a
 * tier block is a plain block (block.c) whose series are the raw series and
 * each field is a column of its own (counts, offsets and values each
 * compress with their own codec mode). first_t and last_t are stored as
 * their distance from the window start (small integers).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "storage/engine.h"
#include "storage/tier.h"

static bool stale(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b == STALE_NAN_BITS;
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

int64_t rollup_window_of(int64_t t_ms, int64_t res_ms)
{
    int64_t q = t_ms / res_ms; /* floor, also for negative t */
    if (t_ms % res_ms != 0 && t_ms < 0)
        q--;
    return q;
}

static int grow(struct storage_rollup **out, size_t n, size_t *cap)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    struct storage_rollup *v = realloc(*out, nc * sizeof *v);
    if (!v)
        return -ENOMEM;
    *out = v;
    *cap = nc;
    return 0;
}

int storage_rollup_compute(const struct sample *v, size_t n, int64_t res_ms,
                           struct storage_rollup **out, size_t *nout, size_t *cap)
{
    size_t i = 0;
    while (i < n) {
        if (stale(v[i].v)) {
            i++;
            continue;
        }
        int64_t k = rollup_window_of(v[i].t_ms, res_ms);
        int64_t start = k * res_ms, end = start + res_ms;
        if (grow(out, *nout, cap))
            return -ENOMEM;
        struct storage_rollup *r = &(*out)[(*nout)++];
        double sum = 0, c = 0, prev = v[i].v;
        *r = (struct storage_rollup){.t_ms = start, .first_t = v[i].t_ms, .first = v[i].v,
                                     .min = v[i].v, .max = v[i].v};
        for (; i < n && v[i].t_ms < end; i++) {
            double x = v[i].v;
            if (stale(x))
                continue;
            r->count++;
            kahan(x, &sum, &c);
            if (x < r->min || isnan(r->min))
                r->min = x;
            if (x > r->max || isnan(r->max))
                r->max = x;
            if (r->count > 1 && x < prev)
                r->resets += prev;
            prev = x;
            r->last_t = v[i].t_ms;
            r->last = x;
        }
        r->sum = isinf(sum) ? sum : sum + c;
    }
    return 0;
}

int rollup_encode(const struct storage_rollup *r, size_t n, int64_t res_ms, struct sample **buf,
                  size_t *cap)
{
    size_t need = n * ROLLUP_FIELDS;
    if (need > *cap) {
        struct sample *v = realloc(*buf, (need ? need : 1) * sizeof *v);
        if (!v)
            return -ENOMEM;
        *buf = v;
        *cap = need;
    }
    struct sample *o = *buf;
    for (size_t i = 0; i < n; i++) {
        int64_t k = rollup_window_of(r[i].t_ms, res_ms);
        if (k < -ROLLUP_K_BIAS || k >= ROLLUP_K_BIAS)
            return TIDE_ELIMIT;
        const double f[ROLLUP_FIELDS] = {
            [ROLLUP_F_COUNT] = r[i].count,
            [ROLLUP_F_SUM] = r[i].sum,
            [ROLLUP_F_MIN] = r[i].min,
            [ROLLUP_F_MAX] = r[i].max,
            [ROLLUP_F_FIRST_DT] = (double)(r[i].first_t - r[i].t_ms),
            [ROLLUP_F_FIRST] = r[i].first,
            [ROLLUP_F_LAST_DT] = (double)(r[i].last_t - r[i].t_ms),
            [ROLLUP_F_LAST] = r[i].last,
            [ROLLUP_F_RESETS] = r[i].resets,
        };
        for (int j = 0; j < ROLLUP_FIELDS; j++)
            o[(size_t)j * n + i] = (struct sample){rollup_ts(j, k), f[j]};
    }
    return 0;
}

unsigned rollup_fields_of(unsigned ru)
{
    unsigned f = 0;
    if (ru & STORAGE_RU_COUNT)
        f |= 1u << ROLLUP_F_COUNT;
    if (ru & STORAGE_RU_SUM)
        f |= 1u << ROLLUP_F_SUM;
    if (ru & STORAGE_RU_MIN)
        f |= 1u << ROLLUP_F_MIN;
    if (ru & STORAGE_RU_MAX)
        f |= 1u << ROLLUP_F_MAX;
    if (ru & STORAGE_RU_FIRST)
        f |= 1u << ROLLUP_F_FIRST_DT | 1u << ROLLUP_F_FIRST;
    if (ru & STORAGE_RU_LAST)
        f |= 1u << ROLLUP_F_LAST;
    if (ru & STORAGE_RU_LAST_T)
        f |= 1u << ROLLUP_F_LAST_DT;
    if (ru & STORAGE_RU_RESETS)
        f |= 1u << ROLLUP_F_RESETS;
    return f != 0 ? f : 1u << ROLLUP_F_COUNT;
}

/* Column x (nw values, timestamps checked against c0's shifted by
 * `shift`) into field j of the windows r[0..nw) (their starts already set):
 * one loop per field, the switch outside it, the check in the same pass.
 * False when a timestamp differs. */
static bool put_column(struct storage_rollup *r, int j, const struct sample *x,
                       const struct sample *c0, int64_t shift, size_t nw)
{
    uint64_t bad = 0;
#define COLUMN(field, expr)                                                                        \
    for (size_t i = 0; i < nw; i++) {                                                              \
        bad |= (uint64_t)(x[i].t_ms ^ (c0[i].t_ms + shift));                                       \
        r[i].field = (expr);                                                                       \
    }                                                                                              \
    break
    switch (j) {
    case ROLLUP_F_COUNT: COLUMN(count, x[i].v);
    case ROLLUP_F_SUM: COLUMN(sum, x[i].v);
    case ROLLUP_F_MIN: COLUMN(min, x[i].v);
    case ROLLUP_F_MAX: COLUMN(max, x[i].v);
    case ROLLUP_F_FIRST_DT: COLUMN(first_t, r[i].t_ms + (int64_t)x[i].v);
    case ROLLUP_F_FIRST: COLUMN(first, x[i].v);
    case ROLLUP_F_LAST_DT: COLUMN(last_t, r[i].t_ms + (int64_t)x[i].v);
    case ROLLUP_F_LAST: COLUMN(last, x[i].v);
    case ROLLUP_F_RESETS: COLUMN(resets, x[i].v);
    }
#undef COLUMN
    return bad == 0;
}

/* Do x[a..b) have c0[a..b)'s timestamps shifted by `shift`? */
static bool same_windows(const struct sample *x, const struct sample *c0, int64_t shift, size_t a,
                         size_t b)
{
    uint64_t bad = 0;
    for (size_t i = a; i < b; i++)
        bad |= (uint64_t)(x[i].t_ms ^ (c0[i].t_ms + shift));
    return bad == 0;
}

int rollup_decode(const struct sample *v, size_t n, unsigned fields, int64_t res_ms, int64_t ka,
                  int64_t kb, struct storage_rollup **out, size_t *nout, size_t *cap)
{
    fields &= ROLLUP_ALL_FIELDS;
    size_t nf = 0;
    for (int j = 0; j < ROLLUP_FIELDS; j++)
        nf += (fields >> j) & 1;
    if (nf == 0 || n % nf)
        return nf == 0 && n == 0 ? 0 : TIDE_ECORRUPT;
    size_t m = n / nf;
    /* Column by column: the first gives the windows (those in [ka, kb]
     * are consecutive, the column being in time order), every column must
     * hold the same windows, and each fills its field. */
    const struct sample *c0 = v;
    int j0 = __builtin_ctz(fields);
    size_t i0 = 0, i1;
    while (i0 < m && rollup_ts_k(c0[i0].t_ms) < ka)
        i0++;
    i1 = i0;
    while (i1 < m && rollup_ts_k(c0[i1].t_ms) <= kb)
        i1++;
    size_t base = *nout, nw = i1 - i0;
    while (*cap < base + nw)
        if (grow(out, *cap, cap))
            return -ENOMEM;
    struct storage_rollup *r = *out + base;
    for (size_t i = 0; i < nw; i++) {
        int64_t start = rollup_ts_k(c0[i0 + i].t_ms) * res_ms;
        /* Fields not read stay 0 (their times the window's start). */
        r[i] = (struct storage_rollup){.t_ms = start, .first_t = start, .last_t = start};
    }
    uint64_t other = 0;
    for (size_t i = 0; i < m; i++)
        other |= (uint64_t)((c0[i].t_ms >> ROLLUP_FIELD_SHIFT) ^ j0);
    if (other != 0)
        return TIDE_ECORRUPT; /* the first column is not field j0 */
    /* Every column holds c0's windows: checked where it is put, and apart
     * outside [i0, i1). */
    size_t q = 0;
    for (int j = 0; j < ROLLUP_FIELDS; j++) {
        if (!(fields & (1u << j)))
            continue;
        const struct sample *col = v + m * q++;
        int64_t shift = (int64_t)(j - j0) << ROLLUP_FIELD_SHIFT;
        if (!same_windows(col, c0, shift, 0, i0) || !same_windows(col, c0, shift, i1, m) ||
            !put_column(r, j, col + i0, c0 + i0, shift, nw))
            return TIDE_ECORRUPT;
    }
    *nout = base + nw;
    return 0;
}
