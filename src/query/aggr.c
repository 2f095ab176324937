/* aggr.c: PromQL aggregation operators, called by eval.c for AST_AGGR:
 * sum avg count min max group stddev stdvar topk bottomk count_values
 * quantile, with by(...) or without(...).
 *
 * Each step's input vector is split into groups by a grouping key (the
 * values of the by-labels, or of all labels but the without-labels and
 * __name__), in the order groups first appear, and each group is folded the
 * way Prometheus 2.42's aggregation() does it: avg by an incremental mean
 * that survives infinities, stddev/stdvar by Welford's method, min/max that
 * replace a NaN, topk/bottomk with Go's container/heap order so that ties
 * resolve alike, count_values labelling by Go's shortest float format.
 * topk/bottomk keep the input series' labels; the others output the group's
 * labels. */
#include "query/aggr_fold.h"
#include "query/eval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct group {
    struct aggr_fold f; /* the ops of aggr_fold.h; count for count_values */
    /* topk/bottomk heap, quantile values: indices into the step vector */
    size_t *heap;
    size_t nheap, cap;
    long out;               /* accum series index, for non-k aggregations */
};

/* Go's vectorByValueHeap / vectorByReverseValueHeap Less(). */
static bool heap_less(const struct vector *v, size_t a, size_t b, bool reverse)
{
    double x = v->s[a].v, y = v->s[b].v;
    if (isnan(x))
        return true;
    return reverse ? x > y : x < y;
}

static void heap_up(const struct vector *v, size_t *h, size_t j, bool rev)
{
    while (j > 0) {
        size_t i = (j - 1) / 2;
        if (i == j || !heap_less(v, h[j], h[i], rev))
            break;
        size_t t = h[i];
        h[i] = h[j];
        h[j] = t;
        j = i;
    }
}

static void heap_down(const struct vector *v, size_t *h, size_t i0, size_t n, bool rev)
{
    size_t i = i0;
    for (;;) {
        size_t j1 = 2 * i + 1;
        if (j1 >= n)
            break;
        size_t j = j1;
        size_t j2 = j1 + 1;
        if (j2 < n && heap_less(v, h[j2], h[j1], rev))
            j = j2;
        if (!heap_less(v, h[j], h[i], rev))
            break;
        size_t t = h[i];
        h[i] = h[j];
        h[j] = t;
        i = j;
    }
}

static int heap_grow(struct group *g, size_t want)
{
    if (want <= g->cap)
        return 0;
    size_t nc = g->cap ? g->cap * 2 : 4;
    while (nc < want)
        nc *= 2;
    size_t *nh = realloc(g->heap, nc * sizeof *nh);
    if (nh == NULL)
        return -1;
    g->heap = nh;
    g->cap = nc;
    return 0;
}

/* Sorting the heap at the end (sort.Sort(sort.Reverse(heap))). */
struct heap_sort {
    const struct vector *v;
    bool rev;
};

static int cmp_rev_heap(const void *a, const void *b, void *ctx)
{
    const struct heap_sort *hs = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    /* Reverse: a before b when b < a. */
    if (heap_less(hs->v, y, x, hs->rev))
        return -1;
    if (heap_less(hs->v, x, y, hs->rev))
        return 1;
    return 0;
}

/* Go's FormatFloat(v, 'f', -1, 64) into the arena, for count_values. */
static struct strv format_value(struct eval *ev, double v)
{
    struct buf b;
    buf_init(&b, 0);
    ast_print_float(&b, v);
    char *s = arena_strndup(ev->a, b.p ? b.p : "", b.len);
    struct strv r = {s, s ? b.len : 0};
    buf_fini(&b);
    return r;
}

static bool convertible_to_int64(double v)
{
    return v <= 9223372036854774784.0 && v >= -9223372036854775808.0;
}

