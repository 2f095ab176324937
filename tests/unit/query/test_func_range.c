/* test_func_range.c: range functions evaluated several windows at a time
 * (query/func_range.c) give bit for bit what the same function gives one
 * window at a time. avg_over_time takes four windows of equal length side
 * by side in vector registers (SSE2 or AVX); here its answers are compared
 * with the scalar chain on random windows full of the values that take the
 * other branches: infinities of both signs, NaN, huge and tiny magnitudes,
 * cancelling pairs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "../testutil.h"
#include "query/eval.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

/* A value drawn to exercise kahan_inc() and the infinite-mean rules. */
static double draw(void)
{
    uint64_t r = test_rnd(&rng);
    switch (r % 16) {
    case 0: return INFINITY;
    case 1: return -INFINITY;
    case 2: return NAN;
    case 3: return 1e308;
    case 4: return -1e308;
    case 5: return 1e16;
    case 6: return -1e16;
    case 7: return 5e-324;
    case 8: return from_bits(test_rnd(&rng)); /* any bit pattern */
    default: return (double)(int64_t)(test_rnd(&rng) % 2001) / 10.0 - 100.0;
    }
}

/* Windows of n samples; `rare` in 1/rare chance of a special value. */
static void fill(struct sample *p, size_t n, unsigned rare)
{
    for (size_t i = 0; i < n; i++) {
        p[i].t_ms = (int64_t)i * 1000;
        p[i].v = test_rnd(&rng) % rare == 0 ? draw()
                                             : (double)(int64_t)(test_rnd(&rng) % 1000) / 7.0;
    }
}

static void check_all_against_one(enum promql_func_id f, size_t nw, size_t len, unsigned rare)
{
    struct eval ev = {0};
    struct sample *pts = calloc(nw * len, sizeof *pts);
    struct window *w = calloc(nw, sizeof *w);
    double *out = calloc(nw, sizeof *out);
    int *got = calloc(nw, sizeof *got);
    assert_non_null(pts);
    assert_non_null(w);
    assert_non_null(out);
    assert_non_null(got);
    for (size_t j = 0; j < nw; j++) {
        /* Mostly equal lengths (the vector path), sometimes not. */
        size_t n = test_rnd(&rng) % 8 == 0 ? 1 + test_rnd(&rng) % len : len;
        fill(pts + j * len, n, rare);
        w[j] = (struct window){.p = pts + j * len, .n = n, .range_ms = 60000};
    }
    assert_int_equal(func_range_apply_all(&ev, f, w, nw, out, got), 0);
    for (size_t j = 0; j < nw; j++) {
        double one;
        assert_int_equal(func_range_apply(&ev, f, &w[j], &one), 1);
        assert_int_equal(got[j], 1);
        if (isnan(one) && isnan(out[j]))
            continue;
        if (bits(one) != bits(out[j]))
            fail_msg("window %zu of %zu (n=%zu): one at a time %a, together %a", j, nw, w[j].n,
                     one, out[j]);
    }
    free(pts);
    free(w);
    free(out);
    free(got);
}

static void test_avg_over_time_lanes_plain(void **state)
{
    (void)state;
    for (int round = 0; round < 400; round++)
        check_all_against_one(FN_AVG_OVER_TIME, 1 + test_rnd(&rng) % 13, 1 + test_rnd(&rng) % 400,
                              1000000);
}

static void test_avg_over_time_lanes_special(void **state)
{
    (void)state;
    for (unsigned rare = 2; rare <= 64; rare *= 2)
        for (int round = 0; round < 300; round++)
            check_all_against_one(FN_AVG_OVER_TIME, 4 + test_rnd(&rng) % 9,
                                  1 + test_rnd(&rng) % 64, rare);
}

static int baseline_only(void **state)
{
    (void)state;
    func_range_baseline_only = true;
    return 0;
}

static int any_isa(void **state)
{
    (void)state;
    func_range_baseline_only = false;
    return 0;
}

int main(void)
{
    /* Each case twice: with whatever the CPU offers (AVX here usually),
     * then with baseline SSE2 only. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_avg_over_time_lanes_plain, any_isa),
        cmocka_unit_test_setup(test_avg_over_time_lanes_special, any_isa),
        cmocka_unit_test_setup(test_avg_over_time_lanes_plain, baseline_only),
        cmocka_unit_test_setup(test_avg_over_time_lanes_special, baseline_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
