/* test_json.c: the JSON writer of api/ (api/json.c): commas, nesting,
 * escaping of every byte class, invalid UTF-8, and the size cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "api/json.h"
#include "core/err.h"

static void test_quote(void **state)
{
    static const struct {
        const char *name;
        const char *in;
        size_t n;
        const char *want;
    } cases[] = {
        {"plain", "abc", 3, "\"abc\""},
        {"empty", "", 0, "\"\""},
        {"quote and backslash", "a\"b\\c", 5, "\"a\\\"b\\\\c\""},
        {"short escapes", "\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\""},
        {"other controls", "\x01\x1f", 2, "\"\\u0001\\u001f\""},
        {"NUL inside", "a\0b", 3, "\"a\\u0000b\""},
        {"DEL passes", "\x7f", 1, "\"\x7f\""},
        {"utf-8 passes", "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 12,
         "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
        {"U+2028", "\xe2\x80\xa8", 3, "\"\\u2028\""},
        {"lone continuation", "\x80", 1, "\"\\ufffd\""},
        {"truncated sequence", "a\xc3", 2, "\"a\\ufffd\""},
        {"overlong", "\xc0\xaf", 2, "\"\\ufffd\\ufffd\""},
        {"surrogate", "\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""},
        {"above U+10FFFF", "\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf b;
        buf_init(&b, 0);
        int rc = json_quote(&b, cases[i].in, cases[i].n);
        if (rc != 0 || strcmp(b.p, cases[i].want) != 0)
            fail_msg("%s: rc=%d got [%s] want [%s]", cases[i].name, rc, b.p ? b.p : "",
                     cases[i].want);
        buf_fini(&b);
    }
}

static void test_writer(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    struct json w;
    json_init(&w, &b);
    json_obj(&w);
    json_key(&w, "status");
    json_cstr(&w, "success");
    json_key(&w, "data");
    json_arr(&w);
    json_obj(&w);
    json_keyv(&w, (struct strv){"__name__", 8});
    json_str(&w, (struct strv){"up", 2});
    json_obj_end(&w);
    json_obj(&w);
    json_obj_end(&w);
    json_i64(&w, -5);
    json_u64(&w, 18446744073709551615ull);
    json_bool(&w, true);
    json_arr(&w);
    json_arr_end(&w);
    json_arr_end(&w);
    json_obj_end(&w);
    assert_int_equal(json_end(&w), 0);
    assert_string_equal(b.p, "{\"status\":\"success\",\"data\":[{\"__name__\":\"up\"},{},-5,"
                             "18446744073709551615,true,[]]}");
    buf_fini(&b);
}

static void test_cap(void **state)
{
    struct buf b;
    buf_init(&b, 16);
    struct json w;
    json_init(&w, &b);
    json_arr(&w);
    for (int i = 0; i < 100; i++)
        json_cstr(&w, "0123456789");
    json_arr_end(&w);
    assert_int_equal(json_end(&w), TIDE_ELIMIT);
    assert_true(b.len <= 16);
    buf_fini(&b);

    /* An unclosed document is an error too. */
    buf_init(&b, 0);
    json_init(&w, &b);
    json_obj(&w);
    assert_int_not_equal(json_end(&w), 0);
    buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_writer),
        cmocka_unit_test(test_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
