/* backend_answer.h: a Prometheus-API server's answer to an instant query
 * (/api/v1/query), turned into the query_result the local PromQL engine
 * gives (query/query.h), so rules evaluated through `query_backend:`
 * (evaluator.h) behave as rules evaluated on local storage. Pure: bytes and
 * an HTTP status in, a result or an error out; no I/O. Fuzzed by
 * fuzz/backend_answer.c.
 *
 * The answers read (Prometheus' HTTP API, docs/api.md):
 *   {"status":"success","data":{"resultType":"vector","result":[
 *       {"metric":{"a":"b"},"value":[1435781451.781,"1"]}, …]}}
 *   … "resultType":"scalar","result":[1435781451.781,"1"]
 *   … "resultType":"matrix","result":[{"metric":{…},"values":[[t,"v"],…]}]
 *   … "resultType":"string","result":[t,"text"]
 *   {"status":"error","errorType":"execution","error":"…"}  (any status)
 * Timestamps are seconds with up to three decimals (read exactly, no float
 * rounding); values are strings as Go's strconv formats them, "NaN",
 * "+Inf" and "-Inf" included. "warnings" are ignored, as Prometheus' rule
 * manager ignores them.
 */
#ifndef TIDE_RULES_BACKEND_ANSWER_H
#define TIDE_RULES_BACKEND_ANSWER_H

#include <stddef.h>

#include "core/arena.h"
#include "core/err.h"
#include "query/query.h"

/* Read `body` (n bytes, need not be NUL-terminated), the answer that came
 * with HTTP status `status`, into *out. Everything *out points to (series,
 * labels sorted by name, samples, strings) is allocated in `a` and lives as
 * long as it; the body may be freed after the call.
 *
 * Returns 0 for a successful answer, else (with e->msg):
 *   the code of the answer's errorType, e->msg its "error" text as sent:
 *     "bad_data" TIDE_EINVAL, "execution" QUERY_EEXEC, "timeout"
 *     QUERY_ETIMEOUT, "canceled" -ECANCELED, "not_found" TIDE_ENOTFOUND,
 *     anything else ("internal", "unavailable", …) -EIO;
 *   TIDE_EPARSE   not JSON, or not the shape above ("query_backend: …");
 *   -EIO          a non-2xx status without a JSON error ("query_backend:
 *                 HTTP 502: <start of the body>");
 *   -ENOMEM       the arena ran out.
 * On failure *out is zeroed. */
int backend_answer_parse(int status, const char *body, size_t n, struct arena *a,
                         struct query_result *out, struct err *e);

/* The code backend_answer_parse() gives for an errorType (see above). */
int backend_answer_error_code(const char *error_type);

#endif
