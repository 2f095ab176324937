/* prom_query.c: Prometheus' query API, /api/v1/query, /api/v1/query_range
 * and /api/v1/format_query, between the HTTP layer and the engine
 * (query/query.h), plus the guards of prom_query.h.
 *
 * Parameters, checks, messages and their order are Prometheus 2.42's
 * (web/api/v1/api.go), so clients that show errors verbatim read the same:
 * `time`/`start`/`end` as RFC 3339 or Unix seconds, `step`/`timeout` as a
 * duration or float seconds, form body before query string. Results are
 * written in its exact shapes: timestamps as seconds with the milliseconds
 * after a point only when non-zero ("1435781451.781", "1435781451"),
 * values as strings in Go's shortest form ("0.25", "7e-07", "1e+21").
 *
 * The engine reads everything a query needs from storage up front, one
 * series at a time under storage's per-series lock, and evaluates on its
 * own copies: a long query never holds a storage lock while it computes.
 */
#include "api/prom_query.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/http.h"
#include "api/json.h"
#include "api/prom_matrix.h"
#include "api/prom_points.h"
#include "api/router.h"
#include "core/time.h"
#include "query/query.h"

/* Prometheus' cap on points per series of a range query. */
#define PROM_MAX_POINTS 11000

struct prom_query {
    struct query_opts opts; /* immutable after prom_query_new() */
    unsigned max;           /* slots; immutable */
    pthread_mutex_t mu;     /* guards running and closing */
    pthread_cond_t freed;   /* signalled when a slot is released (CLOCK_MONOTONIC) */
    unsigned running;       /* slots taken */
    bool closing;           /* prom_query_shutdown() was called: no more slots */
};

static unsigned default_concurrency(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)(2 * n) : 2;
}

int prom_query_new(struct prom_query **out, const struct prom_query_opts *o)
{
    *out = NULL;
    struct prom_query *pq = calloc(1, sizeof *pq);
    if (pq == NULL)
        return -ENOMEM;
    pq->opts.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : QUERY_DEFAULT_TIMEOUT_MS;
    pq->opts.max_samples = o->max_samples ? o->max_samples : QUERY_DEFAULT_MAX_SAMPLES;
    pq->opts.lookback_ms = o->lookback_ms > 0 ? o->lookback_ms : QUERY_DEFAULT_LOOKBACK_MS;
    pq->max = o->max_concurrency ? o->max_concurrency : default_concurrency();
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&pq->freed, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        free(pq);
        return -rc;
    }
    pthread_mutex_init(&pq->mu, NULL);
    *out = pq;
    return 0;
}

void prom_query_free(struct prom_query *pq)
{
    if (pq == NULL)
        return;
    pthread_cond_destroy(&pq->freed);
    pthread_mutex_destroy(&pq->mu);
    free(pq);
}

void prom_query_settings(const struct prom_query *pq, struct prom_query_opts *out)
{
    if (pq == NULL) {
        *out = (struct prom_query_opts){QUERY_DEFAULT_TIMEOUT_MS, QUERY_DEFAULT_MAX_SAMPLES,
                                        QUERY_DEFAULT_LOOKBACK_MS, default_concurrency()};
        return;
    }
    *out = (struct prom_query_opts){pq->opts.timeout_ms, pq->opts.max_samples,
                                    pq->opts.lookback_ms, pq->max};
}

void prom_query_shutdown(struct prom_query *pq)
{
    if (pq == NULL)
        return;
    pthread_mutex_lock(&pq->mu);
    pq->closing = true;
    pthread_cond_broadcast(&pq->freed);
    pthread_mutex_unlock(&pq->mu);
}

/* Take a slot without waiting. */
static bool slot_try(struct prom_query *pq)
{
    pthread_mutex_lock(&pq->mu);
    bool ok = pq->running < pq->max && !pq->closing;
    if (ok)
        pq->running++;
    pthread_mutex_unlock(&pq->mu);
    return ok;
}

/* Wait for a slot until the monotonic deadline: 0 with a slot taken,
 * QUERY_ETIMEOUT when the deadline passed, TIDE_ECLOSED on shutdown. */
