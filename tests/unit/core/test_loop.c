/* test_loop.c: core/loop.c. Runs come on the interval and not bunched after
 * an overrun; loop_wake() runs at once (pending wakes merge into one run);
 * loop_set_interval() and loop_run_after() reschedule; loop_stop() returns
 * promptly from a one-hour wait and from loop_sleep(); the deadline helpers.
 * Time bounds are generous lower bounds or 10-second ceilings, never tight:
 * the machine may be loaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdatomic.h>
#include <time.h>

#include "core/loop.h"
#include "core/time.h"

#define HOUR_MS (3600 * 1000LL)
#define SEC_NS 1000000000LL

struct counter {
    atomic_int runs;
    atomic_llong first_ns, last_ns;
    int64_t slow_first_ms;    /* first run sleeps this long */
    int64_t run_after_ms;     /* first run asks for the next one this soon; 0 = no */
    int64_t sleep_ms;         /* each run loop_sleep()s this long */
    atomic_int sleeps_cut;    /* loop_sleep() returned false */
};

static void count(void *ctx, struct loop *l)
{
    struct counter *c = ctx;
    int n = atomic_fetch_add(&c->runs, 1) + 1;
    atomic_store(&c->last_ns, time_mono_ns());
    if (n == 1) {
        atomic_store(&c->first_ns, time_mono_ns());
        if (c->slow_first_ms > 0) {
            struct timespec ts = {c->slow_first_ms / 1000, (c->slow_first_ms % 1000) * 1000000};
            nanosleep(&ts, NULL);
        }
        if (c->run_after_ms > 0)
            loop_run_after(l, c->run_after_ms);
    }
    if (c->sleep_ms > 0 && !loop_sleep(l, c->sleep_ms))
        atomic_fetch_add(&c->sleeps_cut, 1);
}

/* Wait until c->runs >= n, at most 10 s; the runs seen. */
static int wait_runs(struct counter *c, int n)
{
    int64_t until = time_mono_ns() + 10 * SEC_NS;
    while (atomic_load(&c->runs) < n && time_mono_ns() < until) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&c->runs);
}

static void pause_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void test_interval(void **state)
{
    struct counter c = {0};
    struct loop l = {0};
    int64_t t0 = time_mono_ns();
    assert_int_equal(loop_start(&l, "t-interval", count, &c, 50, NULL), 0);
    assert_true(wait_runs(&c, 5) >= 5);
    /* Five runs on a 50 ms grid starting one interval in: >= 250 ms. */
    assert_true(atomic_load(&c.first_ns) - t0 >= 50 * 1000000LL);
    assert_true(atomic_load(&c.last_ns) - t0 >= 250 * 1000000LL);
    loop_stop(&l);
    int after = atomic_load(&c.runs);
    pause_ms(120);
    assert_int_equal(atomic_load(&c.runs), after); /* nothing runs after stop */
}

static void test_overrun_skips(void **state)
{
    /* Interval 1 s; the first run takes 3.5 s. Missed points are skipped:
     * the second run comes at the next grid point, and a third not before
     * another second (bunching would run them back to back). */
    struct counter c = {.slow_first_ms = 3500};
    struct loop l = {0};
    assert_int_equal(loop_start(&l, "t-skip", count, &c, 1000, NULL), 0);
    loop_wake(&l);
    assert_true(wait_runs(&c, 2) >= 2);
    pause_ms(50);
    assert_int_equal(atomic_load(&c.runs), 2);
    loop_stop(&l);
}

