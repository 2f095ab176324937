/* sender.c: remote-write delivery, the last stop of agent mode
 * (collect → remote_write_encode → queue.c → here → a receiver).
 *
 * One thread, one http_client (core/http_client.h; its connection is kept
 * alive between requests), one record in flight: peek the oldest record,
 * POST it, and only on a verdict ack it. Because the thread never peeks past an unacked record, order is
 * the queue's order whatever the receiver does. Retries wait with full
 * jitter (AWS' "exponential backoff and jitter"): many agents restarted by
 * one outage spread their retries instead of hitting the receiver together.
 * Invariant: queue_ack() is called exactly once per verdict (2xx or a
 * permanent 4xx) and never for a retryable failure.
 */
#include "remote/sender.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/http_client.h"
#include "core/log.h"
#include "core/time.h"
#include "remote/queue.h"

#define RESP_KEEP_BYTES 256 /* response body kept for the log */

struct sender {
    struct queue *q;   /* borrowed */
    char *url;         /* owned copy of the opts' */
    int64_t backoff_min_ms, backoff_max_ms;
    sender_log_fn *log;
    void *log_ctx;
    char **headers;        /* owned: the version header, then the opts' copies, NULL */
    size_t nheaders;       /* entries before the NULL (one may be NULL after -ENOMEM) */
    size_t record_header;
    sender_result_fn *on_result;
    void *result_ctx;
    struct http_client *http; /* sender thread only (after sender_new) */
    struct buf resp;        /* sender thread only: start of the response body */
    uint64_t rng;           /* sender thread only */
    pthread_t thread;
    bool started; /* caller's thread only */
    pthread_mutex_t mu;
    pthread_cond_t cv;    /* wakes a backoff sleep on stop */
    atomic_bool stop_now; /* abort at once */
    atomic_bool draining; /* stop once the queue is empty or the deadline passed */
    atomic_llong drain_deadline_ns;
    struct sender_stats st; /* mu */
};

static void say(struct sender *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct sender *s, int level, const char *fmt, ...)
{
    if (s->log == NULL)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->log(s->log_ctx, level, msg);
}

static bool must_stop(struct sender *s)
{
    if (atomic_load(&s->stop_now))
        return true;
    return atomic_load(&s->draining) && time_mono_ns() >= atomic_load(&s->drain_deadline_ns);
}

static bool on_abort(void *ctx)
{
    return must_stop(ctx);
}

int sender_new(const struct sender_opts *o, struct queue *q, struct sender **out, struct err *e)
{
    *out = NULL;
    if (o->url == NULL || o->url[0] == 0)
        return ERR_INVAL(e, "sender: no remote-write URL");
    struct sender *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ERR_SET(e, -ENOMEM, "sender: out of memory");
    s->q = q;
    s->backoff_min_ms = o->backoff_min_ms > 0 ? o->backoff_min_ms : SENDER_BACKOFF_MIN_MS;
    s->backoff_max_ms = o->backoff_max_ms > 0 ? o->backoff_max_ms : SENDER_BACKOFF_MAX_MS;
    if (s->backoff_max_ms < s->backoff_min_ms)
        s->backoff_max_ms = s->backoff_min_ms;
    s->log = o->log;
    s->log_ctx = o->log_ctx;
    s->rng = (uint64_t)time_mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)s;
    if (s->rng == 0)
        s->rng = 0x9e3779b97f4a7c15ULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    buf_init(&s->resp, RESP_KEEP_BYTES);

    s->record_header = o->record_header;
    s->on_result = o->on_result;
    s->result_ctx = o->result_ctx;
    size_t nh = 0;
    while (o->headers && o->headers[nh])
        nh++;
    s->headers = calloc(nh + 2, sizeof *s->headers);
    if (s->headers != NULL) {
        s->headers[0] = strdup("X-Prometheus-Remote-Write-Version: 0.1.0");
        for (size_t i = 0; i < nh; i++)
            s->headers[i + 1] = strdup(o->headers[i]);
        s->nheaders = nh + 1;
    }
    bool hdr_ok = s->headers != NULL;
    for (size_t i = 0; hdr_ok && i < nh + 1; i++)
        hdr_ok = s->headers[i] != NULL;
    s->url = strdup(o->url);
    if (s->url == NULL || !hdr_ok) {
        sender_free(s);
        return ERR_SET(e, -ENOMEM, "sender: out of memory");
    }
    struct http_client_opts ho = {
        .user_agent = o->user_agent ? o->user_agent : "tide-agent",
        .bearer_token = o->bearer_token,
        .basic_user = o->basic_user,
        .basic_password = o->basic_password,
        .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : SENDER_TIMEOUT_MS,
    };
    if (o->tls != NULL)
        tls_config_client_opts(o->tls, &ho);
    int rc = http_client_new(&ho, &s->http, e);
    if (rc != 0) {
        sender_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Sleep up to ms, or less when asked to stop. */
static void nap(struct sender *s, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + (ms % 1000) * 1000000;
    ts.tv_sec += ms / 1000 + ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->stop_now) && !atomic_load(&s->draining)) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0)
            break;
    }
    pthread_mutex_unlock(&s->mu);
}

