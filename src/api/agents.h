/* agents.h: the server's side of `tide agent` (docs/agent.md):
 *
 *   GET  /api/v1/agent/config?instance=NAME   the interval an agent should use:
 *        {"status":"success","data":{"instance":"NAME","interval":"5s"}}
 *        ("interval" absent when none is set: the agent keeps its own flag).
 *        An agent adds `&defaultInterval=5s` (the interval it runs at
 *        without one set here); while a screen watches it faster than its
 *        storage interval (api/live_lease.h) the answer also holds
 *        "displayInterval":"500ms","displayLease":"5s": sample that fast
 *        for that long unless a later poll renews it (docs/agent.md)
 *   POST /api/v1/agent/config  instance=NAME&interval=5s   set it ("" clears)
 *   GET  /api/v1/agents        every instance seen in tide_host_info, with its
 *        last-seen time and up/down (down = no sample for 3 intervals)
 *
 * Desired configs are passive targets of kind "agent" in the server's
 * targets manager (collect/targets.h); agents_attach() registers the kind and
 * makes them persistent in one file.
 * Thread: every function is thread-safe.
 */
#ifndef TIDE_API_AGENTS_H
#define TIDE_API_AGENTS_H

#include <stddef.h>

#include "api/http.h"
#include "core/buf.h"
#include "core/err.h"

struct storage;
struct targets;
struct target_kind;
struct live_lease;

#define AGENTS_INTERVAL_MIN_MS 100 /* collect/targets.h's TARGETS_INTERVAL_MIN_MS */
#define AGENTS_INTERVAL_MAX_MS 86400000
#define AGENTS_DEFAULT_INTERVAL_MS 10000 /* the agent's default, for up/down */
#define AGENTS_DEFAULT_FLUSH_MS 5000     /* the agent's default --batch-max-wait */

/* The passive target kind "agent" (no collection: agents push). */
extern const struct target_kind agents_target_kind;

/* Register the agent kind with `t` and, when `path` is not NULL (e.g.
 * DATA/agents.conf), keep the desired configs in that file: load it now,
 * rewrite it atomically after each change. 0, -errno or TIDE_EPARSE (with
 * the line in `e`). Call once, before targets_start() and before serving. */
int agents_attach(struct targets *t, const char *path, struct err *e);

/* Serve one of the three endpoints above. `method` is "GET"/"HEAD"/"POST",
 * `path` the decoded path, `params` the request parameters (form body and
 * query string, as struct http_req has them). Writes the JSON response to
 * `out` and its status to *http_status, errors in Prometheus' envelope
 * (400 bad_data, 405, 422, 500). Returns 0 when the path is one of ours,
 * TIDE_ENOTFOUND (nothing written) otherwise. `t` holds the desired configs;
 * `live` the display-rate leases (NULL = none). */
int agents_handle(struct storage *s, struct targets *t, struct live_lease *live,
                  const char *method, const char *path, const struct http_param *params,
                  size_t nparams, struct buf *out, int *http_status);

/* router_handler_fn for the routes "/api/v1/agents" (GET) and
 * "/api/v1/agent/config" (GET, POST, form body): calls agents_handle(). */
void agents_route(struct http_req *rq, struct http_resp *rs);

#endif
