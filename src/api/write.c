/* write.c: the write endpoints, glue between a request body, a parser in
 * ingest/ and the append pipeline (model/pipeline.h):
 *   /write, /api/v2/write           Influx line protocol (1.x and 2.x conventions)
 *   /api/v1/import[/csv|/prometheus] JSON lines, CSV, Prometheus text format
 *   /api/v1/import/collectd, /collectd-post  collectd write_http (JSON, PUTVAL)
 *   /api/v1/write                   Prometheus remote write 1.0 (snappy protobuf)
 *   /api/v1/otlp/v1/metrics ...     OTLP/HTTP metrics (protobuf or JSON)
 *   /ping, /query                   just enough of InfluxDB 1.x for the `influx` CLI
 * For line formats a bad line never sinks the good ones: they are stored,
 * then the answer is 400 naming the bad lines, in the error shape each
 * protocol's clients parse ({"error":"partial write: ..."} for InfluxDB 1.x,
 * {"code":"invalid",...} for 2.x, Prometheus' envelope for imports). The
 * protobuf protocols are all or nothing, as their senders expect. A 2xx
 * means every sample is durable per the fsync policy; a 5xx means nothing
 * was acknowledged, 507 when the disk is full. Samples of one series in the
 * same millisecond of a write (sub-ms timestamps) are counted as merged.
 * The metadata a parser found (TYPE/HELP/UNIT, MetricMetadata, OTLP kinds)
 * goes to the metadata store (meta_store.h), samples or not.
 * Details: docs/api/write.md.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/http.h"
#include "api/json.h"
#include "api/meta_store.h"
#include "api/metrics.h"
#include "api/router.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/time.h"
#include "ingest/collectd.h"
#include "ingest/csv_import.h"
#include "ingest/expfmt.h"
#include "ingest/ingest.h"
#include "ingest/otlp.h"
#include "ingest/remote_write.h"
#include "model/labels.h"
#include "model/pipeline.h"
#include "storage/storage.h"

enum dialect {
    INFLUX_V1,
    INFLUX_V2,
    IMPORT_JSONL,
    IMPORT_CSV,
    IMPORT_PROM,
    REMOTE_WRITE,
    OTLP,
    IMPORT_COLLECTD,
};

static const enum metrics_format dialect_format[] = {
    [INFLUX_V1] = METRICS_FMT_INFLUX,
    [INFLUX_V2] = METRICS_FMT_INFLUX,
    [IMPORT_JSONL] = METRICS_FMT_JSONL,
    [IMPORT_CSV] = METRICS_FMT_CSV,
    [IMPORT_PROM] = METRICS_FMT_PROMETHEUS,
    [REMOTE_WRITE] = METRICS_FMT_REMOTE_WRITE,
    [OTLP] = METRICS_FMT_OTLP,
    [IMPORT_COLLECTD] = METRICS_FMT_COLLECTD,
};

static bool is_import(enum dialect d)
{
    return d == IMPORT_JSONL || d == IMPORT_CSV || d == IMPORT_PROM || d == IMPORT_COLLECTD;
}

/* What a parser needs besides the body. */
struct parse_args {
    struct influx_opts influx;           /* INFLUX_V1, INFLUX_V2 */
    const struct csv_import_format *csv; /* IMPORT_CSV */
    enum collectd_format collectd;       /* IMPORT_COLLECTD */
    bool otlp_json;                      /* OTLP: the JSON encoding */
    int64_t now_ms;                      /* default timestamp */
    const char *bucket;                  /* INFLUX_V2 with buckets: configured: the label
                                            bucket=NAME every series gets, else NULL */
};

/* Is an OTLP request in the JSON encoding (OTLP/HTTP: by Content-Type)? */
static bool otlp_json(const struct http_req *rq)
{
    const char *ct = rq->content_type;
    return ct != NULL && strncasecmp(ct, "application/json", 16) == 0;
}

