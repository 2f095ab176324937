/* test_live_ring.c: the display-rate ring (api/live_ring.c): which points
 * storage still gets (one per storage interval, with jitter slack; the
 * first; stale markers; out-of-order points; primed with storage's last
 * point from before the display rate), the bounds in points and in
 * time, the series cap (past it everything is stored), the sweep of series
 * no longer fed, and the overlay merging ring and storage points for the
 * query engine. Table-driven where the cases are alike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/live_ring.h"
#include "core/time.h"

static const struct label H1[] = {
    {STRV_LIT("__name__"), STRV_LIT("node_load1")},
    {STRV_LIT("instance"), STRV_LIT("h1")},
};

/* Offer points t[0..n) (ms) of one series, each value = its time. */
static void offer(struct live_ring *r, const struct label *ls, size_t nls, const int64_t *t,
                  size_t n, int64_t storage_ms, int64_t slack_ms, bool *store)
{
    struct sample v[64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        v[i] = (struct sample){t[i], (double)t[i]};
    live_ring_offer(r, ls, nls, v, n, storage_ms, slack_ms, store);
}

static void test_thinning(void **state)
{
    static const struct {
        const char *name;
        int64_t t[16];
        size_t n;
        int64_t storage_ms, slack_ms;
        const char *want; /* per point: 's' stored, '.' ring only */
    } cases[] = {
        {"0.5 s display, 5 s storage",
         {0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000, 5500}, 12, 5000, 250,
         "s.........s."},
        {"jitter: 4.9 s counts as 5 s with a quarter second slack",
         {0, 510, 1020, 1490, 2010, 2490, 3000, 3520, 4010, 4480, 4900, 5400}, 12, 5000, 250,
         "s.........s."},
        {"slack 0: strictly a storage interval", {0, 2000, 4900, 5000}, 4, 5000, 0, "s..s"},
        {"not faster than storage: everything stored", {0, 1000, 2000}, 3, 1000, 0, "sss"},
        {"out of order and duplicate: stored, not ringed", {1000, 1500, 1200, 1500}, 4, 5000, 0,
         "s.ss"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct live_ring *r;
        assert_int_equal(live_ring_new(&r), 0);
        bool store[16];
        offer(r, H1, 2, cases[c].t, cases[c].n, cases[c].storage_ms, cases[c].slack_ms, store);
        char got[17] = {0};
        for (size_t i = 0; i < cases[c].n; i++)
            got[i] = store[i] ? 's' : '.';
        if (strcmp(got, cases[c].want) != 0)
            fail_msg("%s: got %s, want %s", cases[c].name, got, cases[c].want);
        live_ring_free(r);
    }
}

/* Stale markers go to storage and never into the ring; a new offer keeps
 * counting from the last point stored, across calls. */
static void test_stale_and_across_calls(void **state)
{
    struct live_ring *r;
    assert_int_equal(live_ring_new(&r), 0);
    bool store[4];
    int64_t a[] = {0, 500};
    offer(r, H1, 2, a, 2, 2000, 0, store);
    assert_true(store[0]);
    assert_false(store[1]);
    struct sample v[2] = {{1000, 1}, {1500, 0}};
    uint64_t stale = 0x7ff0000000000002ULL;
    memcpy(&v[1].v, &stale, sizeof stale);
    live_ring_offer(r, H1, 2, v, 2, 2000, 0, store);
    assert_false(store[0]);
    assert_true(store[1]);
    int64_t b[] = {2000};
    offer(r, H1, 2, b, 1, 2000, 0, store);
    assert_true(store[0]);
    struct live_ring_stats st;
    live_ring_stats(r, &st);
    assert_int_equal(st.series, 1);
    assert_int_equal(st.points, 4); /* 0, 500, 1000, 2000: not the marker */
    assert_int_equal(st.points_total, 4);
    assert_int_equal(st.thinned_total, 2);
    live_ring_free(r);
}

/* Primed with the last point storage holds from before the display rate,
 * the first display-rate points close to it stay out of storage too; a
 * prime older than what the ring knows changes nothing. */
static void test_prime(void **state)
{
    struct live_ring *r;
    assert_int_equal(live_ring_new(&r), 0);
    live_ring_prime(r, H1, 2, 10000);
    int64_t t[] = {11300, 11800, 14800, 15000};
    bool store[4];
    offer(r, H1, 2, t, 4, 5000, 250, store);
    assert_false(store[0]);
    assert_false(store[1]);
    assert_true(store[2]); /* 4.8 s after the primed point, within the slack */
    assert_false(store[3]);
    live_ring_prime(r, H1, 2, 9000);
    int64_t u[] = {19900};
    offer(r, H1, 2, u, 1, 5000, 250, store);
    assert_true(store[0]); /* 5.1 s after 14800, not after 9000 */
    live_ring_free(r);
}

/* The bounds: LIVE_RING_POINTS per series, LIVE_RING_WINDOW_MS behind the
 * newest point; the overlay only ever sees what is held. */
static void test_bounds(void **state)
{
    struct live_ring *r;
    assert_int_equal(live_ring_new(&r), 0);
    bool store[1];
    for (int64_t i = 0; i < LIVE_RING_POINTS + 50; i++) {
        struct sample v = {i * 10, (double)i};
        live_ring_offer(r, H1, 2, &v, 1, 1000000, 0, store);
    }
    struct live_ring_stats st;
    live_ring_stats(r, &st);
    assert_int_equal(st.points, LIVE_RING_POINTS);
    struct sample *m = NULL;
    size_t n = 0;
    assert_int_equal(live_ring_overlay(r, H1, 2, 0, INT64_MAX, &m, &n), 0);
    assert_int_equal(n, LIVE_RING_POINTS);
    assert_int_equal(m[0].t_ms, 50 * 10);
    free(m);
    /* one point far ahead pushes everything older than the window out */
    struct sample far = {10 * 1000000, 1};
    live_ring_offer(r, H1, 2, &far, 1, 1000000, 0, store);
    live_ring_stats(r, &st);
    assert_int_equal(st.points, 1);
    live_ring_free(r);
}

/* Past LIVE_RING_MAX_SERIES a new series is not ringed: all stored. Series
 * not fed for the window are swept, and their slots free again. */
static void test_series_cap_and_sweep(void **state)
{
    struct live_ring *r;
    assert_int_equal(live_ring_new(&r), 0);
    char val[32];
    struct label ls[2] = {{STRV_LIT("__name__"), STRV_LIT("x")}, {STRV_LIT("i"), {0}}};
    int64_t t[] = {0, 100};
    bool store[2];
    for (int i = 0; i <= LIVE_RING_MAX_SERIES; i++) {
        snprintf(val, sizeof val, "%d", i);
        ls[1].value = strv_c(val);
        offer(r, ls, 2, t, 2, 1000, 0, store);
        assert_true(store[0]);
        assert_true(store[1] == (i == LIVE_RING_MAX_SERIES)); /* refused: stored */
    }
    struct live_ring_stats st;
    live_ring_stats(r, &st);
    assert_int_equal(st.series, LIVE_RING_MAX_SERIES);
    assert_int_equal(st.refused_series, 1);
    live_ring_sweep(r, time_mono_ns() + (int64_t)(LIVE_RING_WINDOW_MS + 1) * 1000000);
    live_ring_stats(r, &st);
    assert_int_equal(st.series, 0);
    assert_int_equal(st.points, 0);
    offer(r, ls, 2, t, 2, 1000, 0, store);
    assert_false(store[1]);
    live_ring_free(r);
}

/* The overlay: ring points inside [mint, maxt] merged into storage's, the
 * ring's standing for storage's at the same time; other series untouched. */
static void test_overlay(void **state)
{
    struct live_ring *r;
    assert_int_equal(live_ring_new(&r), 0);
    int64_t t[] = {5000, 5500, 6000, 6500, 7000};
    bool store[5];
    offer(r, H1, 2, t, 5, 5000, 0, store);
    struct sample *v = malloc(3 * sizeof *v);
    v[0] = (struct sample){0, -1};
    v[1] = (struct sample){5000, -2}; /* the same point, as storage has it */
    v[2] = (struct sample){9000, -3};
    size_t n = 3;
    assert_int_equal(live_ring_overlay(r, H1, 2, 0, 6500, &v, &n), 0);
    static const int64_t want_t[] = {0, 5000, 5500, 6000, 6500, 9000};
    static const double want_v[] = {-1, 5000, 5500, 6000, 6500, -3};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v[i].t_ms, want_t[i]);
        assert_true(v[i].v == want_v[i]);
    }
    free(v);
    /* a series the ring does not hold: unchanged, no allocation */
    static const struct label other[] = {{STRV_LIT("__name__"), STRV_LIT("y")}};
    struct sample *w = NULL;
    size_t nw = 0;
    assert_int_equal(live_ring_overlay(r, other, 1, 0, INT64_MAX, &w, &nw), 0);
    assert_null(w);
    assert_int_equal(nw, 0);
    /* a range before the ring: unchanged */
    assert_int_equal(live_ring_overlay(r, H1, 2, 0, 4000, &w, &nw), 0);
    assert_int_equal(nw, 0);
    live_ring_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thinning),
        cmocka_unit_test(test_stale_and_across_calls),
        cmocka_unit_test(test_prime),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_series_cap_and_sweep),
        cmocka_unit_test(test_overlay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
