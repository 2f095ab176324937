/* csv_import.c: CSV import with VictoriaMetrics' column mapping (ingest/).
 * Two steps per row: an RFC 4180 reader splits one record into fields
 * (borrowed from the input unless a quoted field holds ""), then the format
 * maps fields to a time, labels and metric values, and each non-empty metric
 * cell becomes a one-sample series. A record's errors are found before any
 * of its series is added, so a bad row leaves nothing in the batch.
 * Invariant: nothing is read at or past the end of the input.
 */
#include "ingest/csv_import.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ingest/expfmt.h"

/* ---- format ---- */

static bool eq(const char *p, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(p, s, n) == 0;
}

int csv_import_format_parse(const char *spec, size_t n, struct csv_import_format *out,
                            struct err *e)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return err_set_at(e, TIDE_EINVAL, ERR_WHERE, 0, 1, "format is empty");
    const char *p = spec, *end = spec + n;
    bool has_time = false, has_metric = false;
    int entry = 0;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *ee = comma ? comma : end;
        entry++;
        const char *c1 = memchr(p, ':', (size_t)(ee - p));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(ee - c1 - 1)) : NULL;
        if (c2 == NULL)
            return err_set_at(e, TIDE_EINVAL, ERR_WHERE, 0, entry,
                              "format entry #%d must be <column_pos>:<type>:<arg>", entry);
        size_t pos = 0;
        for (const char *d = p; d < c1; d++) {
            if (*d < '0' || *d > '9' || pos > CSV_IMPORT_MAX_COLS)
                return err_set_at(e, TIDE_EINVAL, ERR_WHERE, 0, entry,
                                  "format entry #%d: column position must be 1..%d", entry,
                                  CSV_IMPORT_MAX_COLS);
            pos = pos * 10 + (size_t)(*d - '0');
        }
        if (pos < 1 || pos > CSV_IMPORT_MAX_COLS)
            return err_set_at(e, TIDE_EINVAL, ERR_WHERE, 0, entry,
                              "format entry #%d: column position must be 1..%d", entry,
                              CSV_IMPORT_MAX_COLS);
        struct csv_import_col *col = &out->cols[pos - 1];
        if (col->kind != CSV_IMPORT_SKIP)
            return err_set_at(e, TIDE_EINVAL, ERR_WHERE, 0, entry,
                              "format entry #%d: column %zu is named twice", entry, pos);
        const char *t = c1 + 1, *a = c2 + 1;
        size_t tn = (size_t)(c2 - t), an = (size_t)(ee - a);
        const char *arg = a;
        size_t argn = an;
        if (eq(t, tn, "time")) {
            if (has_time)
                return err_set_at(e, TIDE_EINVAL, ERR_WHERE, 0, entry,
                                  "format entry #%d: a second time column", entry);
            has_time = true;
            col->kind = CSV_IMPORT_TIME;
            argn = 0;
            if (eq(a, an, "unix_s"))
                col->time_fmt = CSV_IMPORT_UNIX_S;
            else if (eq(a, an, "unix_ms"))
                col->time_fmt = CSV_IMPORT_UNIX_MS;
            else if (eq(a, an, "unix_ns"))
                col->time_fmt = CSV_IMPORT_UNIX_NS;
            else if (eq(a, an, "rfc3339"))
                col->time_fmt = CSV_IMPORT_RFC3339;
            else if (an > 7 && memcmp(a, "custom:", 7) == 0) {
                col->time_fmt = CSV_IMPORT_CUSTOM;
                arg = a + 7;
                argn = an - 7;
            } else {
                return err_set_at(e, TIDE_EINVAL, ERR_WHERE, 0, entry,
                                  "format entry #%d: time format must be unix_s, unix_ms, "
                                  "unix_ns, rfc3339 or custom:<layout>", entry);
            }
        } else if (eq(t, tn, "label") || eq(t, tn, "metric")) {
            col->kind = t[0] == 'l' ? CSV_IMPORT_LABEL : CSV_IMPORT_METRIC;
            has_metric |= col->kind == CSV_IMPORT_METRIC;
            if (an == 0)
                return err_set_at(e, TIDE_EINVAL, ERR_WHERE, 0, entry,
                                  "format entry #%d: empty %s name", entry,
                                  t[0] == 'l' ? "label" : "metric");
            if (col->kind == CSV_IMPORT_LABEL && eq(a, an, LABEL_METRIC_NAME))
                return err_set_at(e, TIDE_EINVAL, ERR_WHERE, 0, entry,
                                  "format entry #%d: the metric name comes from metric columns, "
                                  "not from a label column named __name__", entry);
        } else {
            return err_set_at(e, TIDE_EINVAL, ERR_WHERE, 0, entry,
                              "format entry #%d: type must be time, label or metric", entry);
        }
        if (argn >= CSV_IMPORT_NAME_MAX || memchr(arg, 0, argn) != NULL)
            return err_set_at(e, TIDE_EINVAL, ERR_WHERE, 0, entry,
                              "format entry #%d: name over %d bytes or with a NUL", entry,
                              CSV_IMPORT_NAME_MAX - 1);
        /* Names are the user's to fix: refused here, before any row. */
        if (col->kind == CSV_IMPORT_METRIC && !labels_valid_metric_name((struct strv){arg, argn}))
            return err_set_at(e, TIDE_EINVAL, ERR_WHERE, 0, entry,
                              "format entry #%d: invalid metric name \"%.*s\" (want "
                              "[a-zA-Z_:][a-zA-Z0-9_:]*)",
                              entry, (int)(argn > 64 ? 64 : argn), arg);
        if (col->kind == CSV_IMPORT_LABEL && !labels_valid_label_name((struct strv){arg, argn}))
            return err_set_at(e, TIDE_EINVAL, ERR_WHERE, 0, entry,
                              "format entry #%d: invalid label name \"%.*s\" (want "
                              "[a-zA-Z_][a-zA-Z0-9_]*)",
                              entry, (int)(argn > 64 ? 64 : argn), arg);
        memcpy(col->name, arg, argn);
        col->name[argn] = 0;
        if (pos > out->ncols)
            out->ncols = pos;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    if (!has_metric)
        return err_set_at(e, TIDE_EINVAL, ERR_WHERE, 0, 0, "format has no metric column");
    return 0;
}

