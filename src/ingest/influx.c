/* influx.c: Influx line protocol to a struct batch, the hot path of writes
 * (/write, /api/v2/write) and of the ingest benchmark.
 *
 *   <measurement>[,<tag>=<value>...] <field>=<value>[,<field>=<value>...] [<time>]
 *
 * Each numeric field becomes one series named <measurement>_<field> (a field
 * called "value" keeps the bare measurement name) whose labels are the tags,
 * as VictoriaMetrics does; string fields are skipped. A tag named __name__ is
 * dropped: the derived name replaces it. Names become Prometheus names as
 * VictoriaMetrics' -usePromCompatibleNaming makes them (prom_name()); then
 * every series passes labels_validate(), so a tag value that is not UTF-8, a
 * name that is not UTF-8 or a duplicate tag key makes the line bad.
 * Zero-copy: tokens borrow from the input unless they hold a backslash, in
 * which case the unescaped copy goes to the batch arena. Derived names are
 * made once per run of lines and reused; nothing is malloc'ed per line.
 * A bad line is reported with its line and column and skipped; the others
 * are kept. Semantics: docs/api/write.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/utf8.h"
#include "ingest/ingest.h"
#include "ingest/jsontok.h"
#include "model/labels.h"

#define MEMO_MAX 32 /* derived names remembered for the current measurement */

/* Byte classes: which unescaped bytes end a token in each position. */
enum {
    STOP_MEAS = 1,  /* measurement: ',' ' ' */
    STOP_KEY = 2,   /* tag key, field key: ',' '=' ' ' */
    STOP_VALUE = 4, /* tag value, numeric field value: ',' ' ' */
};

static const unsigned char stop_tab[256] = {
    [','] = STOP_MEAS | STOP_KEY | STOP_VALUE,
    [' '] = STOP_MEAS | STOP_KEY | STOP_VALUE,
    ['='] = STOP_KEY,
};

struct field {
    struct strv key; /* field key, unescaped */
    double v;        /* its numeric value */
};

struct memo {
    struct strv field; /* field key */
    struct strv name;  /* <measurement>_<field>, in the arena or the input */
};

/* One influx_parse() call. The arrays are reused from line to line. */
struct parser {
    struct batch *b;
    const struct influx_opts *o;
    struct label *tags; /* the line's tags, name = tag key, both unescaped */
    size_t ntags, cap_tags;
    struct field *fields;
    size_t nfields, cap_fields;
    struct strv memo_meas; /* the measurement the memo entries belong to */
    struct memo memo[MEMO_MAX];
    size_t nmemo;
    const char *ls; /* start of the current line */
    int line;       /* its 1-based number */
    struct err e;   /* detail of the current line's error */
};

static int bad(struct parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct parser *ps, const char *at, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ERR_PARSE(&ps->e, ps->line, (int)(at - ps->ls) + 1, "line %d: %s", ps->line, msg);
}

/* At most 40 bytes of a token, for messages. */
#define CLIP(s) (int)((s).n > 40 ? 40 : (s).n), (s).p

/* Scan to the first unescaped byte of class `stop` (or le). A backslash
 * escapes the byte after it; *esc says whether one was seen. */
static const char *scan(const char *p, const char *le, unsigned stop, bool *esc)
{
    while (p < le) {
        unsigned char c = (unsigned char)*p;
        if (stop_tab[c] & stop)
            break;
        if (c == '\\') {
            *esc = true;
            if (le - p >= 2)
                p++;
        }
        p++;
    }
    return p;
}

/* The token [s, e) unescaped: a backslash before one of `specials` or before
 * another backslash is dropped; any other backslash stays. Borrows when
 * `esc` is false. */
