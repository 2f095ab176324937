/* expfmt.c: Prometheus text exposition format 0.0.4 to a batch (ingest/).
 * One pass over the bytes, line by line; a sample line is
 *
 *     metric_name [ "{" label_name "=" "\"" value "\"" { "," ... } [ "," ] "}" ] value [ ts_ms ]
 *
 * with blanks and tabs allowed between tokens, as Prometheus' own lexer
 * allows. Each line becomes one single-sample series: several lines of the
 * same series are merged by storage, not here. HELP, TYPE and UNIT lines
 * become the batch's metadata (batch_add_meta()), one entry per family.
 * Invariant: nothing is read at or past `end`; the input needs no NUL.
 */
#include "ingest/expfmt.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers ---- */

static bool ieq(const char *p, size_t n, const char *word)
{
    size_t m = strlen(word);
    if (n != m)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return false;
    }
    return true;
}

/* Exact powers of ten representable in a double (Clinger's fast path). */
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Decimal text with at most 15 significant digits and a small exponent is
 * converted exactly by one multiplication or division. 1 when done. */
static int fast_decimal(const char *p, size_t n, double *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (p[i] == '+' || p[i] == '-'))
        neg = p[i++] == '-';
    uint64_t mant = 0;
    int digits = 0, exp10 = 0;
    bool any = false;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        if (mant != 0 || p[i] != '0')
            digits++;
        mant = mant * 10 + (uint64_t)(p[i] - '0');
        any = true;
        if (digits > 15)
            return 0;
        i++;
    }
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            if (mant != 0 || p[i] != '0')
                digits++;
            mant = mant * 10 + (uint64_t)(p[i] - '0');
            exp10--;
            any = true;
            if (digits > 15)
                return 0;
            i++;
        }
    }
    if (!any)
        return 0;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            eneg = p[i++] == '-';
        if (i == n)
            return 0;
        int e = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            if (e > 1000)
                return 0;
            e = e * 10 + (p[i] - '0');
            i++;
        }
        exp10 += eneg ? -e : e;
    }
    if (i != n || exp10 < -22 || exp10 > 22)
        return 0;
    double v = (double)mant;
    v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
    *out = neg ? -v : v;
    return 1;
}

int expfmt_parse_float(const char *p, size_t n, double *out)
{
    if (n == 0)
        return TIDE_EPARSE;
    if (fast_decimal(p, n, out))
        return 0;
    size_t s = (p[0] == '+' || p[0] == '-') ? 1 : 0;
    if (ieq(p + s, n - s, "inf") || ieq(p + s, n - s, "infinity")) {
        *out = p[0] == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    if (ieq(p, n, "nan")) {
        *out = NAN;
        return 0;
    }
    /* strtod for the rest, on a NUL-terminated copy of a plausible number:
     * only the characters of decimal and hexadecimal floats may pass. */
    char tmp[401];
    if (n >= sizeof tmp)
        return TIDE_EPARSE;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        bool ok = (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-' || c == 'x' ||
                  c == 'X' || c == 'p' || c == 'P' || (c >= 'a' && c <= 'f') ||
                  (c >= 'A' && c <= 'F');
        if (!ok)
            return TIDE_EPARSE;
        tmp[i] = c;
    }
    tmp[n] = 0;
    /* Go wants a 'p' exponent on hex floats; strtod does not. */
    if (n > s + 1 && tmp[s] == '0' && (tmp[s + 1] == 'x' || tmp[s + 1] == 'X') &&
        strpbrk(tmp, "pP") == NULL)
        return TIDE_EPARSE;
    char *endp;
    errno = 0;
    double v = strtod(tmp, &endp);
    if (endp != tmp + n || endp == tmp)
        return TIDE_EPARSE;
    *out = v; /* out of range gives ±Inf or a denormal/0, as Go does (ERANGE aside) */
    return 0;
}

/* ---- lines ---- */

struct line {
    const char *p, *end; /* the line without its '\n' and trailing '\r' */
    const char *start;   /* the first byte of the line, for columns */
    int no;              /* 1-based line number */
};

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && blank(*p))
        p++;
    return p;
}

