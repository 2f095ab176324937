/* test_host.c: the host collector's frame (collect/host.c) on the real
 * machine: every group collects without error, every series is well formed,
 * a repeated collection keeps its buffers, and the targets manager drives it. The
 * CPU cost of one collection of all groups is printed (not asserted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <time.h>

#include "collect/targets.h"
#include "core/time.h"
#include "host_test.h"

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_all_groups(void **state)
{
    struct host_opts o;
    host_opts_init(&o);
    o.job = "node";
    struct host_collector *h = NULL;
    struct err e = {0};
    assert_int_equal(host_collector_new(&o, &h, &e), 0);
    struct batch b;
    batch_init(&b);
    size_t first = 0;
    for (int round = 0; round < 3; round++) {
        batch_reset(&b);
        for (int g = 0; g < HOST_NGROUPS; g++) {
            err_clear(&e);
            int rc = host_collect_group(h, (enum host_group)g, time_now_ms(), &b, &e);
            if (rc != 0)
                fail_msg("group %s: %d %s", host_group_name((enum host_group)g), rc, e.msg);
        }
        if (round == 0)
            first = b.nseries;
    }
    assert_true(b.nseries > 50);
    /* processes come and go between rounds, and the first round has no
     * top-process series (4 metrics per group); the rest is stable */
    size_t slack = 4 * HOST_TOP_N_DEFAULT + 10;
    assert_true(b.nseries + slack > first && first + slack > b.nseries);
    for (size_t i = 0; i < b.nseries; i++) {
        const struct batch_series *s = &b.series[i];
        const struct label *l = b.labels + s->label_off;
        assert_true(labels_valid_metric_name(labels_get(l, s->nlabels, STRV_LIT("__name__"))));
        for (size_t k = 0; k < s->nlabels; k++)
            assert_true(labels_valid_label_name(l[k].name));
        assert_true(series_has(&b, i, "job", "node"));
        assert_int_equal(s->nsamples, 1);
    }

    /* the cost of one collection of every group, steady state */
    enum { ROUNDS = 50 };
    int64_t per[HOST_NGROUPS] = {0}, t0 = cpu_ns();
    for (int r = 0; r < ROUNDS; r++) {
        batch_reset(&b);
        for (int g = 0; g < HOST_NGROUPS; g++) {
            int64_t g0 = cpu_ns();
            host_collect_group(h, (enum host_group)g, time_now_ms(), &b, NULL);
            per[g] += cpu_ns() - g0;
        }
    }
    int64_t total = cpu_ns() - t0;
    print_message("host: %zu series; one collection of all groups: %lld us CPU (", b.nseries,
                  (long long)(total / ROUNDS / 1000));
    for (int g = 0; g < HOST_NGROUPS; g++)
        print_message("%s %lld%s", host_group_name((enum host_group)g),
                      (long long)(per[g] / ROUNDS / 1000), g + 1 < HOST_NGROUPS ? ", " : " us)\n");
    batch_fini(&b);
    host_collector_free(h);
}

static atomic_int got;

static int sink(void *ctx, struct batch *b, struct err *e)
{
    atomic_fetch_add(&got, (int)b->nseries);
    return 0;
}

static void test_with_targets(void **state)
{
    struct host_opts o;
    host_opts_init(&o);
    o.interval_ms[HOST_PROC] = -1; /* disabled */
    struct host_collector *h = NULL;
    struct targets *m = NULL;
    assert_int_equal(host_collector_new(&o, &h, NULL), 0);
    assert_int_equal(host_group_interval_ms(h, HOST_CPU), HOST_INTERVAL_DEFAULT_MS);
    assert_true(host_group_interval_ms(h, HOST_PROC) < 0);
    struct targets_opts to = {.sink = sink};
    assert_int_equal(targets_new(&m, &to), 0);
    assert_int_equal(host_targets_add(h, m, NULL), 0);
    struct target_status st;
    assert_int_equal(targets_get(m, "host", "host/cpu", &st), 0);
    assert_string_equal(st.module, "cpu");
    assert_int_equal(targets_get(m, "host", "host/proc", &st), TIDE_ENOTFOUND);
    assert_int_equal(targets_get(m, "host", "host/service", &st), TIDE_ENOTFOUND); /* none */
    assert_int_equal(targets_start(m, NULL), 0);
    int64_t until = time_mono_ns() + 10000000000LL;
    while (atomic_load(&got) < 50 && time_mono_ns() < until) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    targets_free(m);
    assert_true(atomic_load(&got) >= 50);
    host_collector_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_groups),
        cmocka_unit_test(test_with_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
