/* test_aggr_series.c: the series-by-series aggregation (query/aggr_series.c)
 * against the step-by-step one (aggr_steps() in query/aggr.c), which it
 * replaces for sum, avg, count, min, max, group, stddev and stdvar.
 *
 * Random input matrices (label sets sharing hosts and data centres, points
 * on steps, off steps, repeated, before and after the range, values with
 * NaN, ±Inf, -0 and wide magnitudes) are aggregated by both, under every
 * op and a table of by/without groupings, over range and instant steps:
 * the output series must come in the same order with the same labels, and
 * the same points bit for bit. A sample cap must fail both alike.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/eval.h"

#define MAXSER 14

static const struct label LS[][3] = {
    {{STRV_LIT("__name__"), STRV_LIT("m0")}, {STRV_LIT("dc"), STRV_LIT("a")},
     {STRV_LIT("host"), STRV_LIT("h0")}},
    {{STRV_LIT("__name__"), STRV_LIT("m0")}, {STRV_LIT("dc"), STRV_LIT("a")},
     {STRV_LIT("host"), STRV_LIT("h1")}},
    {{STRV_LIT("__name__"), STRV_LIT("m0")}, {STRV_LIT("dc"), STRV_LIT("b")},
     {STRV_LIT("host"), STRV_LIT("h2")}},
    {{STRV_LIT("__name__"), STRV_LIT("m1")}, {STRV_LIT("dc"), STRV_LIT("a")},
     {STRV_LIT("host"), STRV_LIT("h0")}},
    {{STRV_LIT("__name__"), STRV_LIT("m1")}, {STRV_LIT("dc"), STRV_LIT("b")},
     {STRV_LIT("host"), STRV_LIT("h1")}},
    {{STRV_LIT("__name__"), STRV_LIT("m1")}, {STRV_LIT("dc"), STRV_LIT("b")},
     {STRV_LIT("host"), STRV_LIT("h2")}},
    {{STRV_LIT("dc"), STRV_LIT("a")}, {STRV_LIT("host"), STRV_LIT("h3")}},
    {{STRV_LIT("host"), STRV_LIT("h3")}},
};
static const size_t NLS[] = {3, 3, 3, 3, 3, 3, 2, 1};
#define NLABELSETS (sizeof NLS / sizeof NLS[0])

struct grouping_case {
    const char *name;
    bool without;
    struct strv names[2];
    size_t n;
};

static const struct grouping_case GROUPINGS[] = {
    {"by ()", false, {{0}}, 0},
    {"by (host)", false, {STRV_LIT("host")}, 1},
    {"by (host, dc)", false, {STRV_LIT("host"), STRV_LIT("dc")}, 2},
    {"by (__name__)", false, {STRV_LIT("__name__")}, 1},
    {"by (nonexistent)", false, {STRV_LIT("nonexistent")}, 1},
    {"without ()", true, {{0}}, 0},
    {"without (host)", true, {STRV_LIT("host")}, 1},
    {"without (dc, __name__)", true, {STRV_LIT("dc"), STRV_LIT("__name__")}, 2},
};

static const enum aggr_op OPS[] = {AGGR_SUM, AGGR_AVG,   AGGR_COUNT,  AGGR_MIN,
                                   AGGR_MAX, AGGR_GROUP, AGGR_STDDEV, AGGR_STDVAR};

static double rnd_value(uint64_t *r)
{
    uint64_t x = test_rnd(r);
    switch (x % 16) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return -0.0;
    case 4: return 0.0;
    case 5: return (double)(x >> 20) * 1e290;
    case 6: return (double)(x >> 40) * 1e-300;
    case 7: return (double)(int64_t)(x >> 50) - 7000;
    default: return (double)(int64_t)(x >> 11) / 1048576.0 - 3e6;
    }
}

/* A random matrix over the steps of ev (points on and off them). */
static void gen(uint64_t *r, const struct eval *ev, struct matrix *m)
{
    size_t n = test_rnd(r) % (MAXSER + 1);
    m->s = calloc(n ? n : 1, sizeof *m->s);
    m->n = m->cap = n;
    size_t nsteps = eval_nsteps(ev);
    for (size_t i = 0; i < n; i++) {
        struct series *s = &m->s[i];
        size_t ls = test_rnd(r) % NLABELSETS;
        s->ls = LS[ls];
        s->nls = NLS[ls];
        s->pts = malloc((3 * nsteps + 16) * sizeof *s->pts);
        unsigned density = (unsigned)(test_rnd(r) % 4); /* 0 sparse .. 3 every step */
        int64_t t = ev->start - 2 * ev->interval;
        while (t <= ev->end + 2 * ev->interval) {
            uint64_t x = test_rnd(r);
            if (x % 4 <= density)
                s->pts[s->npts++] = (struct sample){t, rnd_value(r)};
            if (x % 29 == 0 && s->npts > 0) /* a repeated time */
                s->pts[s->npts++] = (struct sample){t, rnd_value(r)};
            if (x % 7 == 0) /* a point between steps */
                s->pts[s->npts++] = (struct sample){t + 1 + (int64_t)(x % (uint64_t)(ev->interval - 1)), rnd_value(r)};
            t += ev->interval;
        }
        s->cap = s->npts;
    }
}

