/* evaluator.c: the evaluator seam (evaluator.h) and its local
 * implementation: rules read local storage through the PromQL engine
 * (query_instant()) and, for the for-state restore, storage_select() of
 * ALERTS_FOR_STATE, stale markers included, as Prometheus' RestoreForState
 * reads its TSDB. The backend implementation is eval_backend.c.
 */
#include "rules/evaluator.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/matcher.h"
#include "storage/storage.h"

#define ALERT_FOR_STATE_METRIC "ALERTS_FOR_STATE"

void rule_answer_init(struct rule_answer *a)
{
    memset(a, 0, sizeof *a);
    arena_init(&a->arena, 0);
}

void rule_answer_fini(struct rule_answer *a)
{
    query_free(a->q);
    arena_fini(&a->arena);
    memset(a, 0, sizeof *a);
}

bool evaluator_is_local(const struct evaluator *ev)
{
    return ev->local;
}

int evaluator_instant(struct evaluator *ev, const char *expr, int64_t t_ms,
                      const struct query_opts *o, evaluator_cancel_fn *cancel, void *cancel_ctx,
                      struct rule_answer *out, struct err *e)
{
    return ev->ops->instant(ev, expr, t_ms, o, cancel, cancel_ctx, out, e);
}

int evaluator_for_state(struct evaluator *ev, const char *alertname, int64_t from_ms, int64_t to_ms,
                        evaluator_cancel_fn *cancel, void *cancel_ctx, evaluator_series_fn *fn,
                        void *ctx, struct err *e)
{
    return ev->ops->for_state(ev, alertname, from_ms, to_ms, cancel, cancel_ctx, fn, ctx, e);
}

void evaluator_free(struct evaluator *ev)
{
    if (ev != NULL)
        ev->ops->free(ev);
}

/* ---- the local engine ---- */

struct local {
    struct evaluator base;
    struct storage *storage; /* borrowed */
};

static int local_instant(struct evaluator *ev, const char *expr, int64_t t_ms,
                         const struct query_opts *o, evaluator_cancel_fn *cancel, void *cancel_ctx,
                         struct rule_answer *out, struct err *e)
{
    (void)cancel; /* the engine has its own deadline (o->timeout_ms) */
    (void)cancel_ctx;
    struct local *l = (struct local *)ev;
    int rc = query_instant(&out->q, l->storage, expr, strlen(expr), t_ms, o, e);
    if (rc == 0)
        out->res = query_result(out->q);
    return rc;
}

static int local_for_state(struct evaluator *ev, const char *alertname, int64_t from_ms,
                           int64_t to_ms, evaluator_cancel_fn *cancel, void *cancel_ctx,
                           evaluator_series_fn *fn, void *ctx, struct err *e)
{
    (void)cancel; /* one read of local storage */
    (void)cancel_ctx;
    struct local *l = (struct local *)ev;
    struct matcher m[2];
    int rc = matcher_init(&m[0], MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME),
                          STRV_LIT(ALERT_FOR_STATE_METRIC), e);
    if (rc != 0)
        return rc;
    rc = matcher_init(&m[1], MATCH_EQ, STRV_LIT("alertname"), strv_c(alertname), e);
    if (rc != 0) {
        matcher_fini(&m[0]);
        return rc;
    }
    struct storage_set *set = NULL;
    rc = storage_select(l->storage, m, 2, from_ms, to_ms, &set, e);
    while (rc == 0 && storage_set_next(set)) {
        const struct label *ls;
        size_t n;
        storage_set_labels(set, &ls, &n);
        const struct sample *s;
        size_t ns;
        if (storage_set_samples(set, &s, &ns, e) != 0)
            continue; /* as before the seam: an unreadable series is not restored */
        fn(ctx, ls, n, s, ns);
    }
    storage_set_free(set);
    matcher_fini(&m[0]);
    matcher_fini(&m[1]);
    return rc;
}

static void local_free(struct evaluator *ev)
{
    free(ev);
}

static const struct evaluator_ops local_ops = {local_instant, local_for_state, local_free};

int evaluator_local_new(struct evaluator **out, struct storage *s)
{
    *out = NULL;
    struct local *l = calloc(1, sizeof *l);
    if (l == NULL)
        return -ENOMEM;
    l->base = (struct evaluator){&local_ops, true};
    l->storage = s;
    *out = &l->base;
    return 0;
}
