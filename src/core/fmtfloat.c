/* fmtfloat.c: shortest round-trip float text (see fmtfloat.h).
 *
 * The digits: a normal double lies within 2^-53 (relative) of its shortest
 * round-tripping decimal, and 15 significant digits are spaced at least
 * 5e-16 apart, so when some k <= 15 digits read back as v, the 15-digit
 * rounding of v is those digits padded with zeros. Past 15 only 16 and 17
 * remain. One printf gives the 17 correctly rounded digits; the 15- and
 * 16-digit roundings are derived from them, except when the digits cut off
 * read exactly "5", "50"... (v's further digits decide, so printf rounds v
 * itself). Subnormals, with fewer significant bits, try 1..17 digits.
 */
#include "core/fmtfloat.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse printf's "[-]d[.ddd]e[+-]xx" into out, trailing zeros dropped. */
static void parse_sci(const char *s, struct float_digits *out)
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

/* The 17 digits of s17 rounded to prec digits, in the same form, into out;
 * printf converts v again when the cut-off digits are exactly a half. */
static void round_sci(const char *s17, int prec, double v, char *out, size_t cap)
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
    if (d[prec] >= '5') { /* above the half: round up */
        int i = prec - 1;
        while (i >= 0 && d[i] == '9')
            d[i--] = '0';
        if (i >= 0) {
            d[i]++;
        } else { /* 99..9 -> 100..0 */
            d[0] = '1';
            exp10++;
        }
    }
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

void fmtfloat_shortest(double v, struct float_digits *out)
{
    char tmp[48];
    if (fabs(v) >= DBL_MIN) {
        snprintf(tmp, sizeof tmp, "%.16e", v);
        for (int prec = 15; prec < 17; prec++) {
            char cand[48];
            round_sci(tmp, prec, v, cand, sizeof cand);
            if (strtod(cand, NULL) == v) {
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
    parse_sci(tmp, out);
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
    int x = fd->point - 1;
    o += sprintf(s + o, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
    return o;
}

static int special(char *s, double v)
{
    if (isnan(v))
        return sprintf(s, "NaN");
    return sprintf(s, v > 0 ? "+Inf" : "-Inf");
}

int fmtfloat_f(struct buf *b, double v)
{
    char s[352];
    int n;
    if (!isfinite(v)) {
        n = special(s, v);
    } else if (v != 0 && v == trunc(v) && fabs(v) < 0x1p53) {
        n = snprintf(s, sizeof s, "%lld", (long long)v); /* exact integers as themselves */
    } else {
        struct float_digits fd;
        fmtfloat_shortest(v, &fd);
        n = layout_f(&fd, s);
    }
    return buf_append(b, s, (size_t)n);
}

int fmtfloat_e(struct buf *b, double v)
{
    char s[48];
    int n;
    if (!isfinite(v)) {
        n = special(s, v);
    } else {
        struct float_digits fd;
        fmtfloat_shortest(v, &fd);
        n = layout_e(&fd, s);
    }
    return buf_append(b, s, (size_t)n);
}

int fmtfloat_g(char *buf, double v)
{
    if (!isfinite(v))
        return special(buf, v);
    /* Integers print as integers ("-1500", not "-1.5e+03"). */
    if (fabs(v) < 1e15 && v == (double)(long long)v && !(v == 0 && signbit(v)))
        return snprintf(buf, 32, "%lld", (long long)v);
    struct float_digits fd;
    fmtfloat_shortest(v, &fd);
    /* %.Pg with P the precision that round-tripped: 15..17 for normal
     * values, the digit count for subnormals and zero. */
    int p = fabs(v) >= DBL_MIN && fd.nd < 15 ? 15 : fd.nd;
    int x = fd.point - 1;
    int n = p > x && x >= -4 ? layout_f(&fd, buf) : layout_e(&fd, buf);
    buf[n] = 0;
    return n;
}
