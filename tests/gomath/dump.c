/* dump.c: the C side of tests/integration/test_gomath.sh, which checks that
 * query/gomath.c gives Go 1.19's math results bit for bit. ref.go is the Go
 * side; both speak lines "func hex64 [hex64]" (inputs as IEEE bits) in and
 * "hex64" (the result's bits) out.
 *
 *   gomath_dump gen N SEED       print the test inputs: fixed edge cases, then
 *                                N seeded random inputs per function
 *   gomath_dump eval             read input lines on stdin, print results
 *   gomath_dump cmp N SEED       regenerate the inputs of `gen N SEED`, read
 *                                Go's results for them on stdin and compare;
 *                                exit 1 and list the first differences if any
 *   gomath_dump fma              print 1 if gomath_exp takes the FMA path
 *
 * GOMATH_NO_FMA=1 in the environment forces the plain path of gomath_exp, to
 * be compared with Go run under GODEBUG=cpu.fma=off. Results compare bit for
 * bit (so -0 differs from +0), except that any two NaNs are equal. */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/testutil.h"
#include "query/gomath.h"

struct fn {
    const char *name;
    double (*f1)(double);
    double (*f2)(double, double);
    int emin, emax; /* binary exponents of the random inputs */
    double lo, hi;  /* the interval of the uniform random inputs */
};

static const struct fn fns[] = {
    {"exp", gomath_exp, NULL, -60, 10, -750, 712},
    {"ln", gomath_log, NULL, -1074, 1023, 0, 4},
    {"log2", gomath_log2, NULL, -1074, 1023, 0, 4},
    {"log10", gomath_log10, NULL, -1074, 1023, 0, 20},
    {"log1p", gomath_log1p, NULL, -70, 1023, -1, 3},
    {"sin", gomath_sin, NULL, -30, 1023, -20, 20},
    {"cos", gomath_cos, NULL, -30, 1023, -20, 20},
    {"tan", gomath_tan, NULL, -30, 1023, -20, 20},
    {"asin", gomath_asin, NULL, -60, 0, -1, 1},
    {"acos", gomath_acos, NULL, -60, 0, -1, 1},
    {"atan", gomath_atan, NULL, -60, 1023, -5, 5},
    {"sinh", gomath_sinh, NULL, -40, 10, -30, 30},
    {"cosh", gomath_cosh, NULL, -40, 10, -30, 30},
    {"tanh", gomath_tanh, NULL, -40, 7, -5, 5},
    {"asinh", gomath_asinh, NULL, -40, 1023, -10, 10},
    {"acosh", gomath_acosh, NULL, 0, 1023, 1, 10},
    {"atanh", gomath_atanh, NULL, -60, 0, -1, 1},
    {"pow", NULL, gomath_pow, -30, 30, -100, 100},
    {"atan2", NULL, gomath_atan2, -1074, 1023, -10, 10},
};
#define NFNS (sizeof fns / sizeof fns[0])

/* ---- input generation ---- */

/* The generator hands each input to a sink: printed by `gen`, checked by
 * `cmp`. */
struct sink {
    bool print;
    uint64_t n, bad;
    uint64_t per_fn[NFNS], bad_fn[NFNS];
    FILE *go;      /* Go's results (cmp) */
    unsigned show; /* differences still to list */
};

static bool same(uint64_t a, uint64_t b)
{
    return a == b || (isnan(from_bits(a)) && isnan(from_bits(b)));
}

static void emit(struct sink *s, size_t f, double x, double y)
{
    const struct fn *fn = &fns[f];
    s->n++;
    s->per_fn[f]++;
    if (s->print) {
        if (fn->f2)
            printf("%s %016" PRIx64 " %016" PRIx64 "\n", fn->name, bits(x), bits(y));
        else
            printf("%s %016" PRIx64 "\n", fn->name, bits(x));
        return;
    }
    char line[64];
    if (fgets(line, sizeof line, s->go) == NULL) {
        fprintf(stderr, "gomath_dump: Go's output ended after %" PRIu64 " results\n", s->n - 1);
        exit(2);
    }
    uint64_t want = strtoull(line, NULL, 16);
    uint64_t got = bits(fn->f2 ? fn->f2(x, y) : fn->f1(x));
    if (same(want, got))
        return;
    s->bad++;
    s->bad_fn[f]++;
    if (s->show > 0) {
        s->show--;
        if (fn->f2)
            printf("DIFF %s(%016" PRIx64 ", %016" PRIx64 ") = (%.17g, %.17g): go %016" PRIx64
                   " (%.17g), c %016" PRIx64 " (%.17g)\n",
                   fn->name, bits(x), bits(y), x, y, want, from_bits(want), got, from_bits(got));
        else
            printf("DIFF %s(%016" PRIx64 ") = %s(%.17g): go %016" PRIx64 " (%.17g), c %016" PRIx64
                   " (%.17g)\n",
                   fn->name, bits(x), fn->name, x, want, from_bits(want), got, from_bits(got));
    }
}

/* A random double with binary exponent in [emin, emax] (subnormal below
 * -1022) and a random sign and mantissa. */
