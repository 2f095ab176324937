/* stream.h: the dashboard's live push channel, Server-Sent Events over
 * GET /api/v1/stream (docs/api/stream.md).
 *
 *   GET /api/v1/stream?query=Q1&query=Q2&interval=0.5
 *
 * answers text/event-stream; every `interval` seconds (0.1 to 10, default
 * 1) each query is evaluated once as an instant query at the current time
 * (as soon as data was written since the last one, from 3/4 of the interval
 * on; with no write, after twice the interval, at least 1 s) and its new
 * points are pushed as one event per query:
 *   data: {"q":0,"t":1733472000.5,"result":[{"metric":{...},"value":"0.25"}]}
 * ("q" is the query's position in the request; "error" replaces "result"
 * when an evaluation fails).
 *
 * Display rate (docs/ui.md#display-rate): `&host=NAME` (repeatable, at most
 * STREAM_MAX_HOSTS) says the screen watches that host; while the stream is
 * open the hub renews a display-rate lease (api/live_lease.h) for each at
 * the stream's interval, so the host is sampled that fast when its storage
 * interval is slower, and every evaluation reads storage merged with the
 * ring of display-rate points (api/live_ring.h). A comment line every 15 s keeps proxies and
 * the connection limits' idle timers content.
 *
 * The hub: one evaluation per (query, interval) is shared by every viewer,
 * however many tabs watch it: a `feed` per pair, evaluated by the hub's one
 * thread, its rendered result appended to each subscriber's output. A
 * subscriber's connection is parked (http_wake, http.h) between events, so
 * a thousand open streams hold no HTTP worker: writes and health checks
 * keep their threads. A subscriber that does not read (more than 4 MiB
 * behind) is ended; EventSource reconnects by itself.
 *
 * Ownership: serve.c creates the hub right after the pipeline (whose tap it
 * becomes before the first append) and frees it after http_stop() (which
 * ends every stream first) and after every producer stopped.
 * Thread: stream_serve runs on HTTP workers; everything is guarded by the
 * hub's mutex.
 */
#ifndef TIDE_API_STREAM_H
#define TIDE_API_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "api/http.h"
#include "core/err.h"

#define STREAM_MAX_QUERIES 32      /* per connection */
#define STREAM_MAX_HOSTS 8         /* `host` parameters per connection */
#define STREAM_MAX_FEEDS 256       /* distinct (query, interval) pairs at once */
#define STREAM_MAX_SUBSCRIBERS 1024
#define STREAM_MIN_INTERVAL_MS 100
#define STREAM_MAX_INTERVAL_MS 10000

struct storage;
struct sm_out;
struct live_ring;
struct live_lease;

struct stream_hub_opts {
    int64_t lookback_ms;  /* PromQL lookback; <= 0 = 5m */
    size_t max_samples;   /* per evaluation; 0 = the engine's default */
    int64_t timeout_ms;   /* per evaluation; <= 0 = 10 s */
    struct live_ring *ring;   /* display-rate points merged into evaluations; NULL = none */
    struct live_lease *lease; /* leases renewed for `host`; NULL = the parameter is ignored */
};

struct stream_hub;

/* Start the hub's thread. 0, or an error with `e` set. */
int stream_hub_new(struct stream_hub **out, struct storage *s, const struct stream_hub_opts *o,
                   struct err *e);
/* Stop the thread and free; no stream may still be open (stop HTTP first). */
void stream_hub_free(struct stream_hub *h);

/* pipeline_tap_fn (model/pipeline.h) telling the hub a batch was appended:
 * a feed past its interval is evaluated at once. Cheap: an atomic add, and a
 * signal only while the hub waits for data. */
struct batch;
int stream_hub_tap(void *ctx, const struct batch *b, struct err *e);

/* Streams open and feeds evaluated now, evaluations so far (for /metrics). */
void stream_hub_counts(struct stream_hub *h, size_t *subscribers, size_t *feeds,
                       uint64_t *evaluations);
/* selfmetrics collect function (core/selfmetrics.h); cls is the hub. */
void stream_hub_collect(void *cls, struct sm_out *o);

/* router_handler_fn of GET /api/v1/stream (ctx->stream NULL = 404). */
void stream_serve(struct http_req *rq, struct http_resp *rs);

#endif
