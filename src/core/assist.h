/* assist.h: a job a second thread may take on while the caller does its own
 * part, and that the caller does itself when that thread has not started it
 * by the time the caller needs it (assist.c). Used where one request's work
 * splits in two (a long query's tier reads, its answer's text): on an idle
 * second core the halves run at once; on a machine whose cores are busy the
 * caller never waits for a thread that did not get one.
 */
#ifndef TIDE_CORE_ASSIST_H
#define TIDE_CORE_ASSIST_H

#include <stdbool.h>

struct assist;

typedef void assist_fn(void *arg);

/* Offer fn(arg) to a new (detached) thread, which may run on any core the
 * caller may but the one it is on (with no other core, there is no thread).
 * *out is set even when no thread could start (then assist_finish() runs
 * the job). fn and arg must stay valid until assist_finish() returns; the
 * thread touches them only if it takes the job. 0, or -ENOMEM with *out
 * NULL (then run fn yourself). */
int assist_start(struct assist **out, assist_fn *fn, void *arg);

/* Take the job back unless the thread has begun it: true when the caller
 * now owns it (and may do it some other way; the thread will not touch it),
 * false when the thread has it. Call assist_finish() after, either way. */
bool assist_take(struct assist *h);

/* Run the job here unless the thread has taken it (or assist_take() took
 * it back), else wait until the thread is done with it; h is freed (the
 * thread, if it has not run yet, finds the job taken and exits on its
 * own). */
void assist_finish(struct assist *h);

#endif
