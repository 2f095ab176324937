/* csv_import.h: CSV rows to a `struct batch`, with the column mapping of
 * VictoriaMetrics' /api/v1/import/csv?format=... (the export side is
 * csv_export.c). One row may carry several metrics: each metric column gives
 * one series with the row's label columns and time.
 *
 *   format = "1:time:unix_s,2:label:host,3:metric:latency_ms,4:metric:errors"
 *
 * Partial input (ingest.h): a bad row is skipped and described in the
 * `struct ingest_report` (line of the row's first byte, column of the bad
 * field); good rows stay in the batch. Labels borrow from the input, or from
 * the batch arena (metric and label names, unescaped quoted fields), so the
 * input must outlive the batch's use. Rules as applied: docs/api/formats.md.
 * Thread: none; no shared state.
 */
#ifndef TIDE_INGEST_CSV_IMPORT_H
#define TIDE_INGEST_CSV_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/ingest.h"

#define CSV_IMPORT_MAX_COLS 256  /* highest column position a format may name */
#define CSV_IMPORT_NAME_MAX 128  /* bytes in a metric/label name or a custom layout */

enum csv_import_kind {
    CSV_IMPORT_SKIP = 0, /* a column the format does not name: ignored */
    CSV_IMPORT_TIME,     /* the row's timestamp, in `time_fmt` */
    CSV_IMPORT_LABEL,    /* a label named `name` */
    CSV_IMPORT_METRIC,   /* a value of the metric named `name`; empty cells are skipped */
};

enum csv_import_time {
    CSV_IMPORT_UNIX_S,  /* seconds, fraction allowed: "1700000000", "1700000000.25" */
    CSV_IMPORT_UNIX_MS, /* milliseconds */
    CSV_IMPORT_UNIX_NS, /* nanoseconds, truncated to milliseconds */
    CSV_IMPORT_RFC3339, /* "2026-01-02T03:04:05.123Z" or with "+02:00" */
    CSV_IMPORT_CUSTOM,  /* strptime(3) layout in `name`; %z honoured, else UTC */
};

struct csv_import_col {
    enum csv_import_kind kind;
    enum csv_import_time time_fmt;   /* for CSV_IMPORT_TIME */
    char name[CSV_IMPORT_NAME_MAX];  /* metric or label name, or the custom layout; NUL-terminated */
};

/* A parsed `format` parameter. cols[i] describes CSV column i+1. */
struct csv_import_format {
    struct csv_import_col cols[CSV_IMPORT_MAX_COLS];
    size_t ncols; /* highest position named: a row needs this many columns */
};

/* Parse "pos:type:arg,..." (pos 1-based; type time|label|metric; time args
 * unix_s, unix_ms, unix_ns, rfc3339, custom:<strptime layout>). At least one
 * metric column, at most one time column, no position twice. `spec` is
 * spec[0..n), not NUL-terminated. 0 or TIDE_EINVAL with detail in e
 * (col = 1-based entry number). */
int csv_import_format_parse(const char *spec, size_t n, struct csv_import_format *out,
                            struct err *e);

struct csv_import_opts {
    const struct csv_import_format *format; /* borrowed for the call only */
    int64_t default_t_ms;                   /* for rows without a time column */
};

/* Parse CSV (RFC 4180: ',' separated, '"' quoting with "" for a quote,
 * quoted fields may hold ',' and newlines; LF or CRLF row ends; empty lines
 * skipped). Columns past the format's are ignored. A header row — every
 * metric column's cell is "__value__", as /api/v1/export/csv's header names
 * the value column — is skipped (counted ok, like an empty line). Returns 0
 * (bad rows are only reported) or -ENOMEM. */
int csv_import_parse(const char *p, size_t n, const struct csv_import_opts *o, struct batch *b,
                     struct ingest_report *r);

#endif
