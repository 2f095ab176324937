/* http.h: Tide's HTTP server (libmicrohttpd) and the request/response pair
 * every handler in api/ works on.
 *
 * main.c starts one server with http_start() and stops it with http_stop().
 * Handlers (write.c, export.c, prom_meta.c, admin.c, metrics.c) never see
 * libmicrohttpd: they read a struct http_req and fill a struct http_resp,
 * and http.c turns that into the wire response.
 *
 * Thread: handlers run on the server's worker threads, several at once;
 * the handlers of `offload` routes (router.h) on the query pool instead.
 * Everything a handler reaches through `struct api_ctx` is either immutable
 * after http_start() or thread-safe (storage, atomic counters).
 */
#ifndef TIDE_API_HTTP_H
#define TIDE_API_HTTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"

struct json;
struct storage;
struct metrics;
struct auth;
struct prom_query;
struct config;
struct pipeline;
struct targets;
struct targets_rt;
struct targets_files;
struct live_lease;
struct selfmetrics;
struct meta_store;
struct rules;
struct stream_hub;

/* What the server shares with every handler. Immutable after http_start(). */
struct api_ctx {
    struct storage *storage;  /* thread-safe, for reads; owned by the wiring (src/cmd/);
                               * NULL with `storage: none` (api/query_backend.h) */
    struct pipeline *pipeline; /* the one append path (model/pipeline.h); writes go here */
    struct targets *targets;   /* the targets manager (collect/targets.h); NULL = none */
    struct targets_rt *targets_rt; /* the API's targets (collect/targets_runtime.h); NULL = none */
    struct targets_files *targets_files; /* `target_files:` (collect/targets_files.h); NULL = none */
    struct metrics *metrics;  /* Tide's own counters (metrics.h) */
    struct selfmetrics *selfmetrics; /* what /metrics serves (core/selfmetrics.h); NULL = none */
    const char *version;      /* "0.1.0" */
    size_t max_request_bytes; /* body cap, before and after decoding */
    int64_t started_ms;       /* wall clock at start */
    atomic_int ready;         /* 1 while serving, 0 once shutdown began */
    const struct auth *auth;  /* credentials per scope (auth.h); NULL = all open */
    struct prom_query *query; /* PromQL guards and slots (prom_query.h); NULL = defaults */
    const struct config *config; /* settings shown by /api/v1/status/flags; NULL = none */
    struct meta_store *meta;     /* metric metadata (meta_store.h), thread-safe; NULL = none */
    struct rules *rules;         /* the rule manager (rules/rules.h); NULL = no rules */
    /* POST /-/reload and SIGHUP: re-read the rule files (cmd/serve.c); NULL = nothing to do.
     * Thread-safe; returns 0 or an error with "file:line:col: reason" in e. */
    int (*reload)(void *reload_ctx, struct err *e);
    void *reload_ctx;
    /* `query_backend:` URL of a Prometheus-API server answering the query
     * routes (api/query_backend.h); NULL = local storage. */
    const char *query_backend;
    struct stream_hub *stream; /* live push channel (stream.h); NULL = none */
    struct live_lease *live_lease; /* display-rate leases (live_lease.h); NULL = none */
};

struct http_opts {
    const char *host;         /* "" or NULL = all interfaces */
    uint16_t port;            /* 0 = let the kernel pick (see http_port()) */
    unsigned threads;         /* worker thread pool size, >= 1 */
    unsigned idle_timeout_s;  /* close idle connections after this */
    size_t max_request_bytes; /* body cap */
    unsigned max_connections; /* open connections at most; 0 = 4096 */
    unsigned max_connections_per_client; /* per client IP address; 0 = 512 */
    int64_t header_timeout_ms; /* a new connection's request headers within; 0 = 10 s */
};

enum http_method {
    HTTP_GET = 1,
    HTTP_HEAD = 2,
    HTTP_POST = 4,
    HTTP_PUT = 8,
    HTTP_DELETE = 16,
    HTTP_OPTIONS = 32,
    HTTP_OTHER = 64
};

struct http_param {
    const char *name;  /* decoded, NUL-terminated; in the request arena */
    const char *value; /* decoded, NUL-terminated ("" when absent) */
};

/* One request, as a handler sees it. Everything is valid until the handler
 * returns, except what a streaming response takes over (see http_resp). */
struct http_req {
    enum http_method method;
    const char *method_name;   /* "GET", ... as sent */
    const char *path;          /* decoded path without the query, "/api/v1/series" */
    struct http_param *params; /* form body parameters first, then the query string */
    size_t nparams;
    struct buf body;          /* the request body, decoded per its Content-Encoding */
    const char *content_type; /* request header or NULL */
    const char *path_arg;     /* the route's one variable path segment, or NULL */
    struct arena arena;       /* request-lifetime memory */
    struct api_ctx *ctx;
    int64_t start_ns; /* monotonic time the request headers were complete */
    void *conn; /* the libmicrohttpd connection (http.c only) */
};

