/* http_pool.c: the thread pool of http_pool.h: a FIFO of jobs under one
 * mutex, N threads taking from its head.
 *
 * An idle thread parks on a stack and a new job wakes the one parked last:
 * the thread that ran the previous query runs the next. Each thread
 * allocates from its own glibc arena, so a round robin over N threads made
 * every big query fault its memory in afresh until all N arenas had grown
 * (a year-sized chart, 18 MB of answer: 5 000-8 000 page faults and about
 * twice the time for the first ten runs); the last thread parked also has
 * the warmest caches. A busy pool is unchanged: a thread that finishes a
 * job takes the next queued one before it parks. */
#include "api/http_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/err.h"

struct job {
    http_pool_fn *fn;
    void *arg;
    struct job *next;
};

/* A parked thread, on its own stack while it waits. */
struct idle {
    pthread_cond_t wake;
    bool woken;        /* popped by a submit or the stop: wait no more */
    struct idle *next; /* parked before this one */
};

struct http_pool {
    pthread_mutex_t mu;   /* guards everything below */
    struct job *head, *tail;
    struct idle *idle;    /* parked threads, the last parked first */
    bool stopping;
    unsigned nthreads;    /* started */
    pthread_t *threads;
};

/* Wake the thread parked last, if any. Caller holds mu. */
static void wake_one(struct http_pool *p)
{
    struct idle *t = p->idle;
    if (t == NULL)
        return;
    p->idle = t->next;
    t->woken = true;
    pthread_cond_signal(&t->wake);
}

static void *pool_main(void *cls)
{
    struct http_pool *p = cls;
    struct idle self;
    pthread_cond_init(&self.wake, NULL);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->head == NULL && !p->stopping) {
            self.woken = false;
            self.next = p->idle;
            p->idle = &self;
            while (!self.woken)
                pthread_cond_wait(&self.wake, &p->mu);
            continue;
        }
        struct job *j = p->head;
        if (j == NULL)
            break; /* stopping and drained */
        p->head = j->next;
        if (p->head == NULL)
            p->tail = NULL;
        bool cancelled = p->stopping;
        pthread_mutex_unlock(&p->mu);
        j->fn(j->arg, cancelled);
        free(j);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    pthread_cond_destroy(&self.wake);
    return NULL;
}

int http_pool_new(struct http_pool **out, unsigned threads)
{
    *out = NULL;
    struct http_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    p->threads = calloc(threads ? threads : 1, sizeof *p->threads);
    if (p->threads == NULL) {
        free(p);
        return -ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    for (unsigned i = 0; i < (threads ? threads : 1); i++) {
        int rc = pthread_create(&p->threads[i], NULL, pool_main, p);
        if (rc != 0) {
            http_pool_stop(p);
            http_pool_free(p);
            return -rc;
        }
        p->nthreads++;
    }
    *out = p;
    return 0;
}

int http_pool_submit(struct http_pool *p, http_pool_fn *fn, void *arg)
{
    struct job *j = malloc(sizeof *j);
    if (j == NULL)
        return -ENOMEM;
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        free(j);
        return TIDE_ECLOSED;
    }
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    wake_one(p);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

unsigned http_pool_idle(struct http_pool *p)
{
    unsigned n = 0;
    pthread_mutex_lock(&p->mu);
    for (const struct idle *t = p->idle; t != NULL; t = t->next)
        n++;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void http_pool_stop(struct http_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    while (p->idle != NULL)
        wake_one(p);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
}

void http_pool_free(struct http_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}
