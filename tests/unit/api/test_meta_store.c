/* test_meta_store.c: the metric metadata store (api/meta_store.c): field
 * by field merging, the family bound, the JSON of /api/v1/metadata with its
 * metric and limit parameters, and the file surviving a close and reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/json.h"
#include "api/meta_store.h"

static struct batch_meta meta(const char *fam, enum metric_type t, const char *help,
                              const char *unit)
{
    return (struct batch_meta){.family = strv_c(fam),
                               .type = t,
                               .help = {help, help ? strlen(help) : 0},
                               .unit = {unit, unit ? strlen(unit) : 0}};
}

/* The data object for (metric, limit) as a string; caller frees. */
static char *dump(struct meta_store *ms, const char *metric, long limit)
{
    struct buf b;
    buf_init(&b, 0);
    struct json w;
    json_init(&w, &b);
    meta_store_json(ms, &w, strv_c(metric), limit, -1);
    assert_int_equal(json_end(&w), 0);
    char *s = strdup(b.p ? b.p : "");
    buf_fini(&b);
    return s;
}

static void expect(struct meta_store *ms, const char *metric, long limit, const char *want,
                   const char *name)
{
    char *got = dump(ms, metric, limit);
    if (strcmp(got, want) != 0)
        fail_msg("%s: got %s want %s", name, got, want);
    free(got);
}

static void test_merge(void **state)
{
    (void)state;
    struct meta_store *ms;
    struct err e = {0};
    assert_int_equal(meta_store_open(&ms, NULL, 0, &e), 0);
    expect(ms, NULL, -1, "{}", "empty");
    /* a TYPE line then a HELP line, as the batch gives them */
    struct batch_meta m[] = {
        meta("up", METRIC_TYPE_GAUGE, NULL, NULL),
        meta("http_requests_total", METRIC_TYPE_COUNTER, "Requests \"served\".", ""),
        meta("up", METRIC_TYPE_NONE, "1 if the target is up.", NULL),
    };
    assert_int_equal(meta_store_update(ms, m, 3), 0);
    expect(ms, NULL, -1,
           "{\"http_requests_total\":[{\"type\":\"counter\",\"help\":\"Requests "
           "\\\"served\\\".\",\"unit\":\"\"}],\"up\":[{\"type\":\"gauge\",\"help\":\"1 if the "
           "target is up.\",\"unit\":\"\"}]}",
           "merged, sorted");
    expect(ms, "up", -1,
           "{\"up\":[{\"type\":\"gauge\",\"help\":\"1 if the target is up.\",\"unit\":\"\"}]}",
           "metric=up");
    expect(ms, "nope", -1, "{}", "metric=nope");
    expect(ms, NULL, 0, "{}", "limit=0");
    expect(ms, NULL, 1,
           "{\"http_requests_total\":[{\"type\":\"counter\",\"help\":\"Requests "
           "\\\"served\\\".\",\"unit\":\"\"}]}",
           "limit=1");
    /* a later sender changes the unit only */
    struct batch_meta u = meta("up", METRIC_TYPE_NONE, NULL, "ratio");
    assert_int_equal(meta_store_update(ms, &u, 1), 0);
    expect(ms, "up", -1,
           "{\"up\":[{\"type\":\"gauge\",\"help\":\"1 if the target is up.\",\"unit\":\"ratio\"}]}",
           "unit changed");
    /* help only: the type reads "unknown" */
    struct batch_meta h = meta("x", METRIC_TYPE_NONE, "only help", NULL);
    assert_int_equal(meta_store_update(ms, &h, 1), 0);
    expect(ms, "x", -1, "{\"x\":[{\"type\":\"unknown\",\"help\":\"only help\",\"unit\":\"\"}]}",
           "help only");
    assert_int_equal(meta_store_close(ms), 0);
}

static void test_bound(void **state)
{
    (void)state;
    struct meta_store *ms;
    struct err e = {0};
    assert_int_equal(meta_store_open(&ms, NULL, 3, &e), 0);
    char name[32];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "m%d", i);
        struct batch_meta m = meta(name, METRIC_TYPE_GAUGE, "h", "");
        assert_int_equal(meta_store_update(ms, &m, 1), 0);
    }
    assert_int_equal(meta_store_count(ms), 3);
    assert_int_equal(meta_store_dropped(ms), 7);
    /* known families still update */
    struct batch_meta m = meta("m1", METRIC_TYPE_COUNTER, NULL, NULL);
    assert_int_equal(meta_store_update(ms, &m, 1), 0);
    expect(ms, "m1", -1, "{\"m1\":[{\"type\":\"counter\",\"help\":\"h\",\"unit\":\"\"}]}", "m1");
    /* an empty or over-long name is skipped */
    char longname[META_STORE_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    struct batch_meta bad[] = {meta("", METRIC_TYPE_GAUGE, "h", ""),
                               meta(longname, METRIC_TYPE_GAUGE, "h", "")};
    assert_int_equal(meta_store_update(ms, bad, 2), 0);
    assert_int_equal(meta_store_count(ms), 3);
    meta_store_close(ms);
}

static void test_persist(void **state)
{
    (void)state;
    char path[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/meta_store_test_%d.tsv", tmp ? tmp : "/tmp", (int)getpid());
    unlink(path);
    struct meta_store *ms;
    struct err e = {0};
    assert_int_equal(meta_store_open(&ms, path, 0, &e), 0);
    struct batch_meta m[] = {
        meta("a_seconds", METRIC_TYPE_HISTOGRAM, "tabs\there,\nnewlines and \\ too", "seconds"),
        meta("b", METRIC_TYPE_STATESET, "", ""),
    };
    assert_int_equal(meta_store_update(ms, m, 2), 0);
    char *before = dump(ms, NULL, -1);
    assert_int_equal(meta_store_close(ms), 0);
    assert_int_equal(meta_store_open(&ms, path, 0, &e), 0);
    char *after = dump(ms, NULL, -1);
    assert_string_equal(before, after);
    assert_non_null(strstr(after, "\"help\":\"tabs\\there,\\nnewlines and \\\\ too\""));
    assert_non_null(strstr(after, "\"b\":[{\"type\":\"stateset\""));
    free(before);
    free(after);
    meta_store_close(ms);
    /* a damaged file: bad lines are skipped, good ones kept */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("# tide metadata v1\nno tabs here\nok\tcounter\t\tfine\n\n", f);
    fclose(f);
    assert_int_equal(meta_store_open(&ms, path, 0, &e), 0);
    expect(ms, NULL, -1, "{\"ok\":[{\"type\":\"counter\",\"help\":\"fine\",\"unit\":\"\"}]}",
           "damaged file");
    meta_store_close(ms);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_persist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