/* The error body in the shape of the dialect. */
static void reply_error(struct http_req *rq, struct http_resp *rs, enum dialect d, int status,
                        const char *msg)
{
    if (is_import(d)) {
        http_reply_prom_error(rs, status, status >= 500 ? "internal" : "bad_data", msg);
        return;
    }
    if (d == OTLP && otlp_json(rq)) { /* a google.rpc.Status, JSON-encoded */
        rs->status = status;
        rs->content_type = "application/json";
        buf_reset(&rs->body);
        struct json w;
        json_init(&w, &rs->body);
        json_obj(&w);
        json_key(&w, "code");
        json_i64(&w, status >= 500 ? 13 : 3); /* INTERNAL, INVALID_ARGUMENT */
        json_key(&w, "message");
        json_cstr(&w, msg);
        json_obj_end(&w);
        if (json_end(&w) != 0)
            http_reply(rs, 500, "text/plain", "out of memory\n");
        return;
    }
    if (d == REMOTE_WRITE || d == OTLP) { /* their senders log a plain-text body */
        http_reply(rs, status, "text/plain; charset=utf-8", msg);
        buf_putc(&rs->body, '\n');
        return;
    }
    /* InfluxDB repeats the error in a header; keep it one bounded line. */
    size_t n = strcspn(msg, "\r\n");
    const char *h = arena_strndup(&rq->arena, msg, n > 512 ? 512 : n);
    if (h != NULL)
        http_header(rs, "X-Influxdb-Error", h);
    rs->status = status;
    rs->content_type = "application/json";
    buf_reset(&rs->body);
    struct json w;
    json_init(&w, &rs->body);
    json_obj(&w);
    if (d == INFLUX_V2) {
        json_key(&w, "code");
        json_cstr(&w, status >= 500   ? "internal error"
                      : status == 413 ? "request too large"
                      : status == 404 ? "not found"
                                      : "invalid");
        json_key(&w, "message");
    } else {
        json_key(&w, "error");
    }
    json_cstr(&w, msg);
    json_obj_end(&w);
    if (json_end(&w) != 0)
        http_reply(rs, status, "application/json", "{\"error\":\"error message too long\"}");
}

/* 507 Insufficient Storage: the WAL could not take the request because the
 * data directory's disk is full (ENOSPC) or over quota (EDQUOT). Every
 * dialect gets Prometheus' error envelope, which InfluxDB 1.x clients read
 * too ("error"); InfluxDB 2.x clients also find their "code"/"message".
 * Senders retry 5xx, and nothing of the request was acknowledged. */
static void reply_storage_full(struct http_req *rq, struct http_resp *rs, enum dialect d,
                               const struct err *ae)
{
    char msg[400];
    snprintf(msg, sizeof msg,
             "no space left for the write-ahead log (%s); nothing of this request was "
             "acknowledged; free disk space in the data directory and retry",
             ae->msg[0] ? ae->msg : "No space left on device");
    if (d == INFLUX_V1 || d == INFLUX_V2)
        http_header(rs, "X-Influxdb-Error", "no space left for the write-ahead log");
    rs->status = 507;
    rs->content_type = "application/json";
    buf_reset(&rs->body);
    struct json w;
    json_init(&w, &rs->body);
    json_obj(&w);
    json_key(&w, "status");
    json_cstr(&w, "error");
    json_key(&w, "errorType");
    json_cstr(&w, "storage_full");
    json_key(&w, "error");
    json_cstr(&w, msg);
    if (d == INFLUX_V2) {
        json_key(&w, "code");
        json_cstr(&w, "internal error");
        json_key(&w, "message");
        json_cstr(&w, msg);
    }
    json_obj_end(&w);
    if (json_end(&w) != 0)
        http_reply(rs, 507, "text/plain; charset=utf-8", "no space left on device\n");
    (void)rq;
}

static void influx_headers(struct http_req *rq, struct http_resp *rs)
{
    char v[64];
    int n = snprintf(v, sizeof v, "1.8.10-tide-%s", rq->ctx->version);
    const char *s = arena_strndup(&rq->arena, v, n > 0 ? (size_t)n : 0);
    http_header(rs, "X-Influxdb-Version", s ? s : "1.8.10");
    http_header(rs, "X-Influxdb-Build", "OSS");
}

