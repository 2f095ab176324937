/* csv_export.c: the CSV flavour of export, as VictoriaMetrics'
 * /api/v1/export/csv writes it. The `format` parameter names the columns:
 *   __name__                  the metric name
 *   __value__                 the sample value (shortest round-trip text;
 *                             NaN, +Inf, -Inf)
 *   __timestamp__:<fmt>       unix_s | unix_ms | unix_ns | rfc3339 |
 *                             custom:<layout> (a Go reference-time layout
 *                             such as "2006-01-02 15:04:05", or a strftime
 *                             format when the layout holds a '%'); always UTC
 *   anything else             the value of that label ("" when absent)
 * Rows are RFC 4180: a field holding ',', '"', CR or LF is quoted with its
 * quotes doubled; rows end with "\n" as VictoriaMetrics' do. An optional
 * header row names the columns as `format` does (csv_format_header); the
 * CSV import skips it (csv_import.h), so export -> import round-trips.
 * Pure formatting between storage's query results and api/export.c.
 * Details: docs/api/import-export.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/time.h"
#include "ingest/ingest.h"

#define TS_PREFIX "__timestamp__"

static int parse_time_fmt(struct csv_col *c, const char *f, size_t n, int idx, const char *col,
                          size_t coln, struct err *e)
{
    struct strv s = {f, n};
    c->kind = CSV_COL_TIME;
    c->name[0] = 0;
    if (strv_eq_c(s, "unix_s")) {
        c->time_fmt = CSV_TIME_UNIX_S;
    } else if (strv_eq_c(s, "unix_ms")) {
        c->time_fmt = CSV_TIME_UNIX_MS;
    } else if (strv_eq_c(s, "unix_ns")) {
        c->time_fmt = CSV_TIME_UNIX_NS;
    } else if (strv_eq_c(s, "rfc3339")) {
        c->time_fmt = CSV_TIME_RFC3339;
    } else if (n > 7 && memcmp(f, "custom:", 7) == 0) {
        if (n - 7 >= sizeof c->name)
            return ERR_PARSE(e, 1, idx, "column %d \"%.*s\": custom time layout too long", idx,
                             (int)coln, col);
        c->time_fmt = CSV_TIME_CUSTOM;
        memcpy(c->name, f + 7, n - 7);
        c->name[n - 7] = 0;
    } else {
        return ERR_PARSE(e, 1, idx,
                         "column %d \"%.*s\": unknown time format \"%.*s\" (want unix_s, "
                         "unix_ms, unix_ns, rfc3339 or custom:<layout>)",
                         idx, (int)coln, col, (int)n, f);
    }
    return 0;
}

int csv_format_parse(const char *spec, struct csv_format *out, struct err *e)
{
    out->ncols = 0;
    if (spec == NULL || *spec == 0)
        return ERR_PARSE(e, 1, 1,
                         "empty format: name the columns, e.g. "
                         "__name__,__value__,__timestamp__:unix_ms");
    const char *p = spec;
    int idx = 0;
    for (;;) {
        const char *c = p;
        while (*p != 0 && *p != ',')
            p++;
        size_t n = (size_t)(p - c);
        idx++;
        if (out->ncols == sizeof out->cols / sizeof out->cols[0])
            return ERR_PARSE(e, 1, idx, "too many columns (at most %zu)",
                             sizeof out->cols / sizeof out->cols[0]);
        struct csv_col *col = &out->cols[out->ncols];
        struct strv s = {c, n};
        if (n == 0)
            return ERR_PARSE(e, 1, idx, "column %d is empty", idx);
        if (strv_eq_c(s, LABEL_METRIC_NAME)) {
            col->kind = CSV_COL_NAME;
            col->name[0] = 0;
        } else if (strv_eq_c(s, "__value__")) {
            col->kind = CSV_COL_VALUE;
            col->name[0] = 0;
        } else if (strv_eq_c(s, TS_PREFIX)) {
            col->kind = CSV_COL_TIME; /* bare: milliseconds, like unix_ms */
            col->time_fmt = CSV_TIME_UNIX_MS;
            col->name[0] = 0;
        } else if (n >= sizeof TS_PREFIX && memcmp(c, TS_PREFIX ":", sizeof TS_PREFIX) == 0) {
            int rc = parse_time_fmt(col, c + sizeof TS_PREFIX, n - sizeof TS_PREFIX, idx, c, n, e);
            if (rc != 0)
                return rc;
        } else {
            if (n >= sizeof col->name)
                return ERR_PARSE(e, 1, idx, "column %d \"%.40s...\": label name too long", idx, c);
            col->kind = CSV_COL_LABEL;
            memcpy(col->name, c, n);
            col->name[n] = 0;
        }
        out->ncols++;
        if (*p == 0)
            break;
        p++;
    }
    return 0;
}

/* ---- Go reference-time layouts ("2006-01-02T15:04:05.000Z07:00") ---- */

static const char *const month_names[] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};
static const char *const day_names[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};

static bool has_prefix(const char *s, const char *pre)
{
    return strncmp(s, pre, strlen(pre)) == 0;
}

