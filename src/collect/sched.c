/* sched.c: the collection scheduler (see sched.h), the clock of collect/.
 * One thread keeps every group's next due time on the monotonic clock and
 * sleeps on a condition variable until the earliest one, so sched_stop()
 * and sched_set_interval() wake it at once instead of after a sleep.
 *
 * A group runs outside the lock: its collect function fills the scheduler's
 * one batch (reset between runs, so its capacity is reused), the sink takes
 * it, and only then is the next group looked at. Runs missed while another
 * group was slow are skipped: next = previous due + interval, or now +
 * interval when that is already past, so a stall never causes a burst.
 *
 * Invariant: fields marked "mu" change only with the mutex held; the
 * collect/sink calls and `batch` belong to the scheduler thread alone.
 */
#include "collect/sched.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/time.h"

struct sched_group {
    char name[64];               /* immutable after sched_add() */
    sched_collect_fn *fn;        /* immutable */
    void *ctx;                   /* immutable */
    int64_t interval_ms;         /* mu */
    int64_t next_ns;             /* mu: monotonic due time */
    int64_t last_start_ns;       /* mu: monotonic start of the last run; 0 = never */
    struct sched_group_stats st; /* mu */
};

struct sched {
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* signalled on stop and on an interval change */
    struct sched_group *groups; /* fixed once started */
    size_t ngroups, cap;
    bool started;  /* mu */
    bool stopping; /* mu */
    bool joined;   /* only the stopping thread */
    pthread_t thread;
    batch_sink_fn *sink;
    void *sink_ctx;
    sched_error_fn *on_error;
    void *err_ctx;
    struct batch batch; /* scheduler thread only */
};

int sched_new(struct sched **out)
{
    *out = NULL;
    struct sched *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        free(s);
        return -rc;
    }
    pthread_mutex_init(&s->mu, NULL);
    batch_init(&s->batch);
    *out = s;
    return 0;
}

static struct sched_group *find(struct sched *s, const char *name)
{
    for (size_t i = 0; i < s->ngroups; i++)
        if (strcmp(s->groups[i].name, name) == 0)
            return &s->groups[i];
    return NULL;
}

int sched_add(struct sched *s, const char *name, int64_t interval_ms, sched_collect_fn *fn,
              void *ctx, struct err *e)
{
    if (s->started)
        return ERR_INVAL(e, "sched: group %s added after start", name);
    if (interval_ms < SCHED_INTERVAL_MIN_MS)
        return ERR_INVAL(e, "sched: group %s: interval %lldms below %dms", name,
                         (long long)interval_ms, SCHED_INTERVAL_MIN_MS);
    if (strlen(name) >= sizeof s->groups[0].name || find(s, name) != NULL)
        return ERR_INVAL(e, "sched: group name %s is too long or taken", name);
    if (s->ngroups == SCHED_GROUPS_MAX)
        return ERR_LIMIT(e, "sched: more than %d groups", SCHED_GROUPS_MAX);
    if (s->ngroups == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 8;
        void *p = realloc(s->groups, ncap * sizeof *s->groups);
        if (p == NULL)
            return ERR_SET(e, -ENOMEM, "sched: out of memory");
        s->groups = p;
        s->cap = ncap;
    }
    struct sched_group *g = &s->groups[s->ngroups++];
    *g = (struct sched_group){.fn = fn, .ctx = ctx, .interval_ms = interval_ms};
    strcpy(g->name, name);
    g->st.interval_ms = interval_ms;
    return 0;
}

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Run group g (the lock is not held). */
static void run_group(struct sched *s, struct sched_group *g, int64_t *cost_ns, int *failed)
{
    struct err e;
    err_clear(&e);
    batch_reset(&s->batch);
    int64_t c0 = thread_cpu_ns();
    int rc = g->fn(g->ctx, time_now_ms(), &s->batch, &e);
    *cost_ns = thread_cpu_ns() - c0;
    *failed = rc < 0;
    if (rc < 0 && s->on_error)
        s->on_error(s->err_ctx, g->name, rc, &e);
    if (s->batch.nseries == 0)
        return;
    err_clear(&e);
    rc = s->sink(s->sink_ctx, &s->batch, &e);
    if (rc < 0) {
        *failed = 1;
        if (s->on_error)
            s->on_error(s->err_ctx, g->name, rc, &e);
    }
}

