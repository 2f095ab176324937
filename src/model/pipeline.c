/* pipeline.c: the one append path (pipeline.h): a commit stage whose answer
 * acknowledges, then taps that see what it accepted. The stage array is
 * fixed before the first append, so appends read it without a lock; only
 * the counters are shared, as relaxed atomics. */
#include "model/pipeline.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/selfmetrics.h"

struct stage {
    const char *name;
    pipeline_commit_fn *commit; /* stage 0 only */
    pipeline_tap_fn *tap;       /* stages 1.. */
    void *ctx;
    _Atomic uint64_t batches, samples, failures;
};

struct pipeline {
    const char *name;
    atomic_bool flowing; /* set by the first append: no more taps */
    size_t nstages;
    struct stage stages[PIPELINE_STAGES_MAX];
};

int pipeline_new(struct pipeline **out, const char *name, pipeline_commit_fn *commit, void *ctx)
{
    *out = NULL;
    struct pipeline *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    p->name = name;
    p->stages[0].name = name;
    p->stages[0].commit = commit;
    p->stages[0].ctx = ctx;
    p->nstages = 1;
    *out = p;
    return 0;
}

int pipeline_add_tap(struct pipeline *p, const char *name, pipeline_tap_fn *fn, void *ctx)
{
    if (atomic_load(&p->flowing))
        return TIDE_EINVAL;
    if (p->nstages == PIPELINE_STAGES_MAX)
        return TIDE_ELIMIT;
    struct stage *s = &p->stages[p->nstages++];
    s->name = name;
    s->tap = fn;
    s->ctx = ctx;
    return 0;
}

static void count(struct stage *s, const struct batch *b, bool failed)
{
    atomic_fetch_add_explicit(&s->batches, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->samples, b->nsamples, memory_order_relaxed);
    if (failed)
        atomic_fetch_add_explicit(&s->failures, 1, memory_order_relaxed);
}

int pipeline_append(struct pipeline *p, const struct batch *b, struct pipeline_result *r,
                    struct err *e)
{
    struct pipeline_result local = {0};
    if (r == NULL)
        r = &local;
    *r = (struct pipeline_result){0};
    if (b->nseries == 0)
        return 0;
    if (!atomic_load_explicit(&p->flowing, memory_order_relaxed))
        atomic_store(&p->flowing, true);
    struct stage *c = &p->stages[0];
    int rc = c->commit(c->ctx, b, r, e);
    count(c, b, rc != 0 && rc != TIDE_ELIMIT);
    if (rc != 0 && rc != TIDE_ELIMIT)
        return rc;
    for (size_t i = 1; i < p->nstages; i++) {
        struct stage *s = &p->stages[i];
        struct err te = {0};
        count(s, b, s->tap(s->ctx, b, &te) != 0);
    }
    return rc;
}

int pipeline_sink(void *ctx, struct batch *b, struct err *e)
{
    int rc = pipeline_append(ctx, b, NULL, e);
    return rc == TIDE_ELIMIT ? 0 : rc;
}

size_t pipeline_stats(struct pipeline *p, struct pipeline_stage_stats *out, size_t cap)
{
    for (size_t i = 0; i < p->nstages && i < cap; i++) {
        struct stage *s = &p->stages[i];
        out[i] = (struct pipeline_stage_stats){
            .name = s->name,
            .batches = atomic_load_explicit(&s->batches, memory_order_relaxed),
            .samples = atomic_load_explicit(&s->samples, memory_order_relaxed),
            .failures = atomic_load_explicit(&s->failures, memory_order_relaxed),
        };
    }
    return p->nstages;
}

void pipeline_free(struct pipeline *p)
{
    free(p);
}

void pipeline_collect(void *ctx, struct sm_out *o)
{
    struct pipeline_stage_stats st[PIPELINE_STAGES_MAX];
    size_t n = pipeline_stats(ctx, st, PIPELINE_STAGES_MAX);
    static const struct {
        const char *name, *help;
        size_t off;
    } fams[] = {
        {"tide_pipeline_batches_total", "Batches handed to each stage of the append pipeline.",
         offsetof(struct pipeline_stage_stats, batches)},
        {"tide_pipeline_samples_total", "Samples in the batches handed to each stage.",
         offsetof(struct pipeline_stage_stats, samples)},
        {"tide_pipeline_failures_total",
         "Calls of each stage that failed (a limit's refusal excluded).",
         offsetof(struct pipeline_stage_stats, failures)},
    };
    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        sm_family(o, fams[f].name, SM_COUNTER, fams[f].help);
        for (size_t i = 0; i < n; i++) {
            uint64_t v;
            memcpy(&v, (const char *)&st[i] + fams[f].off, sizeof v);
            sm_sample(o, (double)v, "stage", st[i].name, NULL);
        }
    }
}
