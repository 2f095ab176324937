/* test_fmtfloat.c: shortest round-trip float text in its three layouts
 * (core/fmtfloat.c), and that every output reads back to the same bits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../testutil.h"
#include "core/fmtfloat.h"

static void test_layouts(void **state)
{
    static const struct {
        double v;
        const char *f, *e, *g;
    } cases[] = {
        {0.0, "0", "0e+00", "0"},
        {-0.0, "-0", "-0e+00", "-0"},
        {0.1, "0.1", "1e-01", "0.1"},
        {-1500, "-1500", "-1.5e+03", "-1500"},
        {1.0 / 3, "0.3333333333333333", "3.333333333333333e-01", "0.3333333333333333"},
        {7e-7, "0.0000007", "7e-07", "7e-07"},
        {1e21, "1000000000000000000000", "1e+21", "1e+21"},
        {1e16, "10000000000000000", "1e+16", "1e+16"},
        {123456.789, "123456.789", "1.23456789e+05", "123456.789"},
        {5e-324, NULL, "5e-324", "5e-324"},
        {NAN, "NaN", "NaN", "NaN"},
        {INFINITY, "+Inf", "+Inf", "+Inf"},
        {-INFINITY, "-Inf", "-Inf", "-Inf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf b;
        buf_init(&b, 0);
        assert_int_equal(fmtfloat_f(&b, cases[i].v), 0);
        if (cases[i].f && strcmp(b.p, cases[i].f) != 0)
            fail_msg("case %zu: f gave %s, want %s", i, b.p, cases[i].f);
        buf_reset(&b);
        assert_int_equal(fmtfloat_e(&b, cases[i].v), 0);
        if (strcmp(b.p, cases[i].e) != 0)
            fail_msg("case %zu: e gave %s, want %s", i, b.p, cases[i].e);
        buf_fini(&b);
        char g[32];
        fmtfloat_g(g, cases[i].v);
        if (strcmp(g, cases[i].g) != 0)
            fail_msg("case %zu: g gave %s, want %s", i, g, cases[i].g);
    }
}

/* Random bit patterns: every layout reads back bit-exactly. */
static void test_round_trips(void **state)
{
    uint64_t st = 0x2545f4914f6cdd1dULL;
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 200000; i++) {
        double v = from_bits(test_rnd(&st));
        if (!isfinite(v))
            continue;
        char g[32];
        fmtfloat_g(g, v);
        buf_reset(&b);
        fmtfloat_f(&b, v);
        double vf = strtod(b.p, NULL);
        buf_reset(&b);
        fmtfloat_e(&b, v);
        double ve = strtod(b.p, NULL);
        if (bits(strtod(g, NULL)) != bits(v) || bits(vf) != bits(v) || bits(ve) != bits(v))
            fail_msg("%.17g does not read back (g=%s)", v, g);
    }
    buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
