/* test_tier_eval.c: range functions answered from rollup tiers (tier_eval.c)
 * against the same queries over raw samples, differentially.
 *
 * Three days of counters with resets, gauges with NaN and ±Inf, stale
 * markers and gaps are stored and rolled up (tiers 1m and 5m), then more
 * samples go to the head only, so queries stitch tier files with rollups
 * of raw data. Thousands of random (function, window, step, range, offset)
 * combinations evaluated with tier=auto must equal tier=raw: the same
 * series, steps and values (bit for bit for count/min/max/last and
 * reset-free rates, within 1e-9 relative for sums and averages), and most of
 * them must actually have been answered by a tier. Misaligned queries fall
 * back to raw, and `tier=` picks or refuses a tier.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../testutil.h"
#include "../testutil_storage.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fs.h"
#include "core/yaml_tree.h"
#include "query/query.h"
#include "storage/storage.h"

#define DAY_MS 86400000LL
#define MIN_MS 60000LL
#define T0 (300 * DAY_MS)
#define NSER 8

static struct storage *st;
static struct storage_policy pol;
static char *dir;

static void gen(uint64_t seed, int64_t from, int64_t to)
{
    struct batch b;
    batch_init(&b);
    static const char *const names[NSER] = {"c0", "g1", "c2", "g3", "c4", "g5", "c6", "g7"};
    for (int k = 0; k < NSER; k++) {
        uint64_t r = seed * 104729 + (uint64_t)k * 7 + 1;
        const char *name = names[k]; /* the batch borrows label strings */
        batch_begin_series(&b);
        batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), strv_c(k % 2 ? "gauge" : "counter"));
        batch_add_label(&b, STRV_LIT("s"), strv_c(name));
        double c = (double)(k * 1000);
        /* Every 30 s on the grid (so often exactly on window edges), some
         * jittered by up to 3 s, with gaps. */
        for (int64_t j = 0; from + j * 30000 < to; j++) {
            uint64_t x = test_rnd(&r);
            int64_t t = from + j * 30000 + (x % 4 == 0 ? (int64_t)(x % 7) * 1000 - 3000 : 0);
            double v;
            if (k % 2 == 0) {
                c += (double)(x % 1000) / 8;
                if (x % 211 == 0)
                    c = (double)(x % 50); /* reset */
                v = c;
            } else {
                v = (double)(int64_t)(x % 100000) / 64 - 500;
                if (k == 3 && x % 97 == 0)
                    v = NAN;
                else if (k == 5 && x % 89 == 0)
                    v = x & 1 ? INFINITY : -INFINITY;
            }
            if (x % 307 == 0)
                v = from_bits(STALE_NAN_BITS);
            if (t >= from && t < to)
                batch_add_sample(&b, t, v);
            if (x % 1511 == 0)
                j += (int64_t)(x % 80); /* a gap */
        }
        batch_end_series(&b);
    }
    test_append(st, &b);
}

/* NWIDE series `wide` (a counter with resets, one sample a minute): enough
 * series for tier_points.c to read them on two threads in batches. */
#define NWIDE 40
static void gen_wide(uint64_t seed, int64_t from, int64_t to)
{
    struct batch b;
    batch_init(&b);
    static char names[NWIDE][8];
    for (int k = 0; k < NWIDE; k++) {
        snprintf(names[k], sizeof names[k], "w%02d", k);
        uint64_t r = seed * 7919 + (uint64_t)k * 13 + 1;
        batch_begin_series(&b);
        batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), strv_c("wide"));
        batch_add_label(&b, STRV_LIT("s"), strv_c(names[k]));
        double c = (double)k;
        for (int64_t t = from; t < to; t += MIN_MS) {
            uint64_t x = test_rnd(&r);
            c += (double)(x % 512) / 4;
            if (x % 173 == 0)
                c = (double)(x % 10); /* reset */
            if (x % 211 != 0) /* a gap now and then */
                batch_add_sample(&b, t, c);
        }
        batch_end_series(&b);
    }
    test_append(st, &b);
}

