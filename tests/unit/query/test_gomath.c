/* test_gomath.c: query/gomath.c against results of Go 1.19's math package
 * (go1.19.8 linux/amd64, the Go of Debian's Prometheus 2.42), pinned as bits
 * so the check runs where Go is absent. tests/integration/test_gomath.sh
 * compares millions of inputs against Go itself; the cases here are the edge
 * cases worth naming and, per function, inputs where glibc's libm answers
 * differently in the last bits. Go's exp takes an FMA path on CPUs with AVX
 * and FMA: UP() cases give both answers (fused, then plain), and the plain
 * path is also checked on FMA machines by forcing it. The last test checks
 * that PromQL's functions, `^` and atan2 go through gomath. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testutil.h"
#include "core/fs.h"
#include "query/gomath.h"
#include "query/query.h"
#include "storage/storage.h"

struct gocase {
    const char *name;
    double (*f1)(double);
    double (*f2)(double, double);
    uint64_t x, y;
    uint64_t want;       /* Go's result where it uses FMA (and wherever exp is not involved) */
    uint64_t want_plain; /* Go's result under GODEBUG=cpu.fma=off */
};

/* U: unary; UP: unary whose FMA and plain answers differ; B: binary (pow
 * is x^y; atan2 is y then x, as math.Atan2). */
/* clang-format off */
#define U(f, desc, x, want) {#f "(" desc ")", gomath_##f, NULL, x, 0, want, want}
#define UP(f, desc, x, want, plain) {#f "(" desc ")", gomath_##f, NULL, x, 0, want, plain}
#define B(f, desc, x, y, want) {#f "(" desc ")", NULL, gomath_##f, x, y, want, want}
/* clang-format on */