/* ---- times ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char **pp, const char *end, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*pp >= end || **pp < '0' || **pp > '9')
            return -1;
        v = v * 10 + (*(*pp)++ - '0');
    }
    *out = v;
    return 0;
}

static int expect(const char **pp, const char *end, char c)
{
    if (*pp >= end || **pp != c)
        return -1;
    (*pp)++;
    return 0;
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM), 't'/'z' accepted too. */
static int parse_rfc3339(const char *p, size_t n, int64_t *out_ms)
{
    const char *end = p + n;
    int y, mo, d, h, mi, s;
    if (digits(&p, end, 4, &y) || expect(&p, end, '-') || digits(&p, end, 2, &mo) ||
        expect(&p, end, '-') || digits(&p, end, 2, &d))
        return -1;
    if (p >= end || (*p != 'T' && *p != 't'))
        return -1;
    p++;
    if (digits(&p, end, 2, &h) || expect(&p, end, ':') || digits(&p, end, 2, &mi) ||
        expect(&p, end, ':') || digits(&p, end, 2, &s))
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || s > 59)
        return -1;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return -1;
    int64_t ms = 0;
    if (p < end && *p == '.') {
        p++;
        int nd = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (nd < 3)
                ms = ms * 10 + (*p - '0');
            nd++;
            p++;
        }
        if (nd == 0)
            return -1;
        for (; nd < 3; nd++)
            ms *= 10;
    }
    int64_t off_s = 0;
    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p++ == '-' ? -1 : 1;
        int oh, om;
        if (digits(&p, end, 2, &oh) || expect(&p, end, ':') || digits(&p, end, 2, &om) ||
            oh > 23 || om > 59)
            return -1;
        off_s = sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (p != end)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off_s;
    *out_ms = secs * 1000 + ms;
    return 0;
}

static int parse_custom(const char *layout, const char *p, size_t n, int64_t *out_ms)
{
    char tmp[256];
    if (n >= sizeof tmp || memchr(p, 0, n) != NULL)
        return -1;
    memcpy(tmp, p, n);
    tmp[n] = 0;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_mday = 1;
    tm.tm_year = 70;
    const char *rest = strptime(tmp, layout, &tm);
    if (rest == NULL || *rest != 0)
        return -1;
    long off = tm.tm_gmtoff; /* set by %z, 0 otherwise */
    tm.tm_isdst = 0;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 && !(tm.tm_year == 69 && tm.tm_yday == 364))
        return -1;
    *out_ms = ((int64_t)t - off) * 1000;
    return 0;
}

/* A number of `unit_ms` milliseconds (1000 for seconds): integer, or a
 * decimal fraction rounded to the millisecond. */
static int parse_unix(const char *p, size_t n, double unit_ms, int64_t *out_ms)
{
    int64_t v;
    if (expfmt_parse_int64(p, n, &v) == 0) {
        if (unit_ms == 1000) {
            if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000)
                return -1;
            *out_ms = v * 1000;
        } else {
            *out_ms = v;
        }
        return 0;
    }
    double f;
    if (expfmt_parse_float(p, n, &f) != 0 || !isfinite(f))
        return -1;
    f = round(f * unit_ms);
    if (!(f > -9.2e18 && f < 9.2e18))
        return -1;
    *out_ms = (int64_t)f;
    return 0;
}

