/* test_sched.c: the collection scheduler (collect/sched.c): runs at start,
 * an interval change taking effect at once, partial failures reported and
 * delivered, a prompt stop, and the misuse it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "collect/sched.h"
#include "core/time.h"

struct counter {
    atomic_int runs;
    int fail; /* return an error after emitting */
};

static int collect(void *ctx, int64_t now_ms, struct batch *out, struct err *e)
{
    struct counter *c = ctx;
    atomic_fetch_add(&c->runs, 1);
    batch_begin_series(out);
    batch_add_label(out, STRV_LIT("__name__"), STRV_LIT("x"));
    batch_add_sample(out, now_ms, 1);
    batch_end_series(out);
    if (c->fail)
        return ERR_SET(e, -ENOENT, "test: missing");
    return 0;
}

static atomic_int delivered, errors;

static int sink(void *ctx, struct batch *b, struct err *e)
{
    atomic_fetch_add(&delivered, (int)b->nseries);
    return 0;
}

static void on_error(void *ctx, const char *group, int code, const struct err *e)
{
    if (strcmp(group, "bad") == 0 && code == -ENOENT && strstr(e->msg, "missing"))
        atomic_fetch_add(&errors, 1);
}

static void wait_for(atomic_int *v, int at_least)
{
    int64_t until = time_mono_ns() + 10 * 1000000000LL;
    while (atomic_load(v) < at_least && time_mono_ns() < until) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
}

static void test_sched(void **state)
{
    struct sched *s = NULL;
    struct err e = {0};
    assert_int_equal(sched_new(&s), 0);
    struct counter slow = {0}, bad = {.fail = 1};
    assert_int_equal(sched_add(s, "slow", 3600 * 1000, collect, &slow, &e), 0);
    assert_int_equal(sched_add(s, "bad", 3600 * 1000, collect, &bad, &e), 0);
    assert_int_equal(sched_add(s, "slow", 1000, collect, &slow, &e), TIDE_EINVAL);
    assert_int_equal(sched_add(s, "tiny", 1, collect, &slow, &e), TIDE_EINVAL);
    assert_int_equal(sched_start(s, sink, NULL, on_error, NULL, &e), 0);
    assert_int_equal(sched_start(s, sink, NULL, on_error, NULL, &e), TIDE_EINVAL);
    assert_int_equal(sched_add(s, "late", 1000, collect, &slow, &e), TIDE_EINVAL);

    /* both run at start; the failing one is reported and still delivered */
    wait_for(&slow.runs, 1);
    wait_for(&errors, 1);
    wait_for(&delivered, 2);
    assert_int_equal(atomic_load(&errors), 1);
    assert_true(atomic_load(&delivered) >= 2);

    /* an hour's interval cut to 100 ms is seen now, not in an hour */
    assert_int_equal(sched_set_interval(s, "slow", 100), 0);
    wait_for(&slow.runs, 4);
    assert_true(atomic_load(&slow.runs) >= 4);
    struct sched_group_stats st;
    assert_int_equal(sched_stats(s, "slow", &st), 0);
    assert_int_equal(st.interval_ms, 100);
    assert_true(st.runs >= 3);
    assert_int_equal(st.last_samples, 1);
    assert_int_equal(sched_stats(s, "bad", &st), 0);
    assert_int_equal(st.failures, st.runs);
    assert_int_equal(sched_set_interval(s, "nope", 1000), TIDE_ENOTFOUND);
    assert_int_equal(sched_set_interval(s, "slow", 5), TIDE_EINVAL);

    /* back to an hour: stop must not wait for it */
    assert_int_equal(sched_set_interval(s, "slow", 3600 * 1000), 0);
    int64_t t0 = time_mono_ns();
    sched_stop(s);
    sched_stop(s);
    assert_true(time_mono_ns() - t0 < 2000000000LL);
    sched_free(s);
}

static void test_free_unstarted(void **state)
{
    struct sched *s = NULL;
    assert_int_equal(sched_new(&s), 0);
    sched_free(s);
    sched_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sched),
        cmocka_unit_test(test_free_unstarted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
