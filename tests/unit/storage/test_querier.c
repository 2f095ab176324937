/* test_querier.c: label names/values with matchers and time ranges, the
 * time restriction of selects, tsdb status, and concurrent readers, writers
 * and head cuts (storage/querier.c, status.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "storage/storage.h"

static char *make_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *p;
    assert_true(asprintf(&p, "%s/tide_q_XXXXXX", tmp && *tmp ? tmp : "/tmp") > 0);
    assert_non_null(mkdtemp(p));
    return p;
}

/* Append one sample to the series given as "name,k=v,k=v". */
static void add(struct storage *s, const char *series, int64_t t, double v)
{
    struct batch b;
    batch_init(&b);
    batch_begin_series(&b);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", series);
    char *save = NULL, *it = strtok_r(buf, ",", &save);
    batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), strv_c(batch_strdup(&b, it, strlen(it))));
    while ((it = strtok_r(NULL, ",", &save)) != NULL) {
        char *eq = strchr(it, '=');
        batch_add_label(&b, (struct strv){batch_strdup(&b, it, (size_t)(eq - it)), (size_t)(eq - it)},
                        strv_c(batch_strdup(&b, eq + 1, strlen(eq + 1))));
    }
    batch_add_sample(&b, t, v);
    batch_end_series(&b);
    struct err e = {0};
    if (storage_append(s, &b, NULL, &e))
        fail_msg("append %s: %s", series, e.msg);
    batch_fini(&b);
}

static struct storage *fixture(char **dir)
{
    *dir = make_dir();
    struct storage_opts o = {.dir = *dir, .no_background = true};
    struct storage *s;
    assert_int_equal(storage_open(&s, &o, NULL), 0);
    add(s, "up,job=a,env=prod", 1000, 1);
    add(s, "up,job=b", 5000, 1);
    add(s, "down,job=c,zone=z", 9000, 1);
    return s;
}

static void join(const struct strv *v, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%.*s", i ? "," : "", (int)v[i].n, v[i].p);
}

struct lcase {
    const char *name;
    const char *label;   /* NULL: label names */
    const char *match;   /* "name=value" or NULL */
    int64_t mint, maxt;
    const char *want;
};

static void run_label_cases(struct storage *s)
{
    static const struct lcase cases[] = {
        {"all names", NULL, NULL, 0, 100000, "__name__,env,job,zone"},
        {"names with matcher", NULL, "__name__=up", 0, 100000, "__name__,env,job"},
        {"names in time range", NULL, NULL, 4000, 6000, "__name__,job"},
        {"names, nothing in range", NULL, NULL, 20000, 30000, ""},
        {"all values", "job", NULL, 0, 100000, "a,b,c"},
        {"values with matcher", "job", "__name__=up", 0, 100000, "a,b"},
        {"values in time range", "job", NULL, 0, 5000, "a,b"},
        {"metric names", "__name__", NULL, 0, 100000, "down,up"},
        {"values of unknown label", "nope", NULL, 0, 100000, ""},
        {"values, matcher on other label", "env", "job=a", 0, 100000, "prod"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct lcase *lc = &cases[c];
        struct matcher m;
        size_t nm = 0;
        if (lc->match) {
            const char *eq = strchr(lc->match, '=');
            assert_int_equal(matcher_init(&m, MATCH_EQ, (struct strv){lc->match, (size_t)(eq - lc->match)},
                                          strv_c(eq + 1), NULL), 0);
            nm = 1;
        }
        struct strv *v;
        size_t n;
        struct err e = {0};
        int rc = lc->label ? storage_label_values(s, strv_c(lc->label), &m, nm, lc->mint, lc->maxt,
                                                  &v, &n, &e)
                           : storage_label_names(s, &m, nm, lc->mint, lc->maxt, &v, &n, &e);
        assert_int_equal(rc, 0);
        char got[256];
        join(v, n, got, sizeof got);
        if (strcmp(got, lc->want) != 0)
            fail_msg("%s: got [%s], want [%s]", lc->name, got, lc->want);
        free(v);
        if (nm)
            matcher_fini(&m);
    }
}

static void test_label_names_values(void **state)
{
    char *dir;
    struct storage *s = fixture(&dir);
    run_label_cases(s);
    /* Same answers once the data is in blocks. */
    assert_int_equal(storage_maintain(s, true, 0, NULL), 0);
    run_label_cases(s);
    assert_int_equal(storage_close(s), 0);
    fs_rm_rf(dir);
    free(dir);
}

static void test_time_restriction(void **state)
{
    char *dir;
    struct storage *s = fixture(&dir);
    add(s, "up,job=a,env=prod", 2000, 2);
    struct matcher m;
    assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("up"), NULL), 0);
    struct storage_set *set;
    /* Only job=b has samples in [4000, 6000]. */
    assert_int_equal(storage_select(s, &m, 1, 4000, 6000, &set, NULL), 0);
    assert_int_equal(storage_set_count(set), 1);
    assert_true(storage_set_next(set));
    const struct label *ls;
    size_t n;
    storage_set_labels(set, &ls, &n);
    assert_true(strv_eq_c(labels_get(ls, n, STRV_LIT("job")), "b"));
    storage_set_free(set);
    /* Label-set order over everything. */
    assert_int_equal(storage_select(s, &m, 1, 0, 10000, &set, NULL), 0);
    assert_int_equal(storage_set_count(set), 2);
    assert_true(storage_set_next(set));
    storage_set_labels(set, &ls, &n);
    assert_true(strv_eq_c(labels_get(ls, n, STRV_LIT("job")), "a"));
    const struct sample *v;
    size_t nv;
    assert_int_equal(storage_set_samples(set, &v, &nv, NULL), 0);
    assert_int_equal(nv, 2);
    assert_true(storage_set_next(set));
    assert_false(storage_set_next(set));
    storage_set_free(set);
    matcher_fini(&m);

    struct storage_tsdb_status st;
    assert_int_equal(storage_tsdb_status(s, 10, &st), 0);
    assert_int_equal(st.num_series, 3);
    assert_int_equal(st.nby_metric, 2);
    assert_true(strv_eq_c(st.by_metric[0].name, "up"));
    assert_int_equal(st.by_metric[0].value, 2);
    assert_true(st.nby_label_pair >= 1);
    assert_true(strv_eq_c(st.by_label_pair[0].name, "__name__=up"));
    assert_int_equal(st.mint_ms, 1000);
    assert_int_equal(st.maxt_ms, 9000);
    storage_tsdb_status_fini(&st);
    assert_int_equal(storage_close(s), 0);
    fs_rm_rf(dir);
    free(dir);
}

