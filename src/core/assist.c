/* assist.c: a job offered to a second thread, taken back by the caller when
 * that thread is late (assist.h). Below every layer that splits a request's
 * work in two (storage's tier reads, api's answer text).
 *
 * Whoever first moves `state` from OPEN takes the job: the thread when it
 * starts in time, the caller in assist_finish() otherwise. On a loaded
 * machine a new thread may wait several milliseconds for a core; the
 * caller then does the job itself instead of waiting for it, and the
 * thread, when it runs at last, finds the job taken. The thread is
 * detached, so neither side waits for the other to exit: the struct is
 * freed by whichever drops the last of its two references.
 *
 * The thread may run anywhere the caller may, except on the core the caller
 * is on. Left to itself, the scheduler often queues a new thread (or one
 * woken after it blocked) behind its waker on the busy core
 * while the other one idles, until the next tick moves it: up to 4 ms at
 * HZ=250, longer than a chart's whole answer. Seen with `perf sched
 * timehist` on a 2-core VM; pinned away, the thread starts within 0.05 ms.
 */
#include "core/assist.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>

enum { OPEN, BY_THREAD, BY_CALLER };

struct assist {
    assist_fn *fn;   /* immutable */
    void *arg;       /* immutable */
    atomic_int state; /* OPEN, then BY_THREAD or BY_CALLER, once */
    atomic_int refs;  /* the caller's and the thread's (while it exists) */
    sem_t done;       /* posted by the thread once it ran the job */
};

static void unref(struct assist *h)
{
    if (atomic_fetch_sub(&h->refs, 1) == 1) {
        sem_destroy(&h->done);
        free(h);
    }
}

static void *assist_main(void *p)
{
    struct assist *h = p;
    int open = OPEN;
    if (atomic_compare_exchange_strong(&h->state, &open, BY_THREAD)) {
        h->fn(h->arg);
        sem_post(&h->done);
    }
    unref(h);
    return NULL;
}

/* Keep the thread off the caller's core: false when no other core is
 * allowed (then a thread could only take turns with the caller). */
static bool elsewhere(pthread_attr_t *at)
{
    cpu_set_t set;
    int cpu = sched_getcpu();
    if (cpu < 0 || sched_getaffinity(0, sizeof set, &set) != 0)
        return true; /* unknown: let the scheduler place it */
    CPU_CLR(cpu, &set);
    if (CPU_COUNT(&set) == 0)
        return false;
    (void)pthread_attr_setaffinity_np(at, sizeof set, &set);
    return true;
}

int assist_start(struct assist **out, assist_fn *fn, void *arg)
{
    *out = NULL;
    struct assist *h = malloc(sizeof *h);
    if (h == NULL)
        return -ENOMEM;
    h->fn = fn;
    h->arg = arg;
    atomic_init(&h->state, OPEN);
    atomic_init(&h->refs, 2);
    sem_init(&h->done, 0, 0);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    if (!elsewhere(&at) || pthread_create(&th, &at, assist_main, h) != 0)
        atomic_store(&h->refs, 1); /* no thread: assist_finish() runs the job */
    pthread_attr_destroy(&at);
    *out = h;
    return 0;
}

bool assist_take(struct assist *h)
{
    int open = OPEN;
    return atomic_compare_exchange_strong(&h->state, &open, BY_CALLER);
}

void assist_finish(struct assist *h)
{
    int st = OPEN;
    if (atomic_compare_exchange_strong(&h->state, &st, BY_CALLER)) {
        h->fn(h->arg);
    } else if (st == BY_THREAD) {
        while (sem_wait(&h->done) != 0 && errno == EINTR)
            ;
    } /* else taken back by assist_take(): the caller did it its own way */
    unref(h);
}
