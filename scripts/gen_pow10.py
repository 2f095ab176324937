#!/usr/bin/env python3
"""gen_pow10.py: writes src/core/fmtfloat_pow10.h, the table of 128-bit
powers of five that core/fmtfloat.c multiplies by, and proves from exact
integers that the multiplication it does gives exact results.

Usage (from the repository root; python3 standard library only):
    python3 scripts/gen_pow10.py > src/core/fmtfloat_pow10.h

The method (see the essay at the top of src/core/fmtfloat.c): a double
v = m * 2^e is scaled by 4 so that it and the two ends of its rounding
interval are integers M times 2^e2 (e2 = e - 2). fmtfloat.c then needs
floor(M * 2^e2 / 10^q) for one decimal exponent q per e2, and computes it
as floor(M * T[q] / 2^s) where T[q] is a 128-bit approximation of
2^beta(q) * 5^-q taken from above (exact where that is an integer) and
s = beta(q) + q - e2.

For every e2 the program checks, before writing anything, that
    floor(M * T[q] / 2^s) == floor(M * 2^e2 / 10^q)   for all 1 <= M <= M_MAX.
Because T[q] / 2^s >= 2^e2 / 10^q, the left side can only be too large, and
only when the fractional part of M * 2^e2 / 10^q is within M * err of 1. The
largest fractional part over all M up to M_MAX is found exactly by a
Euclid-like recursion (minmax below, checked against brute force on small
inputs at each run): the kind of argument Ulf Adams' "Ryu: fast
float-to-string conversion" (PLDI 2018) makes for its own tables. The
program also checks the two integer formulas fmtfloat.c uses for
floor(e * log10(2)) and floor(n * log2(5)), and that every product fits the
64-bit result. A failed check stops it with an error and no output.
"""
from fractions import Fraction
import random
import sys

# Binary exponents e2 (of the lowest bit of M) that fmtfloat.c meets: normal
# doubles have e = biased - 1075, so e2 = e - 2 runs over -1076..969;
# subnormals are shifted up to 53 significant bits first, which takes e2
# down to -1076 - 52.
E2_MIN = -1076 - 52
E2_MAX = 2046 - 1075 - 2

# M is 4m, 4m + 2^(k+1) or 4m - 2^(k+1) (4m - 1 at a power of two), for a
# 53-bit m shifted left by k bits (k = 0 for normals): never above 2^55.
M_MAX = 1 << 55

# fmtfloat.c computes q = floor(e2 * log10(2)) - 1 and
# beta(q) = 127 - floor(-q * log2(5)) with these multiply-and-shift forms.
LOG10_2_MUL, LOG10_2_SHIFT = 78913, 18
LOG2_5_MUL, LOG2_5_SHIFT = 1217359, 19


def check(ok, what=""):
    """Stop on a failed check (not assert: python3 -O would skip those)."""
    if not ok:
        raise SystemExit(f"gen_pow10.py: check failed: {what}")


def floor_log10_pow2(e):
    """floor(e * log10(2)) from exact integers: the largest k with 10^k <= 2^e."""
    k = int(e * 0.30102999566398120) - 2
    while Fraction(10) ** (k + 1) <= Fraction(2) ** e:
        k += 1
    return k


def floor_log2_pow5(n):
    """floor(n * log2(5)): the largest k with 2^k <= 5^n."""
    k = int(n * 2.3219280948873623) - 2
    while Fraction(2) ** (k + 1) <= Fraction(5) ** n:
        k += 1
    return k


def q_of(e2):
    return floor_log10_pow2(e2) - 1


def beta_of(q):
    return 127 - floor_log2_pow5(-q)


