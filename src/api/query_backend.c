/* query_backend.c: proxying the Prometheus query API to `query_backend:`,
 * and refusing storage reads under `storage: none` (query_backend.h).
 */
#include "api/query_backend.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/http.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/http_client.h"

#define PROXY_MAX_BYTES ((size_t)256 << 20)

/* Routes a remote Prometheus-API backend answers. */
static const char *const proxied[] = {
    "/api/v1/query",  "/api/v1/query_range",      "/api/v1/series", "/api/v1/labels",
    "/api/v1/label/*/values", "/api/v1/query_exemplars", NULL,
};

/* Routes that read local storage (everything else works without it). */
static const char *const reads_storage[] = {
    "/api/v1/export",         "/api/v1/export/csv",        "/api/v1/read",
    "/federate",              "/api/v1/status/tsdb",       "/api/v1/status/runtimeinfo",
    "/api/v1/rules/backfill", "/api/v1/admin/tsdb/delete_series", "/api/v1/status/storage",
    "/query",                 NULL,
};

static bool listed(const char *const *list, const char *pattern)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], pattern) == 0)
            return true;
    return false;
}

static void refuse(struct http_req *rq, struct http_resp *rs)
{
    char msg[300];
    bool can_proxy = strcmp(rq->path, "/api/v1/query") == 0 ||
                     strcmp(rq->path, "/api/v1/query_range") == 0 ||
                     strncmp(rq->path, "/api/v1/label", 13) == 0 ||
                     strcmp(rq->path, "/api/v1/series") == 0;
    snprintf(msg, sizeof msg,
             "this server keeps no local storage (storage: none): %s is not available here%s",
             rq->path,
             can_proxy ? "; set query_backend: to answer queries from a Prometheus-API server"
                       : "");
    http_reply_prom_error(rs, 503, "unavailable", msg);
}

static void proxy(struct http_req *rq, struct http_resp *rs)
{
    const char *base = rq->ctx->query_backend;
    struct buf url;
    buf_init(&url, 64 << 10);
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    int rc = buf_append(&url, base, bl);
    if (rc == 0)
        rc = buf_puts(&url, rq->path);
    for (size_t i = 0; rc == 0 && i < rq->nparams; i++) {
        rc = buf_putc(&url, i == 0 ? '?' : '&');
        if (rc == 0)
            rc = http_escape(&url, rq->params[i].name);
        if (rc == 0)
            rc = buf_putc(&url, '=');
        if (rc == 0)
            rc = http_escape(&url, rq->params[i].value);
    }
    if (rc != 0) {
        buf_fini(&url);
        http_reply_prom_error(rs, 400, "bad_data", "request too large to pass on");
        return;
    }
    int64_t timeout = rq->ctx->config ? rq->ctx->config->query_timeout_ms + 5000 : 125000;
    struct http_client_opts o = {.user_agent = "tide-query-proxy", .timeout_ms = timeout,
                                 .accept_compressed = true};
    struct http_client *c = NULL;
    struct err e = {0};
    struct buf body;
    buf_init(&body, PROXY_MAX_BYTES);
    struct http_response hr = {0};
    rc = http_client_new(&o, &c, &e);
    if (rc == 0) {
        struct http_request req = {.method = "GET", .url = url.p, .resp_body = &body};
        rc = http_client_do(c, &req, &hr, &e);
    }
    http_client_free(c);
    buf_fini(&url);
    if (rc != 0) {
        char msg[sizeof e.msg + 40];
        snprintf(msg, sizeof msg, "query_backend: %s", e.msg);
        http_reply_prom_error(rs, 502, "unavailable", msg);
        buf_fini(&body);
        return;
    }
    rs->status = hr.status;
    rs->content_type = strncmp(hr.content_type, "application/json", 16) == 0
                           ? "application/json"
                           : "text/plain; charset=utf-8";
    buf_reset(&rs->body);
    if (buf_append(&rs->body, body.p ? body.p : "", body.len) != 0)
        http_reply_prom_error(rs, 500, "internal", "out of memory");
    buf_fini(&body);
}

router_handler_fn *query_backend_route(const struct api_ctx *ctx, const struct route *r)
{
    bool backend = ctx->query_backend != NULL && ctx->query_backend[0] != 0;
    if (backend && listed(proxied, r->pattern))
        return proxy;
    if (ctx->storage == NULL && (listed(proxied, r->pattern) || listed(reads_storage, r->pattern)))
        return refuse;
    return r->fn;
}
