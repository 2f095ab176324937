/* test_db.c: the engine end to end through storage.h: append/select round
 * trip, out-of-order and last-write-wins across head, ooo and blocks,
 * restarts (WAL replay, blocks, torn WAL tail), retention, delete and
 * compaction, limits, label APIs and the time restriction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "storage/storage.h"

#define DAY_MS 86400000LL

static char *make_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *p;
    assert_true(asprintf(&p, "%s/tide_db_XXXXXX", tmp && *tmp ? tmp : "/tmp") > 0);
    assert_non_null(mkdtemp(p));
    return p;
}

static void rm_dir(char *p)
{
    fs_rm_rf(p);
    free(p);
}

static struct storage *open_db(const char *dir, struct storage_opts *o)
{
    struct storage_opts d = {0};
    if (!o)
        o = &d;
    o->dir = dir;
    o->no_background = true;
    struct storage *s;
    struct err e = {0};
    int rc = storage_open(&s, o, &e);
    if (rc)
        fail_msg("storage_open: %s (%s)", e.msg, tide_strerror(rc));
    return s;
}

/* Append samples to the series `name{job=job}`. */
static int append(struct storage *s, const char *name, const char *job, const struct sample *v,
                  size_t n, struct storage_append_result *r, struct err *e)
{
    struct batch b;
    batch_init(&b);
    batch_begin_series(&b);
    batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), strv_c(name));
    if (job)
        batch_add_label(&b, STRV_LIT("job"), strv_c(job));
    for (size_t i = 0; i < n; i++)
        batch_add_sample(&b, v[i].t_ms, v[i].v);
    batch_end_series(&b);
    int rc = storage_append(s, &b, r, e);
    batch_fini(&b);
    return rc;
}

static void append_ok(struct storage *s, const char *name, const struct sample *v, size_t n)
{
    struct err e = {0};
    int rc = append(s, name, NULL, v, n, NULL, &e);
    if (rc)
        fail_msg("append: %s", e.msg);
}

static void append_range(struct storage *s, const char *name, int64_t from, int64_t to,
                         int64_t step, double v)
{
    size_t n = (size_t)((to - from) / step + 1), k = 0;
    struct sample *smp = malloc(n * sizeof *smp);
    for (int64_t t = from; t <= to; t += step)
        smp[k++] = (struct sample){t, v};
    append_ok(s, name, smp, k);
    free(smp);
}

/* Samples of the one series named `name` in [mint, maxt] (malloc'd). */
static size_t read_series(struct storage *s, const char *name, int64_t mint, int64_t maxt,
                          struct sample **out)
{
    struct matcher m;
    struct err e = {0};
    assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME), strv_c(name), &e), 0);
    struct storage_set *set;
    assert_int_equal(storage_select(s, &m, 1, mint, maxt, &set, &e), 0);
    size_t n = 0;
    *out = NULL;
    if (storage_set_next(set)) {
        const struct sample *v;
        assert_int_equal(storage_set_samples(set, &v, &n, &e), 0);
        *out = malloc((n ? n : 1) * sizeof **out);
        if (n > 0)
            memcpy(*out, v, n * sizeof *v);
        assert_false(storage_set_next(set));
    }
    storage_set_free(set);
    matcher_fini(&m);
    return n;
}

static void expect(struct storage *s, const char *what, const char *name, const struct sample *want,
                   size_t nwant)
{
    struct sample *got;
    size_t n = read_series(s, name, INT64_MIN, INT64_MAX, &got);
    if (n != nwant)
        fail_msg("%s: got %zu samples, want %zu", what, n, nwant);
    for (size_t i = 0; i < n; i++)
        if (got[i].t_ms != want[i].t_ms || bits(got[i].v) != bits(want[i].v))
            fail_msg("%s: sample %zu: got (%lld, %016llx), want (%lld, %016llx)", what, i,
                     (long long)got[i].t_ms, (unsigned long long)bits(got[i].v),
                     (long long)want[i].t_ms, (unsigned long long)bits(want[i].v));
    free(got);
}

/* Series named `name` that a select over all time lists. */
static size_t count_series(struct storage *s, const char *name)
{
    struct matcher m;
    assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME), strv_c(name), NULL), 0);
    struct storage_set *set;
    assert_int_equal(storage_select(s, &m, 1, INT64_MIN, INT64_MAX, &set, NULL), 0);
    size_t n = storage_set_count(set);
    storage_set_free(set);
    matcher_fini(&m);
    return n;
}

