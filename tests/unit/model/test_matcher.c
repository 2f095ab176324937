/* test_matcher.c: label matchers and the match[] selector parser (model/matcher.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "model/matcher.h"

static void test_match_values(void **state)
{
    static const struct {
        enum matcher_type t;
        const char *value, *input;
        int want;
    } cases[] = {
        {MATCH_EQ, "a", "a", 1},       {MATCH_EQ, "a", "ab", 0},     {MATCH_NE, "a", "b", 1},
        {MATCH_NE, "a", "a", 0},       {MATCH_RE, "a", "ab", 0},     {MATCH_RE, "a.*", "ab", 1},
        {MATCH_RE, "a|b", "b", 1},     {MATCH_RE, "a|b", "ba", 0},   {MATCH_RE, ".*", "", 1},
        {MATCH_RE, ".+", "", 0},       {MATCH_NRE, "a", "a", 0},     {MATCH_NRE, "a", "ab", 1},
        {MATCH_RE, "x.y", "x\ny", 1},  {MATCH_EQ, "", "", 1},        {MATCH_RE, "é+", "éé", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct matcher m;
        struct err e = {0};
        if (matcher_init(&m, cases[i].t, STRV_LIT("l"), strv_c(cases[i].value), &e) != 0)
            fail_msg("case %zu: init failed: %s", i, e.msg);
        int got = matcher_matches(&m, strv_c(cases[i].input));
        matcher_fini(&m);
        if (got != cases[i].want)
            fail_msg("case %zu: l%s\"%s\" on \"%s\" = %d, want %d", i, matcher_op(cases[i].t),
                     cases[i].value, cases[i].input, got, cases[i].want);
    }
}

static void test_bad_regex(void **state)
{
    struct matcher m;
    struct err e = {0};
    assert_int_equal(matcher_init(&m, MATCH_RE, STRV_LIT("l"), STRV_LIT("("), &e), TIDE_EINVAL);
    assert_non_null(strstr(e.msg, "invalid regular expression"));
    /* a regex too long for PCRE2: cut in the message, the reason kept */
    size_t n = 100000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = 0;
    assert_int_equal(matcher_init(&m, MATCH_RE, STRV_LIT("l"), strv_c(big), &e), TIDE_EINVAL);
    free(big);
    assert_non_null(strstr(e.msg, "aaa...\": "));
    assert_non_null(strstr(e.msg, "too large"));
}

static void test_selectors(void **state)
{
    static const struct {
        const char *in;
        int ok;
        size_t n;
        const char *first_name, *first_value;
    } cases[] = {
        {"up", 1, 1, "__name__", "up"},
        {"up{job=\"node\"}", 1, 2, "__name__", "up"},
        {"{job=~\"n.*\",instance!=\"a\"}", 1, 2, "job", "n.*"},
        {"{job=\"a\\\"b\"}", 1, 1, "job", "a\"b"},
        {"  cpu:rate5m { mode = 'idle' , } ", 1, 2, "__name__", "cpu:rate5m"},
        {"{job=~\".*\"}", 0, 0, NULL, NULL},
        {"{job=\"a\"", 0, 0, NULL, NULL},
        {"{1a=\"a\"}", 0, 0, NULL, NULL},
        {"up{job==\"a\"}", 0, 0, NULL, NULL},
        {"", 0, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct matcher ms[8];
        size_t n = 0;
        struct err e = {0};
        int rc = matcher_parse_selector(cases[i].in, ms, 8, &n, &e);
        if (!cases[i].ok) {
            if (rc == 0)
                fail_msg("case %zu \"%s\": accepted", i, cases[i].in);
            if (e.msg[0] == 0)
                fail_msg("case %zu \"%s\": no error message", i, cases[i].in);
            continue;
        }
        if (rc != 0 || n != cases[i].n)
            fail_msg("case %zu \"%s\": rc=%d n=%zu (%s)", i, cases[i].in, rc, n, e.msg);
        assert_string_equal(ms[0].name, cases[i].first_name);
        assert_string_equal(ms[0].value, cases[i].first_value);
        for (size_t j = 0; j < n; j++)
            matcher_fini(&ms[j]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_values),
        cmocka_unit_test(test_bad_regex),
        cmocka_unit_test(test_selectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
