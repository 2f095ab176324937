/* jsonl.c: VictoriaMetrics' JSON lines import/export format, one series per
 * line:  {"metric":{"__name__":"up","job":"node"},"values":[0,1.5],
 *         "timestamps":[1549891472010,1549891487724]}
 * Pure bytes <-> struct batch, between api/ (import and export handlers) and
 * storage. A bad line is reported and skipped; the other lines are kept.
 *
 * Special values. VictoriaMetrics exports every NaN (stale markers included)
 * as `null` and imports the strings "NaN", "Inf", "-Inf" and a few spellings
 * more. Tide keeps the stale marker apart: jsonl_format() writes the
 * Prometheus stale marker (STALE_NAN_BITS) as the string "StaleNaN", any
 * other NaN as "NaN" and infinities as "+Inf"/"-Inf"; jsonl_parse() reads
 * those back, so export -> import is bit-exact except for NaN payloads, which
 * all become JSONL_NAN_BITS. A bare `null` value is skipped together with its
 * timestamp. Timestamps are integer milliseconds. docs/api/import-export.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "core/mem.h"
#include "ingest/jsontok.h"

/* The NaN "NaN" parses to: Prometheus' value.NormalNaN (also Go's math.NaN()). */
#define JSONL_NAN_BITS 0x7ff8000000000001ULL

/* Per-request scratch for one line's arrays, reused line after line so that
 * parsing allocates only when a line is longer than any before it. */
struct val {
    double v;  /* the value */
    bool skip; /* it was null: drop it and its timestamp */
};

struct scratch {
    struct val *v; /* values, in order */
    size_t nv, cap_v;
    int64_t *t; /* timestamps, in order */
    size_t nt, cap_t;
};

/* Where one line is being read, for error positions. */
struct line {
    const char *start; /* first byte of the line */
    int no;            /* 1-based line number */
};

static double from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint64_t to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static int bad(struct err *e, const struct line *l, const char *at, const char *why)
{
    int col = (int)(at - l->start) + 1;
    return ERR_PARSE(e, l->no, col, "line %d: %s (column %d)", l->no, why, col);
}

static int push_value(struct scratch *s, double v, bool skip)
{
    if (mem_grow((void **)&s->v, &s->cap_v, s->nv + 1, sizeof *s->v))
        return -ENOMEM;
    s->v[s->nv++] = (struct val){v, skip};
    return 0;
}

static int push_time(struct scratch *s, int64_t t)
{
    if (mem_grow((void **)&s->t, &s->cap_t, s->nt + 1, sizeof *s->t))
        return -ENOMEM;
    s->t[s->nt++] = t;
    return 0;
}

/* The special values by name, with or without quotes around them. */
static bool special(const char *p, size_t n, double *v)
{
    struct strv w = {p, n};
    bool neg = false;
    if (n > 0 && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        w.p++;
        w.n--;
    }
    if (strv_eq_c(w, "Inf") || strv_eq_c(w, "inf") || strv_eq_c(w, "Infinity") ||
        strv_eq_c(w, "infinity")) {
        *v = neg ? -INFINITY : INFINITY;
        return true;
    }
    if (w.n != n)
        return false; /* no sign on the NaNs */
    if (strv_eq_c(w, "NaN") || strv_eq_c(w, "nan") || strv_eq_c(w, "null") ||
        strv_eq_c(w, "Null")) {
        *v = from_bits(JSONL_NAN_BITS);
        return true;
    }
    if (strv_eq_c(w, "StaleNaN")) {
        *v = from_bits(STALE_NAN_BITS);
        return true;
    }
    return false;
}

