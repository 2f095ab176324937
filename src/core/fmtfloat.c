/* fmtfloat.c: shortest round-trip float text (see fmtfloat.h), the last step
 * of every float Tide prints: PromQL results, API values, exports.
 *
 * The digits are those of Go's strconv.FormatFloat(v, 'e', -1, 64), which
 * Prometheus prints: the shortest decimal that reads back as v (strtod:
 * nearest, ties to even) and, among equally short ones, the nearest to v,
 * an exact tie going to the even last digit. They are found by precision.
 * For p = 1, 2, ... take v correctly rounded to p significant decimal digits
 * (an exact half rounds to even); if it reads back, it is the answer,
 * trailing zeros dropped. If not, and v is a power of two and the rounding
 * went down, take the p-digit decimal just above v if that reads back.
 * Why that is Go's pick: the decimals that read back as v fill an interval
 * around v, symmetric but at a power of two, whose lower neighbour is twice
 * as near as its upper one. In a symmetric interval, whenever some p-digit
 * decimal lies inside, v's p-digit rounding, no farther from v, does too
 * (both ends read back or neither). At a power of two the interval reaches
 * half as far below v as above: a rounding down may fall out below while
 * the decimal above v still lies inside, the one p-digit decimal inside
 * then; a rounding up that falls out above leaves none inside, as the
 * decimal below is at least as far from v. 46 of the 2098 powers of two
 * (and their negatives) take the decimal above, e.g. 2^-1017 is
 * 7.120236347223045e-307: its 16-digit rounding ...044 does not read back.
 * 2^-24 is the one exact tie among them: 5.9604644775390625e-08 is half-way
 * between 16-digit decimals, the even one below (...062) does not read back
 * and ...063 does. fmtfloat_g, printf's %g layout, keeps the rounding rule
 * alone (%.17g gives 7.1202363472230444e-307 for 2^-1017).
 * The earlier snprintf/strtod version of this file computed that rounding
 * rule; it lives on, with the decimal above added, as the reference in
 * tests/unit/core/test_fmtfloat.c, and tests/integration/test_fmtfloat_go.sh
 * compares this file's output with Go's own.
 * A normal double reads back from anything within 2^-53 v of it, at most,
 * while 15-digit decimals lie more than 10^-15 v apart: one of them at most
 * reads back as v, and the p = 15 step finds it. So every answer of 15
 * digits or fewer is found at p = 15 with zeros dropped, and normals start
 * there. p = 17 always reads back: v's 17-digit rounding lies within
 * 5 10^-17 v of v, inside even the short side, 2^-54 v, of a power of two.
 * Subnormals, which read back from a relatively wider interval, start at
 * p = 1.
 *
 * The arithmetic is the core of Ryu (Ulf Adams, PLDI 2018), written anew.
 * With v = m 2^e, the decimals that read back as v lie between v - 2^(e-1)
 * and v + 2^(e-1) (below: v - 2^(e-2) at a power of two, whose lower
 * neighbour is nearer). Times 4, v and both ends are integers M times 2^e2,
 * e2 = e - 2: M = 4m, 4m + 2 and 4m - 2 (4m - 1). One decimal exponent per
 * e2, q = floor(e2 log10(2)) - 1, puts x(M) = M 2^e2 / 10^q for M = 4m at 18
 * or 19 digits before the point, and floor(x(M)) is computed as
 * floor(M T[q] / 2^s), T[q] a 128-bit approximation of 2^beta 5^-q from
 * fmtfloat_pow10.h: two 64x64->128-bit products. That floor is exact for
 * every M <= 2^55 and every e2, not merely close: scripts/gen_pow10.py proves
 * with exact integers that no x(M) has a fractional part near enough to 1
 * for the table's error to carry it over. Whether x(M) is itself an integer,
 * which its floor cannot tell, is read off the factors 2 and 5 of M. Those
 * two facts decide every comparison the digits need:
 *   - v rounded to p digits: floor(x(4m)) = vr has N digits; divide off
 *     S = 10^(N-p) and compare the remainder with S/2 (an exact integer, as
 *     S >= 10). Only a remainder of exactly S/2 asks whether x(4m) is an
 *     integer: then it is a true tie, rounded to even;
 *   - the rounding c (a multiple of S, in units of 10^q) reads back iff it
 *     lies strictly between x(lower end) and x(upper end), or on an end with
 *     m even. A c <= vr is below the upper end, a c > vr above the lower one,
 *     so each c needs one end only, computed when first asked for; so does
 *     the decimal above a rounding down, c + S, above v.
 * Subnormals are shifted to 53 significant bits first (the half width of
 * their interval, 2^-1075, shifted with them), then take the same path.
 *
 * Where this is not Ryu: Ryu's digit loop (Go's ryuDigits) starts from the
 * 17 to 19 digits of the ends and removes digits while a shorter decimal
 * still fits between them, carrying v's rounding along, and lifts that
 * rounding to the lowest decimal inside when it falls below. This file goes
 * up from p = 15 instead, most values stopping at once. The digits are the
 * same: the shortest length, and at that length the decimal nearest v.
 * fmtfloat_f_chars(), which writes every value of a query answer, first
 * tries the p = 15 step in doubles (short_decimal()): a value of 15 digits
 * or fewer, as most stored ones are, needs no 128-bit product.
 */
