/* test_http_pool.c: the query thread pool (api/http_pool.c). Jobs submitted
 * one after another, each once the pool is idle again, all run on the same
 * thread (the one parked last), so a query reuses the memory and caches
 * of the previous one; jobs that wait for each other run on as many
 * threads at once; stopping runs the queued jobs with `cancelled` and
 * refuses new ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>

#include "api/http_pool.h"
#include "core/err.h"

static void nap_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait (at most 10 s) until n threads of p are parked. */
static void wait_idle(struct http_pool *p, unsigned n)
{
    for (int i = 0; i < 10000 && http_pool_idle(p) != n; i++)
        nap_ms(1);
    assert_int_equal(http_pool_idle(p), n);
}

struct rec {
    pthread_t by;
    bool cancelled;
    atomic_int runs;
    sem_t done;
};

static void record(void *arg, bool cancelled)
{
    struct rec *r = arg;
    r->by = pthread_self();
    r->cancelled = cancelled;
    atomic_fetch_add(&r->runs, 1);
    sem_post(&r->done);
}

static void test_sequential_jobs_reuse_one_thread(void **state)
{
    (void)state;
    struct http_pool *p;
    assert_int_equal(http_pool_new(&p, 8), 0);
    wait_idle(p, 8);
    pthread_t first = 0;
    for (int i = 0; i < 30; i++) {
        struct rec r = {0};
        sem_init(&r.done, 0, 0);
        assert_int_equal(http_pool_submit(p, record, &r), 0);
        sem_wait(&r.done);
        wait_idle(p, 8);
        assert_int_equal(atomic_load(&r.runs), 1);
        assert_false(r.cancelled);
        if (i == 0)
            first = r.by;
        assert_true(pthread_equal(r.by, first));
        sem_destroy(&r.done);
    }
    http_pool_stop(p);
    http_pool_free(p);
}

/* Jobs that each wait until all have started: they need a thread each. */
struct meet {
    atomic_int started;
    int n;
    pthread_t by[4];
    sem_t done;
};

static void meet_job(void *arg, bool cancelled)
{
    struct meet *m = arg;
    int me = atomic_fetch_add(&m->started, 1);
    m->by[me] = pthread_self();
    for (int i = 0; i < 10000 && atomic_load(&m->started) < m->n; i++)
        nap_ms(1);
    (void)cancelled;
    sem_post(&m->done);
}

static void test_concurrent_jobs_get_a_thread_each(void **state)
{
    (void)state;
    struct http_pool *p;
    assert_int_equal(http_pool_new(&p, 4), 0);
    struct meet m = {.n = 4};
    sem_init(&m.done, 0, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(http_pool_submit(p, meet_job, &m), 0);
    for (int i = 0; i < 4; i++)
        sem_wait(&m.done);
    assert_int_equal(atomic_load(&m.started), 4);
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < i; k++)
            assert_false(pthread_equal(m.by[i], m.by[k]));
    sem_destroy(&m.done);
    http_pool_stop(p);
    http_pool_free(p);
}

/* A job that holds the pool's only thread until released. */
struct hold {
    sem_t started, release;
};

static void hold_job(void *arg, bool cancelled)
{
    struct hold *h = arg;
    (void)cancelled;
    sem_post(&h->started);
    sem_wait(&h->release);
}

static void *stopper(void *arg)
{
    http_pool_stop(arg);
    return NULL;
}

/* Calls of count_job, and of them with `cancelled`. */
struct tally {
    atomic_int calls, cancelled;
};

static void count_job(void *arg, bool cancelled)
{
    struct tally *t = arg;
    atomic_fetch_add(&t->calls, 1);
    if (cancelled)
        atomic_fetch_add(&t->cancelled, 1);
}

static void test_stop_cancels_queued_jobs(void **state)
{
    (void)state;
    struct http_pool *p;
    assert_int_equal(http_pool_new(&p, 1), 0);
    struct hold h;
    sem_init(&h.started, 0, 0);
    sem_init(&h.release, 0, 0);
    assert_int_equal(http_pool_submit(p, hold_job, &h), 0);
    sem_wait(&h.started);
    struct tally t = {0};
    int accepted = 0;
    assert_int_equal(http_pool_submit(p, count_job, &t), 0);
    accepted++;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stopper, p), 0);
    /* Submit until the pool refuses: it is stopping, its thread still held. */
    int rc = 0;
    for (int i = 0; i < 10000 && rc == 0; i++) {
        if ((rc = http_pool_submit(p, count_job, &t)) == 0) {
            accepted++;
            nap_ms(1);
        }
    }
    assert_int_equal(rc, TIDE_ECLOSED);
    assert_int_equal(atomic_load(&t.calls), 0);
    sem_post(&h.release);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(atomic_load(&t.calls), accepted);
    assert_int_equal(atomic_load(&t.cancelled), accepted);
    http_pool_free(p);
    sem_destroy(&h.started);
    sem_destroy(&h.release);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequential_jobs_reuse_one_thread),
        cmocka_unit_test(test_concurrent_jobs_get_a_thread_each),
        cmocka_unit_test(test_stop_cancels_queued_jobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
