/* targets_api.h: GET /api/v1/targets, the targets manager's state in
 * Prometheus' shape (docs/api/targets.md), so Grafana, promtool and people
 * see every collection target's health, last error and last run.
 *
 *   state=active|dropped|any   which lists to fill (default: both); disabled
 *                              targets are the dropped ones
 *   scrapePool=KIND            only the targets of one kind
 */
#ifndef TIDE_API_TARGETS_API_H
#define TIDE_API_TARGETS_API_H

#include "api/http.h"
#include "api/json.h"
#include "collect/targets.h"

/* Write the `data` object of the answer for `v[0..n)` to w (the part after
 * `"data":`): activeTargets when `active`, droppedTargets when `dropped`,
 * each list present (maybe empty) either way. */
void targets_api_write(struct json *w, const struct target_status *v, size_t n, bool active,
                       bool dropped);
/* The same, where the targets `tf` added from files (NULL = none) carry
 * __meta_filepath and __tide_source__ in their discoveredLabels. */
struct targets_files;
void targets_api_write_tf(struct json *w, const struct target_status *v, size_t n, bool active,
                          bool dropped, struct targets_files *tf);

/* router_handler_fn of GET /api/v1/targets; ctx->targets NULL = no targets. */
void targets_api_list(struct http_req *rq, struct http_resp *rs);

/* router_handler_fn of POST /api/v1/targets/test: one entry as JSON
 * (the keys of a `targets:` item), tested without being added. */
void targets_api_test(struct http_req *rq, struct http_resp *rs);

/* /api/v1/targets: GET lists (targets_api_list), POST adds one entry
 * (201 with the target, 400 with the reason, 409 when kind/name exists). */
void targets_api_route(struct http_req *rq, struct http_resp *rs);
/* DELETE /api/v1/targets/{kind}/{name} and POST …/{kind}/{name}/enable or
 * /disable: 200 with the target (none after a delete), 404 when unknown,
 * 409 for a DELETE of a target the API did not add. */
void targets_api_change(struct http_req *rq, struct http_resp *rs);

#endif