/* A deep copy of m (aggr_series() may take its point arrays). */
static void copy_matrix(const struct matrix *m, struct matrix *c)
{
    c->s = calloc(m->n ? m->n : 1, sizeof *c->s);
    c->n = c->cap = m->n;
    for (size_t i = 0; i < m->n; i++) {
        c->s[i] = m->s[i];
        c->s[i].pts = malloc((m->s[i].npts ? m->s[i].npts : 1) * sizeof *c->s[i].pts);
        memcpy(c->s[i].pts, m->s[i].pts, m->s[i].npts * sizeof *c->s[i].pts);
        c->s[i].cap = m->s[i].npts;
    }
}

static void check_same(const struct matrix *a, const struct matrix *b, const char *what)
{
    if (a->n != b->n)
        fail_msg("%s: %zu series step by step, %zu series by series", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const struct series *x = &a->s[i], *y = &b->s[i];
        if (labels_cmp(x->ls, x->nls, y->ls, y->nls) != 0)
            fail_msg("%s: series %zu has other labels", what, i);
        if (x->npts != y->npts)
            fail_msg("%s: series %zu: %zu points vs %zu", what, i, x->npts, y->npts);
        for (size_t j = 0; j < x->npts; j++)
            if (x->pts[j].t_ms != y->pts[j].t_ms || bits(x->pts[j].v) != bits(y->pts[j].v))
                fail_msg("%s: series %zu point %zu: %lld %.17g vs %lld %.17g", what, i, j,
                         (long long)x->pts[j].t_ms, x->pts[j].v, (long long)y->pts[j].t_ms,
                         y->pts[j].v);
    }
}

static void run_case(uint64_t seed, bool instant, size_t max_samples)
{
    uint64_t r = seed;
    struct arena a;
    arena_init(&a, 0);
    struct err e = {0};
    struct eval ev = {.a = &a, .e = &e, .max_samples = max_samples};
    ev.interval = 1000 * (int64_t)(1 + test_rnd(&r) % 60);
    ev.start = 1700000000000LL + (int64_t)(test_rnd(&r) % 100000);
    ev.end = instant ? ev.start : ev.start + ev.interval * (int64_t)(test_rnd(&r) % 40);
    if (instant)
        ev.interval = 1000;
    struct matrix in = {0}, empty = {0};
    gen(&r, &ev, &in);
    for (size_t o = 0; o < sizeof OPS / sizeof OPS[0]; o++) {
        for (size_t g = 0; g < sizeof GROUPINGS / sizeof GROUPINGS[0]; g++) {
            const struct grouping_case *gc = &GROUPINGS[g];
            struct ast_aggr ag = {.op = OPS[o], .without = gc->without,
                                  .has_grouping = true,
                                  .grouping = (struct strv *)gc->names, .ngrouping = gc->n};
            char what[160];
            snprintf(what, sizeof what, "seed %llu %s %s %s cap %zu", (unsigned long long)seed,
                     ast_aggr_name(OPS[o]), gc->name, instant ? "instant" : "range",
                     max_samples);
            struct matrix x = {0}, y = {0};
            ev.cur_samples = 0;
            int rx = aggr_steps(&ev, &ag, &in, &empty, &x);
            ev.cur_samples = 0;
            struct matrix in2;
            copy_matrix(&in, &in2);
            size_t moved = 0;
            int ry = aggr_series(&ev, &ag, &in2, &y, &moved);
            /* What it took from in2 is y's now: in2 keeps the rest. */
            size_t left = 0, got = 0;
            for (size_t i = 0; i < in2.n; i++)
                left += in2.s[i].npts;
            for (size_t i = 0; ry == 0 && i < y.n; i++)
                got += y.s[i].npts;
            size_t total = 0;
            for (size_t i = 0; i < in.n; i++)
                total += in.s[i].npts;
            if (left + moved != total)
                fail_msg("%s: %zu points left in the input, %zu moved, of %zu", what, left, moved,
                         total);
            /* Every output point counted once, moved or not (the input's
             * were not counted here). */
            if (ry == 0 && ev.cur_samples != got)
                fail_msg("%s: %zu points counted for %zu out (%zu moved)", what, ev.cur_samples,
                         got, moved);
            matrix_free(NULL, &in2);
            if (rx != ry)
                fail_msg("%s: rc %d step by step, %d series by series", what, rx, ry);
            if (rx == 0)
                check_same(&x, &y, what);
            matrix_free(NULL, &x);
            matrix_free(NULL, &y);
        }
    }
    matrix_free(NULL, &in);
    arena_fini(&a);
}

static void test_random_range(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 400; seed++)
        run_case(seed * 0x9e3779b97f4a7c15ULL + 1, false, SIZE_MAX);
}

static void test_random_instant(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 200; seed++)
        run_case(seed * 0x2545f4914f6cdd1dULL + 3, true, SIZE_MAX);
}

/* A cap on the points held fails both with TIDE_ELIMIT (or neither). */
static void test_sample_cap(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 100; seed++)
        run_case(seed * 0x9e3779b97f4a7c15ULL + 5, false, (size_t)(seed % 30));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_range),
        cmocka_unit_test(test_random_instant),
        cmocka_unit_test(test_sample_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