static const struct gocase cases[] = {
    /* Special values, thresholds where Go switches method, and quirks of
     * Go's amd64 assembly: exp's two-step scaling into subnormals and its
     * overflow at k = 1024; log reading a subnormal as a normal number (so
     * log(5e-324) is -709.09, not -744.44) and its <= at sqrt2/2. */
    U(exp, "-inf", 0xfff0000000000000, 0x0000000000000000),
    U(exp, "inf", 0x7ff0000000000000, 0x7ff0000000000000),
    U(exp, "-0", 0x8000000000000000, 0x3ff0000000000000),
    U(exp, "1", 0x3ff0000000000000, 0x4005bf0a8b145769),
    U(exp, "709.7827129", 0x40862e42fefa39ef, 0x7ff0000000000000),
    U(exp, "709.79", 0x40862e51eb851eb8, 0x7ff0000000000000),
    U(exp, "-740", 0xc087200000000000, 0x0000000000000055),
    U(exp, "-745.2", 0xc08749999999999a, 0x0000000000000000),
    U(log, "-0", 0x8000000000000000, 0xfff0000000000000),
    U(log, "-1", 0xbff0000000000000, 0x7ff8000000000001),
    U(log, "4.940656458e-324", 0x0000000000000001, 0xc08628b76e3a7b61),
    U(log, "1", 0x3ff0000000000000, 0x0000000000000000),
    U(log, "0.7071067812", 0x3fe6a09e667f3bcd, 0xbfd62e42fefa39ee),
    U(log, "sqrt2/2 * 2^32", 0x41e6a09e667f3bcd, 0x4035d589f2fe5108),
    U(log2, "8", 0x4020000000000000, 0x4008000000000000),
    U(log2, "4.940656458e-324", 0x0000000000000001, 0xc090c80000000000),
    U(log2, "0", 0x0000000000000000, 0xfff0000000000000),
    U(log2, "10", 0x4024000000000000, 0x400a934f0979a371),
    U(log10, "1000", 0x408f400000000000, 0x4008000000000000),
    U(log10, "4.940656458e-324", 0x0000000000000001, 0xc0733f424bcb5221),
    U(log1p, "-1", 0xbff0000000000000, 0xfff0000000000000),
    U(log1p, "1e-20", 0x3bc79ca10c924223, 0x3bc79ca10c924223),
    U(log1p, "sqrt2-1", 0x3fda827999fcef33, 0x3fd62e42fefa39f0),
    U(sin, "-0", 0x8000000000000000, 0x8000000000000000),
    U(sin, "1e+300", 0x7e37e43c8800759c, 0xbfea2c16b010e386),
    U(sin, "536870912", 0x41c0000000000000, 0x3fd4e67c0e2622df),
    U(sin, "inf", 0x7ff0000000000000, 0x7ff8000000000001),
    U(cos, "1e+22", 0x4480f0cf064dd592, 0x3fe0be2cef01c8f3),
    U(cos, "536870911", 0x41bfffffff000000, 0xbfce3164dbe8bfd8),
    U(tan, "0.7853981634", 0x3fe921fb54442d18, 0x3ff0000000000000),
    U(tan, "1e+300", 0x7e37e43c8800759c, 0x3ff6be411f37ac76),
    U(asin, "1", 0x3ff0000000000000, 0x3ff921fb54442d18),
    U(asin, "1+ulp", 0x3ff0000000000001, 0x7ff8000000000001),
    U(asin, "0.7", 0x3fe6666666666666, 0x3fe8d00e692afd95),
    U(acos, "-1", 0xbff0000000000000, 0x400921fb54442d18),
    U(atan, "0.66", 0x3fe51eb851eb851f, 0x3fe2aafdde4d0c9f),
    U(atan, "2.414213562", 0x4003504f333f9de6, 0x3ff2d97c7f3321d2),
    UP(sinh, "22", 0x4036000000000000, 0x41dab5adb9c435ff, 0x41dab5adb9c43600),
    U(sinh, "0.5", 0x3fe0000000000000, 0x3fe0acd00fe63b97),
    U(sinh, "-0", 0x8000000000000000, 0x8000000000000000),
    U(cosh, "710", 0x4086300000000000, 0x7ff0000000000000),
    U(tanh, "0.625", 0x3fe4000000000000, 0x3fe1bf47eabb8f96),
    U(tanh, "44.1", 0x40460ccccccccccd, 0x3ff0000000000000),
    U(tanh, "-0", 0x8000000000000000, 0x8000000000000000),
    U(asinh, "268435458", 0x41b0000002000000, 0x403419ecb732c480),
    U(asinh, "1e-30", 0x39b4484bfeebc2a0, 0x39b4484bfeebc2a0),
    U(acosh, "1", 0x3ff0000000000000, 0x0000000000000000),
    U(acosh, "0.5", 0x3fe0000000000000, 0x7ff8000000000001),
    U(acosh, "1e+300", 0x7e37e43c8800759c, 0x40859bbfd8b83e43),
    U(atanh, "1", 0x3ff0000000000000, 0x7ff0000000000000),
    U(atanh, "-1", 0xbff0000000000000, 0xfff0000000000000),
    U(atanh, "0.5", 0x3fe0000000000000, 0x3fe193ea7aad030a),
    B(pow, "nan, 0", 0x7ff8000000000000, 0x0000000000000000, 0x3ff0000000000000),
    B(pow, "1, nan", 0x3ff0000000000000, 0x7ff8000000000000, 0x3ff0000000000000),
    B(pow, "-0, -3", 0x8000000000000000, 0xc008000000000000, 0xfff0000000000000),
    B(pow, "-0, -2", 0x8000000000000000, 0xc000000000000000, 0x7ff0000000000000),
    B(pow, "-8, 1/3", 0xc020000000000000, 0x3fd5555555555555, 0x7ff8000000000001),
    B(pow, "-2, 3", 0xc000000000000000, 0x4008000000000000, 0xc020000000000000),
    B(pow, "-1, inf", 0xbff0000000000000, 0x7ff0000000000000, 0x3ff0000000000000),
    B(pow, "-inf, 3", 0xfff0000000000000, 0x4008000000000000, 0xfff0000000000000),
    B(pow, "2, 0.5", 0x4000000000000000, 0x3fe0000000000000, 0x3ff6a09e667f3bcd),
    B(pow, "4, -0.5", 0x4010000000000000, 0xbfe0000000000000, 0x3fe0000000000000),
    B(pow, "2, 1024", 0x4000000000000000, 0x4090000000000000, 0x7ff0000000000000),
    B(pow, "2, -1074", 0x4000000000000000, 0xc090c80000000000, 0x0000000000000001),
    B(pow, "-1, 2^64", 0xbff0000000000000, 0x43f0000000000000, 0x3ff0000000000000),
    B(pow, "10, 0.3", 0x4024000000000000, 0x3fd3333333333333, 0x3fffec982d5bb8b0),
    B(pow, "4.940656458e-324, 0.25", 0x0000000000000001, 0x3fd0000000000000, 0x2ff306fe0a31b6eb),
    B(pow, "1+ulp, 2^52", 0x3ff0000000000001, 0x4330000000000000, 0x4005bf0a885ba4cc),
    B(atan2, "0, -0", 0x0000000000000000, 0x8000000000000000, 0x400921fb54442d18),
    B(atan2, "-0, -0", 0x8000000000000000, 0x8000000000000000, 0xc00921fb54442d18),
    B(atan2, "inf, -inf", 0x7ff0000000000000, 0xfff0000000000000, 0x4002d97c7f3321d2),
    B(atan2, "1, -inf", 0x3ff0000000000000, 0xfff0000000000000, 0x400921fb54442d18),
    B(atan2, "-1, 0", 0xbff0000000000000, 0x0000000000000000, 0xbff921fb54442d18),
    /* Inputs where glibc's libm and Go disagree in the last bits. */
    U(exp, "570.2253651", 0x4081d1cd8c358c16, 0x73594de1b3fe8fc2),
    UP(exp, "174.2912147", 0x4065c951a17d68bc, 0x4fa5d7b312c0804d, 0x4fa5d7b312c0804c),
    U(log, "745102.4749", 0x4126bd1cf328d1f7, 0x402b0ae4d2eddd1a),
    U(log, "88678.90222", 0x40f5a66e6f80f5c3, 0x4026c91a1aafa754),
    U(log2, "147947.5725", 0x41020f5c948624d6, 0x40312cbae03aa8f6),
    U(log2, "86852.46431", 0x40f534476dcd5f65, 0x40306801e947a64a),
    U(log10, "231723.8047", 0x410c495e70112e45, 0x401575baddc24073),
    U(log10, "179634.5278", 0x4105ed9438e38a55, 0x4015047ec39ba4f1),
    U(log1p, "4.780352666", 0x40131f14c4ed4d3f, 0x3ffc1249929f0eaf),
    U(log1p, "0.3735649353", 0x3fd7e87ce6fa86f6, 0x3fd4506ff257ac53),
    U(sin, "94.29384244", 0x405792ce5085e578, 0x3fa79369ab3c0dd1),
    U(sin, "30.6189269", 0x403e9e71fe5e5418, 0xbfe6e36e28491f71),
    U(cos, "78.15627372", 0x40538a00637a9eb2, 0xbfedaccef5af0805),
    U(cos, "-52.92442833", 0xc04a7653aad85c07, 0xbfec583975df8189),
    U(tan, "-87.05337515", 0xc055c36a7f978003, 0x3ff4a23f27763f8f),
    U(tan, "-50.0744413", 0xc04909874add7de1, 0x3fc8c152772b490e),
    U(asin, "0.9073090458", 0x3fed08acfae84b80, 0x3ff2307e5947c2b6),
    U(asin, "-0.5369759296", 0xbfe12ee8250a8b74, 0xbfe2239efc73c6da),
    U(acos, "-0.4446550797", 0xbfdc753a945a6118, 0x400040afe19ed18a),
    U(acos, "0.6193153391", 0x3fe3d16e66ea9876, 0x3fece4c4f3a86d11),
    U(atan, "33.52854999", 0x4040c3a786aff32a, 0x3ff8a7da79732d4d),
    U(atan, "-22.68211761", 0xc036ae9f426ea014, 0xbff86d840d977ed5),
    UP(sinh, "-13.00244648", 0xc02a0140aa463eb0, 0xc10b11a44ab2c604, 0xc10b11a44ab2c603),
    U(sinh, "0.7446387127", 0x3fe7d41490ca69e0, 0x3fea17a73502c5bc),
    U(cosh, "-29.52056873", 0xc03d8543fdf23f9c, 0x428811faaecc8c34),
    UP(cosh, "21.96499293", 0x4035f709c6e4ad10, 0x41d9ca73ee33299b, 0x41d9ca73ee33299c),
    U(tanh, "-0.2224724302", 0xbfcc79fa01eaa940, 0xbfcc040a78192278),
    U(tanh, "-0.7851346416", 0xbfe91fd2af170380, 0xbfe4fb09191190e6),
    U(asinh, "-5.803588983", 0xc01736e007ca4c00, 0xc003abf5c1709074),
    U(asinh, "679.2256304", 0x408539ce174fcf9c, 0x401cdb3d51202142),
    U(acosh, "461.2330368", 0x407cd3ba84d74b88, 0x401b4ee60b49c9c6),
    U(acosh, "649.9986697", 0x40844ffd468b9fd1, 0x401cae3320401f08),
    U(atanh, "-0.1556333501", 0xbfc3ebcb2a6e3658, 0xbfc41593eebe7a1c),
    U(atanh, "0.174036937", 0x3fc646d7a4659760, 0x3fc6817d4b8fb7cb),
    B(pow, "5.598963886, -18.64324416", 0x40166556c9fc4eab, 0xc032a4aba62498df, 0x3d096e85d903588b),
    B(pow, "9.581630607, -23.51231078", 0x402329cb7ca9c2b1, 0xc0378326ccb25b37, 0x3b244d18f569693d),
    B(pow, "-5.752241984, -16", 0xc017024bb8fcba6a, 0xc030000000000000, 0x3d687cf56e0ffd03),
    B(atan2, "-0.49396, -8.60684", 0xbfdf9d0a31093cc0, 0xc02136b3d349924e, 0xc008ac929923ce12),
    B(atan2, "-9.58797, 2.66576", 0xc0232d0a1bc29ea3, 0x4005537b9c98dc00, 0xbff4cb37605abffb),
};