def pow5_scaled(q):
    """T[q] = ceil(2^beta * 5^-q), in [2^127, 2^128)."""
    x = Fraction(2) ** beta_of(q) * Fraction(5) ** (-q)
    t = -((-x.numerator) // x.denominator)  # ceil
    check((1 << 127) <= t < (1 << 128), q)
    return t


def minmax(c, b, n):
    """(min, max) of (c * M) mod b over 1 <= M <= n, for 0 < c < b coprime
    and 1 <= n < b.

    The values climb by c and wrap past b. Inside one run between two wraps
    the first value is the smallest and the last the largest. The run that
    starts after the k-th wrap (k = 1..K, K = floor(c n / b)) starts at
    (-k b) mod c = c - (k (b mod c) mod c), which is never 0 since k < c. So
    the minimum is c - max_k (k (b mod c) mod c), and the last value of the
    run before the k-th wrap is that start + b - c, so the maximum is
    b - min_k (k (b mod c) mod c), or (c n) mod b, the last value of all:
    the same question for (b mod c, c, K), as in Euclid's algorithm.
    """
    if c == 1:
        return 1, n
    k = c * n // b
    if k == 0:
        return c, c * n
    f, g = minmax(b % c, c, k)
    return c - g, max(c * n % b, b - f)


def self_test_minmax():
    rnd = random.Random(1)
    for _ in range(20000):
        b = rnd.randint(2, 400)
        c = rnd.randint(1, b - 1)
        a, r = b, c
        while r:
            a, r = r, a % r
        if a != 1:
            continue
        n = rnd.randint(1, b - 1)
        vals = [c * m % b for m in range(1, n + 1)]
        check(minmax(c, b, n) == (min(vals), max(vals)), (c, b, n))


def check_formulas():
    for e in range(-1200, 1201):
        check((e * LOG10_2_MUL) >> LOG10_2_SHIFT == floor_log10_pow2(e), e)
    for n in range(-400, 401):
        check((n * LOG2_5_MUL) >> LOG2_5_SHIFT == floor_log2_pow5(n), n)


def prove(table):
    """Check the exactness claim for every e2; return the worst margin
    (1 - largest fractional part - largest error), as log2."""
    worst = None
    for e2 in range(E2_MIN, E2_MAX + 1):
        q = q_of(e2)
        beta = beta_of(q)
        t = table[q]
        s = beta + q - e2
        # fmtfloat.c takes the 192-bit product M * T apart at 64 bits and
        # shifts the upper part right by s - 64 bits.
        check(0 < s - 64 < 64, (e2, s))
        exact = Fraction(2) ** e2 / Fraction(10) ** q  # x(M) = M * exact
        err = Fraction(t, 1 << s) - exact
        check(err >= 0)
        a, b = exact.numerator, exact.denominator
        if b == 1:
            top = Fraction(0)
        elif b <= M_MAX:
            top = Fraction(b - 1, b)  # every residue occurs
        else:
            top = Fraction(minmax(a % b, b, M_MAX)[1], b)
        margin = 1 - top - M_MAX * err
        check(margin > 0, ("table too coarse", e2))
        # The scaled value of v itself (M = 4m >= 2^54) has 18 or 19 digits...
        check(10 ** 17 <= (1 << 54) * exact and M_MAX * exact < 10 ** 19, e2)
        # ... and the largest product still fits the 64-bit result.
        check((M_MAX * t) >> s < (1 << 63), e2)
        lg = margin.numerator.bit_length() - margin.denominator.bit_length()
        if margin < Fraction(2) ** lg:
            lg -= 1  # now 2^lg <= margin < 2^(lg + 1)
        worst = lg if worst is None else min(worst, lg)
    return worst


def main():
    self_test_minmax()
    check_formulas()
    q_min, q_max = q_of(E2_MIN), q_of(E2_MAX)
    table = {q: pow5_scaled(q) for q in range(q_min, q_max + 1)}
    worst = prove(table)
    out = sys.stdout
    out.write(f"""/* fmtfloat_pow10.h: GENERATED by scripts/gen_pow10.py -- do not edit.
 * Regenerate from the repository root with
 *     python3 scripts/gen_pow10.py > src/core/fmtfloat_pow10.h
 *
 * FMTFLOAT_POW5[q - FMTFLOAT_Q_MIN] = ceil(2^beta(q) * 5^-q) as {{high, low}}
 * 64-bit halves, beta(q) = 127 - floor(-q * log2(5)) putting each entry in
 * [2^127, 2^128); the entries for -55 <= q <= 0 are exact. Only
 * core/fmtfloat.c includes this file.
 *
 * Checked by the generator from exact integers, for every binary exponent
 * e2 in [{E2_MIN}, {E2_MAX}] with q = floor(e2 * log10(2)) - 1 and every
 * 1 <= M <= 2^55:
 *     floor(M * T[q] / 2^(beta(q) + q - e2)) == floor(M * 2^e2 / 10^q),
 * with at least 2^{worst} to spare before the error could reach the next
 * integer; and the multiply-shift formulas below equal the floors they
 * stand for over the whole range used.
 */
#ifndef TIDE_CORE_FMTFLOAT_POW10_H
#define TIDE_CORE_FMTFLOAT_POW10_H

#include <stdint.h>

/* floor(e * log10(2)) == (e * MUL) >> SHIFT for |e| <= 1200 (arithmetic shift) */
#define FMTFLOAT_LOG10_2_MUL {LOG10_2_MUL}
#define FMTFLOAT_LOG10_2_SHIFT {LOG10_2_SHIFT}
/* floor(n * log2(5)) == (n * MUL) >> SHIFT for |n| <= 400 (arithmetic shift) */
#define FMTFLOAT_LOG2_5_MUL {LOG2_5_MUL}
#define FMTFLOAT_LOG2_5_SHIFT {LOG2_5_SHIFT}

#define FMTFLOAT_Q_MIN ({q_min})
#define FMTFLOAT_Q_MAX {q_max}

static const uint64_t FMTFLOAT_POW5[{q_max - q_min + 1}][2] = {{
""")
    for q in range(q_min, q_max + 1):
        t = table[q]
        out.write(f"    {{0x{t >> 64:016x}u, 0x{t & ((1 << 64) - 1):016x}u}}, /* {q:4d} */\n")
    out.write("};\n\n#endif\n")


if __name__ == "__main__":
    main()
