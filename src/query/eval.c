/* eval.c: the PromQL evaluator's driver, between the parser (parse.c) and
 * the operators (binop.c, aggr.c) and functions (func_*.c, histogram.c).
 *
 * Planning: before evaluating, plan() walks the tree with the range of
 * evaluation timestamps each node will see (subqueries and @ move it) and
 * widens, per vector selector, the time range to read: [first step - offset -
 * lookback (or range), last step - offset]. An instant selector's series
 * are then read once (load_slot) and kept for every step; a range
 * selector's are read one series at a time while its function runs
 * (lazy_next), all steps of a series before the next, so only one series'
 * samples are held and they stay in cache.
 *
 * Evaluation follows Prometheus 2.42's engine: an instant vector selector
 * takes, at each step ts, the newest sample in [ts - offset - lookback,
 * ts - offset] unless that sample is a staleness marker; a range window is
 * [ts - offset - range, ts - offset], both ends included, stale markers
 * dropped; `@ t` replaces ts by t. A subquery evaluates its expression at
 * the multiples of its step inside the window. Functions over range vectors
 * see only non-empty windows.
 *
 * Every loop checks the deadline (eval_check) and every point held counts
 * against max_samples (eval_account). */
#include "query/eval.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "storage/storage.h"

/* The time an `@` modifier pins evaluation to. */
static int64_t at_time(const struct eval *ev, enum ast_at at, int64_t at_ms)
{
    switch (at) {
    case AT_START: return ev->q_start;
    case AT_END: return ev->q_end;
    default: return at_ms;
    }
}

/* The time a selector reads at for step ts: `@` pins it, then the offset
 * moves it back. */
static int64_t ref_time(const struct eval *ev, enum ast_at at, int64_t at_ms, int64_t offset_ms,
                        int64_t ts)
{
    return (at != AT_NONE ? at_time(ev, at, at_ms) : ts) - offset_ms;
}

/* Hand series os over to out, which owns its points from then on; an empty
 * one is freed instead. */
static int take_series(struct eval *ev, struct matrix *out, struct series *os)
{
    if (os->npts == 0) {
        free(os->pts);
        return 0;
    }
    if (matrix_add_series(out, os->ls, os->nls) < 0) {
        free(os->pts);
        return eval_nomem(ev);
    }
    out->s[out->n - 1] = *os;
    return 0;
}

/* ---- planning and loading ---- */

static void widen(struct slot *sl, int64_t mint, int64_t maxt)
{
    if (!sl->used || mint < sl->mint)
        sl->mint = mint;
    if (!sl->used || maxt > sl->maxt)
        sl->maxt = maxt;
    sl->used = true;
}

static void plan(struct eval *ev, const struct ast_node *n, int64_t s, int64_t e)
{
    switch (n->kind) {
    case AST_SELECTOR: {
        const struct ast_selector *sel = &n->u.sel;
        if (sel->at != AT_NONE)
            s = e = at_time(ev, sel->at, sel->at_ms);
        widen(&ev->slots[sel->slot], s - sel->offset_ms - ev->lookback_ms, e - sel->offset_ms);
        break;
    }
    case AST_MATRIX: {
        const struct ast_selector *sel = &n->u.mat.vs->u.sel;
        if (sel->at != AT_NONE)
            s = e = at_time(ev, sel->at, sel->at_ms);
        widen(&ev->slots[sel->slot], s - sel->offset_ms - n->u.mat.range_ms, e - sel->offset_ms);
        ev->slots[sel->slot].lazy = true;
        break;
    }
    case AST_SUBQUERY: {
        const struct ast_subquery *sq = &n->u.sub;
        if (sq->at != AT_NONE)
            s = e = at_time(ev, sq->at, sq->at_ms);
        plan(ev, sq->expr, s - sq->offset_ms - sq->range_ms, e - sq->offset_ms);
        break;
    }
    case AST_PAREN:
        plan(ev, n->u.paren, s, e);
        break;
    case AST_UNARY:
        plan(ev, n->u.unary.expr, s, e);
        break;
    case AST_BINARY:
        plan(ev, n->u.bin.lhs, s, e);
        plan(ev, n->u.bin.rhs, s, e);
        break;
    case AST_AGGR:
        plan(ev, n->u.aggr.expr, s, e);
        if (n->u.aggr.param)
            plan(ev, n->u.aggr.param, s, e);
        break;
    case AST_CALL:
        for (size_t i = 0; i < n->u.call.nargs; i++)
            plan(ev, n->u.call.args[i], s, e);
        break;
    default:
        break;
    }
}