/* Series whose labels are the same once __name__ is dropped: pair_a {s="p"}
 * on the first day, pair_b {s="p"} on the third (a day apart, more than
 * any window), over_a and over_b {s="o"} side by side all three days. */
static void gen_pairs(int64_t from)
{
    static const struct {
        const char *name, *s;
        int64_t first, last; /* days after from */
    } pairs[] = {
        {"pair_a", "p", 0, 1}, {"pair_b", "p", 2, 3}, {"over_a", "o", 0, 3}, {"over_b", "o", 0, 3},
    };
    struct batch b;
    batch_init(&b);
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        batch_begin_series(&b);
        batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), strv_c(pairs[k].name));
        batch_add_label(&b, STRV_LIT("s"), strv_c(pairs[k].s));
        for (int64_t t = from + pairs[k].first * DAY_MS; t < from + pairs[k].last * DAY_MS;
             t += MIN_MS)
            batch_add_sample(&b, t, (double)((t / MIN_MS) % 1000 + (int64_t)k));
        batch_end_series(&b);
    }
    test_append(st, &b);
}

static int setup(void **state)
{
    (void)state;
    dir = test_tmpdir("tide_tiereval");
    const char *yaml = "tiers:\n  - {resolution: 1m}\n  - {resolution: 5m}\n";
    struct yaml_tree *t;
    struct err e = {0};
    assert_int_equal(yaml_tree_parse(yaml, strlen(yaml), "t.yml", &t, &e), 0);
    assert_int_equal(storage_policy_parse(yaml_tree_get(yaml_tree_root(t), "tiers"), NULL, NULL,
                                          DAY_MS, &pol, &e),
                     0);
    yaml_tree_free(t);
    struct storage_opts o = {.dir = dir, .no_background = true, .partition_ms = DAY_MS,
                             .policy = &pol};
    assert_int_equal(storage_open(&st, &o, &e), 0);
    gen(1, T0, T0 + 3 * DAY_MS);
    gen_wide(1, T0, T0 + 3 * DAY_MS);
    gen_pairs(T0);
    assert_int_equal(storage_maintain(st, true, T0 + 3 * DAY_MS, &e), 0);
    /* Head only: the third day gets more samples in between (out of order),
     * the fourth is new. */
    gen(2, T0 + 2 * DAY_MS + 7000, T0 + 2 * DAY_MS + 6 * 3600000);
    gen(3, T0 + 3 * DAY_MS, T0 + 3 * DAY_MS + 8 * 3600000);
    gen_wide(2, T0 + 3 * DAY_MS, T0 + 3 * DAY_MS + 8 * 3600000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    storage_close(st);
    storage_policy_fini(&pol);
    fs_rm_rf(dir);
    free(dir);
    return 0;
}

static bool close_enough(double a, double b, bool exact)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b))
        return a == b;
    if (exact)
        return bits(a) == bits(b) || a == b;
    double d = fabs(a - b), m = fmax(fabs(a), fabs(b));
    return d <= 1e-9 * m || d <= 1e-9;
}

/* rt (from a tier) and rr (raw) hold the same series, labels, steps and
 * values; `what` names the query in a failure. The points compared. */
