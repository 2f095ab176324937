/* params.h: the request parameters Prometheus-style endpoints share:
 * series selectors (`match[]`, repeatable) and time bounds (`start`, `end`).
 *
 * Error messages follow Prometheus' wording so clients that show them
 * verbatim read the same ("invalid parameter \"start\": ...").
 * Ownership: struct selectors owns its compiled matchers; params_fini().
 */
#ifndef TIDE_API_PARAMS_H
#define TIDE_API_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/http.h"
#include "core/err.h"
#include "model/labels.h"
#include "model/matcher.h"

#define PARAMS_MAX_SELECTORS 64 /* match[] values per request */
#define PARAMS_MAX_MATCHERS 32  /* matchers per selector */

/* The whole time axis, for a missing start/end. Kept well inside int64 so
 * storage may add a partition width without overflow. */
#define PARAMS_MIN_TIME (INT64_MIN / 4)
#define PARAMS_MAX_TIME (INT64_MAX / 4)

struct selector {
    struct matcher m[PARAMS_MAX_MATCHERS];
    size_t n;
};

struct selectors {
    struct selector *v; /* malloc'd array of n */
    size_t n;
};

/* Parse every `match[]` value. With `required`, none at all is an error
 * ("no match[] parameter provided"). Each selector needs one matcher that
 * does not match the empty string, as Prometheus demands. On failure `out`
 * is empty and `e` says why (TIDE_EINVAL, TIDE_ELIMIT, -ENOMEM). */
int params_selectors(const struct http_req *rq, bool required, struct selectors *out,
                     struct err *e);
void params_fini(struct selectors *s);

/* `start` and `end` (RFC 3339 or Unix seconds); missing ones are the whole
 * time axis. TIDE_EINVAL when unparsable or end < start. */
int params_range(const struct http_req *rq, int64_t *mint_ms, int64_t *maxt_ms, struct err *e);

/* Does a selector before index `upto` select this label set? Used to emit a
 * series once when several match[] select it. */
bool params_matched_before(const struct selectors *s, size_t upto, const struct label *ls,
                           size_t n);

/* A non-negative integer parameter (e.g. `limit`); `dflt` when absent. */
int params_uint(const struct http_req *rq, const char *name, uint64_t dflt, uint64_t *out,
                struct err *e);

#endif
