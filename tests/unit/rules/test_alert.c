/* test_alert.c: the alert state machine (rules/alert.c) step by step as
 * Prometheus 2.42 moves an alert: pending → firing after `for`, pending
 * dropped when the condition clears, firing → inactive (resolved, kept 15
 * minutes, then dropped), keep_firing_for holding a firing alert, a
 * resolved alert coming back as a new pending one, duplicate label sets
 * refused, the group limit; and needsSending's resend rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "rules/alert.h"

static const struct label la[] = {{STRV_LIT("alertname"), STRV_LIT("A")},
                                  {STRV_LIT("instance"), STRV_LIT("x")}};
static const struct label lb[] = {{STRV_LIT("alertname"), STRV_LIT("A")},
                                  {STRV_LIT("instance"), STRV_LIT("y")}};
static const struct label ann[] = {{STRV_LIT("summary"), STRV_LIT("s")}};

/* One step: the condition holds for la (and lb when `both`). */
static int step(struct alert_set *s, bool a, bool both, int64_t t, int64_t hold, int64_t keep,
                int64_t limit)
{
    struct alert_input in[2];
    size_t n = 0;
    if (a)
        in[n++] = (struct alert_input){la, 2, ann, 1, 7};
    if (both)
        in[n++] = (struct alert_input){lb, 2, ann, 1, 8};
    struct err e = {0};
    return alert_set_update(s, in, n, t, hold, keep, limit, &e);
}

static enum alert_state state_of(struct alert_set *s, const struct label *l)
{
    struct alert *a = alert_set_find(s, l, 2);
    return a ? a->state : (enum alert_state) - 1;
}

#define GONE ((enum alert_state) - 1)

static void test_for(void **st)
{
    (void)st;
    struct alert_set s = {0};
    /* table: time, condition, expected state after the step */
    static const struct {
        int64_t t;
        bool cond;
        enum alert_state want;
    } steps[] = {
        {0, true, ALERT_PENDING},        {30000, true, ALERT_PENDING},
        {59999, true, ALERT_PENDING},    {60000, true, ALERT_FIRING},
        {90000, true, ALERT_FIRING},     {120000, false, ALERT_INACTIVE},
        {130000, false, ALERT_INACTIVE},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        assert_int_equal(step(&s, steps[i].cond, false, steps[i].t, 60000, 0, 0), 0);
        if (state_of(&s, la) != steps[i].want)
            fail_msg("step %zu (t=%lld): want state %d, got %d", i, (long long)steps[i].t,
                     steps[i].want, state_of(&s, la));
    }
    struct alert *a = alert_set_find(&s, la, 2);
    assert_int_equal(a->active_at_ms, 0);
    assert_int_equal(a->fired_at_ms, 60000);
    assert_int_equal(a->resolved_at_ms, 120000);
    /* Kept 15 minutes after resolution, then dropped. */
    assert_int_equal(step(&s, false, false, 120000 + ALERT_RESOLVED_RETENTION_MS, 60000, 0, 0), 0);
    assert_int_equal(state_of(&s, la), ALERT_INACTIVE);
    assert_int_equal(step(&s, false, false, 120001 + ALERT_RESOLVED_RETENTION_MS, 60000, 0, 0), 0);
    assert_int_equal(state_of(&s, la), GONE);
    alert_set_fini(&s);
}