#include "core/fmtfloat.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/fmtfloat_pow10.h"

/* The log formulas of fmtfloat_pow10.h floor negative products by shifting. */
_Static_assert((-3 >> 1) == -2, "signed >> must shift arithmetically");

static const uint64_t POW10[20] = {
    1u,
    10u,
    100u,
    1000u,
    10000u,
    100000u,
    1000000u,
    10000000u,
    100000000u,
    1000000000u,
    10000000000u,
    100000000000u,
    1000000000000u,
    10000000000000u,
    100000000000000u,
    1000000000000000u,
    10000000000000000u,
    100000000000000000u,
    1000000000000000000u,
    10000000000000000000u,
};

/* The decimal scale of one binary exponent e2: x(M) = M 2^e2 / 10^q. */
struct scale {
    int e2;            /* binary exponent of M's unit */
    int q;             /* decimal exponent divided off, floor(e2 log10(2)) - 1 */
    int s;             /* x(M) = floor(M * t / 2^s), 64 < s < 128 */
    const uint64_t *t; /* {high, low} halves of T[q] */
};

static void scale_init(struct scale *sc, int e2)
{
    sc->e2 = e2;
    sc->q = ((e2 * FMTFLOAT_LOG10_2_MUL) >> FMTFLOAT_LOG10_2_SHIFT) - 1;
    int beta = 127 - ((-sc->q * FMTFLOAT_LOG2_5_MUL) >> FMTFLOAT_LOG2_5_SHIFT);
    sc->s = beta + sc->q - e2;
    sc->t = FMTFLOAT_POW5[sc->q - FMTFLOAT_Q_MIN];
}

/* floor(x(M)) for M < 2^55, exact (see the top of the file); below 2^63.
 * M t = high 2^64 + low is 184 bits wide: add low's upper half into high
 * (dropping bits under 2^64, all below the 2^s cut) and shift. */
static uint64_t scale_floor(const struct scale *sc, uint64_t M)
{
    unsigned __int128 high = (unsigned __int128)M * sc->t[0];
    unsigned __int128 low = (unsigned __int128)M * sc->t[1];
    return (uint64_t)((high + (low >> 64)) >> (sc->s - 64));
}

/* Whether x(M) is an integer. */
static bool scale_exact(const struct scale *sc, uint64_t M)
{
    if (sc->q > 0) {
        // e2 > q here, so 2^(e2 - q) is whole: 5^q must divide M.
        for (int i = 0; i < sc->q; i++) {
            if (M % 5 != 0)
                return false;
            M /= 5;
        }
        return true;
    }
    // x(M) = M 5^-q / 2^(q - e2): the power of two must divide M.
    int j = sc->q - sc->e2;
    return j <= 0 || (j < 64 && (M & ((UINT64_C(1) << j) - 1)) == 0);
}

/* x / 10^k: constant divisors for the p >= 15 steps every normal takes. */
static uint64_t div_pow10(uint64_t x, int k)
{
    switch (k) {
    case 1:
        return x / 10;
    case 2:
        return x / 100;
    case 3:
        return x / 1000;
    case 4:
        return x / 10000;
    default:
        return x / POW10[k];
    }
}

/* Drop c's trailing decimal zeros (c > 0, at most 17 of them); how many. */
static int strip_zeros(uint64_t *c)
{
    if (*c % 10 != 0)
        return 0; /* most long decimals: one test */
    int n = 0;
    for (int i = 0; i < 2 && *c % 100000000 == 0; i++) {
        *c /= 100000000;
        n += 8;
    }
    // Fewer than 8 left: take 4, 2 and 1 where they divide.
    if (*c % 10000 == 0) {
        *c /= 10000;
        n += 4;
    }
    if (*c % 100 == 0) {
        *c /= 100;
        n += 2;
    }
    if (*c % 10 == 0) {
        *c /= 10;
        n += 1;
    }
    return n;
}

