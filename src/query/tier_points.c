/* tier_points.c: the points of every series of a rollup set, computed on up
 * to two threads (for tier_eval.c: reading a tier and the window
 * arithmetic, most of a long chart's evaluation).
 *
 * Series are claimed in batches of STORAGE_ROLLUP_BATCH from a shared
 * counter by the query's thread and, for a big enough set, by a helper
 * offered the same loop through core/assist.h. Whoever claims a batch
 * reads its rollups (storage_set_read_rollups(), which leaves the set
 * alone) and turns each series' into points with the caller's function,
 * into an array of that series' own. The query's thread claims batches
 * until none is left, then waits only for the one the helper is on: a
 * helper preempted half-way costs one batch, not half the work, and one
 * that never got a core costs nothing (the query's thread took all).
 * Labels, the output matrix and the eval's own counters stay on the query's
 * thread; the caller merges the arrays in series order, so the answer is
 * the one-thread answer whichever thread computed what.
 * The workers never touch struct eval: the points made and the rollups
 * held count against what is left of the sample cap in one atomic
 * counter, and the deadline is checked once per batch.
 */
#include "query/eval.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/assist.h"
#include "core/time.h"
#include "storage/storage.h"

/* What both workers share; immutable but for the atomics. */
struct job {
    struct storage_set *set;
    size_t n;                  /* series in the set */
    tier_points_fn *fn;
    const void *ctx;
    size_t max_pts;            /* points a series can have at most (the steps) */
    struct tier_series_points *out;
    size_t limit;              /* samples the cap leaves (SIZE_MAX: none) */
    int64_t deadline_ns;       /* 0: none */
    atomic_size_t next;        /* the next batch to claim */
    atomic_size_t held;        /* points made and rollups held, both workers */
    atomic_bool stop;          /* a worker failed: claim no more */
};

/* One worker's state: owned by whichever thread runs it, then by the
 * query's thread once assist_finish() returned. */
struct worker {
    struct job *job;
    struct storage_rollups r[STORAGE_ROLLUP_BATCH];
    struct sample *scratch; /* max_pts points, from the first batch on */
    unsigned sources;
    int rc;
    struct err e; /* storage's detail for rc, when it came from there */
};

static bool charge(struct job *j, size_t n)
{
    size_t now = atomic_fetch_add(&j->held, n) + n;
    return now <= j->limit;
}

static void uncharge(struct job *j, size_t n)
{
    atomic_fetch_sub(&j->held, n);
}

/* One batch of series [first, first + cnt). 0 or an error. */
static int batch(struct worker *w, size_t first, size_t cnt)
{
    struct job *j = w->job;
    if (j->deadline_ns != 0 && time_mono_ns() > j->deadline_ns)
        return QUERY_ETIMEOUT;
    if (w->scratch == NULL &&
        (w->scratch = malloc((j->max_pts ? j->max_pts : 1) * sizeof *w->scratch)) == NULL)
        return -ENOMEM;
    int rc = storage_set_read_rollups(j->set, first, cnt, w->r, &w->sources, &w->e);
    if (rc != 0)
        return rc;
    size_t nr = 0;
    for (size_t q = 0; q < cnt; q++)
        nr += w->r[q].n;
    if (!charge(j, nr))
        rc = TIDE_ELIMIT;
    for (size_t q = 0; q < cnt && rc == 0; q++) {
        if (w->r[q].n == 0)
            continue;
        size_t np = j->fn(j->ctx, w->r[q].v, w->r[q].n, w->scratch);
        if (np == 0)
            continue;
        struct sample *p = malloc(np * sizeof *p);
        if (p == NULL) {
            rc = -ENOMEM;
            break;
        }
        memcpy(p, w->scratch, np * sizeof *p);
        j->out[first + q] = (struct tier_series_points){p, np};
        if (!charge(j, np))
            rc = TIDE_ELIMIT;
    }
    uncharge(j, nr);
    return rc;
}

static void work(void *arg)
{
    struct worker *w = arg;
    struct job *j = w->job;
    while (!atomic_load(&j->stop)) {
        size_t first = atomic_fetch_add(&j->next, 1) * STORAGE_ROLLUP_BATCH;
        if (first >= j->n)
            break;
        size_t cnt = j->n - first < STORAGE_ROLLUP_BATCH ? j->n - first : STORAGE_ROLLUP_BATCH;
        if ((w->rc = batch(w, first, cnt)) != 0) {
            atomic_store(&j->stop, true);
            break;
        }
    }
}

static void worker_fini(struct worker *w)
{
    for (size_t q = 0; q < STORAGE_ROLLUP_BATCH; q++)
        free(w->r[q].v);
    free(w->scratch);
}

/* Report worker w's error through ev. */
static int report(struct eval *ev, const struct worker *w)
{
    switch (w->rc) {
    case QUERY_ETIMEOUT:
        return eval_errorf(ev, QUERY_ETIMEOUT, "query timed out in expression evaluation");
    case TIDE_ELIMIT:
        return eval_errorf(ev, TIDE_ELIMIT,
                           "query processing would load too many samples into memory in query "
                           "execution");
    case -ENOMEM:
        if (w->e.code == 0)
            return eval_nomem(ev);
        break;
    default:
        break;
    }
    if (ev->e != NULL)
        *ev->e = w->e;
    return w->rc;
}

int tier_points_run(struct eval *ev, struct storage_set *set, tier_points_fn *fn, const void *ctx,
                    size_t max_pts, bool two_threads, struct tier_series_points *out,
                    unsigned *sources)
{
    struct job j = {.set = set, .n = storage_set_count(set), .fn = fn, .ctx = ctx,
                    .max_pts = max_pts, .out = out, .deadline_ns = ev->deadline_ns};
    j.limit = ev->max_samples > ev->cur_samples ? ev->max_samples - ev->cur_samples : 0;
    atomic_init(&j.next, 0);
    atomic_init(&j.held, 0);
    atomic_init(&j.stop, false);
    memset(out, 0, j.n * sizeof *out);
    struct worker w[2] = {{.job = &j}, {.job = &j}};
    struct assist *as = NULL;
    if (two_threads && j.n > STORAGE_ROLLUP_BATCH)
        (void)assist_start(&as, work, &w[1]); /* NULL: all here */
    work(&w[0]);
    if (as != NULL)
        assist_finish(as); /* runs w[1] here (nothing left) when the helper never started */
    int rc = 0;
    if (w[0].rc != 0)
        rc = report(ev, &w[0]);
    else if (w[1].rc != 0)
        rc = report(ev, &w[1]);
    *sources |= w[0].sources | w[1].sources;
    worker_fini(&w[0]);
    worker_fini(&w[1]);
    if (rc != 0) {
        for (size_t i = 0; i < j.n; i++)
            free(out[i].pts);
        memset(out, 0, j.n * sizeof *out);
    }
    return rc;
}
