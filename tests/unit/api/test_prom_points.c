/* test_prom_points.c: the points of a query answer (api/prom_points.c):
 * times and values in Prometheus' text, the same bytes whether a time is
 * copied from the pre-written steps of a range query or written digit by
 * digit, and a capped buffer failing at the right point with the earlier
 * points intact. The reference is written the plain way (snprintf of the
 * seconds and milliseconds, fmtfloat for the value). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/prom_points.h"
#include "core/err.h"
#include "core/fmtfloat.h"

/* [<time>,"<value>"] the plain way into s (512 bytes). */
static size_t ref_point(char *s, int64_t t, double v)
{
    uint64_t u = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
    int n = snprintf(s, 64, "[%s%llu", t < 0 ? "-" : "", (unsigned long long)(u / 1000));
    if (u % 1000 != 0)
        n += snprintf(s + n, 64, ".%03u", (unsigned)(u % 1000));
    n += snprintf(s + n, 8, ",\"");
    struct buf b;
    buf_init(&b, 0);
    double a = fabs(v);
    if (a == 0 || !isfinite(a) || (a >= 1e-6 && a < 1e21))
        fmtfloat_f(&b, v);
    else
        fmtfloat_e(&b, v);
    n += snprintf(s + n, 400, "%s\"]", b.p);
    buf_fini(&b);
    return (size_t)n;
}

static void test_times_and_values(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        double v;
        const char *want;
    } cases[] = {
        {1435781451781, 0.25, "[1435781451.781,\"0.25\"]"},
        {1435781451000, 1500, "[1435781451,\"1500\"]"},
        {1435781451001, 7e-7, "[1435781451.001,\"7e-07\"]"},
        {0, 1e21, "[0,\"1e+21\"]"},
        {-1500, -0.0, "[-1.500,\"-0\"]"},
        {999, NAN, "[0.999,\"NaN\"]"},
        {1000, INFINITY, "[1,\"+Inf\"]"},
        {10, -INFINITY, "[0.010,\"-Inf\"]"},
        {1796515200000, 53.27, "[1796515200,\"53.27\"]"},
        {1796515200000, 0.1 + 0.2, "[1796515200,\"0.30000000000000004\"]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf b;
        buf_init(&b, 0);
        struct sample s = {cases[i].t, cases[i].v};
        assert_int_equal(prom_points_append(&b, &s, 1, NULL), 0);
        if (strcmp(b.p, cases[i].want) != 0)
            fail_msg("case %zu: got %s, want %s", i, b.p, cases[i].want);
        buf_fini(&b);
    }
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random series against the reference, with and without the step times of
 * a range query; times on and off the steps, before and after them. */
static void test_series_with_steps(void **state)
{
    (void)state;
    uint64_t st = 0x853c49e6748fea9bULL;
    for (int round = 0; round < 200; round++) {
        int64_t start = (int64_t)(rnd(&st) % 4000000000000ULL) - 1000000000000LL;
        int64_t step = 1 + (int64_t)(rnd(&st) % 7200000);
        size_t nsteps = 1 + rnd(&st) % 300;
        struct prom_times pt;
        assert_int_equal(prom_times_init(&pt, start, start + (int64_t)(nsteps - 1) * step, step,
                                         100000),
                         0);
        assert_int_equal(pt.n, nsteps);
        size_t n = rnd(&st) % 400;
        struct sample *s = calloc(n ? n : 1, sizeof *s);
        assert_non_null(s);
        int64_t t = start - step * (int64_t)(rnd(&st) % 3);
        for (size_t j = 0; j < n; j++) {
            s[j].t_ms = t;
            t += rnd(&st) % 4 ? step : 1 + (int64_t)(rnd(&st) % 1000);
            uint64_t bits = rnd(&st);
            double v;
            switch (rnd(&st) % 4) {
            case 0: memcpy(&v, &bits, sizeof v); break; /* any double, NaN and Inf too */
            case 1: v = (double)(int64_t)(bits % 100000) / 100; break;
            case 2: v = (double)(bits >> 11) * 0x1p-53 * 1000; break;
            default: v = (double)(int64_t)(bits % 2000000) - 1000000; break;
            }
            s[j].v = v;
        }
        struct buf want, got, got2;
        buf_init(&want, 0);
        buf_init(&got, 0);
        buf_init(&got2, 0);
        for (size_t j = 0; j < n; j++) {
            char p[512];
            if (j > 0)
                buf_putc(&want, ',');
            buf_append(&want, p, ref_point(p, s[j].t_ms, s[j].v));
        }
        assert_int_equal(prom_points_append(&got, s, n, &pt), 0);
        assert_int_equal(prom_points_append(&got2, s, n, NULL), 0);
        if (want.len != got.len || (n && memcmp(want.p, got.p, want.len) != 0))
            fail_msg("round %d with steps: got\n%s\nwant\n%s", round, got.p, want.p);
        if (want.len != got2.len || (n && memcmp(want.p, got2.p, want.len) != 0))
            fail_msg("round %d without steps: got\n%s\nwant\n%s", round, got2.p, want.p);
        buf_fini(&want);
        buf_fini(&got);
        buf_fini(&got2);
        free(s);
        prom_times_fini(&pt);
    }
}

/* More steps than the cap: no table, times written one by one. */
static void test_times_cap(void **state)
{
    (void)state;
    struct prom_times pt;
    assert_int_equal(prom_times_init(&pt, 0, 1000000, 1, 1000), 0);
    assert_int_equal(pt.n, 0);
    assert_null(pt.slot);
    struct sample s = {5000, 1};
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(prom_points_append(&b, &s, 1, &pt), 0);
    assert_string_equal(b.p, "[5,\"1\"]");
    buf_fini(&b);
    prom_times_fini(&pt);
}

/* A capped buffer takes every point that fits, exactly, then says
 * TIDE_ELIMIT with those points intact. */
static void test_buffer_cap(void **state)
{
    (void)state;
    struct sample s[50];
    for (int j = 0; j < 50; j++)
        s[j] = (struct sample){1000LL * j, j + 0.5};
    struct buf full;
    buf_init(&full, 0);
    assert_int_equal(prom_points_append(&full, s, 50, NULL), 0);
    for (size_t cap = 1; cap <= full.len; cap += 7) {
        struct buf b;
        buf_init(&b, cap);
        int rc = prom_points_append(&b, s, 50, NULL);
        if (cap >= full.len) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, TIDE_ELIMIT);
        }
        assert_true(b.len <= cap);
        if (b.len > 0 && memcmp(b.p, full.p, b.len) != 0)
            fail_msg("cap %zu: %s is not a prefix", cap, b.p);
        /* whole points only, and as many as fit */
        size_t next = b.len;
        while (next < full.len && full.p[next] != ']')
            next++;
        if (rc != 0)
            assert_true(next + 1 > cap);
        buf_fini(&b);
    }
    buf_fini(&full);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times_and_values),
        cmocka_unit_test(test_series_with_steps),
        cmocka_unit_test(test_times_cap),
        cmocka_unit_test(test_buffer_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
