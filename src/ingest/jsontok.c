/* jsontok.c: the JSON reading and writing that jsonl.c needs, and the decimal
 * to double conversion the text parsers share (see jsontok.h).
 *
 * Sits inside ingest/, below the format parsers: it knows JSON's lexical
 * rules and nothing of metrics. Every reader is bounded by an explicit end
 * pointer; the input is never assumed to be NUL-terminated.
 *
 * jsontok_strtod() is Clinger's fast path: with at most 19 significant digits, a
 * mantissa no larger than 2^53 and a power of ten up to 1e22, both operands
 * are exact doubles and one IEEE multiplication or division rounds correctly,
 * which is what strtod() computes. Anything else goes to strtod() on a copy.
 */
#include "ingest/jsontok.h"

#include <errno.h>
#include <float.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/strv.h"
#include "core/utf8.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static const char *skip_digits(const char *p, const char *end)
{
    while (p < end && is_digit(*p))
        p++;
    return p;
}

/* Four hex digits at p (p + 4 <= end checked by the caller). */
static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_digit_value(p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decode the escaped string body s[0..n) into o, which has n bytes: every
 * escape is at least as long as what it decodes to. */
static int unescape(const char *s, size_t n, char *o, size_t *olen, const char **at,
                    const char **why)
{
    const char *p = s, *end = s + n;
    size_t k = 0;
    while (p < end) {
        if (*p != '\\') {
            o[k++] = *p++;
            continue;
        }
        *at = p;
        p++; /* jsontok_string() saw a byte after every backslash */
        char c = *p++;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            o[k++] = c; /* these stand for themselves */
            break;
        case 'b':
            o[k++] = '\b';
            break;
        case 'f':
            o[k++] = '\f';
            break;
        case 'n':
            o[k++] = '\n';
            break;
        case 'r':
            o[k++] = '\r';
            break;
        case 't':
            o[k++] = '\t';
            break;
        case 'u': {
            int u = end - p >= 4 ? hex4(p) : -1;
            if (u < 0) {
                *why = "invalid \\u escape";
                return TIDE_EPARSE;
            }
            p += 4;
            uint32_t cp = (uint32_t)u;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                int lo = -1;
                if (end - p >= 6 && p[0] == '\\' && p[1] == 'u')
                    lo = hex4(p + 2);
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
                    p += 6;
                } else {
                    cp = 0xfffd; /* a lone high surrogate */
                }
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                cp = 0xfffd; /* a lone low surrogate */
            }
            k += put_utf8(o + k, cp);
            break;
        }
        default:
            *why = "invalid escape in string";
            return TIDE_EPARSE;
        }
    }
    *olen = k;
    return 0;
}

/* Find the closing quote of the string whose opening quote is at *pp, for
 * jsontok_string() and jsontok_skip_value(). On success *close points at it
 * and *esc says whether the body holds a backslash escape. On TIDE_EPARSE *pp
 * points at a control character, or stays at the opening quote when the
 * string is unterminated. */
static int scan_string(const char **pp, const char *end, const char **close, bool *esc,
                       const char **why)
{
    const char *p = *pp + 1;
    *esc = false;
    while (p < end && *p != '"') {
        if (*p == '\\') {
            if (end - p < 2)
                break;
            *esc = true;
            p += 2;
            continue;
        }
        if ((unsigned char)*p < 0x20) {
            *pp = p;
            *why = "control character in string";
            return TIDE_EPARSE;
        }
        p++;
    }
    if (p >= end) {
        *why = "unterminated string";
        return TIDE_EPARSE;
    }
    *close = p;
    return 0;
}

int jsontok_string(const char **pp, const char *end, struct batch *b, struct strv *out,
                   const char **why)
{
    const char *p = *pp;
    if (p >= end || *p != '"') {
        *why = "expected a string";
        return TIDE_EPARSE;
    }
    const char *s = p + 1;
    bool esc;
    int rc = scan_string(pp, end, &p, &esc, why);
    if (rc != 0)
        return rc;
    size_t n = (size_t)(p - s);
    if (!esc) {
        *out = (struct strv){s, n};
        *pp = p + 1;
        return 0;
    }
    char *o = arena_alloc(&b->arena, n + 1);
    if (o == NULL)
        return -ENOMEM;
    size_t olen = 0;
    const char *at = s;
    if (unescape(s, n, o, &olen, &at, why) != 0) {
        *pp = at;
        return TIDE_EPARSE;
    }
    o[olen] = 0;
    *out = (struct strv){o, olen};
    *pp = p + 1;
    return 0;
}

int jsontok_number(const char **pp, const char *end, struct strv *text, const char **why)
{
    const char *p = *pp;
    const char *s = p;
    if (p < end && *p == '-')
        p++;
    if (p >= end || !is_digit(*p))
        goto bad;
    if (*p == '0')
        p++;
    else
        p = skip_digits(p, end);
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p))
            goto bad;
        p = skip_digits(p, end);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            goto bad;
        p = skip_digits(p, end);
    }
    *text = (struct strv){s, (size_t)(p - s)};
    *pp = p;
    return 0;
bad:
    *pp = p < end ? p : s;
    *why = "invalid number";
    return TIDE_EPARSE;
}

static int skip_word(const char **pp, const char *end, const char *w, const char **why)
{
    size_t n = strlen(w);
    if ((size_t)(end - *pp) < n || memcmp(*pp, w, n) != 0) {
        *why = "unexpected token";
        return TIDE_EPARSE;
    }
    *pp += n;
    return 0;
}