static bool is_stale(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b == STALE_NAN_BITS;
}

/* Whether v[0..n) holds a stale marker: no early exit, so the loop is a
 * plain OR over the values that the compiler can unroll. */
static bool any_stale(const struct sample *v, size_t n)
{
    uint64_t hit = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t b;
        memcpy(&b, &v[k].v, sizeof b);
        hit |= b == STALE_NAN_BITS;
    }
    return hit != 0;
}

static int load_slot(struct eval *ev, const struct ast_selector *sel, struct slot *sl)
{
    struct storage_set *set = NULL;
    int rc = storage_select(ev->st, sel->matchers, sel->nmatchers, sl->mint, sl->maxt, &set, ev->e);
    if (rc != 0)
        return rc;
    ev->tiers_used |= 1; /* raw samples */
    size_t cap = storage_set_count(set);
    sl->s = calloc(cap ? cap : 1, sizeof *sl->s);
    if (sl->s == NULL) {
        storage_set_free(set);
        return eval_nomem(ev);
    }
    sl->loaded = true;
    while (storage_set_next(set)) {
        if ((rc = eval_check(ev)) != 0)
            break;
        const struct label *ls;
        size_t nls;
        struct sample *v = NULL;
        size_t nv;
        /* In the query arena: the series outlive the set. */
        if (storage_set_labels_into(set, ev->a, &ls, &nls) != 0) {
            rc = eval_nomem(ev);
            break;
        }
        rc = storage_set_take_samples(set, &v, &nv, ev->e);
        if (rc == 0 && ev->overlay != NULL &&
            ev->overlay(ev->overlay_ctx, ls, nls, sl->mint, sl->maxt, &v, &nv) != 0)
            rc = eval_nomem(ev);
        if (rc != 0) {
            free(v);
            break;
        }
        if (nv == 0) {
            free(v);
            continue;
        }
        if (sl->n == cap) {
            struct series *ns = realloc(sl->s, (cap * 2 + 1) * sizeof *ns);
            if (ns == NULL) {
                free(v);
                rc = eval_nomem(ev);
                break;
            }
            sl->s = ns;
            cap = cap * 2 + 1;
        }
        struct series *se = &sl->s[sl->n];
        *se = (struct series){.ls = ls, .nls = nls};
        se->pts = v; /* taken from the set: no copy */
        se->npts = se->cap = nv;
        sl->n++;
        ev->loaded_samples += nv;
        if ((rc = eval_account(ev, (long long)nv)) != 0)
            break;
    }
    storage_set_free(set);
    return rc;
}


/* Open a lazy slot's selection at its first series (again, when it was
 * read before: the current series is let go). */
static int lazy_open(struct eval *ev, const struct ast_selector *sel, struct slot *sl)
{
    eval_account(ev, -(long long)sl->cur.npts);
    storage_set_free(sl->set);
    sl->set = NULL;
    sl->next = 0;
    sl->cur = (struct series){0};
    int rc = storage_select(ev->st, sel->matchers, sel->nmatchers, sl->mint, sl->maxt, &sl->set,
                            ev->e);
    if (rc != 0)
        return rc;
    sl->n = storage_set_count(sl->set);
    sl->loaded = true;
    return 0;
}

/* Read the next series of a lazy slot into sl->cur (npts 0 when it has no
 * samples in range), stale markers dropped, and account for its samples in
 * place of the previous series'. */
