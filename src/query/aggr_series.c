/* aggr_series.c: sum, avg, count, min, max, group, stddev and stdvar by or
 * without labels, folded series by series (called by aggr.c's aggr_eval).
 *
 * aggr_steps() (aggr.c) cuts the input matrix into one vector per step and
 * groups each vector: a range query of S steps over N series builds S
 * vectors and looks up N groups at each. Here every input series is
 * grouped once, and each group is folded over its series in input order
 * into one slot per step: the values of a step are folded in the order the
 * step's vector would hold them (input order), with aggr_fold.h's
 * arithmetic, so the bits are the same. A group of one series (`sum by
 * (host)` over one series per host) needs no slots at all.
 * Output series are created in the order aggr_steps() would create them:
 * by the first step at which the group has a value, then by the input
 * series that gives it.
 * The points a step's vector reads are those at exactly start + k * step
 * (the first of equal times); other points are skipped, as the stepper
 * does.
 */
#include "query/aggr_fold.h"
#include "query/eval.h"

#include <stdlib.h>
#include <string.h>

struct sgroup {
    size_t first_step; /* the first step with a value */
    size_t first_src;  /* the input series giving it (the lowest index) */
    size_t nmem, mem0; /* its input series: members[mem0 .. mem0 + nmem) */
    long out;          /* output series (accum index) */
};

/* Walks the points of one series that sit on a step. */
struct on_steps {
    const struct series *s;
    size_t i;      /* next point */
    size_t k_next; /* the step expected next (most series have every step) */
};

/* The next point on a step: its step *k and value *v; false at the end. */
static bool next_on_step(const struct eval *ev, size_t nsteps, struct on_steps *w, size_t *k,
                         double *v)
{
    while (w->i < w->s->npts) {
        const struct sample *p = &w->s->pts[w->i++];
        if (w->i > 1 && p[-1].t_ms == p->t_ms)
            continue; /* the stepper reads the first of equal times */
        int64_t exp = ev->start + (int64_t)w->k_next * ev->interval;
        size_t kk;
        if (p->t_ms == exp) {
            kk = w->k_next;
        } else {
            if (p->t_ms < ev->start || (p->t_ms - ev->start) % ev->interval != 0)
                continue;
            kk = (size_t)((p->t_ms - ev->start) / ev->interval);
        }
        if (kk >= nsteps)
            return false; /* times ascend: nothing later is a step */
        w->k_next = kk + 1;
        *k = kk;
        *v = p->v;
        return true;
    }
    return false;
}

static int cmp_first(const void *a, const void *b, void *ctx)
{
    const struct sgroup *g = ctx;
    const struct sgroup *x = &g[*(const size_t *)a], *y = &g[*(const size_t *)b];
    if (x->first_step != y->first_step)
        return x->first_step < y->first_step ? -1 : 1;
    return x->first_src < y->first_src ? -1 : x->first_src > y->first_src;
}

/* Fold group g (more than one series) into slots (nsteps, all empty) and
 * append its points to output series g->out; the slots are left empty. */
static int fold_group(struct eval *ev, enum aggr_op op, const struct matrix *in,
                      const size_t *members, const struct sgroup *g, struct aggr_fold *slots,
                      size_t nsteps, struct accum *ac)
{
    size_t npts = 0, k;
    double v;
    for (size_t j = 0; j < g->nmem; j++) {
        struct on_steps w = {.s = &in->s[members[g->mem0 + j]]};
        while (next_on_step(ev, nsteps, &w, &k, &v)) {
            if (slots[k].count == 0) {
                aggr_fold_open(&slots[k], op, v);
                npts++;
            } else {
                aggr_fold_add(&slots[k], op, v);
            }
        }
    }
    int rc = value_reserve(ev, &ac->m.s[g->out], npts);
    for (k = 0; k < nsteps && npts > 0; k++) {
        if (slots[k].count == 0)
            continue;
        if (rc == 0)
            rc = accum_point(ev, ac, (size_t)g->out, ev->start + (int64_t)k * ev->interval,
                             aggr_fold_value(&slots[k], op));
        slots[k].count = 0;
        npts--;
    }
    return rc;
}

/* Are all of s's points on steps, one per step? */
static bool all_on_steps(const struct eval *ev, size_t nsteps, const struct series *s)
{
    struct on_steps w = {.s = s};
    size_t k, n = 0;
    double v;
    while (next_on_step(ev, nsteps, &w, &k, &v))
        n++;
    return n == s->npts;
}

/* A group of one series: each value folded alone, into output series out
 * (new, empty). sum, avg, min and max of one value are the value: when
 * every point of s is on a step, s's array itself becomes the output's
 * (*moved += its points; s is left empty). */
