/* http.c: libmicrohttpd glue, the only file in Tide that talks to MHD.
 *
 * A request goes: the URI-log callback allocates our per-request state with
 * the raw URI (query string untouched, so repeated `match[]` and '+' survive
 * exactly); the access handler runs once for the headers (route, size and
 * encoding checks), once per body chunk (appended to a buffer capped at
 * max_request_bytes), then a last time: the body is decoded per its
 * Content-Encoding if need be (encoding.c, capped again), form parameters
 * decoded, the route's handler run and its
 * struct http_resp turned into an MHD response.
 * Invariant: no body grows past max_request_bytes in memory, compressed or
 * inflated; a body over the cap is drained unread and answered 413.
 * Threads: MHD's polling thread with a pool of http_threads workers; a
 * request stays on one worker from its first callback to its completion,
 * except the handler of an `offload` route (PromQL): its connection is
 * suspended and the handler runs on the query pool (http_pool.h, four
 * threads per query slot), then the connection is resumed and the worker
 * sends the answer. So slow queries never hold the workers that health
 * checks and writes need. Connection limits and header deadlines are
 * http_conns.c's.
 */
#include "api/http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "api/auth.h"
#include "api/body_pool.h"
#include "api/encoding.h"
#include "api/http_conns.h"
#include "api/http_pool.h"
#include "api/json.h"
#include "api/metrics.h"
#include "api/prom_query.h"
#include "api/query_backend.h"
#include "api/router.h"
#include "core/log.h"
#include "core/strv.h"
#include "core/time.h"

/* libmicrohttpd's memory per connection: the request line and headers
 * must fit in it (about 30 KiB of them; longer answers 414 or 431, so a
 * longer PromQL expression goes in a POST form body), and it is the read
 * buffer bodies stream through. At 32 KiB (MHD's default) MHD takes it from
 * malloc; above that it maps a fresh region for every connection and each
 * page faults in: at 256 KiB that was 64 page faults a connection, and a
 * 30-day tier chart's server CPU went from 8.7 to 7.3 ms at 32 KiB on a PVM
 * guest. Proxies in front of Prometheus allow 8 KiB lines by default
 * (nginx, Apache). */
#define HTTP_CONN_MEMORY (32 * 1024)

struct http_server {
    struct MHD_Daemon *d;
    pthread_mutex_t wake_mu;   /* guards `wakes` */
    struct http_wake *wakes;   /* streams that may park (http_wake), ended by http_stop */
    struct http_conns *conns; /* limits and header deadlines (http_conns.h) */
    struct http_pool *pool;   /* runs `offload` routes (http_pool.h) */
    atomic_uint offloaded;    /* offloaded requests whose answer is not yet sent */
    struct api_ctx *ctx;
    size_t max_request_bytes;
    uint16_t port;
};

/* Per-request state, from the URI-log callback to the completion callback. */
struct rqstate {
    struct http_req rq;
    struct http_server *srv;
    char *raw_uri;    /* malloc'd copy of the request target */
    int route;        /* router id, ROUTER_NOT_FOUND when none */
    bool started;     /* the header call has run */
    bool too_large;   /* the body went past the cap: drain, then 413 */
    int early_status; /* answer decided at the headers, sent after draining the body */
    char early_msg[160];
    bool unauthorized; /* the 401 needs a WWW-Authenticate header */
    enum encoding enc; /* Content-Encoding to decode once the body is in */
    struct buf raw;   /* the body as received */
    int64_t start_ns; /* for the access log */
    /* An `offload` route: the connection is suspended while a pool thread
     * fills `rs`; `done` is set before MHD_resume_connection(), whose
     * mutex orders it before the worker's next look. */
    bool offloaded;
    bool done;
    bool counted; /* counted in srv->offloaded until completed */
    struct http_resp rs;
};

/* ---- parameters ---- */

/* Percent-decode n bytes of s into the arena; '+' is a space when `plus`.
 * A '%' not followed by two hex digits stays as it is. NULL on -ENOMEM, or
 * with *nul set when the result would contain a NUL byte. */
static char *decode(struct arena *a, const char *s, size_t n, bool plus, bool *nul)
{
    char *out = arena_alloc(a, n + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int hi, lo;
        if (c == '%' && i + 2 < n && (hi = hex_digit_value(s[i + 1])) >= 0 &&
            (lo = hex_digit_value(s[i + 2])) >= 0) {
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == 0) {
            *nul = true;
            return NULL;
        }
        out[o++] = c;
    }
    out[o] = 0;
    return out;
}

