/* test_fmtfloat.c: shortest round-trip float text in its three layouts
 * (core/fmtfloat.c), that every output reads back to the same bits, and that
 * fmtfloat_shortest() (Schubfach, fmtfloat_sf.c) and fmtfloat_shortest_search()
 * (the search by precision, fmtfloat.c) both give the same digits as the
 * snprintf/strtod code they replaced, taught Go's pick at powers of two
 * (ref_shortest, fmtfloat_ref.h), on every power of two, edge and random
 * mantissas of every exponent, other edge cases, random bit patterns and
 * random decimal-looking values. Go's own output is compared in
 * tests/integration/test_fmtfloat_go.sh.
 *
 * For one-off long runs outside ctest, the environment sets how many values
 * the random comparisons draw (FMTFLOAT_RANDOM_BITS, FMTFLOAT_RANDOM_DECIMAL,
 * 2 000 000 each by default) and their seed (FMTFLOAT_SEED), e.g. from a
 * release build:
 *     gcc -std=gnu11 -O2 -D_GNU_SOURCE -Isrc tests/unit/core/test_fmtfloat.c \
 *         src/core/{fmtfloat,fmtfloat_sf,buf,err}.c -lcmocka -lm -o /tmp/test_fmtfloat
 *     FMTFLOAT_RANDOM_BITS=500000000 FMTFLOAT_SEED=7 /tmp/test_fmtfloat
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testutil.h"
#include "core/fmtfloat.h"

#include "fmtfloat_ref.h"

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
        {0x1p-1017, NULL, "7.120236347223045e-307", "7.1202363472230444e-307"}, /* g: %.17g */
        {-0x1p-24, "-0.00000005960464477539063", "-5.960464477539063e-08",
         "-5.9604644775390625e-08"},
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

/* Hand-checked digits, including the cases that decide a rule: exact ties at
 * 16 and 17 digits (to even), a lopsided interval at a power of two, the
 * carry 99..9 -> 100..0, subnormals. */
