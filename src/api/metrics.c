/* metrics.c: /metrics, Tide watching itself in the Prometheus text format
 * (version 0.0.4): the API's own atomic counters (metrics.h), the storage
 * engine's statistics (storage_stats()) and a few process_* gauges read from
 * /proc. Every series is listed in docs/metrics.md.
 *
 * The request counter is indexed by route id, so its `path` label only ever
 * takes the values of the route table (plus "other"), whatever clients send.
 */
#include "api/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api/http.h"
#include "storage/storage.h"

static const int codes[METRICS_NCODES - 1] = {200, 204, 400, 404, 405, 413,
                                              415, 422, 429, 500, 503, 507};
static const char *const format_names[METRICS_NFORMATS] = {"influx",     "jsonl",        "csv",
                                                           "prometheus", "remote_write", "otlp"};

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

static uint64_t load(_Atomic uint64_t *p)
{
    return atomic_load_explicit(p, memory_order_relaxed);
}

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
    family(b, name, type, help);
    buf_printf(b, "%s %" PRIu64 "\n", name, v);
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

static void process_metrics(struct buf *b, const struct api_ctx *ctx)
{
    one(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss_bytes());
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        family(b, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.");
        buf_printf(b, "process_cpu_seconds_total %.6f\n", cpu);
    }
    family(b, "process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.");
    buf_printf(b, "process_start_time_seconds %.3f\n", (double)ctx->started_ms / 1000.0);
}

static void storage_metrics(struct buf *b, const struct storage_stats *st)
{
    one(b, "tide_series", "gauge", "Series in the registry.", st->series);
    one(b, "tide_head_series", "gauge", "Series with samples in the in-memory head.",
        st->head_series);
    one(b, "tide_head_samples", "gauge", "Samples in the in-memory head.", st->head_samples);
    one(b, "tide_head_chunks", "gauge", "Compressed chunks in the in-memory head.",
        st->head_chunks);
    one(b, "tide_block_samples", "gauge", "Samples in immutable on-disk blocks.",
        st->block_samples);
    one(b, "tide_storage_bytes", "gauge", "Bytes on disk: WAL and blocks.", st->bytes_on_disk);
    one(b, "tide_wal_bytes", "gauge", "Current size of the write-ahead log on disk.",
        st->wal_bytes);
    one(b, "tide_partitions", "gauge", "Time partitions on disk.", (uint64_t)st->npartitions);
    family(b, "tide_storage_min_time_seconds", "gauge",
           "Oldest sample timestamp stored (0 when empty).");
    buf_printf(b, "tide_storage_min_time_seconds %.3f\n", (double)st->mint_ms / 1000.0);
    family(b, "tide_storage_max_time_seconds", "gauge",
           "Newest sample timestamp stored (0 when empty).");
    buf_printf(b, "tide_storage_max_time_seconds %.3f\n", (double)st->maxt_ms / 1000.0);
    one(b, "tide_samples_appended_total", "counter", "Samples appended to storage since start.",
        st->samples_appended_total);
    one(b, "tide_samples_out_of_order_total", "counter",
        "Samples appended behind the newest sample of their series.",
        st->samples_out_of_order_total);
    one(b, "tide_samples_rejected_total", "counter",
        "Samples storage refused because of a series or label limit.", st->samples_rejected_total);
    one(b, "tide_series_created_total", "counter", "Series created since start.",
        st->series_created_total);
    one(b, "tide_wal_fsyncs_total", "counter", "fsync calls on the write-ahead log.",
        st->wal_fsyncs_total);
    one(b, "tide_wal_written_bytes_total", "counter", "Bytes written to the write-ahead log.",
        st->wal_bytes_total);
    one(b, "tide_wal_torn_records_total", "counter",
        "Torn or corrupt WAL tail records dropped at replay.", st->wal_torn_records_total);
    one(b, "tide_head_cuts_total", "counter", "Head cuts into on-disk blocks.",
        st->head_cuts_total);
    one(b, "tide_compactions_total", "counter", "Block compactions.", st->compactions_total);
    one(b, "tide_partitions_dropped_total", "counter", "Partitions dropped by retention.",
        st->partitions_dropped_total);
    one(b, "tide_wal_corrupt_records_total", "counter",
        "Damaged regions inside WAL segments skipped at replay (the records after them were "
        "recovered).",
        st->wal_corrupt_records_total);
    one(b, "tide_wal_corrupt_bytes_total", "counter",
        "Bytes of the damaged WAL regions skipped at replay.", st->wal_corrupt_bytes_total);
    one(b, "tide_storage_blocks_quarantined_total", "counter",
        "Damaged or stray block files moved to DIR/quarantine at start-up.",
        st->blocks_quarantined_total);
    one(b, "tide_storage_blocks_damaged", "gauge",
        "Live blocks found damaged at read time; their partition is no longer compacted.",
        st->blocks_damaged);
    family(b, "tide_storage_background_errors_total", "counter",
           "Failed storage background jobs, by job.");
    for (int j = 0; j < STORAGE_JOB_N; j++)
        buf_printf(b, "tide_storage_background_errors_total{job=\"%s\"} %" PRIu64 "\n",
                   storage_job_name((enum storage_job)j), st->job_errors_total[j]);
    if (st->last_error_job != NULL) {
        family(b, "tide_storage_last_error_info", "gauge",
               "The last failed storage background job and its message; always 1.");
        buf_printf(b, "tide_storage_last_error_info{job=\"%s\",error=\"", st->last_error_job);
        for (const char *c = st->last_error; *c; c++) {
            if (*c == '\\' || *c == '"')
                buf_putc(b, '\\');
            if (*c == '\n')
                buf_puts(b, "\\n");
            else
                buf_putc(b, *c);
        }
        buf_puts(b, "\"} 1\n");
        family(b, "tide_storage_last_error_timestamp_seconds", "gauge",
               "When the last storage background job failed, Unix seconds.");
        buf_printf(b, "tide_storage_last_error_timestamp_seconds %.3f\n",
                   (double)st->last_error_ms / 1000.0);
    }
}

