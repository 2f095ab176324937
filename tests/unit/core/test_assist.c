/* test_assist.c: a job offered to a second thread (core/assist.c): it runs
 * exactly once, on the thread or on the caller, and is done when
 * assist_finish() returns, whether the caller finishes at once, after the
 * thread has surely started, or takes the job back with assist_take() (the
 * thread then never runs it). ASan checks the struct is freed by the last
 * side, the thread having run or not. The thread never shares the
 * caller's core: it may use every core the caller may but the one the
 * caller was on, and with a single core allowed there is no thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "core/assist.h"

struct job {
    atomic_int runs;
    pthread_t by;
    cpu_set_t allowed; /* where the thread that ran it may run */
    int work[64];
};

static void job_main(void *arg)
{
    struct job *j = arg;
    for (int i = 0; i < 64; i++)
        j->work[i] = i * i;
    j->by = pthread_self();
    (void)sched_getaffinity(0, sizeof j->allowed, &j->allowed);
    atomic_fetch_add(&j->runs, 1);
}

static void nap_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

static void test_runs_once(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        long wait_us; /* before finishing */
        bool take;    /* assist_take() first */
    } cases[] = {
        {"finish at once", 0, false},
        {"finish after the thread started", 20000, false},
        {"take back at once", 0, true},
        {"take back late", 20000, true},
    };
    int by_thread = 0, by_caller = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int round = 0; round < 50; round++) {
            struct job j = {0};
            struct assist *h;
            assert_int_equal(assist_start(&h, job_main, &j), 0);
            assert_non_null(h);
            if (cases[c].wait_us)
                nap_us(cases[c].wait_us);
            bool took = cases[c].take && assist_take(h);
            if (took)
                job_main(&j); /* the caller's own way */
            assist_finish(h);
            if (atomic_load(&j.runs) != 1)
                fail_msg("%s, round %d: ran %d times", cases[c].name, round,
                         atomic_load(&j.runs));
            for (int i = 0; i < 64; i++)
                assert_int_equal(j.work[i], i * i);
            if (pthread_equal(j.by, pthread_self()))
                by_caller++;
            else
                by_thread++;
            /* A thread that started late must not run a job taken back. */
            if (took) {
                nap_us(1000);
                assert_int_equal(atomic_load(&j.runs), 1);
            }
        }
    }
    /* After 20 ms the thread has nearly always taken the job. */
    assert_true(by_thread > 0);
    assert_true(by_caller > 0);
    nap_us(100000); /* late threads exit before the leak check */
}

/* Offer j, give the thread 20 ms to take it, finish. */
static void run_job(struct job *j)
{
    struct assist *h;
    assert_int_equal(assist_start(&h, job_main, j), 0);
    nap_us(20000);
    assist_finish(h);
    assert_int_equal(atomic_load(&j->runs), 1);
}

static void test_thread_keeps_off_the_callers_core(void **state)
{
    (void)state;
    cpu_set_t mine;
    assert_int_equal(sched_getaffinity(0, sizeof mine, &mine), 0);
    if (CPU_COUNT(&mine) >= 2) {
        int threads = 0;
        for (int round = 0; round < 20; round++) {
            struct job j = {0};
            run_job(&j);
            if (pthread_equal(j.by, pthread_self()))
                continue; /* the thread was late */
            threads++;
            /* All the caller's cores but one: the one it was on. */
            cpu_set_t both;
            CPU_AND(&both, &j.allowed, &mine);
            assert_true(CPU_EQUAL(&both, &j.allowed));
            assert_int_equal(CPU_COUNT(&j.allowed), CPU_COUNT(&mine) - 1);
        }
        assert_true(threads > 0);
    }
    /* Held to one core, the caller does every job itself. */
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    for (int round = 0; round < 10; round++) {
        struct job j = {0};
        run_job(&j);
        assert_true(pthread_equal(j.by, pthread_self()));
    }
    assert_int_equal(sched_setaffinity(0, sizeof mine, &mine), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_once),
        cmocka_unit_test(test_thread_keeps_off_the_callers_core),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
