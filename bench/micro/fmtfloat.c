/* fmtfloat.c: micro benchmark of core/fmtfloat.c's shortest digits, ns per
 * value, against the snprintf/strtod code it replaced (ref_shortest, from
 * tests/unit/core/fmtfloat_ref.h, the unit test's reference), on four
 * workloads of 1M values each:
 *   decimal   a random integer of 1..17 digits over 10^k, k = 0..20
 *   cents     a random walk on [0, 100] rounded to 2 decimals (codec.c's)
 *   unit      uniform doubles in [0, 1), full precision (rates, ratios)
 *   bits      random bit patterns, every exponent (non-finite skipped)
 * and fmtfloat_f() on the decimal and unit values, the call PromQL output
 * makes. Each timing is the best of 5 runs; the two algorithms' digits are
 * also compared on every value.
 *
 * Not built by default. Build and run from the repository root:
 *   gcc -std=gnu11 -O2 -D_GNU_SOURCE -Isrc bench/micro/fmtfloat.c \
 *       src/core/{fmtfloat,fmtfloat_sf,buf,err}.c -lm -o /tmp/bench_fmtfloat && /tmp/bench_fmtfloat
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/fmtfloat.h"

/* The snprintf/strtod digits fmtfloat_shortest() replaced (ref_shortest),
 * shared with the unit test. */
#include "../../tests/unit/core/fmtfloat_ref.h"

#define N 1000000
#define RUNS 5

static uint64_t rng = 0x853c49e6748fea9bULL;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}

static double unif(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void gen_decimal(double *v)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9, 1e10,
                                 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20};
    for (size_t i = 0; i < N; i++) {
        uint64_t r = rnd();
        uint64_t lim = 1;
        for (int j = 0, digits = 1 + (int)(r % 17); j < digits; j++)
            lim *= 10;
        v[i] = (double)(rnd() % lim) / p10[r / 17 % 21];
    }
}

static void gen_cents(double *v)
{
    double x = 50;
    for (size_t i = 0; i < N; i++) {
        x += (unif() - 0.5) * 2;
        x = x < 0 ? 0 : x > 100 ? 100 : x;
        v[i] = round(x * 100) / 100;
    }
}

static void gen_unit(double *v)
{
    for (size_t i = 0; i < N; i++)
        v[i] = unif();
}

static void gen_bits(double *v)
{
    for (size_t i = 0; i < N;) {
        uint64_t u = rnd();
        double d;
        memcpy(&d, &u, sizeof d);
        if (isfinite(d))
            v[i++] = d;
    }
}

typedef void shortest_fn(double v, struct float_digits *out);

/* Best-of-RUNS ns per value of fn over v; the digits feed a checksum. */
static double time_shortest(shortest_fn *fn, const double *v, unsigned *sink)
{
    double best = INFINITY;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (size_t i = 0; i < N; i++) {
            struct float_digits fd;
            fn(v[i], &fd);
            *sink += (unsigned)fd.nd + (unsigned)fd.d[0] + (unsigned)fd.point;
        }
        double t = (now_ns() - t0) / N;
        best = t < best ? t : best;
    }
    return best;
}

static double time_f(const double *v, struct buf *b)
{
    double best = INFINITY;
    for (int r = 0; r < RUNS; r++) {
        buf_reset(b);
        double t0 = now_ns();
        for (size_t i = 0; i < N; i++) {
            if (b->len > (1 << 20))
                buf_reset(b);
            fmtfloat_f(b, v[i]);
        }
        double t = (now_ns() - t0) / N;
        best = t < best ? t : best;
    }
    return best;
}

static size_t mismatches(const double *v)
{
    size_t bad = 0;
    for (size_t i = 0; i < N; i++) {
        struct float_digits a, b;
        fmtfloat_shortest(v[i], &a);
        ref_shortest(v[i], &b);
        if (a.neg != b.neg || a.nd != b.nd || a.point != b.point ||
            memcmp(a.d, b.d, (size_t)b.nd) != 0)
            bad++;
    }
    return bad;
}

int main(void)
{
    static const struct {
        const char *name;
        void (*gen)(double *v);
        bool with_f;
    } loads[] = {
        {"decimal", gen_decimal, true},
        {"cents", gen_cents, false},
        {"unit", gen_unit, true},
        {"bits", gen_bits, false},
    };
    double *v = malloc(N * sizeof *v);
    struct buf b;
    buf_init(&b, 0);
    unsigned sink = 0;
    if (!v)
        return 1;
    printf("%-8s %12s %12s %8s %14s %10s\n", "values", "old ns/val", "new ns/val", "speedup",
           "fmtfloat_f ns", "mismatch");
    for (size_t l = 0; l < sizeof loads / sizeof loads[0]; l++) {
        loads[l].gen(v);
        double t_old = time_shortest(ref_shortest, v, &sink);
        double t_new = time_shortest(fmtfloat_shortest, v, &sink);
        printf("%-8s %12.1f %12.1f %7.1fx ", loads[l].name, t_old, t_new, t_old / t_new);
        if (loads[l].with_f)
            printf("%14.1f", time_f(v, &b));
        else
            printf("%14s", "-");
        printf(" %10zu\n", mismatches(v));
    }
    printf("(checksum %u)\n", sink);
    buf_fini(&b);
    free(v);
    return 0;
}