static int parse_metric(const char **pp, const char *end, struct batch *b, const struct line *l,
                        struct err *e)
{
    const char *p = jsontok_ws(*pp, end);
    const char *why = NULL;
    int rc;
    if (p >= end || *p != '{')
        return bad(e, l, p, "\"metric\" must be an object");
    p = jsontok_ws(p + 1, end);
    if (p < end && *p == '}') {
        *pp = p + 1;
        return 0;
    }
    for (;;) {
        struct strv name, value;
        rc = jsontok_string(&p, end, b, &name, &why);
        if (rc != 0)
            return rc == TIDE_EPARSE ? bad(e, l, p, why) : rc;
        p = jsontok_ws(p, end);
        if (p >= end || *p != ':')
            return bad(e, l, p, "expected ':'");
        p = jsontok_ws(p + 1, end);
        if (p >= end || *p != '"')
            return bad(e, l, p, "label values must be strings");
        rc = jsontok_string(&p, end, b, &value, &why);
        if (rc != 0)
            return rc == TIDE_EPARSE ? bad(e, l, p, why) : rc;
        if (batch_add_label(b, name, value) != 0)
            return -ENOMEM;
        p = jsontok_ws(p, end);
        if (p < end && *p == ',') {
            p = jsontok_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}') {
            *pp = p + 1;
            return 0;
        }
        return bad(e, l, p, "expected ',' or '}' in \"metric\"");
    }
}

/* One element of "values". */
static int parse_value(const char **pp, const char *end, struct scratch *s, const struct line *l,
                       struct err *e)
{
    const char *p = *pp;
    const char *why = NULL;
    double v;
    if (*p == '"') {
        const char *q = p + 1;
        while (q < end && *q != '"' && *q != '\\')
            q++;
        if (q >= end || *q != '"' || !special(p + 1, (size_t)(q - p - 1), &v))
            return bad(e, l, p,
                       "a value string must be \"NaN\", \"+Inf\", \"-Inf\" or "
                       "\"StaleNaN\"");
        *pp = q + 1;
        return push_value(s, v, false);
    }
    if (*p == '-' || (*p >= '0' && *p <= '9')) {
        if (!(*p == '-' && end - p > 1 && !(p[1] >= '0' && p[1] <= '9'))) {
            struct strv num;
            if (jsontok_number(&p, end, &num, &why) != 0)
                return bad(e, l, p, why);
            int rc = jsontok_strtod(num.p, num.n, &v);
            if (rc == -ENOMEM)
                return rc;
            if (rc != 0)
                return bad(e, l, num.p, "invalid number");
            *pp = p;
            return push_value(s, v, false);
        }
    }
    /* A bare word: null, or NaN/Inf written without quotes. */
    const char *q = p;
    while (q < end &&
           ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || *q == '+' || *q == '-'))
        q++;
    struct strv w = {p, (size_t)(q - p)};
    if (strv_eq_c(w, "null")) {
        *pp = q;
        return push_value(s, 0, true);
    }
    if (w.n > 0 && special(w.p, w.n, &v)) {
        *pp = q;
        return push_value(s, v, false);
    }
    return bad(e, l, p, "invalid value: want a number, null, NaN, +Inf, -Inf or StaleNaN");
}

/* One element of "timestamps": an integer number of milliseconds. */
static int parse_time(const char **pp, const char *end, struct scratch *s, const struct line *l,
                      struct err *e)
{
    const char *p = *pp;
    const char *why = NULL;
    struct strv num;
    if (jsontok_number(&p, end, &num, &why) != 0)
        return bad(e, l, p, "invalid timestamp: want integer milliseconds");
    const char *q = num.p, *qe = num.p + num.n;
    bool neg = *q == '-';
    q += neg;
    uint64_t u = 0;
    for (; q < qe; q++) {
        if (*q < '0' || *q > '9')
            return bad(e, l, num.p, "invalid timestamp: want integer milliseconds");
        unsigned d = (unsigned)(*q - '0');
        if (u > (UINT64_C(1) << 63) / 10 || u * 10 + d > (UINT64_C(1) << 63) - !neg)
            return bad(e, l, num.p, "timestamp out of range");
        u = u * 10 + d;
    }
    *pp = p;
    return push_time(s, neg ? (int64_t)(0 - u) : (int64_t)u);
}