/* Append the pairs of an application/x-www-form-urlencoded string. */
static int add_params(struct http_req *rq, const char *s, size_t n, size_t *cap)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '&')
            j++;
        if (j > i) {
            const char *eq = memchr(s + i, '=', j - i);
            size_t kn = eq ? (size_t)(eq - (s + i)) : j - i;
            if (rq->nparams == *cap) {
                size_t ncap = *cap ? *cap * 2 : 16;
                struct http_param *np = arena_alloc(&rq->arena, ncap * sizeof *np);
                if (np == NULL)
                    return -ENOMEM;
                if (rq->nparams)
                    memcpy(np, rq->params, rq->nparams * sizeof *np);
                rq->params = np;
                *cap = ncap;
            }
            bool nul = false;
            char *k = decode(&rq->arena, s + i, kn, true, &nul);
            char *v = eq ? decode(&rq->arena, eq + 1, j - i - kn - 1, true, &nul)
                         : arena_strndup(&rq->arena, "", 0);
            if (nul)
                return TIDE_EINVAL;
            if (k == NULL || v == NULL)
                return -ENOMEM;
            rq->params[rq->nparams].name = k;
            rq->params[rq->nparams].value = v;
            rq->nparams++;
        }
        i = j + 1;
    }
    return 0;
}

const char *http_param(const struct http_req *rq, const char *name)
{
    for (size_t i = 0; i < rq->nparams; i++)
        if (strcmp(rq->params[i].name, name) == 0)
            return rq->params[i].value;
    return NULL;
}

size_t http_params(const struct http_req *rq, const char *name, const char **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < rq->nparams; i++) {
        if (strcmp(rq->params[i].name, name) != 0)
            continue;
        if (n < cap)
            out[n] = rq->params[i].value;
        n++;
    }
    return n;
}

/* ---- responses ---- */