static void test_pending_dropped_and_back(void **st)
{
    (void)st;
    struct alert_set s = {0};
    assert_int_equal(step(&s, true, false, 0, 60000, 0, 0), 0);
    assert_int_equal(step(&s, false, false, 10000, 60000, 0, 0), 0);
    assert_int_equal(state_of(&s, la), GONE);
    /* Back: a new active time. */
    assert_int_equal(step(&s, true, false, 20000, 60000, 0, 0), 0);
    assert_int_equal(alert_set_find(&s, la, 2)->active_at_ms, 20000);
    /* Firing, resolved, then back before the retention ends: pending anew. */
    assert_int_equal(step(&s, true, false, 80000, 60000, 0, 0), 0);
    assert_int_equal(state_of(&s, la), ALERT_FIRING);
    assert_int_equal(step(&s, false, false, 90000, 60000, 0, 0), 0);
    assert_int_equal(state_of(&s, la), ALERT_INACTIVE);
    assert_int_equal(step(&s, true, false, 100000, 60000, 0, 0), 0);
    assert_int_equal(state_of(&s, la), ALERT_PENDING);
    assert_int_equal(alert_set_find(&s, la, 2)->active_at_ms, 100000);
    alert_set_fini(&s);
}

static void test_keep_firing_for(void **st)
{
    (void)st;
    struct alert_set s = {0};
    /* for 0: fires at once; keep_firing_for 30s. */
    assert_int_equal(step(&s, true, false, 0, 0, 30000, 0), 0);
    assert_int_equal(state_of(&s, la), ALERT_FIRING);
    assert_int_equal(step(&s, false, false, 10000, 0, 30000, 0), 0);
    assert_int_equal(state_of(&s, la), ALERT_FIRING);
    assert_int_equal(alert_set_find(&s, la, 2)->keep_firing_since_ms, 10000);
    assert_int_equal(step(&s, false, false, 39999, 0, 30000, 0), 0);
    assert_int_equal(state_of(&s, la), ALERT_FIRING);
    /* The condition returns: the keep clock resets. */
    assert_int_equal(step(&s, true, false, 45000, 0, 30000, 0), 0);
    assert_int_equal(alert_set_find(&s, la, 2)->keep_firing_since_ms, 0);
    assert_int_equal(step(&s, false, false, 50000, 0, 30000, 0), 0);
    assert_int_equal(step(&s, false, false, 80000, 0, 30000, 0), 0);
    assert_int_equal(state_of(&s, la), ALERT_INACTIVE);
    assert_int_equal(alert_set_find(&s, la, 2)->resolved_at_ms, 80000);
    alert_set_fini(&s);
}

static void test_duplicates_and_limit(void **st)
{
    (void)st;
    struct alert_set s = {0};
    struct alert_input in[2] = {{la, 2, ann, 1, 1}, {la, 2, ann, 1, 2}};
    struct err e = {0};
    assert_int_equal(alert_set_update(&s, in, 2, 0, 0, 0, 0, &e), TIDE_EINVAL);
    assert_non_null(strstr(e.msg, "same labelset"));
    assert_int_equal(s.n, 0);
    assert_int_equal(step(&s, true, true, 0, 0, 0, 1), TIDE_ELIMIT);
    assert_int_equal(s.n, 0);
    assert_int_equal(step(&s, true, true, 0, 0, 0, 2), 0);
    assert_int_equal(s.n, 2);
    alert_set_fini(&s);
}

static void test_needs_sending(void **st)
{
    (void)st;
    struct alert a = {.state = ALERT_PENDING};
    assert_false(alert_needs_sending(&a, 1000, 60000));
    a.state = ALERT_FIRING;
    assert_true(alert_needs_sending(&a, 1000, 60000)); /* never sent */
    a.last_sent_ms = 1000;
    assert_false(alert_needs_sending(&a, 61000, 60000));
    assert_true(alert_needs_sending(&a, 61001, 60000));
    a.state = ALERT_INACTIVE;
    a.resolved_at_ms = 2000; /* resolved since the last send: at once */
    assert_true(alert_needs_sending(&a, 2000, 60000));
    a.last_sent_ms = 2000;
    assert_false(alert_needs_sending(&a, 3000, 60000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_for),
        cmocka_unit_test(test_pending_dropped_and_back),
        cmocka_unit_test(test_keep_firing_for),
        cmocka_unit_test(test_duplicates_and_limit),
        cmocka_unit_test(test_needs_sending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
