/* loop.c: the interval thread and the monotonic deadline waits (contract
 * in loop.h), used by storage's background jobs and the remote-write
 * sender, and next by the collector scheduler and the agent's threads.
 *
 * The thread sleeps on one condition variable until the next scheduled
 * time, a wake or a stop, so loop_stop() never waits for a sleep to end,
 * only for a running fn to return. The schedule is a grid (next += interval)
 * rather than "interval after the last run ended", so a slow run does not
 * drift every later one; a run that overran a grid point skips it.
 * Invariant: fn runs on the loop's thread only, never with mu held, and
 * never again once `stopping` is set.
 */
#include "core/loop.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/time.h"

#define NS_PER_MS 1000000LL

/* ---- deadlines ---- */

struct deadline deadline_after_ms(int64_t ms)
{
    int64_t now = time_mono_ns();
    if (ms < 0)
        ms = 0;
    if (ms > (INT64_MAX - 1 - now) / NS_PER_MS)
        return DEADLINE_NEVER;
    return (struct deadline){now + ms * NS_PER_MS};
}

bool deadline_passed(struct deadline d)
{
    return d.at_ns != INT64_MAX && time_mono_ns() >= d.at_ns;
}

int64_t deadline_left_ms(struct deadline d)
{
    if (d.at_ns == INT64_MAX)
        return INT64_MAX;
    int64_t left = d.at_ns - time_mono_ns();
    return left <= 0 ? 0 : (left + NS_PER_MS - 1) / NS_PER_MS;
}

int deadline_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc != 0)
        return -rc;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return -rc;
}

int deadline_wait(pthread_cond_t *cv, pthread_mutex_t *mu, struct deadline d)
{
    if (d.at_ns == INT64_MAX) {
        pthread_cond_wait(cv, mu);
        return 0;
    }
    if (time_mono_ns() >= d.at_ns)
        return -ETIMEDOUT;
    struct timespec ts = {.tv_sec = d.at_ns / 1000000000LL, .tv_nsec = d.at_ns % 1000000000LL};
    return pthread_cond_timedwait(cv, mu, &ts) == ETIMEDOUT ? -ETIMEDOUT : 0;
}

/* ---- the loop ---- */

/* With mu held, after a run that ended at `now`: when the next one comes. */
static void schedule_next(struct loop *l, int64_t now)
{
    if (l->after_ms >= 0) {
        l->next_ns = now + l->after_ms * NS_PER_MS;
        l->after_ms = -1;
        return;
    }
    if (l->interval_ms == 0) {
        l->next_ns = now;
        return;
    }
    if (l->next_ns > now)
        return; /* a woken run before its grid point, or a new interval: keep */
    int64_t iv = l->interval_ms * NS_PER_MS;
    l->next_ns += ((now - l->next_ns) / iv + 1) * iv; /* skip the missed points */
}

static void *run(void *arg)
{
    struct loop *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->stopping && !l->wake && time_mono_ns() < l->next_ns)
            deadline_wait(&l->cv, &l->mu, (struct deadline){l->next_ns});
        if (l->stopping)
            break;
        l->wake = false;
        l->after_ms = -1;
        pthread_mutex_unlock(&l->mu);
        l->fn(l->ctx, l);
        pthread_mutex_lock(&l->mu);
        schedule_next(l, time_mono_ns());
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int loop_start(struct loop *l, const char *name, loop_fn *fn, void *ctx, int64_t interval_ms,
               struct err *e)
{
    if (l->started)
        return ERR_INVAL(e, "loop %s: already started", name);
    if (interval_ms < 0)
        return ERR_INVAL(e, "loop %s: negative interval", name);
    memset(l, 0, sizeof *l);
    l->name = name;
    l->fn = fn;
    l->ctx = ctx;
    l->interval_ms = interval_ms;
    l->next_ns = time_mono_ns() + interval_ms * NS_PER_MS;
    l->after_ms = -1;
    int rc = -pthread_mutex_init(&l->mu, NULL);
    if (rc != 0)
        return ERR_SET(e, rc, "loop %s: %s", name, strerror(-rc));
    rc = deadline_cond_init(&l->cv);
    if (rc != 0) {
        pthread_mutex_destroy(&l->mu);
        return ERR_SET(e, rc, "loop %s: %s", name, strerror(-rc));
    }
    rc = -pthread_create(&l->thread, NULL, run, l);
    if (rc != 0) {
        pthread_cond_destroy(&l->cv);
        pthread_mutex_destroy(&l->mu);
        return ERR_SET(e, rc, "loop %s: cannot start a thread: %s", name, strerror(-rc));
    }
    char tname[16];
    snprintf(tname, sizeof tname, "%s", name);
    pthread_setname_np(l->thread, tname);
    l->started = true;
    return 0;
}

void loop_wake(struct loop *l)
{
    pthread_mutex_lock(&l->mu);
    l->wake = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void loop_set_interval(struct loop *l, int64_t interval_ms)
{
    if (interval_ms < 0)
        interval_ms = 0;
    pthread_mutex_lock(&l->mu);
    l->interval_ms = interval_ms;
    l->next_ns = time_mono_ns() + interval_ms * NS_PER_MS;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void loop_run_after(struct loop *l, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    pthread_mutex_lock(&l->mu);
    l->after_ms = ms;                               /* when called during a run */
    l->next_ns = time_mono_ns() + ms * NS_PER_MS;   /* when called while waiting */
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

bool loop_stopping(struct loop *l)
{
    pthread_mutex_lock(&l->mu);
    bool stopping = l->stopping;
    pthread_mutex_unlock(&l->mu);
    return stopping;
}

bool loop_sleep(struct loop *l, int64_t ms)
{
    struct deadline d = deadline_after_ms(ms);
    pthread_mutex_lock(&l->mu);
    bool full = false;
    while (!l->stopping && !l->wake) {
        if (deadline_wait(&l->cv, &l->mu, d) == -ETIMEDOUT) {
            full = true;
            break;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return full;
}

void loop_stop(struct loop *l)
{
    if (!l->started)
        return;
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    l->started = false;
}
