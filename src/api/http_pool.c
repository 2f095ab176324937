/* http_pool.c: the thread pool of http_pool.h: a FIFO of jobs under one
 * mutex, N threads taking from its head. */
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

struct http_pool {
    pthread_mutex_t mu;   /* guards everything below */
    pthread_cond_t work;  /* a job was queued, or stopping */
    struct job *head, *tail;
    bool stopping;
    unsigned nthreads;    /* started */
    pthread_t *threads;
};

static void *pool_main(void *cls)
{
    struct http_pool *p = cls;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->work, &p->mu);
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
    pthread_cond_init(&p->work, NULL);
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
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void http_pool_stop(struct http_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
}

void http_pool_free(struct http_pool *p)
{
    if (p == NULL)
        return;
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}
