/* query.h: the PromQL engine's public interface, what api/ (the Prometheus
 * HTTP API: /api/v1/query and /api/v1/query_range) and rules/ call.
 *
 * A query is parsed, planned (each vector selector is read from storage once,
 * over the whole time range the query needs) and evaluated at step-aligned
 * timestamps with Prometheus 2.42's semantics: 5-minute lookback, staleness
 * markers, offset and @, subqueries, and Prometheus' error messages.
 *
 * Ownership: query_instant()/query_range() return a `struct query` that owns
 * everything the result points to (labels, samples, strings); it stays valid
 * until query_free(). Label strings may also point into storage's intern
 * table, valid until storage_close() (storage.h), so free queries before
 * closing storage.
 * Thread: a query belongs to one thread; several queries may run at once on
 * one storage (storage_select is thread-safe).
 *
 * Errors (struct err carries the message, exactly Prometheus' text):
 *   TIDE_EPARSE      bad query text; e->line/col set. HTTP 400 "bad_data".
 *   TIDE_EINVAL      bad arguments (e.g. a range query over a range vector,
 *                    step <= 0, end < start). HTTP 400 "bad_data".
 *   QUERY_EEXEC      evaluation failed (many-to-many matching, duplicate
 *                    label sets, invalid regex in label_replace, ...).
 *                    HTTP 422 "execution".
 *   TIDE_ELIMIT      too many samples ("query processing would load too many
 *                    samples into memory in query execution") or memory cap.
 *                    HTTP 422 "execution".
 *   QUERY_ETIMEOUT   the deadline passed ("query timed out in expression
 *                    evaluation"). HTTP 503 "timeout".
 *   -ENOMEM, storage's codes: HTTP 500 "internal".
 */
#ifndef TIDE_QUERY_QUERY_H
#define TIDE_QUERY_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/strv.h"
#include "model/batch.h"
#include "model/labels.h"

struct storage;

/* Query engine codes, next to core/err.h's range. */
enum {
    QUERY_ETIMEOUT = -30720, /* deadline passed: Prometheus errorType "timeout" (503) */
    QUERY_EEXEC = -30721,    /* evaluation error: errorType "execution" (422) */
};

/* Defaults used for zero fields. */
#define QUERY_DEFAULT_LOOKBACK_MS (5 * 60 * 1000)
#define QUERY_DEFAULT_MAX_SAMPLES 50000000
#define QUERY_DEFAULT_TIMEOUT_MS (2 * 60 * 1000)
#define QUERY_DEFAULT_SUBQUERY_STEP_MS (60 * 1000)
#define QUERY_DEFAULT_MAX_BYTES ((size_t)2 << 30)

/* Points kept outside storage merged into what a query reads (the live
 * ring of display-rate points, api/live_ring.h): called for every series a
 * selector reads from raw storage, with its sorted labels and the range
 * read. *v is a malloc'd array of the storage samples (NULL when *nv is 0),
 * time-ordered; the overlay may replace it with a malloc'd merged array
 * (freeing the old one), time-ordered, without duplicate timestamps and
 * without stale markers of its own. 0 or -ENOMEM. Runs on the query's
 * thread; must be thread-safe. */
typedef int query_overlay_fn(void *ctx, const struct label *ls, size_t nls, int64_t mint_ms,
                             int64_t maxt_ms, struct sample **v, size_t *nv);

struct query_opts {
    int64_t lookback_ms;       /* --query.lookback-delta; 0 = 5m */
    size_t max_samples;        /* --query.max-samples: samples held at once; 0 = 50M */
    int64_t timeout_ms;        /* --query.timeout; 0 = 2m; < 0 = none */
    int64_t subquery_step_ms;  /* step of a subquery written without one (Prometheus
                                  uses the global evaluation_interval); 0 = 1m */
    size_t max_bytes;          /* cap on the query's arena (labels, tree); 0 = 2 GiB */
    const char *tier;          /* rollup tiers (docs/storage.md#tiers): NULL or "auto" = the
                                  coarsest that answers exactly; "raw" = raw samples only; a
                                  tier name = no coarser than it. Unknown: TIDE_EINVAL */
    query_overlay_fn *overlay; /* NULL = storage only; set = raw samples only (no tiers) */
    void *overlay_ctx;
};

/* The value types of PromQL results. */
enum query_type {
    QUERY_SCALAR = 1, /* scalar: t_ms, scalar */
    QUERY_VECTOR,     /* instant vector: series[i] has exactly one sample, at t_ms */
    QUERY_MATRIX,     /* range vector, or any range query's result */
    QUERY_STRING,     /* string: t_ms, str */
};

struct query_series {
    const struct label *labels; /* sorted by name */
    size_t nlabels;
    const struct sample *samples; /* time-ordered */
    size_t nsamples;
};

struct query_result {
    enum query_type type;
    int64_t t_ms;     /* evaluation time of an instant query */
    double scalar;    /* QUERY_SCALAR */
    struct strv str;  /* QUERY_STRING (NUL-terminated) */
    const struct query_series *series; /* QUERY_VECTOR, QUERY_MATRIX */
    size_t nseries;
    /* Statistics. */
    size_t samples_loaded;  /* samples read from storage */
    size_t peak_samples;    /* most samples held at once (checked against max_samples) */
    char tier[64];          /* what answered: tier names coarsest first and/or "raw",
                               joined by "+" ("1h", "5m+raw", "raw") */
};

struct query;

/* Evaluate `expr` (len bytes, need not be NUL-terminated) at t_ms, as
 * /api/v1/query does. The result is a scalar, string, vector (unordered,
 * except after sort()/topk as Prometheus) or matrix (a range vector selector
 * or subquery at the top). On failure *out is NULL. `o` may be NULL. */
int query_instant(struct query **out, struct storage *s, const char *expr, size_t len,
                  int64_t t_ms, const struct query_opts *o, struct err *e);

/* Evaluate `expr` at start_ms, start_ms + step_ms, ... <= end_ms, as
 * /api/v1/query_range does. The result is always a QUERY_MATRIX sorted by
 * labels; a scalar expression gives one series with no labels. The caller
 * (api/) enforces Prometheus' 11,000 points-per-series resolution limit.
 * Errors: TIDE_EINVAL for step_ms <= 0, end_ms < start_ms, or an expression
 * that is not a scalar or instant vector. */
int query_range(struct query **out, struct storage *s, const char *expr, size_t len,
                int64_t start_ms, int64_t end_ms, int64_t step_ms, const struct query_opts *o,
                struct err *e);

/* The result of a successful query; valid until query_free(). */
const struct query_result *query_result(const struct query *q);

void query_free(struct query *q);

/* "timeout", "execution", "bad_data" or "internal": Prometheus' errorType
 * for an error code returned above. */
const char *query_error_type(int code);

/* Parse `expr` and append its canonical one-line form (Prometheus'
 * String(), what /api/v1/format_query returns for expressions that fit on
 * a line) to dst. TIDE_EPARSE with Prometheus' message ("1:5: parse error:
 * ...") for bad text; -ENOMEM/TIDE_ELIMIT when memory or dst ran out.
 * Also the cheap way to validate a query without evaluating it. */
struct buf;
int query_format(struct buf *dst, const char *expr, size_t len, struct err *e);

/* Append a sample value as Prometheus' API writes it (Go's
 * strconv.FormatFloat(v, 'f', -1, 64)): "1", "0.25", "1e+21" never appears
 * ("1000000000000000000000"), "+Inf", "-Inf", "NaN". 0 or a buf error. */
int query_format_float(struct buf *dst, double v);

#endif
