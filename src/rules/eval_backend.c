/* eval_backend.c: the `query_backend:` evaluator (evaluator.h): a rule's
 * expression goes to a Prometheus-API server as
 *   GET URL/api/v1/query?query=EXPR&time=SECONDS.MMM
 * at the group's evaluation time (Prometheus' alignment, group.c), and the
 * answer comes back through backend_answer_parse() as the query_result the
 * local engine would give. The for-state restore asks the same server for
 *   ALERTS_FOR_STATE{alertname="NAME"}[Dms]   at the restore time,
 * a matrix of the samples of the last D milliseconds.
 *
 * Only the group's own thread waits on a request: ingestion never does. A
 * request ends at the timeout, or within about a second of the group
 * stopping (the cancel callback, polled by libcurl).
 *
 * Connections: a small pool of HTTP clients (core/http_client.h, one
 * keep-alive connection each) shared by the group threads; a client whose
 * request failed is dropped rather than pooled.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/http_client.h"
#include "rules/backend_answer.h"
#include "rules/evaluator.h"

#define BACKEND_POOL_MAX 8        /* idle clients kept */
#define BACKEND_URL_MAX (1 << 20) /* cap on a request URL */

struct backend {
    struct evaluator base;
    char *url;          /* base URL without trailing '/' */
    int64_t timeout_ms; /* default per request */
    size_t max_body;    /* cap on an answer */
    pthread_mutex_t mu; /* guards the pool */
    struct http_client *idle[BACKEND_POOL_MAX];
    size_t nidle;
};

static struct http_client *take(struct backend *b, struct err *e)
{
    struct http_client *c = NULL;
    pthread_mutex_lock(&b->mu);
    if (b->nidle > 0)
        c = b->idle[--b->nidle];
    pthread_mutex_unlock(&b->mu);
    if (c != NULL)
        return c;
    struct http_client_opts o = {.user_agent = "tide-rules", .accept_compressed = true};
    if (http_client_new(&o, &c, e) != 0)
        return NULL;
    return c;
}

