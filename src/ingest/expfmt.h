/* expfmt.h: the Prometheus text exposition format 0.0.4 (what exporters
 * serve on /metrics, and what /api/v1/import/prometheus takes) to a
 * `struct batch`. Used by the import endpoint and, later, by scrape.
 *
 * Partial input (ingest.h): every good line is kept, every bad line is
 * skipped and described in the `struct ingest_report` with its line and
 * column. Labels borrow from the input, or from the batch arena when a label
 * value had escapes, so the input must outlive the batch's use.
 * Rules as applied: docs/api/formats.md. Thread: none; no shared state.
 */
#ifndef TIDE_INGEST_EXPFMT_H
#define TIDE_INGEST_EXPFMT_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/ingest.h"

struct expfmt_opts {
    int64_t default_t_ms; /* for samples without a timestamp: the scrape or arrival time */
};

/* Parse p[0..n) (not NUL-terminated): `# HELP`/`# TYPE` and other comments,
 * blank lines, CRLF line ends, `name{label="value",...} value [timestamp_ms]`
 * samples with `\\`, `\"` and `\n` escapes in label values, values as Go's
 * ParseFloat reads them (NaN, +Inf, -Inf, ...). An OpenMetrics `# EOF` line
 * ends the input; an OpenMetrics exemplar (` # {...} v`) after a sample is
 * ignored. Returns 0 (bad lines are only reported) or -ENOMEM. */
int expfmt_parse(const char *p, size_t n, const struct expfmt_opts *o, struct batch *b,
                 struct ingest_report *r);

/* expfmt_parse() for OpenMetrics 1.0 text (application/openmetrics-text):
 * the same lines, but a sample's timestamp is float seconds ("1.5" is
 * 1500 ms, truncated toward zero as Prometheus does), not int64 ms. */
int expfmt_parse_openmetrics(const char *p, size_t n, const struct expfmt_opts *o,
                             struct batch *b, struct ingest_report *r);

/* A float as Go's strconv.ParseFloat(s, 64) reads it, from p[0..n) without
 * needing a NUL: decimal with optional exponent, hexadecimal (0x1p-3),
 * "NaN", "Inf", "+Inf", "-Inf", "Infinity" in any case. Correctly rounded.
 * 0, or TIDE_EPARSE when the text is not such a number (or over 400 bytes).
 * Shared with csv_import.c. */
int expfmt_parse_float(const char *p, size_t n, double *out);

/* A base-10 int64 from p[0..n) (not NUL-terminated): an optional sign, then
 * only digits. 0, or -1 when the text is not such a number or overflows.
 * Shared with csv_import.c. */
int expfmt_parse_int64(const char *p, size_t n, int64_t *out);

#endif