static double rnd_exp(uint64_t *st, int emin, int emax)
{
    uint64_t r = test_rnd(st);
    int e = emin + (int)(r % (uint64_t)(emax - emin + 1));
    uint64_t m = test_rnd(st) & 0x000FFFFFFFFFFFFFULL;
    uint64_t sign = (r >> 63) << 63;
    if (e >= -1022)
        return from_bits(sign | (uint64_t)(e + 1023) << 52 | m);
    return from_bits(sign | ((m | 1ULL << 52) >> (-1022 - e)));
}

static double rnd_unif(uint64_t *st, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(test_rnd(st) >> 11) * 0x1p-53);
}

/* Values every unary function sees, each with its neighbours 1..3 ulps
 * away: specials, the thresholds where Go's code switches method, and
 * points where rounding decisions happen (multiples of pi/4 for the
 * trigonometric reduction, (k + 1/2)*ln2 where exp's k changes). */
static void edge_values(struct sink *s, size_t f)
{
    static const uint64_t special_bits[] = {
        0x0000000000000000ULL, 0x8000000000000000ULL, 0x7FF0000000000000ULL, 0xFFF0000000000000ULL,
        0x7FF8000000000001ULL, 0xFFF8000000000000ULL, 0x7FF0000000000002ULL, 0x0000000000000001ULL,
        0x000FFFFFFFFFFFFFULL, 0x0010000000000000ULL, 0x7FEFFFFFFFFFFFFFULL, 0x3FE6A09E667F3BCDULL,
        0x3FF6A09E667F3BCDULL, 0x0006A09E667F3BCDULL, 0x3FDA827999FCEF32ULL, 0xBFD2BEC333018867ULL,
    };
    /* clang-format off */
    static const double thresholds[] = {
        0.5, 1, 2, 3, 0.625, 0.66, 0.7, 21, 44.0148, 2.41421356237309504880, 0x1p-28, 0x1p28,
        0x1p-29, 0x1p-54, 0x1p53, 0x1p29, 0x1p63, 1e-14, 709.782712893384, -708.39641853226408,
        -745.13321910194110, -744.44007192138122, 88.029691931113054, 0.7853981633974483,
        1.5707963267948966, 3.141592653589793, 1e10, 1e22, 1e300, 1e-300, 1e-310};
    /* clang-format on */
    double v[8192];
    size_t n = 0;
    for (size_t i = 0; i < sizeof special_bits / sizeof special_bits[0]; i++)
        v[n++] = from_bits(special_bits[i]);
    for (size_t i = 0; i < sizeof thresholds / sizeof thresholds[0]; i++) {
        v[n++] = thresholds[i];
        v[n++] = -thresholds[i];
    }
    for (int i = -60; i <= 60; i++) {
        v[n++] = i;
        v[n++] = i + 0.5;
    }
    for (int k = 1; k <= 60; k++) {
        v[n++] = 1 + ldexp(1, -k);
        v[n++] = 1 - ldexp(1, -k);
    }
    for (int k = -1074; k <= 1023; k += 7)
        v[n++] = ldexp(0.70710678118654757, k);
    for (int k = -1100; k <= 1030; k += 3) {
        v[n++] = k * 0.69314718055994529;
        v[n++] = (k + 0.5) * 0.69314718055994529;
    }
    for (int k = -500; k <= 500; k++)
        v[n++] = k * 0.78539816339744828;
    for (int k = 0; k < 64; k++)
        v[n++] = ldexp(0.78539816339744828 * (2 * k + 1), 29 + k * 15);
    for (size_t i = 0; i < n; i++) {
        double lo = v[i], hi = v[i];
        emit(s, f, v[i], 0);
        for (int u = 0; u < 3 && !isnan(v[i]); u++) {
            lo = nextafter(lo, -INFINITY);
            hi = nextafter(hi, INFINITY);
            emit(s, f, lo, 0);
            emit(s, f, hi, 0);
        }
    }
}

/* pow and atan2: every pair of special operands, then families pow is
 * sensitive to: negative bases with integer and fractional exponents,
 * exponents beyond 2^63, bases a few ulps from 1 raised to huge powers. */