/* Describe the bad lines of `rep` (and a limit refusal) into `b`:
 * "line 3: <reason>; line 7: <reason>; and 4 more bad lines". */
static void describe(struct buf *b, const struct ingest_report *rep, const struct err *limit)
{
    for (size_t i = 0; i < rep->nerrs; i++) {
        const struct err *e = &rep->errs[i];
        if (i > 0)
            buf_puts(b, "; ");
        if (strncmp(e->msg, "line ", 5) == 0) /* the parser named the line itself */
            buf_puts(b, e->msg);
        else if (e->line > 0 && e->col > 0)
            buf_printf(b, "line %d: %s (column %d)", e->line, e->msg, e->col);
        else if (e->line > 0)
            buf_printf(b, "line %d: %s", e->line, e->msg);
        else
            buf_puts(b, e->msg);
    }
    if (rep->lines_bad > rep->nerrs)
        buf_printf(b, "; and %zu more bad lines", rep->lines_bad - rep->nerrs);
    if (limit != NULL) {
        if (rep->nerrs > 0)
            buf_puts(b, "; ");
        buf_printf(b, "limit: %s", limit->msg[0] ? limit->msg : "a series limit was hit");
    }
}

/* Log samples a decoder read but cannot store yet (native and exponential
 * histograms, delta temporality), at most once a minute so a sender that
 * always includes them does not flood the log. */
static void log_skipped(const char *what, size_t n)
{
    static _Atomic int64_t last_ms;
    if (n == 0)
        return;
    int64_t now = time_now_ms();
    int64_t prev = atomic_load(&last_ms);
    if (now - prev < 60000 || !atomic_compare_exchange_strong(&last_ms, &prev, now))
        return;
    log_warn("write", "%zu %s skipped in one request: not stored yet (logged once a minute)", n,
             what);
}

/* Run the dialect's parser over the body. Line formats only fail on
 * -ENOMEM (bad lines go to `rep`); the protobuf ones fail whole with
 * TIDE_EPARSE or TIDE_ELIMIT, described in `e`. */
static int parse(const struct http_req *rq, enum dialect d, const struct parse_args *a,
                 const char *body, size_t n, struct batch *b, struct ingest_report *rep,
                 struct err *e)
{
    switch (d) {
    case INFLUX_V1:
    case INFLUX_V2:
        return influx_parse(body, n, &a->influx, b, rep);
    case IMPORT_JSONL:
        return jsonl_parse(body, n, b, rep);
    case IMPORT_CSV: {
        struct csv_import_opts o = {.format = a->csv, .default_t_ms = a->now_ms};
        return csv_import_parse(body, n, &o, b, rep);
    }
    case IMPORT_PROM: {
        struct expfmt_opts o = {.default_t_ms = a->now_ms};
        return expfmt_parse(body, n, &o, b, rep);
    }
    case IMPORT_COLLECTD: {
        struct collectd_opts o = {.format = a->collectd, .now_ms = a->now_ms};
        return collectd_parse(body, n, &o, b, rep);
    }
    case REMOTE_WRITE: {
        if (n == 0)
            return 0;
        size_t hist = 0;
        int rc = remote_write_decode(body, n, rq->ctx->max_request_bytes, b, &hist, e);
        log_skipped("native histogram samples", hist);
        return rc;
    }
    case OTLP: {
        struct otlp_stats st = {0};
        int rc = a->otlp_json ? otlp_json_parse(body, n, 0, b, &st, e)
                              : otlp_parse(body, n, 0, b, &st, e);
        log_skipped("OTLP exponential histogram points", st.exp_histograms_skipped);
        log_skipped("OTLP delta-temporality points", st.temporality_skipped);
        return rc;
    }
    }
    return TIDE_EINVAL;
}

/* ---- samples merged in the same millisecond ---- */

