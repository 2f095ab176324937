/* labels.h: label sets, the identity of a series.
 *
 * A series is identified by its label set sorted by name, `__name__` included.
 * A `struct label` borrows its bytes: from a request body or a batch arena
 * while ingesting, from the string intern table once in storage. Whoever
 * hands out a label set states how long it stays valid.
 */
#ifndef TIDE_MODEL_LABELS_H
#define TIDE_MODEL_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/strv.h"

#define LABEL_METRIC_NAME "__name__"

struct label {
    struct strv name;  /* label name, e.g. "__name__", "host" */
    struct strv value; /* label value; never empty in a stored series */
};

/* Sort by name (byte order). Stable for equal names, so a later duplicate
 * stays after an earlier one for labels_dedup_last(). */
void labels_sort(struct label *v, size_t n);
/* After labels_sort(): drop labels with empty values and keep only the last
 * of several labels with the same name. Returns the new count. */
size_t labels_normalize(struct label *v, size_t n);
/* Hash of a sorted label set; equal sets hash equal. */
uint64_t labels_hash(const struct label *v, size_t n);
/* Compare two sorted label sets (Prometheus' labels.Compare order). */
int labels_cmp(const struct label *a, size_t na, const struct label *b, size_t nb);
/* The canonical key of a sorted label set: for each label the varint
 * length and bytes of its name, then of its value, in one contiguous
 * string. Two sets are equal exactly when their keys are, so the registry
 * compares one run of bytes instead of every string. Writes at most cap
 * bytes to dst and returns the key's full length (call again with a larger
 * buffer when it exceeds cap). labels_hash() hashes this key. */
size_t labels_key(const struct label *v, size_t n, char *dst, size_t cap);
/* The value of label `name`, or {NULL,0} when absent. */
struct strv labels_get(const struct label *v, size_t n, struct strv name);
/* Byte classes of Prometheus names, for parsers that scan or rewrite names:
 * labels_name_chars[c] & LABELS_CHAR_METRIC when c may be in a metric name
 * ([a-zA-Z0-9_:]), & LABELS_CHAR_LABEL in a label name ([a-zA-Z0-9_]),
 * & LABELS_CHAR_DIGIT when it is a digit (not allowed first). */
enum { LABELS_CHAR_METRIC = 1, LABELS_CHAR_LABEL = 2, LABELS_CHAR_DIGIT = 4 };
extern const unsigned char labels_name_chars[256];

/* Prometheus' name rules: [a-zA-Z_:][a-zA-Z0-9_:]* for metrics, no ':' for labels. */
int labels_valid_metric_name(struct strv s);
int labels_valid_label_name(struct strv s);

/* Whether a label set may be stored, as Prometheus decides it (labels.IsValid
 * with model.LabelName.IsValid, IsValidMetricName and utf8.ValidString for
 * values; HasDuplicateLabelNames; a series must have a metric name):
 *   - every label name matches [a-zA-Z_][a-zA-Z0-9_]* (so is not empty);
 *   - no name appears twice;
 *   - every value is valid UTF-8;
 *   - `__name__` is present with a non-empty value matching
 *     [a-zA-Z_:][a-zA-Z0-9_:]*.
 * An empty value is not an error: batch_end_series() drops that label. Its
 * name is still checked, and so it still counts as a duplicate.
 * `v[0..n)` must be sorted by name (labels_sort(), duplicates adjacent);
 * n may be 0 (v may then be NULL). Returns 0, or TIDE_EPARSE with e->msg
 * (e may be NULL) naming the first offending label in sorted order, e.g.
 *   invalid label name "host-name"      value of label "dc" is not valid UTF-8
 *   duplicate label name "job"          missing metric name (label __name__)
 * Bytes that are not printable UTF-8 are written \xNN in the message, so it
 * is safe in a header or JSON. e->line and e->col are left 0 for the parser
 * to fill. The one check every ingest path shares (batch_end_series_checked). */
int labels_validate(const struct label *v, size_t n, struct err *e);

#endif