typedef int elem_fn(const char **pp, const char *end, struct scratch *s, const struct line *l,
                    struct err *e);

static int parse_array(const char **pp, const char *end, struct scratch *s, const struct line *l,
                       struct err *e, elem_fn *elem, const char *what)
{
    const char *p = jsontok_ws(*pp, end);
    if (p >= end || *p != '[')
        return bad(e, l, p, what);
    p = jsontok_ws(p + 1, end);
    if (p < end && *p == ']') {
        *pp = p + 1;
        return 0;
    }
    for (;;) {
        if (p >= end)
            return bad(e, l, p, "unterminated array");
        int rc = elem(&p, end, s, l, e);
        if (rc != 0)
            return rc;
        p = jsontok_ws(p, end);
        if (p < end && *p == ',') {
            p = jsontok_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == ']') {
            *pp = p + 1;
            return 0;
        }
        return bad(e, l, p, "expected ',' or ']'");
    }
}

/* Parse one non-blank line into an open series of b. 0, TIDE_EPARSE (e set)
 * or -ENOMEM. */
static int parse_line(const char *p, const char *end, struct batch *b, struct scratch *s,
                      const struct line *l, struct err *e)
{
    const char *why = NULL;
    bool have_metric = false, have_values = false, have_times = false;
    int rc;
    s->nv = s->nt = 0;
    if (*p != '{')
        return bad(e, l, p, "expected '{'");
    p = jsontok_ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
        goto done;
    }
    for (;;) {
        struct strv key;
        const char *kp = p;
        rc = jsontok_string(&p, end, b, &key, &why);
        if (rc != 0)
            return rc == TIDE_EPARSE ? bad(e, l, p, why) : rc;
        p = jsontok_ws(p, end);
        if (p >= end || *p != ':')
            return bad(e, l, p, "expected ':'");
        p++;
        bool *seen = NULL;
        if (strv_eq_c(key, "metric")) {
            seen = &have_metric;
            rc = have_metric ? 1 : parse_metric(&p, end, b, l, e);
        } else if (strv_eq_c(key, "values")) {
            seen = &have_values;
            rc = have_values
                     ? 1
                     : parse_array(&p, end, s, l, e, parse_value, "\"values\" must be an array");
        } else if (strv_eq_c(key, "timestamps")) {
            seen = &have_times;
            rc = have_times
                     ? 1
                     : parse_array(&p, end, s, l, e, parse_time, "\"timestamps\" must be an array");
        } else {
            rc = jsontok_skip_value(&p, end, 1, &why);
            if (rc != 0)
                return bad(e, l, p, why);
        }
        if (rc == 1)
            return bad(e, l, kp, "duplicate key");
        if (rc != 0)
            return rc;
        if (seen != NULL)
            *seen = true;
        p = jsontok_ws(p, end);
        if (p < end && *p == ',') {
            p = jsontok_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}') {
            p++;
            break;
        }
        return bad(e, l, p, "expected ',' or '}'");
    }
done:
    p = jsontok_ws(p, end);
    if (p < end)
        return bad(e, l, p, "unexpected data after the object");
    if (!have_metric)
        return bad(e, l, l->start, "missing \"metric\" object");
    if (!have_values || s->nv == 0)
        return bad(e, l, l->start, "missing or empty \"values\" array");
    if (!have_times || s->nt == 0)
        return bad(e, l, l->start, "missing or empty \"timestamps\" array");
    if (s->nv != s->nt) {
        char msg[96];
        snprintf(msg, sizeof msg, "\"values\" has %zu entries but \"timestamps\" has %zu", s->nv,
                 s->nt);
        return bad(e, l, l->start, msg);
    }
    for (size_t i = 0; i < s->nv; i++) {
        if (s->v[i].skip)
            continue;
        if (batch_add_sample(b, s->t[i], s->v[i].v) != 0)
            return -ENOMEM;
    }
    return 0;
}