static int slot_wait(struct prom_query *pq, int64_t deadline_ns)
{
    struct timespec ts = {.tv_sec = deadline_ns / 1000000000, .tv_nsec = deadline_ns % 1000000000};
    pthread_mutex_lock(&pq->mu);
    int rc = 0;
    while (pq->running >= pq->max && !pq->closing && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&pq->freed, &pq->mu, &ts);
    int out = pq->closing ? TIDE_ECLOSED : pq->running < pq->max ? 0 : QUERY_ETIMEOUT;
    if (out == 0)
        pq->running++;
    pthread_mutex_unlock(&pq->mu);
    return out;
}

static void slot_release(struct prom_query *pq)
{
    pthread_mutex_lock(&pq->mu);
    pq->running--;
    pthread_cond_signal(&pq->freed);
    pthread_mutex_unlock(&pq->mu);
}

/* ---- parameters ---- */

static void reply_error(struct http_resp *rs, int code, const char *msg)
{
    switch (code) {
    case TIDE_EPARSE:
    case TIDE_EINVAL:
        http_reply_prom_error(rs, 400, "bad_data", msg);
        break;
    case QUERY_EEXEC:
    case TIDE_ELIMIT:
        http_reply_prom_error(rs, 422, "execution", msg);
        break;
    case QUERY_ETIMEOUT:
        http_reply_prom_error(rs, 503, "timeout", msg);
        break;
    case -ECANCELED:
        http_reply_prom_error(rs, 499, "canceled", msg);
        break;
    default:
        http_reply_err(rs, code, msg);
        break;
    }
}

/* A timestamp parameter; `dflt` when absent unless `required`. Prometheus
 * says `cannot parse "" to a valid timestamp` for a missing start/end. */
static int time_param(const struct http_req *rq, const char *name, bool required, int64_t dflt,
                      int64_t *out, struct err *e)
{
    const char *v = http_param(rq, name);
    if (v == NULL || v[0] == 0) {
        if (!required) {
            *out = dflt;
            return 0;
        }
        v = "";
    }
    struct err te = {0};
    if (v[0] == 0 || time_parse_ms(v, out, &te) != 0)
        return ERR_INVAL(e, "invalid parameter \"%s\": cannot parse \"%.64s\" to a valid timestamp",
                         name, v);
    return 0;
}

/* A duration parameter: Prometheus' float seconds or "5m"-style. */
static int duration_param(const char *name, const char *v, int64_t *out_ms, struct err *e)
{
    struct err de = {0};
    if (time_parse_duration_ms(v, out_ms, &de) != 0)
        return ERR_INVAL(e, "invalid parameter \"%s\": cannot parse \"%.64s\" to a valid duration",
                         name, v);
    return 0;
}

/* The query's wall-clock budget: the server's, shortened by `timeout`. */
static int budget(const struct http_req *rq, const struct prom_query_opts *so, int64_t *out_ms,
                  struct err *e)
{
    *out_ms = so->timeout_ms;
    const char *v = http_param(rq, "timeout");
    if (v == NULL || v[0] == 0)
        return 0;
    int64_t t;
    int rc = duration_param("timeout", v, &t, e);
    if (rc != 0)
        return rc;
    if (t < *out_ms)
        *out_ms = t > 0 ? t : 0;
    return 0;
}

/* ---- response ---- */

/* The response body being written; the first append error sticks (buf
 * appends are not sticky themselves: a later short write could succeed). */
struct out {
    struct buf *b;
    int rc;
};

static void put(struct out *o, int rc)
{
    if (o->rc == 0)
        o->rc = rc;
}

static void put_time(struct out *o, int64_t t_ms)
{
    char s[32];
    put(o, buf_append(o->b, s, prom_time_chars(s, t_ms)));
}

/* [<time>,"<value>"] (prom_points.c). */
static void put_point(struct out *o, int64_t t_ms, double v)
{
    struct sample s = {.t_ms = t_ms, .v = v};
    put(o, prom_points_append(o->b, &s, 1, NULL));
}

/* The success document for a result, into rs->body; a matrix's times that
 * are steps of `pt` (NULL for none) are copied from it. */
