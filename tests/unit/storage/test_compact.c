/* test_compact.c: compaction under faults (compact.c, through storage.h). A
 * block whose page is damaged on disk stops the compaction of its own
 * partition only: the other partitions are still compacted, the failure is
 * counted by job, kept as the last error and handed to opts.report, and the
 * damaged partition is not retried (and re-reported) on every run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../testutil.h"
#include "../testutil_storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "storage/storage.h"

#define DAY_MS 86400000LL

struct reports {
    int n;
    char what[32];
    char msg[256];
};

static void on_report(void *ctx, const char *what, const char *msg)
{
    struct reports *r = ctx;
    r->n++;
    snprintf(r->what, sizeof r->what, "%s", what);
    snprintf(r->msg, sizeof r->msg, "%s", msg);
}

static struct storage *open_db(const char *dir, struct reports *r)
{
    struct storage_opts o = {.dir = dir, .no_background = true, .partition_ms = DAY_MS,
                             .report = on_report, .report_ctx = r};
    struct storage *s;
    struct err e = {0};
    int rc = storage_open(&s, &o, &e);
    if (rc)
        fail_msg("storage_open: %s (%s)", e.msg, tide_strerror(rc));
    return s;
}

/* m{k="0".."9"}: 100 samples each from t0 on, every second. */
static void append_day(struct storage *s, int64_t t0, double v)
{
    static const char *const kv[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    struct batch b; /* borrows the label strings */
    batch_init(&b);
    for (int k = 0; k < 10; k++) {
        batch_begin_series(&b);
        batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("m"));
        batch_add_label(&b, STRV_LIT("k"), strv_c(kv[k]));
        for (int i = 0; i < 100; i++)
            batch_add_sample(&b, t0 + i * 1000, v + i);
        batch_end_series(&b);
    }
    test_append(s, &b);
}

/* Blocks per partition, from the stats. */
static void blocks_of(struct storage *s, uint32_t *p0, uint32_t *p1)
{
    struct storage_stats st;
    assert_int_equal(storage_stats(s, &st), 0);
    *p0 = *p1 = 0;
    for (size_t i = 0; i < st.npartitions; i++) {
        if (st.partitions[i].mint_ms == 0)
            *p0 = st.partitions[i].blocks;
        else if (st.partitions[i].mint_ms == DAY_MS)
            *p1 = st.partitions[i].blocks;
    }
    storage_stats_fini(&st);
}

static void test_damaged_block_does_not_stop_compaction(void **state)
{
    (void)state;
    char *dir = test_tmpdir("tide_compact");
    struct reports r = {0};

    /* Two head cuts (at close), each touching both partitions: 2 + 2 blocks. */
    for (int round = 0; round < 2; round++) {
        struct storage *s = open_db(dir, &r);
        append_day(s, 1000 + round * 200000, 10 * round);
        append_day(s, DAY_MS + 1000 + round * 200000, 10 * round);
        assert_int_equal(storage_close(s), 0);
    }
    /* Damage a page of the oldest block (seq 1), the first one compaction
     * meets. Its index and footer are intact, so it opens fine. */
    char *victim = NULL;
    for (int p = 0; p < 2 && !victim; p++) {
        char *path;
        assert_true(asprintf(&path, "%s/blocks/%lld/00000001.blk", dir, p * DAY_MS) > 0);
        if (access(path, F_OK) == 0)
            victim = path;
        else
            free(path);
    }
    assert_non_null(victim);
    int fd = open(victim, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, 24), 1);
    c ^= 0x10;
    assert_int_equal(pwrite(fd, &c, 1, 24), 1);
    close(fd);
    bool victim_p0 = strstr(victim, "/blocks/0/") != NULL;

    struct storage *s = open_db(dir, &r);
    uint32_t b0, b1;
    blocks_of(s, &b0, &b1);
    assert_int_equal(b0, 2);
    assert_int_equal(b1, 2);

    struct err e = {0};
    assert_int_not_equal(storage_maintain(s, false, 3 * DAY_MS, &e), 0);
    assert_non_null(strstr(e.msg, "damaged"));
    blocks_of(s, &b0, &b1);
    /* The healthy partition was compacted in the same run. */
    assert_int_equal(victim_p0 ? b0 : b1, 2);
    assert_int_equal(victim_p0 ? b1 : b0, 1);

    struct storage_stats st;
    assert_int_equal(storage_stats(s, &st), 0);
    assert_int_equal(st.job_errors_total[STORAGE_JOB_COMPACTION], 1);
    assert_int_equal(st.job_errors_total[STORAGE_JOB_HEAD_CUT], 0);
    assert_int_equal(st.background_errors_total, 1);
    assert_int_equal(st.blocks_damaged, 1);
    assert_string_equal(st.last_error_job, "compaction");
    assert_non_null(strstr(st.last_error, "damaged"));
    assert_true(st.last_error_ms > 0);
    storage_stats_fini(&st);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.what, "compaction");
    assert_non_null(strstr(r.msg, victim));

    /* The next run leaves the damaged partition alone: no new error. */
    assert_int_equal(storage_maintain(s, false, 3 * DAY_MS, &e), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(storage_close(s), 0);
    free(victim);
    fs_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_damaged_block_does_not_stop_compaction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