/* Add sample i of the step vector v (value x) to group g. 0 or an error. */
static int group_add(struct eval *ev, struct group *g, enum aggr_op op, double x, size_t i,
                     const struct vector *v, long long kk)
{
    int rc = 0;
    switch (op) {
    case AGGR_COUNT_VALUES:
        g->f.count++;
        break;
    case AGGR_TOPK:
    case AGGR_BOTTOMK: {
        bool rev = op == AGGR_BOTTOMK;
        double top = v->s[g->heap[0]].v;
        bool better = rev ? top > x : top < x;
        if ((long long)g->nheap < kk || better || isnan(top)) {
            if ((long long)g->nheap == kk) {
                if (kk == 1) {
                    g->heap[0] = i;
                    break;
                }
                /* heap.Pop */
                size_t last = g->nheap - 1;
                size_t t = g->heap[0];
                g->heap[0] = g->heap[last];
                g->heap[last] = t;
                heap_down(v, g->heap, 0, last, rev);
                g->nheap--;
            }
            if (heap_grow(g, g->nheap + 1) != 0) {
                rc = eval_nomem(ev);
                break;
            }
            g->heap[g->nheap++] = i;
            heap_up(v, g->heap, g->nheap - 1, rev);
        }
        break;
    }
    case AGGR_QUANTILE:
        if (heap_grow(g, g->nheap + 1) != 0) {
            rc = eval_nomem(ev);
            break;
        }
        g->heap[g->nheap++] = i;
        break;
    default:
        aggr_fold_add(&g->f, op, x);
        break;
    }
    return rc;
}

/* Open a step's group for sample i (value x): groups[*ngroups], grown as
 * needed, its heap kept from an earlier step; out is its output series
 * (-1: set by the caller). The group's index, or an error (< 0). */
static long group_open(struct eval *ev, struct group **groups, size_t *ngroups, size_t *capg,
                       enum aggr_op op, double x, size_t i, long out)
{
    if (*ngroups == *capg) {
        size_t nc = *capg ? *capg * 2 : 8;
        struct group *ng = realloc(*groups, nc * sizeof *ng);
        if (ng == NULL)
            return eval_nomem(ev);
        memset(ng + *capg, 0, (nc - *capg) * sizeof *ng);
        *groups = ng;
        *capg = nc;
    }
    size_t gi = (*ngroups)++;
    struct group *g = &(*groups)[gi];
    size_t *keep_heap = g->heap, keep_cap = g->cap;
    *g = (struct group){.heap = keep_heap, .cap = keep_cap, .out = out};
    aggr_fold_open(&g->f, op, x);
    switch (op) {
    case AGGR_TOPK:
    case AGGR_BOTTOMK:
    case AGGR_QUANTILE:
        if (heap_grow(g, 1) != 0)
            return eval_nomem(ev);
        g->heap[0] = i;
        g->nheap = 1;
        break;
    default:
        break;
    }
    return (long)gi;
}

int aggr_group_labels(struct lbuild *lb, const struct label *ls, size_t nls,
                      const struct strv *grouping, size_t ngrouping, bool without)
{
    if (lbuild_reset(lb, ls, nls) != 0)
        return -ENOMEM;
    if (without) {
        for (size_t j = 0; j < ngrouping; j++)
            lbuild_del(lb, grouping[j]);
        lbuild_del(lb, STRV_LIT(LABEL_METRIC_NAME));
    } else {
        lbuild_keep(lb, grouping, ngrouping);
    }
    return 0;
}

int aggr_eval(struct eval *ev, const struct ast_node *n, struct matrix *out)
{
    const struct ast_aggr *ag = &n->u.aggr;
    struct matrix in = {0}, param = {0};
    int rc = 0;
    if (ag->param && ag->param->type != PROMQL_STRING) {
        if ((rc = eval_node(ev, ag->param, &param)) != 0)
            goto out;
    }
    if ((rc = eval_node(ev, ag->expr, &in)) != 0)
        goto out;
    size_t moved = 0;
    if (aggr_fold_op(ag->op))
        rc = aggr_series(ev, ag, &in, out, &moved);
    else
        rc = aggr_steps(ev, ag, &in, &param, out);
out:
    matrix_free(ev, &in);
    matrix_free(ev, &param);
    eval_account(ev, -(long long)moved); /* counted for in and for out */
    return rc;
}

