/* test_csv_export.c: the /api/v1/export/csv `format` columns and the rows
 * written for them (ingest/csv_export.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/ingest.h"

static void test_format_parse(void **state)
{
    static const struct {
        const char *spec;
        const char *err; /* substring of the error, NULL when valid */
        size_t ncols;
    } cases[] = {
        {"__name__,__value__,__timestamp__:unix_s", NULL, 3},
        {"__timestamp__:unix_ms,__timestamp__:unix_ns,__timestamp__:rfc3339,host", NULL, 4},
        {"__timestamp__:custom:2006-01-02 15:04:05", NULL, 1},
        {"__timestamp__", NULL, 1},
        {"job", NULL, 1},
        {"", "empty format", 0},
        {"__name__,,__value__", "column 2 is empty", 0},
        {"__name__,", "column 2 is empty", 0},
        {"__name__,__timestamp__:unix_x", "column 2 \"__timestamp__:unix_x\": unknown time format",
         0},
        {"__timestamp__:custom:", "column 1 \"__timestamp__:custom:\": unknown time format", 0},
        {"__timestamp__:", "unknown time format", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct csv_format f;
        struct err e = {0};
        int rc = csv_format_parse(cases[i].spec, &f, &e);
        if (cases[i].err == NULL) {
            if (rc != 0 || f.ncols != cases[i].ncols)
                fail_msg("\"%s\": rc=%d ncols=%zu (%s)", cases[i].spec, rc, f.ncols, e.msg);
        } else if (rc != TIDE_EPARSE || strstr(e.msg, cases[i].err) == NULL) {
            fail_msg("\"%s\": rc=%d msg=\"%s\", want \"%s\"", cases[i].spec, rc, e.msg,
                     cases[i].err);
        }
    }
    /* Too many columns, and a too-long label name. */
    char big[2048] = "";
    for (int i = 0; i < 65; i++)
        strcat(big, i ? ",a" : "a");
    struct csv_format f;
    struct err e = {0};
    assert_int_equal(csv_format_parse(big, &f, &e), TIDE_EPARSE);
    assert_non_null(strstr(e.msg, "too many columns"));
    memset(big, 'x', 200);
    big[200] = 0;
    assert_int_equal(csv_format_parse(big, &f, &e), TIDE_EPARSE);
    assert_non_null(strstr(e.msg, "label name too long"));
}

static void test_rows(void **state)
{
    struct label ls[] = {
        {STRV_LIT("__name__"), STRV_LIT("cpu")},
        {STRV_LIT("host"), STRV_LIT("a,\"b\"")},
        {STRV_LIT("job"), STRV_LIT("node")},
    };
    struct sample s[] = {
        {1700000000123LL, 1.5},
        {-1, NAN},
        {0, -INFINITY},
    };
    static const struct {
        const char *spec;
        const char *want;
    } cases[] = {
        {"__name__,__value__,__timestamp__:unix_ms",
         "cpu,1.5,1700000000123\ncpu,NaN,-1\ncpu,-Inf,0\n"},
        {"__timestamp__:unix_s,__timestamp__:unix_ns",
         "1700000000,1700000000123000000\n-1,-1000000\n0,0\n"},
        {"__timestamp__:rfc3339",
         "2023-11-14T22:13:20.123Z\n1969-12-31T23:59:59.999Z\n1970-01-01T00:00:00.000Z\n"},
        {"host,job,missing",
         "\"a,\"\"b\"\"\",node,\n\"a,\"\"b\"\"\",node,\n\"a,\"\"b\"\"\",node,\n"},
        {"__timestamp__:custom:2006-01-02 15:04:05.000",
         "2023-11-14 22:13:20.123\n1969-12-31 23:59:59.999\n1970-01-01 00:00:00.000\n"},
        {"__timestamp__:custom:Mon Jan _2 3:04PM .999 Z07:00 -0700 MST 06 002",
         "Tue Nov 14 10:13PM .123 Z +0000 UTC 23 318\n"
         "Wed Dec 31 11:59PM .999 Z +0000 UTC 69 365\n"
         "Thu Jan  1 12:00AM  Z +0000 UTC 70 001\n"},
        {"__timestamp__:custom:%Y/%m/%d", "2023/11/14\n1969/12/31\n1970/01/01\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct csv_format f;
        struct err e = {0};
        assert_int_equal(csv_format_parse(cases[i].spec, &f, &e), 0);
        struct buf out;
        buf_init(&out, 0);
        assert_int_equal(csv_format_rows(&out, &f, ls, 3, s, 3), 0);
        if (strcmp(out.p, cases[i].want) != 0)
            fail_msg("\"%s\":\n got: %s\nwant: %s", cases[i].spec, out.p, cases[i].want);
        buf_fini(&out);
    }
}

static void test_rows_limit(void **state)
{
    struct label ls[] = {{STRV_LIT("__name__"), STRV_LIT("cpu")}};
    struct sample s[] = {{1, 1}, {2, 2}, {3, 3}};
    struct csv_format f;
    assert_int_equal(csv_format_parse("__name__,__value__", &f, NULL), 0);
    struct buf out;
    buf_init(&out, 10);
    assert_int_equal(csv_format_rows(&out, &f, ls, 1, s, 3), TIDE_ELIMIT);
    assert_int_equal(out.len, 0);
    buf_fini(&out);
}

static void test_header(void **state)
{
    static const struct {
        const char *spec, *want;
    } cases[] = {
        {"__name__,host,__value__,__timestamp__:unix_ms",
         "__name__,host,__value__,__timestamp__:unix_ms\n"},
        {"__timestamp__,__value__", "__timestamp__:unix_ms,__value__\n"},
        {"__timestamp__:rfc3339,__timestamp__:unix_s,__timestamp__:unix_ns,__value__",
         "__timestamp__:rfc3339,__timestamp__:unix_s,__timestamp__:unix_ns,__value__\n"},
        {"__timestamp__:custom:2006-01-02 \"x\",__value__",
         "\"__timestamp__:custom:2006-01-02 \"\"x\"\"\",__value__\n"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct csv_format f;
        assert_int_equal(csv_format_parse(cases[i].spec, &f, NULL), 0);
        struct buf out;
        buf_init(&out, 4096);
        assert_int_equal(csv_format_header(&out, &f), 0);
        if (strcmp(out.p, cases[i].want) != 0)
            fail_msg("\"%s\":\n got: %s\nwant: %s", cases[i].spec, out.p, cases[i].want);
        buf_fini(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_parse),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_rows_limit),
        cmocka_unit_test(test_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