/* Influx at precision ns or us and OTLP carry sub-millisecond timestamps;
 * storage keeps milliseconds and, at an equal timestamp, the last write
 * (docs/storage.md), so two samples of one series less than 1 ms apart
 * become one. */
static bool sub_ms(enum dialect d, const struct parse_args *a)
{
    if (d == OTLP)
        return true;
    return (d == INFLUX_V1 || d == INFLUX_V2) &&
           (a->influx.precision == INFLUX_NS || a->influx.precision == INFLUX_US);
}

static int u64_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Samples of `b` that another sample of the same series and millisecond
 * replaces when stored (every one but the last of each run): a sorted
 * array of hash(labels, t). 0 when out of memory (not counted). */
static size_t same_ms_count(const struct batch *b)
{
    if (b->nsamples < 2)
        return 0;
    uint64_t *k = malloc(b->nsamples * sizeof *k);
    if (k == NULL)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < b->nseries; i++) {
        const struct batch_series *bs = &b->series[i];
        uint64_t h = labels_hash(b->labels + bs->label_off, bs->nlabels);
        for (uint32_t j = 0; j < bs->nsamples; j++) {
            int64_t t = b->samples[bs->sample_off + j].t_ms;
            k[n++] = hash_combine(h, &t, sizeof t);
        }
    }
    qsort(k, n, sizeof *k, u64_cmp);
    size_t merged = 0;
    for (size_t i = 1; i < n; i++)
        merged += k[i] == k[i - 1];
    free(k);
    return merged;
}

/* Count merges, and log them at most once a minute. */
static void count_merged(struct metrics *m, enum metrics_format f, size_t n)
{
    static _Atomic int64_t last_ms;
    if (n == 0)
        return;
    metrics_count_merged(m, f, n);
    int64_t now = time_now_ms();
    int64_t prev = atomic_load(&last_ms);
    if (now - prev < 60000 || !atomic_compare_exchange_strong(&last_ms, &prev, now))
        return;
    log_warn("write",
             "%zu samples in one request had the same series and millisecond as a later one and "
             "were replaced by it (timestamps are stored in ms; tide_samples_merged_total, "
             "logged once a minute)",
             n);
}

/* Line formats whose lines stand alone are parsed and appended in slices of
 * about this many bytes, each ending at a newline: a batch holds ~8 times
 * the bytes of its Influx lines (every field repeats the line's tags), so a
 * 64 MiB body must not become one batch. CSV is not sliced (a quoted field
 * may hold a newline), nor the protobuf formats (all or nothing). */
#define WRITE_SLICE_BYTES ((size_t)512 << 10)

static bool sliced(enum dialect d)
{
    return d == INFLUX_V1 || d == INFLUX_V2 || d == IMPORT_JSONL;
}

static int count_lines(const char *p, size_t n)
{
    int lines = 0;
    const char *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        lines++;
        p = nl + 1;
    }
    return lines;
}

/* Add a slice's report to the request's, its line numbers shifted by `base`
 * (parsers also name the line at the start of the message: "line 3: ..."). */
static void report_merge(struct ingest_report *into, const struct ingest_report *from, int base)
{
    into->lines_ok += from->lines_ok;
    for (size_t i = 0; i < from->nerrs; i++) {
        struct err e = from->errs[i];
        if (e.line > 0)
            e.line += base;
        int n = 0, used = 0;
        if (base > 0 && sscanf(e.msg, "line %d%n", &n, &used) == 1 && used > 0) {
            char rest[sizeof e.msg];
            size_t rn = strlen(e.msg + used);
            memcpy(rest, e.msg + used, rn + 1);
            int k = snprintf(e.msg, sizeof e.msg, "line %d", n + base);
            if (k > 0 && (size_t)k + rn < sizeof e.msg)
                memcpy(e.msg + k, rest, rn + 1);
        }
        ingest_report_bad(into, &e);
    }
    into->lines_bad += from->lines_bad - from->nerrs;
}

