/* fmtfloat_ref.h: the reference fmtfloat_shortest() is checked against:
 * the snprintf/strtod version of the digits, slow and obviously right (given
 * a correctly rounding printf and strtod). Used by test_fmtfloat.c and by
 * bench/micro/fmtfloat.c (the time to beat). Static functions: include it in
 * one file of a program. */
#ifndef TIDE_TESTS_FMTFLOAT_REF_H
#define TIDE_TESTS_FMTFLOAT_REF_H

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fmtfloat.h"

/* The reference: fmtfloat_shortest() as it was before the integer algorithm,
 * one snprintf("%.16e") and up to two strtod() a value, moved here (renamed)
 * so the new code is compared with the old output, plus Go's pick at a power
 * of two: when v's 15- or 16-digit rounding went down and does not read
 * back, the decimal just above v of as many digits (ref_next_up) may.
 *
 * A normal double lies within 2^-53 (relative) of its shortest
 * round-tripping decimal, and 15 significant digits are spaced at least
 * 5e-16 apart, so when some k <= 15 digits read back as v, the 15-digit
 * rounding of v (or at a power of two the 15-digit decimal above v) is those
 * digits padded with zeros. Past 15 only 16 and 17 remain. One printf gives
 * the 17 correctly rounded digits; the 15- and 16-digit roundings are
 * derived from them, except when the digits cut off read exactly "5",
 * "50"... (v's further digits decide, so printf rounds v itself).
 * Subnormals, with fewer significant bits, try 1..17 digits. */

/* Parse printf's "[-]d[.ddd]e[+-]xx" into out, trailing zeros dropped. */
static void ref_parse_sci(const char *s, struct float_digits *out)
{
    out->neg = *s == '-';
    if (out->neg)
        s++;
    out->nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.' && out->nd < 17)
            out->d[out->nd++] = *s;
    out->point = atoi(s + 1) + 1;
    while (out->nd > 1 && out->d[out->nd - 1] == '0')
        out->nd--;
    out->d[out->nd] = 0;
}

/* Add one unit in the last of d's prec digits (99..9 -> 100..0, exponent up). */
static void ref_digits_up(char *d, int prec, int *exp10)
{
    int i = prec - 1;
    while (i >= 0 && d[i] == '9')
        d[i--] = '0';
    if (i >= 0) {
        d[i]++;
    } else {
        d[0] = '1';
        (*exp10)++;
    }
}

/* d's prec digits as printf's "[-]d[.ddd]e[+-]xx" into out. */
static void ref_put_sci(bool neg, const char *d, int prec, int exp10, char *out, size_t cap)
{
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    out[o++] = d[0];
    if (prec > 1) {
        out[o++] = '.';
        for (int i = 1; i < prec; i++)
            out[o++] = d[i];
    }
    snprintf(out + o, cap - o, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
}

/* The 17 digits of s17 rounded to prec digits, in the same form, into out;
 * printf converts v again when the cut-off digits are exactly a half. */
static void ref_round_sci(const char *s17, int prec, double v, char *out, size_t cap)
{
    const char *p = s17;
    bool neg = *p == '-';
    if (neg)
        p++;
    char d[17];
    int nd = 0;
    for (; *p && *p != 'e' && nd < 17; p++)
        if (*p != '.')
            d[nd++] = *p;
    int exp10 = atoi(p + 1);
    bool half = d[prec] == '5';
    for (int i = prec + 1; i < nd && half; i++)
        half = d[i] == '0';
    if (nd != 17 || half) {
        snprintf(out, cap, "%.*e", prec - 1, v);
        return;
    }
    if (d[prec] >= '5') /* above the half: round up */
        ref_digits_up(d, prec, &exp10);
    ref_put_sci(neg, d, prec, exp10, out, cap);
}

/* The decimal after s, "[-]d[.ddd]e[+-]xx" with prec digits, away from zero
 * by one unit of its last digit, in the same form (9.99e+05 -> 1.00e+06). */
static void ref_next_up(const char *s, int prec, char *out, size_t cap)
{
    bool neg = *s == '-';
    if (neg)
        s++;
    char d[17];
    int nd = 0;
    for (; *s && *s != 'e' && nd < prec; s++)
        if (*s != '.')
            d[nd++] = *s;
    int exp10 = atoi(strchr(s, 'e') + 1);
    ref_digits_up(d, prec, &exp10);
    ref_put_sci(neg, d, prec, exp10, out, cap);
}

/* How many times ref_shortest() took the decimal above v. */
static uint64_t ref_nabove;

static void ref_shortest(double v, struct float_digits *out)
{
    char tmp[48];
    int e2;
    // A power of two above DBL_MIN: its lower neighbour is twice as near.
    bool lopsided = fabs(v) > DBL_MIN && fabs(frexp(v, &e2)) == 0.5;
    if (fabs(v) >= DBL_MIN) {
        snprintf(tmp, sizeof tmp, "%.16e", v);
        for (int prec = 15; prec < 17; prec++) {
            char cand[48];
            ref_round_sci(tmp, prec, v, cand, sizeof cand);
            double back = strtod(cand, NULL);
            if (back != v && lopsided && fabs(back) < fabs(v)) {
                char above[48];
                ref_next_up(cand, prec, above, sizeof above);
                if (strtod(above, NULL) == v) {
                    memcpy(cand, above, strlen(above) + 1);
                    back = v;
                    ref_nabove++;
                }
            }
            if (back == v) {
                memcpy(tmp, cand, strlen(cand) + 1);
                break;
            }
        }
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
            if (strtod(tmp, NULL) == v)
                break;
        }
    }
    ref_parse_sci(tmp, out);
}

#endif
