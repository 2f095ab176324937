/* histogram.c: histogram_quantile() over classic histograms, one step at a
 * time (called from func_instant.c).
 *
 * Buckets are the input series that carry an `le` label parsing as a float;
 * they are grouped by all their other labels (__name__ included, as
 * Prometheus does; the output drops __name__ and le). Per group, as
 * Prometheus 2.42's bucketQuantile(): sort by upper bound, require a +Inf
 * bucket, merge buckets with equal bounds, force the counts monotonic, then
 * interpolate linearly inside the bucket holding the rank (the first
 * bucket's lower bound is 0 unless its upper bound is <= 0, and a rank in
 * the +Inf bucket answers the largest finite bound). */
#include "query/eval.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct bucket {
    double upper, count;
};

struct hgroup {
    const struct label *ls; /* output labels */
    size_t nls;
    struct bucket *b;
    size_t n, cap;
};

static int cmp_bucket(const void *a, const void *b)
{
    double x = ((const struct bucket *)a)->upper, y = ((const struct bucket *)b)->upper;
    return x < y ? -1 : x > y ? 1 : 0;
}

static double bucket_quantile(double q, struct bucket *b, size_t n)
{
    if (isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(b, n, sizeof *b, cmp_bucket);
    if (!(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
        return NAN;
    /* coalesce equal bounds */
    size_t k = 0;
    struct bucket last = b[0];
    for (size_t i = 1; i < n; i++) {
        if (b[i].upper == last.upper) {
            last.count += b[i].count;
        } else {
            b[k++] = last;
            last = b[i];
        }
    }
    b[k++] = last;
    n = k;
    /* ensure monotonic */
    double max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (b[i].count > max)
            max = b[i].count;
        else if (b[i].count < max)
            b[i].count = max;
    }
    if (n < 2)
        return NAN;
    double obs = b[n - 1].count;
    if (obs == 0)
        return NAN;
    double rank = q * obs;
    /* sort.Search(n-1, count >= rank) */
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (!(b[mid].count >= rank))
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t i = lo;
    if (i == n - 1)
        return b[n - 2].upper;
    if (i == 0 && b[0].upper <= 0)
        return b[0].upper;
    double start = 0, end = b[i].upper, count = b[i].count;
    if (i > 0) {
        start = b[i - 1].upper;
        count -= b[i - 1].count;
        rank -= b[i - 1].count;
    }
    return start + (end - start) * (rank / count);
}

/* Go's strconv.ParseFloat, as far as label values go: no leading space,
 * whole string consumed. */
static bool parse_float(struct strv s, double *out)
{
    char buf[64];
    if (s.n == 0 || s.n >= sizeof buf || isspace((unsigned char)s.p[0]))
        return false;
    memcpy(buf, s.p, s.n);
    buf[s.n] = 0;
    char *end;
    double v = strtod(buf, &end);
    if (*end != 0)
        return false;
    *out = v;
    return true;
}

int histogram_quantile_apply(struct eval *ev, double q, const struct vector *in, struct vector *out)
{
    static const struct strv le = {"le", 2};
    struct hgroup *g = NULL;
    size_t ng = 0, capg = 0;
    struct u64map map = {0};
    struct lbuild lb = {0};
    int rc = 0;
    for (size_t i = 0; i < in->n && rc == 0; i++) {
        const struct vsample *s = &in->s[i];
        long li = value_label_find(s->ls, s->nls, le);
        double upper;
        if (li < 0 || !parse_float(s->ls[li].value, &upper))
            continue;
        uint64_t key = value_labels_sig(s->ls, s->nls, &le, 1, false);
        /* value_labels_sig(on=false) also skips __name__; fold it back in so that
         * different metrics stay apart. */
        long ni = value_label_find(s->ls, s->nls, STRV_LIT(LABEL_METRIC_NAME));
        if (ni >= 0)
            key = key * 31 + labels_hash(&s->ls[ni], 1);
        size_t gi = u64map_get(&map, key);
        if (gi == SIZE_MAX) {
            if (ng == capg) {
                size_t nc = capg ? capg * 2 : 8;
                struct hgroup *n2 = realloc(g, nc * sizeof *n2);
                if (n2 == NULL) {
                    rc = eval_nomem(ev);
                    break;
                }
                g = n2;
                capg = nc;
            }
            gi = ng++;
            g[gi] = (struct hgroup){0};
            if (u64map_put(&map, key, gi) != 0 || lbuild_reset(&lb, s->ls, s->nls) != 0) {
                rc = eval_nomem(ev);
                break;
            }
            lbuild_del(&lb, STRV_LIT(LABEL_METRIC_NAME));
            lbuild_del(&lb, le);
            g[gi].ls = value_labels_copy(ev, lb.v, lb.n);
            g[gi].nls = lb.n;
            if (g[gi].ls == NULL) {
                rc = eval_nomem(ev);
                break;
            }
        }
        struct hgroup *h = &g[gi];
        if (h->n == h->cap) {
            size_t nc = h->cap ? h->cap * 2 : 8;
            struct bucket *nb = realloc(h->b, nc * sizeof *nb);
            if (nb == NULL) {
                rc = eval_nomem(ev);
                break;
            }
            h->b = nb;
            h->cap = nc;
        }
        h->b[h->n++] = (struct bucket){upper, s->v};
    }
    for (size_t i = 0; i < ng && rc == 0; i++) {
        if (g[i].n == 0)
            continue;
        double v = bucket_quantile(q, g[i].b, g[i].n);
        if (vector_push(out, g[i].ls, g[i].nls, v, 0, 0) != 0)
            rc = eval_nomem(ev);
    }
    for (size_t i = 0; i < ng; i++)
        free(g[i].b);
    free(g);
    u64map_fini(&map);
    lbuild_fini(&lb);
    return rc;
}