int aggr_steps(struct eval *ev, const struct ast_aggr *ag, const struct matrix *inp,
               const struct matrix *param, struct matrix *out)
{
    enum aggr_op op = ag->op;
    const struct matrix in = *inp;
    struct stepper st = {0};
    struct accum ac = {0};
    struct u64map gmap = {0};
    /* Across steps: an input series' grouping signature, by its label
     * pointer (the input matrix's, stable for the whole evaluation), and a
     * signature's output series: a range query groups and names each series
     * once, not at every step. */
    struct u64map sigs = {0}, outs = {0};
    /* Ops whose group is an output series (all but topk, bottomk and
     * count_values): an input series' output index is found once
     * (out_of_src, -1 until then) and a step's group by its output index
     * (step_of_out: the step + 1 that last made one, group_of_out: which),
     * without hashing at every step. Output series are never more than
     * input series, so the arrays have in.n slots. */
    long *out_of_src = NULL;
    size_t *step_of_out = NULL, *group_of_out = NULL;
    struct group *groups = NULL;
    size_t ngroups = 0, capg = 0;
    struct lbuild lb = {0};
    struct strv *grouping = NULL;
    size_t ngrouping = ag->ngrouping;
    struct strv value_label = {0};
    int rc = 0;

    grouping = malloc((ngrouping + 1) * sizeof *grouping);
    if (grouping == NULL || stepper_init(&st, &in) != 0) {
        rc = eval_nomem(ev);
        goto out;
    }
    if (ngrouping)
        memcpy(grouping, ag->grouping, ngrouping * sizeof *grouping);
    bool by_out = op != AGGR_TOPK && op != AGGR_BOTTOMK && op != AGGR_COUNT_VALUES;
    if (by_out) {
        size_t nsrc = in.n ? in.n : 1;
        out_of_src = malloc(nsrc * sizeof *out_of_src);
        step_of_out = calloc(nsrc, sizeof *step_of_out);
        group_of_out = malloc(nsrc * sizeof *group_of_out);
        if (out_of_src == NULL || step_of_out == NULL || group_of_out == NULL) {
            rc = eval_nomem(ev);
            goto out;
        }
        for (size_t i = 0; i < nsrc; i++)
            out_of_src[i] = -1;
    }
    if (op == AGGR_COUNT_VALUES) {
        value_label = ast_unparen(ag->param)->u.str;
        if (!labels_valid_label_name(value_label)) {
            char q[160];
            struct buf b;
            buf_init(&b, sizeof q - 1);
            ast_print_quoted(&b, value_label);
            snprintf(q, sizeof q, "%s", b.p ? b.p : "\"\"");
            buf_fini(&b);
            rc = EVAL_EXEC(ev, "invalid label name %s", q);
            goto out;
        }
        if (!ag->without)
            grouping[ngrouping++] = value_label;
    }

    size_t nsteps = eval_nsteps(ev);
    for (size_t k = 0; k < nsteps && rc == 0; k++) {
        int64_t ts = ev->start + (int64_t)k * ev->interval;
        if ((rc = eval_check(ev)) != 0)
            break;
        if (stepper_at(&st, ts) != 0) {
            rc = eval_nomem(ev);
            break;
        }
        struct vector *v = &st.v;
        long long kk = 0;
        double q = 0;
        if (op == AGGR_TOPK || op == AGGR_BOTTOMK) {
            double f = value_scalar_at(param, k);
            if (!convertible_to_int64(f)) {
                struct buf b;
                buf_init(&b, 64);
                ast_print_float(&b, f);
                rc = EVAL_EXEC(ev, "Scalar value %s overflows int64", b.p ? b.p : "");
                buf_fini(&b);
                break;
            }
            kk = (long long)f;
            if (kk < 1)
                continue;
        }
        if (op == AGGR_QUANTILE)
            q = value_scalar_at(param, k);

        /* Group the step's samples. */
        u64map_clear(&gmap);
        ngroups = 0;
        for (size_t i = 0; i < v->n && rc == 0; i++) {
            const struct label *ls = v->s[i].ls;
            size_t nls = v->s[i].nls;
            double x = v->s[i].v;
            if (op == AGGR_COUNT_VALUES) {
                struct strv val = format_value(ev, x);
                if (val.p == NULL || lbuild_reset(&lb, ls, nls) != 0 ||
                    lbuild_set(&lb, value_label, val) != 0) {
                    rc = eval_nomem(ev);
                    break;
                }
                ls = value_labels_copy(ev, lb.v, lb.n);
                nls = lb.n;
                if (ls == NULL) {
                    rc = eval_nomem(ev);
                    break;
                }
            }
            size_t src = v->s[i].src;
            long o = by_out && src < in.n ? out_of_src[src] : -1;
            if (o >= 0) {
                /* An input series seen before: its output, and this step's
                 * group of that output, without hashing. */
                if (step_of_out[o] == k + 1) {
                    rc = group_add(ev, &groups[group_of_out[o]], op, x, i, v, kk);
                    continue;
                }
                long gi = group_open(ev, &groups, &ngroups, &capg, op, x, i, o);
                if (gi < 0) {
                    rc = (int)gi;
                    break;
                }
                step_of_out[o] = k + 1;
                group_of_out[o] = (size_t)gi;
                continue;
            }
            uint64_t key;
            size_t cached = op == AGGR_COUNT_VALUES ? SIZE_MAX
                                                    : u64map_get(&sigs, (uint64_t)(uintptr_t)ls);
            if (cached != SIZE_MAX) {
                key = (uint64_t)cached;
            } else {
                key = value_labels_sig(ls, nls, grouping, ngrouping, !ag->without);
                /* SIZE_MAX is the map's "absent": such a key is not cached. */
                if (op != AGGR_COUNT_VALUES && key != (uint64_t)SIZE_MAX &&
                    u64map_put(&sigs, (uint64_t)(uintptr_t)ls, (size_t)key) != 0) {
                    rc = eval_nomem(ev);
                    break;
                }
            }
            size_t gi = u64map_get(&gmap, key);
            if (gi == SIZE_MAX && by_out) {
                /* This step may have opened the key's group through
                 * another input series' cached output. */
                size_t known = u64map_get(&outs, key);
                if (known != SIZE_MAX && known < in.n && step_of_out[known] == k + 1)
                    gi = group_of_out[known];
            }
            if (gi == SIZE_MAX) {
                long ngi = group_open(ev, &groups, &ngroups, &capg, op, x, i, -1);
                if (ngi < 0) {
                    rc = (int)ngi;
                    break;
                }
                gi = (size_t)ngi;
                if (u64map_put(&gmap, key, gi) != 0) {
                    rc = eval_nomem(ev);
                    break;
                }
                struct group *g = &groups[gi];
                size_t known = op != AGGR_TOPK && op != AGGR_BOTTOMK ? u64map_get(&outs, key)
                                                                     : SIZE_MAX;
                if (known != SIZE_MAX) {
                    g->out = (long)known;
                } else if (op != AGGR_TOPK && op != AGGR_BOTTOMK) {
                    if (aggr_group_labels(&lb, ls, nls, grouping, ngrouping, ag->without)) {
                        rc = eval_nomem(ev);
                        break;
                    }
                    g->out = accum_series(ev, &ac, lb.v, lb.n);
                    if (g->out < 0) {
                        rc = (int)g->out;
                        break;
                    }
                    if (u64map_put(&outs, key, (size_t)g->out) != 0) {
                        rc = eval_nomem(ev);
                        break;
                    }
                }
                if (by_out) {
                    if (g->out < 0 || (size_t)g->out >= in.n) {
                        rc = EVAL_EXEC(ev, "aggregation: output series %ld of %zu inputs",
                                       g->out, in.n);
                        break;
                    }
                    out_of_src[src] = g->out;
                    step_of_out[g->out] = k + 1;
                    group_of_out[g->out] = gi;
                }
                continue;
            }
            if (by_out)
                out_of_src[src] = groups[gi].out;
            rc = group_add(ev, &groups[gi], op, x, i, v, kk);
            /* New groups keep their labels in lb only until the next group:
             * copy them out. */
        }
        if (rc != 0)
            break;
        /* Group labels pointed into lb while being built; accum copied them
         * for non-k ops. The k ops output input labels. */
        for (size_t gi = 0; gi < ngroups && rc == 0; gi++) {
            struct group *g = &groups[gi];
            double val = aggr_fold_op(op) ? aggr_fold_value(&g->f, op) : (double)g->f.count;
            switch (op) {
            case AGGR_TOPK:
            case AGGR_BOTTOMK:
                if (g->nheap > 1) {
                    struct heap_sort hs = {v, op == AGGR_BOTTOMK};
                    qsort_r(g->heap, g->nheap, sizeof *g->heap, cmp_rev_heap, &hs);
                }
                for (size_t j = 0; j < g->nheap && rc == 0; j++) {
                    const struct vsample *s = &v->s[g->heap[j]];
                    rc = accum_add(ev, &ac, s->ls, s->nls, ts, s->v);
                }
                continue;
            case AGGR_QUANTILE: {
                double *vals = malloc((g->nheap + 1) * sizeof *vals);
                if (vals == NULL) {
                    rc = eval_nomem(ev);
                    continue;
                }
                for (size_t j = 0; j < g->nheap; j++)
                    vals[j] = v->s[g->heap[j]].v;
                val = func_quantile(q, vals, g->nheap);
                free(vals);
                break;
            }
            default:
                break;
            }
            rc = accum_point(ev, &ac, (size_t)g->out, ts, val);
        }
    }
    if (rc == 0)
        accum_take(&ac, out);
out:
    for (size_t i = 0; i < capg; i++)
        free(groups[i].heap);
    free(groups);
    free(grouping);
    u64map_fini(&gmap);
    u64map_fini(&sigs);
    u64map_fini(&outs);
    free(out_of_src);
    free(step_of_out);
    free(group_of_out);
    lbuild_fini(&lb);
    stepper_fini(&st);
    accum_fini(ev, &ac);
    return rc;
}