static bool name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

static int line_err(struct ingest_report *r, const struct line *l, const char *at,
                    const char *why)
{
    struct err e;
    int col = (int)(at - l->start) + 1;
    err_set_at(&e, TIDE_EPARSE, ERR_WHERE, l->no, col, "line %d col %d: %s", l->no, col, why);
    if (r)
        ingest_report_bad(r, &e);
    return TIDE_EPARSE;
}

/* HELP text after its name: escapes `\\` and `\n` are undone (Prometheus'
 * text format), copied into the batch arena only when there are any. */
static int help_text(const char *p, const char *end, struct batch *b, struct strv *out)
{
    if (memchr(p, '\\', (size_t)(end - p)) == NULL) {
        *out = (struct strv){p, (size_t)(end - p)};
        return 0;
    }
    char *dst = arena_alloc(&b->arena, (size_t)(end - p) + 1);
    if (dst == NULL)
        return -ENOMEM;
    size_t n = 0;
    for (const char *s = p; s < end; s++) {
        if (*s == '\\' && s + 1 < end && (s[1] == '\\' || s[1] == 'n')) {
            dst[n++] = s[1] == 'n' ? '\n' : '\\';
            s++;
        } else {
            dst[n++] = *s;
        }
    }
    *out = (struct strv){dst, n};
    return 0;
}

/* `# HELP name text`, `# TYPE name type`, `# UNIT name unit` (OpenMetrics),
 * `# EOF` or any other comment. HELP, TYPE and UNIT are recorded in the
 * batch's metadata. Returns 1 for `# EOF`, 0 for a good comment, TIDE_EPARSE
 * for a bad one, -ENOMEM. */
