/* otlp.h: OTLP/HTTP metrics (a protobuf ExportMetricsServiceRequest,
 * proto/opentelemetry/) to a `struct batch`, converted the way Prometheus'
 * OTLP receiver converts them (storage/remote/otlptranslator, with metric
 * suffixes): gauges stay gauges, monotonic cumulative sums become `_total`
 * counters, histograms become `_bucket{le}`/`_sum`/`_count`, summaries
 * become quantile series plus `_sum`/`_count`; `service.name`
 * (`service.namespace/service.name`) becomes `job`, `service.instance.id`
 * becomes `instance`, other resource attributes go on one `target_info`
 * series per resource. Every rule, and where Tide differs: docs/api/formats.md.
 *
 * A request is all or nothing: on error the batch keeps exactly the series it
 * had before the call. Names are made Prometheus names, so what
 * labels_validate() can still refuse is an attribute value (or service name)
 * that is not UTF-8: the whole request is then refused. job, instance,
 * __name__, le and quantile replace attributes of the same name. Labels are copied into the batch
 * arena, so `pb` may be freed when the call returns. Thread: none; no shared state.
 */
#ifndef TIDE_INGEST_OTLP_H
#define TIDE_INGEST_OTLP_H

#include <stddef.h>

#include "core/err.h"
#include "model/batch.h"

/* Default cap on the memory protobuf-c may use to unpack one request (its
 * structs take several times the wire size). */
#define OTLP_MAX_MEM_BYTES ((size_t)256 << 20)
/* Nesting past which a request is refused before unpacking (AnyValue arrays
 * and maps nest without bound in the schema; the unpacker recurses). */
#define OTLP_MAX_DEPTH 32

/* What a request held besides the samples added (all counts are added to). */
struct otlp_stats {
    size_t points;                 /* data points converted into samples */
    size_t exp_histograms_skipped; /* exponential histogram points: not stored yet */
    size_t temporality_skipped;    /* points of non-cumulative sums and histograms */
};

/* Convert one protobuf ExportMetricsServiceRequest pb[0..n) into `b`.
 * `max_mem_bytes` caps protobuf-c's allocations (0 = OTLP_MAX_MEM_BYTES).
 * `st` (may be NULL) is added to. Returns 0, TIDE_EPARSE (not a valid
 * request, nested deeper than OTLP_MAX_DEPTH, or a label value that is not
 * UTF-8: "otlp: metric \"m\": value of label \"k\" is not valid UTF-8"), TIDE_ELIMIT (over
 * max_mem_bytes) or -ENOMEM, with detail in `e` (may be NULL). */
int otlp_parse(const void *pb, size_t n, size_t max_mem_bytes, struct batch *b,
               struct otlp_stats *st, struct err *e);

/* The same for the JSON encoding of OTLP/HTTP (ingest/otlp_json.c): the body
 * is transcoded to protobuf under the same nesting limit, then converted by
 * otlp_parse(). A JSON error says "otlp json: byte N: why". Strings with JSON
 * escapes are decoded into b's arena. Same returns as otlp_parse(). */
int otlp_json_parse(const char *json, size_t n, size_t max_mem_bytes, struct batch *b,
                    struct otlp_stats *st, struct err *e);
/* Only the transcoding: append the protobuf wire bytes of the request in
 * json[0..n) to `out`. 0, TIDE_EPARSE or -ENOMEM. */
struct buf;
int otlp_json_to_pb(const char *json, size_t n, struct batch *b, struct buf *out, struct err *e);

#endif
