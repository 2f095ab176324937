/* fmtfloat_sf.c: the shortest decimal of a double, as an integer and a
 * power of ten, by Raffaello Giulietti's Schubfach method ("The Schubfach
 * way to render doubles", 2020), written anew from the paper. It is the
 * first step of fmtfloat_shortest() (fmtfloat.c), which turns the pair
 * into digits: every float the Prometheus API and PromQL print comes
 * through here, a range query's answer 100 000s of times.
 *
 * v = c 2^q. The decimals that read back as v (strtod: nearest, ties to
 * even) fill the interval R between the midpoints to v's neighbours,
 * v - 2^(q-1) and v + 2^(q-1) (v - 2^(q-2) below a power of two whose
 * lower neighbour is nearer), the ends included when c is even. Take
 * k = floor(log10(2^q)) (of 3/4 2^q in the narrow case): then R is
 * narrower than 10^(k+1) and at least 10^k wide, so
 *   - at most one multiple of 10^(k+1) lies in R; if one does, no decimal
 *     of as few digits can compete with it (any other lies outside), and it
 *     is the answer (its trailing zeros are dropped later);
 *   - otherwise the answer is one of s 10^k and (s + 1) 10^k, s =
 *     floor(v 10^-k), the one in R, or the nearer to v when both are, an
 *     exact tie going to the even one: Go's strconv pick, and Prometheus'.
 * The comparisons are done on 4 v 10^-k and the ends 4 (v -+ half gap)
 * 10^-k, each computed as (4c << h) g / 2^127 with g a 126-bit
 * approximation of 10^-k (fmtfloat_pow10_sf.h) and rounded to odd (the
 * lowest bit set when anything was cut off): the paper proves that this
 * keeps every comparison with the integers 4 s and 4 (s + 1) exact.
 * Subnormals take the same path: R is then exactly 2^-1074 wide, still
 * between 10^k and 10^(k+1).
 *
 * tests/unit/core/test_fmtfloat.c compares the digits with the
 * %.17g/strtod reference and with fmtfloat.c's precision search on every
 * power of two, edge mantissas of every exponent and millions of random
 * doubles; tests/integration/test_fmtfloat_go.sh with Go itself.
 */
#include "core/fmtfloat.h"

#include <stdint.h>
#include <string.h>

#include "core/fmtfloat_pow10_sf.h"

_Static_assert((-3 >> 1) == -2, "signed >> must shift arithmetically");

#define MASK63 ((UINT64_C(1) << 63) - 1)

/* (g1 2^63 + g0) cp / 2^127, rounded to odd: the floor with its lowest bit
 * set when the cut-off part (down to 2^64, the precision the paper's proof
 * assumes) is not zero. cp < 2^61, g0 < 2^63, g1 < 2^63. */
static uint64_t round_odd(uint64_t g1, uint64_t g0, uint64_t cp)
{
    uint64_t x1 = (uint64_t)(((unsigned __int128)g0 * cp) >> 64);
    unsigned __int128 y = (unsigned __int128)g1 * cp;
    uint64_t y0 = (uint64_t)y, y1 = (uint64_t)(y >> 64);
    uint64_t z = (y0 >> 1) + x1; /* no overflow: both below 2^63 */
    uint64_t vbp = y1 + (z >> 63);
    return vbp | (((z & MASK63) + MASK63) >> 63);
}

/* v = c 2^q, c > 0; the answer f 10^e. */
static void to_decimal(int q, uint64_t c, uint64_t *f, int *e)
{
    uint64_t out = c & 1; /* an odd c excludes R's ends */
    uint64_t cb = c << 2, cbr = cb + 2, cbl;
    int k;
    if (c != UINT64_C(1) << 52 || q == -1074) {
        cbl = cb - 2;
        k = (int)(((int64_t)q * FMTFLOAT_SF_LOG10_2_MUL) >> FMTFLOAT_SF_LOG_SHIFT);
    } else {
        /* a power of two above DBL_MIN: the gap below is half the gap above */
        cbl = cb - 1;
        k = (int)(((int64_t)q * FMTFLOAT_SF_LOG10_2_MUL - FMTFLOAT_SF_LOG10_3Q_SUB) >>
                  FMTFLOAT_SF_LOG_SHIFT);
    }
    int h = q + (int)(((int64_t)-k * FMTFLOAT_SF_LOG2_10_MUL) >> FMTFLOAT_SF_LOG2_10_SHIFT) + 2;
    const uint64_t *g = FMTFLOAT_SF_G[k - FMTFLOAT_SF_K_MIN];
    uint64_t vb = round_odd(g[0], g[1], cb << h);
    uint64_t vbl = round_odd(g[0], g[1], cbl << h);
    uint64_t vbr = round_odd(g[0], g[1], cbr << h);
    uint64_t s = vb >> 2;
    *e = k;
    /* The multiple of 10^(k+1) in R, if there is one. (The paper's Java
     * skips this below s = 100, as Java prints at least two digits; Go and
     * Prometheus print 5e-324.) */
    uint64_t sp10 = 10 * (s / 10), tp10 = sp10 + 10;
    bool upin = sp10 != 0 && vbl + out <= sp10 << 2;
    bool wpin = (tp10 << 2) + out <= vbr;
    if (upin != wpin) {
        *f = upin ? sp10 : tp10;
        return;
    }
    uint64_t t = s + 1;
    bool uin = vbl + out <= s << 2;
    bool win = (t << 2) + out <= vbr;
    if (uin != win) {
        *f = uin ? s : t;
        return;
    }
    /* Both in R: the nearer to v; 4 v 10^-k against their midpoint 2 (s + t). */
    int64_t cmp = (int64_t)(vb - ((s + t) << 1));
    *f = cmp < 0 || (cmp == 0 && (s & 1) == 0) ? s : t;
}

void fmtfloat_sf(double v, uint64_t *f, int *e)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t frac = bits & ((UINT64_C(1) << 52) - 1);
    int biased = (int)(bits >> 52) & 0x7ff;
    if (biased != 0) {
        uint64_t c = frac | UINT64_C(1) << 52;
        int q = biased - 1075;
        if (q < 0 && q > -53) {
            /* An integer below 2^53 is its own shortest decimal. */
            uint64_t i = c >> -q;
            if (i << -q == c) {
                *f = i;
                *e = 0;
                return;
            }
        }
        to_decimal(q, c, f, e);
    } else {
        to_decimal(-1074, frac, f, e);
    }
}