static uint64_t rnd(struct sender *s)
{
    uint64_t x = s->rng; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->rng = x;
    return x;
}

/* POST one body. Returns the HTTP status, or 0 after a network error (the
 * method, URL and reason are in `why`). */
static long post(struct sender *s, const struct buf *body, char *why, size_t why_n)
{
    buf_reset(&s->resp);
    struct http_request rq = {
        .method = "POST",
        .url = s->url,
        .headers = (const char *const *)s->headers,
        .body = body->p + s->record_header,
        .body_len = body->len - s->record_header,
        .content_type = "application/x-protobuf",
        .content_encoding = "snappy",
        .resp_body = &s->resp,
        .resp_truncate = true, /* only the start is kept, for the log */
        .abort = on_abort,
        .abort_ctx = s,
    };
    struct http_response rs;
    struct err e = {0};
    if (http_client_do(s->http, &rq, &rs, &e) != 0) {
        snprintf(why, why_n, "%s", e.msg);
        return 0;
    }
    return rs.status;
}

/* The response body start, printable, for a log line. */
static const char *resp_text(struct sender *s)
{
    for (size_t i = 0; i < s->resp.len; i++)
        if (s->resp.p[i] == '\n' || s->resp.p[i] == '\r' || (unsigned char)s->resp.p[i] < 0x20)
            s->resp.p[i] = ' ';
    return s->resp.len ? s->resp.p : "";
}