static int token(struct parser *ps, const char *s, const char *e, bool esc, const char *specials,
                 struct strv *out)
{
    size_t n = (size_t)(e - s);
    if (!esc) {
        *out = (struct strv){s, n};
        return 0;
    }
    char *o = arena_alloc(&ps->b->arena, n + 1);
    if (o == NULL)
        return -ENOMEM;
    size_t k = 0;
    for (const char *p = s; p < e; p++) {
        if (*p == '\\' && e - p >= 2 && (p[1] == '\\' || strchr(specials, p[1]) != NULL))
            p++;
        o[k++] = *p;
    }
    o[k] = 0;
    *out = (struct strv){o, k};
    return 0;
}

static bool word_eq(struct strv w, const char *s)
{
    return strv_eq_c(w, s);
}

/* A numeric field value: 1.5, -2e3, 10i, 10u, t/true/..., f/false/....
 * 0 with *v set, or 1 when the text is not a valid value. */
static int field_value(struct strv t, double *v)
{
    char last = t.p[t.n - 1];
    if (last == 'i' || last == 'u') {
        const char *p = t.p, *e = t.p + t.n - 1;
        bool neg = false;
        if (last == 'i' && p < e && (*p == '-' || *p == '+')) {
            neg = *p == '-';
            p++;
        }
        if (p == e)
            return 1;
        uint64_t u = 0;
        uint64_t lim = last == 'u' ? UINT64_MAX : (UINT64_C(1) << 63) - !neg;
        for (; p < e; p++) {
            if (*p < '0' || *p > '9')
                return 1;
            unsigned d = (unsigned)(*p - '0');
            if (u > (lim - d) / 10)
                return 1;
            u = u * 10 + d;
        }
        *v = neg ? -(double)u : (double)u;
        return 0;
    }
    char first = t.p[0];
    if (first == 't' || first == 'T') {
        *v = 1;
        return word_eq(t, "t") || word_eq(t, "T") || word_eq(t, "true") || word_eq(t, "True") ||
                       word_eq(t, "TRUE")
                   ? 0
                   : 1;
    }
    if (first == 'f' || first == 'F') {
        *v = 0;
        return word_eq(t, "f") || word_eq(t, "F") || word_eq(t, "false") || word_eq(t, "False") ||
                       word_eq(t, "FALSE")
                   ? 0
                   : 1;
    }
    return jsontok_strtod(t.p, t.n, v) == 0 ? 0 : 1;
}

static bool to_ms(int64_t t, enum influx_precision pr, int64_t *out)
{
    int64_t div = 1, mul = 1;
    switch (pr) {
    case INFLUX_NS:
        div = 1000000;
        break;
    case INFLUX_US:
        div = 1000;
        break;
    case INFLUX_MS:
        break;
    case INFLUX_S:
        mul = 1000;
        break;
    case INFLUX_M:
        mul = 60000;
        break;
    case INFLUX_H:
        mul = 3600000;
        break;
    }
    if (div > 1) {
        int64_t q = t / div;
        if (t % div != 0 && t < 0)
            q--; /* floor, so -1ns is in the millisecond before 0 */
        *out = q;
        return true;
    }
    return !__builtin_mul_overflow(t, mul, out);
}

/* `s` as a Prometheus name of kind `k` (LABELS_CHAR_METRIC or _LABEL), the way
 * VictoriaMetrics' -usePromCompatibleNaming and Telegraf's Prometheus output
 * write Influx names: each character outside the name's alphabet becomes
 * '_' (one '_' per UTF-8 character), and a leading digit gets a '_' in front
 * ("cpu.load" -> "cpu_load", "1m" -> "_1m"). A valid name is borrowed as it
 * is; one that is not valid UTF-8 is kept too, for labels_validate() to
 * refuse. 0 or -ENOMEM. */
