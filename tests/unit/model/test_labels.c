/* test_labels.c: labels_validate() (model/labels.c), the one check every
 * ingest format shares, and the UTF-8 rule under it (core/utf8.h), one table
 * row per case; batch_end_series_checked() forgetting what it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/utf8.h"
#include "model/batch.h"
#include "model/labels.h"

#define L(n, v)                                                                                    \
    {                                                                                              \
        {n, sizeof(n) - 1},                                                                        \
        {                                                                                          \
            v, sizeof(v) - 1                                                                       \
        }                                                                                          \
    }
#define MAXL 4

struct case_ {
    const char *name;
    struct label ls[MAXL]; /* in any order: the test sorts them */
    size_t n;
    const char *want; /* NULL: valid; else the exact message */
};

static void test_validate(void **state)
{
    (void)state;
    static const struct case_ cases[] = {
        {"plain", {L("__name__", "up"), L("job", "node")}, 2, NULL},
        {"colon in metric name", {L("__name__", "a:b_c1")}, 1, NULL},
        {"reserved prefix allowed", {L("__name__", "up"), L("__x", "1")}, 2, NULL},
        {"utf8 value",
         {L("__name__", "up"), L("city", "Z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80")},
         2,
         NULL},
        {"empty value is dropped, not refused", {L("__name__", "up"), L("job", "")}, 2, NULL},
        {"no labels", {L("", "")}, 0, "missing metric name (label __name__)"},
        {"no __name__", {L("job", "x")}, 1, "missing metric name (label __name__)"},
        {"empty __name__",
         {L("__name__", ""), L("job", "x")},
         2,
         "missing metric name (label __name__)"},
        {"metric name leading digit", {L("__name__", "1up")}, 1, "invalid metric name \"1up\""},
        {"metric name dash", {L("__name__", "a-b")}, 1, "invalid metric name \"a-b\""},
        {"metric name bad utf8",
         {L("__name__", "a\xff")},
         1,
         "invalid metric name \"a\\xff\" (not valid UTF-8)"},
        {"empty label name", {L("__name__", "up"), L("", "x")}, 2, "empty label name"},
        {"label name with colon",
         {L("__name__", "up"), L("a:b", "x")},
         2,
         "invalid label name \"a:b\""},
        {"label name leading digit",
         {L("__name__", "up"), L("0a", "x")},
         2,
         "invalid label name \"0a\""},
        {"label name dot",
         {L("__name__", "up"), L("k8s.pod", "x")},
         2,
         "invalid label name \"k8s.pod\""},
        {"label name non-ascii",
         {L("__name__", "up"), L("\xc3\xa9t\xc3\xa9", "x")},
         2,
         "invalid label name \"\xc3\xa9t\xc3\xa9\""},
        {"label name bad utf8",
         {L("__name__", "up"), L("a\xc3", "x")},
         2,
         "invalid label name \"a\\xc3\" (not valid UTF-8)"},
        {"label name with quote",
         {L("__name__", "up"), L("a\"b", "x")},
         2,
         "invalid label name \"a\\\"b\""},
        {"duplicate name",
         {L("__name__", "up"), L("job", "a"), L("job", "b")},
         3,
         "duplicate label name \"job\""},
        {"duplicate with an empty value",
         {L("__name__", "up"), L("job", "a"), L("job", "")},
         3,
         "duplicate label name \"job\""},
        {"duplicate __name__",
         {L("__name__", "up"), L("__name__", "down")},
         2,
         "duplicate label name \"__name__\""},
        {"invalid name of an empty label",
         {L("__name__", "up"), L("a-b", "")},
         2,
         "invalid label name \"a-b\""},
        {"value stray continuation",
         {L("__name__", "up"), L("job", "a\x80")},
         2,
         "value of label \"job\" is not valid UTF-8"},
        {"value truncated sequence",
         {L("__name__", "up"), L("job", "\xe2\x82")},
         2,
         "value of label \"job\" is not valid UTF-8"},
        {"value overlong slash",
         {L("__name__", "up"), L("job", "\xc0\xaf")},
         2,
         "value of label \"job\" is not valid UTF-8"},
        {"value surrogate",
         {L("__name__", "up"), L("job", "\xed\xa0\x80")},
         2,
         "value of label \"job\" is not valid UTF-8"},
        {"value past U+10FFFF",
         {L("__name__", "up"), L("job", "\xf4\x90\x80\x80")},
         2,
         "value of label \"job\" is not valid UTF-8"},
        {"value latin-1",
         {L("__name__", "up"), L("city", "Z\xfcrich")},
         2,
         "value of label \"city\" is not valid UTF-8"},
        {"first problem in sorted order",
         {L("__name__", "up"), L("zz", "\xff"), L("b-b", "x")},
         3,
         "invalid label name \"b-b\""},
        {"long name clipped",
         {L("__name__", "up"), L("a-0123456789012345678901234567890123456789", "x")},
         2,
         "invalid label name \"a-012345678901234567890123456789...\""},
        {"control byte in name",
         {L("__name__", "up"), L("a\n", "x")},
         2,
         "invalid label name \"a\\x0a\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct case_ *c = &cases[i];
        struct label ls[MAXL];
        memcpy(ls, c->ls, sizeof ls);
        labels_sort(ls, c->n);
        struct err e = {0};
        int rc = labels_validate(c->n ? ls : NULL, c->n, &e);
        if (c->want == NULL) {
            if (rc != 0)
                fail_msg("%s: refused: %s", c->name, e.msg);
            continue;
        }
        if (rc != TIDE_EPARSE || e.code != TIDE_EPARSE)
            fail_msg("%s: rc %d, want TIDE_EPARSE", c->name, rc);
        if (strcmp(e.msg, c->want) != 0)
            fail_msg("%s: message\n  got  %s\n  want %s", c->name, e.msg, c->want);
        if (e.line != 0 || e.col != 0)
            fail_msg("%s: position set", c->name);
        if (!utf8_valid(e.msg, strlen(e.msg)))
            fail_msg("%s: the message itself is not valid UTF-8", c->name);
    }
    /* e may be NULL. */
    struct label one = L("job", "x");
    assert_int_equal(labels_validate(&one, 1, NULL), TIDE_EPARSE);
}

static void test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
        int valid;
    } cases[] = {
        {"", 0, 1},
        {"plain ascii, longer than eight bytes", 36, 1},
        {"\x00", 1, 1}, /* NUL is valid UTF-8 (and a valid Prometheus value) */
        {"\x7f", 1, 1},
        {"\xc2\x80", 2, 1},
        {"\xdf\xbf", 2, 1},
        {"\xe0\xa0\x80", 3, 1},
        {"\xef\xbf\xbf", 3, 1},
        {"\xf0\x90\x80\x80", 4, 1},
        {"\xf4\x8f\xbf\xbf", 4, 1},
        {"abcdefgh\xc3\xa9", 10, 1},
        {"\x80", 1, 0},
        {"\xbf", 1, 0},
        {"\xc0\x80", 2, 0},         /* overlong NUL */
        {"\xc1\xbf", 2, 0},         /* overlong */
        {"\xe0\x9f\xbf", 3, 0},     /* overlong */
        {"\xed\xa0\x80", 3, 0},     /* U+D800 */
        {"\xed\xbf\xbf", 3, 0},     /* U+DFFF */
        {"\xf0\x8f\xbf\xbf", 4, 0}, /* overlong */
        {"\xf4\x90\x80\x80", 4, 0}, /* U+110000 */
        {"\xf5\x80\x80\x80", 4, 0},
        {"\xff", 1, 0},
        {"\xc3", 1, 0},         /* cut short */
        {"\xe2\x82", 2, 0},     /* cut short */
        {"\xc3\x28", 2, 0},     /* bad continuation */
        {"abcdefgh\xff", 9, 0}, /* after the 8-byte fast path */
        {"abcdefghijklmno\xe2", 16, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (utf8_valid(cases[i].s, cases[i].n) != (bool)cases[i].valid)
            fail_msg("case %zu: want %s", i, cases[i].valid ? "valid" : "invalid");
}

static void test_end_series_checked(void **state)
{
    (void)state;
    struct batch b;
    batch_init(&b);
    struct err e = {0};
    /* A good series, a refused one, another good one: the refused one leaves nothing. */
    assert_int_equal(batch_begin_series(&b), 0);
    batch_add_label(&b, STRV_LIT("job"), STRV_LIT("a"));
    batch_add_label(&b, STRV_LIT("__name__"), STRV_LIT("up"));
    batch_add_label(&b, STRV_LIT("empty"), STRV_LIT(""));
    batch_add_sample(&b, 1, 1);
    assert_int_equal(batch_end_series_checked(&b, &e), 0);
    assert_int_equal(batch_begin_series(&b), 0);
    batch_add_label(&b, STRV_LIT("__name__"), STRV_LIT("up"));
    batch_add_label(&b, STRV_LIT("job"), STRV_LIT("a"));
    batch_add_label(&b, STRV_LIT("job"), STRV_LIT("b"));
    batch_add_sample(&b, 2, 2);
    assert_int_equal(batch_end_series_checked(&b, &e), TIDE_EPARSE);
    assert_string_equal(e.msg, "duplicate label name \"job\"");
    assert_int_equal(batch_begin_series(&b), 0);
    batch_add_label(&b, STRV_LIT("__name__"), STRV_LIT("down"));
    batch_add_sample(&b, 3, 3);
    assert_int_equal(batch_end_series_checked(&b, NULL), 0);
    assert_int_equal(b.nseries, 2);
    assert_int_equal(b.nlabels, 3); /* up{job}: 2 (empty dropped), down: 1 */
    assert_int_equal(b.nsamples, 2);
    assert_int_equal(b.series[1].label_off, 2);
    assert_int_equal(b.series[1].sample_off, 1);
    /* No labels at all: refused, and b->labels + 0 is never formed from NULL. */
    struct batch empty;
    batch_init(&empty);
    assert_int_equal(batch_begin_series(&empty), 0);
    batch_add_sample(&empty, 1, 1);
    assert_int_equal(batch_end_series_checked(&empty, &e), TIDE_EPARSE);
    assert_string_equal(e.msg, "missing metric name (label __name__)");
    assert_int_equal(empty.nseries, 0);
    batch_fini(&empty);
    batch_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_end_series_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