const char *http_req_header(const struct http_req *rq, const char *name)
{
    if (rq->conn == NULL)
        return NULL;
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

void http_header(struct http_resp *rs, const char *name, const char *value)
{
    if (rs->nheaders >= HTTP_MAX_HEADERS)
        return;
    rs->headers[rs->nheaders].name = name;
    rs->headers[rs->nheaders].value = value;
    rs->nheaders++;
}

void http_splice_release(struct http_splice *sp)
{
    body_pool_release(sp->buf);
    free(sp->pieces);
    *sp = (struct http_splice){0};
}

int http_reply(struct http_resp *rs, int status, const char *content_type, const char *body)
{
    rs->status = status;
    rs->content_type = content_type;
    buf_reset(&rs->body);
    http_splice_release(&rs->splice);
    return body ? buf_puts(&rs->body, body) : 0;
}

void http_prom_success(struct http_resp *rs, struct json *w)
{
    rs->status = 200;
    rs->content_type = "application/json";
    json_prom_success(w, &rs->body);
}

void http_reply_prom_error(struct http_resp *rs, int status, const char *type, const char *msg)
{
    rs->status = status;
    rs->content_type = "application/json";
    http_splice_release(&rs->splice); /* json_prom_error() replaces the body */
    if (json_prom_error(&rs->body, type, msg) != 0) /* too big for the cap: say so briefly */
        http_reply(
            rs, status, "application/json",
            "{\"status\":\"error\",\"errorType\":\"internal\",\"error\":\"error too long\"}");
}

void http_reply_err(struct http_resp *rs, int code, const char *msg)
{
    char tmp[256];
    if (msg == NULL || msg[0] == 0) {
        snprintf(tmp, sizeof tmp, "%s", tide_strerror(code));
        msg = tmp;
    }
    switch (code) {
    case TIDE_EINVAL:
    case TIDE_EPARSE:
        http_reply_prom_error(rs, 400, "bad_data", msg);
        break;
    case TIDE_ELIMIT:
        http_reply_prom_error(rs, 422, "execution", msg);
        break;
    case TIDE_ENOTFOUND:
        http_reply_prom_error(rs, 404, "not_found", msg);
        break;
    case TIDE_ECLOSED:
        http_reply_prom_error(rs, 503, "unavailable", msg);
        break;
    default:
        http_reply_prom_error(rs, 500, "internal", msg);
        break;
    }
}

/* ---- MHD plumbing ---- */

struct stream {
    http_stream_fn *fn;
    http_stream_free_fn *free_fn;
    void *cls;
    struct http_wake *wake; /* NULL: the stream never waits */
};

void http_wake_init(struct http_wake *w)
{
    *w = (struct http_wake){0};
    pthread_mutex_init(&w->mu, NULL);
}

void http_wake_fini(struct http_wake *w)
{
    pthread_mutex_destroy(&w->mu);
}

void http_wake(struct http_wake *w)
{
    pthread_mutex_lock(&w->mu);
    if (w->suspended) {
        w->suspended = false;
        MHD_resume_connection(w->conn);
    } else {
        w->pending = true;
    }
    pthread_mutex_unlock(&w->mu);
}

/* A waking stream's next bytes: 0 after parking the connection (the
 * pattern libmicrohttpd prescribes for "no data yet"), never a busy loop. */
static ssize_t stream_read_wake(struct stream *s, char *out, size_t max)
{
    struct http_wake *w = s->wake;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        bool closing = w->closing;
        w->pending = false;
        pthread_mutex_unlock(&w->mu);
        if (closing)
            return HTTP_STREAM_END;
        ssize_t n = s->fn(s->cls, out, max);
        if (n != HTTP_STREAM_WAIT)
            return n;
        pthread_mutex_lock(&w->mu);
        if (w->closing) {
            pthread_mutex_unlock(&w->mu);
            return HTTP_STREAM_END;
        }
        if (!w->pending) {
            MHD_suspend_connection(w->conn);
            w->suspended = true;
            pthread_mutex_unlock(&w->mu);
            return 0;
        }
        pthread_mutex_unlock(&w->mu); /* woken meanwhile: run again */
    }
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct stream *s = cls;
    ssize_t n = s->wake ? stream_read_wake(s, out, max) : s->fn(s->cls, out, max);
    if (n == 0 && s->wake)
        return 0;
    if (n == HTTP_STREAM_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n <= 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static void stream_free(void *cls)
{
    struct stream *s = cls;
    struct http_wake *w = s->wake;
    if (w != NULL && w->srv != NULL) {
        struct http_server *srv = w->srv;
        pthread_mutex_lock(&srv->wake_mu);
        if (w->prev)
            w->prev->next = w->next;
        else
            srv->wakes = w->next;
        if (w->next)
            w->next->prev = w->prev;
        pthread_mutex_unlock(&srv->wake_mu);
    }
    if (s->free_fn)
        s->free_fn(s->cls);
    free(s);
}

static enum http_method method_of(const char *m)
{
    static const struct {
        const char *name;
        enum http_method m;
    } tab[] = {{"GET", HTTP_GET}, {"HEAD", HTTP_HEAD},     {"POST", HTTP_POST},
               {"PUT", HTTP_PUT}, {"DELETE", HTTP_DELETE}, {"OPTIONS", HTTP_OPTIONS}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(m, tab[i].name) == 0)
            return tab[i].m;
    return HTTP_OTHER;
}

/* A spliced body (struct http_splice) while MHD sends it. */
struct spliced {
    char *body;
    struct http_splice sp;
};

static void spliced_free(void *cls)
{
    struct spliced *x = cls;
    body_pool_release(x->body);
    http_splice_release(&x->sp);
    free(x);
}

/* An MHD response sending rs's body with its splice in place, both taken
 * from rs (released on failure too); *len the bytes. NULL on failure. */
static struct MHD_Response *spliced_response(struct http_resp *rs, size_t *len)
{
    struct spliced *x = malloc(sizeof *x);
    struct MHD_IoVec *iov = malloc((rs->splice.npieces + 2) * sizeof *iov);
    if (x == NULL || iov == NULL) {
        free(x);
        free(iov);
        http_splice_release(&rs->splice);
        return NULL;
    }
    size_t n;
    x->body = buf_take(&rs->body, &n);
    x->sp = rs->splice;
    rs->splice = (struct http_splice){0};
    unsigned k = 0;
    *len = n;
    if (x->sp.at > 0)
        iov[k++] = (struct MHD_IoVec){x->body, x->sp.at};
    for (size_t i = 0; i < x->sp.npieces; i++) {
        iov[k++] = (struct MHD_IoVec){x->sp.buf + x->sp.pieces[i].off, x->sp.pieces[i].len};
        *len += x->sp.pieces[i].len;
    }
    if (n > x->sp.at)
        iov[k++] = (struct MHD_IoVec){x->body + x->sp.at, n - x->sp.at};
    struct MHD_Response *r = MHD_create_response_from_iovec(iov, k, spliced_free, x);
    free(iov); /* MHD keeps a copy */
    if (r == NULL)
        spliced_free(x);
    return r;
}

/* Send `rs` on the connection and count it. */
static enum MHD_Result send_resp(struct rqstate *st, struct MHD_Connection *c, struct http_resp *rs)
{
    struct MHD_Response *r = NULL;
    size_t body_len = 0;
    if (rs->stream != NULL) {
        struct stream *s = malloc(sizeof *s);
        if (s == NULL) {
            if (rs->stream_free)
                rs->stream_free(rs->stream_cls);
            rs->stream = NULL;
            return MHD_NO;
        }
        s->fn = rs->stream;
        s->free_fn = rs->stream_free;
        s->cls = rs->stream_cls;
        s->wake = rs->stream_wake;
        if (s->wake != NULL) {
            struct http_server *srv = st->srv;
            s->wake->conn = c;
            s->wake->srv = srv;
            pthread_mutex_lock(&srv->wake_mu);
            s->wake->prev = NULL;
            s->wake->next = srv->wakes;
            if (srv->wakes)
                srv->wakes->prev = s->wake;
            srv->wakes = s->wake;
            pthread_mutex_unlock(&srv->wake_mu);
        }
        rs->stream = NULL; /* MHD owns it now, even on failure below */
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, s,
                                              stream_free);
        if (r == NULL) {
            stream_free(s);
            return MHD_NO;
        }
    } else if (rs->splice.npieces > 0) {
        r = spliced_response(rs, &body_len);
    } else if (rs->body.len == 0 || rs->status == 204 || rs->status == 304) {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else {
        size_t n;
        char *p = buf_take(&rs->body, &n);
        body_len = n;
        r = MHD_create_response_from_buffer_with_free_callback(n, p, body_pool_release);
        if (r == NULL)
            body_pool_release(p);
    }
    if (r == NULL)
        return MHD_NO;
    if (rs->content_type != NULL && rs->status != 204)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
    for (size_t i = 0; i < rs->nheaders; i++)
        MHD_add_response_header(r, rs->headers[i].name, rs->headers[i].value);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)rs->status, r);
    MHD_destroy_response(r);

    struct api_ctx *ctx = st->srv->ctx;
    metrics_count_request(ctx->metrics, st->route, rs->status);
    double ms = (double)(time_mono_ns() - st->start_ns) / 1e6;
    if (rs->status >= 500)
        log_warn("http", "%s %s -> %d (%zu bytes, %.1f ms)", st->rq.method_name, st->rq.path,
                 rs->status, body_len, ms);
    else
        log_debug("http", "%s %s -> %d (%zu bytes, %.1f ms)", st->rq.method_name, st->rq.path,
                  rs->status, body_len, ms);
    return ok;
}