static int prom_name(struct parser *ps, struct strv s, unsigned k, struct strv *out)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0;
    while (i < s.n && (labels_name_chars[p[i]] & k))
        i++;
    bool digit = s.n > 0 && (labels_name_chars[p[0]] & LABELS_CHAR_DIGIT);
    if ((i == s.n && !digit) || !utf8_valid(s.p, s.n)) {
        *out = s;
        return 0;
    }
    char *o = arena_alloc(&ps->b->arena, s.n + 2);
    if (o == NULL)
        return -ENOMEM;
    size_t n = 0;
    if (digit)
        o[n++] = '_';
    for (i = 0; i < s.n; i++) {
        if (labels_name_chars[p[i]] & k) {
            o[n++] = (char)p[i];
        } else {
            o[n++] = '_';
            i += utf8_seq_len(p + i, s.n - i) - 1; /* >= 1: s is valid UTF-8 */
        }
    }
    o[n] = 0;
    *out = (struct strv){o, n};
    return 0;
}

/* The series name for field f of measurement m: from the memo, or made. */
static int series_name(struct parser *ps, struct strv m, struct strv f, size_t idx,
                       struct strv *out)
{
    if (!strv_eq(ps->memo_meas, m)) {
        ps->memo_meas = m;
        ps->nmemo = 0;
    }
    /* The i-th field of a line is usually the i-th of the line before. */
    if (idx < ps->nmemo && strv_eq(ps->memo[idx].field, f)) {
        *out = ps->memo[idx].name;
        return 0;
    }
    for (size_t i = 0; i < ps->nmemo; i++) {
        if (strv_eq(ps->memo[i].field, f)) {
            *out = ps->memo[i].name;
            return 0;
        }
    }
    struct strv raw = m;
    if (!word_eq(f, "value")) {
        char *o = arena_alloc(&ps->b->arena, m.n + 1 + f.n + 1);
        if (o == NULL)
            return -ENOMEM;
        memcpy(o, m.p, m.n);
        o[m.n] = '_';
        memcpy(o + m.n + 1, f.p, f.n);
        o[m.n + 1 + f.n] = 0;
        raw = (struct strv){o, m.n + 1 + f.n};
    }
    int rc = prom_name(ps, raw, LABELS_CHAR_METRIC, out);
    if (rc != 0)
        return rc;
    if (ps->nmemo < MEMO_MAX)
        ps->memo[ps->nmemo++] = (struct memo){f, *out};
    return 0;
}

/* Parse the line [p, le) (no '\n', no trailing '\r', not blank, not a
 * comment) and append its series. 0, TIDE_EPARSE (ps->e set) or -ENOMEM. */
