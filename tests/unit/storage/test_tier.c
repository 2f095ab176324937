/* test_tier.c: rollup tiers (tier.c, rollup.c, through storage.h).
 *
 * - The rollups read back (from tier files where they are valid, computed
 *   from raw samples elsewhere) equal, bit for bit, the rollups of the raw
 *   samples, on counters with resets, gauges with NaN and ±Inf, stale
 *   markers and gaps; and after compaction they come from the tier files.
 * - Out-of-order writes and backfill into a rolled-up partition are seen at
 *   once (the head is rolled up on the spot) and rolled up again at the
 *   next maintenance.
 * - A restart keeps the tiers; once retention drops the raw data the tiers
 *   still answer the same; tier retention drops them in turn.
 * - SIGKILL at random moments of the tier computation leaves no
 *   half-written tier file and no wrong rollup.
 * - Many series over many partitions, read in groups, and in batches by two
 *   threads at once, with raw windows between tier partitions for some: the
 *   same rollups.
 * - rollup_decode() of some fields and windows, and its corruption checks.
 * - storage_rollup_compute() itself on a hand-made series.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../testutil.h"
#include "../testutil_storage.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/fs.h"
#include "core/yaml_tree.h"
#include "storage/storage.h"
#include "storage/tier.h"

#define DAY_MS 86400000LL
#define T0 (200 * DAY_MS)
#define NS 6

static void parse_policy(const char *yaml, struct storage_policy *p)
{
    struct yaml_tree *t;
    struct err e = {0};
    assert_int_equal(yaml_tree_parse(yaml, strlen(yaml), "t.yml", &t, &e), 0);
    const struct yaml_node *root = yaml_tree_root(t);
    int rc = storage_policy_parse(yaml_tree_get(root, "tiers"), yaml_tree_get(root, "retention_rules"),
                                  NULL, DAY_MS, p, &e);
    yaml_tree_free(t);
    if (rc)
        fail_msg("policy: %s", e.msg);
}

static struct storage *open_db(const char *dir, const struct storage_policy *p, int64_t ret)
{
    struct storage_opts o = {.dir = dir, .no_background = true, .partition_ms = DAY_MS,
                             .retention_ms = ret, .policy = p};
    struct storage *s;
    struct err e = {0};
    int rc = storage_open(&s, &o, &e);
    if (rc)
        fail_msg("storage_open: %s", e.msg);
    return s;
}

/* Series k: a counter with resets (even k) or a gauge with NaN/±Inf (odd),
 * every 10 s with jitter, stale markers, gaps of up to 3 h, for `days` days
 * from `from`. */
static void gen(struct storage *s, uint64_t seed, int64_t from, int days)
{
    static const char *const names[NS] = {"c0", "g1", "c2", "g3", "c4", "g5"};
    struct batch b;
    batch_init(&b);
    for (int k = 0; k < NS; k++) {
        uint64_t r = seed * 7919 + (uint64_t)k + 1;
        batch_begin_series(&b);
        batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), strv_c(names[k]));
        double c = 0;
        for (int64_t t = from; t < from + days * DAY_MS;) {
            uint64_t x = test_rnd(&r);
            double v;
            if (k % 2 == 0) {
                c += (double)(x % 100) / 4;
                if (x % 997 == 0)
                    c = (double)(x % 7); /* reset */
                v = c;
            } else {
                v = (double)(int64_t)(x % 2000) / 8 - 100;
                if (x % 1009 == 0)
                    v = NAN;
                else if (x % 1013 == 0)
                    v = x & 1 ? INFINITY : -INFINITY;
            }
            if (x % 1999 == 0)
                v = from_bits(STALE_NAN_BITS);
            batch_add_sample(&b, t, v);
            t += 10000 + (int64_t)(x % 3) * 1000 - 1000;
            if (x % 4001 == 0)
                t += (int64_t)(x % 3) * 3600000; /* a gap */
        }
        batch_end_series(&b);
    }
    test_append(s, &b);
}

static bool same(double a, double b)
{
    return bits(a) == bits(b) || (isnan(a) && isnan(b));
}