int jsonl_parse(const char *p, size_t n, struct batch *b, struct ingest_report *r)
{
    struct scratch s = {0};
    const char *end = p + n;
    int rc = 0;
    struct line l = {p, 0};
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        l.start = p;
        l.no++;
        const char *q = jsontok_ws(p, le);
        if (q == le) {
            r->lines_ok++;
        } else {
            struct err e = {0};
            rc = batch_begin_series(b);
            if (rc != 0)
                break;
            rc = parse_line(q, le, b, &s, &l, &e);
            if (rc == 0) {
                /* The labels of "metric" as Prometheus checks them. */
                struct err ve; /* set when a check fails */
                rc = batch_end_series_checked(b, &ve);
                if (rc == TIDE_EPARSE) {
                    bad(&e, &l, q, ve.msg);
                    ingest_report_bad(r, &e);
                    rc = 0;
                } else if (rc != 0) {
                    break;
                } else {
                    r->lines_ok++;
                }
            } else {
                batch_abort_series(b);
                if (rc != TIDE_EPARSE)
                    break;
                rc = 0;
                ingest_report_bad(r, &e);
            }
        }
        p = nl ? nl + 1 : end;
    }
    free(s.v);
    free(s.t);
    return rc;
}

/* Append the decimal digits of t. */
static int put_i64(struct buf *dst, int64_t t)
{
    char tmp[24];
    char *o = tmp + sizeof tmp;
    uint64_t u = t < 0 ? 0 - (uint64_t)t : (uint64_t)t;
    do {
        *--o = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (t < 0)
        *--o = '-';
    return buf_append(dst, o, (size_t)(tmp + sizeof tmp - o));
}

static int put_value(struct buf *dst, double v)
{
    if (isnan(v))
        return buf_puts(dst, to_bits(v) == STALE_NAN_BITS ? "\"StaleNaN\"" : "\"NaN\"");
    if (isinf(v))
        return buf_puts(dst, v > 0 ? "\"+Inf\"" : "\"-Inf\"");
    char tmp[32];
    int k = ingest_format_float(tmp, v);
    return buf_append(dst, tmp, (size_t)k);
}

int jsonl_format(struct buf *dst, const struct label *ls, size_t nls, const struct sample *v,
                 size_t n)
{
    if (n == 0)
        return 0;
    size_t mark = dst->len;
    int rc = buf_puts(dst, "{\"metric\":{");
    bool first = true;
    /* __name__ first, as VictoriaMetrics writes it; then the rest in order. */
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        for (size_t i = 0; i < nls && rc == 0; i++) {
            bool is_name = strv_eq_c(ls[i].name, LABEL_METRIC_NAME);
            if (is_name != (pass == 0))
                continue;
            if (!first)
                rc = buf_putc(dst, ',');
            first = false;
            if (rc == 0)
                rc = jsontok_put_string(dst, ls[i].name.p, ls[i].name.n);
            if (rc == 0)
                rc = buf_putc(dst, ':');
            if (rc == 0)
                rc = jsontok_put_string(dst, ls[i].value.p, ls[i].value.n);
        }
    }
    if (rc == 0)
        rc = buf_puts(dst, "},\"values\":[");
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0)
            rc = buf_putc(dst, ',');
        if (rc == 0)
            rc = put_value(dst, v[i].v);
    }
    if (rc == 0)
        rc = buf_puts(dst, "],\"timestamps\":[");
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0)
            rc = buf_putc(dst, ',');
        if (rc == 0)
            rc = put_i64(dst, v[i].t_ms);
    }
    if (rc == 0)
        rc = buf_puts(dst, "]}\n");
    if (rc != 0) {
        dst->len = mark;
        if (dst->p)
            dst->p[mark] = 0;
    }
    return rc;
}