/* Format tm (UTC) plus ms milliseconds by Go layout l into dst. */
static int format_go(struct buf *dst, const char *l, const struct tm *tm, int ms)
{
    int rc = 0;
    while (*l != 0 && rc == 0) {
        int h12 = tm->tm_hour % 12 == 0 ? 12 : tm->tm_hour % 12;
        if (has_prefix(l, "January")) {
            rc = buf_puts(dst, month_names[tm->tm_mon]);
            l += 7;
        } else if (has_prefix(l, "Jan")) {
            rc = buf_printf(dst, "%.3s", month_names[tm->tm_mon]);
            l += 3;
        } else if (has_prefix(l, "Monday")) {
            rc = buf_puts(dst, day_names[tm->tm_wday]);
            l += 6;
        } else if (has_prefix(l, "Mon")) {
            rc = buf_printf(dst, "%.3s", day_names[tm->tm_wday]);
            l += 3;
        } else if (has_prefix(l, "MST")) {
            rc = buf_puts(dst, "UTC");
            l += 3;
        } else if (has_prefix(l, "2006")) {
            rc = buf_printf(dst, "%04d", tm->tm_year + 1900);
            l += 4;
        } else if (has_prefix(l, "002")) {
            rc = buf_printf(dst, "%03d", tm->tm_yday + 1);
            l += 3;
        } else if (has_prefix(l, "01")) {
            rc = buf_printf(dst, "%02d", tm->tm_mon + 1);
            l += 2;
        } else if (has_prefix(l, "02")) {
            rc = buf_printf(dst, "%02d", tm->tm_mday);
            l += 2;
        } else if (has_prefix(l, "03")) {
            rc = buf_printf(dst, "%02d", h12);
            l += 2;
        } else if (has_prefix(l, "04")) {
            rc = buf_printf(dst, "%02d", tm->tm_min);
            l += 2;
        } else if (has_prefix(l, "05")) {
            rc = buf_printf(dst, "%02d", tm->tm_sec);
            l += 2;
        } else if (has_prefix(l, "06")) {
            rc = buf_printf(dst, "%02d", tm->tm_year % 100);
            l += 2;
        } else if (has_prefix(l, "15")) {
            rc = buf_printf(dst, "%02d", tm->tm_hour);
            l += 2;
        } else if (has_prefix(l, "_2")) {
            rc = buf_printf(dst, "%2d", tm->tm_mday);
            l += 2;
        } else if (has_prefix(l, "PM") || has_prefix(l, "pm")) {
            bool pm = tm->tm_hour >= 12;
            rc = buf_puts(dst, l[0] == 'P' ? (pm ? "PM" : "AM") : (pm ? "pm" : "am"));
            l += 2;
        } else if (has_prefix(l, "Z07:00") || has_prefix(l, "Z0700") || has_prefix(l, "Z07")) {
            rc = buf_putc(dst, 'Z');
            l += has_prefix(l, "Z07:00") ? 6 : has_prefix(l, "Z0700") ? 5 : 3;
        } else if (has_prefix(l, "-07:00")) {
            rc = buf_puts(dst, "+00:00");
            l += 6;
        } else if (has_prefix(l, "-0700")) {
            rc = buf_puts(dst, "+0000");
            l += 5;
        } else if (has_prefix(l, "-07")) {
            rc = buf_puts(dst, "+00");
            l += 3;
        } else if ((l[0] == '.' || l[0] == ',') && (l[1] == '0' || l[1] == '9')) {
            /* Fractional seconds: .000 fixed width, .999 without trailing zeros. */
            char d = l[1];
            size_t k = 1;
            while (l[k] == d)
                k++;
            size_t digits = k - 1;
            char frac[10];
            snprintf(frac, sizeof frac, "%03d000000", ms);
            frac[digits < 9 ? digits : 9] = 0;
            size_t fl = strlen(frac);
            if (d == '9') {
                while (fl > 0 && frac[fl - 1] == '0')
                    fl--;
            }
            if (fl > 0) {
                rc = buf_putc(dst, l[0]);
                if (rc == 0)
                    rc = buf_append(dst, frac, fl);
            }
            l += k;
        } else if (l[0] == '1') {
            rc = buf_printf(dst, "%d", tm->tm_mon + 1);
            l++;
        } else if (l[0] == '2') {
            rc = buf_printf(dst, "%d", tm->tm_mday);
            l++;
        } else if (l[0] == '3') {
            rc = buf_printf(dst, "%d", h12);
            l++;
        } else if (l[0] == '4') {
            rc = buf_printf(dst, "%d", tm->tm_min);
            l++;
        } else if (l[0] == '5') {
            rc = buf_printf(dst, "%d", tm->tm_sec);
            l++;
        } else {
            rc = buf_putc(dst, *l);
            l++;
        }
    }
    return rc;
}