static void test_shortest_cases(void **state)
{
    static const struct {
        double v;
        const char *d;
        int point;
    } cases[] = {
        {1, "1", 1},
        {0.1, "1", 0},
        {0.3, "3", 0},
        {1e23, "1", 24},                                /* 9.99..9916e22: the rounding carries */
        {9007199254740993.0, "9007199254740992", 16},   /* 2^53 + 1 rounds to 2^53 */
        {562949953421312.25, "5629499534213122", 15},   /* 2^49 + 1/4: a 16-digit tie, to even */
        {562949953421312.75, "5629499534213128", 15},   /* ... and up to even */
        {2251799813685247.75, "22517998136852478", 16}, /* a 17-digit tie */
        {0x1p-1022, "22250738585072014", -307},         /* DBL_MIN */
        {0x1.fffffffffffffp+1023, "17976931348623157", 309},
        {5e-324, "5", -323},
        {1e-323, "1", -322},
        {0x1.ffffffffffffep-1023, "2225073858507201", -307}, /* largest subnormal */
        {0x1p-1000, "9332636185032189", -301},               /* a power of two, 2^-1000 */
        {0x1p-1017, "7120236347223045", -306}, /* lopsided: ...044 out below, ...045 in */
        {0x1p-24, "5960464477539063", -7},     /* a 16-digit tie: ...062 (even) out, ...063 in */
        {1.0000000000000001e23, "10000000000000001", 24},
        {0.30000000000000004, "30000000000000004", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct float_digits fd;
        fmtfloat_shortest(cases[i].v, &fd);
        if (strcmp(fd.d, cases[i].d) != 0 || fd.point != cases[i].point ||
            fd.nd != (int)strlen(cases[i].d) || fd.neg)
            fail_msg("case %zu (%a): got %s point %d, want %s point %d", i, cases[i].v, fd.d,
                     fd.point, cases[i].d, cases[i].point);
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

static uint64_t ncompared;

static void check_digits(const char *who, double v, const struct float_digits *got,
                         const struct float_digits *want)
{
    if (got->neg != want->neg || got->nd != want->nd || got->point != want->point ||
        memcmp(got->d, want->d, (size_t)want->nd + 1) != 0)
        fail_msg("%s(%a) (%.17g): got %s%.*s point %d nd %d, want %s%s point %d nd %d", who, v,
                 v, got->neg ? "-" : "", got->nd >= 0 && got->nd <= 17 ? got->nd : 0, got->d,
                 got->point, got->nd, want->neg ? "-" : "", want->d, want->point, want->nd);
}

/* Go's 'f' text of the digits fd, the plain way, into s (400 bytes). */
static void ref_layout_f(const struct float_digits *fd, char *s)
{
    char *o = s;
    if (fd->neg)
        *o++ = '-';
    if (fd->point <= 0) {
        o += sprintf(o, "0.");
        for (int i = 0; i < -fd->point; i++)
            *o++ = '0';
        o += sprintf(o, "%s", fd->d);
    } else {
        for (int i = 0; i < fd->point || i < fd->nd; i++) {
            if (i == fd->point)
                *o++ = '.';
            *o++ = i < fd->nd ? fd->d[i] : '0';
        }
    }
    *o = 0;
}

/* fmtfloat_shortest(v) (Schubfach, fmtfloat_sf.c) and
 * fmtfloat_shortest_search(v) (the search by precision) must both equal
 * ref_shortest(v) field by field. */
static void check_same(double v)
{
    struct float_digits got, got2, want;
    memset(&got, 0x55, sizeof got);
    memset(&got2, 0x55, sizeof got2);
    fmtfloat_shortest(v, &got);
    fmtfloat_shortest_search(v, &got2);
    ref_shortest(v, &want);
    ncompared++;
    check_digits("fmtfloat_shortest", v, &got, &want);
    check_digits("fmtfloat_shortest_search", v, &got2, &want);
    /* fmtfloat_f_chars writes its digits in place: the same text. */
    char f[FMTFLOAT_F_MAX + 8], fw[400];
    memset(f, 0x55, sizeof f);
    int n = fmtfloat_f_chars(f, v);
    ref_layout_f(&want, fw);
    if (n < 0 || (size_t)n >= sizeof f || (size_t)n != strlen(fw) || memcmp(f, fw, (size_t)n))
        fail_msg("fmtfloat_f_chars(%a) = %.*s, want %s", v, n > 0 && n < 400 ? n : 0, f, fw);
}

/* v, its two neighbours, and the three negated. */
static void check_around(double v)
{
    double up = nextafter(v, INFINITY), down = nextafter(v, -INFINITY);
    const double vs[] = {v, up, down};
    for (int i = 0; i < 3; i++) {
        if (!isfinite(vs[i]))
            continue;
        check_same(vs[i]);
        check_same(-vs[i]);
    }
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 0) : dflt;
}

/* A uniformly random integer in [0, n). */
static uint64_t rnd_below(uint64_t *st, uint64_t n)
{
    return test_rnd(st) % n;
}

static void test_shortest_edges(void **state)
{
    ncompared = 0;
    uint64_t st = 0x9e3779b97f4a7c15ULL;
    check_around(0.0);
    check_around(DBL_MIN);
    check_around(DBL_TRUE_MIN);
    check_around(DBL_MAX);
    check_around(0x1.ffffffffffffep-1023); /* the largest subnormal */
    // Every power of two (and its neighbours, all negated too): 46 of them
    // and their negatives take the decimal above v. fmtfloat_g keeps printf's
    // %.Pg at the first P of 15, 16, 17 that reads back, there too.
    ref_nabove = 0;
    for (int i = -1074; i <= 1023; i++) {
        double v = ldexp(1, i);
        check_around(v);
        if (v < DBL_MIN)
            continue;
        char g[32], want[32];
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(want, sizeof want, "%.*g", prec, v);
            if (strtod(want, NULL) == v)
                break;
        }
        fmtfloat_g(g, v);
        if (strcmp(g, want) != 0)
            fail_msg("fmtfloat_g(%a) = %s, want %s", v, g, want);
    }
    if (ref_nabove != 2 * 46)
        fail_msg("%llu powers of two took the decimal above v, want 2 * 46",
                 (unsigned long long)ref_nabove);
    // Every power of ten (as strtod reads "1eN").
    for (int i = -330; i <= 310; i++) {
        char s[16];
        snprintf(s, sizeof s, "1e%d", i);
        check_around(strtod(s, NULL));
    }
    // 17-digit decimals ending in 5, read in every decade: v's 17 digits
    // end in 5 or next to it, as near a tie of the 16-digit rounding as
    // doubles get.
    for (int i = 0; i < 40000; i++) {
        char s[40];
        snprintf(s, sizeof s, "%llu%015llu5e%d", (unsigned long long)(1 + rnd_below(&st, 9)),
                 (unsigned long long)rnd_below(&st, 1000000000000000ULL),
                 (int)rnd_below(&st, 650) - 340);
        check_around(strtod(s, NULL));
    }
    // Doubles whose exact decimal ends in 5 at 17 or 18 digits: odd m over
    // 2, 4 or 8 around 2^49..2^53 (exact ties of the 16- and 17-digit
    // roundings), and the same bit patterns in every binade.
    for (int i = 0; i < 20000; i++) {
        uint64_t m = (UINT64_C(1) << 52) | test_rnd(&st) >> 12 | 1;
        int k = 1 + (int)rnd_below(&st, 6);
        check_around(ldexp((double)m, -k));
        check_around(ldexp((double)m, (int)rnd_below(&st, 2098) - 1126));
    }
    // Integers: all up to 100 000, random ones up to 2^53 in every size,
    // the last ones below 2^53 and the powers of ten plus and minus one.
    for (int i = 0; i <= 100000; i++)
        check_around(i);
    for (int i = 0; i < 20000; i++) {
        int bitsz = 1 + (int)rnd_below(&st, 53);
        check_around((double)(test_rnd(&st) >> (64 - bitsz)));
    }
    for (int i = 0; i < 1000; i++)
        check_around((double)((UINT64_C(1) << 53) - (uint64_t)i));
    for (int i = 0; i <= 22; i++) {
        check_around(pow(10, i) - 1);
        check_around(pow(10, i) + 1);
    }
    // Halves: small ones and random ones up to 2^52.
    for (int i = 0; i < 20000; i++)
        check_around(i + 0.5);
    for (int i = 0; i < 20000; i++) {
        int bitsz = 1 + (int)rnd_below(&st, 52);
        check_around((double)(test_rnd(&st) >> (64 - bitsz)) + 0.5);
    }
    // Subnormals: every one with few significant bits, and random ones.
    for (int i = 1; i < 5000; i++)
        check_around(from_bits((uint64_t)i));
    for (int i = 0; i < 20000; i++)
        check_around(from_bits(test_rnd(&st) >> (12 + rnd_below(&st, 52))));
    print_message("fmtfloat edges: %llu values compared\n", (unsigned long long)ncompared);
}

/* Every binary exponent, normal and subnormal, with the mantissas where
 * the rounding interval is special (all zeros: a power of two, lopsided;
 * all ones; the lowest bits) and random ones. */
static void test_shortest_every_exponent(void **state)
{
    uint64_t st = 0x6a09e667f3bcc908ULL ^ env_u64("FMTFLOAT_SEED", 0);
    const uint64_t top = (UINT64_C(1) << 52) - 1;
    const uint64_t fixed[] = {0, 1, 2, 3, 4, 5, 9, 10, UINT64_C(1) << 51, (UINT64_C(1) << 51) + 1,
                              top, top - 1, top - 2};
    ncompared = 0;
    for (uint64_t ex = 0; ex < 2047; ex++) {
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
            if (ex == 0 && fixed[i] == 0)
                continue; /* zero: test_layouts */
            check_same(from_bits(ex << 52 | fixed[i]));
            check_same(-from_bits(ex << 52 | fixed[i]));
        }
        for (int i = 0; i < 200; i++)
            check_same(from_bits(ex << 52 | (test_rnd(&st) & top)));
    }
    print_message("fmtfloat every exponent: %llu values compared\n",
                  (unsigned long long)ncompared);
}

