/* http_pool.h: a small pool of threads that runs slow handlers (PromQL
 * evaluation) away from the HTTP worker threads (http_pool.c).
 *
 * http.c suspends the libmicrohttpd connection, submits a job and returns
 * the worker to other connections (health checks, writes); a pool thread
 * runs the handler and resumes the connection. Jobs run in the order
 * submitted; the thread idle the shortest takes the next job.
 *
 * Ownership: the pool never frees `arg`; each job's `fn` is called exactly
 * once, with `cancelled` true when the pool stopped before running it.
 * Thread: submit is thread-safe; new/stop/free are called by one thread.
 */
#ifndef TIDE_API_HTTP_POOL_H
#define TIDE_API_HTTP_POOL_H

#include <stdbool.h>

typedef void http_pool_fn(void *arg, bool cancelled);

struct http_pool;

/* 0, -ENOMEM or -errno from pthread_create (then *out is NULL). */
int http_pool_new(struct http_pool **out, unsigned threads);
/* Queue fn(arg, false). TIDE_ECLOSED once stopping (fn is not called). */
int http_pool_submit(struct http_pool *p, http_pool_fn *fn, void *arg);
/* Threads parked with nothing to do (a moment's view, for tests and
 * status). */
unsigned http_pool_idle(struct http_pool *p);
/* Refuse new jobs, call fn(arg, true) for the queued ones, wait for the
 * running ones, join the threads. */
void http_pool_stop(struct http_pool *p);
void http_pool_free(struct http_pool *p);

#endif
