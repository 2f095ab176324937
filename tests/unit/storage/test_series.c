/* test_series.c: the registry's label sets (storage/series.c). A series
 * keeps its labels as intern ids and storage_set_labels() builds them per
 * set: every label set must come back byte for byte, in label order, before
 * and after a restart, and labels built into a caller's arena must outlive
 * the set (ASan catches a reader left pointing into freed set memory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/fs.h"
#include "storage/storage.h"

static char *make_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *p;
    assert_true(asprintf(&p, "%s/tide_series_XXXXXX", tmp && *tmp ? tmp : "/tmp") > 0);
    assert_non_null(mkdtemp(p));
    return p;
}

/* Label sets as "name=value" joined by '|', names sorted ('_' sorts before
 * lowercase letters, so __name__ comes first). */
static const char *const sets[] = {
    "__name__=up|job=api",
    "__name__=up|job=api|zone=eu",                  /* the one above plus a label */
    "__name__=up|job=apx",                          /* differs in the last byte */
    "__name__=job|job=__name__",                    /* a name used as a value, and back */
    "__name__=cpu|a=1|b=2|c=3|d=4|e=5|f=6|g=7|h=8|i=9|j=10|k=11|l=12|m=13|n=14|o=15",
    "__name__=cpu|a=1|b=2|c=3|d=4|e=5|f=6|g=7|h=8|i=9|j=10|k=11|l=12|m=13|n=14|o=16",
    "__name__=utf8|city=Z\xc3\xbcrich|note=\xe2\x9c\x93",
    "__name__=long|v=0123456789012345678901234567890123456789012345678901234567890123456789",
    "__name__=up|instance=a:1|job=api",
};
#define NSETS (sizeof sets / sizeof sets[0])

struct lset {
    struct label ls[32];
    size_t n;
    char buf[512];
};

static void parse(const char *spec, struct lset *out)
{
    snprintf(out->buf, sizeof out->buf, "%s", spec);
    out->n = 0;
    char *save = NULL;
    for (char *it = strtok_r(out->buf, "|", &save); it; it = strtok_r(NULL, "|", &save)) {
        char *eq = strchr(it, '=');
        assert_non_null(eq);
        *eq = 0;
        out->ls[out->n++] = (struct label){strv_c(it), strv_c(eq + 1)};
    }
}

static void append_all(struct storage *s, int64_t t)
{
    struct batch b;
    batch_init(&b);
    for (size_t i = 0; i < NSETS; i++) {
        struct lset l;
        parse(sets[i], &l);
        batch_begin_series(&b);
        for (size_t j = 0; j < l.n; j++)
            batch_add_label(&b, (struct strv){batch_strdup(&b, l.ls[j].name.p, l.ls[j].name.n),
                                              l.ls[j].name.n},
                            (struct strv){batch_strdup(&b, l.ls[j].value.p, l.ls[j].value.n),
                                          l.ls[j].value.n});
        batch_add_sample(&b, t, (double)i);
        batch_end_series(&b);
    }
    struct err e = {0};
    if (storage_append(s, &b, NULL, &e))
        fail_msg("append: %s", e.msg);
    batch_fini(&b);
}

static int cmp_spec(const void *a, const void *b)
{
    struct lset x, y;
    parse(*(const char *const *)a, &x);
    parse(*(const char *const *)b, &y);
    return labels_cmp(x.ls, x.n, y.ls, y.n);
}

static void assert_same(const char *spec, const struct label *ls, size_t n)
{
    struct lset want;
    parse(spec, &want);
    if (labels_cmp(want.ls, want.n, ls, n) != 0)
        fail_msg("labels of %s did not round-trip (%zu labels back)", spec, n);
}

/* Every set comes back in label order, from the set and from an arena;
 * the arena's copies are checked again after the set is freed. */
static void check_all(struct storage *s)
{
    const char *want[NSETS];
    memcpy(want, sets, sizeof want);
    qsort(want, NSETS, sizeof *want, cmp_spec);

    struct matcher m;
    struct err e = {0};
    assert_int_equal(matcher_init(&m, MATCH_RE, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT(".+"), &e),
                     0);
    struct storage_set *set = NULL;
    assert_int_equal(storage_select(s, &m, 1, INT64_MIN, INT64_MAX, &set, &e), 0);
    assert_int_equal(storage_set_count(set), NSETS);
    struct arena a;
    arena_init(&a, 0);
    const struct label *kept[NSETS];
    size_t nkept[NSETS];
    size_t i = 0;
    while (storage_set_next(set)) {
        assert_true(i < NSETS);
        const struct label *ls, *again;
        size_t n, nagain;
        storage_set_labels(set, &ls, &n);
        assert_same(want[i], ls, n);
        storage_set_labels(set, &again, &nagain);
        assert_ptr_equal(again, ls); /* the same array for the same series */
        assert_int_equal(storage_set_labels_into(set, &a, &kept[i], &nkept[i]), 0);
        assert_same(want[i], kept[i], nkept[i]);
        i++;
    }
    assert_int_equal(i, NSETS);
    storage_set_free(set);
    for (i = 0; i < NSETS; i++)
        assert_same(want[i], kept[i], nkept[i]);
    arena_fini(&a);
    matcher_fini(&m);
}

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = make_dir();
    struct storage_opts o = {.dir = dir, .no_background = true};
    struct storage *s;
    assert_int_equal(storage_open(&s, &o, NULL), 0);
    append_all(s, 1000);
    append_all(s, 2000); /* the same series again: no new one */
    check_all(s);
    assert_int_equal(storage_close(s), 0);
    /* From the WAL. */
    assert_int_equal(storage_open(&s, &o, NULL), 0);
    check_all(s);
    assert_int_equal(storage_close(s), 0);
    fs_rm_rf(dir);
    free(dir);
}

/* Label values through a matcher read the series' ids, not the index. */
static void test_values_by_matcher(void **state)
{
    (void)state;
    char *dir = make_dir();
    struct storage_opts o = {.dir = dir, .no_background = true};
    struct storage *s;
    assert_int_equal(storage_open(&s, &o, NULL), 0);
    append_all(s, 1000);
    struct matcher m;
    struct err e = {0};
    assert_int_equal(matcher_init(&m, MATCH_EQ, STRV_LIT(LABEL_METRIC_NAME), STRV_LIT("up"), &e),
                     0);
    static const struct {
        const char *label, *want;
    } cases[] = {
        {"job", "api,apx"},
        {"zone", "eu"},
        {"nope", ""},
        {NULL, "__name__,instance,job,zone"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct strv *v = NULL;
        size_t n = 0;
        int rc = cases[c].label
                     ? storage_label_values(s, strv_c(cases[c].label), &m, 1, INT64_MIN,
                                            INT64_MAX, &v, &n, &e)
                     : storage_label_names(s, &m, 1, INT64_MIN, INT64_MAX, &v, &n, &e);
        assert_int_equal(rc, 0);
        char got[256] = "";
        size_t o2 = 0;
        for (size_t i = 0; i < n; i++)
            o2 += (size_t)snprintf(got + o2, sizeof got - o2, "%s%.*s", i ? "," : "",
                                   (int)v[i].n, v[i].p);
        if (strcmp(got, cases[c].want) != 0)
            fail_msg("case %zu (%s): got \"%s\", want \"%s\"", c,
                     cases[c].label ? cases[c].label : "names", got, cases[c].want);
        free(v);
    }
    matcher_fini(&m);
    assert_int_equal(storage_close(s), 0);
    fs_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_values_by_matcher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