/* Copy src into dst with the label bucket=NAME on every series (replacing a
 * tag of that name), labels kept sorted; strings stay borrowed from src. */
static int add_bucket(const struct batch *src, const char *bucket, struct batch *dst)
{
    static const struct strv name = {"bucket", 6};
    struct strv value = strv_c(bucket);
    batch_reset(dst);
    int rc = 0;
    for (size_t i = 0; i < src->nseries && rc == 0; i++) {
        const struct batch_series *bs = &src->series[i];
        rc = batch_begin_series(dst);
        bool put = false;
        for (uint32_t j = 0; j < bs->nlabels && rc == 0; j++) {
            const struct label *l = &src->labels[bs->label_off + j];
            int c = strv_cmp(l->name, name);
            if (c >= 0 && !put) {
                rc = batch_add_label(dst, name, value);
                put = true;
            }
            if (c != 0 && rc == 0)
                rc = batch_add_label(dst, l->name, l->value);
        }
        if (!put && rc == 0)
            rc = batch_add_label(dst, name, value);
        for (uint32_t j = 0; j < bs->nsamples && rc == 0; j++) {
            const struct sample *sm = &src->samples[bs->sample_off + j];
            rc = batch_add_sample(dst, sm->t_ms, sm->v);
        }
        rc = rc ? rc : batch_end_series(dst);
    }
    return rc;
}

