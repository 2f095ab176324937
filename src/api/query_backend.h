/* query_backend.h: the one seam between the HTTP API and a server without
 * local storage or with a remote query backend (docs/scale-out.md):
 *
 *   `storage: none`       routes that read local storage answer 503 with a
 *                          clear reason, unless they can be proxied;
 *   `query_backend: URL`  the Prometheus query API routes (query,
 *                          query_range, series, labels, label values,
 *                          query_exemplars) are answered by that
 *                          Prometheus-API server: the request's parameters
 *                          are sent on as a GET, its status and body come
 *                          back as they are.
 *
 * http.c asks query_backend_route() for the handler of every request. The
 * rules engine reads the same backend through rules/evaluator.h.
 * Thread: any; each proxied request uses its own HTTP client.
 */
#ifndef TIDE_API_QUERY_BACKEND_H
#define TIDE_API_QUERY_BACKEND_H

#include "api/router.h"

/* The handler to run for `r` given the server's setup: r->fn, or the
 * proxy / refusal below. */
router_handler_fn *query_backend_route(const struct api_ctx *ctx, const struct route *r);

#endif
