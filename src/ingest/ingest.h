/* ingest.h: the wire-format parsers and formatters, pure functions from bytes
 * to a `struct batch` (and back, for export). No I/O, no storage calls: the
 * HTTP glue in api/ reads the body, calls a parser, appends the batch.
 *
 * Partial input: line-oriented formats parse every line they can. A bad line
 * is skipped and described in the `struct ingest_report` (line number, column,
 * reason); the good lines stay in the batch. A line whose series fails
 * labels_validate() (model/labels.h: names, UTF-8, duplicates, __name__) is
 * a bad line too; every parser ends its series with batch_end_series_checked(). Whether a request
 * with bad lines is then kept in part or refused whole is the endpoint's decision, following the
 * protocol's convention (docs/api/write.md).
 *
 * Lifetime: labels in the batch borrow from the input bytes or the batch
 * arena, so the input must outlive the batch's use.
 */
#ifndef TIDE_INGEST_INGEST_H
#define TIDE_INGEST_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "model/batch.h"

#define INGEST_MAX_REPORTED 10 /* errors kept in detail per request */

struct ingest_report {
    size_t lines_ok;  /* lines (or objects) that produced samples or were empty/comments */
    size_t lines_bad; /* lines skipped */
    size_t nerrs;     /* details kept, at most INGEST_MAX_REPORTED */
    struct err errs[INGEST_MAX_REPORTED]; /* the first bad lines, in order */
};

void ingest_report_init(struct ingest_report *r);
/* Count a bad line; keep its detail if there is room. */
void ingest_report_bad(struct ingest_report *r, const struct err *e);

/* ---- Influx line protocol (influx.c) ---- */

enum influx_precision { INFLUX_NS = 0, INFLUX_US, INFLUX_MS, INFLUX_S, INFLUX_M, INFLUX_H };

/* Parse "ns"/"n", "us"/"u", "ms", "s", "m", "h" (Influx v1 and v2 spellings). */
int influx_precision_parse(const char *s, enum influx_precision *out);

struct influx_opts {
    enum influx_precision precision; /* unit of the timestamps in the input */
    int64_t default_t_ms;            /* for lines without a timestamp: arrival time */
};

/* Parse line protocol. Each field of a line becomes one series named
 * <measurement>_<field> (a field named "value" keeps the bare measurement
 * name), tags become labels, as VictoriaMetrics does; names are rewritten
 * into Prometheus names ("cpu.load" -> "cpu_load") and every series passes
 * labels_validate(), a refusal making its line bad. Integer (1i), unsigned
 * (1u), float and boolean (t/true/T/True/TRUE → 1, f/... → 0) fields;
 * string fields are skipped. Returns 0 (bad lines are only reported) or
 * -ENOMEM. */
int influx_parse(const char *p, size_t n, const struct influx_opts *o, struct batch *b,
                 struct ingest_report *r);

/* ---- VictoriaMetrics JSON lines (jsonl.c) ---- */

/* Parse lines of {"metric":{...},"values":[...],"timestamps":[...]}.
 * Values are JSON numbers, or the strings/bare words NaN, Inf, +Inf, -Inf;
 * null is skipped with its timestamp. 0 or -ENOMEM. */
int jsonl_parse(const char *p, size_t n, struct batch *b, struct ingest_report *r);

/* Append one series as a JSON line (with '\n') to dst, in the same format.
 * Floats are written in the shortest form that round-trips bit-exactly;
 * NaN/±Inf as "NaN"/"+Inf"/"-Inf" strings... as jsonl_parse reads them back. */
int jsonl_format(struct buf *dst, const struct label *ls, size_t nls, const struct sample *v,
                 size_t n);

/* ---- CSV export (csv_export.c) ---- */

/* The columns of VictoriaMetrics' /api/v1/export/csv `format` parameter:
 * "__name__,__value__,__timestamp__:unix_s,host" -> one column each. */
enum csv_col_kind { CSV_COL_NAME, CSV_COL_VALUE, CSV_COL_TIME, CSV_COL_LABEL };
enum csv_time_fmt { CSV_TIME_UNIX_S, CSV_TIME_UNIX_MS, CSV_TIME_UNIX_NS, CSV_TIME_RFC3339,
                    CSV_TIME_CUSTOM };

struct csv_col {
    enum csv_col_kind kind;
    enum csv_time_fmt time_fmt; /* for CSV_COL_TIME */
    char name[128];             /* label name for CSV_COL_LABEL; strftime format for CUSTOM */
};

struct csv_format {
    struct csv_col cols[64];
    size_t ncols;
};

int csv_format_parse(const char *spec, struct csv_format *out, struct err *e);
/* Append the header row: one cell per column, spelled as in the format
 * ("__name__", "__value__", "__timestamp__:unix_ms", "__timestamp__:custom:L",
 * the label name). A bare "__timestamp__" is written "__timestamp__:unix_ms".
 * csv_import_parse() skips such a row (its metric cells read "__value__"). */
int csv_format_header(struct buf *dst, const struct csv_format *f);
/* Append one CSV row per sample of the series (RFC 4180 quoting). */
int csv_format_rows(struct buf *dst, const struct csv_format *f, const struct label *ls,
                    size_t nls, const struct sample *v, size_t n);

/* Shortest decimal text of v that parses back to the same bits (finite v);
 * "NaN", "+Inf", "-Inf" otherwise. buf >= 32 bytes. Returns the length. */
int ingest_format_float(char *buf, double v);

#endif