static int lazy_next(struct eval *ev, struct slot *sl)
{
    eval_account(ev, -(long long)sl->cur.npts);
    sl->cur = (struct series){0};
    if (!storage_set_next(sl->set))
        return EVAL_EXEC(ev, "range selector read past its last series");
    sl->next++;
    ev->tiers_used |= 1; /* raw samples */
    /* In the query arena: results may keep them past the set. */
    if (storage_set_labels_into(sl->set, ev->a, &sl->cur.ls, &sl->cur.nls) != 0)
        return eval_nomem(ev);
    const struct sample *v;
    size_t nv;
    int rc = storage_set_samples(sl->set, &v, &nv, ev->e);
    if (rc != 0)
        return rc;
    ev->loaded_samples += nv;
    if (nv > 0 && storage_set_maybe_nan(sl->set) && any_stale(v, nv)) {
        if ((rc = mem_grow((void **)&sl->scratch, &sl->scratch_cap, nv, sizeof *v)) != 0)
            return eval_nomem(ev);
        size_t k = 0;
        for (size_t j = 0; j < nv; j++)
            if (!is_stale(v[j].v))
                sl->scratch[k++] = v[j];
        v = sl->scratch;
        nv = k;
    }
    if (ev->overlay != NULL) {
        free(sl->merged);
        sl->merged = NULL;
        if (nv > 0) {
            sl->merged = malloc(nv * sizeof *v);
            if (sl->merged == NULL)
                return eval_nomem(ev);
            memcpy(sl->merged, v, nv * sizeof *v);
        }
        if (ev->overlay(ev->overlay_ctx, sl->cur.ls, sl->cur.nls, sl->mint, sl->maxt,
                        &sl->merged, &nv) != 0)
            return eval_nomem(ev);
        v = sl->merged;
    }
    /* Read-only from here on: the points stay in the set's (or scratch or
     * merged) buffer until the next series is read. */
    sl->cur.pts = (struct sample *)v;
    sl->cur.npts = nv;
    return eval_account(ev, (long long)nv);
}

void eval_slots_free(struct eval *ev)
{
    for (size_t i = 0; i < ev->nslots; i++) {
        struct slot *sl = &ev->slots[i];
        if (!sl->lazy) {
            for (size_t k = 0; k < sl->n; k++)
                free(sl->s[k].pts);
        }
        free(sl->s);
        storage_set_free(sl->set);
        free(sl->scratch);
        free(sl->merged);
        *sl = (struct slot){0};
    }
}

