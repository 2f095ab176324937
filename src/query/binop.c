/* binop.c: PromQL binary operators, called by eval.c for AST_BINARY.
 *
 * Three shapes, as Prometheus 2.42's engine: scalar op scalar; vector op
 * scalar (either side; comparisons filter and keep the vector's value, with
 * `bool` they give 0/1); vector op vector with vector matching. Matching
 * computes a signature per series from on(...) labels or from all labels but
 * ignoring(...) and __name__; one-to-one and many-to-one (group_left) /
 * one-to-many (group_right) check that the "one" side is unique per
 * signature and that results are unique, with Prometheus' error messages.
 * and/or/unless keep the left (and right, for or) samples as they are.
 * Arithmetic but atan2 drops __name__; comparisons keep it unless `bool` is
 * given. */
#include "query/eval.h"
#include "query/gomath.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double scalar_op(enum ast_op op, double l, double r)
{
    switch (op) {
    case OP_ADD: return l + r;
    case OP_SUB: return l - r;
    case OP_MUL: return l * r;
    case OP_DIV: return l / r;
    case OP_POW: return gomath_pow(l, r);     /* Go's math.Pow, bit for bit */
    case OP_MOD: return fmod(l, r);
    case OP_ATAN2: return gomath_atan2(l, r); /* Go's math.Atan2 */
    case OP_EQ: return l == r;
    case OP_NE: return l != r;
    case OP_GT: return l > r;
    case OP_LT: return l < r;
    case OP_GE: return l >= r;
    case OP_LE: return l <= r;
    default: return NAN;
    }
}

/* Prometheus' vectorElemBinop: the value and whether to keep the sample. */
static double elem_op(enum ast_op op, double l, double r, bool *keep)
{
    *keep = true;
    switch (op) {
    case OP_EQ: *keep = l == r; return l;
    case OP_NE: *keep = l != r; return l;
    case OP_GT: *keep = l > r; return l;
    case OP_LT: *keep = l < r; return l;
    case OP_GE: *keep = l >= r; return l;
    case OP_LE: *keep = l <= r; return l;
    default: return scalar_op(op, l, r);
    }
}

/* Prometheus 2.42's shouldDropMetricName(): atan2 keeps the name. */
static bool drops_name(enum ast_op op)
{
    return op == OP_ADD || op == OP_SUB || op == OP_MUL || op == OP_DIV || op == OP_POW ||
           op == OP_MOD;
}