static void same_rollups(const struct storage_rollup *a, size_t na, const struct storage_rollup *b,
                         size_t nb, const char *what)
{
    if (na != nb)
        fail_msg("%s: %zu rollups, want %zu", what, na, nb);
    for (size_t i = 0; i < na; i++) {
        const struct storage_rollup *x = &a[i], *y = &b[i];
        if (x->t_ms != y->t_ms || !same(x->count, y->count) || !same(x->sum, y->sum) ||
            !same(x->min, y->min) || !same(x->max, y->max) || x->first_t != y->first_t ||
            x->last_t != y->last_t || !same(x->first, y->first) || !same(x->last, y->last) ||
            !same(x->resets, y->resets))
            fail_msg("%s: window %zu (t %lld) differs: count %g/%g sum %g/%g min %g/%g max %g/%g "
                     "first %lld=%g/%lld=%g last %lld=%g/%lld=%g resets %g/%g",
                     what, i, (long long)x->t_ms, x->count, y->count, x->sum, y->sum, x->min,
                     y->min, x->max, y->max, (long long)x->first_t, x->first,
                     (long long)y->first_t, y->first, (long long)x->last_t, x->last,
                     (long long)y->last_t, y->last, x->resets, y->resets);
    }
}

/* Every series' rollups in every tier over [lo, hi] against the rollups of
 * `want_raw` (a copy of the raw samples taken while they existed), or of the
 * raw samples now when want_raw is NULL. Returns the sources seen. */
struct raw_copy {
    struct sample *v[NS];
    size_t n[NS];
};

static void copy_raw(struct storage *s, struct raw_copy *rc_)
{
    struct matcher m;
    struct err e = {0};
    assert_int_equal(matcher_init(&m, MATCH_RE, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT(".+"), &e), 0);
    struct storage_set *set;
    assert_int_equal(storage_select(s, &m, 1, INT64_MIN / 4, INT64_MAX / 4, &set, &e), 0);
    size_t k = 0;
    while (storage_set_next(set)) {
        assert_true(k < NS);
        assert_int_equal(storage_set_take_samples(set, &rc_->v[k], &rc_->n[k], &e), 0);
        k++;
    }
    assert_int_equal(k, NS);
    storage_set_free(set);
    matcher_fini(&m);
}

static void free_raw(struct raw_copy *r)
{
    for (int k = 0; k < NS; k++)
        free(r->v[k]);
    memset(r, 0, sizeof *r);
}

static unsigned check_all(struct storage *s, const struct raw_copy *raw, int64_t lo, int64_t hi,
                          const char *what)
{
    struct matcher m;
    struct err e = {0};
    assert_int_equal(matcher_init(&m, MATCH_RE, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT(".+"), &e), 0);
    unsigned sources = 0;
    for (int t = 0; t < 2; t++) {
        int64_t res = storage_tier_resolution(s, t);
        struct storage_set *set;
        assert_int_equal(storage_select_rollups(s, &m, 1, t, lo, hi, &set, &e), 0);
        size_t k = 0;
        while (storage_set_next(set)) {
            struct storage_rollups single = {0};
            if (storage_set_read_rollups(set, k, 1, &single, &sources, &e) != 0)
                fail_msg("%s: %s", what, e.msg);
            const struct storage_rollup *got = single.v;
            size_t ngot = single.n;
            /* The reference: raw samples in the windows, rolled up. */
            struct storage_rollup *want = NULL;
            size_t nwant = 0, cap = 0, a = 0, b = raw->n[k];
            int64_t wlo = lo - ((lo % res) + res) % res, whi = hi - ((hi % res) + res) % res + res;
            while (a < b && raw->v[k][a].t_ms < wlo)
                a++;
            while (b > a && raw->v[k][b - 1].t_ms >= whi)
                b--;
            assert_int_equal(storage_rollup_compute(raw->v[k] + a, b - a, res, &want, &nwant, &cap), 0);
            char w[96];
            snprintf(w, sizeof w, "%s tier %d series %zu", what, t, k);
            same_rollups(got, ngot, want, nwant, w);
            free(want);
            free(single.v);
            k++;
        }
        storage_set_free(set);
    }
    matcher_fini(&m);
    return sources;
}

static const char *const tiers_yaml = "tiers:\n  - {resolution: 5m, retention: 30d}\n"
                                      "  - {resolution: 1h, retention: 60d}\n";

