/* metrics.h: Tide's own counters, served on /metrics (metrics.c) in the
 * Prometheus text format next to the storage engine's statistics.
 *
 * Ownership: main.c owns one struct metrics for the process and hands it to
 * the HTTP server through api_ctx. Thread: every counter is a relaxed
 * atomic; any thread may bump any counter at any time.
 */
#ifndef TIDE_API_METRICS_H
#define TIDE_API_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "api/router.h"

enum metrics_format {
    METRICS_FMT_INFLUX,       /* /write, /api/v2/write */
    METRICS_FMT_JSONL,        /* /api/v1/import */
    METRICS_FMT_CSV,          /* /api/v1/import/csv */
    METRICS_FMT_PROMETHEUS,   /* /api/v1/import/prometheus */
    METRICS_FMT_REMOTE_WRITE, /* /api/v1/write */
    METRICS_FMT_OTLP,         /* OTLP/HTTP metrics */
    METRICS_FMT_COLLECTD,     /* /api/v1/import/collectd */
    METRICS_NFORMATS
};

/* Status codes counted one by one; the rest share the "other" slot. */
#define METRICS_NCODES 13

struct metrics {
    _Atomic uint64_t samples_ingested[METRICS_NFORMATS]; /* samples stored by write endpoints */
    _Atomic uint64_t lines_rejected[METRICS_NFORMATS];   /* input lines refused by a parser */
    _Atomic uint64_t samples_refused[METRICS_NFORMATS];  /* parsed samples refused by a limit */
    _Atomic uint64_t samples_merged[METRICS_NFORMATS];   /* replaced in the same ms (write.c) */
    _Atomic uint64_t requests[ROUTER_MAX_ROUTES + 1][METRICS_NCODES]; /* [route][code slot] */
    _Atomic uint64_t request_body_bytes; /* request body bytes received (before gunzip) */
    _Atomic uint64_t requests_too_large; /* bodies refused with 413 */
};

void metrics_init(struct metrics *m);

/* Collect functions for the self-metrics registry (core/selfmetrics.h):
 * the API's counters (ctx: struct metrics), the storage engine's statistics
 * (ctx: struct storage) and the process_* gauges (ctx: the int64_t wall
 * clock of the start, in ms). */
struct sm_out;
void metrics_collect_api(void *ctx, struct sm_out *o);
void metrics_collect_storage(void *ctx, struct sm_out *o);
void metrics_collect_process(void *ctx, struct sm_out *o);
/* Count one answered request: route id (ROUTER_NOT_FOUND for 404s) and status. */
void metrics_count_request(struct metrics *m, int route, int status);
/* Count a write: samples stored, lines the parser refused, samples a limit refused. */
void metrics_count_write(struct metrics *m, enum metrics_format f, uint64_t samples,
                         uint64_t lines_bad, uint64_t samples_refused);
/* Count samples replaced by a later one of the same series and millisecond. */
void metrics_count_merged(struct metrics *m, enum metrics_format f, uint64_t samples);

#endif
