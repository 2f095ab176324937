/* agents.h: the server's side of `tide agent` (docs/agent.md):
 *
 *   GET  /api/v1/agent/config?instance=NAME   the interval an agent should use:
 *        {"status":"success","data":{"instance":"NAME","interval":"5s"}}
 *        ("interval" absent when none is set: the agent keeps its own flag)
 *   POST /api/v1/agent/config  instance=NAME&interval=5s   set it ("" clears)
 *   GET  /api/v1/agents        every instance seen in tide_host_info, with its
 *        last-seen time and up/down (down = no sample for 3 intervals)
 *
 * Desired configs live in a table in this file, shared by every request and
 * guarded by a mutex; agents_open() makes them persistent in one file.
 * Thread: every function is thread-safe.
 */
#ifndef TIDE_API_AGENTS_H
#define TIDE_API_AGENTS_H

#include <stddef.h>

#include "api/http.h"
#include "core/buf.h"
#include "core/err.h"

struct storage;

#define AGENTS_MAX 100000          /* instances with a desired config */
#define AGENTS_INTERVAL_MIN_MS 100 /* collect/sched.h's SCHED_INTERVAL_MIN_MS */
#define AGENTS_INTERVAL_MAX_MS 86400000
#define AGENTS_DEFAULT_INTERVAL_MS 10000 /* the agent's default, for up/down */

/* Keep the desired configs in `path` (e.g. DATA/agents.conf): load it now,
 * rewrite it atomically after each change. Without this call they live in
 * memory only and are forgotten at a restart. 0, -errno or TIDE_EPARSE
 * (with the line in `e`). Call once, before serving. */
int agents_open(const char *path, struct err *e);
/* Forget the table (tests, shutdown). */
void agents_close(void);

/* Serve one of the three endpoints above. `method` is "GET"/"HEAD"/"POST",
 * `path` the decoded path, `params` the request parameters (form body and
 * query string, as struct http_req has them). Writes the JSON response to
 * `out` and its status to *http_status, errors in Prometheus' envelope
 * (400 bad_data, 405, 422, 500). Returns 0 when the path is one of ours,
 * TIDE_ENOTFOUND (nothing written) otherwise. */
int agents_handle(struct storage *s, const char *method, const char *path,
                  const struct http_param *params, size_t nparams, struct buf *out,
                  int *http_status);

/* router_handler_fn for the routes "/api/v1/agents" (GET) and
 * "/api/v1/agent/config" (GET, POST, form body): calls agents_handle(). */
void agents_route(struct http_req *rq, struct http_resp *rs);

#endif