static int fold_one(struct eval *ev, enum aggr_op op, struct series *s, size_t nsteps, long out,
                    struct accum *ac, size_t *moved)
{
    struct series *o = &ac->m.s[out];
    bool same = op == AGGR_SUM || op == AGGR_AVG || op == AGGR_MIN || op == AGGR_MAX;
    if (same && o->pts == NULL && all_on_steps(ev, nsteps, s)) {
        struct sample *p = s->pts;
        size_t n = s->npts;
        *moved += n;
        s->pts = NULL;
        s->npts = s->cap = 0;
        return accum_take_points(ev, ac, (size_t)out, p, n); /* counted as accum_point() would */
    }
    int rc = value_reserve(ev, o, s->npts < nsteps ? s->npts : nsteps);
    struct on_steps w = {.s = s};
    size_t k;
    double v;
    while (rc == 0 && next_on_step(ev, nsteps, &w, &k, &v)) {
        struct aggr_fold f;
        aggr_fold_open(&f, op, v);
        rc = accum_point(ev, ac, (size_t)out, ev->start + (int64_t)k * ev->interval,
                         aggr_fold_value(&f, op));
    }
    return rc;
}

int aggr_series(struct eval *ev, const struct ast_aggr *ag, struct matrix *in, struct matrix *out,
                size_t *moved)
{
    enum aggr_op op = ag->op;
    size_t nsteps = eval_nsteps(ev), n = in->n, ng = 0;
    struct accum ac = {0};
    struct u64map keys = {0};
    struct lbuild lb = {0};
    struct aggr_fold *slots = NULL;
    struct sgroup *groups = malloc((n ? n : 1) * sizeof *groups);
    long *grp_of = malloc((n ? n : 1) * sizeof *grp_of);
    size_t *members = malloc((n ? n : 1) * sizeof *members);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    int rc = 0;
    if (groups == NULL || grp_of == NULL || members == NULL || order == NULL) {
        rc = eval_nomem(ev);
        goto out;
    }
    /* Group every series that has a value at some step, once. */
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = eval_check(ev);
        grp_of[i] = -1;
        struct on_steps w = {.s = &in->s[i]};
        size_t k;
        double v;
        if (rc != 0 || !next_on_step(ev, nsteps, &w, &k, &v))
            continue;
        uint64_t key = value_labels_sig(in->s[i].ls, in->s[i].nls, ag->grouping, ag->ngrouping,
                                        !ag->without);
        size_t gi = u64map_get(&keys, key);
        if (gi == SIZE_MAX) {
            gi = ng++;
            groups[gi] = (struct sgroup){.first_step = k, .first_src = i};
            if (u64map_put(&keys, key, gi) != 0) {
                rc = eval_nomem(ev);
                break;
            }
        } else if (k < groups[gi].first_step) {
            groups[gi].first_step = k;
            groups[gi].first_src = i;
        }
        groups[gi].nmem++;
        grp_of[i] = (long)gi;
    }
    if (rc != 0)
        goto out;
    /* Members by group, in input order. */
    size_t at = 0, maxmem = 0;
    for (size_t gi = 0; gi < ng; gi++) {
        groups[gi].mem0 = at;
        at += groups[gi].nmem;
        if (groups[gi].nmem > maxmem)
            maxmem = groups[gi].nmem;
        groups[gi].nmem = 0;
    }
    for (size_t i = 0; i < n; i++)
        if (grp_of[i] >= 0) {
            struct sgroup *g = &groups[grp_of[i]];
            members[g->mem0 + g->nmem++] = i;
        }
    /* Output series in aggr_steps()'s order, named by the series that
     * opens the group there. */
    for (size_t gi = 0; gi < ng; gi++)
        order[gi] = gi;
    if (ng > 1)
        qsort_r(order, ng, sizeof *order, cmp_first, groups);
    for (size_t j = 0; j < ng && rc == 0; j++) {
        struct sgroup *g = &groups[order[j]];
        const struct series *s = &in->s[g->first_src];
        if (aggr_group_labels(&lb, s->ls, s->nls, ag->grouping, ag->ngrouping, ag->without)) {
            rc = eval_nomem(ev);
            break;
        }
        g->out = accum_series(ev, &ac, lb.v, lb.n);
        if (g->out < 0)
            rc = (int)g->out;
    }
    if (rc == 0 && maxmem > 1 && (slots = calloc(nsteps, sizeof *slots)) == NULL)
        rc = eval_nomem(ev);
    for (size_t gi = 0; gi < ng && rc == 0; gi++) {
        const struct sgroup *g = &groups[gi];
        if ((rc = eval_check(ev)) != 0)
            break;
        if (g->nmem == 1)
            rc = fold_one(ev, op, &in->s[members[g->mem0]], nsteps, g->out, &ac, moved);
        else
            rc = fold_group(ev, op, in, members, g, slots, nsteps, &ac);
    }
    if (rc == 0)
        accum_take(&ac, out);
out:
    free(slots);
    free(groups);
    free(grp_of);
    free(members);
    free(order);
    u64map_fini(&keys);
    lbuild_fini(&lb);
    accum_fini(ev, &ac);
    return rc;
}
