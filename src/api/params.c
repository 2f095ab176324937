/* params.c: match[], start, end and friends, decoded once for every
 * Prometheus-style handler (see params.h).
 *
 * Bounds: at most PARAMS_MAX_SELECTORS selectors of PARAMS_MAX_MATCHERS
 * matchers each, so a request cannot make us compile an unbounded number of
 * regular expressions.
 */
#include "api/params.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/time.h"

void params_fini(struct selectors *s)
{
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->v[i].n; j++)
            matcher_fini(&s->v[i].m[j]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

int params_selectors(const struct http_req *rq, bool required, struct selectors *out, struct err *e)
{
    out->v = NULL;
    out->n = 0;
    const char *vals[PARAMS_MAX_SELECTORS];
    size_t n = http_params(rq, "match[]", vals, PARAMS_MAX_SELECTORS);
    if (n == 0) {
        if (required)
            return ERR_INVAL(e, "no match[] parameter provided");
        return 0;
    }
    if (n > PARAMS_MAX_SELECTORS)
        return ERR_INVAL(e, "too many match[] parameters: %zu (at most %d)", n,
                         PARAMS_MAX_SELECTORS);
    out->v = calloc(n, sizeof *out->v);
    if (out->v == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct selector *sel = &out->v[i];
        struct err pe = {0};
        int rc = matcher_parse_selector(vals[i], sel->m, PARAMS_MAX_MATCHERS, &sel->n, &pe);
        out->n = i + 1; /* so params_fini() frees what this one compiled */
        if (rc != 0) {
            params_fini(out);
            if (pe.col > 0)
                return ERR_INVAL(e, "invalid parameter \"match[]\": 1:%d: parse error: %s", pe.col,
                                 pe.msg);
            return ERR_INVAL(e, "invalid parameter \"match[]\": %s",
                             pe.msg[0] ? pe.msg : tide_strerror(rc));
        }
        bool nonempty = false;
        for (size_t j = 0; j < sel->n; j++)
            if (!matcher_matches(&sel->m[j], (struct strv){"", 0}))
                nonempty = true;
        if (!nonempty) {
            params_fini(out);
            return ERR_INVAL(e, "match[] must contain at least one non-empty matcher");
        }
    }
    return 0;
}

static int one_time(const struct http_req *rq, const char *name, int64_t dflt, int64_t *out,
                    struct err *e)
{
    const char *v = http_param(rq, name);
    if (v == NULL || v[0] == 0) {
        *out = dflt;
        return 0;
    }
    struct err te = {0};
    if (time_parse_ms(v, out, &te) != 0)
        return ERR_INVAL(e, "invalid parameter \"%s\": cannot parse \"%.64s\" to a valid timestamp",
                         name, v);
    if (*out < PARAMS_MIN_TIME)
        *out = PARAMS_MIN_TIME;
    if (*out > PARAMS_MAX_TIME)
        *out = PARAMS_MAX_TIME;
    return 0;
}

int params_range(const struct http_req *rq, int64_t *mint_ms, int64_t *maxt_ms, struct err *e)
{
    int rc = one_time(rq, "start", PARAMS_MIN_TIME, mint_ms, e);
    if (rc == 0)
        rc = one_time(rq, "end", PARAMS_MAX_TIME, maxt_ms, e);
    if (rc == 0 && *maxt_ms < *mint_ms)
        rc = ERR_INVAL(e, "invalid parameter \"end\": end timestamp must not be before start time");
    return rc;
}

bool params_matched_before(const struct selectors *s, size_t upto, const struct label *ls, size_t n)
{
    for (size_t i = 0; i < upto && i < s->n; i++) {
        bool all = true;
        for (size_t j = 0; j < s->v[i].n && all; j++)
            all = matcher_matches_labels(&s->v[i].m[j], ls, n);
        if (all)
            return true;
    }
    return false;
}

int params_uint(const struct http_req *rq, const char *name, uint64_t dflt, uint64_t *out,
                struct err *e)
{
    const char *v = http_param(rq, name);
    if (v == NULL || v[0] == 0) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (v[0] == '-' || errno != 0 || *end != 0)
        return ERR_INVAL(e, "invalid parameter \"%s\": \"%.64s\" is not a non-negative integer",
                         name, v);
    *out = n;
    return 0;
}