static void test_wake(void **state)
{
    struct counter c = {0};
    struct loop l = {0};
    assert_int_equal(loop_start(&l, "t-wake", count, &c, HOUR_MS, NULL), 0);
    loop_wake(&l);
    assert_int_equal(wait_runs(&c, 1), 1);
    loop_stop(&l);

    /* Wakes during a run: one more run right after it, not one per wake. */
    struct counter d = {.slow_first_ms = 300};
    assert_int_equal(loop_start(&l, "t-wake2", count, &d, HOUR_MS, NULL), 0);
    loop_wake(&l);
    assert_int_equal(wait_runs(&d, 1), 1);
    loop_wake(&l);
    loop_wake(&l);
    loop_wake(&l);
    assert_int_equal(wait_runs(&d, 2), 2);
    pause_ms(100);
    assert_int_equal(atomic_load(&d.runs), 2);
    loop_stop(&l);
}

static void test_stop_is_prompt(void **state)
{
    /* Waiting an hour for the next run. */
    struct counter c = {0};
    struct loop l = {0};
    assert_int_equal(loop_start(&l, "t-stop", count, &c, HOUR_MS, NULL), 0);
    pause_ms(20);
    int64_t t0 = time_mono_ns();
    loop_stop(&l);
    assert_true(time_mono_ns() - t0 < 5 * SEC_NS);
    assert_int_equal(atomic_load(&c.runs), 0);
    loop_stop(&l); /* idempotent */

    /* Inside fn, in an hour-long loop_sleep(). */
    struct counter d = {.sleep_ms = HOUR_MS};
    assert_int_equal(loop_start(&l, "t-stop2", count, &d, 0, NULL), 0);
    assert_int_equal(wait_runs(&d, 1), 1);
    pause_ms(20);
    t0 = time_mono_ns();
    loop_stop(&l);
    assert_true(time_mono_ns() - t0 < 5 * SEC_NS);
    assert_int_equal(atomic_load(&d.sleeps_cut), 1);

    struct loop never = {0};
    loop_stop(&never); /* a zeroed loop that never started */
}

static void test_set_interval_and_run_after(void **state)
{
    struct counter c = {0};
    struct loop l = {0};
    assert_int_equal(loop_start(&l, "t-setiv", count, &c, HOUR_MS, NULL), 0);
    loop_set_interval(&l, 20);
    assert_true(wait_runs(&c, 3) >= 3);
    loop_stop(&l);

    struct counter d = {.run_after_ms = 30};
    assert_int_equal(loop_start(&l, "t-after", count, &d, HOUR_MS, NULL), 0);
    loop_wake(&l);
    assert_int_equal(wait_runs(&d, 2), 2); /* the hour grid would never get there */
    loop_stop(&l);

    assert_int_equal(loop_start(&l, "t-bad", count, &d, -1, NULL), TIDE_EINVAL);
}

static void test_deadline(void **state)
{
    assert_true(deadline_passed(deadline_after_ms(0)));
    assert_true(deadline_passed(deadline_after_ms(-5)));
    struct deadline d = deadline_after_ms(10000);
    assert_false(deadline_passed(d));
    int64_t left = deadline_left_ms(d);
    assert_true(left > 5000 && left <= 10000);
    assert_false(deadline_passed(DEADLINE_NEVER));
    assert_int_equal(deadline_left_ms(DEADLINE_NEVER), INT64_MAX);
    assert_int_equal(deadline_after_ms(INT64_MAX).at_ns, INT64_MAX);

    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv;
    assert_int_equal(deadline_cond_init(&cv), 0);
    pthread_mutex_lock(&mu);
    int64_t t0 = time_mono_ns();
    struct deadline soon = deadline_after_ms(50);
    int rc;
    do
        rc = deadline_wait(&cv, &mu, soon);
    while (rc == 0);
    assert_int_equal(rc, -ETIMEDOUT);
    assert_true(time_mono_ns() - t0 >= 50 * 1000000LL);
    assert_int_equal(deadline_left_ms(soon), 0);
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&cv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval),
        cmocka_unit_test(test_overrun_skips),
        cmocka_unit_test(test_wake),
        cmocka_unit_test(test_stop_is_prompt),
        cmocka_unit_test(test_set_interval_and_run_after),
        cmocka_unit_test(test_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