static struct storage_stats stats(struct storage *s)
{
    struct storage_stats st;
    assert_int_equal(storage_stats(s, &st), 0);
    return st;
}

/* One field of the stats, freeing the rest. */
#define STAT(s, field)                                                                             \
    ({                                                                                             \
        struct storage_stats st_ = stats(s);                                                       \
        uint64_t v_ = (uint64_t)st_.field;                                                         \
        storage_stats_fini(&st_);                                                                  \
        v_;                                                                                        \
    })

static void maintain(struct storage *s, bool cut, int64_t now)
{
    struct err e = {0};
    int rc = storage_maintain(s, cut, now, &e);
    if (rc)
        fail_msg("storage_maintain: %s", e.msg);
}

static void test_round_trip_special_floats(void **state)
{
    char *dir = make_dir();
    struct storage *s = open_db(dir, NULL);
    const struct sample want[] = {
        {1000, 1.5},
        {2000, -0.0},
        {3000, from_bits(0x7ff0000000000000ULL)},  /* +Inf */
        {4000, from_bits(0xfff0000000000000ULL)},  /* -Inf */
        {5000, from_bits(0x7ff8000000000123ULL)},  /* NaN with payload */
        {6000, from_bits(STALE_NAN_BITS)},         /* stale marker */
        {7000, from_bits(1)},                      /* smallest subnormal */
        {8000, 1e308},
    };
    size_t n = sizeof want / sizeof want[0];
    append_ok(s, "m", want, n);
    expect(s, "head", "m", want, n);
    maintain(s, true, 0);
    assert_int_equal(STAT(s, head_samples), 0);
    expect(s, "block", "m", want, n);
    assert_int_equal(storage_close(s), 0);
    s = open_db(dir, NULL);
    expect(s, "reopened", "m", want, n);
    /* Clipping to the query range. */
    struct sample *got;
    assert_int_equal(read_series(s, "m", 2000, 4000, &got), 3);
    assert_int_equal(got[0].t_ms, 2000);
    free(got);
    assert_int_equal(storage_close(s), 0);
    rm_dir(dir);
}

/* A head of several sealed chunks (past CHUNK_MAX_SAMPLES) with ooo samples
 * among them: read back whole, after a delete across chunks, and after a
 * restart (WAL replay rebuilds the same chunks). */
static void test_head_many_chunks(void **state)
{
    (void)state;
    char *dir = make_dir();
    struct storage *s = open_db(dir, NULL);
    enum { N = 1000 };
    struct sample *want = malloc(2 * N * sizeof *want);
    size_t nw = 0;
    for (int i = 0; i < N; i++) /* in order, even t */
        append_ok(s, "many", (struct sample[]){{1000 + 10 * i, i}}, 1);
    for (int i = 0; i < N; i += 7) /* out of order, odd t, across every chunk */
        append_ok(s, "many", (struct sample[]){{1000 + 10 * i + 5, -i}}, 1);
    for (int i = 0; i < N; i++) {
        want[nw++] = (struct sample){1000 + 10 * i, i};
        if (i % 7 == 0)
            want[nw++] = (struct sample){1000 + 10 * i + 5, -i};
    }
    expect(s, "head", "many", want, nw);
    struct matcher m;
    struct err e = {0};
    assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("many"), &e),
                     0);
    size_t touched = 0;
    assert_int_equal(storage_delete(s, &m, 1, 3000, 6000, &touched, &e), 0);
    matcher_fini(&m);
    size_t k = 0;
    for (size_t i = 0; i < nw; i++)
        if (want[i].t_ms < 3000 || want[i].t_ms > 6000)
            want[k++] = want[i];
    nw = k;
    expect(s, "after delete", "many", want, nw);
    append_ok(s, "many", (struct sample[]){{1000 + 10 * N, 1.5}}, 1); /* in order again */
    want[nw++] = (struct sample){1000 + 10 * N, 1.5};
    expect(s, "appended after delete", "many", want, nw);
    assert_int_equal(storage_close(s), 0);
    s = open_db(dir, NULL);
    expect(s, "after restart", "many", want, nw);
    assert_int_equal(storage_close(s), 0);
    free(want);
    rm_dir(dir);
}