int eval_prepare(struct eval *ev, const struct promql_expr *x)
{
    ev->nslots = x->nsels;
    ev->slots = arena_alloc(ev->a, (x->nsels ? x->nsels : 1) * sizeof *ev->slots);
    if (ev->slots == NULL)
        return eval_nomem(ev);
    memset(ev->slots, 0, (x->nsels ? x->nsels : 1) * sizeof *ev->slots);
    for (size_t i = 0; i < x->nsels; i++)
        x->sels[i]->u.sel.slot = (int)i;
    plan(ev, x->root, ev->start, ev->end);
    for (size_t i = 0; i < x->nsels; i++) {
        if (!ev->slots[i].used)
            continue;
        int rc = ev->slots[i].lazy ? lazy_open(ev, &x->sels[i]->u.sel, &ev->slots[i])
                                   : load_slot(ev, &x->sels[i]->u.sel, &ev->slots[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- selectors ---- */

/* Drop __name__ from a label set without copying when it comes first. */
int eval_drop_name(struct eval *ev, const struct label *ls, size_t n, const struct label **out,
                   size_t *nout)
{
    long i = value_label_find(ls, n, STRV_LIT(LABEL_METRIC_NAME));
    if (i < 0) {
        *out = ls;
        *nout = n;
        return 0;
    }
    if (i == 0) {
        *out = ls + 1;
        *nout = n - 1;
        return 0;
    }
    struct label *d = arena_alloc(ev->a, n * sizeof *d);
    if (d == NULL)
        return eval_nomem(ev);
    memcpy(d, ls, (size_t)i * sizeof *d);
    memcpy(d + i, ls + i + 1, (n - (size_t)i - 1) * sizeof *d);
    *out = d;
    *nout = n - 1;
    return 0;
}

/* An instant vector selector at every step. With `sample_time`, each point's
 * value is its sample's timestamp in seconds (timestamp()). */
static int eval_selector(struct eval *ev, const struct ast_node *n, struct matrix *out,
                         bool sample_time)
{
    const struct ast_selector *sel = &n->u.sel;
    struct slot *sl = &ev->slots[sel->slot];
    size_t nsteps = eval_nsteps(ev);
    int rc = 0;
    for (size_t i = 0; i < sl->n && rc == 0; i++) {
        const struct series *se = &sl->s[i];
        struct series os = {.ls = se->ls, .nls = se->nls};
        size_t j = 0;
        for (size_t k = 0; k < nsteps; k++) {
            if ((rc = eval_check(ev)) != 0)
                break;
            int64_t ts = ev->start + (int64_t)k * ev->interval;
            int64_t tref = ref_time(ev, sel->at, sel->at_ms, sel->offset_ms, ts);
            while (j + 1 < se->npts && se->pts[j + 1].t_ms <= tref)
                j++;
            if (se->npts == 0 || se->pts[j].t_ms > tref || se->pts[j].t_ms < tref - ev->lookback_ms)
                continue;
            if (is_stale(se->pts[j].v))
                continue;
            double v = sample_time ? (double)se->pts[j].t_ms / 1000.0 : se->pts[j].v;
            if ((rc = value_push(ev, &os, ts, v)) != 0)
                break;
        }
        if (rc != 0) {
            free(os.pts);
            eval_account(ev, -(long long)os.npts);
            break;
        }
        rc = take_series(ev, out, &os);
    }
    return rc;
}

/* A source of range windows: a range selector's series, read one at a
 * time from its lazy slot, or a subquery's result, held whole. Series are
 * visited in order, each once: rsrc_series(r, 0), (r, 1), ... */
struct rsrc {
    struct slot *sl;   /* the range selector's slot, or NULL */
    size_t n;          /* series */
    int64_t range_ms, offset_ms;
    enum ast_at at;
    int64_t at_ms;
    struct matrix owned; /* a subquery's result, freed after use */
};

static int eval_subquery(struct eval *ev, const struct ast_node *n, struct matrix *out);

static int rsrc_open(struct eval *ev, const struct ast_node *n, struct rsrc *r)
{
    *r = (struct rsrc){0};
    n = ast_unparen(n);
    if (n->kind == AST_MATRIX) {
        const struct ast_selector *sel = &n->u.mat.vs->u.sel;
        struct slot *sl = &ev->slots[sel->slot];
        /* Not opened yet, or evaluated again: start the selection over. */
        if (!sl->loaded || sl->next > 0) {
            int rc = lazy_open(ev, sel, sl);
            if (rc != 0)
                return rc;
        }
        r->sl = sl;
        r->n = sl->n;
        r->range_ms = n->u.mat.range_ms;
        r->offset_ms = sel->offset_ms;
        r->at = sel->at;
        r->at_ms = sel->at_ms;
        return 0;
    }
    /* AST_SUBQUERY */
    int rc = eval_subquery(ev, n, &r->owned);
    if (rc != 0)
        return rc;
    r->n = r->owned.n;
    r->range_ms = n->u.sub.range_ms;
    r->offset_ms = n->u.sub.offset_ms;
    r->at = n->u.sub.at;
    r->at_ms = n->u.sub.at_ms;
    return 0;
}

/* Series i of the source into *se (valid until the next call): NULL when it
 * has no samples. i must follow the previous call's i by one. */
static int rsrc_series(struct eval *ev, struct rsrc *r, size_t i, const struct series **se)
{
    *se = NULL;
    if (r->sl == NULL) {
        *se = &r->owned.s[i];
        return 0;
    }
    int rc = lazy_next(ev, r->sl);
    if (rc == 0 && r->sl->cur.npts > 0)
        *se = &r->sl->cur;
    return rc;
}

static void rsrc_close(struct eval *ev, struct rsrc *r)
{
    if (r->sl) {
        eval_account(ev, -(long long)r->sl->cur.npts);
        r->sl->cur.npts = 0;
    }
    matrix_free(ev, &r->owned);
}

/* A range vector at the top of an instant query: the raw samples. */
static int eval_matrix_top(struct eval *ev, const struct ast_node *n, struct matrix *out)
{
    struct rsrc r;
    int rc = rsrc_open(ev, n, &r);
    if (rc != 0)
        return rc;
    if (n->kind == AST_SUBQUERY) {
        *out = r.owned; /* already the points of the window */
        return 0;
    }
    int64_t tref = ref_time(ev, r.at, r.at_ms, r.offset_ms, ev->start);
    int64_t mint = tref - r.range_ms;
    for (size_t i = 0; i < r.n && rc == 0; i++) {
        const struct series *se;
        if ((rc = rsrc_series(ev, &r, i, &se)) != 0 || se == NULL)
            continue;
        struct series os = {.ls = se->ls, .nls = se->nls};
        for (size_t k = 0; k < se->npts && rc == 0; k++)
            if (se->pts[k].t_ms >= mint && se->pts[k].t_ms <= tref)
                rc = value_push(ev, &os, se->pts[k].t_ms, se->pts[k].v);
        int trc = take_series(ev, out, &os);
        if (trc != 0)
            rc = trc;
    }
    rsrc_close(ev, &r);
    return rc;
}

static int eval_subquery(struct eval *ev, const struct ast_node *n, struct matrix *out)
{
    const struct ast_subquery *sq = &n->u.sub;
    int64_t step = sq->step_ms ? sq->step_ms : ev->subquery_step_ms;
    int64_t s = ev->start, e = ev->end;
    if (sq->at != AT_NONE)
        s = e = at_time(ev, sq->at, sq->at_ms);
    int64_t lo = s - sq->offset_ms - sq->range_ms;
    /* The first multiple of step at or after lo (Go's truncating division). */
    int64_t start = step * (lo / step);
    if (start < lo)
        start += step;
    int64_t end = e - sq->offset_ms;
    struct eval saved = *ev;
    ev->start = start;
    ev->end = end;
    ev->interval = step;
    int rc = 0;
    if (start <= end)
        rc = eval_node(ev, sq->expr, out);
    ev->start = saved.start;
    ev->end = saved.end;
    ev->interval = saved.interval;
    return rc;
}

/* ---- functions ---- */

/* Labels for absent()/absent_over_time(): the selector's equality matchers
 * (a label matched twice is dropped), without __name__. */
int eval_absent_labels(struct eval *ev, const struct ast_node *arg, const struct label **out,
                       size_t *nout)
{
    *out = NULL;
    *nout = 0;
    const struct ast_selector *sel = NULL;
    if (arg->kind == AST_SELECTOR)
        sel = &arg->u.sel;
    else if (arg->kind == AST_MATRIX)
        sel = &arg->u.mat.vs->u.sel;
    if (sel == NULL)
        return 0;
    struct lbuild b = {0};
    bool *seen = calloc(sel->nmatchers + 1, sizeof *seen);
    if (seen == NULL || lbuild_reset(&b, NULL, 0) != 0) {
        free(seen);
        return eval_nomem(ev);
    }
    for (size_t i = 0; i < sel->nmatchers; i++) {
        const struct matcher *m = &sel->matchers[i];
        struct strv name = strv_c(m->name);
        if (strv_eq_c(name, LABEL_METRIC_NAME))
            continue;
        bool has = false;
        for (size_t k = 0; k < i; k++)
            if (seen[k] && strcmp(sel->matchers[k].name, m->name) == 0)
                has = true;
        if (m->type == MATCH_EQ && !has) {
            seen[i] = true;
            if (lbuild_set(&b, name, (struct strv){m->value, m->value_len}) != 0)
                goto nomem;
        } else {
            lbuild_del(&b, name);
        }
    }
    free(seen);
    *out = value_labels_copy(ev, b.v, b.n);
    *nout = b.n;
    lbuild_fini(&b);
    return *out ? 0 : eval_nomem(ev);
nomem:
    free(seen);
    lbuild_fini(&b);
    return eval_nomem(ev);
}

/* The first index in [from, n) whose sample is after t (`after`) or at or
 * after t (n if none): a few linear steps (1m steps over 10 s samples move
 * by 6), then a binary search (1h steps move by hundreds). */
static size_t skip_to(const struct sample *p, size_t from, size_t n, int64_t t, bool after)
{
    for (int k = 0; k < 8; k++, from++)
        if (from >= n || p[from].t_ms > t || (!after && p[from].t_ms == t))
            return from;
    size_t lo = from, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p[mid].t_ms < t || (after && p[mid].t_ms == t))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A window edge moving through one series step by step. */
struct edge {
    size_t at;   /* first sample past the edge */
    size_t last; /* how far the previous step moved it */
};

/* skip_to() for an edge, trying first where the previous step's move would
 * put it: regular samples under regular steps move by the same count each
 * step, and two probes confirm it without a search. */
static void edge_move(struct edge *e, const struct sample *p, size_t n, int64_t t, bool after)
{
    size_t from = e->at, g = from + e->last;
    size_t to;
    if (e->last > 0 && g <= n && (p[g - 1].t_ms < t || (after && p[g - 1].t_ms == t)) &&
        (g == n || p[g].t_ms > t || (!after && p[g].t_ms == t)))
        to = g;
    else
        to = skip_to(p, from, n, t, after);
    e->last = to - from;
    e->at = to;
}

/* A function over a range vector, series by series (as Prometheus does):
 * each input series is read once, its windows at every step are cut and
 * evaluated together (so a function may work on several side by side), and
 * its results go to its output series. */
static int eval_range_call(struct eval *ev, const struct ast_node *n, size_t marg,
                           struct matrix *out)
{
    const struct ast_call *c = &n->u.call;
    enum promql_func_id f = c->func->id;
    int tier = tier_eval_pick(ev, n, marg);
    if (tier >= 0) { /* answered from rollups (tier_eval.c) */
        struct accum tac = {0};
        int trc = tier_eval_call(ev, n, marg, tier, &tac);
        if (trc == 0)
            accum_take(&tac, out);
        accum_fini(ev, &tac);
        return trc;
    }
    struct matrix sargs[PROMQL_FUNC_MAX_ARGS] = {{0}};
    struct rsrc r = {0};
    struct accum ac = {0};
    struct window *ws = NULL;
    struct sample *res = NULL;
    double *wval = NULL;
    int *wgot = NULL;
    int rc = 0;
    for (size_t i = 0; i < c->nargs; i++) {
        if (i == marg)
            continue;
        if ((rc = eval_node(ev, c->args[i], &sargs[i])) != 0)
            goto out;
    }
    if ((rc = rsrc_open(ev, c->args[marg], &r)) != 0)
        goto out;
    bool keep_name = func_range_keeps_name(f);
    size_t nsteps = eval_nsteps(ev);
    ws = malloc((nsteps + 1) * sizeof *ws);
    res = malloc((nsteps + 1) * sizeof *res);
    wval = malloc((nsteps + 1) * sizeof *wval);
    wgot = malloc((nsteps + 1) * sizeof *wgot);
    if (ws == NULL || res == NULL || wval == NULL || wgot == NULL) {
        rc = eval_nomem(ev);
        goto out;
    }
    for (size_t i = 0; i < r.n && rc == 0; i++) {
        const struct series *se;
        if ((rc = eval_check(ev)) != 0 || (rc = rsrc_series(ev, &r, i, &se)) != 0)
            break;
        if (se == NULL)
            continue;
        /* This series' non-empty windows, one per step. */
        struct edge lo = {0}, hi = {0};
        size_t nw = 0, widest = 0;
        for (size_t k = 0; k < nsteps && rc == 0; k++) {
            if ((rc = eval_check(ev)) != 0)
                break;
            int64_t ts = ev->start + (int64_t)k * ev->interval;
            int64_t tref = ref_time(ev, r.at, r.at_ms, r.offset_ms, ts);
            edge_move(&hi, se->pts, se->npts, tref, true);
            edge_move(&lo, se->pts, hi.at, tref - r.range_ms, false);
            if (lo.at >= hi.at)
                continue;
            struct window *w = &ws[nw++];
            *w = (struct window){
                .p = se->pts + lo.at, .n = hi.at - lo.at, .ts = ts,
                .range_start_ms = tref - r.range_ms, .range_end_ms = tref, .range_ms = r.range_ms,
            };
            /* The scalar arguments at this step. */
            if (f == FN_QUANTILE_OVER_TIME)
                w->arg = value_scalar_at(&sargs[0], k);
            else if (f == FN_PREDICT_LINEAR)
                w->arg = value_scalar_at(&sargs[1], k);
            else if (f == FN_HOLT_WINTERS) {
                w->arg = value_scalar_at(&sargs[1], k);
                w->arg2 = value_scalar_at(&sargs[2], k);
            }
            if (w->n > widest)
                widest = w->n;
        }
        if (rc != 0)
            break;
        if (nw == 0)
            continue;
        /* Like Prometheus, count the widest window against the limit while
         * the function runs (the windows are views of the series). */
        if ((rc = eval_account(ev, (long long)widest)) != 0)
            break;
        rc = func_range_apply_all(ev, f, ws, nw, wval, wgot);
        eval_account(ev, -(long long)widest);
        size_t nres = 0;
        for (size_t m = 0; m < nw && rc == 0; m++)
            if (wgot[m])
                res[nres++] = (struct sample){ws[m].ts, wval[m]};
        if (rc != 0 || nres == 0)
            continue;
        const struct label *ls = se->ls;
        size_t nls = se->nls;
        if (!keep_name && (rc = eval_drop_name(ev, ls, nls, &ls, &nls)) != 0)
            break;
        long idx = accum_series(ev, &ac, ls, nls);
        if (idx < 0) {
            rc = (int)idx;
            break;
        }
        rc = accum_add_points(ev, &ac, (size_t)idx, res, nres);
    }
    if (rc != 0)
        goto out;
    if (f == FN_ABSENT_OVER_TIME) {
        /* One series, 1 at the steps where no input series had samples. */
        struct matrix present;
        accum_take(&ac, &present);
        bool *found = calloc(nsteps, sizeof *found);
        if (found == NULL) {
            matrix_free(ev, &present);
            rc = eval_nomem(ev);
            goto out;
        }
        for (size_t i = 0; i < present.n; i++)
            for (size_t k = 0; k < present.s[i].npts; k++)
                found[(present.s[i].pts[k].t_ms - ev->start) / ev->interval] = true;
        matrix_free(ev, &present);
        const struct label *ls;
        size_t nls;
        rc = eval_absent_labels(ev, ast_unparen(c->args[marg]), &ls, &nls);
        struct series os = {.ls = ls, .nls = nls};
        for (size_t k = 0; k < nsteps && rc == 0; k++)
            if (!found[k])
                rc = value_push(ev, &os, ev->start + (int64_t)k * ev->interval, 1);
        free(found);
        if (rc == 0)
            rc = take_series(ev, out, &os);
        else
            free(os.pts);
        goto out;
    }
    accum_take(&ac, out);
out:
    accum_fini(ev, &ac);
    rsrc_close(ev, &r);
    for (size_t i = 0; i < PROMQL_FUNC_MAX_ARGS; i++)
        matrix_free(ev, &sargs[i]);
    free(ws);
    free(res);
    free(wval);
    free(wgot);
    return rc;
}

static int eval_call(struct eval *ev, const struct ast_node *n, struct matrix *out)
{
    const struct ast_call *c = &n->u.call;
    for (size_t i = 0; i < c->nargs; i++)
        if (c->args[i]->type == PROMQL_MATRIX)
            return eval_range_call(ev, n, i, out);

    /* timestamp() of a selector reports the samples' own timestamps. */
    if (c->func->id == FN_TIMESTAMP && ast_unparen(c->args[0])->kind == AST_SELECTOR) {
        struct matrix m = {0};
        int rc = eval_selector(ev, ast_unparen(c->args[0]), &m, true);
        for (size_t i = 0; i < m.n && rc == 0; i++)
            rc = eval_drop_name(ev, m.s[i].ls, m.s[i].nls, &m.s[i].ls, &m.s[i].nls);
        if (rc != 0) {
            matrix_free(ev, &m);
            return rc;
        }
        *out = m;
        return 0;
    }

    struct matrix args[PROMQL_FUNC_MAX_ARGS] = {{0}};
    struct stepper st[PROMQL_FUNC_MAX_ARGS] = {{0}};
    struct vector vargs[PROMQL_FUNC_MAX_ARGS] = {{0}};
    struct vector res = {0};
    struct accum ac = {0};
    struct fstate fs = {0};
    long *oidx = NULL; /* per input series of args[0]: its output series, or -1 */
    size_t nargs = c->nargs < PROMQL_FUNC_MAX_ARGS ? c->nargs : PROMQL_FUNC_MAX_ARGS;
    int rc = 0;
    for (size_t i = 0; i < nargs; i++) {
        if (c->args[i]->type == PROMQL_STRING)
            continue;
        if ((rc = eval_node(ev, c->args[i], &args[i])) != 0)
            goto out;
        if (c->args[i]->type == PROMQL_VECTOR && stepper_init(&st[i], &args[i]) != 0) {
            rc = eval_nomem(ev);
            goto out;
        }
    }
    if (func_instant_per_series(n)) {
        oidx = malloc((args[0].n + 1) * sizeof *oidx);
        if (oidx == NULL) {
            rc = eval_nomem(ev);
            goto out;
        }
        for (size_t i = 0; i < args[0].n; i++)
            oidx[i] = -1;
    }
    size_t nsteps = eval_nsteps(ev);
    for (size_t k = 0; k < nsteps && rc == 0; k++) {
        if ((rc = eval_check(ev)) != 0)
            break;
        int64_t ts = ev->start + (int64_t)k * ev->interval;
        for (size_t i = 0; i < nargs; i++) {
            enum promql_type t = c->args[i]->type;
            if (t == PROMQL_VECTOR) {
                if (stepper_at(&st[i], ts) != 0) {
                    rc = eval_nomem(ev);
                    goto out;
                }
                vargs[i] = st[i].v;
            } else if (t == PROMQL_SCALAR) {
                vargs[i].n = 0;
                if (vector_push(&vargs[i], NULL, 0, value_scalar_at(&args[i], k), ts, 0) != 0) {
                    rc = eval_nomem(ev);
                    goto out;
                }
            }
        }
        res.n = 0;
        if ((rc = func_instant_apply(ev, n, &fs, vargs, ts, &res)) != 0)
            break;
        for (size_t j = 0; j < res.n && rc == 0; j++) {
            const struct vsample *o = &res.s[j];
            if (oidx == NULL) {
                rc = accum_add(ev, &ac, o->ls, o->nls, ts, o->v);
                continue;
            }
            if (oidx[o->src] < 0) {
                oidx[o->src] = accum_series(ev, &ac, o->ls, o->nls);
                if (oidx[o->src] < 0) {
                    rc = (int)oidx[o->src];
                    break;
                }
            }
            rc = accum_point(ev, &ac, (size_t)oidx[o->src], ts, o->v);
        }
    }
    if (rc == 0)
        accum_take(&ac, out);
out:
    for (size_t i = 0; i < nargs; i++) {
        if (c->args[i]->type == PROMQL_SCALAR)
            vector_fini(&vargs[i]);
        if (c->args[i]->type == PROMQL_VECTOR)
            stepper_fini(&st[i]);
        matrix_free(ev, &args[i]);
    }
    vector_fini(&res);
    accum_fini(ev, &ac);
    func_instant_fini(&fs);
    free(oidx);
    return rc;
}

/* ---- the dispatcher ---- */

static int eval_number(struct eval *ev, double v, struct matrix *out)
{
    if (matrix_add_series(out, NULL, 0) < 0)
        return eval_nomem(ev);
    size_t nsteps = eval_nsteps(ev);
    for (size_t k = 0; k < nsteps; k++) {
        int rc = value_push(ev, &out->s[0], ev->start + (int64_t)k * ev->interval, v);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int eval_unary(struct eval *ev, const struct ast_node *n, struct matrix *out)
{
    int rc = eval_node(ev, n->u.unary.expr, out);
    if (rc != 0 || n->u.unary.op != OP_SUB)
        return rc;
    struct lsmap seen = {0};
    for (size_t i = 0; i < out->n && rc == 0; i++) {
        struct series *s = &out->s[i];
        for (size_t k = 0; k < s->npts; k++)
            s->pts[k].v = -s->pts[k].v;
        if (n->type != PROMQL_VECTOR)
            continue;
        if ((rc = eval_drop_name(ev, s->ls, s->nls, &s->ls, &s->nls)) != 0)
            break;
        uint64_t h = labels_hash(s->ls, s->nls);
        if (lsmap_get(&seen, out, s->ls, s->nls, h) != SIZE_MAX)
            rc = EVAL_EXEC(ev, "vector cannot contain metrics with the same labelset");
        else if (lsmap_put(&seen, h, i) != 0)
            rc = eval_nomem(ev);
    }
    lsmap_fini(&seen);
    return rc;
}

int eval_node(struct eval *ev, const struct ast_node *n, struct matrix *out)
{
    *out = (struct matrix){0};
    int rc = eval_check(ev);
    if (rc != 0)
        return rc;
    switch (n->kind) {
    case AST_NUMBER:
        rc = eval_number(ev, n->u.num, out);
        break;
    case AST_PAREN:
        return eval_node(ev, n->u.paren, out);
    case AST_SELECTOR:
        rc = eval_selector(ev, n, out, false);
        break;
    case AST_MATRIX:
    case AST_SUBQUERY:
        rc = eval_matrix_top(ev, n, out);
        break;
    case AST_UNARY:
        rc = eval_unary(ev, n, out);
        break;
    case AST_BINARY:
        rc = binop_eval(ev, n, out);
        break;
    case AST_AGGR:
        rc = aggr_eval(ev, n, out);
        break;
    case AST_CALL:
        rc = eval_call(ev, n, out);
        break;
    case AST_STRING:
        rc = EVAL_EXEC(ev, "unexpected string in expression evaluation");
        break;
    }
    if (rc != 0)
        matrix_free(ev, out);
    return rc;
}