static void test_rollups_equal_raw(void **state)
{
    (void)state;
    char *dir = test_tmpdir("tide_tier");
    struct storage_policy p;
    parse_policy(tiers_yaml, &p);
    struct storage *s = open_db(dir, &p, 10 * DAY_MS);
    gen(s, 1, T0, 3);
    struct raw_copy raw = {0};
    copy_raw(s, &raw);
    /* All in the head: computed on the spot. */
    assert_int_equal(check_all(s, &raw, T0 - DAY_MS, T0 + 4 * DAY_MS, "head"), 1);
    struct err e = {0};
    assert_int_equal(storage_maintain(s, true, T0 + 3 * DAY_MS, &e), 0);
    /* Cut and rolled up: from the tier files only. Odd ranges too. */
    assert_int_equal(check_all(s, &raw, T0 - DAY_MS, T0 + 4 * DAY_MS, "blocks"), 2);
    check_all(s, &raw, T0 + 3600000 + 300000, T0 + DAY_MS + 7 * 3600000, "inner");

    struct storage_usage u;
    assert_int_equal(storage_usage(s, &u), 0);
    assert_int_equal(u.ntiers, 3);
    assert_string_equal(u.tiers[1].name, "5m");
    assert_int_equal(u.tiers[1].series, NS);
    assert_true(u.tiers[1].samples > 0 && u.tiers[2].samples < u.tiers[1].samples);
    assert_true(u.tiers[2].bytes > 0 && u.tiers[2].bytes < u.tiers[0].bytes);
    assert_true(u.tiers[1].mint_ms <= T0 && u.tiers[1].maxt_ms >= T0 + 2 * DAY_MS);
    storage_usage_fini(&u);

    /* Backfill and out-of-order writes into day 1: seen at once, rolled up again later. */
    gen(s, 2, T0 + DAY_MS + 5000, 1);
    free_raw(&raw);
    copy_raw(s, &raw);
    assert_int_equal(check_all(s, &raw, T0, T0 + 3 * DAY_MS, "backfill in head") & 1, 1);
    assert_int_equal(storage_maintain(s, true, T0 + 3 * DAY_MS, &e), 0);
    assert_int_equal(check_all(s, &raw, T0, T0 + 3 * DAY_MS, "backfill compacted"), 2);

    /* A delete hides samples at once: the tier is not used for that partition. */
    struct matcher m;
    assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("g1"), &e), 0);
    assert_int_equal(storage_delete(s, &m, 1, T0 + 3600000, T0 + 2 * 3600000, NULL, &e), 0);
    matcher_fini(&m);
    free_raw(&raw);
    copy_raw(s, &raw);
    check_all(s, &raw, T0, T0 + 3 * DAY_MS, "after delete");
    assert_int_equal(storage_maintain(s, false, T0 + 3 * DAY_MS, &e), 0);
    assert_int_equal(check_all(s, &raw, T0, T0 + 3 * DAY_MS, "delete compacted"), 2);

    /* Restart keeps the tiers. */
    assert_int_equal(storage_close(s), 0);
    s = open_db(dir, &p, 10 * DAY_MS);
    /* (The WAL's delete record, replayed, puts its tombstone back over the
     * compacted block: that partition is rolled up from raw data until the
     * next compaction.) */
    check_all(s, &raw, T0, T0 + 3 * DAY_MS, "restarted");
    assert_int_equal(storage_maintain(s, false, T0 + 3 * DAY_MS, &e), 0);
    assert_int_equal(check_all(s, &raw, T0, T0 + 3 * DAY_MS, "restarted, compacted"), 2);

    /* Raw retention (10d) drops the raw data; the tiers (30d, 60d) still answer. */
    assert_int_equal(storage_maintain(s, false, T0 + 20 * DAY_MS, &e), 0);
    struct storage_stats st;
    assert_int_equal(storage_stats(s, &st), 0);
    assert_int_equal(st.block_samples, 0);
    storage_stats_fini(&st);
    assert_int_equal(check_all(s, &raw, T0, T0 + 3 * DAY_MS, "raw gone"), 2);
    assert_int_equal(storage_close(s), 0);
    s = open_db(dir, &p, 10 * DAY_MS);
    assert_int_equal(check_all(s, &raw, T0, T0 + 3 * DAY_MS, "raw gone, restarted"), 2);

    /* 5m retention (30d) drops the 5m tier; 1h stays to 60d. */
    assert_int_equal(storage_maintain(s, false, T0 + 40 * DAY_MS, &e), 0);
    assert_int_equal(storage_usage(s, &u), 0);
    assert_int_equal(u.tiers[1].samples, 0);
    assert_true(u.tiers[2].samples > 0);
    storage_usage_fini(&u);
    assert_int_equal(storage_maintain(s, false, T0 + 70 * DAY_MS, &e), 0);
    assert_int_equal(storage_usage(s, &u), 0);
    assert_int_equal(u.tiers[2].samples, 0);
    storage_usage_fini(&u);
    assert_int_equal(storage_close(s), 0);

    free_raw(&raw);
    storage_policy_fini(&p);
    fs_rm_rf(dir);
    free(dir);
}