/* The producer of a streamed body: fill up to `max` bytes of `out`, return
 * the count, 0 is not allowed; HTTP_STREAM_END at the end, HTTP_STREAM_ERROR
 * to abort (the client sees a truncated chunked body). Runs on a worker
 * thread after the handler returned; `cls` is owned by the stream and freed
 * with `free_fn` when the response is done. */
#define HTTP_STREAM_END ((ssize_t)-1)
#define HTTP_STREAM_ERROR ((ssize_t)-2)
typedef ssize_t http_stream_fn(void *cls, char *out, size_t max);
typedef void http_stream_free_fn(void *cls);

/* A stream with nothing to send yet returns HTTP_STREAM_WAIT (only when its
 * response has a `stream_wake`): the connection is parked, holding no worker
 * thread, until its producer calls http_wake() from any thread. */
#define HTTP_STREAM_WAIT ((ssize_t)0)

/* The producer's handle on a parked stream, embedded in its `stream_cls`:
 * http_wake_init() before the handler returns, http_wake_fini() in its
 * stream_free. Fields are http.c's. http_stop() ends every parked stream
 * (its fn is not called again; the client sees the end of the body). */
struct http_wake {
    pthread_mutex_t mu;
    void *conn;                      /* the MHD connection once sent */
    struct http_server *srv;
    struct http_wake *prev, *next;   /* in srv's list of waking streams */
    bool suspended, pending, closing;
};
void http_wake_init(struct http_wake *w);
void http_wake_fini(struct http_wake *w);
/* New data: run the stream again (now if parked, else at its next WAIT). */
void http_wake(struct http_wake *w);

#define HTTP_MAX_HEADERS 6

/* Bytes sent in the middle of a response's body: body[0..at), then the
 * pieces of buf in order, then body[at..]. A big query answer written by
 * two threads (api/prom_matrix.c) goes out so instead of being copied
 * together. buf is a body_pool allocation (body_pool.h) and pieces a
 * malloc'd array, both owned by the response; unused while npieces is 0. */
struct http_splice {
    char *buf;
    struct http_piece {
        size_t off, len;
    } *pieces;
    size_t npieces;
    size_t at;
};

/* Free what sp holds and clear it (a no-op when unused). */
void http_splice_release(struct http_splice *sp);

struct http_resp {
    int status;               /* 200 unless a handler sets it */
    const char *content_type; /* static string or NULL */
    struct buf body;          /* the body, unless `stream` is set */
    struct http_splice splice; /* more of the body, inside it (see above) */
    struct {
        const char *name, *value; /* static strings or in the request arena */
    } headers[HTTP_MAX_HEADERS];
    size_t nheaders;
    http_stream_fn *stream; /* set for a streamed (chunked) body */
    http_stream_free_fn *stream_free;
    void *stream_cls;
    struct http_wake *stream_wake; /* in stream_cls: the stream may WAIT; NULL = never */
};

/* Start serving. The server keeps `ctx` (which must outlive it). On failure
 * *out is NULL and `e` says why (port in use, bad address). */
struct http_server;
int http_start(struct http_server **out, const struct http_opts *o, struct api_ctx *ctx,
               struct err *e);
/* Stop accepting, finish requests in flight, join the threads, free. */
void http_stop(struct http_server *srv);
/* The port actually bound (useful with port 0). */
uint16_t http_port(const struct http_server *srv);

/* ---- helpers for handlers ---- */

/* The first value of parameter `name`, or NULL. */
const char *http_param(const struct http_req *rq, const char *name);
/* All values of `name` in order (repeated match[]); fills up to `cap` of `out`
 * and returns how many there are in total (may exceed cap). */
size_t http_params(const struct http_req *rq, const char *name, const char **out, size_t cap);

/* The value of request header `name` (case-insensitive), or NULL. */
const char *http_req_header(const struct http_req *rq, const char *name);

/* Add a response header; silently ignored past HTTP_MAX_HEADERS. */
void http_header(struct http_resp *rs, const char *name, const char *value);
/* Set status, content type and a literal body. -ENOMEM/TIDE_ELIMIT only when
 * the body did not fit; the status is set anyway. */
int http_reply(struct http_resp *rs, int status, const char *content_type, const char *body);
/* Start a 200 application/json answer in Prometheus' success envelope: the
 * body is emptied and w begins `{"status":"success","data":` (see
 * json_prom_success() in json.h); the caller writes the data, closes with
 * json_obj_end(w) and checks json_end(w). */
void http_prom_success(struct http_resp *rs, struct json *w);
/* Reset the body and reply with Prometheus' error envelope:
 * {"status":"error","errorType":type,"error":msg}. */
void http_reply_prom_error(struct http_resp *rs, int status, const char *type, const char *msg);
/* The same for a Tide error code: TIDE_EINVAL/EPARSE → 400 bad_data,
 * TIDE_ELIMIT → 422, TIDE_ENOTFOUND → 404, others → 500 internal/503 unavailable. */
void http_reply_err(struct http_resp *rs, int code, const char *msg);

/* Largest response body kept in memory; bigger answers must stream. */
#define HTTP_MAX_RESPONSE_BYTES ((size_t)512 << 20)

#endif
