/* evaluator.h: where a rule's expression is evaluated — the seam between
 * group.c and what answers PromQL. The wiring (cmd/serve.c) chooses one at
 * start and hands it to every group through group_env:
 *
 *   local    query_instant() on local storage; the for-state restore reads
 *            ALERTS_FOR_STATE with storage_select() (evaluator.c);
 *   backend  `query_backend: URL`: GET URL/api/v1/query?query=EXPR&time=T
 *            on a Prometheus-API server (VictoriaMetrics, Mimir, Thanos,
 *            Prometheus), its JSON answer turned into the same query_result
 *            and the same error codes (eval_backend.c, backend_answer.h);
 *            the restore asks it for ALERTS_FOR_STATE{alertname=…}[tolerance].
 *
 * Either way group.c sees the same result, so recording rules, alert
 * state, ALERTS / ALERTS_FOR_STATE, notifications and /api/v1/rules' health
 * and lastError behave alike; results always go back through the append
 * pipeline (storage and/or the remote_write forwarders).
 *
 * Ownership: the wiring owns an evaluator (evaluator_free()); rules borrow
 * it, so it outlives rules_free(). A rule_answer is the caller's memory,
 * filled by evaluator_instant() and released by rule_answer_fini().
 * Thread: evaluator_instant() and evaluator_for_state() may run on many
 * group threads at once.
 */
#ifndef TIDE_RULES_EVALUATOR_H
#define TIDE_RULES_EVALUATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "query/query.h"

struct storage;
struct evaluator;

/* The result of one instant evaluation. */
struct rule_answer {
    const struct query_result *res; /* valid until rule_answer_fini(); NULL after a failure */
    struct query *q;                /* local: the query owning *res */
    struct arena arena;             /* backend: holds *res and all it points to */
    struct query_result backend;    /* backend: what res points to */
};

void rule_answer_init(struct rule_answer *a);
void rule_answer_fini(struct rule_answer *a);

/* Polled during a backend request (about once a second): true gives up at
 * once with -ECANCELED (the group is stopping). May be NULL. */
typedef bool evaluator_cancel_fn(void *ctx);

/* One series of ALERTS_FOR_STATE: labels sorted by name, __name__ among
 * them; samples in time order. Both borrowed for the call only. */
typedef void evaluator_series_fn(void *ctx, const struct label *ls, size_t n,
                                 const struct sample *s, size_t ns);

/* The local engine on `s` (borrowed; outlives the evaluator). 0 or -ENOMEM. */
int evaluator_local_new(struct evaluator **out, struct storage *s);

struct evaluator_backend_opts {
    const char *url;       /* base URL ("http://vm:8428", "…/prometheus"); copied */
    int64_t timeout_ms;    /* per request; 0 = QUERY_DEFAULT_TIMEOUT_MS */
    size_t max_body_bytes; /* cap on an answer; 0 = EVALUATOR_MAX_BODY_BYTES */
};
#define EVALUATOR_MAX_BODY_BYTES ((size_t)256 << 20)

/* A query_backend evaluator. Nothing is contacted yet. 0, TIDE_EINVAL (not
 * an http(s) URL) or -ENOMEM, with e; *out NULL on failure. */
int evaluator_backend_new(struct evaluator **out, const struct evaluator_backend_opts *o,
                          struct err *e);

/* NULL is a no-op. No call may be running. */
void evaluator_free(struct evaluator *ev);

/* True for the local engine: what backfill (backfill.h) needs, since it
 * reads and writes local storage. */
bool evaluator_is_local(const struct evaluator *ev);

/* Evaluate `expr` (NUL-terminated) at t_ms, as /api/v1/query does. On
 * success out->res is a scalar, vector, matrix or string result. Errors are
 * query.h's codes with Prometheus' message (the backend's own text for its
 * errors), or for the backend a transport failure (-ECONNREFUSED,
 * -ETIMEDOUT, -EIO…, e->msg "query_backend: …"), a malformed answer
 * (TIDE_EPARSE), -ECANCELED. `out` must have been rule_answer_init()ed;
 * fini it in every case. The backend takes its timeout from o->timeout_ms
 * when set. */
int evaluator_instant(struct evaluator *ev, const char *expr, int64_t t_ms,
                      const struct query_opts *o, evaluator_cancel_fn *cancel, void *cancel_ctx,
                      struct rule_answer *out, struct err *e);

/* Call fn for every ALERTS_FOR_STATE{alertname=`alertname`} series with its
 * samples in [from_ms, to_ms] (for Prometheus' RestoreForState). 0 or the
 * error of the read, as above; `cancel` as for evaluator_instant(). */
int evaluator_for_state(struct evaluator *ev, const char *alertname, int64_t from_ms, int64_t to_ms,
                        evaluator_cancel_fn *cancel, void *cancel_ctx, evaluator_series_fn *fn,
                        void *ctx, struct err *e);

/* ---- the implementations' side (evaluator.c, eval_backend.c) ---- */

struct evaluator_ops {
    int (*instant)(struct evaluator *ev, const char *expr, int64_t t_ms, const struct query_opts *o,
                   evaluator_cancel_fn *cancel, void *cancel_ctx, struct rule_answer *out,
                   struct err *e);
    int (*for_state)(struct evaluator *ev, const char *alertname, int64_t from_ms, int64_t to_ms,
                     evaluator_cancel_fn *cancel, void *cancel_ctx, evaluator_series_fn *fn,
                     void *ctx, struct err *e);
    void (*free)(struct evaluator *ev);
};

/* The head of every implementation's struct. */
struct evaluator {
    const struct evaluator_ops *ops;
    bool local;
};

#endif