/* Many series over many partitions: a rollup set reads its series in
 * groups (querier.c, tier_read.c), and two threads read it in batches at
 * once (storage_set_read_rollups(), as query/tier_points.c does). 37 series
 * (groups not full) over 12 days, some with backfill in the head in the
 * middle (raw windows between tier partitions, per series), one with a
 * delete (a whole partition from raw): every series' rollups equal those
 * of its raw samples, in every tier, over the whole range and a part. */
static void many_series(struct storage *s, int nser, int64_t from, int days, int step_min,
                        int only_mod)
{
    struct batch b;
    batch_init(&b);
    char names[64][16]; /* the batch borrows its labels until appended */
    assert_true(nser <= 64);
    for (int k = 0; k < nser; k++) {
        if (only_mod && k % only_mod != 0)
            continue;
        char *name = names[k];
        snprintf(name, sizeof names[k], "s%02d", k);
        batch_begin_series(&b);
        batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("many"));
        batch_add_label(&b, STRV_LIT("k"), strv_c(name));
        for (int64_t t = from; t < from + days * DAY_MS; t += step_min * 60000LL)
            batch_add_sample(&b, t + k * 1000, (double)((t / 60000 + k * 7) % 1000) / 4);
        batch_end_series(&b);
    }
    test_append(s, &b);
}

/* One of two threads reading a rollup set with storage_set_read_rollups():
 * the batches b with b % 2 == half, copies into got[]. */
struct batch_reader {
    struct storage_set *set;
    int half;
    struct storage_rollups *got; /* one per series of the set */
    int rc;
};

static void *read_batches(void *arg)
{
    struct batch_reader *br = arg;
    struct storage_rollups out[STORAGE_ROLLUP_BATCH] = {0};
    size_t n = storage_set_count(br->set);
    struct err e = {0};
    unsigned sources = 0;
    for (size_t b = (size_t)br->half; b * STORAGE_ROLLUP_BATCH < n && br->rc == 0; b += 2) {
        size_t first = b * STORAGE_ROLLUP_BATCH;
        size_t cnt = n - first < STORAGE_ROLLUP_BATCH ? n - first : STORAGE_ROLLUP_BATCH;
        br->rc = storage_set_read_rollups(br->set, first, cnt, out, &sources, &e);
        for (size_t q = 0; q < cnt && br->rc == 0; q++) {
            struct storage_rollups *g = &br->got[first + q];
            g->v = malloc((out[q].n ? out[q].n : 1) * sizeof *g->v);
            if (g->v == NULL) {
                br->rc = -1;
                break;
            }
            memcpy(g->v, out[q].v, out[q].n * sizeof *g->v);
            g->n = out[q].n;
        }
    }
    for (size_t q = 0; q < STORAGE_ROLLUP_BATCH; q++)
        free(out[q].v);
    return NULL;
}