/* Parse, append, answer: the body of every write endpoint. */
static void do_write(struct http_req *rq, struct http_resp *rs, enum dialect d,
                     const struct parse_args *a)
{
    struct api_ctx *ctx = rq->ctx;
    enum metrics_format mf = dialect_format[d];
    const char *body = rq->body.p ? rq->body.p : "";
    size_t n = rq->body.len, off = 0;
    int line_base = 0;
    struct batch b, bb; /* bb: b with the bucket label */
    struct ingest_report rep;
    struct err pe = {0};
    struct pipeline_result res = {0};
    struct err ae = {0};
    int rc = 0;
    batch_init(&b);
    batch_init(&bb);
    ingest_report_init(&rep);
    do {
        size_t len = n - off;
        if (sliced(d) && len > WRITE_SLICE_BYTES) {
            const char *from = body + off + WRITE_SLICE_BYTES;
            const char *nl = memchr(from, '\n', (size_t)(body + n - from));
            len = nl ? (size_t)(nl + 1 - (body + off)) : n - off;
        }
        batch_reset(&b);
        struct ingest_report srep;
        ingest_report_init(&srep);
        int prc = parse(rq, d, a, body + off, len, &b, &srep, &pe);
        if (prc == 0 && a->bucket && (prc = add_bucket(&b, a->bucket, &bb)) != 0)
            prc = -ENOMEM;
        if (prc != 0) {
            batch_fini(&b);
            batch_fini(&bb);
            metrics_count_write(ctx->metrics, mf, res.samples_added, 1, 0);
            if (prc == -ENOMEM) {
                reply_error(rq, rs, d, 500, "out of memory while parsing");
                return;
            }
            char msg[300];
            snprintf(msg, sizeof msg, "nothing stored: %s",
                     pe.msg[0] ? pe.msg : tide_strerror(prc));
            reply_error(rq, rs, d, prc == TIDE_ELIMIT ? 413 : 400, msg);
            return;
        }
        if (b.nmeta > 0 && ctx->meta != NULL) {
            int mrc = meta_store_update(ctx->meta, b.meta, b.nmeta);
            if (mrc != 0)
                log_warn("write", "metric metadata not kept: %s", tide_strerror(mrc));
        }
        report_merge(&rep, &srep, line_base);
        if (off + len < n) /* only a later slice needs the count */
            line_base += count_lines(body + off, len);
        off += len;
        if (batch_samples(&b) == 0)
            continue;
        size_t merged = sub_ms(d, a) ? same_ms_count(&b) : 0;
        struct pipeline_result sres = {0};
        struct err sae = {0};
        int arc = pipeline_append(ctx->pipeline, a->bucket ? &bb : &b, &sres, &sae);
        res.samples_added += sres.samples_added;
        res.samples_rejected += sres.samples_rejected;
        res.series_created += sres.series_created;
        if (arc == 0)
            count_merged(ctx->metrics, mf, merged);
        if (arc != 0 && (rc == 0 || arc != TIDE_ELIMIT)) {
            rc = arc;
            ae = sae;
        }
        if (arc != 0 && arc != TIDE_ELIMIT)
            break;
    } while (off < n);
    batch_fini(&b);
    batch_fini(&bb);
    if (rc != 0 && rc != TIDE_ELIMIT) {
        /* An I/O error: the request is not acknowledged. Slices before it may
         * be stored; a resend rewrites the same samples, which dedup keeps once. */
        metrics_count_write(ctx->metrics, mf, 0, rep.lines_bad, 0);
        if (rc == -ENOSPC || rc == -EDQUOT) {
            reply_storage_full(rq, rs, d, &ae);
            return;
        }
        char msg[300];
        snprintf(msg, sizeof msg, "write failed, request not acknowledged: %s",
                 ae.msg[0] ? ae.msg : tide_strerror(rc));
        reply_error(rq, rs, d, rc == TIDE_ECLOSED ? 503 : 500, msg);
        return;
    }
    metrics_count_write(ctx->metrics, mf, res.samples_added, rep.lines_bad, res.samples_rejected);
    if (rep.lines_bad == 0 && rc == 0) {
        if (d == OTLP && otlp_json(rq)) /* an empty ExportMetricsServiceResponse */
            http_reply(rs, 200, "application/json", "{}");
        else if (d == OTLP) /* the same: zero bytes of protobuf */
            http_reply(rs, 200, "application/x-protobuf", NULL);
        else
            http_reply(rs, 204, NULL, NULL);
        return;
    }

    /* Some input was refused: 400, naming what and where. */
    struct buf msg;
    buf_init(&msg, 8192);
    bool stored_some = res.samples_added > 0;
    if (d == INFLUX_V1 || d == INFLUX_V2) {
        /* InfluxDB 1.x: "partial write: <reason> dropped=N" once something
         * was written, the bare parse error when nothing was. */
        if (stored_some || rc == TIDE_ELIMIT)
            buf_puts(&msg, "partial write: ");
        describe(&msg, &rep, rc == TIDE_ELIMIT ? &ae : NULL);
        if (stored_some || rc == TIDE_ELIMIT)
            buf_printf(&msg, " dropped=%zu", rep.lines_bad + res.samples_rejected);
    } else {
        buf_puts(&msg, stored_some ? "partial import: " : "nothing imported: ");
        describe(&msg, &rep, rc == TIDE_ELIMIT ? &ae : NULL);
        if (d == REMOTE_WRITE || d == OTLP)
            buf_printf(&msg, " (%zu samples stored, %zu refused)", res.samples_added,
                       res.samples_rejected);
        else
            buf_printf(&msg, " (%zu samples stored, %zu bad lines)", res.samples_added,
                       rep.lines_bad);
    }
    reply_error(rq, rs, d, 400, msg.p ? msg.p : "bad input");
    buf_fini(&msg);
}

/* The precision parameter as each InfluxDB version spells it. */
static bool precision_ok(enum dialect d, const char *p)
{
    static const char *const v1[] = {"n", "ns", "u", "us", "ms", "s", "m", "h", NULL};
    static const char *const v2[] = {"ns", "us", "ms", "s", NULL};
    const char *const *ok = d == INFLUX_V2 ? v2 : v1;
    for (size_t i = 0; ok[i]; i++)
        if (strcmp(p, ok[i]) == 0)
            return true;
    return false;
}