/* Random bit patterns, all exponents (non-finite ones skipped). */
static void test_shortest_random_bits(void **state)
{
    uint64_t n = env_u64("FMTFLOAT_RANDOM_BITS", 2000000);
    uint64_t st = 0xd1b54a32d192ed03ULL ^ env_u64("FMTFLOAT_SEED", 0);
    ncompared = 0;
    for (uint64_t i = 0; i < n; i++) {
        double v = from_bits(test_rnd(&st));
        if (isfinite(v))
            check_same(v);
    }
    print_message("fmtfloat random bits: %llu values compared\n", (unsigned long long)ncompared);
}

/* What metrics look like: a random integer of 1..17 digits over 10^k,
 * k = 0..20, divided in floating point or read by strtod. */
static void test_shortest_random_decimal(void **state)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9, 1e10,
                                 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20};
    uint64_t n = env_u64("FMTFLOAT_RANDOM_DECIMAL", 2000000);
    uint64_t st = 0x94d049bb133111ebULL ^ env_u64("FMTFLOAT_SEED", 0);
    ncompared = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = test_rnd(&st);
        int digits = 1 + (int)(r % 17);
        int k = (int)(r / 17 % 21);
        uint64_t lim = 1;
        for (int j = 0; j < digits; j++)
            lim *= 10;
        uint64_t x = test_rnd(&st) % lim;
        double v;
        if (r >> 63) {
            v = (double)x / p10[k];
        } else {
            char s[40];
            snprintf(s, sizeof s, "%llue-%d", (unsigned long long)x, k);
            v = strtod(s, NULL);
        }
        check_same(r >> 62 & 1 ? -v : v);
    }
    print_message("fmtfloat random decimals: %llu values compared\n",
                  (unsigned long long)ncompared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_shortest_cases),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_shortest_edges),
        cmocka_unit_test(test_shortest_every_exponent),
        cmocka_unit_test(test_shortest_random_bits),
        cmocka_unit_test(test_shortest_random_decimal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