static void check_many(struct storage *s, int nser, int64_t lo, int64_t hi, const char *what)
{
    struct matcher m;
    struct err e = {0};
    assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("many"), &e), 0);
    for (int t = 0; t < 2; t++) {
        int64_t res = storage_tier_resolution(s, t);
        int64_t wlo = lo - ((lo % res) + res) % res, whi = hi - ((hi % res) + res) % res + res;
        struct storage_set *raw, *set;
        assert_int_equal(storage_select(s, &m, 1, wlo, whi - 1, &raw, &e), 0);
        assert_int_equal(storage_select_rollups(s, &m, 1, t, lo, hi, &set, &e), 0);
        /* The same set read in batches by two threads at once, first. */
        struct storage_rollups *got2 = calloc((size_t)nser, sizeof *got2);
        assert_non_null(got2);
        assert_int_equal(storage_set_count(set), (size_t)nser);
        struct batch_reader br[2] = {{set, 0, got2, 0}, {set, 1, got2, 0}};
        pthread_t th[2];
        for (int j = 0; j < 2; j++)
            assert_int_equal(pthread_create(&th[j], NULL, read_batches, &br[j]), 0);
        for (int j = 0; j < 2; j++)
            pthread_join(th[j], NULL);
        assert_int_equal(br[0].rc, 0);
        assert_int_equal(br[1].rc, 0);
        int k = 0;
        while (storage_set_next(set)) {
            assert_true(storage_set_next(raw));
            struct sample *v = NULL;
            size_t nv = 0;
            assert_int_equal(storage_set_take_samples(raw, &v, &nv, &e), 0);
            struct storage_rollup *want = NULL;
            size_t nwant = 0, cap = 0;
            assert_int_equal(storage_rollup_compute(v, nv, res, &want, &nwant, &cap), 0);
            struct storage_rollups single = {0};
            unsigned src = 0;
            if (storage_set_read_rollups(set, (size_t)k, 1, &single, &src, &e) != 0)
                fail_msg("%s: %s", what, e.msg);
            const struct storage_rollup *got = single.v;
            size_t ngot = single.n;
            char w[96];
            snprintf(w, sizeof w, "%s tier %d series %d", what, t, k);
            same_rollups(got, ngot, want, nwant, w);
            strcat(w, " (batches)");
            same_rollups(got2[k].v, got2[k].n, want, nwant, w);
            /* Labels by index are the current series'. */
            const struct label *l1, *l2;
            size_t n1, n2;
            storage_set_labels(set, &l1, &n1);
            struct arena a;
            arena_init(&a, 0);
            assert_int_equal(storage_set_labels_at(set, (size_t)k, &a, &l2, &n2), 0);
            assert_int_equal(labels_cmp(l1, n1, l2, n2), 0);
            arena_fini(&a);
            free(got2[k].v);
            free(single.v);
            free(want);
            free(v);
            k++;
        }
        assert_int_equal(k, nser);
        free(got2);
        struct storage_rollups one = {0};
        unsigned src = 0;
        assert_int_equal(storage_set_read_rollups(set, (size_t)nser, 1, &one, &src, &e),
                         TIDE_EINVAL); /* past the end */
        assert_false(storage_set_next(raw));
        storage_set_free(set);
        storage_set_free(raw);
    }
    matcher_fini(&m);
}

static void test_group_reads(void **state)
{
    (void)state;
    char *dir = test_tmpdir("tide_tier");
    struct storage_policy p;
    parse_policy(tiers_yaml, &p);
    struct storage *s = open_db(dir, &p, 0);
    const int nser = 37, days = 12;
    many_series(s, nser, T0, days, 15, 0);
    struct err e = {0};
    assert_int_equal(storage_maintain(s, true, T0 + days * DAY_MS, &e), 0);
    check_many(s, nser, T0 - DAY_MS, T0 + (days + 1) * DAY_MS, "rolled up");
    /* Backfill into day 5 for every 5th series: in the head, so their day 5
     * comes from raw data between tier partitions. */
    many_series(s, nser, T0 + 5 * DAY_MS + 7 * 60000, 1, 30, 5);
    struct matcher m;
    assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT("k"), STRV_LIT("s17"), &e), 0);
    assert_int_equal(storage_delete(s, &m, 1, T0 + 2 * DAY_MS + 3600000,
                                    T0 + 2 * DAY_MS + 2 * 3600000, NULL, &e), 0);
    matcher_fini(&m);
    check_many(s, nser, T0 - DAY_MS, T0 + (days + 1) * DAY_MS, "backfill and delete");
    check_many(s, nser, T0 + DAY_MS + 3 * 3600000, T0 + 9 * DAY_MS, "inner");
    assert_int_equal(storage_maintain(s, true, T0 + days * DAY_MS, &e), 0);
    check_many(s, nser, T0 - DAY_MS, T0 + (days + 1) * DAY_MS, "compacted");
    assert_int_equal(storage_close(s), 0);
    storage_policy_fini(&p);
    fs_rm_rf(dir);
    free(dir);
}