/* Answer with a short status (no handler ran). */
static enum MHD_Result send_simple(struct rqstate *st, struct MHD_Connection *c, int status,
                                   const char *msg)
{
    struct http_resp rs = {0};
    buf_init(&rs.body, HTTP_MAX_RESPONSE_BYTES);
    bool challenge = status == 401 && st->unauthorized;
    http_reply_prom_error(&rs, status,
                          challenge       ? "unauthorized"
                          : status == 404 ? "not_found"
                          : status >= 500 ? "internal"
                                          : "bad_data",
                          msg);
    if (status == 405)
        http_header(&rs, "Allow", router_allow_header(st->route));
    if (challenge) {
        http_header(&rs, "WWW-Authenticate",
                    auth_challenge(st->srv->ctx->auth, router_route(st->route)->scope));
    }
    enum MHD_Result ok = send_resp(st, c, &rs);
    buf_fini(&rs.body);
    return ok;
}

/* Refuse the request with `status`. Answering before the body is read
 * makes MHD close the connection right after the answer; a client still
 * uploading then sees a reset and may never read the answer. So answer now
 * only when there is no body or the client waits for "100 Continue";
 * otherwise drain the body (never stored) and answer at the end. */
static enum MHD_Result reject(struct rqstate *st, struct MHD_Connection *c, int status,
                              const char *msg)
{
    const char *ex = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    bool body = (cl != NULL && strcmp(cl, "0") != 0) || te != NULL;
    if (!body || (ex != NULL && strcasecmp(ex, "100-continue") == 0))
        return send_simple(st, c, status, msg);
    st->early_status = status;
    snprintf(st->early_msg, sizeof st->early_msg, "%s", msg);
    return MHD_YES;
}