static void test_ooo_and_last_write_wins(void **state)
{
    char *dir = make_dir();
    struct storage *s = open_db(dir, NULL);
    append_ok(s, "m", (struct sample[]){{10, 1}, {20, 1}, {30, 1}}, 3);
    append_ok(s, "m", (struct sample[]){{15, 2}}, 1);          /* out of order */
    append_ok(s, "m", (struct sample[]){{20, 3}}, 1);          /* rewrites a chunk sample */
    append_ok(s, "m", (struct sample[]){{30, 4}}, 1);          /* rewrites the last sample */
    append_ok(s, "m", (struct sample[]){{15, 5}, {15, 6}}, 2); /* rewrites an ooo one twice */
    const struct sample w1[] = {{10, 1}, {15, 6}, {20, 3}, {30, 4}};
    expect(s, "head", "m", w1, 4);
    assert_true(STAT(s, samples_out_of_order_total) >= 3);

    maintain(s, true, 0); /* into a block */
    expect(s, "block", "m", w1, 4);
    append_ok(s, "m", (struct sample[]){{20, 7}, {5, 8}}, 2); /* head over block */
    const struct sample w2[] = {{5, 8}, {10, 1}, {15, 6}, {20, 7}, {30, 4}};
    expect(s, "head over block", "m", w2, 5);

    /* Second block in the partition: until compaction two blocks, newer wins. */
    assert_int_equal(storage_close(s), 0); /* cuts the head: two blocks */
    s = open_db(dir, NULL);
    expect(s, "two blocks", "m", w2, 5);
    struct storage_stats st = stats(s);
    assert_int_equal(st.npartitions, 1);
    assert_int_equal(st.partitions[0].blocks, 2);
    storage_stats_fini(&st);
    maintain(s, false, 0); /* compaction */
    st = stats(s);
    assert_int_equal(st.partitions[0].blocks, 1);
    assert_int_equal(st.block_samples, 5);
    assert_int_equal(st.compactions_total, 1);
    storage_stats_fini(&st);
    expect(s, "compacted", "m", w2, 5);
    append_ok(s, "m", (struct sample[]){{10, 9}}, 1);
    assert_int_equal(storage_close(s), 0);
    s = open_db(dir, NULL);
    const struct sample w3[] = {{5, 8}, {10, 9}, {15, 6}, {20, 7}, {30, 4}};
    expect(s, "after restart", "m", w3, 5);
    assert_int_equal(storage_close(s), 0);
    rm_dir(dir);
}

static void test_restart_replays_wal(void **state)
{
    char *dir = make_dir();
    struct storage_opts o = {.no_cut_on_close = true, .fsync = STORAGE_FSYNC_ALWAYS};
    struct storage *s = open_db(dir, &o);
    append_range(s, "a", 1000, 600000, 1000, 1.25);
    append_ok(s, "a", (struct sample[]){{500, 2}, {1000, 3}}, 2); /* ooo + rewrite */
    append_range(s, "b", 1000, 5000, 1000, 7);
    assert_int_equal(storage_close(s), 0);

    o = (struct storage_opts){.no_cut_on_close = true};
    s = open_db(dir, &o);
    struct storage_stats st = stats(s);
    assert_int_equal(st.series, 2);
    /* A rewritten chunk sample is counted until the head is cut. */
    assert_in_range(st.head_samples, 600 + 1 + 5, 600 + 1 + 5 + 1);
    assert_int_equal(st.block_samples, 0);
    storage_stats_fini(&st);
    struct sample *got;
    assert_int_equal(read_series(s, "a", INT64_MIN, INT64_MAX, &got), 601);
    assert_int_equal(got[0].t_ms, 500);
    assert_true(got[1].v == 3);
    assert_true(got[2].v == 1.25);
    free(got);
    /* Append in the new process, restart again: both generations replay. */
    append_ok(s, "b", (struct sample[]){{6000, 8}}, 1);
    append_ok(s, "c", (struct sample[]){{6000, 9}}, 1);
    assert_int_equal(storage_close(s), 0);
    s = open_db(dir, NULL);
    assert_int_equal(read_series(s, "b", INT64_MIN, INT64_MAX, &got), 6);
    assert_true(got[5].v == 8);
    free(got);
    assert_int_equal(read_series(s, "c", INT64_MIN, INT64_MAX, &got), 1);
    free(got);
    assert_int_equal(storage_close(s), 0);

    /* After the cut at close, the data lives in blocks. */
    s = open_db(dir, NULL);
    st = stats(s);
    assert_int_equal(st.head_samples, 0);
    assert_int_equal(st.block_samples, 601 + 6 + 1);
    storage_stats_fini(&st);
    assert_int_equal(read_series(s, "a", INT64_MIN, INT64_MAX, &got), 601);
    free(got);
    assert_int_equal(storage_close(s), 0);
    rm_dir(dir);
}