int jsontok_skip_value(const char **pp, const char *end, int depth, const char **why)
{
    const char *p = jsontok_ws(*pp, end);
    *pp = p;
    if (p >= end) {
        *why = "expected a value";
        return TIDE_EPARSE;
    }
    if (depth >= JSONTOK_MAX_DEPTH) {
        *why = "nested too deeply";
        return TIDE_EPARSE;
    }
    struct strv sv;
    int rc;
    switch (*p) {
    case '"': {
        /* Validate without decoding: no arena needed. */
        bool esc;
        rc = scan_string(pp, end, &p, &esc, why);
        if (rc == 0)
            *pp = p + 1;
        return rc;
    }
    case '{':
    case '[': {
        char close = *p == '{' ? '}' : ']';
        bool obj = *p == '{';
        p = jsontok_ws(p + 1, end);
        if (p < end && *p == close) {
            *pp = p + 1;
            return 0;
        }
        for (;;) {
            if (obj) {
                *pp = p;
                rc = jsontok_skip_value(pp, end, depth + 1, why);
                if (rc != 0)
                    return rc;
                if (*p != '"') {
                    *pp = p;
                    *why = "expected a string key";
                    return TIDE_EPARSE;
                }
                p = jsontok_ws(*pp, end);
                if (p >= end || *p != ':') {
                    *pp = p;
                    *why = "expected ':'";
                    return TIDE_EPARSE;
                }
                p++;
            }
            *pp = p;
            rc = jsontok_skip_value(pp, end, depth + 1, why);
            if (rc != 0)
                return rc;
            p = jsontok_ws(*pp, end);
            if (p < end && *p == ',') {
                p = jsontok_ws(p + 1, end);
                continue;
            }
            if (p < end && *p == close) {
                *pp = p + 1;
                return 0;
            }
            *pp = p;
            *why = obj ? "expected ',' or '}'" : "expected ',' or ']'";
            return TIDE_EPARSE;
        }
    }
    case 't':
        return skip_word(pp, end, "true", why);
    case 'f':
        return skip_word(pp, end, "false", why);
    case 'n':
        return skip_word(pp, end, "null", why);
    default:
        return jsontok_number(pp, end, &sv, why);
    }
}

static const double pow10_exact[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static int slow_strtod(const char *p, size_t n, double *out)
{
    char small[128];
    char *c = small;
    if (n >= sizeof small) {
        c = malloc(n + 1); /* only for absurdly long numbers */
        if (c == NULL)
            return -ENOMEM;
    }
    memcpy(c, p, n);
    c[n] = 0;
    char *e = NULL;
    *out = strtod(c, &e);
    int rc = e == c + n ? 0 : TIDE_EPARSE;
    if (c != small)
        free(c);
    return rc;
}

int jsontok_strtod(const char *p, size_t n, double *out)
{
    const char *s = p, *end = p + n;
    bool neg = false;
    if (s < end && (*s == '+' || *s == '-')) {
        neg = *s == '-';
        s++;
    }
    uint64_t mant = 0;
    int nd = 0;           /* significant digits in mant */
    int e10 = 0;          /* decimal exponent to apply to mant */
    bool inexact = false; /* digits were dropped from mant */
    bool any = false;
    while (s < end && is_digit(*s)) {
        any = true;
        if (nd < 19) {
            mant = mant * 10 + (uint64_t)(*s - '0');
            nd += mant != 0;
        } else {
            e10++;
            inexact |= *s != '0';
        }
        s++;
    }
    if (s < end && *s == '.') {
        s++;
        while (s < end && is_digit(*s)) {
            any = true;
            if (nd < 19) {
                mant = mant * 10 + (uint64_t)(*s - '0');
                nd += mant != 0;
                e10--;
            } else {
                inexact |= *s != '0';
            }
            s++;
        }
    }
    if (!any)
        return TIDE_EPARSE;
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        bool eneg = false;
        if (s < end && (*s == '+' || *s == '-')) {
            eneg = *s == '-';
            s++;
        }
        if (s >= end || !is_digit(*s))
            return TIDE_EPARSE;
        int x = 0;
        while (s < end && is_digit(*s)) {
            if (x < 100000)
                x = x * 10 + (*s - '0');
            s++;
        }
        e10 += eneg ? -x : x;
    }
    if (s != end)
        return TIDE_EPARSE;
#if FLT_EVAL_METHOD == 0
    if (mant == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    if (!inexact && mant <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
        double d = (double)mant;
        d = e10 >= 0 ? d * pow10_exact[e10] : d / pow10_exact[-e10];
        *out = neg ? -d : d;
        return 0;
    }
#else
    (void)pow10_exact;
    (void)inexact;
#endif
    return slow_strtod(p, n, out);
}

int jsontok_put_string(struct buf *dst, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int rc = buf_putc(dst, '"');
    size_t run = 0; /* start of the pending unescaped run */
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x80) {
            /* Valid UTF-8 is copied; a byte that is not (data stored before
             * ingest checked it) becomes U+FFFD, so the output stays JSON. */
            size_t len = utf8_seq_len((const unsigned char *)p + i, n - i);
            if (len > 0) {
                i += len - 1;
                continue;
            }
            rc = buf_append(dst, p + run, i - run);
            run = i + 1;
            if (rc == 0)
                rc = buf_append(dst, "\\ufffd", 6);
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc = buf_append(dst, p + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0};
        size_t k = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        }
        if (rc == 0)
            rc = buf_append(dst, esc, k);
    }
    if (rc == 0)
        rc = buf_append(dst, p + run, n - run);
    if (rc == 0)
        rc = buf_putc(dst, '"');
    return rc;
}