static void give_back(struct backend *b, struct http_client *c)
{
    pthread_mutex_lock(&b->mu);
    if (b->nidle < BACKEND_POOL_MAX) {
        b->idle[b->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&b->mu);
    http_client_free(c);
}

/* Append "&time=S.MMM" (or "-S.MMM") for t_ms. */
static int put_time(struct buf *u, int64_t t_ms)
{
    uint64_t a = t_ms < 0 ? (uint64_t)0 - (uint64_t)t_ms : (uint64_t)t_ms;
    return buf_printf(u, "&time=%s%llu.%03llu", t_ms < 0 ? "-" : "", (unsigned long long)(a / 1000),
                      (unsigned long long)(a % 1000));
}

/* GET the instant query `expr` at t_ms; the answer into out. */
static int ask(struct backend *b, const char *expr, int64_t t_ms, int64_t timeout_ms,
               evaluator_cancel_fn *cancel, void *cancel_ctx, struct rule_answer *out,
               struct err *e)
{
    struct err he = {0};
    struct buf url, body;
    buf_init(&url, BACKEND_URL_MAX);
    buf_init(&body, b->max_body);
    int rc = buf_puts(&url, b->url);
    if (rc == 0)
        rc = buf_puts(&url, "/api/v1/query?query=");
    if (rc == 0)
        rc = http_escape(&url, expr);
    if (rc == 0)
        rc = put_time(&url, t_ms);
    if (rc != 0) {
        rc = ERR_SET(e, rc, "query_backend: the expression is too long for a request");
        goto done;
    }
    struct http_client *c = take(b, &he);
    if (c == NULL) {
        rc = ERR_SET(e, he.code ? he.code : -ENOMEM, "query_backend: %s", he.msg);
        goto done;
    }
    struct http_request rq = {
        .method = "GET",
        .url = url.p,
        .timeout_ms = timeout_ms,
        .resp_body = &body,
        .abort = cancel,
        .abort_ctx = cancel_ctx,
    };
    struct http_response hr = {0};
    rc = http_client_do(c, &rq, &hr, &he);
    if (rc != 0) {
        http_client_free(c);
        rc = ERR_SET(e, rc, "query_backend: %s", he.msg);
        goto done;
    }
    give_back(b, c);
    rc = backend_answer_parse(hr.status, body.p, body.len, &out->arena, &out->backend, e);
    if (rc == 0) {
        if (out->backend.type != QUERY_SCALAR && out->backend.type != QUERY_STRING)
            out->backend.t_ms = t_ms;
        out->res = &out->backend;
    }
done:
    buf_fini(&url);
    buf_fini(&body);
    return rc;
}

static int backend_instant(struct evaluator *ev, const char *expr, int64_t t_ms,
                           const struct query_opts *o, evaluator_cancel_fn *cancel,
                           void *cancel_ctx, struct rule_answer *out, struct err *e)
{
    struct backend *b = (struct backend *)ev;
    if (cancel != NULL && cancel(cancel_ctx))
        return ERR_SET(e, -ECANCELED, "query_backend: the rule group is stopping");
    int64_t timeout = o != NULL && o->timeout_ms > 0 ? o->timeout_ms : b->timeout_ms;
    return ask(b, expr, t_ms, timeout, cancel, cancel_ctx, out, e);
}

static int backend_for_state(struct evaluator *ev, const char *alertname, int64_t from_ms,
                             int64_t to_ms, evaluator_cancel_fn *cancel, void *cancel_ctx,
                             evaluator_series_fn *fn, void *ctx, struct err *e)
{
    struct backend *b = (struct backend *)ev;
    if (cancel != NULL && cancel(cancel_ctx))
        return ERR_SET(e, -ECANCELED, "query_backend: the rule group is stopping");
    struct buf q;
    buf_init(&q, 64 << 10);
    int rc = buf_puts(&q, "ALERTS_FOR_STATE{alertname=\"");
    for (const char *p = alertname; rc == 0 && *p; p++) {
        if (*p == '"' || *p == '\\')
            rc = buf_putc(&q, '\\');
        if (rc == 0)
            rc = buf_putc(&q, *p);
    }
    int64_t range = to_ms - from_ms > 0 ? to_ms - from_ms : 1;
    if (rc == 0)
        rc = buf_printf(&q, "\"}[%lldms]", (long long)range);
    if (rc != 0) {
        buf_fini(&q);
        return ERR_SET(e, rc, "query_backend: alert name too long");
    }
    struct rule_answer a;
    rule_answer_init(&a);
    rc = ask(b, q.p, to_ms, b->timeout_ms, cancel, cancel_ctx, &a, e);
    buf_fini(&q);
    if (rc == 0 && a.res->type != QUERY_MATRIX &&
        !(a.res->type == QUERY_VECTOR && a.res->nseries == 0))
        rc = ERR_SET(e, TIDE_EPARSE, "query_backend: a range query did not answer a matrix");
    for (size_t i = 0; rc == 0 && i < a.res->nseries; i++) {
        const struct query_series *s = &a.res->series[i];
        fn(ctx, s->labels, s->nlabels, s->samples, s->nsamples);
    }
    rule_answer_fini(&a);
    return rc;
}

static void backend_free(struct evaluator *ev)
{
    struct backend *b = (struct backend *)ev;
    for (size_t i = 0; i < b->nidle; i++)
        http_client_free(b->idle[i]);
    pthread_mutex_destroy(&b->mu);
    free(b->url);
    free(b);
}

static const struct evaluator_ops backend_ops = {backend_instant, backend_for_state, backend_free};

int evaluator_backend_new(struct evaluator **out, const struct evaluator_backend_opts *o,
                          struct err *e)
{
    *out = NULL;
    if (o->url == NULL ||
        (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0))
        return ERR_SET(e, TIDE_EINVAL, "query_backend must be an http:// or https:// URL");
    struct backend *b = calloc(1, sizeof *b);
    size_t n = strlen(o->url);
    while (n > 0 && o->url[n - 1] == '/')
        n--;
    char *url = b ? strndup(o->url, n) : NULL;
    if (url == NULL) {
        free(b);
        return ERR_SET(e, -ENOMEM, "out of memory");
    }
    b->base = (struct evaluator){&backend_ops, false};
    b->url = url;
    b->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : QUERY_DEFAULT_TIMEOUT_MS;
    b->max_body = o->max_body_bytes > 0 ? o->max_body_bytes : EVALUATOR_MAX_BODY_BYTES;
    pthread_mutex_init(&b->mu, NULL);
    *out = &b->base;
    return 0;
}