/* The last non-empty WAL segment of dir. */
static char *last_segment(const char *dir)
{
    char *wal, *best = NULL;
    assert_true(asprintf(&wal, "%s/wal", dir) > 0);
    DIR *d = opendir(wal);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *p;
        assert_true(asprintf(&p, "%s/%s", wal, de->d_name) > 0);
        struct stat sb;
        if (stat(p, &sb) == 0 && sb.st_size > 0 && (!best || strcmp(p, best) > 0)) {
            free(best);
            best = p;
        } else {
            free(p);
        }
    }
    closedir(d);
    free(wal);
    assert_non_null(best);
    return best;
}

static void test_wal_torn_tail(void **state)
{
    char *dir = make_dir();
    struct storage_opts o = {.no_cut_on_close = true};
    struct storage *s = open_db(dir, &o);
    append_range(s, "a", 1000, 10000, 1000, 1);
    append_range(s, "a", 11000, 20000, 1000, 2);
    assert_int_equal(storage_close(s), 0);
    char *seg = last_segment(dir);
    struct stat sb;
    assert_int_equal(stat(seg, &sb), 0);
    assert_int_equal(truncate(seg, sb.st_size - 3), 0);
    free(seg);

    s = open_db(dir, &o);
    struct storage_stats st = stats(s);
    assert_true(st.wal_torn_records_total >= 1);
    storage_stats_fini(&st);
    struct sample *got;
    assert_int_equal(read_series(s, "a", INT64_MIN, INT64_MAX, &got), 10);
    assert_int_equal(got[9].t_ms, 10000);
    free(got);
    /* The storage goes on working, and a later restart keeps what is new. */
    append_range(s, "a", 21000, 22000, 1000, 3);
    assert_int_equal(storage_close(s), 0);
    s = open_db(dir, NULL);
    assert_int_equal(read_series(s, "a", INT64_MIN, INT64_MAX, &got), 12);
    free(got);
    assert_int_equal(storage_close(s), 0);
    rm_dir(dir);
}

struct reported {
    int n;
    char what[32], msg[256];
};

static void on_report(void *ctx, const char *what, const char *msg)
{
    struct reported *r = ctx;
    r->n++;
    snprintf(r->what, sizeof r->what, "%s", what);
    snprintf(r->msg, sizeof r->msg, "%s", msg);
}

/* One flipped bit in the middle of a WAL segment loses the one record it
 * hit (100 samples), not the rest of the segment; the damage is counted and
 * reported. */
static void test_wal_bit_flip_mid_segment(void **state)
{
    char *dir = make_dir();
    struct storage_opts o = {.no_cut_on_close = true};
    struct storage *s = open_db(dir, &o);
    for (int i = 0; i < 100; i++)
        append_range(s, "a", 1000 + i * 100000, 1000 + i * 100000 + 99000, 1000, i);
    assert_int_equal(storage_close(s), 0);
    char *seg = last_segment(dir);
    struct stat sb;
    assert_int_equal(stat(seg, &sb), 0);
    int fd = open(seg, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, sb.st_size / 2), 1);
    c ^= 0x04;
    assert_int_equal(pwrite(fd, &c, 1, sb.st_size / 2), 1);
    close(fd);
    free(seg);

    struct reported r = {0};
    o = (struct storage_opts){.no_cut_on_close = true, .report = on_report, .report_ctx = &r};
    s = open_db(dir, &o);
    struct sample *got;
    size_t n = read_series(s, "a", INT64_MIN, INT64_MAX, &got);
    free(got);
    if (n != 9900)
        fail_msg("after one flipped bit: %zu of 10000 samples, want 9900", n);
    struct storage_stats st = stats(s);
    assert_int_equal(st.wal_corrupt_records_total, 1);
    assert_true(st.wal_corrupt_bytes_total > 0);
    assert_int_equal(st.wal_torn_records_total, 0);
    storage_stats_fini(&st);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.what, "wal_replay");
    assert_non_null(strstr(r.msg, "damaged"));
    assert_int_equal(storage_close(s), 0);
    rm_dir(dir);
}

