/* test_live_lease.c: display-rate leases (api/live_lease.c): a lease is in
 * force only while renewed, only when faster than a known storage interval
 * (the commit stage's split one storage interval longer);
 * the fastest of several screens wins and the next one takes over when it
 * lapses; bad input and the table's bounds; the local host collector's
 * lease handed to the targets manager (collect/targets.h) for the groups at
 * the storage interval only, lapsing there too. Times are given, not
 * waited for, except the one check that the manager lets a lease lapse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/live_lease.h"
#include "collect/targets.h"
#include "core/err.h"
#include "core/time.h"

#define S 1000000000LL /* ns in a second */

static void test_lease_rules(void **state)
{
    struct live_lease *l;
    assert_int_equal(live_lease_new(&l), 0);
    struct live_lease_state st;
    int64_t t0 = 1000 * S;
    assert_false(live_lease_any(l, t0));

    /* watched, but the storage interval is unknown: nothing in force, and
     * the commit stage's fast path stays on */
    assert_int_equal(live_lease_renew(l, "vm1", 500, t0), 0);
    assert_false(live_lease_any(l, t0));
    assert_false(live_lease_get(l, strv_c("vm1"), t0, &st));
    /* the agent's poll says it stores every 5 s */
    assert_int_equal(live_lease_report(l, "vm1", 5000, t0), 0);
    assert_true(live_lease_any(l, t0));
    assert_true(live_lease_get(l, strv_c("vm1"), t0, &st));
    assert_int_equal(st.display_ms, 500);
    assert_int_equal(st.storage_ms, 5000);
    assert_int_equal(st.until_ns, t0 + LIVE_LEASE_TTL_MS * 1000000LL);
    assert_false(live_lease_get(l, strv_c("vm2"), t0, &st));
    assert_false(live_lease_get(l, strv_c("vm"), t0, &st));

    /* a second screen at 2 s: the fastest wins; when the 0.5 s one stops
     * renewing, the 2 s one takes over, then that lapses too */
    assert_int_equal(live_lease_renew(l, "vm1", 2000, t0 + 3 * S), 0);
    assert_true(live_lease_get(l, strv_c("vm1"), t0 + 4 * S, &st));
    assert_int_equal(st.display_ms, 500);
    assert_true(live_lease_get(l, strv_c("vm1"), t0 + 6 * S, &st));
    assert_int_equal(st.display_ms, 2000);
    assert_false(live_lease_get(l, strv_c("vm1"), t0 + 9 * S, &st));
    /* the split's grace: one storage interval (5 s) past the lease's end */
    assert_true(live_lease_split(l, strv_c("vm1"), t0 + 9 * S, &st));
    assert_int_equal(st.display_ms, 500); /* lapsed at +5 s, in grace until +10 s */
    assert_true(live_lease_split(l, strv_c("vm1"), t0 + 11 * S, &st));
    assert_int_equal(st.display_ms, 2000);
    assert_true(live_lease_any(l, t0 + 9 * S));
    assert_false(live_lease_split(l, strv_c("vm1"), t0 + 13 * S + 1, &st));
    assert_false(live_lease_any(l, t0 + 13 * S + 1));

    /* renewed before it lapses: stays */
    assert_int_equal(live_lease_renew(l, "vm1", 500, t0 + 10 * S), 0);
    assert_int_equal(live_lease_renew(l, "vm1", 500, t0 + 14 * S), 0);
    assert_true(live_lease_get(l, strv_c("vm1"), t0 + 18 * S, &st));

    /* not faster than storage: not in force */
    assert_int_equal(live_lease_report(l, "vm3", 1000, t0), 0);
    assert_int_equal(live_lease_renew(l, "vm3", 1000, t0), 0);
    assert_false(live_lease_get(l, strv_c("vm3"), t0, &st));

    size_t active;
    uint64_t renewals;
    live_lease_counts(l, t0 + 18 * S, &active, &renewals);
    assert_int_equal(active, 1);
    assert_int_equal(renewals, 5);

    /* refused input */
    assert_int_equal(live_lease_renew(l, "", 500, t0), TIDE_EINVAL);
    assert_int_equal(live_lease_renew(l, "vm1", 50, t0), TIDE_EINVAL);
    assert_int_equal(live_lease_report(l, "vm1", 0, t0), TIDE_EINVAL);
    char longname[LIVE_LEASE_HOST_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(live_lease_renew(l, longname, 500, t0), TIDE_EINVAL);
    live_lease_free(l);
}

/* The bounds: LIVE_LEASE_MAX_RATES rates per host, LIVE_LEASE_MAX_HOSTS
 * hosts, whose slots come back once idle for LIVE_LEASE_FORGET_MS. */
static void test_bounds(void **state)
{
    struct live_lease *l;
    assert_int_equal(live_lease_new(&l), 0);
    int64_t t0 = 1000 * S;
    for (int r = 0; r < LIVE_LEASE_MAX_RATES; r++)
        assert_int_equal(live_lease_renew(l, "h", 100 + r * 100, t0), 0);
    assert_int_equal(live_lease_renew(l, "h", 5000, t0), TIDE_ELIMIT);
    assert_int_equal(live_lease_renew(l, "h", 100, t0), 0); /* a renewal takes no slot */
    char name[32];
    for (int i = 1; i < LIVE_LEASE_MAX_HOSTS; i++) {
        snprintf(name, sizeof name, "h%d", i);
        assert_int_equal(live_lease_report(l, name, 5000, t0), 0);
    }
    assert_int_equal(live_lease_report(l, "one-too-many", 5000, t0), TIDE_ELIMIT);
    int64_t later = t0 + (LIVE_LEASE_FORGET_MS + 1) * 1000000LL;
    assert_int_equal(live_lease_report(l, "one-too-many", 5000, later), 0);
    live_lease_free(l);
}

/* A stand-in for the host collector's groups: kind "host", counting runs. */
static int runs;
static int fake_collect(void *state, int64_t now_ms, struct batch *out, struct err *e)
{
    __atomic_add_fetch(&runs, 1, __ATOMIC_SEQ_CST);
    return 0;
}
static const struct target_kind fake_host = {.name = "host", .collect = fake_collect};
static int no_sink(void *ctx, struct batch *b, struct err *e)
{
    return 0;
}

static void test_local_host(void **state)
{
    struct targets *m;
    struct targets_opts o = {.sink = no_sink};
    assert_int_equal(targets_new(&m, &o), 0);
    assert_int_equal(targets_register_kind(m, &fake_host, NULL), 0);
    struct target_spec cpu = {.kind = "host", .name = "host/cpu", .interval_ms = 5000};
    struct target_spec proc = {.kind = "host", .name = "host/proc", .interval_ms = 60000};
    assert_int_equal(targets_add(m, &cpu, NULL), 0);
    assert_int_equal(targets_add(m, &proc, NULL), 0);

    struct live_lease *l;
    assert_int_equal(live_lease_new(&l), 0);
    assert_int_equal(live_lease_set_local(l, "me", m), 0);
    /* the local interval comes from its targets, not from reports */
    assert_int_equal(live_lease_report(l, "me", 100000, time_mono_ns()), TIDE_EINVAL);

    int64_t now = time_mono_ns();
    assert_int_equal(live_lease_renew(l, "me", 500, now), 0);
    struct live_lease_state st;
    assert_true(live_lease_get(l, strv_c("me"), now, &st));
    assert_int_equal(st.storage_ms, 5000);
    assert_int_equal(st.display_ms, 500);
    struct target_status ts;
    assert_int_equal(targets_get(m, "host", "host/cpu", &ts), 0);
    assert_int_equal(ts.lease_interval_ms, 500);
    assert_int_equal(ts.interval_ms, 5000);
    assert_int_equal(targets_get(m, "host", "host/proc", &ts), 0);
    assert_int_equal(ts.lease_interval_ms, 0); /* slower groups keep theirs */

    /* the manager lets it lapse by itself: renew with a time in the past
     * so it ends LIVE_LEASE_TTL_MS after that, i.e. now */
    int64_t past = time_mono_ns() - LIVE_LEASE_TTL_MS * 1000000LL + 100000000LL;
    assert_int_equal(live_lease_renew(l, "me", 500, past), 0);
    struct timespec pause = {0, 200000000};
    nanosleep(&pause, NULL);
    assert_int_equal(targets_get(m, "host", "host/cpu", &ts), 0);
    assert_int_equal(ts.lease_interval_ms, 0);
    assert_false(live_lease_get(l, strv_c("me"), time_mono_ns(), &st));

    assert_int_equal(live_lease_set_local(l, NULL, NULL), 0);
    targets_free(m);
    live_lease_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lease_rules),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_local_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