/* The header call: route, size and encoding checks. Returns MHD_YES with no
 * response queued to go on reading the body. */
static enum MHD_Result on_headers(struct rqstate *st, struct MHD_Connection *c, const char *method)
{
    struct http_req *rq = &st->rq;
    struct http_server *srv = st->srv;
    st->start_ns = time_mono_ns();
    rq->start_ns = st->start_ns;
    rq->method = method_of(method);
    rq->method_name = arena_strndup(&rq->arena, method, strlen(method));
    const char *q = strchr(st->raw_uri, '?');
    size_t plen = q ? (size_t)(q - st->raw_uri) : strlen(st->raw_uri);
    bool nul = false;
    rq->path = decode(&rq->arena, st->raw_uri, plen, false, &nul);
    if (rq->path == NULL || rq->method_name == NULL) {
        rq->path = "?";
        rq->method_name = "?";
        st->route = ROUTER_NOT_FOUND;
        return send_simple(st, c, nul ? 400 : 500, nul ? "NUL byte in path" : "out of memory");
    }
    const char *arg;
    size_t arg_len;
    st->route = router_find(rq->path, &arg, &arg_len);
    if (arg != NULL)
        rq->path_arg = arena_strndup(&rq->arena, arg, arg_len);
    if (st->route == ROUTER_NOT_FOUND)
        return reject(st, c, 404, "not found");
    if (!router_allows(st->route, rq->method))
        return reject(st, c, 405, "method not allowed");
    enum auth_scope scope = router_route(st->route)->scope;
    if (router_route(st->route)->write_methods & (unsigned)rq->method)
        scope = AUTH_WRITE;
    if (auth_required(srv->ctx->auth, scope)) {
        const char *h =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!auth_check(srv->ctx->auth, scope, h)) {
            st->unauthorized = true;
            return reject(st, c, 401,
                          h == NULL ? "authentication required" : "invalid credentials");
        }
    }

    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno == 0 && *end == 0 && n > srv->max_request_bytes) {
            atomic_fetch_add_explicit(&srv->ctx->metrics->requests_too_large, 1,
                                      memory_order_relaxed);
            char msg[128];
            snprintf(msg, sizeof msg, "request body of %llu bytes is over the limit of %zu bytes",
                     n, srv->max_request_bytes);
            return reject(st, c, 413, msg);
        }
    }
    const char *ce =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
    const struct route *route = router_route(st->route);
    if (ce != NULL && ce[0] != 0 && route->own_encoding != NULL &&
        strcasecmp(ce, route->own_encoding) == 0) {
        /* the handler decodes this encoding itself (remote write's snappy) */
    } else if (encoding_parse(ce, &st->enc) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "unsupported Content-Encoding \"%.40s\" (use %s)", ce,
                 ENCODING_ACCEPTED);
        return reject(st, c, 415, msg);
    }
    rq->content_type =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    return MHD_YES;
}

/* On a pool thread: run the handler of an offloaded request, then hand
 * the connection back to its worker. */
static void run_offloaded(void *arg, bool cancelled)
{
    struct rqstate *st = arg;
    if (cancelled)
        http_reply_prom_error(&st->rs, 503, "unavailable", "the server is shutting down");
    else
        query_backend_route(st->rq.ctx, router_route(st->route))(&st->rq, &st->rs);
    st->done = true;
    MHD_resume_connection(st->rq.conn);
}

/* Suspend the connection and queue its handler on the pool; the answer is
 * sent by on_request() once resumed. Suspending before submitting means
 * the pool never resumes a connection that is not yet suspended. */
static enum MHD_Result offload(struct rqstate *st, struct MHD_Connection *c)
{
    st->offloaded = true;
    st->counted = true;
    atomic_fetch_add(&st->srv->offloaded, 1);
    st->rs.status = 200;
    buf_init(&st->rs.body, HTTP_MAX_RESPONSE_BYTES);
    body_pool_take(&st->rs.body); /* query answers: big, written in place */
    MHD_suspend_connection(c);
    int rc = http_pool_submit(st->srv->pool, run_offloaded, st);
    if (rc != 0) {
        if (rc == TIDE_ECLOSED)
            http_reply_prom_error(&st->rs, 503, "unavailable", "the server is shutting down");
        else
            http_reply_prom_error(&st->rs, 500, "internal", "out of memory");
        st->done = true;
        MHD_resume_connection(c);
    }
    return MHD_YES;
}