static bool same_bits(uint64_t a, uint64_t b)
{
    return a == b || (isnan(from_bits(a)) && isnan(from_bits(b)));
}

/* Run the table; plain selects want_plain. Returns the number of failures,
 * each printed with the case's name. */
static int run_cases(bool plain)
{
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct gocase *c = &cases[i];
        double x = from_bits(c->x), y = from_bits(c->y);
        uint64_t got = bits(c->f2 ? c->f2(x, y) : c->f1(x));
        uint64_t want = plain ? c->want_plain : c->want;
        if (!same_bits(got, want)) {
            print_error("%s%s: got %016llx (%.17g), Go gives %016llx (%.17g)\n", c->name,
                        plain ? " [plain exp]" : "", (unsigned long long)got, from_bits(got),
                        (unsigned long long)want, from_bits(want));
            failures++;
        }
    }
    return failures;
}

static void test_go_results(void **state)
{
    assert_int_equal(run_cases(!gomath_uses_fma()), 0);
}

static void test_go_results_plain_exp(void **state)
{
    gomath_force_no_fma(true);
    assert_false(gomath_uses_fma());
    int failures = run_cases(true);
    gomath_force_no_fma(false);
    assert_int_equal(failures, 0);
}

/* Odd and even symmetries hold exactly in Go's code, for any input. */
static void test_symmetry(void **state)
{
    uint64_t st = 0x243F6A8885A308D3ULL;
    for (int i = 0; i < 20000; i++) {
        double x = from_bits(test_rnd(&st) & 0x7FFFFFFFFFFFFFFFULL);
        if (isnan(x))
            continue;
        assert_true(same_bits(bits(gomath_sin(-x)), bits(-gomath_sin(x))));
        assert_true(same_bits(bits(gomath_tan(-x)), bits(-gomath_tan(x))));
        assert_true(same_bits(bits(gomath_cos(-x)), bits(gomath_cos(x))));
        assert_true(same_bits(bits(gomath_atan(-x)), bits(-gomath_atan(x))));
        assert_true(same_bits(bits(gomath_sinh(-x)), bits(-gomath_sinh(x))));
        assert_true(same_bits(bits(gomath_pow(x, 1)), bits(x)));
    }
}

