/* test_targets_test.c: targets_test() (collect/targets.c), the engine of
 * POST /api/v1/targets/test: a synchronous kind is opened, collected once
 * and closed (samples counted, a failure's message kept); an asynchronous
 * kind that never answers is cancelled by close after the timeout; a kind
 * with its own test op is asked directly; passive and unknown kinds and a
 * refused open are errors; nothing is added to the manager. And
 * partial_runs kinds: no stale markers after a run that delivered only part
 * of the target's series. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/targets.h"

static int opened, closed;

static int sink(void *ctx, struct batch *b, struct err *e)
{
    int *stale = ctx;
    for (size_t i = 0; i < b->nsamples; i++) {
        uint64_t bits;
        memcpy(&bits, &b->samples[i].v, sizeof bits);
        if (bits == STALE_NAN_BITS)
            (*stale)++;
    }
    return 0;
}

static int s_open(void *kind_ctx, const struct target_spec *spec, void **state, struct err *e)
{
    if (spec->address && strcmp(spec->address, "refuse") == 0)
        return ERR_INVAL(e, "refused");
    opened++;
    *state = (void *)spec->address;
    return 0;
}

static void add(struct batch *out, int64_t now_ms, const char *name)
{
    batch_begin_series(out);
    batch_add_label(out, STRV_LIT("__name__"), strv_c(name));
    batch_add_sample(out, now_ms, 1);
    batch_end_series(out);
}

static int s_collect(void *state, int64_t now_ms, struct batch *out, struct err *e)
{
    add(out, now_ms, "a");
    add(out, now_ms, "b");
    if (state && strcmp(state, "fail") == 0)
        return ERR_SET(e, -EHOSTUNREACH, "no route to the device");
    return 0;
}

static void s_close(void *state) { closed++; }

static int a_start(void *state, int64_t now_ms, struct batch *out, target_done_fn *done,
                   void *token, struct err *e)
{
    return 0; /* never calls done: a device that never answers */
}

static int t_test(void *kind_ctx, const struct target_spec *spec, struct target_test *out,
                  struct err *e)
{
    out->ok = true;
    snprintf(out->facts[0][0], sizeof out->facts[0][0], "version");
    snprintf(out->facts[0][1], sizeof out->facts[0][1], "1.2");
    out->nfacts = 1;
    return 0;
}

/* A partial_runs kind: the first run gives a and b, later ones only a. */
static int p_collect(void *state, int64_t now_ms, struct batch *out, struct err *e)
{
    static int runs;
    add(out, now_ms, "a");
    if (runs++ == 0)
        add(out, now_ms, "b");
    return 0;
}

static const struct target_kind sync_kind = {
    .name = "sync", .open = s_open, .collect = s_collect, .close = s_close};
static const struct target_kind async_kind = {
    .name = "async", .open = s_open, .start = a_start, .close = s_close};
static const struct target_kind test_kind = {
    .name = "tested", .open = s_open, .collect = s_collect, .close = s_close, .test = t_test};
static const struct target_kind passive_kind = {.name = "passive", .passive = true};
static const struct target_kind partial_kind = {
    .name = "partial", .partial_runs = true, .collect = p_collect};

static struct targets *m;
static int stale;

static int setup(void **state)
{
    struct targets_opts o = {.sink = sink, .sink_ctx = &stale};
    assert_int_equal(targets_new(&m, &o), 0);
    assert_int_equal(targets_register_kind(m, &sync_kind, NULL), 0);
    assert_int_equal(targets_register_kind(m, &async_kind, NULL), 0);
    assert_int_equal(targets_register_kind(m, &test_kind, NULL), 0);
    assert_int_equal(targets_register_kind(m, &passive_kind, NULL), 0);
    assert_int_equal(targets_register_kind(m, &partial_kind, NULL), 0);
    return 0;
}

static int teardown(void **state)
{
    targets_free(m);
    return 0;
}

static struct target_spec spec(const char *kind, const char *address)
{
    return (struct target_spec){
        .kind = kind, .name = "t", .address = address, .interval_ms = 1000};
}

static void test_sync(void **state)
{
    struct target_test out;
    struct err e;
    err_clear(&e);
    opened = closed = 0;
    struct target_spec s = spec("sync", "ok");
    assert_int_equal(targets_test(m, &s, 1000, &out, &e), 0);
    assert_true(out.ok);
    assert_int_equal(out.samples, 2);
    assert_int_equal(opened, 1);
    assert_int_equal(closed, 1);
    s = spec("sync", "fail");
    assert_int_equal(targets_test(m, &s, 1000, &out, &e), 0);
    assert_false(out.ok);
    assert_string_equal(out.error, "no route to the device");
    s = spec("sync", "refuse");
    assert_int_equal(targets_test(m, &s, 1000, &out, &e), TIDE_EINVAL);
    struct target_status *v = NULL;
    size_t n = 9;
    assert_int_equal(targets_list(m, NULL, &v, &n), 0);
    assert_int_equal(n, 0); /* nothing was added */
    free(v);
}

static void test_async_timeout(void **state)
{
    struct target_test out;
    struct err e;
    err_clear(&e);
    opened = closed = 0;
    struct target_spec s = spec("async", "x");
    assert_int_equal(targets_test(m, &s, 100, &out, &e), 0);
    assert_false(out.ok);
    assert_non_null(strstr(out.error, "no answer within 100ms"));
    assert_int_equal(closed, 1);
}

static void test_own_test_and_refusals(void **state)
{
    struct target_test out;
    struct err e;
    err_clear(&e);
    opened = 0;
    struct target_spec s = spec("tested", "x");
    assert_int_equal(targets_test(m, &s, 100, &out, &e), 0);
    assert_true(out.ok);
    assert_int_equal(out.nfacts, 1);
    assert_string_equal(out.facts[0][1], "1.2");
    assert_int_equal(opened, 0); /* the kind's own test, not open + run */
    s = spec("passive", "x");
    assert_int_equal(targets_test(m, &s, 100, &out, &e), TIDE_EINVAL);
    s = spec("nosuch", "x");
    assert_int_equal(targets_test(m, &s, 100, &out, &e), TIDE_ENOTFOUND);
}

static void test_partial_runs_no_stale(void **state)
{
    struct err e;
    err_clear(&e);
    stale = 0;
    struct target_spec s = spec("partial", NULL);
    s.interval_ms = 100;
    assert_int_equal(targets_add(m, &s, &e), 0);
    assert_int_equal(targets_start(m, &e), 0);
    struct target_status st = {0};
    for (int i = 0; i < 200 && st.runs < 3; i++) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
        targets_get(m, "partial", "t", &st);
    }
    assert_true(st.runs >= 3);
    assert_int_equal(stale, 0); /* b was not due: not stale */
    assert_int_equal(targets_set_enabled(m, "partial", "t", false), 0);
    assert_int_equal(stale, 2); /* disabled: a and b both go stale */
    targets_stop(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_test_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_runs_no_stale, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