static int comment(const struct line *l, struct batch *b, struct ingest_report *r)
{
    const char *p = skip_blanks(l->p + 1, l->end);
    const char *w = p;
    while (p < l->end && !blank(*p))
        p++;
    size_t wn = (size_t)(p - w);
    if (wn == 3 && memcmp(w, "EOF", 3) == 0 && skip_blanks(p, l->end) == l->end)
        return 1;
    bool help = wn == 4 && memcmp(w, "HELP", 4) == 0;
    bool type = wn == 4 && memcmp(w, "TYPE", 4) == 0;
    bool unit = wn == 4 && memcmp(w, "UNIT", 4) == 0;
    if (!help && !type && !unit)
        return 0;
    p = skip_blanks(p, l->end);
    const char *name = p;
    if (p == l->end || !(name_start(*p) || *p == ':'))
        return line_err(r, l, p,
                        help   ? "HELP without a metric name"
                        : type ? "TYPE without a metric name"
                               : "UNIT without a metric name");
    while (p < l->end && (name_char(*p) || *p == ':'))
        p++;
    if (p < l->end && !blank(*p))
        return line_err(r, l, p, "invalid character in metric name");
    struct batch_meta m = {.family = {name, (size_t)(p - name)}, .type = METRIC_TYPE_NONE};
    if (help) { /* the rest of the line, after the blanks, is the text */
        int rc = help_text(skip_blanks(p, l->end), l->end, b, &m.help);
        return rc != 0 ? rc : batch_add_meta(b, &m);
    }
    if (unit) {
        p = skip_blanks(p, l->end);
        const char *u = p;
        while (p < l->end && !blank(*p))
            p++;
        if (skip_blanks(p, l->end) != l->end)
            return line_err(r, l, p, "UNIT takes one word");
        m.unit = (struct strv){u, (size_t)(p - u)};
        return batch_add_meta(b, &m);
    }
    p = skip_blanks(p, l->end);
    const char *t = p;
    while (p < l->end && !blank(*p))
        p++;
    size_t tn = (size_t)(p - t);
    static const struct {
        const char *name;
        enum metric_type type;
    } types[] = {
        {"counter", METRIC_TYPE_COUNTER},     {"gauge", METRIC_TYPE_GAUGE},
        {"histogram", METRIC_TYPE_HISTOGRAM}, {"summary", METRIC_TYPE_SUMMARY},
        {"untyped", METRIC_TYPE_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (tn == strlen(types[i].name) && memcmp(t, types[i].name, tn) == 0 &&
            skip_blanks(p, l->end) == l->end) {
            m.type = types[i].type;
            return batch_add_meta(b, &m);
        }
    return line_err(r, l, t, "TYPE must be counter, gauge, histogram, summary or untyped");
}

/* A label value from the opening quote at *pp; *pp left after the closing
 * quote. Borrowed from the line unless it has escapes. */
static int label_value(const char **pp, const struct line *l, struct batch *b,
                       struct ingest_report *r, struct strv *out)
{
    const char *p = *pp + 1;
    const char *v = p;
    bool esc = false;
    while (p < l->end && *p != '"') {
        if (*p == '\\') {
            esc = true;
            p++;
            if (p == l->end)
                break;
        }
        p++;
    }
    if (p >= l->end)
        return line_err(r, l, *pp, "unterminated label value");
    *pp = p + 1;
    if (!esc) {
        *out = (struct strv){v, (size_t)(p - v)};
        return 0;
    }
    char *dst = arena_alloc(&b->arena, (size_t)(p - v));
    if (dst == NULL)
        return -ENOMEM;
    size_t n = 0;
    for (const char *s = v; s < p; s++) {
        if (*s == '\\') {
            s++;
            if (*s == 'n')
                dst[n++] = '\n';
            else if (*s == '\\' || *s == '"')
                dst[n++] = *s;
            else { /* unknown escapes stay as written, as Prometheus keeps them */
                dst[n++] = '\\';
                dst[n++] = *s;
            }
        } else {
            dst[n++] = *s;
        }
    }
    *out = (struct strv){dst, n};
    return 0;
}

int expfmt_parse_int64(const char *p, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (p[i] == '+' || p[i] == '-'))
        neg = p[i++] == '-';
    if (i == n)
        return -1;
    uint64_t v = 0;
    uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (lim - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* Forget the series of a bad line and report the line. */
static int fail(struct batch *b, struct ingest_report *r, const struct line *l, const char *at,
                const char *why)
{
    batch_abort_series(b);
    return line_err(r, l, at, why);
}

/* One sample line. 0, TIDE_EPARSE (reported) or -ENOMEM. */
static int sample_line(const struct line *l, const struct expfmt_opts *o, bool om, struct batch *b,
                       struct ingest_report *r)
{
    const char *p = l->p;
    const char *name = p;
    if (!(name_start(*p) || *p == ':'))
        return line_err(r, l, p, "expected a metric name");
    while (p < l->end && (name_char(*p) || *p == ':'))
        p++;
    int rc = batch_begin_series(b);
    if (rc != 0)
        return rc;
    rc = batch_add_label(b, STRV_LIT(LABEL_METRIC_NAME),
                         (struct strv){name, (size_t)(p - name)});
    if (rc != 0)
        return rc;
    const char *brace = skip_blanks(p, l->end);
    if (brace < l->end && *brace == '{') {
        p = brace;
        p = skip_blanks(p + 1, l->end);
        while (p < l->end && *p != '}') {
            const char *ln = p;
            if (!name_start(*p))
                goto bad_label_name;
            while (p < l->end && name_char(*p))
                p++;
            struct strv lname = {ln, (size_t)(p - ln)};
            p = skip_blanks(p, l->end);
            if (p == l->end || *p != '=')
                return fail(b, r, l, p, "expected '=' after label name");
            p = skip_blanks(p + 1, l->end);
            if (p == l->end || *p != '"')
                return fail(b, r, l, p, "expected '\"' to open label value");
            struct strv lval;
            rc = label_value(&p, l, b, r, &lval);
            if (rc != 0) {
                batch_abort_series(b);
                return rc;
            }
            rc = batch_add_label(b, lname, lval);
            if (rc != 0)
                return rc;
            p = skip_blanks(p, l->end);
            if (p < l->end && *p == ',')
                p = skip_blanks(p + 1, l->end);
            else if (p < l->end && *p != '}')
                return fail(b, r, l, p, "expected ',' or '}' after label");
        }
        if (p == l->end)
            return fail(b, r, l, p, "unterminated label set");
        p++;
    } else if (p < l->end && !blank(*p)) {
        return fail(b, r, l, p, "invalid character in metric name");
    }
    p = skip_blanks(p, l->end);
    const char *vs = p;
    while (p < l->end && !blank(*p))
        p++;
    double v;
    if (vs == p)
        return fail(b, r, l, vs, "missing value");
    if (expfmt_parse_float(vs, (size_t)(p - vs), &v) != 0)
        return fail(b, r, l, vs, "invalid value");
    int64_t t_ms = o->default_t_ms;
    p = skip_blanks(p, l->end);
    if (p < l->end && *p != '#') {
        const char *ts = p;
        while (p < l->end && !blank(*p))
            p++;
        if (om) {
            double sec;
            if (expfmt_parse_float(ts, (size_t)(p - ts), &sec) != 0 || !(sec == sec) ||
                sec > 9.2e15 || sec < -9.2e15)
                return fail(b, r, l, ts, "invalid timestamp (seconds)");
            t_ms = (int64_t)(sec * 1000.0); /* OpenMetrics: float seconds, Prometheus truncates */
        } else if (expfmt_parse_int64(ts, (size_t)(p - ts), &t_ms) != 0) {
            return fail(b, r, l, ts, "invalid timestamp (int64 milliseconds)");
        }
        p = skip_blanks(p, l->end);
    }
    /* An OpenMetrics exemplar (" # {...} value [ts]") is ignored. */
    if (p < l->end && !(*p == '#' && p + 1 < l->end && blank(p[1])))
        return fail(b, r, l, p, "unexpected text after the sample");
    rc = batch_add_sample(b, t_ms, v);
    if (rc != 0)
        return rc;
    /* Duplicate names and label values that are not UTF-8: the shared check. */
    struct err ve; /* set when a check fails */
    rc = batch_end_series_checked(b, &ve);
    if (rc == TIDE_EPARSE)
        return line_err(r, l, l->p, ve.msg);
    return rc;

bad_label_name:
    return fail(b, r, l, p, "invalid label name");
}

static int parse(const char *p, size_t n, const struct expfmt_opts *o, bool om, struct batch *b,
                 struct ingest_report *r)
{
    if (n == 0)
        return 0; /* p may be NULL */
    const char *end = p + n;
    struct line l = {0};
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        l.no++;
        l.start = p;
        l.end = le;
        if (l.end > p && l.end[-1] == '\r')
            l.end--;
        l.p = skip_blanks(p, l.end);
        p = nl ? nl + 1 : end;
        int rc = 0;
        if (l.p == l.end) {
            rc = 0;
        } else if (*l.p == '#') {
            rc = comment(&l, b, r);
            if (rc == -ENOMEM)
                return rc;
            if (rc == 1) {
                if (r)
                    r->lines_ok++;
                break;
            }
        } else {
            rc = sample_line(&l, o, om, b, r);
            if (rc == -ENOMEM) {
                batch_abort_series(b);
                return rc;
            }
        }
        if (rc == 0 && r)
            r->lines_ok++;
    }
    return 0;
}

int expfmt_parse(const char *p, size_t n, const struct expfmt_opts *o, struct batch *b,
                 struct ingest_report *r)
{
    return parse(p, n, o, false, b, r);
}

int expfmt_parse_openmetrics(const char *p, size_t n, const struct expfmt_opts *o,
                             struct batch *b, struct ingest_report *r)
{
    return parse(p, n, o, true, b, r);
}