static int parse_line(struct parser *ps, const char *p, const char *le)
{
    struct batch *b = ps->b;
    bool esc = false;
    int rc;

    /* Measurement. */
    const char *s = p;
    p = scan(p, le, STOP_MEAS, &esc);
    if (p == s)
        return bad(ps, s, "missing measurement");
    struct strv meas;
    rc = token(ps, s, p, esc, ", ", &meas);
    if (rc != 0)
        return rc;

    /* Tags. */
    ps->ntags = 0;
    while (p < le && *p == ',') {
        struct strv key, value;
        s = ++p;
        esc = false;
        p = scan(p, le, STOP_KEY, &esc);
        if (p == s)
            return bad(ps, s, "missing tag key");
        if (p >= le || *p != '=')
            return bad(ps, p, "missing '=' after tag key \"%.*s\"", (int)(p - s), s);
        rc = token(ps, s, p, esc, ",= ", &key);
        if (rc != 0)
            return rc;
        s = ++p;
        esc = false;
        p = scan(p, le, STOP_VALUE, &esc);
        if (p == s)
            return bad(ps, s, "missing value for tag \"%.*s\"", CLIP(key));
        rc = token(ps, s, p, esc, ",= ", &value);
        if (rc != 0)
            return rc;
        if (strv_eq(key, STRV_LIT(LABEL_METRIC_NAME)))
            continue; /* replaced by the derived name */
        rc = prom_name(ps, key, LABELS_CHAR_LABEL, &key);
        if (rc != 0)
            return rc;
        if (mem_grow((void **)&ps->tags, &ps->cap_tags, ps->ntags + 1, sizeof *ps->tags))
            return -ENOMEM;
        ps->tags[ps->ntags++] = (struct label){key, value};
    }
    if (p >= le)
        return bad(ps, p, "missing fields");
    while (p < le && *p == ' ')
        p++;
    if (p >= le)
        return bad(ps, p, "missing fields");

    /* Fields. */
    ps->nfields = 0;
    for (;;) {
        struct strv key;
        s = p;
        esc = false;
        p = scan(p, le, STOP_KEY, &esc);
        if (p == s)
            return bad(ps, s, "missing field key");
        if (p >= le || *p != '=')
            return bad(ps, p, "missing '=' after field key \"%.*s\"", (int)(p - s), s);
        rc = token(ps, s, p, esc, ",= ", &key);
        if (rc != 0)
            return rc;
        s = ++p;
        if (p < le && *p == '"') {
            /* A string field: checked, then skipped. */
            p++;
            while (p < le && *p != '"') {
                if (*p == '\\' && le - p >= 2)
                    p++;
                p++;
            }
            if (p >= le)
                return bad(ps, s, "unterminated string value for field \"%.*s\"", CLIP(key));
            p++;
            if (p < le && *p != ',' && *p != ' ')
                return bad(ps, p, "unexpected text after string value of field \"%.*s\"",
                           CLIP(key));
        } else {
            p = scan(p, le, STOP_VALUE, &esc);
            struct strv t = {s, (size_t)(p - s)};
            double v;
            if (t.n == 0)
                return bad(ps, s, "missing value for field \"%.*s\"", CLIP(key));
            if (field_value(t, &v) != 0)
                return bad(ps, s, "invalid field value \"%.*s\" for field \"%.*s\"", CLIP(t),
                           CLIP(key));
            if (mem_grow((void **)&ps->fields, &ps->cap_fields, ps->nfields + 1, sizeof *ps->fields))
                return -ENOMEM;
            ps->fields[ps->nfields++] = (struct field){key, v};
        }
        if (p < le && *p == ',') {
            p++;
            continue;
        }
        break;
    }

    /* Timestamp. */
    int64_t t_ms = ps->o->default_t_ms;
    while (p < le && *p == ' ')
        p++;
    if (p < le) {
        s = p;
        bool neg = *p == '-';
        p += neg;
        uint64_t u = 0;
        const char *d0 = p;
        while (p < le && *p >= '0' && *p <= '9') {
            unsigned d = (unsigned)(*p - '0');
            if (u > ((UINT64_C(1) << 63) - !neg - d) / 10)
                return bad(ps, s, "timestamp out of range");
            u = u * 10 + d;
            p++;
        }
        const char *te = p;
        while (p < le && *p == ' ')
            p++;
        if (te == d0 || p < le)
            return bad(ps, s, "invalid timestamp \"%.*s\"", (int)(le - s > 40 ? 40 : le - s), s);
        int64_t t = neg ? (int64_t)(0 - u) : (int64_t)u;
        if (!to_ms(t, ps->o->precision, &t_ms))
            return bad(ps, s, "timestamp out of range");
    }

    /* One series per numeric field. The labels go in already sorted, so
     * that batch_end_series_checked() only checks the order: the tags sorted
     * once per line, __name__ after every tag key < "__name__". A series
     * refused by labels_validate() makes the whole line bad: the series of
     * its earlier fields are taken back out. */
    if (ps->nfields == 0)
        return 0;
    size_t s0 = b->nseries, l0 = b->nlabels, v0 = b->nsamples;
    /* Stable, and one pass when the tags arrive sorted, as Influx asks of clients. */
    labels_sort(ps->tags, ps->ntags);
    size_t at = 0;
    while (at < ps->ntags && strv_cmp(ps->tags[at].name, STRV_LIT(LABEL_METRIC_NAME)) <= 0)
        at++;
    for (size_t i = 0; i < ps->nfields; i++) {
        struct strv name;
        rc = series_name(ps, meas, ps->fields[i].key, i, &name);
        if (rc == 0)
            rc = batch_begin_series(b);
        for (size_t j = 0; j < at && rc == 0; j++)
            rc = batch_add_label(b, ps->tags[j].name, ps->tags[j].value);
        if (rc == 0)
            rc = batch_add_label(b, STRV_LIT(LABEL_METRIC_NAME), name);
        for (size_t j = at; j < ps->ntags && rc == 0; j++)
            rc = batch_add_label(b, ps->tags[j].name, ps->tags[j].value);
        if (rc == 0)
            rc = batch_add_sample(b, t_ms, ps->fields[i].v);
        /* The fields of a line share its tags: once the first series passed
         * labels_validate(), the others differ only in a __name__ that the
         * tags cannot duplicate, so checking that name is enough (and keeps
         * the hot path fast); a bad one goes through the full check for
         * its message. */
        struct err ve; /* set when a check fails */
        if (rc == 0 && i > 0 && labels_valid_metric_name(name))
            rc = batch_end_series(b);
        else if (rc == 0)
            rc = batch_end_series_checked(b, &ve);
        if (rc != 0) {
            batch_abort_series(b);
            b->nseries = s0;
            b->nlabels = l0;
            b->nsamples = v0;
            if (rc == TIDE_EPARSE)
                return bad(ps, ps->ls, "%s", ve.msg);
            return rc;
        }
    }
    return 0;
}

