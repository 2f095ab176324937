/* test_retention_rules.c: per-series retention (retention_rules.c,
 * retention.c through storage.h) with a controllable clock: storage_maintain()
 * takes "now", so twelve days pass without sleeping.
 *
 * - Each series keeps exactly the partitions its first matching rule allows
 *   (the global retention last, 0 = forever); nothing newer is touched.
 * - Time passing drops one more day per rule; a restart changes nothing.
 * - SIGKILL at random moments during the rewrite of partitions loses no
 *   sample that must be kept, leaves no half-written block, and the next run
 *   finishes the job.
 * - The config reader refuses what it must, naming line and column.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../testutil.h"
#include "../testutil_storage.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/yaml_tree.h"
#include "storage/storage.h"

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
#define T0 (100 * DAY_MS)
#define DAYS 12

static const char *const rules_yaml =
    "retention_rules:\n"
    "  - match: '{job=\"short\"}'\n"
    "    retention: 2d\n"
    "  - match: '{__name__=~\"pod_.*\"}'\n"
    "    retention: 5d\n"
    "  - match: '{job=\"keep\"}'\n"
    "    retention: 0\n";

static void parse_policy(const char *yaml, struct storage_policy *p)
{
    struct yaml_tree *t;
    struct err e = {0};
    int rc = yaml_tree_parse(yaml, strlen(yaml), "test.yml", &t, &e);
    if (rc)
        fail_msg("yaml: %s", e.msg);
    const struct yaml_node *root = yaml_tree_root(t);
    rc = storage_policy_parse(yaml_tree_get(root, "tiers"), yaml_tree_get(root, "retention_rules"),
                              yaml_tree_get(root, "buckets"), DAY_MS, p, &e);
    yaml_tree_free(t);
    if (rc)
        fail_msg("policy: %s (line %d)", e.msg, e.line);
}

static struct storage *open_db(const char *dir, const struct storage_policy *p)
{
    struct storage_opts o = {.dir = dir, .no_background = true, .partition_ms = DAY_MS,
                             .retention_ms = p ? 10 * DAY_MS : 0, .policy = p};
    struct storage *s;
    struct err e = {0};
    int rc = storage_open(&s, &o, &e);
    if (rc)
        fail_msg("storage_open: %s (%s)", e.msg, tide_strerror(rc));
    return s;
}

static const char *const series[][2] = {
    {"m", "short"},      /* rule 1: 2d */
    {"pod_cpu", "x"},    /* rule 2: 5d */
    {"pod_mem", "short"}, /* rule 1 first: 2d */
    {"m", "long"},       /* no rule: global 10d */
    {"pod_net", "keep"}, /* rule 2 first: 5d */
    {"m", "keep"},       /* rule 3: forever */
};
#define NSERIES (sizeof series / sizeof series[0])
static const int64_t keep_days[NSERIES] = {2, 5, 2, 10, 5, 0};

/* `per_hour` samples an hour for DAYS days from T0, `copies` series of each kind
 * (label i="0".."copies-1"). */
static void fill(struct storage *s, int per_hour, int copies)
{
    char idx[16];
    for (int c = 0; c < copies; c++) {
        snprintf(idx, sizeof idx, "%d", c);
        struct batch b;
        batch_init(&b);
        for (size_t k = 0; k < NSERIES; k++) {
            batch_begin_series(&b);
            batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), strv_c(series[k][0]));
            batch_add_label(&b, STRV_LIT("i"), strv_c(idx));
            batch_add_label(&b, STRV_LIT("job"), strv_c(series[k][1]));
            for (int64_t t = 0; t < DAYS * 24 * per_hour; t++)
                batch_add_sample(&b, T0 + t * HOUR_MS / per_hour, (double)t);
            batch_end_series(&b);
        }
        test_append(s, &b);
    }
}

/* Samples and first timestamp of series k (copy 0), checked to be the
 * unbroken hourly run up to the end. */
static size_t count(struct storage *s, size_t k, int per_hour, int64_t *first)
{
    struct matcher m[3];
    struct err e = {0};
    assert_int_equal(matcher_init(&m[0], MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME),
                                  strv_c(series[k][0]), &e), 0);
    assert_int_equal(matcher_init(&m[1], MATCH_EQ, STRV_LIT("job"), strv_c(series[k][1]), &e), 0);
    assert_int_equal(matcher_init(&m[2], MATCH_EQ, STRV_LIT("i"), STRV_LIT("0"), &e), 0);
    struct storage_set *set;
    assert_int_equal(storage_select(s, m, 3, 0, INT64_MAX / 4, &set, &e), 0);
    size_t n = 0;
    *first = -1;
    while (storage_set_next(set)) {
        const struct sample *v;
        size_t nv;
        assert_int_equal(storage_set_samples(set, &v, &nv, &e), 0);
        for (size_t i = 0; i < nv; i++) {
            int64_t want_t = v[0].t_ms + (int64_t)i * HOUR_MS / per_hour;
            if (v[i].t_ms != want_t)
                fail_msg("series %zu: sample %zu at %lld, want %lld", k, i, (long long)v[i].t_ms,
                         (long long)want_t);
        }
        if (nv > 0) {
            *first = v[0].t_ms;
            assert_int_equal(v[nv - 1].t_ms, T0 + DAYS * DAY_MS - HOUR_MS / per_hour);
        }
        n += nv;
    }
    storage_set_free(set);
    for (int i = 0; i < 3; i++)
        matcher_fini(&m[i]);
    return n;
}