static void edge_pairs(struct sink *s, size_t f, uint64_t *st)
{
    /* clang-format off */
    static const double sp[] = {
        0, -0.0, INFINITY, -INFINITY, NAN, 1, -1, 0.5, -0.5, 2, -2, 3, -3, 1.5, -1.5, 0.25,
        10, -10, 0x1p52, 0x1p53, 0x1p53 + 2, 0x1p63, -0x1p63, 0x1p64, 1e300, -1e300, 1e-300,
        4.9e-324, -4.9e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 3.141592653589793,
        0.9999999999999999, 1.0000000000000002, 1023, 1024, -1074, -1075};
    /* clang-format on */
    size_t nsp = sizeof sp / sizeof sp[0];
    for (size_t i = 0; i < nsp; i++)
        for (size_t j = 0; j < nsp; j++)
            emit(s, f, sp[i], sp[j]);
    for (int i = 0; i < 4000; i++) {
        double x = -rnd_unif(st, 0.001, 20);
        emit(s, f, x, (double)((int)(test_rnd(st) % 401) - 200));
        emit(s, f, x, rnd_unif(st, -10, 10));
        emit(s, f, x, (double)((int)(test_rnd(st) % 41) - 20) + 0.5);
    }
    for (int k = 1; k <= 60; k++) {
        double y = ldexp(1, k);
        emit(s, f, 1 + ldexp(1, -k), y);
        emit(s, f, 1 - ldexp(1, -k), -y);
        emit(s, f, nextafter(1, 2), y);
        emit(s, f, nextafter(1, 0), y + 1);
        emit(s, f, -1, y + 1);
        emit(s, f, -nextafter(1, 2), y - 1);
        emit(s, f, rnd_unif(st, -3, 3), ldexp(1, k + 10) + 1);
    }
    for (int i = 0; i < 2000; i++) {
        /* tiny and huge bases, and results around the subnormal range */
        emit(s, f, rnd_exp(st, -1074, -1000), rnd_unif(st, -2, 2));
        emit(s, f, rnd_unif(st, 1, 2), rnd_unif(st, -1080, -1000));
        emit(s, f, rnd_unif(st, 0.1, 10), rnd_unif(st, -800, 800));
    }
}

static void generate(struct sink *s, uint64_t n, uint64_t seed)
{
    for (size_t f = 0; f < NFNS; f++) {
        const struct fn *fn = &fns[f];
        uint64_t st = seed * 0x9E3779B97F4A7C15ULL + f + 1;
        if (fn->f2) {
            edge_pairs(s, f, &st);
        } else {
            edge_values(s, f);
        }
        for (uint64_t i = 0; i < n; i++) {
            double x, y = 0;
            switch (i % 5) {
            case 0:
            case 1:
                x = rnd_exp(&st, fn->emin, fn->emax);
                break;
            case 2:
            case 3:
                x = rnd_unif(&st, fn->lo, fn->hi);
                break;
            default:
                x = from_bits(test_rnd(&st));
                break;
            }
            if (fn->f2) {
                switch (i % 7) {
                case 0:
                    y = (double)((int64_t)(test_rnd(&st) % 4001) - 2000);
                    break;
                case 1:
                    y = rnd_unif(&st, -5, 5);
                    break;
                case 2:
                    y = rnd_exp(&st, -1074, 1023);
                    break;
                case 3:
                    y = from_bits(test_rnd(&st));
                    break;
                default:
                    y = rnd_unif(&st, fn->lo, fn->hi);
                    break;
                }
                if (i % 11 == 0)
                    x = fabs(x); /* more non-NaN results for pow */
            }
            emit(s, f, x, y);
        }
    }
}

/* ---- eval: the mirror of ref.go ---- */

static int eval(void)
{
    char line[128], name[16];
    uint64_t a, b;
    while (fgets(line, sizeof line, stdin) != NULL) {
        int k = sscanf(line, "%15s %" SCNx64 " %" SCNx64, name, &a, &b);
        const struct fn *fn = NULL;
        for (size_t f = 0; f < NFNS; f++)
            if (strcmp(fns[f].name, name) == 0)
                fn = &fns[f];
        if (fn == NULL || k < (fn->f2 ? 3 : 2)) {
            fprintf(stderr, "gomath_dump: bad input line: %s", line);
            return 2;
        }
        double r = fn->f2 ? fn->f2(from_bits(a), from_bits(b)) : fn->f1(from_bits(a));
        printf("%016" PRIx64 "\n", bits(r));
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *nofma = getenv("GOMATH_NO_FMA");
    if (nofma != NULL && strcmp(nofma, "1") == 0)
        gomath_force_no_fma(true);
    if (argc == 2 && strcmp(argv[1], "eval") == 0)
        return eval();
    if (argc == 2 && strcmp(argv[1], "fma") == 0) {
        printf("%d\n", gomath_uses_fma() ? 1 : 0);
        return 0;
    }
    if (argc == 4 && (strcmp(argv[1], "gen") == 0 || strcmp(argv[1], "cmp") == 0)) {
        struct sink s = {.print = strcmp(argv[1], "gen") == 0, .go = stdin, .show = 20};
        generate(&s, strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10));
        if (s.print)
            return 0;
        char extra[64];
        if (fgets(extra, sizeof extra, stdin) != NULL) {
            fprintf(stderr, "gomath_dump: Go gave more results than inputs\n");
            return 2;
        }
        for (size_t f = 0; f < NFNS; f++)
            printf("%-6s %8" PRIu64 " inputs, %" PRIu64 " differ\n", fns[f].name, s.per_fn[f],
                   s.bad_fn[f]);
        printf("total  %8" PRIu64 " inputs, %" PRIu64 " differ\n", s.n, s.bad);
        return s.bad == 0 ? 0 : 1;
    }
    fprintf(stderr, "usage: gomath_dump gen|cmp N SEED | eval | fma\n");
    return 2;
}