/* Writers, readers and head cuts at once: every read sees a sorted series
 * with no gaps in what was acknowledged before it started. */
struct conc {
    struct storage *s;
    _Atomic int64_t acked; /* last timestamp acknowledged */
    _Atomic int stop;
    int failures;
};

static void *writer(void *arg)
{
    struct conc *c = arg;
    for (int64_t t = 1; t <= 20000; t++) {
        struct batch b;
        batch_init(&b);
        for (int k = 0; k < 4; k++) {
            char job[8];
            snprintf(job, sizeof job, "j%d", k);
            batch_begin_series(&b);
            batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("c"));
            batch_add_label(&b, STRV_LIT("job"), strv_c(batch_strdup(&b, job, strlen(job))));
            batch_add_sample(&b, t, (double)t);
            batch_end_series(&b);
        }
        if (storage_append(c->s, &b, NULL, NULL) != 0)
            c->failures++;
        batch_fini(&b);
        c->acked = t;
    }
    c->stop = 1;
    return NULL;
}

static void *cutter(void *arg)
{
    struct conc *c = arg;
    while (!c->stop)
        if (storage_maintain(c->s, true, 0, NULL) != 0)
            c->failures++;
    return NULL;
}

static void test_concurrent(void **state)
{
    char *dir = make_dir();
    struct storage_opts o = {.dir = dir, .no_background = true, .fsync = STORAGE_FSYNC_NEVER};
    struct conc c = {0};
    assert_int_equal(storage_open(&c.s, &o, NULL), 0);
    pthread_t w, k;
    pthread_create(&w, NULL, writer, &c);
    pthread_create(&k, NULL, cutter, &c);
    struct matcher m;
    assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT("job"), STRV_LIT("j2"), NULL), 0);
    int reads = 0;
    while (!c.stop) {
        int64_t acked = c.acked;
        struct storage_set *set;
        assert_int_equal(storage_select(c.s, &m, 1, INT64_MIN, INT64_MAX, &set, NULL), 0);
        if (storage_set_next(set)) {
            const struct sample *v;
            size_t n;
            assert_int_equal(storage_set_samples(set, &v, &n, NULL), 0);
            if ((int64_t)n < acked)
                fail_msg("read %zu samples, %lld were acknowledged", n, (long long)acked);
            for (size_t i = 0; i < n; i++)
                if (v[i].t_ms != (int64_t)i + 1)
                    fail_msg("sample %zu has t=%lld", i, (long long)v[i].t_ms);
        }
        storage_set_free(set);
        reads++;
    }
    pthread_join(w, NULL);
    pthread_join(k, NULL);
    matcher_fini(&m);
    assert_int_equal(c.failures, 0);
    assert_true(reads > 0);
    assert_int_equal(storage_close(c.s), 0);
    fs_rm_rf(dir);
    free(dir);
}

/* Values and names come from the index when there is no matcher: a value
 * is listed when ANY of its series has samples in range (not only the
 * first), and a deleted series' values go with it. */
