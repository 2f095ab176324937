/* metrics.c: /metrics, Tide watching itself in the Prometheus text format
 * (version 0.0.4): tide_build_info, then every collect function registered
 * with the self-metrics registry (core/selfmetrics.h). Three of them live
 * here: the API's own atomic counters (metrics.h), the storage engine's
 * statistics (storage_stats()) and a few process_* gauges read from /proc.
 * Every series is listed in docs/metrics.md.
 *
 * The request counter is indexed by route id, so its `path` label only ever
 * takes the values of the route table (plus "other"), whatever clients send.
 */
#include "api/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api/http.h"
#include "core/selfmetrics.h"
#include "storage/storage.h"

static const int codes[METRICS_NCODES - 1] = {200, 204, 400, 404, 405, 413,
                                              415, 422, 429, 500, 503, 507};
static const char *const format_names[METRICS_NFORMATS] = {
    "influx", "jsonl", "csv", "prometheus", "remote_write", "otlp", "collectd"};

void metrics_init(struct metrics *m)
{
    memset(m, 0, sizeof *m);
}

static int code_slot(int status)
{
    for (int i = 0; i < METRICS_NCODES - 1; i++)
        if (codes[i] == status)
            return i;
    return METRICS_NCODES - 1;
}

void metrics_count_request(struct metrics *m, int route, int status)
{
    if (route < 0 || route > ROUTER_MAX_ROUTES)
        route = ROUTER_NOT_FOUND;
    atomic_fetch_add_explicit(&m->requests[route][code_slot(status)], 1, memory_order_relaxed);
}

void metrics_count_write(struct metrics *m, enum metrics_format f, uint64_t samples,
                         uint64_t lines_bad, uint64_t samples_refused)
{
    atomic_fetch_add_explicit(&m->samples_ingested[f], samples, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->lines_rejected[f], lines_bad, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->samples_refused[f], samples_refused, memory_order_relaxed);
}

void metrics_count_merged(struct metrics *m, enum metrics_format f, uint64_t samples)
{
    atomic_fetch_add_explicit(&m->samples_merged[f], samples, memory_order_relaxed);
}

static uint64_t load(_Atomic uint64_t *p)
{
    return atomic_load_explicit(p, memory_order_relaxed);
}

static void one(struct sm_out *o, const char *name, enum sm_type type, const char *help,
                uint64_t v)
{
    sm_family(o, name, type, help);
    sm_sample(o, (double)v, NULL);
}

/* Resident set size from /proc/self/statm (second field, in pages). */
static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? resident * (uint64_t)page : 0;
}

/* ---- the collect functions the wiring registers (metrics.h) ---- */

void metrics_collect_process(void *ctx, struct sm_out *o)
{
    const int64_t *started_ms = ctx;
    one(o, "process_resident_memory_bytes", SM_GAUGE, "Resident memory size in bytes.",
        rss_bytes());
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        sm_family(o, "process_cpu_seconds_total", SM_COUNTER,
                  "Total user and system CPU time spent in seconds.");
        sm_sample(o, cpu, NULL);
    }
    sm_family(o, "process_start_time_seconds", SM_GAUGE,
              "Start time of the process since unix epoch in seconds.");
    sm_sample(o, (double)*started_ms / 1000.0, NULL);
}

