/* batch.h: a batch of series and their samples, the one currency between
 * the parsers and collectors on one side and storage on the other.
 *
 * Layout: flat arrays. Series i owns labels[series[i].label_off ..+nlabels]
 * (sorted and normalised by batch_end_series()) and samples
 * [series[i].sample_off ..+nsamples]. The same label set may appear in
 * several series entries of one batch; storage treats them as one series.
 *
 * Ownership: the batch owns its arrays and its arena. Label bytes either
 * borrow from the caller's input (valid as long as that input, which the
 * producer must keep alive until storage_append() returns) or are copied
 * into the batch arena with batch_strdup(). batch_reset() keeps capacity.
 * Thread: none.
 */
#ifndef TIDE_MODEL_BATCH_H
#define TIDE_MODEL_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/labels.h"

/* Prometheus' staleness marker: a NaN with this exact bit pattern. */
#define STALE_NAN_BITS 0x7ff0000000000002ULL

struct sample {
    int64_t t_ms; /* milliseconds since the epoch */
    double v;     /* any float64, bit-exact (NaN payloads, ±Inf, stale marker) */
};

struct batch_series {
    uint32_t label_off, nlabels;   /* slice of batch.labels */
    uint32_t sample_off, nsamples; /* slice of batch.samples */
};

/* The type a sender declares for a metric family (Prometheus' MetricType,
 * in its remote-write numbering plus NONE for "not said"). */
enum metric_type {
    METRIC_TYPE_NONE = -1,   /* the sender said nothing about the type */
    METRIC_TYPE_UNKNOWN = 0, /* "untyped" in the text format */
    METRIC_TYPE_COUNTER,
    METRIC_TYPE_GAUGE,
    METRIC_TYPE_HISTOGRAM,
    METRIC_TYPE_GAUGEHISTOGRAM,
    METRIC_TYPE_SUMMARY,
    METRIC_TYPE_INFO,
    METRIC_TYPE_STATESET,
};

/* "counter", "gauge", ... "unknown" as Prometheus' metadata API spells the
 * type; NULL for METRIC_TYPE_NONE or an out-of-range value. */
const char *metric_type_name(enum metric_type t);

/* What a sender said about one metric family (# TYPE/# HELP/# UNIT, remote
 * write's MetricMetadata, an OTLP Metric's kind, description and unit).
 * Strings borrow like labels do (the input or the batch arena). A field
 * with .p == NULL was not given; an empty given one has .p != NULL. */
struct batch_meta {
    struct strv family;    /* the metric family name, e.g. "http_requests_total" */
    enum metric_type type; /* METRIC_TYPE_NONE when not given */
    struct strv help;      /* free text */
    struct strv unit;      /* "seconds", "bytes", ... */
};

struct batch {
    struct label *labels;
    size_t nlabels, cap_labels;
    struct sample *samples;
    size_t nsamples, cap_samples;
    struct batch_series *series;
    size_t nseries, cap_series;
    struct batch_meta *meta; /* metric family metadata, beside the series */
    size_t nmeta, cap_meta;
    struct arena arena; /* copies of unescaped/derived strings */
    int open;           /* a series was begun and not yet ended */
};

void batch_init(struct batch *b);
void batch_fini(struct batch *b);
void batch_reset(struct batch *b);

/* Build one series: begin, add labels and samples, end. end sorts and
 * normalises the labels (empty values dropped, last duplicate wins). A series
 * ended with no samples or no labels is dropped. All return 0 or -ENOMEM.
 * batch_end_series() trusts its producer (collectors, tests); parsers of
 * outside input end with batch_end_series_checked() instead. */
int batch_begin_series(struct batch *b);
int batch_add_label(struct batch *b, struct strv name, struct strv value);
int batch_add_sample(struct batch *b, int64_t t_ms, double v);
int batch_end_series(struct batch *b);
/* batch_end_series() for data from outside the process (every ingest
 * format): the labels are sorted, then checked with labels_validate() before
 * they are normalised, so duplicates and the names of empty-valued labels are
 * seen too. An invalid set forgets the series and returns TIDE_EPARSE with
 * e->msg naming the label (e may be NULL; e->line/col are the caller's to
 * set). A valid one ends as batch_end_series() does: 0 or -ENOMEM. */
int batch_end_series_checked(struct batch *b, struct err *e);
/* Forget the series begun last (e.g. its line failed to parse). */
void batch_abort_series(struct batch *b);

/* Record metadata of a family. When the last entry is of the same family,
 * the given fields of `m` are merged into it (a # TYPE line then its # HELP
 * line make one entry); otherwise `m` is appended. Strings are borrowed as
 * they are (copy with batch_strdup() first if they are not the input's).
 * 0 or -ENOMEM. The metadata is not tied to any series: a batch may carry
 * metadata and no samples (remote write sends it in requests of its own). */
int batch_add_meta(struct batch *b, const struct batch_meta *m);

/* Make room for this many more series, labels and samples, so a producer
 * that can estimate its output (e.g. from its first line and the input size)
 * fills the batch without reallocating. 0 or -ENOMEM; a hint, never a limit. */
int batch_reserve(struct batch *b, size_t more_series, size_t more_labels, size_t more_samples);

/* Copy n bytes into the batch arena (NUL-terminated); NULL on -ENOMEM. */
char *batch_strdup(struct batch *b, const char *p, size_t n);

/* Total samples in the batch. */
static inline size_t batch_samples(const struct batch *b) { return b->nsamples; }

/* Where a producer delivers batches: storage appender, remote queue, a test.
 * Returns 0 or a negative error with detail in `e`. */
typedef int batch_sink_fn(void *ctx, struct batch *b, struct err *e);

#endif