static void write_result(struct http_resp *rs, const struct query_result *r, bool show_tier,
                         const struct prom_times *pt)
{
    static const char *const names[] = {
        [QUERY_SCALAR] = "scalar", [QUERY_VECTOR] = "vector",
        [QUERY_MATRIX] = "matrix", [QUERY_STRING] = "string",
    };
    struct out o = {.b = &rs->body};
    buf_reset(o.b);
    rs->status = 200;
    rs->content_type = "application/json";
    put(&o, buf_printf(o.b, "{\"status\":\"success\",\"data\":{\"resultType\":\"%s\",\"result\":",
                       names[r->type]));
    switch (r->type) {
    case QUERY_SCALAR:
        put_point(&o, r->t_ms, r->scalar);
        break;
    case QUERY_STRING:
        put(&o, buf_putc(o.b, '['));
        put_time(&o, r->t_ms);
        put(&o, buf_putc(o.b, ','));
        put(&o, json_quote(o.b, r->str.p, r->str.n));
        put(&o, buf_putc(o.b, ']'));
        break;
    case QUERY_VECTOR:
        put(&o, buf_putc(o.b, '['));
        for (size_t i = 0; i < r->nseries && o.rc == 0; i++) {
            const struct query_series *s = &r->series[i];
            if (i > 0)
                put(&o, buf_putc(o.b, ','));
            put(&o, prom_metric_append(o.b, s));
            put(&o, buf_puts(o.b, "\"value\":"));
            if (s->nsamples > 0)
                put_point(&o, s->samples[0].t_ms, s->samples[0].v);
            else
                put_point(&o, r->t_ms, 0); /* the engine never leaves one empty */
            put(&o, buf_putc(o.b, '}'));
        }
        put(&o, buf_putc(o.b, ']'));
        break;
    case QUERY_MATRIX:
        /* A big matrix's second half is sent from the buffer its thread
         * wrote it into (http.h's splice), not copied after the first. */
        put(&o, prom_matrix_append(o.b, r->series, r->nseries, pt, &rs->splice));
        break;
    }
    /* Tide: which rollup tier (or raw data) answered (docs/storage.md#tiers),
     * when the request named a tier: the default answer stays Prometheus'. */
    if (show_tier)
        put(&o, buf_printf(o.b, "},\"tier\":\"%s\"}", r->tier[0] ? r->tier : "raw"));
    else
        put(&o, buf_puts(o.b, "}}"));
    if (o.rc != 0)
        reply_error(rs, o.rc == -ENOMEM ? -ENOMEM : TIDE_ELIMIT,
                    o.rc == -ENOMEM ? "out of memory writing the response"
                                    : "response too large; narrow the query or raise the step");
}

/* ---- evaluation ---- */

struct request {
    const char *expr;
    bool range;
    int64_t start, end, step; /* ms; start is the instant query's time */
    int64_t budget_ms;        /* wall clock allowed, waiting for a slot included */
};

static void run(struct http_req *rq, struct http_resp *rs, const struct request *r)
{
    struct prom_query *pq = rq->ctx->query;
    struct prom_query_opts so;
    prom_query_settings(pq, &so);
    struct query_opts qo = {.lookback_ms = so.lookback_ms, .max_samples = so.max_samples,
                            .tier = http_param(rq, "tier")}; /* Tide: rollup tier choice */
    /* The budget counts from the request's arrival: time spent queued for
     * the query pool (http_pool.h) or a slot is part of it. */
    int64_t t0 = rq->start_ns != 0 ? rq->start_ns : time_mono_ns();
    int64_t deadline = t0 + r->budget_ms * 1000000;
    struct err e = {0};
    char msg[sizeof e.msg + 40];
    size_t len = strlen(r->expr);

    if (pq != NULL && !slot_try(pq)) {
        /* Before queueing, refuse bad text at once as an idle server would. */
        struct buf scratch;
        buf_init(&scratch, 1 << 20);
        int rc = query_format(&scratch, r->expr, len, &e);
        buf_fini(&scratch);
        if (rc == TIDE_EPARSE) {
            snprintf(msg, sizeof msg, "invalid parameter \"query\": %s", e.msg);
            reply_error(rs, rc, msg);
            return;
        }
        rc = slot_wait(pq, deadline);
        if (rc == TIDE_ECLOSED) {
            http_reply_prom_error(rs, 503, "unavailable", "the server is shutting down");
            return;
        }
        if (rc != 0) {
            snprintf(msg, sizeof msg,
                     "query timed out waiting for one of %u query slots "
                     "(query_max_concurrency); the server is busy",
                     so.max_concurrency);
            reply_error(rs, QUERY_ETIMEOUT, msg);
            return;
        }
    }
    int64_t left_ms = (deadline - time_mono_ns()) / 1000000;
    qo.timeout_ms = left_ms > 0 ? left_ms : 1;

    struct query *q = NULL;
    int rc;
    if (r->range)
        rc = query_range(&q, rq->ctx->storage, r->expr, len, r->start, r->end, r->step, &qo, &e);
    else
        rc = query_instant(&q, rq->ctx->storage, r->expr, len, r->start, &qo, &e);
    if (pq != NULL)
        slot_release(pq);
    if (rc != 0) {
        const char *m = e.msg[0] ? e.msg : tide_strerror(rc);
        if (rc == TIDE_EPARSE || rc == TIDE_EINVAL) {
            snprintf(msg, sizeof msg, "invalid parameter \"query\": %s", m);
            m = msg;
        }
        reply_error(rs, rc, m);
        return;
    }
    /* A range query's step times, written once for all its series. */
    struct prom_times pt = {0};
    if (r->range)
        (void)prom_times_init(&pt, r->start, r->end, r->step, PROM_MAX_POINTS + 1);
    write_result(rs, query_result(q), qo.tier != NULL, &pt);
    prom_times_fini(&pt);
    query_free(q);
}

