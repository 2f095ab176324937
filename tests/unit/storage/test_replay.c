/* test_replay.c: the WAL replay shares its head appends between the
 * decoding thread and workers (storage/replay.c, replay_apply.c). Whatever
 * the number of workers, a restart must rebuild exactly the head the writes
 * made: every series' samples bit for bit (out-of-order ones, rewrites of a
 * timestamp, deletions in between), the head's sample count, and the
 * postings (added by a worker during the replay).
 * Thousands of series spread over every lane and many batches; the series
 * of one delete take turns with their samples in the WAL, and a sample is
 * written back into the deleted range after it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../testutil_storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fs.h"
#include "storage/storage.h"

#define NSERIES 3000
#define ROUNDS 12

/* An hour ago, on the second: inside the default retention. */
static int64_t base_ms(void)
{
    return ((int64_t)time(NULL) - 3600) * 1000;
}

static struct storage *open_db(const char *dir, int workers)
{
    struct storage_opts o = {.dir = dir, .no_background = true, .no_cut_on_close = true,
                             .replay_workers = workers};
    struct storage *s;
    struct err e = {0};
    if (storage_open(&s, &o, &e))
        fail_msg("storage_open: %s", e.msg);
    return s;
}

/* One round: a sample for every series at t (value from series and t), and
 * every 7th series a second, out-of-order one and a rewrite of t - 1000. */
static void write_round(struct storage *s, int64_t t)
{
    struct batch b;
    batch_init(&b);
    static char host[NSERIES][8]; /* the batch borrows its label strings */
    for (int i = 0; i < NSERIES; i++) {
        snprintf(host[i], sizeof host[i], "h%04d", i);
        batch_begin_series(&b);
        batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("m"));
        batch_add_label(&b, STRV_LIT("host"), strv_c(host[i]));
        batch_add_sample(&b, t, i * 0.5 + (double)t / 1000);
        if (i % 7 == 0) {
            batch_add_sample(&b, t - 500, -i);     /* out of order */
            batch_add_sample(&b, t - 10000, i + 1); /* rewrites the previous round's */
        }
        batch_end_series(&b);
    }
    test_append(s, &b);
}

/* Delete [mint, maxt] from the hosts matching re. */
static void delete_range(struct storage *s, const char *re, int64_t mint, int64_t maxt)
{
    struct matcher m;
    struct err e = {0};
    assert_int_equal(matcher_init(&m, MATCH_RE, STRV_LIT("host"), strv_c(re), &e), 0);
    size_t n;
    if (storage_delete(s, &m, 1, mint, maxt, &n, &e))
        fail_msg("delete: %s", e.msg);
    if (n == 0)
        fail_msg("delete %s: no series touched", re);
    matcher_fini(&m);
}

/* Every series' labels and samples as text, in label order (malloc'd). */
static char *dump(struct storage *s)
{
    struct matcher m;
    assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("m"), NULL),
                     0);
    struct storage_set *set;
    struct err e = {0};
    assert_int_equal(storage_select(s, &m, 1, INT64_MIN, INT64_MAX, &set, &e), 0);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    while (storage_set_next(set)) {
        const struct label *ls;
        size_t nl;
        storage_set_labels(set, &ls, &nl);
        for (size_t i = 0; i < nl; i++)
            fprintf(f, "%.*s=%.*s,", (int)ls[i].name.n, ls[i].name.p, (int)ls[i].value.n,
                    ls[i].value.p);
        const struct sample *v;
        size_t n;
        assert_int_equal(storage_set_samples(set, &v, &n, &e), 0);
        for (size_t i = 0; i < n; i++) {
            uint64_t bits;
            memcpy(&bits, &v[i].v, 8);
            fprintf(f, " %lld:%016llx", (long long)v[i].t_ms, (unsigned long long)bits);
        }
        fputc('\n', f);
    }
    storage_set_free(set);
    matcher_fini(&m);
    fclose(f);
    return out;
}

static void check_restart(const char *dir, int workers, const char *want, uint64_t want_head)
{
    struct storage *s = open_db(dir, workers);
    char *got = dump(s);
    if (strcmp(got, want) != 0)
        fail_msg("replay with %d workers: the series differ from before the restart", workers);
    struct storage_stats st;
    assert_int_equal(storage_stats(s, &st), 0);
    if (st.head_samples != want_head || st.series != NSERIES)
        fail_msg("replay with %d workers: %llu head samples, %llu series; want %llu, %d", workers,
                 (unsigned long long)st.head_samples, (unsigned long long)st.series,
                 (unsigned long long)want_head, NSERIES);
    storage_stats_fini(&st);
    free(got);
    /* The postings the replay rebuilt: every host value, and a match on them. */
    struct strv *vals;
    size_t nvals;
    struct err e = {0};
    assert_int_equal(storage_label_values(s, STRV_LIT("host"), NULL, 0, INT64_MIN, INT64_MAX,
                                          &vals, &nvals, &e),
                     0);
    if (nvals != NSERIES)
        fail_msg("replay with %d workers: %zu host values, want %d", workers, nvals, NSERIES);
    free(vals);
    struct matcher m;
    assert_int_equal(matcher_init(&m, MATCH_RE, STRV_LIT("host"), STRV_LIT("h00.*"), &e), 0);
    struct storage_set *set;
    assert_int_equal(storage_select(s, &m, 1, INT64_MIN, INT64_MAX, &set, &e), 0);
    if (storage_set_count(set) != 100)
        fail_msg("replay with %d workers: host=~\"h00.*\" selects %zu series, want 100", workers,
                 storage_set_count(set));
    storage_set_free(set);
    matcher_fini(&m);
    assert_int_equal(storage_close(s), 0);
}

static void test_replay_same_head_any_workers(void **state)
{
    (void)state;
    char *dir = test_tmpdir("tide_replay");
    struct storage *s = open_db(dir, -1);
    int64_t t0 = base_ms();
    for (int r = 1; r <= ROUNDS; r++) {
        write_round(s, t0 + (int64_t)r * 10000);
        if (r == ROUNDS / 2) { /* tombstones amid the samples, then a sample back */
            delete_range(s, "h0[0-4].*", t0 + 15000, t0 + 35000);
            write_round(s, t0 + 25000);
        }
    }
    char *want = dump(s);
    struct storage_stats st;
    assert_int_equal(storage_stats(s, &st), 0);
    uint64_t head = st.head_samples;
    storage_stats_fini(&st);
    assert_int_equal(storage_close(s), 0);

    /* Each replay reopens the same WAL (close leaves the head in it). */
    int workers[] = {-1, 1, 2, 3};
    for (size_t i = 0; i < sizeof workers / sizeof workers[0]; i++)
        check_restart(dir, workers[i], want, head);
    free(want);
    fs_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_same_head_any_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