static int put_time(struct buf *dst, const struct csv_col *c, int64_t t_ms)
{
    int64_t s = t_ms / 1000, ms = t_ms % 1000;
    if (ms < 0) {
        s--;
        ms += 1000;
    }
    switch (c->time_fmt) {
    case CSV_TIME_UNIX_S:
        return buf_printf(dst, "%" PRId64, s);
    case CSV_TIME_UNIX_MS:
        return buf_printf(dst, "%" PRId64, t_ms);
    case CSV_TIME_UNIX_NS:
        /* Exact for every t_ms, no overflow: append six zeros. */
        return t_ms == 0 ? buf_putc(dst, '0') : buf_printf(dst, "%" PRId64 "000000", t_ms);
    case CSV_TIME_RFC3339: {
        char tmp[40];
        time_format_rfc3339(t_ms, tmp, sizeof tmp);
        return buf_puts(dst, tmp);
    }
    case CSV_TIME_CUSTOM: {
        time_t tt = (time_t)s;
        struct tm tm;
        if (gmtime_r(&tt, &tm) == NULL)
            return buf_printf(dst, "%" PRId64, t_ms);
        if (strchr(c->name, '%') == NULL)
            return format_go(dst, c->name, &tm, (int)ms);
        char tmp[256];
        size_t n = strftime(tmp, sizeof tmp, c->name, &tm);
        return buf_append(dst, tmp, n);
    }
    }
    return 0;
}

/* Append one field with RFC 4180 quoting when it needs it. */
static int put_field(struct buf *dst, const char *p, size_t n)
{
    bool quote = false;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n';
    if (!quote)
        return buf_append(dst, p, n);
    int rc = buf_putc(dst, '"');
    size_t run = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (p[i] != '"')
            continue;
        rc = buf_append(dst, p + run, i + 1 - run); /* through the quote... */
        run = i;                                    /* ...which is written again */
    }
    if (rc == 0)
        rc = buf_append(dst, p + run, n - run);
    if (rc == 0)
        rc = buf_putc(dst, '"');
    return rc;
}

int csv_format_header(struct buf *dst, const struct csv_format *f)
{
    static const char *const tfmt[] = {
        [CSV_TIME_UNIX_S] = "unix_s", [CSV_TIME_UNIX_MS] = "unix_ms",
        [CSV_TIME_UNIX_NS] = "unix_ns", [CSV_TIME_RFC3339] = "rfc3339"};
    size_t mark = dst->len;
    int rc = 0;
    for (size_t c = 0; c < f->ncols && rc == 0; c++) {
        const struct csv_col *col = &f->cols[c];
        char cell[sizeof col->name + 32];
        int k = 0;
        if (c > 0)
            rc = buf_putc(dst, ',');
        if (col->kind == CSV_COL_NAME)
            k = snprintf(cell, sizeof cell, "%s", LABEL_METRIC_NAME);
        else if (col->kind == CSV_COL_VALUE)
            k = snprintf(cell, sizeof cell, "__value__");
        else if (col->kind == CSV_COL_TIME && col->time_fmt == CSV_TIME_CUSTOM)
            k = snprintf(cell, sizeof cell, TS_PREFIX ":custom:%s", col->name);
        else if (col->kind == CSV_COL_TIME)
            k = snprintf(cell, sizeof cell, TS_PREFIX ":%s", tfmt[col->time_fmt]);
        else
            k = snprintf(cell, sizeof cell, "%s", col->name);
        if (rc == 0)
            rc = put_field(dst, cell, k > 0 ? (size_t)k : 0);
    }
    if (rc == 0)
        rc = buf_putc(dst, '\n');
    if (rc != 0) {
        dst->len = mark;
        if (dst->p)
            dst->p[mark] = 0;
    }
    return rc;
}

int csv_format_rows(struct buf *dst, const struct csv_format *f, const struct label *ls, size_t nls,
                    const struct sample *v, size_t n)
{
    size_t mark = dst->len;
    int rc = 0;
    struct strv name = labels_get(ls, nls, STRV_LIT(LABEL_METRIC_NAME));
    for (size_t i = 0; i < n && rc == 0; i++) {
        for (size_t c = 0; c < f->ncols && rc == 0; c++) {
            const struct csv_col *col = &f->cols[c];
            if (c > 0)
                rc = buf_putc(dst, ',');
            if (rc != 0)
                break;
            switch (col->kind) {
            case CSV_COL_NAME:
                rc = put_field(dst, name.p, name.n);
                break;
            case CSV_COL_VALUE: {
                char tmp[32];
                int k = ingest_format_float(tmp, v[i].v);
                rc = buf_append(dst, tmp, (size_t)k);
                break;
            }
            case CSV_COL_TIME:
                rc = put_time(dst, col, v[i].t_ms);
                break;
            case CSV_COL_LABEL: {
                struct strv lv = labels_get(ls, nls, strv_c(col->name));
                rc = put_field(dst, lv.p, lv.n);
                break;
            }
            }
        }
        if (rc == 0)
            rc = buf_putc(dst, '\n');
    }
    if (rc != 0) {
        dst->len = mark;
        if (dst->p)
            dst->p[mark] = 0;
    }
    return rc;
}