static void influx_write(struct http_req *rq, struct http_resp *rs, enum dialect d)
{
    influx_headers(rq, rs);
    struct parse_args a = {.now_ms = time_now_ms()};
    a.influx.precision = INFLUX_NS;
    a.influx.default_t_ms = a.now_ms;
    const char *prec = http_param(rq, "precision");
    if (prec != NULL && prec[0] != 0) {
        if (!precision_ok(d, prec) || influx_precision_parse(prec, &a.influx.precision) != 0) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     d == INFLUX_V2 ? "invalid precision \"%.32s\"; valid precision units are ns, "
                                      "us, ms, and s"
                                    : "invalid precision \"%.32s\" (n, u, ms, s, m or h)",
                     prec);
            reply_error(rq, rs, d, 400, msg);
            return;
        }
    }
    /* db, rp, org, consistency: accepted and ignored, Tide has one namespace.
     * bucket (2.x): with buckets: configured, the series get the label
     * bucket=NAME, which the bucket's retention rule matches (the InfluxDB 2
     * migration path, docs/storage.md); without, it is ignored too. */
    const struct storage_policy *pol = storage_get_policy(rq->ctx->storage);
    const char *bucket = http_param(rq, "bucket");
    bool any_bucket = false;
    for (size_t i = 0; pol && i < pol->nrules; i++)
        any_bucket |= pol->rules[i].bucket != NULL;
    if (d == INFLUX_V2 && any_bucket) {
        if (bucket == NULL || bucket[0] == 0) {
            reply_error(rq, rs, d, 400, "missing bucket parameter (buckets are configured)");
            return;
        }
        if (storage_policy_bucket(pol, bucket) == NULL) {
            char msg[200];
            snprintf(msg, sizeof msg, "bucket \"%.100s\" not found", bucket);
            reply_error(rq, rs, d, 404, msg);
            return;
        }
        a.bucket = bucket;
    }
    do_write(rq, rs, d, &a);
}

void write_influx_v1(struct http_req *rq, struct http_resp *rs)
{
    influx_write(rq, rs, INFLUX_V1);
}

void write_influx_v2(struct http_req *rq, struct http_resp *rs)
{
    influx_write(rq, rs, INFLUX_V2);
}

void write_import_jsonl(struct http_req *rq, struct http_resp *rs)
{
    struct parse_args a = {.now_ms = time_now_ms()};
    do_write(rq, rs, IMPORT_JSONL, &a);
}

void write_import_csv(struct http_req *rq, struct http_resp *rs)
{
    const char *spec = http_param(rq, "format");
    if (spec == NULL || spec[0] == 0) {
        http_reply_prom_error(rs, 400, "bad_data",
                              "missing `format` arg, e.g. "
                              "format=1:time:unix_s,2:label:host,3:metric:cpu");
        return;
    }
    /* The format is about 35 KiB: keep it off the worker's stack. */
    struct csv_import_format *f = arena_alloc(&rq->arena, sizeof *f);
    if (f == NULL) {
        http_reply_err(rs, -ENOMEM, "out of memory");
        return;
    }
    struct err e = {0};
    if (csv_import_format_parse(spec, strlen(spec), f, &e) != 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "invalid parameter \"format\": %s", e.msg);
        http_reply_prom_error(rs, 400, "bad_data", msg);
        return;
    }
    struct parse_args a = {.now_ms = time_now_ms(), .csv = f};
    do_write(rq, rs, IMPORT_CSV, &a);
}

void write_import_prometheus(struct http_req *rq, struct http_resp *rs)
{
    struct parse_args a = {.now_ms = time_now_ms()};
    const char *ts = http_param(rq, "timestamp");
    if (ts != NULL && ts[0] != 0) { /* VictoriaMetrics' default time for the samples */
        struct err e = {0};
        if (time_parse_ms(ts, &a.now_ms, &e) != 0) {
            http_reply_prom_error(rs, 400, "bad_data", "invalid parameter \"timestamp\"");
            return;
        }
    }
    do_write(rq, rs, IMPORT_PROM, &a);
}

/* collectd's write_http: Format "JSON" (Content-Type application/json) or
 * "Command" (text/plain PUTVAL lines); other types are sniffed. */