void prom_query_instant(struct http_req *rq, struct http_resp *rs)
{
    struct prom_query_opts so;
    prom_query_settings(rq->ctx->query, &so);
    struct request r = {.expr = http_param(rq, "query")};
    if (r.expr == NULL)
        r.expr = "";
    struct err e = {0};
    int rc = time_param(rq, "time", false, time_now_ms(), &r.start, &e);
    if (rc == 0)
        rc = budget(rq, &so, &r.budget_ms, &e);
    if (rc != 0) {
        reply_error(rs, rc, e.msg);
        return;
    }
    run(rq, rs, &r);
}

void prom_query_range(struct http_req *rq, struct http_resp *rs)
{
    struct prom_query_opts so;
    prom_query_settings(rq->ctx->query, &so);
    struct request r = {.expr = http_param(rq, "query"), .range = true};
    if (r.expr == NULL)
        r.expr = "";
    struct err e = {0};
    int rc = time_param(rq, "start", true, 0, &r.start, &e);
    if (rc == 0)
        rc = time_param(rq, "end", true, 0, &r.end, &e);
    if (rc == 0 && r.end < r.start)
        rc = ERR_INVAL(&e, "end timestamp must not be before start time");
    if (rc == 0) {
        const char *sv = http_param(rq, "step");
        rc = duration_param("step", sv ? sv : "", &r.step, &e);
    }
    if (rc == 0 && r.step <= 0)
        rc = ERR_INVAL(&e, "zero or negative query resolution step widths are not accepted. "
                           "Try a positive integer");
    if (rc == 0 && (r.end - r.start) / r.step > PROM_MAX_POINTS)
        rc = ERR_INVAL(&e, "exceeded maximum resolution of 11,000 points per timeseries. Try "
                           "decreasing the query resolution (?step=XX)");
    if (rc == 0)
        rc = budget(rq, &so, &r.budget_ms, &e);
    if (rc != 0) {
        reply_error(rs, rc, e.msg);
        return;
    }
    run(rq, rs, &r);
}

void prom_query_format(struct http_req *rq, struct http_resp *rs)
{
    const char *expr = http_param(rq, "query");
    if (expr == NULL)
        expr = "";
    struct buf out;
    buf_init(&out, 1 << 20);
    struct err e = {0};
    int rc = query_format(&out, expr, strlen(expr), &e);
    if (rc != 0) {
        char msg[sizeof e.msg + 40];
        snprintf(msg, sizeof msg, "invalid parameter \"query\": %s", e.msg);
        buf_fini(&out);
        reply_error(rs, rc == TIDE_EPARSE ? rc : TIDE_ELIMIT, msg);
        return;
    }
    struct json w;
    http_prom_success(rs, &w);
    json_str(&w, (struct strv){out.p ? out.p : "", out.len});
    json_obj_end(&w);
    buf_fini(&out);
    if (json_end(&w) != 0)
        reply_error(rs, TIDE_ELIMIT, "response too large");
}