static int count_tmp(const char *dir)
{
    int n = 0;
    for (int t = 0; t < 2; t++) {
        char *d;
        assert_true(asprintf(&d, "%s/tiers/%s", dir, t ? "1h" : "5m") > 0);
        DIR *dd = opendir(d);
        struct dirent *de;
        while (dd && (de = readdir(dd)) != NULL) {
            size_t l = strlen(de->d_name);
            n += l > 4 && strcmp(de->d_name + l - 4, ".tmp") == 0;
        }
        if (dd)
            closedir(dd);
        free(d);
    }
    return n;
}

static void test_sigkill_during_rollup(void **state)
{
    (void)state;
    struct storage_policy p;
    parse_policy(tiers_yaml, &p);
    uint64_t rnd = 42;
    int64_t full_ns = 0;
    int half = 0, killed = 0;
    for (int round = 0; round < 7; round++) {
        char *dir = test_tmpdir("tide_tier");
        struct storage *s = open_db(dir, NULL, 0); /* no tiers yet */
        gen(s, 3, T0, 4);
        struct err e = {0};
        assert_int_equal(storage_maintain(s, true, T0, &e), 0);
        struct raw_copy raw = {0};
        copy_raw(s, &raw);
        assert_int_equal(storage_close(s), 0);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct storage *cs = open_db(dir, &p, 0);
            struct err ce = {0};
            _exit(storage_maintain(cs, false, T0, &ce) == 0 ? 0 : 3);
        }
        if (round > 0) {
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
        }
        killed += round > 0 && WIFSIGNALED(st);
        half += count_tmp(dir) > 0;
        /* Whatever survived answers exactly; then the next run completes it. */
        s = open_db(dir, &p, 0);
        assert_int_equal(count_tmp(dir), 0);
        check_all(s, &raw, T0, T0 + 4 * DAY_MS, "after kill");
        assert_int_equal(storage_maintain(s, false, T0, &e), 0);
        assert_int_equal(check_all(s, &raw, T0, T0 + 4 * DAY_MS, "completed"), 2);
        assert_int_equal(storage_close(s), 0);
        free_raw(&raw);
        fs_rm_rf(dir);
        free(dir);
    }
    print_message("tier computation: full run %.1f ms, %d of 6 killed mid-run, %d left a "
                  "half-written file\n",
                  (double)full_ns / 1e6, killed, half);
    storage_policy_fini(&p);
}

/* rollup_encode() then rollup_decode() of some fields and windows: the
 * windows asked for come back with those fields (the others 0, times at the
 * window start); a column whose timestamps differ from the first column's,
 * inside the windows asked for or outside them, or a first column of
 * another field, is TIDE_ECORRUPT. */