void write_import_collectd(struct http_req *rq, struct http_resp *rs)
{
    struct parse_args a = {.now_ms = time_now_ms(), .collectd = COLLECTD_AUTO};
    const char *ct = rq->content_type;
    if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0)
        a.collectd = COLLECTD_JSON;
    else if (ct != NULL && strncasecmp(ct, "text/plain", 10) == 0)
        a.collectd = COLLECTD_PUTVAL;
    do_write(rq, rs, IMPORT_COLLECTD, &a);
}

void write_remote_write(struct http_req *rq, struct http_resp *rs)
{
    const char *ct = rq->content_type;
    if (ct != NULL && strstr(ct, "io.prometheus.write.v2") != NULL) {
        http_reply(
            rs, 415, "text/plain; charset=utf-8",
            "remote write 2.0 is not supported; send io.prometheus.write.v1 (remote write 1.0)\n");
        return;
    }
    struct parse_args a = {.now_ms = time_now_ms()};
    do_write(rq, rs, REMOTE_WRITE, &a);
}

void write_otlp(struct http_req *rq, struct http_resp *rs)
{
    struct parse_args a = {.now_ms = time_now_ms(), .otlp_json = otlp_json(rq)};
    do_write(rq, rs, OTLP, &a);
}

void write_ping(struct http_req *rq, struct http_resp *rs)
{
    influx_headers(rq, rs);
    const char *verbose = http_param(rq, "verbose");
    if (verbose != NULL && strcmp(verbose, "true") == 0) {
        rs->status = 200;
        rs->content_type = "application/json";
        struct json w;
        json_init(&w, &rs->body);
        json_obj(&w);
        json_key(&w, "version");
        json_cstr(&w, rq->ctx->version);
        json_obj_end(&w);
        if (json_end(&w) != 0)
            http_reply(rs, 500, "text/plain", "out of memory\n");
        return;
    }
    http_reply(rs, 204, NULL, NULL);
}

/* Does statement `q` start with the words of `prefix` (case-insensitive,
 * any run of blanks between words)? */
static bool starts_with_words(const char *q, const char *prefix)
{
    while (*prefix) {
        while (isspace((unsigned char)*q))
            q++;
        while (*prefix == ' ')
            prefix++;
        size_t n = strcspn(prefix, " ");
        if (strncasecmp(q, prefix, n) != 0)
            return false;
        q += n;
        prefix += n;
        if (*prefix && !isspace((unsigned char)*q))
            return false;
    }
    return true;
}

/* /query: the `influx -import` DDL section sends CREATE DATABASE and CREATE
 * RETENTION POLICY; Tide has one namespace, so they succeed as no-ops.
 * Anything else gets InfluxDB's per-statement error shape. */
void write_influx_query(struct http_req *rq, struct http_resp *rs)
{
    influx_headers(rq, rs);
    const char *q = http_param(rq, "q");
    if (q == NULL || q[0] == 0) {
        reply_error(rq, rs, INFLUX_V1, 400, "missing required parameter \"q\"");
        return;
    }
    static const char *const noops[] = {"CREATE DATABASE", "CREATE RETENTION POLICY",
                                        "ALTER RETENTION POLICY", NULL};
    bool ok = false;
    for (size_t i = 0; noops[i] && !ok; i++)
        ok = starts_with_words(q, noops[i]);
    rs->status = 200;
    rs->content_type = "application/json";
    struct json w;
    json_init(&w, &rs->body);
    json_obj(&w);
    json_key(&w, "results");
    json_arr(&w);
    json_obj(&w);
    json_key(&w, "statement_id");
    json_i64(&w, 0);
    if (!ok) {
        json_key(&w, "error");
        json_cstr(&w, "tide does not run InfluxQL; only CREATE DATABASE/RETENTION POLICY are "
                      "accepted (as no-ops). Query with PromQL on /api/v1/query");
    }
    json_obj_end(&w);
    json_arr_end(&w);
    json_obj_end(&w);
    if (json_end(&w) != 0)
        http_reply(rs, 500, "text/plain", "out of memory\n");
}