/* x < 10^8 as 8 ASCII digits with leading zeros, packed in the order they
 * sit in memory once stored (store8): split into two 4-digit halves, each
 * half into two 2-digit lanes, each lane into two digits, all lanes at once
 * (multiplying by 10486 / 2^20 and 103 / 2^10 divides by 100 and by 10
 * exactly in these ranges, and no lane overflows into the next). */
static inline __attribute__((always_inline)) uint64_t ascii8(uint32_t x)
{
    uint64_t v = x / 10000 | (uint64_t)(x % 10000) << 32;
    uint64_t hundreds = (v * 10486) >> 20 & UINT64_C(0x0000007f0000007f);
    v = hundreds | (v - 100 * hundreds) << 16;
    uint64_t tens = (v * 103) >> 10 & UINT64_C(0x000f000f000f000f);
    v = tens | (v - 10 * tens) << 8;
    return v + UINT64_C(0x3030303030303030);
}

/* The 8 bytes of ascii8() (shifted or not) to d, first digit first. */
static void store8(char *d, uint64_t digits)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    digits = __builtin_bswap64(digits);
#endif
    memcpy(d, &digits, sizeof digits);
}

static inline void put_digits(uint64_t c, int nd, int point, struct float_digits *out);

/* The digits of fmtfloat_shortest() (take_above true, Go's) or of the first
 * p whose rounding of v reads back (false, printf's %g for fmtfloat_g): they
 * differ at 46 powers of two and their negatives (see the top of the file). */
static inline void shortest(double v, struct float_digits *out, bool take_above)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t frac = bits & ((UINT64_C(1) << 52) - 1);
    int biased = (int)(bits >> 52) & 0x7ff;
    out->neg = bits >> 63;
    if (biased == 0 && frac == 0) {
        out->nd = 1;
        out->point = 1;
        memcpy(out->d, "0", 2);
        return;
    }

    // v = m 2^e with m of 53 bits; a subnormal's m is shifted up by k bits
    // (e down by k), its interval's half width 2^(e-1) then spans 2^(k+1)
    // units of 2^e2.
    uint64_t m;
    int e, k;
    if (biased == 0) {
        k = __builtin_clzll(frac) - 11;
        m = frac << k;
        e = -1074 - k;
    } else {
        k = 0;
        m = frac | (UINT64_C(1) << 52);
        e = biased - 1075;
    }
    bool even = (frac & 1) == 0;             /* of the unshifted m: strtod's tie rule */
    bool lopsided = frac == 0 && biased > 1; /* a power of two above DBL_MIN */
    uint64_t mv = 4 * m;
    uint64_t mw = mv + (UINT64_C(2) << k);
    uint64_t mu = mv - (lopsided ? 1 : UINT64_C(2) << k);

    struct scale sc;
    scale_init(&sc, e - 2);
    uint64_t vr = scale_floor(&sc, mv);
    int n = vr >= POW10[18] ? 19 : 18;
    uint64_t vm = 0, vp = 0; /* floors of the ends, computed when asked for */
    bool have_vm = false, have_vp = false;

    uint64_t c; /* v rounded to p digits (or the p-digit decimal above v) */
    int p = biased == 0 ? 1 : 15;
    for (;; p++) {
        uint64_t S = POW10[n - p];
        uint64_t Q = div_pow10(vr, n - p);
        uint64_t R = vr - Q * S;
        bool up;
        if (R != S / 2)
            up = R > S / 2;
        else
            up = !scale_exact(&sc, mv) || (Q & 1) != 0;
        c = Q + up;
        if (p == 17)
            break;
        uint64_t cs = c * S;
        bool ok;
        if (cs <= vr) {
            if (!have_vm) {
                vm = scale_floor(&sc, mu);
                have_vm = true;
            }
            ok = cs > vm || (cs == vm && even && scale_exact(&sc, mu));
        } else {
            if (!have_vp) {
                vp = scale_floor(&sc, mw);
                have_vp = true;
            }
            ok = cs < vp || (cs == vp && (even || !scale_exact(&sc, mw)));
        }
        if (ok)
            break;
        // At a power of two the interval reaches twice as far above v as
        // below it. A rounding down that fell out below may leave the
        // p-digit decimal just above v inside: then it is the one p-digit
        // decimal that reads back, and Go's pick. cs <= vr here means c < v
        // (c = v would have read back), and m = 2^52 is even, so the upper
        // end itself reads back.
        if (take_above && lopsided && cs <= vr) {
            if (!have_vp) {
                vp = scale_floor(&sc, mw);
                have_vp = true;
            }
            if (cs + S <= vp) {
                c++;
                break;
            }
        }
    }

    // c has p digits, or p + 1 when the rounding (or the step to the
    // decimal above) carried (99..9 -> 100..0);
    // v = c 10^(q + n - p) = 0.c 10^point.
    int nd = p + (c == POW10[p]);
    put_digits(c, nd, nd + sc.q + n - p, out);
}