static void test_retention(void **state)
{
    char *dir = make_dir();
    struct storage_opts o = {.retention_ms = 2 * DAY_MS, .partition_ms = DAY_MS};
    struct storage *s = open_db(dir, &o);
    append_range(s, "old", 1000, 100000, 1000, 1);
    append_range(s, "new", 5 * DAY_MS, 5 * DAY_MS + 10000, 1000, 2);
    maintain(s, true, 5 * DAY_MS + 3600000);
    struct storage_stats st = stats(s);
    assert_int_equal(st.partitions_dropped_total, 1);
    assert_int_equal(st.npartitions, 1);
    assert_int_equal(st.partitions[0].mint_ms, 5 * DAY_MS);
    assert_int_equal(st.block_samples, 11);
    storage_stats_fini(&st);
    struct sample *got;
    assert_int_equal(read_series(s, "old", INT64_MIN, INT64_MAX, &got), 0);
    free(got);
    char *p;
    assert_true(asprintf(&p, "%s/blocks/0", dir) > 0);
    struct stat sb;
    assert_int_equal(stat(p, &sb), -1);
    free(p);
    /* A series with nothing left in range is not listed. */
    struct matcher m;
    assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("old"), NULL), 0);
    struct storage_set *set;
    assert_int_equal(storage_select(s, &m, 1, 0, 10 * DAY_MS, &set, NULL), 0);
    assert_int_equal(storage_set_count(set), 0);
    storage_set_free(set);
    matcher_fini(&m);
    assert_int_equal(storage_close(s), 0);
    rm_dir(dir);
}

static void test_delete_and_compaction(void **state)
{
    char *dir = make_dir();
    struct storage *s = open_db(dir, NULL);
    append_range(s, "a", 0, 99000, 1000, 1);
    append_range(s, "b", 0, 99000, 1000, 2);
    maintain(s, true, 0);
    append_range(s, "a", 100000, 199000, 1000, 3);
    uint64_t bytes_before = STAT(s, bytes_on_disk);

    struct matcher m;
    assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("a"), NULL), 0);
    size_t ns;
    struct err e = {0};
    assert_int_equal(storage_delete(s, &m, 1, 50000, 150000, &ns, &e), 0);
    assert_int_equal(ns, 1);
    struct sample *got;
    size_t n = read_series(s, "a", INT64_MIN, INT64_MAX, &got);
    assert_int_equal(n, 50 + 49);
    assert_int_equal(got[49].t_ms, 49000);
    assert_int_equal(got[50].t_ms, 151000);
    free(got);
    assert_int_equal(read_series(s, "b", INT64_MIN, INT64_MAX, &got), 100);
    free(got);
    struct storage_stats st = stats(s);
    assert_int_equal(st.tombstones, 1);
    storage_stats_fini(&st);

    /* Written after the delete: visible. */
    append_ok(s, "a", (struct sample[]){{60000, 4}}, 1);
    assert_int_equal(read_series(s, "a", 60000, 60000, &got), 1);
    free(got);

    /* Restart before compaction: the tombstone survives. */
    assert_int_equal(storage_close(s), 0);
    s = open_db(dir, NULL);
    assert_int_equal(read_series(s, "a", INT64_MIN, INT64_MAX, &got), 100);
    free(got);
    maintain(s, false, 0); /* compaction applies and drops the tombstone */
    st = stats(s);
    assert_int_equal(st.tombstones, 0);
    assert_int_equal(st.block_samples, 100 + 100);
    assert_true(st.bytes_on_disk < bytes_before + 4096);
    storage_stats_fini(&st);
    assert_int_equal(storage_close(s), 0);
    s = open_db(dir, NULL);
    assert_int_equal(read_series(s, "a", INT64_MIN, INT64_MAX, &got), 100);
    assert_int_equal(got[50].t_ms, 60000);
    assert_true(got[50].v == 4);
    free(got);
    /* Delete everything of b: the whole series goes. */
    matcher_fini(&m);
    assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("b"), NULL), 0);
    assert_int_equal(storage_delete(s, &m, 1, INT64_MIN, INT64_MAX, &ns, &e), 0);
    assert_int_equal(read_series(s, "b", INT64_MIN, INT64_MAX, &got), 0);
    free(got);
    /* A wholly deleted series is no longer listed, before and after a restart. */
    assert_int_equal(count_series(s, "b"), 0);
    assert_int_equal(count_series(s, "a"), 1);
    struct storage_opts keep = {.dir = dir, .no_background = true, .no_cut_on_close = true};
    assert_int_equal(storage_close(s), 0);
    s = open_db(dir, &keep);
    assert_int_equal(count_series(s, "b"), 0);
    assert_int_equal(count_series(s, "a"), 1);
    maintain(s, false, 0);
    st = stats(s);
    assert_int_equal(st.block_samples, 100);
    storage_stats_fini(&st);
    matcher_fini(&m);
    assert_int_equal(storage_close(s), 0);
    rm_dir(dir);
}