int influx_parse(const char *p, size_t n, const struct influx_opts *o, struct batch *b,
                 struct ingest_report *r)
{
    struct parser ps = {.b = b, .o = o};
    const char *end = p + n;
    int rc = 0;
    bool reserved = false;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        ps.ls = p;
        ps.line++;
        if (le > p && le[-1] == '\r')
            le--;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t'))
            q++;
        if (q == le || *q == '#') {
            r->lines_ok++;
            p = next;
            continue;
        }
        size_t s0 = b->nseries, l0 = b->nlabels, v0 = b->nsamples;
        rc = parse_line(&ps, q, le);
        if (rc == 0 && !reserved && b->nseries > s0) {
            /* Size the batch once from the first good line: bodies are
             * usually many lines of one shape, and growing by doubling
             * would copy the label array (the bulk of a batch) ~log n times. */
            size_t lines = (size_t)(end - p) / (size_t)(next - p) + 1;
            lines += lines / 8;
            if (batch_reserve(b, lines * (b->nseries - s0), lines * (b->nlabels - l0),
                              lines * (b->nsamples - v0)) != 0)
                rc = -ENOMEM;
            reserved = true;
        }
        if (rc == 0) {
            r->lines_ok++;
        } else if (rc == TIDE_EPARSE) {
            /* parse_line() adds series only once the whole line parsed:
             * nothing of a bad line is in the batch. */
            ingest_report_bad(r, &ps.e);
            rc = 0;
        } else {
            break;
        }
        p = next;
    }
    free(ps.tags);
    free(ps.fields);
    return rc;
}

int influx_precision_parse(const char *s, enum influx_precision *out)
{
    static const struct {
        const char *name;
        enum influx_precision p;
    } tab[] = {
        {"ns", INFLUX_NS}, {"n", INFLUX_NS}, {"us", INFLUX_US}, {"u", INFLUX_US},
        {"ms", INFLUX_MS}, {"s", INFLUX_S},  {"m", INFLUX_M},   {"h", INFLUX_H},
    };
    for (size_t i = 0; s != NULL && i < sizeof tab / sizeof tab[0]; i++) {
        if (strcmp(s, tab[i].name) == 0) {
            *out = tab[i].p;
            return 0;
        }
    }
    return TIDE_EINVAL;
}
