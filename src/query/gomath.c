/* gomath.c: Go 1.19's math package on amd64, rewritten in C, so that the
 * math functions, `^` and atan2 of PromQL give Prometheus' bits exactly.
 * Called by func_instant.c (exp, ln, log2, sin, ...) and binop.c (^, atan2).
 *
 * Bit-exactness means doing the same IEEE operations in the same order as the
 * Go code that Prometheus runs, not merely computing the same function:
 *
 *  - On amd64 Go implements Exp and Log in assembly. Exp is Shibata's method
 *    (reduce by k*ln2, Taylor series of e^(r/16), square four times, scale by
 *    2^k), and it fuses several steps into FMA instructions when the CPU has
 *    AVX and FMA (Go's `useFMA`). Log is the fdlibm algorithm, but with its
 *    own bit-twiddled frexp that treats subnormals as if they were normal, and
 *    a <= where Go's portable log has <. Everything else (Log1p, Log2, Log10,
 *    the trigonometric and hyperbolic functions, Pow) is Go's portable code,
 *    and those call the assembly Exp and Log where they call Exp or Log.
 *  - Go's compiler for GOAMD64=v1 never contracts a*b+c into an FMA; this
 *    file is built with -ffp-contract=off (CMakeLists.txt) for the same
 *    reason, and fma() is written out exactly where Go's assembly fuses.
 *  - Go folds constant expressions such as Pi/4 or 1/Ln10 exactly and rounds
 *    once; such constants appear below as hex floats of the rounded value.
 *  - Go's shifts by 64 or more give 0 and its float->int conversions of
 *    out-of-range values give the "integer indefinite" 0x8000...; both are
 *    spelled out where they can happen, since they are undefined in C.
 *
 * The polynomial coefficients are those of Cephes and fdlibm, as Go uses
 * them. tests/integration/test_gomath.sh compares every function against Go
 * itself on a few million inputs; tests/unit/query/test_gomath.c pins a few
 * dozen results for machines without Go. */
#include "query/gomath.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define SIGN_BIT 0x8000000000000000ULL
#define EXP_BITS 0x7FF0000000000000ULL
#define FRAC_BITS 0x000FFFFFFFFFFFFFULL

/* Constant expressions of Go's math package, rounded once. */
#define GO_PI 0x1.921fb54442d18p+1      /* Pi */
#define GO_PI_2 0x1.921fb54442d18p+0    /* Pi/2 */
#define GO_PI_4 0x1.921fb54442d18p-1    /* Pi/4 */
#define GO_3PI_4 0x1.2d97c7f3321d2p+1   /* 3*Pi/4 */
#define GO_4_PI 0x1.45f306dc9c883p+0    /* 4/Pi */
#define GO_LN2 0x1.62e42fefa39efp-1     /* Ln2 */
#define GO_1_LN2 0x1.71547652b82fep+0   /* 1/Ln2 */
#define GO_1_LN10 0x1.bcb7b1526e50ep-2  /* 1/Ln10 */
#define GO_SQRT2_2 0x1.6a09e667f3bcdp-1 /* Sqrt2/2 */