static void test_limits(void **state)
{
    char *dir = make_dir();
    struct storage_opts o = {.max_series = 2, .max_label_value_len = 8};
    struct storage *s = open_db(dir, &o);
    struct batch b;
    batch_init(&b);
    const char *names[] = {"a", "toolongvalue", "b", "c", "a"};
    for (size_t i = 0; i < 5; i++) {
        batch_begin_series(&b);
        batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("m"));
        batch_add_label(&b, STRV_LIT("x"), strv_c(names[i]));
        batch_add_sample(&b, 1000 + (int64_t)i, 1);
        batch_end_series(&b);
    }
    struct storage_append_result r;
    struct err e = {0};
    assert_int_equal(storage_append(s, &b, &r, &e), TIDE_ELIMIT);
    assert_int_equal(e.code, TIDE_ELIMIT);
    assert_non_null(strstr(e.msg, "max_label_value_len"));
    assert_int_equal(r.samples_added, 3);    /* a, b, a again */
    assert_int_equal(r.samples_rejected, 2); /* too long, c over max_series */
    assert_int_equal(r.series_created, 2);
    /* The series limit message names the limit and the series. */
    batch_reset(&b);
    batch_begin_series(&b);
    batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("m"));
    batch_add_label(&b, STRV_LIT("x"), STRV_LIT("d"));
    batch_add_sample(&b, 1, 1);
    batch_end_series(&b);
    assert_int_equal(storage_append(s, &b, &r, &e), TIDE_ELIMIT);
    assert_non_null(strstr(e.msg, "max_series=2"));
    assert_non_null(strstr(e.msg, "x=\"d\""));
    batch_fini(&b);
    struct storage_stats st = stats(s);
    assert_int_equal(st.series, 2);
    assert_int_equal(st.samples_rejected_total, 3);
    storage_stats_fini(&st);
    assert_int_equal(storage_close(s), 0);
    rm_dir(dir);
}

static void test_lock_dir(void **state)
{
    char *dir = make_dir();
    struct storage *s = open_db(dir, NULL);
    struct storage_opts o = {.dir = dir, .no_background = true};
    struct storage *s2;
    struct err e = {0};
    assert_true(storage_open(&s2, &o, &e) < 0);
    assert_null(s2);
    assert_non_null(strstr(e.msg, "in use"));
    assert_int_equal(storage_close(s), 0);
    rm_dir(dir);
}

/* Background thread on: close must wake it at once. */
static void test_background_close(void **state)
{
    char *dir = make_dir();
    struct storage_opts o = {.dir = dir, .fsync_interval_ms = 10};
    struct storage *s;
    assert_int_equal(storage_open(&s, &o, NULL), 0);
    append_range(s, "a", 1000, 5000, 1000, 1);
    /* The timer fires every 10 ms; allow a loaded machine up to 5 s. */
    for (int i = 0; i < 500 && STAT(s, wal_fsyncs_total) < 1; i++)
        usleep(10000);
    assert_true(STAT(s, wal_fsyncs_total) >= 1);
    assert_int_equal(storage_close(s), 0);
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_special_floats),
        cmocka_unit_test(test_ooo_and_last_write_wins),
        cmocka_unit_test(test_head_many_chunks),
        cmocka_unit_test(test_restart_replays_wal),
        cmocka_unit_test(test_wal_torn_tail),
        cmocka_unit_test(test_wal_bit_flip_mid_segment),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_delete_and_compaction),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_lock_dir),
        cmocka_unit_test(test_background_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