static int parse_time(const struct csv_import_col *c, struct strv s, int64_t *out_ms)
{
    int64_t v;
    switch (c->time_fmt) {
    case CSV_IMPORT_UNIX_S:
        return parse_unix(s.p, s.n, 1000, out_ms);
    case CSV_IMPORT_UNIX_MS:
        return parse_unix(s.p, s.n, 1, out_ms);
    case CSV_IMPORT_UNIX_NS:
        if (expfmt_parse_int64(s.p, s.n, &v) != 0)
            return -1;
        *out_ms = v / 1000000;
        return 0;
    case CSV_IMPORT_RFC3339:
        return parse_rfc3339(s.p, s.n, out_ms);
    case CSV_IMPORT_CUSTOM:
        return parse_custom(c->name, s.p, s.n, out_ms);
    }
    return -1;
}

/* ---- records ---- */

struct field {
    struct strv v; /* the cell, unquoted and unescaped */
    int line, col; /* where it starts */
};

struct reader {
    const char *p, *end;
    const char *line_start; /* first byte of the current physical line */
    int line;               /* 1-based physical line of p */
};

static void row_err(struct ingest_report *r, int line, int col, const char *why)
{
    struct err e;
    err_set_at(&e, TIDE_EPARSE, ERR_WHERE, line, col, "line %d col %d: %s", line, col, why);
    if (r)
        ingest_report_bad(r, &e);
}

/* Read one field at rd->p. *last is set when the record ends after it.
 * 0, TIDE_EPARSE (message in *why) or -ENOMEM. */
static int read_field(struct reader *rd, struct batch *b, struct field *f, bool *last,
                      const char **why)
{
    const char *p = rd->p;
    f->line = rd->line;
    f->col = (int)(p - rd->line_start) + 1;
    if (p < rd->end && *p == '"') {
        const char *start = ++p;
        size_t quotes = 0;
        for (;;) {
            if (p >= rd->end) {
                *why = "unterminated quoted field"; /* reported at its opening quote */
                rd->p = p;
                return TIDE_EPARSE;
            }
            if (*p == '"') {
                if (p + 1 < rd->end && p[1] == '"') {
                    quotes++;
                    p += 2;
                    continue;
                }
                break;
            }
            if (*p == '\n') {
                rd->line++;
                rd->line_start = p + 1;
            }
            p++;
        }
        const char *qend = p++;
        if (quotes == 0) {
            f->v = (struct strv){start, (size_t)(qend - start)};
        } else {
            size_t n = (size_t)(qend - start) - quotes;
            char *dst = arena_alloc(&b->arena, n ? n : 1);
            if (dst == NULL)
                return -ENOMEM;
            size_t k = 0;
            for (const char *s = start; s < qend; s++) {
                dst[k++] = *s;
                if (*s == '"')
                    s++;
            }
            f->v = (struct strv){dst, n};
        }
        if (p < rd->end && *p == '\r' && (p + 1 == rd->end || p[1] == '\n'))
            p++;
        if (p < rd->end && *p != ',' && *p != '\n') {
            *why = "text after a closing quote";
            rd->p = p;
            return TIDE_EPARSE;
        }
    } else {
        const char *start = p;
        while (p < rd->end && *p != ',' && *p != '\n')
            p++;
        const char *fe = p;
        if (p < rd->end && *p == '\n' && fe > start && fe[-1] == '\r')
            fe--;
        else if (p == rd->end && fe > start && fe[-1] == '\r')
            fe--;
        f->v = (struct strv){start, (size_t)(fe - start)};
    }
    *last = p >= rd->end || *p == '\n';
    if (p < rd->end) {
        if (*p == '\n') {
            rd->line++;
            rd->line_start = p + 1;
        }
        p++;
    }
    rd->p = p;
    return 0;
}

/* Skip to the start of the next record after an error inside one. */
static void skip_record(struct reader *rd)
{
    bool quoted = false;
    while (rd->p < rd->end) {
        char c = *rd->p++;
        if (c == '"')
            quoted = !quoted;
        else if (c == '\n') {
            rd->line++;
            rd->line_start = rd->p;
            if (!quoted)
                return;
        }
    }
}