/* Every series keeps exactly the days its rule allows at now = T0 + days_passed. */
static void expect_kept(struct storage *s, int days_passed, int per_hour)
{
    for (size_t k = 0; k < NSERIES; k++) {
        int64_t first;
        size_t n = count(s, k, per_hour, &first);
        /* Partition p (day p of the data) stays while T0 + (p + 1) days > now - R. */
        int64_t days = keep_days[k] == 0 ? DAYS : DAYS - days_passed + keep_days[k];
        days = days < 0 ? 0 : days > DAYS ? DAYS : days;
        if (n != (size_t)(days * 24 * per_hour))
            fail_msg("series %s{job=%s} at day %d: %zu samples, want %lld", series[k][0],
                     series[k][1], days_passed, n, (long long)(days * 24 * per_hour));
        if (n > 0)
            assert_int_equal(first, T0 + (DAYS - days) * DAY_MS);
    }
}

static void test_rules_drop_exactly(void **state)
{
    (void)state;
    char *dir = test_tmpdir("tide_retrules");
    struct storage_policy p;
    parse_policy(rules_yaml, &p);
    struct storage *s = open_db(dir, &p);
    fill(s, 1, 1);
    struct err e = {0};
    for (int d = DAYS - 1; d <= DAYS + 3; d++) {
        if (storage_maintain(s, d == DAYS - 1, T0 + d * DAY_MS, &e) != 0)
            fail_msg("maintain: %s", e.msg);
        expect_kept(s, d, 1);
    }
    assert_int_equal(storage_close(s), 0);
    /* A restart keeps the result, and running again at the same time is a no-op. */
    s = open_db(dir, &p);
    expect_kept(s, DAYS + 3, 1);
    assert_int_equal(storage_maintain(s, false, T0 + (DAYS + 3) * DAY_MS, &e), 0);
    expect_kept(s, DAYS + 3, 1);
    assert_int_equal(storage_close(s), 0);
    storage_policy_fini(&p);
    fs_rm_rf(dir);
    free(dir);
}

/* Block files (*.blk) and leftovers (*.tmp) under dir/blocks. */
static void scan_blocks(const char *dir, int *blk, int *tmp)
{
    char *bd;
    assert_true(asprintf(&bd, "%s/blocks", dir) > 0);
    *blk = *tmp = 0;
    DIR *d = opendir(bd);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *pd;
        assert_true(asprintf(&pd, "%s/%s", bd, de->d_name) > 0);
        DIR *p = opendir(pd);
        struct dirent *f;
        while (p && (f = readdir(p)) != NULL) {
            size_t n = strlen(f->d_name);
            *blk += n > 4 && strcmp(f->d_name + n - 4, ".blk") == 0;
            *tmp += n > 4 && strcmp(f->d_name + n - 4, ".tmp") == 0;
        }
        if (p)
            closedir(p);
        free(pd);
    }
    closedir(d);
    free(bd);
}

static void test_sigkill_during_rewrite(void **state)
{
    (void)state;
    struct storage_policy p;
    parse_policy(rules_yaml, &p);
    uint64_t rnd = 0x9e3779b97f4a7c15ull;
    const int per_hour = 12, copies = 8;
    int64_t full_ns = 0;
    int killed_mid = 0, half_written = 0;
    for (int round = 0; round < 8; round++) {
        char *dir = test_tmpdir("tide_retrules");
        struct storage *s = open_db(dir, NULL); /* no retention while filling */
        fill(s, per_hour, copies);
        struct err e = {0};
        assert_int_equal(storage_maintain(s, true, T0, &e), 0);
        assert_int_equal(storage_close(s), 0);

        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct storage *cs = open_db(dir, &p);
            struct err ce = {0};
            int rc = storage_maintain(cs, false, T0 + DAYS * DAY_MS, &ce);
            _exit(rc == 0 ? 0 : 3); /* no close: as if killed right after */
        }
        if (round > 0) {
            /* Kill somewhere inside the run (open + rewrites) the first round measured. */
            int64_t at = (int64_t)(test_rnd(&rnd) % (uint64_t)(full_ns > 0 ? full_ns : 1));
            struct timespec ts = {at / 1000000000, at % 1000000000};
            nanosleep(&ts, NULL);
            kill(pid, SIGKILL);
        }
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (round == 0) {
            assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
            full_ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
        } else {
            killed_mid += WIFSIGNALED(st);
        }
        /* Whatever the moment: every sample that must stay is there. Read
         * with no policy, so the open itself drops nothing more. */
        int blk, tmp;
        scan_blocks(dir, &blk, &tmp);
        half_written += tmp > 0;
        s = open_db(dir, NULL);
        scan_blocks(dir, &blk, &tmp);
        assert_int_equal(tmp, 0); /* a killed writer's temporary file is removed at open */
        for (size_t k = 0; k < NSERIES; k++) {
            int64_t first;
            size_t n = count(s, k, per_hour, &first);
            int64_t days = keep_days[k] == 0 ? DAYS : keep_days[k];
            if (n < (size_t)(days * 24 * per_hour))
                fail_msg("round %d: series %zu lost samples: %zu, at least %lld", round, k, n,
                         (long long)(days * 24 * per_hour));
        }
        assert_int_equal(storage_close(s), 0);
        /* The next run finishes the job. */
        s = open_db(dir, &p);
        assert_int_equal(storage_maintain(s, false, T0 + DAYS * DAY_MS, &e), 0);
        expect_kept(s, DAYS, per_hour);
        assert_int_equal(storage_close(s), 0);
        fs_rm_rf(dir);
        free(dir);
    }
    print_message("retention rewrite: full run %.1f ms, %d of 7 rounds killed mid-run, %d "
                  "with a half-written block\n",
                  (double)full_ns / 1e6, killed_mid, half_written);
    storage_policy_fini(&p);
}