static void *run(void *arg)
{
    struct sender *s = arg;
    struct buf body;
    buf_init(&body, 0);
    unsigned failures = 0; /* consecutive retryable failures */
    while (!must_stop(s)) {
        /* Draining: stop as soon as the queue is empty, do not wait on it. */
        uint64_t waiting = queue_wait(s->q, atomic_load(&s->draining) ? 0 : 1000);
        if (waiting == 0) {
            if (atomic_load(&s->draining))
                break;
            continue;
        }
        if (must_stop(s))
            break;
        struct err e = {0};
        int rc = queue_peek(s->q, &body, &e);
        if (rc == TIDE_ENOTFOUND)
            continue;
        if (rc == TIDE_ECORRUPT) {
            say(s, LOG_ERROR, "skipping an unreadable queue record: %s", e.msg);
            queue_ack(s->q, NULL);
            continue;
        }
        if (rc != 0) {
            say(s, LOG_ERROR, "reading the queue: %s", e.msg);
            nap(s, s->backoff_max_ms);
            continue;
        }
        if (body.len <= s->record_header) {
            say(s, LOG_ERROR, "skipping a queue record of %zu bytes: no body", body.len);
            queue_ack(s->q, NULL);
            continue;
        }
        char why[sizeof ((struct err *)0)->msg] = "";
        long status = post(s, &body, why, sizeof why);
        if (status >= 200 && status < 300) {
            rc = queue_ack(s->q, &e);
            if (rc != 0)
                say(s, LOG_ERROR, "delivered, but %s", e.msg);
            if (failures > 0)
                say(s, LOG_INFO, "remote write recovered after %u failed attempts", failures);
            failures = 0;
            pthread_mutex_lock(&s->mu);
            s->st.sent_records++;
            s->st.sent_bytes += body.len;
            s->st.last_status = (int)status;
            s->st.last_success_ms = time_now_ms();
            pthread_mutex_unlock(&s->mu);
            if (s->on_result)
                s->on_result(s->result_ctx, body.p, s->record_header, SENDER_SENT);
            continue;
        }
        if (status >= 300 && status != 429 && status < 500) {
            say(s, LOG_ERROR,
                "remote write refused a record of %zu bytes with HTTP %ld, dropping it: %s",
                body.len, status, resp_text(s));
            queue_ack(s->q, NULL);
            pthread_mutex_lock(&s->mu);
            s->st.dropped_records++;
            s->st.last_status = (int)status;
            pthread_mutex_unlock(&s->mu);
            if (s->on_result)
                s->on_result(s->result_ctx, body.p, s->record_header, SENDER_DROPPED);
            continue;
        }
        if (status == 0 && must_stop(s))
            break; /* aborted by sender_stop(): the record stays queued */
        failures++;
        pthread_mutex_lock(&s->mu);
        s->st.failed_attempts++;
        s->st.last_status = (int)status;
        pthread_mutex_unlock(&s->mu);
        if (s->on_result)
            s->on_result(s->result_ctx, body.p, s->record_header, SENDER_RETRY);
        int64_t cap = s->backoff_min_ms;
        for (unsigned i = 1; i < failures && cap < s->backoff_max_ms; i++)
            cap *= 2;
        if (cap > s->backoff_max_ms)
            cap = s->backoff_max_ms;
        int64_t sleep_ms = (int64_t)(rnd(s) % (uint64_t)(cap + 1));
        if (status == 0)
            say(s, LOG_WARN, "remote write failed (%s), attempt %u, retrying in %lld ms", why,
                failures, (long long)sleep_ms);
        else
            say(s, LOG_WARN, "remote write got HTTP %ld (%s), attempt %u, retrying in %lld ms",
                status, resp_text(s), failures, (long long)sleep_ms);
        if (atomic_load(&s->draining))
            break; /* the receiver is failing: do not hold up the stop */
        nap(s, sleep_ms);
    }
    buf_fini(&body);
    return NULL;
}

int sender_start(struct sender *s, struct err *e)
{
    if (s->started)
        return ERR_INVAL(e, "sender: already started");
    atomic_store(&s->stop_now, false);
    atomic_store(&s->draining, false);
    int rc = pthread_create(&s->thread, NULL, run, s);
    if (rc != 0)
        return ERR_SET(e, -rc, "sender: cannot start a thread: %s", strerror(rc));
    s->started = true;
    return 0;
}

void sender_stop(struct sender *s, int64_t drain_ms)
{
    if (s == NULL || !s->started)
        return;
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->drain_deadline_ns, (long long)(time_mono_ns() + drain_ms * 1000000));
    atomic_store(&s->draining, true);
    if (drain_ms <= 0)
        atomic_store(&s->stop_now, true);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    queue_wake(s->q);
    pthread_join(s->thread, NULL);
    s->started = false;
}

void sender_free(struct sender *s)
{
    if (s == NULL)
        return;
    sender_stop(s, 0);
    http_client_free(s->http);
    buf_fini(&s->resp);
    for (size_t i = 0; i < s->nheaders; i++)
        free(s->headers[i]);
    free(s->headers);
    free(s->url);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

void sender_stats(struct sender *s, struct sender_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
}