int csv_import_parse(const char *p, size_t n, const struct csv_import_opts *o, struct batch *b,
                     struct ingest_report *r)
{
    if (n == 0)
        return 0; /* p may be NULL */
    const struct csv_import_format *fmt = o->format;
    struct strv names[CSV_IMPORT_MAX_COLS];
    for (size_t i = 0; i < fmt->ncols; i++) {
        names[i] = (struct strv){NULL, 0};
        const struct csv_import_col *c = &fmt->cols[i];
        if (c->kind == CSV_IMPORT_LABEL || c->kind == CSV_IMPORT_METRIC) {
            size_t len = strlen(c->name);
            char *s = batch_strdup(b, c->name, len);
            if (s == NULL)
                return -ENOMEM;
            names[i] = (struct strv){s, len};
        }
    }
    struct field fields[CSV_IMPORT_MAX_COLS];
    struct reader rd = {p, p + n, p, 1};
    while (rd.p < rd.end) {
        /* Empty lines (LF or CRLF) are skipped. */
        if (*rd.p == '\n' || (*rd.p == '\r' && rd.p + 1 < rd.end && rd.p[1] == '\n')) {
            rd.p += *rd.p == '\r' ? 2 : 1;
            rd.line++;
            rd.line_start = rd.p;
            if (r)
                r->lines_ok++;
            continue;
        }
        int row_line = rd.line, row_col = (int)(rd.p - rd.line_start) + 1;
        size_t nf = 0;
        bool last = false;
        const char *why = NULL;
        int bad_line = 0, bad_col = 0;
        while (!last) {
            struct field f;
            int rc = read_field(&rd, b, &f, &last, &why);
            if (rc == -ENOMEM)
                return rc;
            if (rc != 0) {
                bad_line = rd.p < rd.end ? rd.line : f.line;
                bad_col = rd.p < rd.end ? (int)(rd.p - rd.line_start) + 1 : f.col;
                skip_record(&rd);
                break;
            }
            if (nf < fmt->ncols)
                fields[nf] = f;
            nf++;
        }
        if (why) {
            row_err(r, bad_line, bad_col, why);
            continue;
        }
        size_t have = nf < fmt->ncols ? nf : fmt->ncols;
        /* A header row, as /api/v1/export/csv writes it: every metric cell
         * reads "__value__" (never a number, so never a data row). */
        bool header = false;
        for (size_t i = 0; i < have; i++) {
            if (fmt->cols[i].kind != CSV_IMPORT_METRIC)
                continue;
            header = strv_eq_c(fields[i].v, "__value__");
            if (!header)
                break;
        }
        if (header) {
            if (r)
                r->lines_ok++;
            continue;
        }
        /* Map the fields: time first, then check every metric cell. */
        int64_t t_ms = o->default_t_ms;
        size_t nmetrics = 0;
        for (size_t i = 0; i < have && why == NULL; i++) {
            const struct csv_import_col *c = &fmt->cols[i];
            if (c->kind == CSV_IMPORT_TIME && parse_time(c, fields[i].v, &t_ms) != 0) {
                why = "cannot parse the time";
                bad_line = fields[i].line;
                bad_col = fields[i].col;
            }
        }
        double vals[CSV_IMPORT_MAX_COLS];
        for (size_t i = 0; i < have && why == NULL; i++) {
            const struct csv_import_col *c = &fmt->cols[i];
            if (c->kind != CSV_IMPORT_METRIC || fields[i].v.n == 0)
                continue;
            if (expfmt_parse_float(fields[i].v.p, fields[i].v.n, &vals[i]) != 0) {
                why = "cannot parse the metric value";
                bad_line = fields[i].line;
                bad_col = fields[i].col;
            }
            nmetrics++;
        }
        if (why == NULL && nf < fmt->ncols && nmetrics == 0) {
            why = "too few columns for the format";
            bad_line = row_line;
            bad_col = row_col;
        }
        if (why) {
            row_err(r, bad_line, bad_col, why);
            continue;
        }
        /* One series per metric cell. Each passes labels_validate() (label
         * cells that are not UTF-8, a label named twice in the format); a
         * refused one takes the row's earlier series back out. */
        size_t s0 = b->nseries, l0 = b->nlabels, v0 = b->nsamples;
        struct err ve; /* set when a check fails */
        int rc = 0;
        for (size_t i = 0; i < have && rc == 0; i++) {
            const struct csv_import_col *c = &fmt->cols[i];
            if (c->kind != CSV_IMPORT_METRIC || fields[i].v.n == 0)
                continue;
            rc = batch_begin_series(b);
            if (rc == 0)
                rc = batch_add_label(b, STRV_LIT(LABEL_METRIC_NAME), names[i]);
            for (size_t j = 0; j < have && rc == 0; j++)
                if (fmt->cols[j].kind == CSV_IMPORT_LABEL)
                    rc = batch_add_label(b, names[j], fields[j].v);
            if (rc == 0)
                rc = batch_add_sample(b, t_ms, vals[i]);
            if (rc == 0)
                rc = batch_end_series_checked(b, &ve);
        }
        if (rc != 0) {
            batch_abort_series(b);
            b->nseries = s0;
            b->nlabels = l0;
            b->nsamples = v0;
            if (rc != TIDE_EPARSE)
                return rc;
            row_err(r, row_line, row_col, ve.msg);
            continue;
        }
        if (r)
            r->lines_ok++;
    }
    return 0;
}