static void storage_metrics(struct sm_out *o, const struct storage_stats *st)
{
    one(o, "tide_series", SM_GAUGE, "Series in the registry.", st->series);
    one(o, "tide_head_series", SM_GAUGE, "Series with samples in the in-memory head.",
        st->head_series);
    one(o, "tide_head_samples", SM_GAUGE, "Samples in the in-memory head.", st->head_samples);
    one(o, "tide_head_chunks", SM_GAUGE, "Compressed chunks in the in-memory head.",
        st->head_chunks);
    one(o, "tide_block_samples", SM_GAUGE, "Samples in immutable on-disk blocks.",
        st->block_samples);
    one(o, "tide_storage_bytes", SM_GAUGE, "Bytes on disk: WAL and blocks.", st->bytes_on_disk);
    one(o, "tide_wal_bytes", SM_GAUGE, "Current size of the write-ahead log on disk.",
        st->wal_bytes);
    one(o, "tide_partitions", SM_GAUGE, "Time partitions on disk.", (uint64_t)st->npartitions);
    sm_family(o, "tide_storage_min_time_seconds", SM_GAUGE,
              "Oldest sample timestamp stored (0 when empty).");
    sm_sample(o, (double)st->mint_ms / 1000.0, NULL);
    sm_family(o, "tide_storage_max_time_seconds", SM_GAUGE,
              "Newest sample timestamp stored (0 when empty).");
    sm_sample(o, (double)st->maxt_ms / 1000.0, NULL);
    one(o, "tide_samples_appended_total", SM_COUNTER, "Samples appended to storage since start.",
        st->samples_appended_total);
    one(o, "tide_samples_out_of_order_total", SM_COUNTER,
        "Samples appended behind the newest sample of their series.",
        st->samples_out_of_order_total);
    one(o, "tide_samples_rejected_total", SM_COUNTER,
        "Samples storage refused because of a series or label limit.", st->samples_rejected_total);
    one(o, "tide_series_created_total", SM_COUNTER, "Series created since start.",
        st->series_created_total);
    one(o, "tide_wal_fsyncs_total", SM_COUNTER, "fsync calls on the write-ahead log.",
        st->wal_fsyncs_total);
    one(o, "tide_wal_written_bytes_total", SM_COUNTER, "Bytes written to the write-ahead log.",
        st->wal_bytes_total);
    one(o, "tide_wal_torn_records_total", SM_COUNTER,
        "Torn or corrupt WAL tail records dropped at replay.", st->wal_torn_records_total);
    one(o, "tide_head_cuts_total", SM_COUNTER, "Head cuts into on-disk blocks.",
        st->head_cuts_total);
    one(o, "tide_compactions_total", SM_COUNTER, "Block compactions.", st->compactions_total);
    one(o, "tide_partitions_dropped_total", SM_COUNTER, "Partitions dropped by retention.",
        st->partitions_dropped_total);
    one(o, "tide_wal_corrupt_records_total", SM_COUNTER,
        "Damaged regions inside WAL segments skipped at replay (the records after them were "
        "recovered).",
        st->wal_corrupt_records_total);
    one(o, "tide_wal_corrupt_bytes_total", SM_COUNTER,
        "Bytes of the damaged WAL regions skipped at replay.", st->wal_corrupt_bytes_total);
    one(o, "tide_storage_blocks_quarantined_total", SM_COUNTER,
        "Damaged or stray block files moved to DIR/quarantine at start-up.",
        st->blocks_quarantined_total);
    one(o, "tide_storage_blocks_damaged", SM_GAUGE,
        "Live blocks found damaged at read time; their partition is no longer compacted.",
        st->blocks_damaged);
    sm_family(o, "tide_storage_background_errors_total", SM_COUNTER,
              "Failed storage background jobs, by job.");
    for (int j = 0; j < STORAGE_JOB_N; j++)
        sm_sample(o, (double)st->job_errors_total[j], "job",
                  storage_job_name((enum storage_job)j), NULL);
    if (st->last_error_job != NULL) {
        sm_family(o, "tide_storage_last_error_info", SM_GAUGE,
                  "The last failed storage background job and its message; always 1.");
        sm_sample(o, 1, "job", st->last_error_job, "error", st->last_error, NULL);
        sm_family(o, "tide_storage_last_error_timestamp_seconds", SM_GAUGE,
                  "When the last storage background job failed, Unix seconds.");
        sm_sample(o, (double)st->last_error_ms / 1000.0, NULL);
    }
}

void metrics_collect_storage(void *ctx, struct sm_out *o)
{
    struct storage_stats st = {0};
    if (storage_stats(ctx, &st) != 0) {
        o->failed = -EIO;
        return;
    }
    storage_metrics(o, &st);
    storage_stats_fini(&st);
}

/* A counter family with one series per input format. */
static void by_format(struct sm_out *o, const char *name, const char *help,
                      _Atomic uint64_t v[METRICS_NFORMATS])
{
    sm_family(o, name, SM_COUNTER, help);
    for (int f = 0; f < METRICS_NFORMATS; f++)
        sm_sample(o, (double)load(&v[f]), "format", format_names[f], NULL);
}

void metrics_collect_api(void *ctx, struct sm_out *o)
{
    struct metrics *m = ctx;
    by_format(o, "tide_samples_ingested_total",
              "Samples stored through the write endpoints, by input format.", m->samples_ingested);
    by_format(o, "tide_lines_rejected_total", "Input lines a parser refused, by input format.",
              m->lines_rejected);
    by_format(o, "tide_samples_refused_total",
              "Parsed samples refused by a series or label limit, by input format.",
              m->samples_refused);
    by_format(o, "tide_samples_merged_total",
              "Samples replaced by a later sample of the same series and millisecond in the same "
              "write (sub-millisecond timestamps), by input format.",
              m->samples_merged);
    one(o, "tide_http_request_body_bytes_total", SM_COUNTER,
        "Request body bytes received, before gunzip.", load(&m->request_body_bytes));
    one(o, "tide_http_requests_too_large_total", SM_COUNTER,
        "Requests refused with 413 for a body over max_request_bytes.",
        load(&m->requests_too_large));
    sm_family(o, "tide_http_requests_total", SM_COUNTER, "HTTP requests answered, by route and code.");
    for (int r = 0; r <= ROUTER_MAX_ROUTES; r++) {
        if (r != ROUTER_NOT_FOUND && (size_t)r >= router_count())
            continue;
        for (int c = 0; c < METRICS_NCODES; c++) {
            uint64_t v = load(&m->requests[r][c]);
            if (v == 0)
                continue;
            char code[16] = "other";
            if (c < METRICS_NCODES - 1)
                snprintf(code, sizeof code, "%d", codes[c]);
            sm_sample(o, (double)v, "path", router_label(r), "code", code, NULL);
        }
    }
}

void metrics_serve(struct http_req *rq, struct http_resp *rs)
{
    struct api_ctx *ctx = rq->ctx;
    struct buf *b = &rs->body;
    int rc = buf_printf(b,
                        "# HELP tide_build_info Tide's version; the value is always 1.\n"
                        "# TYPE tide_build_info gauge\n"
                        "tide_build_info{version=\"%s\"} 1\n",
                        ctx->version);
    if (rc >= 0)
        rc = selfmetrics_write(ctx->selfmetrics, b);
    if (rc < 0) {
        buf_reset(b);
        http_reply(rs, 500, "text/plain; charset=utf-8", "reading Tide's own metrics failed\n");
        return;
    }
    rs->status = 200;
    rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