static void test_label_values_index(void **state)
{
    char *dir = make_dir();
    struct storage_opts o = {.dir = dir, .no_background = true};
    struct storage *s;
    assert_int_equal(storage_open(&s, &o, NULL), 0);
    add(s, "a,host=x", 1000, 1);
    add(s, "b,host=x,only_b=1", 9000, 1);
    add(s, "c,host=y", 1000, 1);
    for (int round = 0; round < 2; round++) {
        struct strv *v;
        size_t n;
        char got[256];
        assert_int_equal(storage_label_values(s, STRV_LIT("host"), NULL, 0, 5000, 10000, &v, &n,
                                              NULL), 0);
        join(v, n, got, sizeof got);
        assert_string_equal(got, "x");
        free(v);
        assert_int_equal(storage_label_names(s, NULL, 0, 5000, 10000, &v, &n, NULL), 0);
        join(v, n, got, sizeof got);
        assert_string_equal(got, "__name__,host,only_b");
        free(v);
        if (round == 0) {
            struct matcher m;
            assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT("__name__"), STRV_LIT("b"), NULL), 0);
            assert_int_equal(storage_delete(s, &m, 1, 0, 100000, NULL, NULL), 0);
            matcher_fini(&m);
            assert_int_equal(storage_label_values(s, STRV_LIT("host"), NULL, 0, 0, 100000, &v, &n,
                                                  NULL), 0);
            join(v, n, got, sizeof got);
            assert_string_equal(got, "x,y");
            free(v);
            assert_int_equal(storage_label_names(s, NULL, 0, 0, 100000, &v, &n, NULL), 0);
            join(v, n, got, sizeof got);
            assert_string_equal(got, "__name__,host");
            free(v);
            add(s, "b,host=x,only_b=1", 9000, 1);
            assert_int_equal(storage_maintain(s, true, 0, NULL), 0);
        }
    }
    assert_int_equal(storage_close(s), 0);
    fs_rm_rf(dir);
    free(dir);
}

/* The sorted order of a name's values is cached and extended as values are
 * added: values added after a request still come out in order. */
static void test_label_values_order_grows(void **state)
{
    char *dir = make_dir();
    struct storage_opts o = {.dir = dir, .no_background = true};
    struct storage *s;
    assert_int_equal(storage_open(&s, &o, NULL), 0);
    const char *adds[] = {"m,k=m", "m,k=c", "m,k=x", NULL, "m,k=a", "m,k=mm", "m,k=z", "m,k=b",
                          NULL, "m,k=ca", NULL};
    const char *want[] = {"c,m,x", "a,b,c,m,mm,x,z", "a,b,c,ca,m,mm,x,z"};
    size_t w = 0;
    for (size_t i = 0; i < sizeof adds / sizeof adds[0]; i++) {
        if (adds[i]) {
            add(s, adds[i], 1000, 1);
            continue;
        }
        struct strv *v;
        size_t n;
        char got[256];
        assert_int_equal(storage_label_values(s, STRV_LIT("k"), NULL, 0, 0, 100000, &v, &n, NULL), 0);
        join(v, n, got, sizeof got);
        assert_string_equal(got, want[w++]);
        free(v);
    }
    assert_int_equal(storage_close(s), 0);
    fs_rm_rf(dir);
    free(dir);
}

/* A select of more series than the sort splits at comes back in label
 * order, series created in a scrambled order (querier.c sorts the halves
 * on two threads and merges them). */
static void test_select_sorted_large(void **state)
{
    (void)state;
    char *dir = make_dir();
    struct storage_opts o = {.dir = dir, .no_background = true};
    struct storage *s;
    assert_int_equal(storage_open(&s, &o, NULL), 0);
    enum { N = 40000 };
    struct batch b;
    batch_init(&b);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t k = (i * 7919u) % N; /* a permutation: 7919 is prime, N is not its multiple */
        char host[16], zone[8];
        int hn = snprintf(host, sizeof host, "h%u", k);
        int zn = snprintf(zone, sizeof zone, "z%u", (k * 31u) % 7);
        batch_begin_series(&b);
        batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("big"));
        batch_add_label(&b, STRV_LIT("host"), (struct strv){batch_strdup(&b, host, (size_t)hn), (size_t)hn});
        batch_add_label(&b, STRV_LIT("zone"), (struct strv){batch_strdup(&b, zone, (size_t)zn), (size_t)zn});
        batch_add_sample(&b, 1000, i);
        batch_end_series(&b);
    }
    struct err e = {0};
    if (storage_append(s, &b, NULL, &e))
        fail_msg("append: %s", e.msg);
    batch_fini(&b);

    struct matcher m;
    assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("big"), &e), 0);
    struct storage_set *set;
    assert_int_equal(storage_select(s, &m, 1, 0, 10000, &set, &e), 0);
    assert_int_equal(storage_set_count(set), N);
    struct label prev[3];
    size_t nprev = 0, seen = 0;
    while (storage_set_next(set)) {
        const struct label *ls;
        size_t n;
        storage_set_labels(set, &ls, &n);
        assert_int_equal(n, 3);
        if (nprev && labels_cmp(prev, nprev, ls, n) >= 0)
            fail_msg("series %zu is not after the one before it", seen);
        memcpy(prev, ls, n * sizeof *ls);
        nprev = n;
        seen++;
    }
    assert_int_equal(seen, N);
    storage_set_free(set);
    matcher_fini(&m);
    assert_int_equal(storage_close(s), 0);
    fs_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_names_values),
        cmocka_unit_test(test_label_values_index),
        cmocka_unit_test(test_label_values_order_grows),
        cmocka_unit_test(test_time_restriction),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_select_sorted_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