/* A counter family with one series per input format. */
static void by_format(struct buf *b, const char *name, const char *help,
                      _Atomic uint64_t v[METRICS_NFORMATS])
{
    family(b, name, "counter", help);
    for (int f = 0; f < METRICS_NFORMATS; f++)
        buf_printf(b, "%s{format=\"%s\"} %" PRIu64 "\n", name, format_names[f], load(&v[f]));
}

static void api_metrics(struct buf *b, struct metrics *m)
{
    by_format(b, "tide_samples_ingested_total",
              "Samples stored through the write endpoints, by input format.", m->samples_ingested);
    by_format(b, "tide_lines_rejected_total", "Input lines a parser refused, by input format.",
              m->lines_rejected);
    by_format(b, "tide_samples_refused_total",
              "Parsed samples refused by a series or label limit, by input format.",
              m->samples_refused);
    one(b, "tide_http_request_body_bytes_total", "counter",
        "Request body bytes received, before gunzip.", load(&m->request_body_bytes));
    one(b, "tide_http_requests_too_large_total", "counter",
        "Requests refused with 413 for a body over max_request_bytes.",
        load(&m->requests_too_large));
    family(b, "tide_http_requests_total", "counter", "HTTP requests answered, by route and code.");
    for (int r = 0; r <= ROUTER_MAX_ROUTES; r++) {
        if (r != ROUTER_NOT_FOUND && (size_t)r >= router_count())
            continue;
        for (int c = 0; c < METRICS_NCODES; c++) {
            uint64_t v = load(&m->requests[r][c]);
            if (v == 0)
                continue;
            if (c < METRICS_NCODES - 1)
                buf_printf(b, "tide_http_requests_total{path=\"%s\",code=\"%d\"} %" PRIu64 "\n",
                           router_label(r), codes[c], v);
            else
                buf_printf(b, "tide_http_requests_total{path=\"%s\",code=\"other\"} %" PRIu64 "\n",
                           router_label(r), v);
        }
    }
}

void metrics_serve(struct http_req *rq, struct http_resp *rs)
{
    struct api_ctx *ctx = rq->ctx;
    struct storage_stats st = {0};
    int rc = storage_stats(ctx->storage, &st);
    if (rc != 0) {
        http_reply(rs, 500, "text/plain; charset=utf-8", "reading storage statistics failed\n");
        return;
    }
    struct buf *b = &rs->body;
    family(b, "tide_build_info", "gauge", "Tide's version; the value is always 1.");
    buf_printf(b, "tide_build_info{version=\"%s\"} 1\n", ctx->version);
    api_metrics(b, ctx->metrics);
    storage_metrics(b, &st);
    process_metrics(b, ctx);
    storage_stats_fini(&st);
    rs->status = 200;
    rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