/* c (nd digits, c < 10^17) into out with its trailing zeros dropped,
 * v = 0.c 10^point. */
/* c's nd digits (c < 10^17 has exactly nd) at d, 8 at a time, the most
 * significant block first (a later store overwrites the previous one's
 * zero bytes past its digits). Writes max(nd, 8) bytes: zeros past nd. */
static inline void write_digits(char *d, uint64_t c, int nd)
{
    if (nd <= 8) {
        store8(d, ascii8((uint32_t)c) >> 8 * (8 - nd));
    } else {
        uint64_t top = c / 100000000;
        if (nd == 17) {
            *d++ = (char)('0' + top / 100000000);
            top %= 100000000;
            nd--;
        }
        store8(d, ascii8((uint32_t)top) >> 8 * (16 - nd));
        store8(d + nd - 8, ascii8((uint32_t)(c % 100000000)));
    }
}

/* The number of digits of 0 < c < 10^17: from its bit length (1233 / 4096
 * just above log10(2)), one too few at most. */
static inline int count_digits(uint64_t c)
{
    int nd = ((64 - __builtin_clzll(c)) * 1233) >> 12;
    return nd + (c >= POW10[nd]);
}

static inline void put_digits(uint64_t c, int nd, int point, struct float_digits *out)
{
    out->point = point;
    nd -= strip_zeros(&c);
    out->nd = nd;
    write_digits(out->d, c, nd);
    out->d[nd] = 0;
}

void fmtfloat_shortest_search(double v, struct float_digits *out)
{
    shortest(v, out, true);
}

void fmtfloat_shortest(double v, struct float_digits *out)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    out->neg = bits >> 63;
    if ((bits << 1) == 0) {
        out->nd = 1;
        out->point = 1;
        memcpy(out->d, "0", 2);
        return;
    }
    uint64_t f;
    int e;
    fmtfloat_sf(v, &f, &e); /* v = f 10^e, 0 < f < 10^17 */
    int nd = count_digits(f);
    put_digits(f, nd, nd + e, out);
}

/* Go's 'f' layout of the digits into s (cap >= 352): no exponent. */
static int layout_f(const struct float_digits *fd, char *s)
{
    int o = 0;
    if (fd->neg)
        s[o++] = '-';
    if (fd->point <= 0) {
        s[o++] = '0';
        s[o++] = '.';
        for (int i = 0; i < -fd->point; i++)
            s[o++] = '0';
        memcpy(s + o, fd->d, (size_t)fd->nd);
        return o + fd->nd;
    }
    for (int i = 0; i < fd->point; i++)
        s[o++] = i < fd->nd ? fd->d[i] : '0';
    if (fd->nd > fd->point) {
        s[o++] = '.';
        memcpy(s + o, fd->d + fd->point, (size_t)(fd->nd - fd->point));
        o += fd->nd - fd->point;
    }
    return o;
}

/* printf/Go 'e' layout: d[.ddd]e±XX, at least two exponent digits. */
static int layout_e(const struct float_digits *fd, char *s)
{
    int o = 0;
    if (fd->neg)
        s[o++] = '-';
    s[o++] = fd->d[0];
    if (fd->nd > 1) {
        s[o++] = '.';
        memcpy(s + o, fd->d + 1, (size_t)(fd->nd - 1));
        o += fd->nd - 1;
    }
    int x = fd->point - 1; /* |x| <= 324: "e", sign, at least two digits */
    unsigned ax = (unsigned)(x < 0 ? -x : x);
    s[o++] = 'e';
    s[o++] = x < 0 ? '-' : '+';
    if (ax >= 100)
        s[o++] = (char)('0' + ax / 100);
    s[o++] = (char)('0' + ax / 10 % 10);
    s[o++] = (char)('0' + ax % 10);
    s[o] = 0;
    return o;
}

static int special(char *s, double v)
{
    if (isnan(v))
        return sprintf(s, "NaN");
    return sprintf(s, v > 0 ? "+Inf" : "-Inf");
}

/* |v| < 2^63, an integer, in decimal into s (NUL-terminated); the length. */
static int format_int(char *s, long long v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    int n = (int)(tmp + sizeof tmp - p);
    memcpy(s, p, (size_t)n);
    s[n] = 0;
    return n;
}