static int assert_same_answer(const char *what, const struct query_result *rt,
                              const struct query_result *rr, bool exact)
{
    int points = 0;
    if (rt->nseries != rr->nseries)
        fail_msg("%s: %zu series from %s, %zu raw", what, rt->nseries, rt->tier, rr->nseries);
    for (size_t s = 0; s < rr->nseries; s++) {
        const struct query_series *x = &rt->series[s], *y = &rr->series[s];
        if (labels_cmp(x->labels, x->nlabels, y->labels, y->nlabels) != 0)
            fail_msg("%s: series %zu has other labels from %s", what, s, rt->tier);
        if (x->nsamples != y->nsamples)
            fail_msg("%s: series %zu has %zu points from %s, %zu raw", what, s, x->nsamples,
                     rt->tier, y->nsamples);
        for (size_t k = 0; k < y->nsamples; k++, points++)
            if (x->samples[k].t_ms != y->samples[k].t_ms ||
                !close_enough(x->samples[k].v, y->samples[k].v, exact))
                fail_msg("%s: series %zu at %lld: %.17g from %s, %.17g raw", what, s,
                         (long long)y->samples[k].t_ms, x->samples[k].v, rt->tier,
                         y->samples[k].v);
    }
    return points;
}

/* Functions whose tier answers equal raw bit for bit. */
static bool exact_func(const char *f)
{
    return strstr(f, "count") || strstr(f, "min_") || strstr(f, "max_") || strstr(f, "last_");
}

static const char *const funcs[] = {"rate", "increase", "avg_over_time", "min_over_time",
                                    "max_over_time", "sum_over_time", "count_over_time",
                                    "last_over_time"};

/* Run expr as a range query with tier `tier`; *q owned by the caller. */
static struct query *run(const char *expr, int64_t s, int64_t e_, int64_t step, const char *tier)
{
    struct query *q;
    struct query_opts o = {.tier = tier};
    struct err e = {0};
    int rc = query_range(&q, st, expr, strlen(expr), s, e_, step, &o, &e);
    if (rc)
        fail_msg("%s [tier %s]: %s", expr, tier, e.msg);
    return q;
}

