/* loop.h: a background thread that runs a function every interval, and the
 * deadline helpers for code that waits on a condition variable with a
 * timeout. Everything runs on CLOCK_MONOTONIC: a wall-clock step (NTP, a
 * suspended VM) neither bunches nor stalls runs.
 *
 * Schedule: the first run comes one interval after loop_start() (call
 * loop_wake() for one at once). Runs then sit on a grid of the interval
 * counted from the previous scheduled time; a run that overran skips the
 * grid points it missed instead of running them back to back. An interval
 * of 0 runs fn again as soon as it returns: for a fn that paces itself
 * (blocks on a queue, sleeps with loop_sleep()).
 *
 * Ownership: struct loop is the caller's memory (zero it or start it; a
 * zeroed, never-started loop may be loop_stop()ped). `name` is borrowed
 * for the life of the loop. `ctx` is the caller's and must outlive
 * loop_stop().
 * Thread: loop_wake(), loop_set_interval(), loop_run_after() and
 * loop_stopping() from any thread, fn included. loop_start() and
 * loop_stop() from the owner's thread only, never from fn (loop_stop()
 * joins the thread). fn runs without any loop lock held.
 */
#ifndef TIDE_CORE_LOOP_H
#define TIDE_CORE_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct loop;

/* One run. `l` is the loop running it (for loop_sleep() and friends). */
typedef void loop_fn(void *ctx, struct loop *l);

struct loop {
    /* Set by loop_start(), then read-only until loop_stop() returns. */
    const char *name;   /* for debuggers: also the thread's name (first 15 bytes) */
    loop_fn *fn;
    void *ctx;
    pthread_t thread;
    bool started;       /* owner's thread only */
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* CLOCK_MONOTONIC; signalled by wake, stop, interval changes */
    /* Everything below only with mu held. */
    int64_t interval_ms;
    int64_t next_ns;    /* monotonic time of the next scheduled run */
    int64_t after_ms;   /* loop_run_after() during a run: next run this far after it; -1 none */
    bool wake;          /* loop_wake() pending: run as soon as possible */
    bool stopping;      /* loop_stop() called: fn does not run again */
};

/* Start a thread running fn(ctx, l) every interval_ms (>= 0; see the top).
 * 0, or -errno (with e) when the thread cannot start; *l is then unusable
 * until started again. */
int loop_start(struct loop *l, const char *name, loop_fn *fn, void *ctx, int64_t interval_ms,
               struct err *e);

/* Run fn as soon as possible: now when the thread is waiting, right after
 * the current run when fn is running. Wakes pending together are one run.
 * Also cuts a loop_sleep() short. Does not move the grid. */
void loop_wake(struct loop *l);

/* Change the interval: the next run comes interval_ms from now, and the
 * grid follows from there. */
void loop_set_interval(struct loop *l, int64_t interval_ms);

/* Once: the next run comes ms after now (called from fn: after fn returns)
 * instead of on the grid; the grid resumes from that run. For a backoff or
 * a job whose next due time is nearer than the interval. */
void loop_run_after(struct loop *l, int64_t ms);

/* True once loop_stop() has been called: a long fn should return soon. */
bool loop_stopping(struct loop *l);

/* From fn: wait ms, or less when loop_wake() or loop_stop() is called (a
 * pending wake cuts it short at once). True when the full time passed. */
bool loop_sleep(struct loop *l, int64_t ms);

/* Ask the thread to stop, wait for a running fn to return, join. Returns
 * at once when the thread is waiting: no sleep to finish. Idempotent;
 * afterwards the loop may be started again. Frees what loop_start() took. */
void loop_stop(struct loop *l);

/* ---- deadlines: waits with a timeout on CLOCK_MONOTONIC ---- */

struct deadline {
    int64_t at_ns; /* monotonic; INT64_MAX = never */
};

#define DEADLINE_NEVER ((struct deadline){INT64_MAX})

/* ms from now (ms < 0 counts as 0). */
struct deadline deadline_after_ms(int64_t ms);
bool deadline_passed(struct deadline d);
/* Milliseconds left, rounded up; 0 when passed. INT64_MAX for never. */
int64_t deadline_left_ms(struct deadline d);

/* Init cv to measure timeouts on CLOCK_MONOTONIC, as deadline_wait()
 * needs. 0 or -errno. */
int deadline_cond_init(pthread_cond_t *cv);

/* With mu held: wait on cv until signalled or d passes. 0 when woken (maybe
 * spuriously: recheck your condition), -ETIMEDOUT when d has passed. */
int deadline_wait(pthread_cond_t *cv, pthread_mutex_t *mu, struct deadline d);

#endif