/* The exact doubles 10^0 .. 10^22. */
static const double POW10D[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                                  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
                                  1e18, 1e19, 1e20, 1e21, 1e22};

/* The shortest digits of finite a > 0 (f 10^e, f < 10^15, trailing zeros
 * possible) when 15 digits or fewer read back as a; false otherwise, and
 * for a outside about [10^-7, 10^15). Such a decimal is a rounded to
 * 10^-K with a 10^K < 10^15 (K from a's binary exponent, one too small at
 * times): at most 15 digits, and at most one decimal of 15 digits reads
 * back as a (see the top of the file), so it is the shortest once its
 * zeros are dropped. It reads back iff i / 10^K == a in doubles: i and
 * 10^K are exact, and division rounds the quotient as strtod rounds the
 * decimal. Most values a monitor stores (a percentage or a temperature to
 * two places, a last or a max of them) take this one multiplication and
 * division; averages and rates, 16 or 17 digits, fail it and go on to
 * Schubfach. */
static inline bool short_decimal(double a, uint64_t *f, int *e)
{
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    /* a < 2^x <= 10^d, d = floor(x log10(2)) + 1. */
    int x = (int)(bits >> 52) - 1022;
    int d = ((x * FMTFLOAT_LOG10_2_MUL) >> FMTFLOAT_LOG10_2_SHIFT) + 1;
    int k = 15 - d;
    if (k < 0 || k > 22)
        return false;
    uint64_t i = (uint64_t)(a * POW10D[k] + 0.5);
    if (i == 0 || (double)i / POW10D[k] != a)
        return false;
    *f = i;
    *e = -k;
    return true;
}

int fmtfloat_f_chars(char *s, double v)
{
    if (!isfinite(v))
        return special(s, v);
    if (v != 0 && v == trunc(v) && fabs(v) < 0x1p53)
        return format_int(s, (long long)v); /* exact integers as themselves */
    if (v == 0) {
        struct float_digits fd;
        fmtfloat_shortest(v, &fd);
        return layout_f(&fd, s);
    }
    /* layout_f's text, the digits written in place (no struct
     * float_digits in between): a query answer writes one per point. */
    uint64_t f;
    int e;
    if (!short_decimal(fabs(v), &f, &e))
        fmtfloat_sf(v, &f, &e);
    e += strip_zeros(&f);
    int nd = count_digits(f), point = nd + e, o = 0;
    if (signbit(v))
        s[o++] = '-';
    if (point <= 0) {
        /* at most "-0." + 323 zeros + 17 digits (+ 8 scribbled): < 352 */
        s[o++] = '0';
        s[o++] = '.';
        memset(s + o, '0', (size_t)-point);
        o += -point;
        write_digits(s + o, f, nd);
        return o + nd;
    }
    write_digits(s + o, f, nd);
    if (point >= nd) {
        memset(s + o + nd, '0', (size_t)(point - nd));
        return o + point;
    }
    /* The fraction (16 digits at most) one byte right, as one 16-byte
     * move: the bytes past the digits it carries along are scratch. */
    char frac[16];
    memcpy(frac, s + o + point, sizeof frac);
    memcpy(s + o + point + 1, frac, sizeof frac);
    s[o + point] = '.';
    return o + nd + 1;
}

int fmtfloat_e_chars(char *s, double v)
{
    if (!isfinite(v))
        return special(s, v);
    struct float_digits fd;
    fmtfloat_shortest(v, &fd);
    return layout_e(&fd, s);
}

int fmtfloat_f(struct buf *b, double v)
{
    char s[FMTFLOAT_F_MAX];
    return buf_append(b, s, (size_t)fmtfloat_f_chars(s, v));
}

int fmtfloat_e(struct buf *b, double v)
{
    char s[FMTFLOAT_E_MAX];
    return buf_append(b, s, (size_t)fmtfloat_e_chars(s, v));
}

int fmtfloat_g(char *buf, double v)
{
    if (!isfinite(v))
        return special(buf, v);
    /* Integers print as integers ("-1500", not "-1.5e+03"). */
    if (fabs(v) < 1e15 && v == (double)(long long)v && !(v == 0 && signbit(v)))
        return format_int(buf, (long long)v);
    struct float_digits fd;
    shortest(v, &fd, false);
    /* %.Pg with P the precision that round-tripped: 15..17 for normal
     * values, the digit count for subnormals and zero. */
    int p = fabs(v) >= DBL_MIN && fd.nd < 15 ? 15 : fd.nd;
    int x = fd.point - 1;
    int n = p > x && x >= -4 ? layout_f(&fd, buf) : layout_e(&fd, buf);
    buf[n] = 0;
    return n;
}