static void test_rollup_decode(void **state)
{
    (void)state;
    enum { W = 30 };
    const int64_t res = 60000;
    struct storage_rollup in[W];
    for (int i = 0; i < W; i++) {
        int64_t t = (int64_t)(100 + 2 * i) * res; /* every other window: a gap each */
        in[i] = (struct storage_rollup){.t_ms = t, .count = 3 + i, .sum = i * 1.5, .min = -i,
                                        .max = i, .first_t = t + 1000, .first = 10 + i,
                                        .last_t = t + 59000, .last = 20 + i, .resets = i % 3};
    }
    struct sample *enc = NULL;
    size_t cap = 0;
    assert_int_equal(rollup_encode(in, W, res, &enc, &cap), 0);
    static const unsigned sets[] = {STORAGE_RU_ALL,
                                    STORAGE_RU_COUNT | STORAGE_RU_SUM | STORAGE_RU_FIRST,
                                    STORAGE_RU_FIRST | STORAGE_RU_LAST | STORAGE_RU_RESETS,
                                    STORAGE_RU_LAST | STORAGE_RU_LAST_T, STORAGE_RU_MAX, 0};
    static const int64_t ranges[][2] = {{0, 1000}, {110, 150}, {111, 111}, {200, 300}};
    struct sample sel[W * ROLLUP_FIELDS];
    for (size_t f = 0; f < sizeof sets / sizeof sets[0]; f++) {
        unsigned fields = rollup_fields_of(sets[f]);
        size_t n = 0;
        for (int j = 0; j < ROLLUP_FIELDS; j++)
            if (fields & (1u << j))
                for (int i = 0; i < W; i++)
                    sel[n++] = enc[(size_t)j * W + i];
        for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
            struct storage_rollup *out = NULL;
            size_t nout = 0, ocap = 0;
            int64_t ka = ranges[r][0], kb = ranges[r][1];
            assert_int_equal(rollup_decode(sel, n, fields, res, ka, kb, &out, &nout, &ocap), 0);
            size_t k = 0;
            for (int i = 0; i < W; i++) {
                int64_t w = in[i].t_ms / res;
                if (w < ka || w > kb)
                    continue;
                assert_true(k < nout);
                const struct storage_rollup *x = &out[k++], *y = &in[i];
                assert_int_equal(x->t_ms, y->t_ms);
                /* Asking for nothing reads count. */
                bool count = (sets[f] & STORAGE_RU_COUNT) || sets[f] == 0;
                assert_true(x->count == (count ? y->count : 0));
                assert_true(x->sum == (sets[f] & STORAGE_RU_SUM ? y->sum : 0));
                assert_true(x->max == (sets[f] & STORAGE_RU_MAX ? y->max : 0));
                assert_int_equal(x->first_t, sets[f] & STORAGE_RU_FIRST ? y->first_t : y->t_ms);
                assert_true(x->last == (sets[f] & STORAGE_RU_LAST ? y->last : 0));
                assert_int_equal(x->last_t, sets[f] & STORAGE_RU_LAST_T ? y->last_t : y->t_ms);
                assert_true(x->resets == (sets[f] & STORAGE_RU_RESETS ? y->resets : 0));
            }
            assert_int_equal(k, nout);
            /* One timestamp off in the last column: before, inside and after
             * the windows asked for. */
            for (int at = 0; at < W && n > (size_t)W; at += 7) {
                sel[n - W + (size_t)at].t_ms++;
                nout = 0;
                assert_int_equal(rollup_decode(sel, n, fields, res, ka, kb, &out, &nout, &ocap),
                                 TIDE_ECORRUPT);
                sel[n - W + (size_t)at].t_ms--;
            }
            free(out);
        }
        /* A first column of another field. */
        if (n > 0) {
            struct storage_rollup *out = NULL;
            size_t nout = 0, ocap = 0;
            sel[3].t_ms += INT64_C(1) << ROLLUP_FIELD_SHIFT;
            assert_int_equal(rollup_decode(sel, n, fields, res, 0, 1000, &out, &nout, &ocap),
                             TIDE_ECORRUPT);
            sel[3].t_ms -= INT64_C(1) << ROLLUP_FIELD_SHIFT;
            free(out);
        }
    }
    free(enc);
}

static void test_rollup_compute(void **state)
{
    (void)state;
    const double st = from_bits(STALE_NAN_BITS);
    /* Windows of 10: [0,10) holds 1, 5 (reset from 7? no: 1 then 5), [10,20) 7, 3 (reset), stale;
     * [20,30) only a stale marker: no window; [30,40) NaN, 2. */
    const struct sample v[] = {{1, 1}, {5, 5}, {10, 7}, {15, 3}, {19, st}, {25, st}, {30, NAN}, {39, 2}};
    struct storage_rollup *r = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(storage_rollup_compute(v, sizeof v / sizeof v[0], 10, &r, &n, &cap), 0);
    assert_int_equal(n, 3);
    assert_int_equal(r[0].t_ms, 0);
    assert_true(r[0].count == 2 && r[0].sum == 6 && r[0].min == 1 && r[0].max == 5);
    assert_true(r[0].first_t == 1 && r[0].last_t == 5 && r[0].resets == 0);
    assert_int_equal(r[1].t_ms, 10);
    assert_true(r[1].count == 2 && r[1].resets == 7 && r[1].last == 3 && r[1].last_t == 15);
    assert_int_equal(r[2].t_ms, 30);
    assert_true(r[2].count == 2 && isnan(r[2].sum) && r[2].min == 2 && r[2].max == 2);
    assert_true(isnan(r[2].first) && r[2].last == 2);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rollup_compute),
        cmocka_unit_test(test_rollup_decode),
        cmocka_unit_test(test_rollups_equal_raw),
        cmocka_unit_test(test_group_reads),
        cmocka_unit_test(test_sigkill_during_rollup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