/* The answer of an offloaded request, on the worker after the resume. */
static enum MHD_Result send_offloaded(struct rqstate *st, struct MHD_Connection *c)
{
    if (!st->done)
        return MHD_YES; /* not ours to answer yet */
    st->offloaded = false;
    enum MHD_Result ok = send_resp(st, c, &st->rs);
    if (st->rs.stream != NULL && st->rs.stream_free != NULL)
        st->rs.stream_free(st->rs.stream_cls);
    st->rs.stream = NULL;
    buf_fini(&st->rs.body);
    http_splice_release(&st->rs.splice); /* none left unless send_resp() failed early */
    return ok;
}

/* The last call: the whole body is in; run the handler. */
static enum MHD_Result on_complete(struct rqstate *st, struct MHD_Connection *c)
{
    struct http_req *rq = &st->rq;
    struct http_server *srv = st->srv;
    if (st->early_status != 0)
        return send_simple(st, c, st->early_status, st->early_msg);
    if (st->too_large) {
        atomic_fetch_add_explicit(&srv->ctx->metrics->requests_too_large, 1, memory_order_relaxed);
        char msg[128];
        snprintf(msg, sizeof msg, "request body is over the limit of %zu bytes",
                 srv->max_request_bytes);
        return send_simple(st, c, 413, msg);
    }
    atomic_fetch_add_explicit(&srv->ctx->metrics->request_body_bytes, st->raw.len,
                              memory_order_relaxed);
    if (st->enc != ENCODING_IDENTITY && st->raw.len > 0) {
        buf_init(&rq->body, srv->max_request_bytes);
        struct err de = {0};
        int rc = encoding_decode(st->enc, st->raw.p, st->raw.len, &rq->body, &de);
        buf_fini(&st->raw);
        if (rc == TIDE_ELIMIT) {
            atomic_fetch_add_explicit(&srv->ctx->metrics->requests_too_large, 1,
                                      memory_order_relaxed);
            char msg[160];
            snprintf(msg, sizeof msg, "%s-decoded request body is over the limit of %zu bytes",
                     encoding_name(st->enc), srv->max_request_bytes);
            return send_simple(st, c, 413, msg);
        }
        if (rc != 0) {
            char msg[sizeof de.msg + 48];
            snprintf(msg, sizeof msg, "%s (Content-Encoding: %s)", de.msg,
                     encoding_name(st->enc));
            return send_simple(st, c, rc == -ENOMEM ? 500 : 400,
                               rc == -ENOMEM ? "out of memory" : msg);
        }
    } else {
        rq->body = st->raw; /* hand the bytes over */
        buf_init(&st->raw, 0);
    }

    size_t cap = 0;
    int rc = 0;
    const struct route *route = router_route(st->route);
    if (route->form_body && rq->content_type != NULL &&
        strncasecmp(rq->content_type, "application/x-www-form-urlencoded", 33) == 0)
        rc = add_params(rq, rq->body.p ? rq->body.p : "", rq->body.len, &cap);
    const char *q = strchr(st->raw_uri, '?');
    if (rc == 0 && q != NULL)
        rc = add_params(rq, q + 1, strlen(q + 1), &cap);
    if (rc != 0)
        return send_simple(st, c, rc == -ENOMEM ? 500 : 400,
                           rc == -ENOMEM ? "out of memory" : "NUL byte in a parameter");

    if (route->offload && srv->pool != NULL)
        return offload(st, c);