/* PromQL reaches gomath: exp(), ln(), sin(), `^` and atan2 give Go's bits
 * (inputs from the table above, written as round-tripping decimals). */
static void test_promql_uses_gomath(void **state)
{
    char dir[512];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/test_gomath.XXXXXX", tmp);
    assert_non_null(mkdtemp(dir));
    struct storage_opts o = {.dir = dir, .no_background = true, .fsync = STORAGE_FSYNC_NEVER};
    storage_opts_defaults(&o);
    struct storage *s = NULL;
    struct err e = {0};
    if (storage_open(&s, &o, &e) != 0)
        fail_msg("storage_open: %s", e.msg);
    static const struct {
        const char *expr;
        uint64_t want;
    } q[] = {
        {"exp(vector(570.2253650840164))", 0x73594de1b3fe8fc2},
        {"ln(vector(745102.4749208082))", 0x402b0ae4d2eddd1a},
        {"sin(vector(94.29384244037453))", 0x3fa79369ab3c0dd1},
        {"5.598963886284461 ^ -18.64324415582166", 0x3d096e85d903588b},
        {"vector(-0.4939599493854523) atan2 vector(-8.606840708475968)", 0xc008ac929923ce12},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        struct query *qr = NULL;
        if (query_instant(&qr, s, q[i].expr, strlen(q[i].expr), 1000, NULL, &e) != 0)
            fail_msg("%s: %s", q[i].expr, e.msg);
        const struct query_result *r = query_result(qr);
        double v;
        if (r->type == QUERY_SCALAR) {
            v = r->scalar;
        } else {
            assert_int_equal(r->type, QUERY_VECTOR);
            assert_int_equal(r->nseries, 1);
            v = r->series[0].samples[0].v;
        }
        if (bits(v) != q[i].want)
            fail_msg("%s = %016llx, Go gives %016llx", q[i].expr, (unsigned long long)bits(v),
                     (unsigned long long)q[i].want);
        query_free(qr);
    }
    storage_close(s);
    fs_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_results),
        cmocka_unit_test(test_go_results_plain_exp),
        cmocka_unit_test(test_symmetry),
        cmocka_unit_test(test_promql_uses_gomath),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