/* scalar op scalar */
static int scalar_scalar(struct eval *ev, const struct ast_binary *b, struct matrix *l,
                         struct matrix *r, struct matrix *out)
{
    if (matrix_add_series(out, NULL, 0) < 0)
        return eval_nomem(ev);
    size_t nsteps = eval_nsteps(ev);
    for (size_t k = 0; k < nsteps; k++) {
        double v = scalar_op(b->op, value_scalar_at(l, k), value_scalar_at(r, k));
        int rc = value_push(ev, &out->s[0], ev->start + (int64_t)k * ev->interval, v);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* vector op scalar, or scalar op vector when `swap`. */
static int vector_scalar(struct eval *ev, const struct ast_binary *b, struct matrix *vec,
                         struct matrix *sc, bool swap, struct matrix *out)
{
    struct accum ac = {0};
    long *idx = malloc((vec->n + 1) * sizeof *idx);
    if (idx == NULL)
        return eval_nomem(ev);
    for (size_t i = 0; i < vec->n; i++)
        idx[i] = -1;
    bool cmp = ast_op_is_comparison(b->op);
    bool drop = drops_name(b->op) || b->return_bool;
    int rc = 0;
    /* Step-major so that a duplicate label set is caught at its step. */
    size_t *cur = calloc(vec->n + 1, sizeof *cur);
    if (cur == NULL) {
        free(idx);
        return eval_nomem(ev);
    }
    size_t nsteps = eval_nsteps(ev);
    for (size_t k = 0; k < nsteps && rc == 0; k++) {
        int64_t ts = ev->start + (int64_t)k * ev->interval;
        double sv = value_scalar_at(sc, k);
        for (size_t i = 0; i < vec->n && rc == 0; i++) {
            struct series *s = &vec->s[i];
            if (cur[i] >= s->npts || s->pts[cur[i]].t_ms != ts)
                continue;
            double lv = s->pts[cur[i]++].v, rv = sv;
            if (swap) {
                double t = lv;
                lv = rv;
                rv = t;
            }
            bool keep;
            double v = elem_op(b->op, lv, rv, &keep);
            if (cmp && swap)
                v = rv;
            if (b->return_bool) {
                v = keep ? 1.0 : 0.0;
                keep = true;
            }
            if (!keep)
                continue;
            if ((rc = eval_check(ev)) != 0)
                break;
            if (idx[i] < 0) {
                const struct label *ls = s->ls;
                size_t nls = s->nls;
                if (drop && (rc = eval_drop_name(ev, ls, nls, &ls, &nls)) != 0)
                    break;
                idx[i] = accum_series(ev, &ac, ls, nls);
                if (idx[i] < 0) {
                    rc = (int)idx[i];
                    break;
                }
            }
            rc = accum_point(ev, &ac, (size_t)idx[i], ts, v);
        }
    }
    if (rc == 0)
        accum_take(&ac, out);
    accum_fini(ev, &ac);
    free(idx);
    free(cur);
    return rc;
}

/* Per-series signatures of both sides. */
static int signatures(struct eval *ev, const struct ast_vmatch *vm, const struct matrix *m,
                      uint64_t **out)
{
    *out = malloc((m->n + 1) * sizeof **out);
    if (*out == NULL)
        return eval_nomem(ev);
    for (size_t i = 0; i < m->n; i++)
        (*out)[i] = value_labels_sig(m->s[i].ls, m->s[i].nls, vm->labels, vm->nlabels, vm->on);
    return 0;
}

/* Prometheus' resultMetric(): the output labels of a matched pair, cached
 * per (lhs series, rhs series). */
static int result_labels(struct eval *ev, const struct ast_binary *b, const struct series *ls,
                         const struct series *rs, struct lbuild *lb)
{
    const struct ast_vmatch *vm = &b->vm;
    if (lbuild_reset(lb, ls->ls, ls->nls) != 0)
        return eval_nomem(ev);
    if (drops_name(b->op))
        lbuild_del(lb, STRV_LIT(LABEL_METRIC_NAME));
    if (vm->card == CARD_ONE_TO_ONE) {
        if (vm->on) {
            lbuild_keep(lb, vm->labels, vm->nlabels);
        } else {
            for (size_t i = 0; i < vm->nlabels; i++)
                lbuild_del(lb, vm->labels[i]);
        }
    }
    for (size_t i = 0; i < vm->ninclude; i++) {
        long j = value_label_find(rs->ls, rs->nls, vm->include[i]);
        if (j >= 0 && rs->ls[j].value.n > 0) {
            if (lbuild_set(lb, vm->include[i], rs->ls[j].value) != 0)
                return eval_nomem(ev);
        } else {
            lbuild_del(lb, vm->include[i]);
        }
    }
    if (b->return_bool)
        lbuild_del(lb, STRV_LIT(LABEL_METRIC_NAME));
    return 0;
}

/* The labels on(...)/ignoring(...) match on, for error messages. */
static void match_labels(const struct ast_vmatch *vm, const struct series *s, char *dst,
                         size_t cap)
{
    struct lbuild lb = {0};
    if (lbuild_reset(&lb, s->ls, s->nls) != 0) {
        snprintf(dst, cap, "{}");
        return;
    }
    if (vm->on) {
        lbuild_keep(&lb, vm->labels, vm->nlabels);
    } else {
        for (size_t i = 0; i < vm->nlabels; i++)
            lbuild_del(&lb, vm->labels[i]);
        lbuild_del(&lb, STRV_LIT(LABEL_METRIC_NAME));
    }
    value_labels_format(lb.v, lb.n, dst, cap);
    lbuild_fini(&lb);
}

/* Append sample x, cut from a matrix series, to that series' output in ac;
 * out[x->src] remembers which output series it is. */
static int pass_through(struct eval *ev, struct accum *ac, long *out, const struct vsample *x,
                        int64_t ts)
{
    if (out[x->src] < 0) {
        out[x->src] = accum_series(ev, ac, x->ls, x->nls);
        if (out[x->src] < 0)
            return (int)out[x->src];
    }
    return accum_point(ev, ac, (size_t)out[x->src], ts, x->v);
}

static int vector_vector(struct eval *ev, const struct ast_binary *b, struct matrix *l,
                         struct matrix *r, struct matrix *out)
{
    const struct ast_vmatch *vm = &b->vm;
    uint64_t *lsig = NULL, *rsig = NULL;
    struct stepper sl = {0}, sr = {0};
    struct accum ac = {0};
    struct u64map rmap = {0}, lmap = {0}, matched = {0}, inserted = {0};
    struct lbuild lb = {0};
    struct u64map pair_cache = {0}; /* (lhs idx, rhs idx) -> accum series */
    /* and/or/unless pass samples through with their series' labels: the
     * output series of each input series, found once (-1 = not yet). */
    long *lout = NULL, *rout = NULL;
    int rc = 0;
    if ((rc = signatures(ev, vm, l, &lsig)) != 0 || (rc = signatures(ev, vm, r, &rsig)) != 0)
        goto out;
    if (b->op == OP_AND || b->op == OP_UNLESS || b->op == OP_OR) {
        lout = malloc((l->n + 1) * sizeof *lout);
        rout = malloc((r->n + 1) * sizeof *rout);
        if (lout == NULL || rout == NULL) {
            rc = eval_nomem(ev);
            goto out;
        }
        for (size_t i = 0; i < l->n; i++)
            lout[i] = -1;
        for (size_t j = 0; j < r->n; j++)
            rout[j] = -1;
    }
    if (stepper_init(&sl, l) != 0 || stepper_init(&sr, r) != 0) {
        rc = eval_nomem(ev);
        goto out;
    }
    size_t nsteps = eval_nsteps(ev);
    for (size_t k = 0; k < nsteps && rc == 0; k++) {
        int64_t ts = ev->start + (int64_t)k * ev->interval;
        if ((rc = eval_check(ev)) != 0)
            break;
        if (stepper_at(&sl, ts) != 0 || stepper_at(&sr, ts) != 0) {
            rc = eval_nomem(ev);
            break;
        }
        struct vector *lv = &sl.v, *rv = &sr.v;
        uint64_t *lsg = lsig, *rsg = rsig;
        const struct matrix *lm = l, *rm = r;
        if (b->op == OP_AND || b->op == OP_UNLESS) {
            if (lv->n == 0)
                continue;
            if (rv->n == 0) {
                if (b->op == OP_AND)
                    continue;
                for (size_t i = 0; i < lv->n && rc == 0; i++)
                    rc = pass_through(ev, &ac, lout, &lv->s[i], ts);
                continue;
            }
            u64map_clear(&rmap);
            for (size_t j = 0; j < rv->n; j++)
                if (u64map_put(&rmap, rsig[rv->s[j].src], 1) != 0)
                    rc = eval_nomem(ev);
            for (size_t i = 0; i < lv->n && rc == 0; i++) {
                bool hit = u64map_get(&rmap, lsig[lv->s[i].src]) != SIZE_MAX;
                if (hit == (b->op == OP_AND))
                    rc = pass_through(ev, &ac, lout, &lv->s[i], ts);
            }
            continue;
        }
        if (b->op == OP_OR) {
            u64map_clear(&lmap);
            for (size_t i = 0; i < lv->n && rc == 0; i++) {
                if (u64map_put(&lmap, lsig[lv->s[i].src], 1) != 0)
                    rc = eval_nomem(ev);
                else
                    rc = pass_through(ev, &ac, lout, &lv->s[i], ts);
            }
            for (size_t j = 0; j < rv->n && rc == 0; j++) {
                if (lv->n > 0 && u64map_get(&lmap, rsig[rv->s[j].src]) != SIZE_MAX)
                    continue;
                rc = pass_through(ev, &ac, rout, &rv->s[j], ts);
            }
            continue;
        }
        if (lv->n == 0 || rv->n == 0)
            continue;
        /* one-to-many: swap sides, then treat as many-to-one. */
        bool swapped = vm->card == CARD_ONE_TO_MANY;
        if (swapped) {
            struct vector *t = lv;
            lv = rv;
            rv = t;
            uint64_t *ts2 = lsg;
            lsg = rsg;
            rsg = ts2;
            const struct matrix *tm = lm;
            lm = rm;
            rm = tm;
        }
        u64map_clear(&rmap);
        for (size_t j = 0; j < rv->n && rc == 0; j++) {
            uint64_t sig = rsg[rv->s[j].src];
            size_t prev = u64map_get(&rmap, sig);
            if (prev != SIZE_MAX) {
                char ml[120], a[160], c2[160];
                match_labels(vm, &rm->s[rv->s[j].src], ml, sizeof ml);
                value_labels_format(rv->s[j].ls, rv->s[j].nls, a, sizeof a);
                value_labels_format(rv->s[prev].ls, rv->s[prev].nls, c2, sizeof c2);
                rc = EVAL_EXEC(ev,
                               "found duplicate series for the match group %s on the %s "
                               "hand-side of the operation: [%s, %s];many-to-many matching not "
                               "allowed: matching labels must be unique on one side",
                               ml, swapped ? "left" : "right", a, c2);
                break;
            }
            if (u64map_put(&rmap, sig, j) != 0)
                rc = eval_nomem(ev);
        }
        u64map_clear(&matched);
        u64map_clear(&inserted);
        for (size_t i = 0; i < lv->n && rc == 0; i++) {
            uint64_t sig = lsg[lv->s[i].src];
            size_t j = u64map_get(&rmap, sig);
            if (j == SIZE_MAX)
                continue;
            double a = lv->s[i].v, c = rv->s[j].v;
            if (swapped) {
                double t = a;
                a = c;
                c = t;
            }
            bool keep;
            double v = elem_op(b->op, a, c, &keep);
            if (b->return_bool)
                v = keep ? 1.0 : 0.0;
            else if (!keep)
                continue;
            /* Output series for this (lhs, rhs) pair of input series. */
            uint64_t pk = (uint64_t)lv->s[i].src * ((uint64_t)rm->n + 1) + rv->s[j].src;
            size_t oi = u64map_get(&pair_cache, pk);
            if (oi == SIZE_MAX) {
                rc = result_labels(ev, b, &lm->s[lv->s[i].src], &rm->s[rv->s[j].src], &lb);
                if (rc != 0)
                    break;
                long x = accum_series(ev, &ac, lb.v, lb.n);
                if (x < 0) {
                    rc = (int)x;
                    break;
                }
                oi = (size_t)x;
                if (u64map_put(&pair_cache, pk, oi) != 0) {
                    rc = eval_nomem(ev);
                    break;
                }
            }
            if (vm->card == CARD_ONE_TO_ONE) {
                if (u64map_get(&matched, sig) != SIZE_MAX) {
                    rc = EVAL_EXEC(ev, "multiple matches for labels: many-to-one matching must "
                                       "be explicit (group_left/group_right)");
                    break;
                }
                if (u64map_put(&matched, sig, 1) != 0) {
                    rc = eval_nomem(ev);
                    break;
                }
            } else {
                /* The result labels must be unique per match group. */
                const struct series *os = &ac.m.s[oi];
                uint64_t ik = labels_hash(os->ls, os->nls) ^ (sig * 0x9e3779b97f4a7c15ULL);
                if (u64map_get(&inserted, ik) != SIZE_MAX) {
                    rc = EVAL_EXEC(ev, "multiple matches for labels: grouping labels must "
                                       "ensure unique matches");
                    break;
                }
                if (u64map_put(&inserted, ik, 1) != 0) {
                    rc = eval_nomem(ev);
                    break;
                }
            }
            rc = accum_point(ev, &ac, oi, ts, v);
        }
    }
    if (rc == 0)
        accum_take(&ac, out);
out:
    accum_fini(ev, &ac);
    free(lsig);
    free(rsig);
    stepper_fini(&sl);
    stepper_fini(&sr);
    u64map_fini(&rmap);
    u64map_fini(&lmap);
    u64map_fini(&matched);
    u64map_fini(&inserted);
    u64map_fini(&pair_cache);
    lbuild_fini(&lb);
    free(lout);
    free(rout);
    return rc;
}

int binop_eval(struct eval *ev, const struct ast_node *n, struct matrix *out)
{
    const struct ast_binary *b = &n->u.bin;
    struct matrix l = {0}, r = {0};
    int rc = eval_node(ev, b->lhs, &l);
    if (rc == 0)
        rc = eval_node(ev, b->rhs, &r);
    if (rc == 0) {
        enum promql_type lt = b->lhs->type, rt = b->rhs->type;
        if (lt == PROMQL_SCALAR && rt == PROMQL_SCALAR)
            rc = scalar_scalar(ev, b, &l, &r, out);
        else if (lt == PROMQL_VECTOR && rt == PROMQL_SCALAR)
            rc = vector_scalar(ev, b, &l, &r, false, out);
        else if (lt == PROMQL_SCALAR && rt == PROMQL_VECTOR)
            rc = vector_scalar(ev, b, &r, &l, true, out);
        else
            rc = vector_vector(ev, b, &l, &r, out);
    }
    matrix_free(ev, &l);
    matrix_free(ev, &r);
    return rc;
}