    struct http_resp rs = {0};
    rs.status = 200;
    buf_init(&rs.body, HTTP_MAX_RESPONSE_BYTES);
    query_backend_route(rq->ctx, route)(rq, &rs);
    enum MHD_Result ok = send_resp(st, c, &rs);
    if (rs.stream != NULL && rs.stream_free != NULL) /* not taken by send_resp */
        rs.stream_free(rs.stream_cls);
    buf_fini(&rs.body);
    http_splice_release(&rs.splice);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)url;
    (void)version;
    struct rqstate *st = *con_cls;
    if (st == NULL) /* the URI-log callback ran out of memory */
        return MHD_NO;
    if (!st->started) {
        st->started = true;
        st->rq.conn = c;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        if (ci != NULL)
            http_conns_busy(st->srv->conns, ci->socket_context);
        return on_headers(st, c, method);
    }
    if (st->offloaded)
        return send_offloaded(st, c);
    if (*upload_data_size != 0) {
        if (st->early_status == 0 && !st->too_large &&
            buf_append(&st->raw, upload_data, *upload_data_size) != 0) {
            st->too_large = true;
            buf_fini(&st->raw);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return on_complete(st, c);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)c;
    struct http_server *srv = cls;
    struct rqstate *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    st->raw_uri = strdup(uri ? uri : "/");
    if (st->raw_uri == NULL) {
        free(st);
        return NULL;
    }
    st->srv = srv;
    st->route = ROUTER_NOT_FOUND;
    st->rq.ctx = srv->ctx;
    /* Decoded parameters are never longer than the URI plus the body. */
    arena_init(&st->rq.arena, 2 * srv->max_request_bytes + (1u << 20));
    buf_init(&st->raw, srv->max_request_bytes);
    buf_init(&st->rq.body, srv->max_request_bytes);
    return st;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct http_server *srv = cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci != NULL)
        http_conns_idle(srv->conns, ci->socket_context);
    struct rqstate *st = *con_cls;
    if (st == NULL)
        return;
    if (st->counted)
        atomic_fetch_sub(&srv->offloaded, 1);
    buf_fini(&st->raw);
    buf_fini(&st->rq.body);
    buf_fini(&st->rs.body);
    http_splice_release(&st->rs.splice);
    if (st->rs.stream != NULL && st->rs.stream_free != NULL)
        st->rs.stream_free(st->rs.stream_cls);
    arena_fini(&st->rq.arena);
    free(st->raw_uri);
    free(st);
    *con_cls = NULL;
}

/* Accept policy: the connection limits, which may close a waiting
 * connection to make room (http_conns.h). */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    struct http_server *srv = cls;
    return http_conns_admit(srv->conns, addr, len) ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ad =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        *socket_context = fd == NULL ? NULL
                                     : http_conns_open(srv->conns, fd->connect_fd,
                                                       ad ? ad->client_addr : NULL);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        http_conns_close(srv->conns, *socket_context);
        *socket_context = NULL;
    }
}

/* Room for `want` connections in the descriptor limit, raised up to the
 * hard limit if need be (plus room for storage's files); returns the
 * number of connections that fit. */
static unsigned fit_fd_limit(unsigned want)
{
    const rlim_t spare = 256;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    rlim_t need = (rlim_t)want + spare;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = old;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return want;
    unsigned fit = rl.rlim_cur > spare + 16 ? (unsigned)(rl.rlim_cur - spare) : 16;
    log_warn("http",
             "http_max_connections %u lowered to %u: the open-files limit is %llu "
             "(raise it with ulimit -n or LimitNOFILE=)",
             want, fit, (unsigned long long)rl.rlim_cur);
    return fit;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    /* A client going away mid-request is routine (and is how connections
     * closed by http_conns.c end): not worth a warning each. */
    if (strstr(msg, "closed by remote") != NULL || strstr(msg, "connection closure") != NULL ||
        strstr(msg, "socket is no longer available") != NULL)
        log_debug("http", "libmicrohttpd: %s", msg);
    else
        log_warn("http", "libmicrohttpd: %s", msg);
}

int http_start(struct http_server **out, const struct http_opts *o, struct api_ctx *ctx,
               struct err *e)
{
    *out = NULL;
    struct http_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    srv->ctx = ctx;
    pthread_mutex_init(&srv->wake_mu, NULL);
    srv->max_request_bytes = o->max_request_bytes ? o->max_request_bytes : (64u << 20);