static inline uint64_t dbits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline double dfrom(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Go's NaN(): a quiet NaN with payload 1. */
static inline double go_nan(void)
{
    return dfrom(0x7FF8000000000001ULL);
}

static inline bool is_inf(double x)
{
    return x > DBL_MAX || x < -DBL_MAX;
}

static inline double with_sign_of(double mag, double sgn)
{
    return dfrom((dbits(mag) & ~SIGN_BIT) | (dbits(sgn) & SIGN_BIT));
}

/* Shifts with Go's semantics: a count of 64 or more gives 0. */
static inline uint64_t shl(uint64_t v, unsigned n)
{
    return n >= 64 ? 0 : v << n;
}

static inline uint64_t shr(uint64_t v, unsigned n)
{
    return n >= 64 ? 0 : v >> n;
}

/* ---- frexp, ldexp, modf (Go's portable versions) ---- */

/* Scale a subnormal up into the normal range, returning the bias in *e. */
static double normalize(double x, long long *e)
{
    if (fabs(x) < 0x1p-1022) {
        *e = -52;
        return x * 0x1p52;
    }
    *e = 0;
    return x;
}

/* x = frac * 2^*e with |frac| in [0.5, 1); 0, Inf and NaN pass with *e = 0. */
static double go_frexp(double x, long long *e)
{
    *e = 0;
    if (x == 0 || is_inf(x) || isnan(x))
        return x;
    long long bias;
    x = normalize(x, &bias);
    uint64_t b = dbits(x);
    *e = bias + (long long)((b >> 52) & 0x7FF) - 1023 + 1;
    b &= ~EXP_BITS;
    b |= 1022ULL << 52;
    return dfrom(b);
}

/* frac * 2^e, rounding once (in the final multiply) for subnormal results. */
static double go_ldexp(double frac, long long e)
{
    if (frac == 0 || is_inf(frac) || isnan(frac))
        return frac;
    long long bias;
    frac = normalize(frac, &bias);
    e += bias;
    uint64_t b = dbits(frac);
    e += (long long)((b >> 52) & 0x7FF) - 1023;
    if (e < -1075)
        return with_sign_of(0.0, frac);
    if (e > 1023)
        return frac < 0 ? -INFINITY : INFINITY;
    double m = 1.0;
    if (e < -1022) {
        e += 53;
        m = 0x1p-53;
    }
    b &= ~EXP_BITS;
    b |= (uint64_t)(e + 1023) << 52;
    return m * dfrom(b);
}

/* Integer and fractional parts, both with the sign of x, by clearing the
 * fraction bits of the mantissa. */
static void go_modf(double x, double *ipart, double *fpart)
{
    if (x < 1) {
        if (x < 0) {
            go_modf(-x, ipart, fpart);
            *ipart = -*ipart;
            *fpart = -*fpart;
            return;
        }
        if (x == 0) {
            *ipart = x;
            *fpart = x;
            return;
        }
        *ipart = 0;
        *fpart = x;
        return;
    }
    uint64_t b = dbits(x);
    unsigned e = (unsigned)((b >> 52) & 0x7FF) - 1023;
    if (e < 52)
        b &= ~((1ULL << (52 - e)) - 1);
    *ipart = dfrom(b);
    *fpart = x - *ipart;
}

/* ---- exp: Go's exp_amd64.s ---- */

#define EXP_LOG2E 0x1.71547652b82fep+0
#define EXP_LN2U 0x1.62e42fefa3000p-1     /* ln2, low 12 bits clear: k*LN2U exact */
#define EXP_LN2L 0x1.3de6af278ece6p-42    /* ln2 - LN2U */
#define EXP_OVERFLOW 0x1.62e42fefa39efp+9 /* 709.782712893384, above it Inf */

/* Taylor coefficients 1/n! of e^r, n = 8 down to 3; 1/2 and 1 follow. */
static const double exp_taylor[6] = {
    2.4801587301587301587e-5, /* 1/8! */
    1.9841269841269841270e-4, /* 1/7! */
    1.3888888888888888889e-3, /* 1/6! */
    8.3333333333333333333e-3, /* 1/5! */
    4.1666666666666666667e-2, /* 1/4! */
    1.6666666666666666667e-1, /* 1/3! */
};

static int fma_state = -1; /* -1: not yet detected; 0, 1: use the plain / fused path */

/* Go's internal/cpu: HasAVX and HasFMA both require the CPUID bit and the OS
 * saving the YMM state (OSXSAVE, XCR0 bits 1 and 2). */
static bool cpu_has_avx_fma(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    unsigned a = 1, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    bool avx = (c >> 28) & 1, fma_bit = (c >> 12) & 1, osxsave = (c >> 27) & 1;
    if (!avx || !fma_bit || !osxsave)
        return false;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    return (lo & 6) == 6;
#else
    return false;
#endif
}

bool gomath_uses_fma(void)
{
    int s = __atomic_load_n(&fma_state, __ATOMIC_RELAXED);
    if (s < 0) {
        s = cpu_has_avx_fma() ? 1 : 0;
        __atomic_store_n(&fma_state, s, __ATOMIC_RELAXED);
    }
    return s == 1;
}

void gomath_force_no_fma(bool off)
{
    __atomic_store_n(&fma_state, off ? 0 : -1, __ATOMIC_RELAXED);
}

/* CVTSD2SL: round to nearest even; out of int32 range gives INT32_MIN. */
static int32_t cvtsd2sl(double t)
{
    double r = nearbyint(t);
    if (!(r >= -2147483648.0 && r <= 2147483647.0))
        return INT32_MIN;
    return (int32_t)r;
}

double gomath_exp(double x)
{
    uint64_t b = dbits(x);
    if ((b & ~SIGN_BIT) >= EXP_BITS)
        return b == (SIGN_BIT | EXP_BITS) ? 0.0 : x; /* -Inf: 0; +Inf, NaN: x */
    if (x > EXP_OVERFLOW)
        return INFINITY;
    /* x = k*ln2 + r with k the nearest integer to x/ln2, |r| <= ln2/2. For
     * very negative x, k is garbage (INT32_MIN) and the scaling below returns
     * 0, as Go's does. */
    int32_t k = cvtsd2sl(EXP_LOG2E * x);
    double kf = (double)k;
    double r, p;
    if (gomath_uses_fma()) {
        /* e^(r/16) - 1 by Horner's rule, then (1+q)^2 - 1 = q*(q+2) four
         * times for e^r - 1; the last step adds the 1 in the same rounding. */
        r = fma(-kf, EXP_LN2U, x);
        r = fma(-kf, EXP_LN2L, r);
        r *= 0.0625;
        p = exp_taylor[0];
        for (int i = 1; i < 6; i++)
            p = fma(r, p, exp_taylor[i]);
        p = fma(r, p, 0.5);
        p = fma(r, p, 1.0);
        r *= p;
        for (int i = 0; i < 3; i++)
            r *= r + 2.0;
        r = fma(r + 2.0, r, 1.0);
    } else {
        r = x - kf * EXP_LN2U;
        r = r - kf * EXP_LN2L;
        r *= 0.0625;
        p = exp_taylor[0];
        for (int i = 1; i < 6; i++)
            p = p * r + exp_taylor[i];
        p = p * r + 0.5;
        p = p * r + 1.0;
        r *= p;
        for (int i = 0; i < 4; i++)
            r *= 2.0 + r;
        r += 1.0;
    }
    /* Multiply by 2^k built from its exponent bits; a subnormal result is
     * reached in two multiplications (by 2^(k+1022), then by 2^-1022). */
    int64_t be = (int64_t)k + 1023;
    if (be <= 0) {
        if (be < -52)
            return 0.0;
        r *= dfrom((uint64_t)(be + 1022) << 52);
        be = 1;
    } else if (be >= 0x7FF) {
        return INFINITY;
    }
    return r * dfrom((uint64_t)be << 52);
}

/* ---- log: Go's log_amd64.s, fdlibm's e_log.c with its own frexp ---- */

#define LOG_LN2HI 0x1.62e42feep-1       /* ln2 high part, low 32 bits zero */
#define LOG_LN2LO 0x1.a39ef35793c76p-33 /* ln2 - LN2HI */

/* Coefficients of log((1+s)/(1-s)) = 2s + s*R(s^2), fdlibm's Lg1..Lg7. */
static const double log_lg[7] = {
    6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
    2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
    1.479819860511658591e-01,
};

double gomath_log(double x)
{
    uint64_t b = dbits(x);
    if ((b & ~SIGN_BIT) == 0)
        return -INFINITY;
    if (b & SIGN_BIT)
        return go_nan(); /* negative, including negative NaNs */
    if (b >= EXP_BITS)
        return x; /* +Inf, NaN */
    /* x = m * 2^k with m in [0.5, 1) taken straight from the bits: a subnormal
     * is read as if its exponent field were that of the smallest normal, as
     * the assembly does. Then m moves into [sqrt2/2, sqrt2]. */
    double m = dfrom((b & FRAC_BITS) | 0x3FE0000000000000ULL);
    double k = (double)((int)((b >> 52) & 0x7FF) - 0x3FE);
    /* The assembly's CMPSD "not less than" tests !(sqrt2/2 < m): at m ==
     * sqrt2/2 exactly it reduces where Go's portable log does not. */
    if (m <= GO_SQRT2_2) {
        k -= 1.0;
        m *= 2.0;
    }
    /* With f = m - 1 and s = f/(2+f), log(1+f) = f - (hfsq - s*(hfsq+R))
     * where hfsq = f^2/2 and R(s^2) is split in even and odd powers of s^4. */
    const double *lg = log_lg;
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double s2 = s * s;
    double s4 = s2 * s2;
    double t1 = s2 * (lg[0] + s4 * (lg[2] + s4 * (lg[4] + s4 * lg[6])));
    double t2 = s4 * (lg[1] + s4 * (lg[3] + s4 * lg[5]));
    double rr = t1 + t2;
    double hfsq = 0.5 * f * f;
    return k * LOG_LN2HI - ((hfsq - (s * (hfsq + rr) + k * LOG_LN2LO)) - f);
}

double gomath_log2(double x)
{
    long long e;
    double frac = go_frexp(x, &e);
    if (frac == 0.5)
        return (double)(e - 1); /* exact powers of two */
    return gomath_log(frac) * GO_1_LN2 + (double)e;
}

double gomath_log10(double x)
{
    return gomath_log(x) * GO_1_LN10;
}

/* log1p: fdlibm's s_log1p.c as Go writes it. 1+x is rounded to u = m*2^k and
 * the rounding error c = (1+x) - u is carried as a correction term. */
double gomath_log1p(double x)
{
    if (x < -1 || isnan(x))
        return go_nan();
    if (x == -1)
        return -INFINITY;
    if (x == INFINITY)
        return INFINITY;

    double ax = fabs(x);
    double f = 0, c = 0;
    uint64_t iu = 0;
    long long k = 1;
    if (ax < 4.142135623730950488017e-01) { /* |x| < sqrt2 - 1 */
        if (ax < 0x1p-29) {
            if (ax < 0x1p-54)
                return x;
            return x - x * x * 0.5;
        }
        if (x > -2.928932188134524755992e-01) { /* sqrt2/2 - 1 < x: no reduction */
            k = 0;
            f = x;
            iu = 1;
        }
    }
    if (k != 0) {
        double u;
        if (ax < 0x1p53) {
            u = 1.0 + x;
            iu = dbits(u);
            k = (long long)(iu >> 52) - 1023;
            c = k > 0 ? 1.0 - (u - x) : x - (u - 1.0);
            c /= u;
        } else {
            u = x;
            iu = dbits(u);
            k = (long long)(iu >> 52) - 1023;
            c = 0;
        }
        iu &= FRAC_BITS;
        if (iu < 0x0006A09E667F3BCDULL) { /* mantissa below sqrt2's */
            u = dfrom(iu | 0x3FF0000000000000ULL);
        } else {
            k++;
            u = dfrom(iu | 0x3FE0000000000000ULL);
            iu = (0x0010000000000000ULL - iu) >> 2;
        }
        f = u - 1.0;
    }
    double kf = (double)k;
    double hfsq = 0.5 * f * f;
    if (iu == 0) { /* u is 1 or a few ulps below: f is 0 or tiny */
        if (f == 0) {
            if (k == 0)
                return 0;
            c += kf * LOG_LN2LO;
            return kf * LOG_LN2HI + c;
        }
        double rr = hfsq * (1.0 - 0x1.5555555555555p-1 * f);
        if (k == 0)
            return f - rr;
        return kf * LOG_LN2HI - ((rr - (kf * LOG_LN2LO + c)) - f);
    }
    /* Same series as log, but evaluated in z = s^2 with one Horner chain. */
    double s = f / (2.0 + f);
    double z = s * s;
    double t = log_lg[6];
    for (int i = 5; i >= 0; i--)
        t = log_lg[i] + z * t;
    double rr = z * t;
    if (k == 0)
        return f - (hfsq - s * (hfsq + rr));
    return kf * LOG_LN2HI - ((hfsq - (s * (hfsq + rr) + (kf * LOG_LN2LO + c))) - f);
}

/* ---- sin, cos, tan: Cephes, with Payne-Hanek reduction for |x| >= 2^29 ---- */

/* Pi/4 in three parts; the first two have trailing zero bits so that
 * y*PI4A and y*PI4B are exact for y < 2^29 (Cody-Waite reduction). */
#define PI4A 0x1.921fb4p-1
#define PI4B 0x1.4442dp-25
#define PI4C 0x1.8469898cc5170p-49
#define TRIG_REDUCE_THRESHOLD 0x1p29

static const double sin_poly[6] = {
    1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6,
    -1.98412698295895385996e-4, 8.33333333332211858878e-3,  -1.66666666666666307295e-1,
};
static const double cos_poly[6] = {
    -1.13585365213876817300e-11, 2.08757008419747316778e-9,  -2.75573141792967388112e-7,
    2.48015872888517045348e-5,   -1.38888888888730564116e-3, 4.16666666666665929218e-2,
};

/* 4/pi in binary, 64 bits a word: word 0 holds the integer part (1), the
 * following words the fraction, most significant bit first. */
static const uint64_t bits_4_pi[20] = {
    0x0000000000000001ULL, 0x45f306dc9c882a53ULL, 0xf84eafa3ea69bb81ULL, 0xb6c52b3278872083ULL,
    0xfca2c757bd778ac3ULL, 0x6e48dc74849ba5c0ULL, 0x0c925dd413a32439ULL, 0xfc3bd63962534e7dULL,
    0xd1046bea5d768909ULL, 0xd338e04d68befc82ULL, 0x7323ac7306a673e9ULL, 0x3908bf177bf25076ULL,
    0x3ff12fffbc0b301fULL, 0xde5e2316b414da3eULL, 0xda6cfd9e4f96136eULL, 0x9e8c7ecd3cbfd45aULL,
    0xea4f758fd7cbe2f6ULL, 0x7a0e73ef14a525d4ULL, 0xd7f6bf623f1aba10ULL, 0xac06608df8f6d757ULL,
};

/* Payne-Hanek: x = mant * 2^e exactly; multiply the 53-bit mantissa by the
 * 192 bits of 4/pi that matter for this e (the bits above give multiples of
 * 8 octants and are dropped), keep the octant j (top 3 bits) and the
 * fraction z in [0, 1), and return the angle z*pi/4 within octant j. */
static double trig_reduce(double x, uint64_t *octant)
{
    if (x < GO_PI_4) {
        *octant = 0;
        return x;
    }
    uint64_t mant = dbits(x);
    int e = (int)((mant >> 52) & 0x7FF) - 1023 - 52;
    mant &= FRAC_BITS;
    mant |= 1ULL << 52;
    unsigned word = (unsigned)(e + 61) / 64, shift = (unsigned)(e + 61) % 64;
    uint64_t z0 = shl(bits_4_pi[word], shift) | shr(bits_4_pi[word + 1], 64 - shift);
    uint64_t z1 = shl(bits_4_pi[word + 1], shift) | shr(bits_4_pi[word + 2], 64 - shift);
    uint64_t z2 = shl(bits_4_pi[word + 2], shift) | shr(bits_4_pi[word + 3], 64 - shift);
    unsigned __int128 p2 = (unsigned __int128)z2 * mant;
    unsigned __int128 p1 = (unsigned __int128)z1 * mant;
    uint64_t z2hi = (uint64_t)(p2 >> 64);
    uint64_t z1hi = (uint64_t)(p1 >> 64), z1lo = (uint64_t)p1;
    uint64_t lo = z1lo + z2hi;
    uint64_t hi = z0 * mant + z1hi + (lo < z1lo);
    uint64_t j = hi >> 61;
    /* The 125 fraction bits below j, normalized into a double by hand. */
    hi = hi << 3 | lo >> 61;
    unsigned lz = hi == 0 ? 64 : (unsigned)__builtin_clzll(hi);
    uint64_t be = (uint64_t)1023 - (lz + 1);
    hi = shl(hi, lz + 1) | shr(lo, 64 - (lz + 1));
    hi >>= 64 - 52;
    hi |= be << 52;
    double z = dfrom(hi);
    /* Odd octants count from their upper end, so that z is small near the
     * zeros of sin and cos. */
    if (j & 1) {
        j++;
        j &= 7;
        z--;
    }
    *octant = j;
    return z * GO_PI_4;
}

/* Cody-Waite for |x| < 2^29: y = floor(x/(pi/4)), rounded up when odd, and
 * z = x - y*pi/4 with pi/4 in three parts, so z in about [-pi/4, pi/4]. */
static double trig_reduce_small(double x, uint64_t *octant)
{
    uint64_t j = (uint64_t)(x * GO_4_PI);
    double y = (double)j;
    if (j & 1) {
        j++;
        y++;
    }
    *octant = j;
    return ((x - y * PI4A) - y * PI4B) - y * PI4C;
}

/* x >= 0 reduced to z in about [-pi/4, pi/4] and its octant j (0..7),
 * by Payne-Hanek from 2^29 on, Cody-Waite below. */
static double trig_octant(double x, uint64_t *j)
{
    if (x >= TRIG_REDUCE_THRESHOLD)
        return trig_reduce(x, j);
    double z = trig_reduce_small(x, j);
    *j &= 7;
    return z;
}

static double sin_kernel(double z, double zz)
{
    const double *s = sin_poly;
    return z +
           z * zz * ((((((s[0] * zz) + s[1]) * zz + s[2]) * zz + s[3]) * zz + s[4]) * zz + s[5]);
}

static double cos_kernel(double zz)
{
    const double *c = cos_poly;
    return 1.0 - 0.5 * zz +
           zz * zz * ((((((c[0] * zz) + c[1]) * zz + c[2]) * zz + c[3]) * zz + c[4]) * zz + c[5]);
}

double gomath_sin(double x)
{
    if (x == 0 || isnan(x))
        return x;
    if (is_inf(x))
        return go_nan();
    bool neg = false;
    if (x < 0) {
        x = -x;
        neg = true;
    }
    uint64_t j;
    double z = trig_octant(x, &j);
    if (j > 3) {
        neg = !neg;
        j -= 4;
    }
    double zz = z * z;
    double y = (j == 1 || j == 2) ? cos_kernel(zz) : sin_kernel(z, zz);
    return neg ? -y : y;
}

double gomath_cos(double x)
{
    if (isnan(x) || is_inf(x))
        return go_nan();
    bool neg = false;
    x = fabs(x);
    uint64_t j;
    double z = trig_octant(x, &j);
    if (j > 3) {
        j -= 4;
        neg = !neg;
    }
    if (j > 1)
        neg = !neg;
    double zz = z * z;
    double y = (j == 1 || j == 2) ? sin_kernel(z, zz) : cos_kernel(zz);
    return neg ? -y : y;
}

static const double tan_p[3] = {
    -1.30936939181383777646e4,
    1.15351664838587416140e6,
    -1.79565251976484877988e7,
};
/* Q's leading coefficient, 1, is implicit. */
static const double tan_q[4] = {
    1.36812963470692954678e4,
    -1.32089234440210967447e6,
    2.50083801823357915839e7,
    -5.38695755929454629881e7,
};

/* tan(z) = z + z*(z^2*P(z^2)/Q(z^2)) after the reduction; in the octants
 * where bit 1 of j is set, tan(x) = -1/tan(z). */
double gomath_tan(double x)
{
    if (x == 0 || isnan(x))
        return x;
    if (is_inf(x))
        return go_nan();
    bool neg = false;
    if (x < 0) {
        x = -x;
        neg = true;
    }
    uint64_t j;
    double z = trig_octant(x, &j); /* only bit 1 of j matters here */
    double zz = z * z;
    double y;
    if (zz > 1e-14) {
        double num = zz * (((tan_p[0] * zz) + tan_p[1]) * zz + tan_p[2]);
        double den = (((zz + tan_q[0]) * zz + tan_q[1]) * zz + tan_q[2]) * zz + tan_q[3];
        y = z + z * (num / den);
    } else {
        y = z;
    }
    if (j & 2)
        y = -1 / y;
    return neg ? -y : y;
}

/* ---- atan, asin, acos, atan2: Cephes atan.c ---- */

#define ATAN_MOREBITS 0x1.1a62633145c07p-54 /* pi/2 - (double)pi/2 */
#define ATAN_TAN3PI8 0x1.3504f333f9de6p+1   /* tan(3*pi/8) */

/* atan on [0, 0.66]: x + x*z*P(z)/Q(z), z = x^2. */
static double xatan(double x)
{
    static const double p[5] = {
        -8.750608600031904122785e-01, -1.615753718733365076637e+01, -7.500855792314704667340e+01,
        -1.228866684490136173410e+02, -6.485021904942025371773e+01,
    };
    static const double q[5] = {
        2.485846490142306297962e+01, 1.650270098316988542046e+02, 4.328810604912902668951e+02,
        4.853903996359136964868e+02, 1.945506571482613964425e+02,
    };
    double z = x * x;
    z = z * ((((p[0] * z + p[1]) * z + p[2]) * z + p[3]) * z + p[4]) /
        (((((z + q[0]) * z + q[1]) * z + q[2]) * z + q[3]) * z + q[4]);
    return x * z + x;
}

/* atan for x >= 0, reduced to xatan by atan(x) = pi/2 - atan(1/x) above
 * tan(3pi/8) and pi/4 + atan((x-1)/(x+1)) between 0.66 and tan(3pi/8). */
static double satan(double x)
{
    if (x <= 0.66)
        return xatan(x);
    if (x > ATAN_TAN3PI8)
        return GO_PI_2 - xatan(1 / x) + ATAN_MOREBITS;
    return GO_PI_4 + xatan((x - 1) / (x + 1)) + 0.5 * ATAN_MOREBITS;
}

double gomath_atan(double x)
{
    if (x == 0)
        return x;
    if (x > 0)
        return satan(x);
    return -satan(-x);
}

double gomath_asin(double x)
{
    if (x == 0)
        return x;
    bool neg = false;
    if (x < 0) {
        x = -x;
        neg = true;
    }
    if (x > 1)
        return go_nan();
    double t = sqrt(1 - x * x);
    if (x > 0.7)
        t = GO_PI_2 - satan(t / x);
    else
        t = satan(x / t);
    return neg ? -t : t;
}

double gomath_acos(double x)
{
    return GO_PI_2 - gomath_asin(x);
}

double gomath_atan2(double y, double x)
{
    if (isnan(y) || isnan(x))
        return go_nan();
    if (y == 0) {
        if (x >= 0 && !signbit(x))
            return with_sign_of(0.0, y);
        return with_sign_of(GO_PI, y);
    }
    if (x == 0)
        return with_sign_of(GO_PI_2, y);
    if (is_inf(x)) {
        if (x > 0)
            return with_sign_of(is_inf(y) ? GO_PI_4 : 0.0, y);
        return with_sign_of(is_inf(y) ? GO_3PI_4 : GO_PI, y);
    }
    if (is_inf(y))
        return with_sign_of(GO_PI_2, y);
    double q = gomath_atan(y / x);
    if (x < 0)
        return q <= 0 ? q + GO_PI : q - GO_PI;
    return q;
}

/* ---- sinh, cosh, tanh (Cephes) and their inverses (fdlibm) ---- */

double gomath_sinh(double x)
{
    static const double p[4] = {
        -0.6307673640497716991184787251e+6,
        -0.8991272022039509355398013511e+5,
        -0.2894211355989563807284660366e+4,
        -0.2630563213397497062819489e+2,
    };
    static const double q[3] = {
        -0.6307673640497716991212077277e+6,
        0.1521517378790019070696485176e+5,
        -0.173678953558233699533450911e+3,
    };
    bool neg = false;
    if (x < 0) {
        x = -x;
        neg = true;
    }
    double t;
    if (x > 21) {
        t = gomath_exp(x) * 0.5;
    } else if (x > 0.5) {
        double ex = gomath_exp(x);
        t = (ex - 1 / ex) * 0.5;
    } else {
        /* Rational approximation x*P(x^2)/Q(x^2) near 0. */
        double sq = x * x;
        t = (((p[3] * sq + p[2]) * sq + p[1]) * sq + p[0]) * x;
        t = t / (((sq + q[2]) * sq + q[1]) * sq + q[0]);
    }
    return neg ? -t : t;
}

double gomath_cosh(double x)
{
    x = fabs(x);
    if (x > 21)
        return gomath_exp(x) * 0.5;
    double ex = gomath_exp(x);
    return (ex + 1 / ex) * 0.5;
}

double gomath_tanh(double x)
{
    static const double p[3] = {
        -9.64399179425052238628e-1,
        -9.92877231001918586564e1,
        -1.61468768441708447952e3,
    };
    static const double q[3] = {
        1.12811678491632931402e2,
        2.23548839060100448583e3,
        4.84406305325125486048e3,
    };
    double z = fabs(x);
    if (z > 0x1.601e678fc457bp+5) /* log(2^127)/2: tanh is 1 to double precision */
        return x < 0 ? -1 : 1;
    if (z >= 0.625) {
        double s = gomath_exp(2 * z);
        z = 1 - 2 / (s + 1);
        return x < 0 ? -z : z;
    }
    if (x == 0)
        return x;
    double s = x * x;
    return x + x * s * ((p[0] * s + p[1]) * s + p[2]) / (((s + q[0]) * s + q[1]) * s + q[2]);
}

double gomath_asinh(double x)
{
    if (isnan(x) || is_inf(x))
        return x;
    bool neg = false;
    if (x < 0) {
        x = -x;
        neg = true;
    }
    double t;
    if (x > 0x1p28)
        t = gomath_log(x) + GO_LN2;
    else if (x > 2)
        t = gomath_log(2 * x + 1 / (sqrt(x * x + 1) + x));
    else if (x < 0x1p-28)
        t = x;
    else
        t = gomath_log1p(x + x * x / (1 + sqrt(1 + x * x)));
    return neg ? -t : t;
}

double gomath_acosh(double x)
{
    if (x < 1 || isnan(x))
        return go_nan();
    if (x == 1)
        return 0;
    if (x >= 0x1p28)
        return gomath_log(x) + GO_LN2;
    if (x > 2)
        return gomath_log(2 * x - 1 / (x + sqrt(x * x - 1)));
    double t = x - 1;
    return gomath_log1p(t + sqrt(2 * t + t * t));
}

double gomath_atanh(double x)
{
    if (x < -1 || x > 1 || isnan(x))
        return go_nan();
    if (x == 1)
        return INFINITY;
    if (x == -1)
        return -INFINITY;
    bool neg = false;
    if (x < 0) {
        x = -x;
        neg = true;
    }
    double t;
    if (x < 0x1p-28) {
        t = x;
    } else if (x < 0.5) {
        t = x + x;
        t = 0.5 * gomath_log1p(t + t * x / (1 - x));
    } else {
        t = 0.5 * gomath_log1p((x + x) / (1 - x));
    }
    return neg ? -t : t;
}

/* ---- pow ---- */

/* Whether x is an odd integer, by Go's int64 conversion: beyond 2^63 the
 * conversion gives 0x8000... and so "even" (every such double is even). */
static bool is_odd_int(double x)
{
    double xi, xf;
    go_modf(x, &xi, &xf);
    if (xf != 0 || !(fabs(xi) < 0x1p63))
        return false;
    return ((int64_t)xi & 1) == 1;
}

/* x^y as Go computes it: the special cases of C99's pow (in Go's order, which
 * decides e.g. pow(NaN, 0) = 1), then x^frac(y) through exp(frac*log(x)) and
 * x^int(y) by repeated squaring of frexp(x)'s mantissa, with the powers of
 * two kept apart in an integer exponent and applied by one final ldexp. */
double gomath_pow(double x, double y)
{
    if (y == 0 || x == 1)
        return 1;
    if (y == 1)
        return x;
    if (isnan(x) || isnan(y))
        return go_nan();
    if (x == 0) {
        if (y < 0)
            return is_odd_int(y) ? with_sign_of(INFINITY, x) : INFINITY;
        return is_odd_int(y) ? x : 0; /* y > 0 */
    }
    if (is_inf(y)) {
        if (x == -1)
            return 1;
        if ((fabs(x) < 1) == (y > 0))
            return 0;
        return INFINITY;
    }
    if (is_inf(x)) {
        if (x < 0)
            return gomath_pow(1 / x, -y); /* pow(-0, -y) */
        return y < 0 ? 0 : INFINITY;
    }
    if (y == 0.5)
        return sqrt(x);
    if (y == -0.5)
        return 1 / sqrt(x);

    double yi, yf;
    go_modf(fabs(y), &yi, &yf);
    if (yf != 0 && x < 0)
        return go_nan();
    if (yi >= 0x1p63) {
        /* A huge even integer: overflow or underflow unless x is -1. */
        if (x == -1)
            return 1;
        if ((fabs(x) < 1) == (y > 0))
            return 0;
        return INFINITY;
    }

    double a1 = 1.0; /* the answer is a1 * 2^ae */
    long long ae = 0;
    if (yf != 0) {
        if (yf > 0.5) {
            yf--;
            yi++;
        }
        a1 = gomath_exp(yf * gomath_log(x));
    }
    long long xe;
    double x1 = go_frexp(x, &xe);
    for (int64_t i = (int64_t)yi; i != 0; i >>= 1) {
        if (xe < -(1 << 12) || (1 << 12) < xe) {
            /* ae is already past any double exponent: ldexp gives 0 or Inf. */
            ae += xe;
            break;
        }
        if (i & 1) {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe *= 2; /* Go's xe <<= 1; |xe| <= 2^12 here */
        if (x1 < .5) {
            x1 += x1;
            xe--;
        }
    }
    if (y < 0) {
        a1 = 1 / a1;
        ae = -ae;
    }
    return go_ldexp(a1, ae);
}