static void expect_parse_error(const char *yaml, int line, const char *needle)
{
    struct yaml_tree *t;
    struct err e = {0};
    assert_int_equal(yaml_tree_parse(yaml, strlen(yaml), "t.yml", &t, &e), 0);
    const struct yaml_node *root = yaml_tree_root(t);
    struct storage_policy p;
    int rc = storage_policy_parse(yaml_tree_get(root, "tiers"),
                                  yaml_tree_get(root, "retention_rules"),
                                  yaml_tree_get(root, "buckets"), DAY_MS, &p, &e);
    yaml_tree_free(t);
    assert_int_not_equal(rc, 0);
    if (strstr(e.msg, needle) == NULL)
        fail_msg("error \"%s\" does not say \"%s\"", e.msg, needle);
    assert_int_equal(e.line, line);
}

static void test_policy_config(void **state)
{
    (void)state;
    struct storage_policy p;
    parse_policy("x: 1\n", &p);
    assert_int_equal(p.ntiers, 2); /* the defaults: 5m for 1y, 1h for 5y */
    assert_string_equal(p.tiers[0].name, "5m");
    assert_int_equal(p.tiers[1].retention_ms, 5 * 365 * DAY_MS);
    storage_policy_fini(&p);
    parse_policy("tiers: []\nbuckets:\n  vote-latencies-raw: 24h\n  agg: {retention: 30d, tiers: "
                 "{}}\nretention_rules:\n  - {match: '{job=\"node\"}', retention: 90d}\n",
                 &p);
    assert_int_equal(p.ntiers, 0);
    assert_int_equal(p.nrules, 3);
    assert_string_equal(p.rules[0].bucket, "vote-latencies-raw");
    assert_int_equal(p.rules[0].retention_ms, DAY_MS);
    assert_non_null(storage_policy_bucket(&p, "agg"));
    assert_null(storage_policy_bucket(&p, "nope"));
    assert_null(p.rules[2].bucket);
    storage_policy_fini(&p);
    parse_policy("tiers:\n  - {resolution: 1m, retention: 7d}\n  - {resolution: 1h, name: hourly}\n"
                 "retention_rules:\n  - {match: 'up', retention: 1d, tiers: {hourly: 30d}}\n",
                 &p);
    assert_string_equal(p.tiers[0].name, "1m");
    assert_string_equal(p.tiers[1].name, "hourly");
    assert_int_equal(p.tiers[1].retention_ms, 0);
    assert_int_equal(p.rules[0].tier_retention_ms[0], -1);
    assert_int_equal(p.rules[0].tier_retention_ms[1], 30 * DAY_MS);
    storage_policy_fini(&p);

    expect_parse_error("tiers:\n  - {resolution: 7m}\n", 2, "divide the partition");
    expect_parse_error("tiers:\n  - {resolution: 1h}\n  - {resolution: 5m}\n", 3, "fine to coarse");
    expect_parse_error("retention_rules:\n  - {match: '{a=}', retention: 1d}\n", 2, "bad selector");
    expect_parse_error("retention_rules:\n  - {match: 'up'}\n", 2, "retention");
    expect_parse_error("retention_rules:\n  - {match: 'up', retention: 1d, tiers: {9m: 1d}}\n", 2,
                       "no tier named");
    expect_parse_error("retention_rules:\n  - {match: 'up', retention: 1d, keep: 1}\n", 2,
                       "unknown key");
    expect_parse_error("buckets:\n  a: soon\n", 2, "duration");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_config),
        cmocka_unit_test(test_rules_drop_exactly),
        cmocka_unit_test(test_sigkill_during_rewrite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