static void *loop(void *arg)
{
    struct sched *s = arg;
    pthread_mutex_lock(&s->mu);
    int64_t t0 = time_mono_ns();
    for (size_t i = 0; i < s->ngroups; i++)
        s->groups[i].next_ns = t0;
    while (!s->stopping) {
        int64_t now = time_mono_ns();
        struct sched_group *due = NULL;
        for (size_t i = 0; i < s->ngroups; i++)
            if (due == NULL || s->groups[i].next_ns < due->next_ns)
                due = &s->groups[i];
        if (due == NULL || due->next_ns > now) {
            if (due == NULL) {
                pthread_cond_wait(&s->cv, &s->mu);
            } else {
                struct timespec ts = {(time_t)(due->next_ns / 1000000000),
                                      (long)(due->next_ns % 1000000000)};
                pthread_cond_timedwait(&s->cv, &s->mu, &ts);
            }
            continue;
        }
        due->last_start_ns = now;
        pthread_mutex_unlock(&s->mu);
        int64_t cost = 0;
        int failed = 0;
        int64_t wall = time_now_ms();
        run_group(s, due, &cost, &failed);
        pthread_mutex_lock(&s->mu);
        int64_t iv = due->interval_ms * 1000000;
        /* an interval change during the run already moved next_ns */
        if (due->next_ns <= now) {
            due->next_ns += iv;
            int64_t after = time_mono_ns();
            if (due->next_ns <= after)
                due->next_ns = after + iv;
        }
        due->st.runs++;
        due->st.failures += (uint64_t)failed;
        due->st.last_run_ms = wall;
        due->st.last_cost_ns = cost;
        due->st.last_samples = s->batch.nsamples;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int sched_start(struct sched *s, batch_sink_fn *sink, void *sink_ctx, sched_error_fn *on_error,
                void *err_ctx, struct err *e)
{
    pthread_mutex_lock(&s->mu);
    bool was = s->started;
    s->started = true;
    pthread_mutex_unlock(&s->mu);
    if (was)
        return ERR_INVAL(e, "sched: already started");
    s->sink = sink;
    s->sink_ctx = sink_ctx;
    s->on_error = on_error;
    s->err_ctx = err_ctx;
    int rc = pthread_create(&s->thread, NULL, loop, s);
    if (rc != 0) {
        s->joined = true; /* nothing to join */
        return ERR_SET(e, -rc, "sched: cannot start thread");
    }
    return 0;
}

int sched_set_interval(struct sched *s, const char *name, int64_t interval_ms)
{
    if (interval_ms < SCHED_INTERVAL_MIN_MS)
        return TIDE_EINVAL;
    pthread_mutex_lock(&s->mu);
    struct sched_group *g = find(s, name);
    if (g == NULL) {
        pthread_mutex_unlock(&s->mu);
        return TIDE_ENOTFOUND;
    }
    g->interval_ms = interval_ms;
    g->st.interval_ms = interval_ms;
    if (g->last_start_ns > 0) {
        int64_t now = time_mono_ns();
        g->next_ns = g->last_start_ns + interval_ms * 1000000;
        if (g->next_ns < now)
            g->next_ns = now;
    }
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int sched_stats(struct sched *s, const char *name, struct sched_group_stats *out)
{
    pthread_mutex_lock(&s->mu);
    struct sched_group *g = find(s, name);
    if (g != NULL)
        *out = g->st;
    pthread_mutex_unlock(&s->mu);
    return g ? 0 : TIDE_ENOTFOUND;
}

void sched_stop(struct sched *s)
{
    pthread_mutex_lock(&s->mu);
    bool started = s->started;
    s->stopping = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (started && !s->joined) {
        pthread_join(s->thread, NULL);
        s->joined = true;
    }
}

void sched_free(struct sched *s)
{
    if (s == NULL)
        return;
    sched_stop(s);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    batch_fini(&s->batch);
    free(s->groups);
    free(s);
}