    /* ITC: MHD_stop_daemon() must wake every worker at once, also one at
     * its share of the connection limit that no longer polls the listening
     * socket (without it, a stop with ~1000 idle connections waited out the
     * idle timeout). */
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
#ifdef __linux__
    flags |= MHD_USE_EPOLL;
#endif
    struct addrinfo *ai = NULL;
    if (o->host != NULL && o->host[0] != 0) {
        struct addrinfo hints = {0};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        char port[8];
        snprintf(port, sizeof port, "%u", (unsigned)o->port);
        int g = getaddrinfo(o->host, port, &hints, &ai);
        if (g != 0) {
            free(srv);
            return ERR_INVAL(e, "listen: cannot resolve \"%s\": %s", o->host, gai_strerror(g));
        }
        if (ai->ai_family == AF_INET6)
            flags |= MHD_USE_IPv6;
    }
    unsigned threads = o->threads ? o->threads : 4;
    struct http_conns_opts co = {
        .max_connections = fit_fd_limit(o->max_connections ? o->max_connections : 4096),
        .max_per_client = o->max_connections_per_client ? o->max_connections_per_client : 512,
        .header_timeout_ms = o->header_timeout_ms > 0 ? o->header_timeout_ms : 10000,
        .idle_timeout_ms = 1000LL * (o->idle_timeout_s ? o->idle_timeout_s : 120),
    };
    /* Queries wait for a slot on the pool, not on the workers. The pool
     * has more threads than slots so that queries waiting for a slot do
     * so in prom_query.c, which answers "timeout" at each one's deadline;
     * past that many, they queue in the pool and time out when picked. */
    struct prom_query_opts qs;
    prom_query_settings(ctx->query, &qs);
    unsigned pool_threads = qs.max_concurrency * 4 < 8 ? 8 : qs.max_concurrency * 4;
    int rc = http_conns_new(&srv->conns, &co);
    if (rc == 0) {
        rc = http_pool_new(&srv->pool, pool_threads);
        if (rc != 0)
            http_conns_free(srv->conns);
    }
    if (rc != 0) {
        if (ai)
            freeaddrinfo(ai);
        free(srv);
        return ERR_SET(e, rc, "cannot start the HTTP server's threads");
    }
    /* MHD's own limit sits above ours: ours closes a waiting connection to
     * admit a new one, and the closed one lingers until its worker sees it.
     * MHD splits it evenly between the workers. */
    unsigned mhd_limit = co.max_connections + 64 * threads;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, srv},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)mhd_limit, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, srv},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)(o->idle_timeout_s ? o->idle_timeout_s : 120),
         NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)HTTP_CONN_MEMORY, NULL},
        {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL},
        {ai ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, 0, ai ? ai->ai_addr : NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    /* The logger must come first, before MHD_OPTION_ARRAY carries the rest. */
    srv->d =
        MHD_start_daemon(flags, o->port, on_accept, srv, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
                         on_mhd_log, NULL, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    int err_no = errno;
    if (ai)
        freeaddrinfo(ai);
    if (srv->d == NULL) {
        http_pool_stop(srv->pool);
        http_pool_free(srv->pool);
        http_conns_free(srv->conns);
        free(srv);
        return ERR_SET(e, err_no ? -err_no : TIDE_EINVAL,
                       "cannot listen on %s:%u (port in use or address not local?)",
                       o->host && o->host[0] ? o->host : "*", (unsigned)o->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : o->port;
    *out = srv;
    return 0;
}

void http_stop(struct http_server *srv)
{
    if (srv == NULL)
        return;
    /* Queries waiting for a slot or queued are answered 503 and running
     * ones finish, so no connection is left suspended (MHD_stop_daemon()
     * refuses that). */
    prom_query_shutdown(srv->ctx->query);
    http_pool_stop(srv->pool);
    /* Let the workers send those answers (2 s at most): MHD_stop_daemon()
     * closes every connection at once. */
    for (int i = 0; i < 200 && atomic_load(&srv->offloaded) > 0; i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    /* End the live streams, parked ones included (MHD_stop_daemon() must
     * find no connection suspended); wait for them as for the queries. */
    pthread_mutex_lock(&srv->wake_mu);
    for (struct http_wake *w = srv->wakes; w != NULL; w = w->next) {
        pthread_mutex_lock(&w->mu);
        w->closing = true;
        if (w->suspended) {
            w->suspended = false;
            MHD_resume_connection(w->conn);
        }
        pthread_mutex_unlock(&w->mu);
    }
    pthread_mutex_unlock(&srv->wake_mu);
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&srv->wake_mu);
        bool left = srv->wakes != NULL;
        pthread_mutex_unlock(&srv->wake_mu);
        if (!left)
            break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(srv->d);
    body_pool_drain();
    http_pool_free(srv->pool);
    http_conns_free(srv->conns);
    pthread_mutex_destroy(&srv->wake_mu);
    free(srv);
}

uint16_t http_port(const struct http_server *srv)
{
    return srv->port;
}
