/* prom_query.h: the guards every PromQL request of the HTTP API passes
 * through (prom_query.c): the engine's limits from the configuration and a
 * bounded number of query slots.
 *
 * main.c creates one `struct prom_query` from query_timeout,
 * query_max_samples, query_lookback_delta and query_max_concurrency
 * (core/config.h) and hangs it on `api_ctx.query`; the /api/v1/query and
 * /api/v1/query_range handlers take a slot for the evaluation, waiting at
 * most until the query's own deadline (then 503 "timeout"), so a burst of
 * heavy queries queues instead of starving ingestion of CPU and memory.
 * The handlers run on the HTTP server's query pool (http_pool.h, four
 * threads per slot), so that waiting happens there, never on the HTTP
 * workers that health checks and writes need; the deadline counts from
 * the request's arrival.
 *
 * Ownership: prom_query_new() allocates; prom_query_free() after the HTTP
 * server stopped (no handler may still hold a slot).
 * Thread: every function but new/free is thread-safe.
 */
#ifndef TIDE_API_PROM_QUERY_H
#define TIDE_API_PROM_QUERY_H

#include <stddef.h>
#include <stdint.h>

struct prom_query_opts {
    int64_t timeout_ms;       /* per query, wall clock; <= 0 = 2m */
    size_t max_samples;       /* points one query may hold; 0 = 50M */
    int64_t lookback_ms;      /* instant selector lookback; <= 0 = 5m */
    unsigned max_concurrency; /* evaluations at once; 0 = 2 x online CPUs */
};

struct prom_query;

/* 0 or -ENOMEM (then *out is NULL). */
int prom_query_new(struct prom_query **out, const struct prom_query_opts *o);
void prom_query_free(struct prom_query *pq);

/* Refuse further slots: queries waiting for one, and any later, get 503
 * "unavailable" at once; running ones finish. For http_stop(). */
void prom_query_shutdown(struct prom_query *pq);

/* The effective settings (defaults resolved), for status endpoints. */
void prom_query_settings(const struct prom_query *pq, struct prom_query_opts *out);

#endif