static void test_differential(void **state)
{
    (void)state;
    uint64_t rnd = 20261206;
    int combos = 0, from_tier = 0, stitched = 0, points = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 2000; i++) {
        const char *f = funcs[test_rnd(&rnd) % 8];
        int64_t res = test_rnd(&rnd) % 2 ? 5 * MIN_MS : MIN_MS;
        int64_t window = res * (int64_t)(1 + test_rnd(&rnd) % 30);
        int64_t step = res * (int64_t)(1 + test_rnd(&rnd) % 20);
        int64_t nsteps = 1 + (int64_t)(test_rnd(&rnd) % 40);
        /* Anywhere from before the data to past its end (the head). */
        int64_t start = T0 - 2 * 3600000 + res * (int64_t)(test_rnd(&rnd) % (uint64_t)(3 * DAY_MS / res + 12 * 3600000 / res));
        int64_t offset = test_rnd(&rnd) % 4 == 0 ? res * (int64_t)(test_rnd(&rnd) % 10) : 0;
        const char *sel = test_rnd(&rnd) % 2 ? "counter" : "{__name__=~\"counter|gauge\"}";
        char expr[256];
        if (offset)
            snprintf(expr, sizeof expr, "%s(%s[%lldms] offset %lldms)", f, sel,
                     (long long)window, (long long)offset);
        else
            snprintf(expr, sizeof expr, "%s(%s[%lldms])", f, sel, (long long)window);
        int64_t end = start + (nsteps - 1) * step;
        struct query *qt = run(expr, start, end, step, "auto");
        struct query *qr = run(expr, start, end, step, "raw");
        const struct query_result *rt = query_result(qt), *rr = query_result(qr);
        assert_string_equal(rr->tier, "raw");
        combos++;
        from_tier += strstr(rt->tier, "m") != NULL;
        stitched += strstr(rt->tier, "+raw") != NULL;
        char what[400];
        snprintf(what, sizeof what, "%s start %lld step %lld x%lld", expr, (long long)start,
                 (long long)step, (long long)nsteps);
        points += assert_same_answer(what, rt, rr, exact_func(f));
        query_free(qt);
        query_free(qr);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    print_message("tier vs raw: %d combinations, %d answered by a tier (%d stitched with raw), "
                  "%d points compared, %.1f s\n",
                  combos, from_tier, stitched, points,
                  (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
    assert_true(from_tier > combos / 2); /* the rest read only the head or no data */
    assert_true(stitched > 0);
}

static void test_planning(void **state)
{
    (void)state;
    struct query *q;
    /* Aligned: the coarsest tier that divides everything. */
    q = run("avg_over_time(gauge[1h])", T0 + 3600000, T0 + 10 * 3600000, 3600000, NULL);
    assert_string_equal(query_result(q)->tier, "5m");
    query_free(q);
    q = run("avg_over_time(gauge[1h])", T0 + 3600000, T0 + 10 * 3600000, 3600000, "1m");
    assert_string_equal(query_result(q)->tier, "1m");
    query_free(q);
    q = run("max_over_time(gauge[3m])", T0 + 3600000, T0 + 10 * 3600000, 3600000, NULL);
    assert_string_equal(query_result(q)->tier, "1m");
    query_free(q);
    /* Misaligned step or start, a plain selector, quantile_over_time: raw. */
    q = run("avg_over_time(gauge[1h])", T0 + 3600000 + 1000, T0 + 10 * 3600000, 3600000, NULL);
    assert_string_equal(query_result(q)->tier, "raw");
    query_free(q);
    q = run("avg_over_time(gauge[1h])", T0 + 3600000, T0 + 10 * 3600000, 90000, NULL);
    assert_string_equal(query_result(q)->tier, "raw");
    query_free(q);
    q = run("gauge", T0 + 3600000, T0 + 10 * 3600000, 3600000, NULL);
    assert_string_equal(query_result(q)->tier, "raw");
    query_free(q);
    q = run("quantile_over_time(0.5, gauge[1h])", T0 + 3600000, T0 + 10 * 3600000, 3600000, NULL);
    assert_string_equal(query_result(q)->tier, "raw");
    query_free(q);
    /* Both in one expression, and a tier stitched with the head. */
    q = run("sum by (s) (rate(counter[1h])) / ignoring(s) group_left count(gauge)",
            T0 + 3600000, T0 + 10 * 3600000, 3600000, NULL);
    assert_string_equal(query_result(q)->tier, "5m+raw");
    query_free(q);
    q = run("rate(counter[1h])", T0 + 3 * DAY_MS - 3600000, T0 + 3 * DAY_MS + 3600000, 300000, NULL);
    assert_string_equal(query_result(q)->tier, "raw"); /* only the head: computed from raw */
    query_free(q);
    struct query *bad;
    struct query_opts o = {.tier = "7m"};
    struct err e = {0};
    assert_int_equal(query_range(&bad, st, "rate(counter[1h])", 17, T0, T0 + DAY_MS, 3600000, &o,
                                 &e),
                     TIDE_EINVAL);
    assert_non_null(strstr(e.msg, "unknown tier"));
}

/* Queries over all NWIDE series of three days and the head: rollup windows
 * enough for tier_points.c's second thread (batches claimed by both, merged
 * in series order). Equal to raw as in test_differential; a sample cap
 * fails the tier read as it fails the raw one. */
static void test_two_threads(void **state)
{
    (void)state;
    static const char *const exprs[] = {
        "rate(wide[1h])", "increase(wide[2h])", "avg_over_time(wide[1h])",
        "max_over_time(wide[30m])", "count_over_time(wide[1h])", "last_over_time(wide[5m])",
        "sum by (s) (rate(wide[1h]))", "sum(rate(wide[1h]))",
    };
    static const int64_t steps[] = {5 * MIN_MS, 3600000};
    int points = 0;
    for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
        for (size_t j = 0; j < sizeof steps / sizeof steps[0]; j++) {
            int64_t start = T0 + 3600000, end = T0 + 3 * DAY_MS + 6 * 3600000;
            struct query *qt = run(exprs[i], start, end, steps[j], "auto");
            struct query *qr = run(exprs[i], start, end, steps[j], "raw");
            const struct query_result *rt = query_result(qt), *rr = query_result(qr);
            assert_non_null(strstr(rt->tier, "m+raw"));
            if (rr->nseries == 0)
                fail_msg("%s: no series", exprs[i]);
            char what[200];
            snprintf(what, sizeof what, "%s step %lld", exprs[i], (long long)steps[j]);
            points += assert_same_answer(what, rt, rr, exact_func(exprs[i]));
            query_free(qt);
            query_free(qr);
        }
    }
    print_message("two threads: %d points compared\n", points);
    /* Past the sample cap: TIDE_ELIMIT from the tier read too. */
    for (size_t cap = 100; cap <= 30000; cap *= 3) {
        struct query *q;
        struct query_opts o = {.tier = "auto", .max_samples = cap};
        struct err e = {0};
        int rc = query_range(&q, st, "rate(wide[1h])", 14, T0 + 3600000, T0 + 3 * DAY_MS,
                             5 * MIN_MS, &o, &e);
        assert_int_equal(rc, TIDE_ELIMIT);
        assert_non_null(strstr(e.msg, "too many samples"));
    }
}

/* Range query expr with tier `tier`: 0 and *q, or the error (message in e). */
static int try_run(const char *expr, int64_t s, int64_t e_, int64_t step, const char *tier,
                   struct query **q, struct err *e)
{
    struct query_opts o = {.tier = tier};
    return query_range(q, st, expr, strlen(expr), s, e_, step, &o, e);
}

/* Two input series that give one output series once the function drops
 * __name__: from a tier as from raw samples, their points are merged when
 * they never share a step, and Prometheus' duplicate-labelset error when
 * they do. */
static void test_same_labels_once_named(void **state)
{
    (void)state;
    uint64_t rnd = 20261207;
    int merged = 0, refused = 0;
    for (int i = 0; i < 300; i++) {
        const char *f = funcs[test_rnd(&rnd) % 8];
        int64_t res = test_rnd(&rnd) % 2 ? 5 * MIN_MS : MIN_MS;
        int64_t window = res * (int64_t)(1 + test_rnd(&rnd) % 30);
        int64_t step = res * (int64_t)(1 + test_rnd(&rnd) % 60);
        int64_t start = T0 - 3600000 + res * (int64_t)(test_rnd(&rnd) % (uint64_t)(DAY_MS / res));
        int64_t end = start + 2 * DAY_MS + step * (int64_t)(test_rnd(&rnd) % 100);
        const char *sel = i % 2 ? "{__name__=~\"pair_a|pair_b\"}" : "{__name__=~\"over_a|over_b\"}";
        char expr[160], what[240];
        snprintf(expr, sizeof expr, "%s(%s[%lldms])", f, sel, (long long)window);
        snprintf(what, sizeof what, "%s start %lld step %lld", expr, (long long)start,
                 (long long)step);
        struct query *qt = NULL, *qr = NULL;
        struct err et = {0}, er = {0};
        int rt = try_run(expr, start, end, step, "auto", &qt, &et);
        int rr = try_run(expr, start, end, step, "raw", &qr, &er);
        if (rt != rr)
            fail_msg("%s: %d (%s) from tiers, %d (%s) raw", what, rt, et.msg, rr, er.msg);
        if (rr != 0) {
            assert_string_equal(et.msg, er.msg);
            assert_non_null(strstr(er.msg, "same labelset"));
            refused++;
            continue;
        }
        assert_non_null(strstr(query_result(qt)->tier, "m")); /* a tier answered */
        assert_same_answer(what, query_result(qt), query_result(qr), exact_func(f));
        merged += strstr(sel, "pair") != NULL && query_result(qr)->nseries == 1;
        query_free(qt);
        query_free(qr);
    }
    print_message("same labels: %d merged, %d refused\n", merged, refused);
    assert_true(merged > 0);
    assert_true(refused > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planning),
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_same_labels_once_named),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
