/* test_csv_import.c: CSV import with VictoriaMetrics' column mapping
 * (ingest/csv_import.c). Table-driven: format, input, the series as
 * `labels|t_ms|value` lines, and the bad rows as `line:col`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "ingest/csv_import.h"

#define T0 1700000000000LL

static const struct {
    const char *name, *format, *in, *want, *errs;
} cases[] = {
    {"vm docs example", "1:label:ticker,2:metric:ask,3:metric:bid,4:time:rfc3339",
     "GOOG,1.23,4.56,2020-01-02T03:04:05Z\nMSFT,3.21,1.67,2020-01-02T03:04:05.5+01:00\n",
     "__name__=ask,ticker=GOOG|1577934245000|1.23\n__name__=bid,ticker=GOOG|1577934245000|4.56\n"
     "__name__=ask,ticker=MSFT|1577930645500|3.21\n__name__=bid,ticker=MSFT|1577930645500|1.67\n",
     ""},
    {"unix_s with fraction, extra columns, CRLF", "1:time:unix_s,2:label:host,3:metric:latency_ms",
     "1700000000,a,12,ignored\r\n1700000000.25,b,13\r\n", 
     "__name__=latency_ms,host=a|1700000000000|12\n__name__=latency_ms,host=b|1700000000250|13\n", ""},
    {"unix_ms and unix_ns", "1:time:unix_ms,2:metric:m", "1700000000123,1\n",
     "__name__=m|1700000000123|1\n", ""},
    {"unix_ns", "2:time:unix_ns,1:metric:m", "2,1700000000123999999\n", "__name__=m|1700000000123|2\n", ""},
    {"custom strptime layout", "1:time:custom:%Y-%m-%d %H:%M:%S,2:metric:m",
     "2020-01-02 03:04:05,7\n", "__name__=m|1577934245000|7\n", ""},
    {"custom with %z", "1:time:custom:%d/%m/%Y %H:%M %z,2:metric:m", "02/01/2020 04:04 +0100,7\n",
     "__name__=m|1577934240000|7\n", ""},
    {"quoting", "1:label:name,2:metric:v",
     "\"a,b\",1\n\"say \"\"hi\"\"\",2\n\"multi\nline\",3\nplain\"quote,4\n",
     "__name__=v,name=a,b|1700000000000|1\n__name__=v,name=say \"hi\"|1700000000000|2\n"
     "__name__=v,name=multi\nline|1700000000000|3\n__name__=v,name=plain\"quote|1700000000000|4\n",
     ""},
    {"empty metric cells and empty lines", "1:label:h,2:metric:a,3:metric:b",
     "x,,5\n\n\r\ny,1,\nz,,\n",
     "__name__=b,h=x|1700000000000|5\n__name__=a,h=y|1700000000000|1\n", ""},
    {"header rows (as export writes them) skipped", "2:label:host,3:metric:a,4:metric:b,5:time:unix_ms",
     "__name__,host,__value__,\"__value__\",__timestamp__:unix_ms\nx,h1,1,2,1700000000001\n"
     "x,__value__,__value__,3,1700000000002\n",
     "__name__=a,host=h1|1700000000001|1\n__name__=b,host=h1|1700000000001|2\n",
     "3:13"}, /* only some metric cells read __value__: a bad row */
    {"special values", "1:metric:m", "NaN\n+Inf\n-inf\n1e3\n",
     "__name__=m|1700000000000|NaN\n__name__=m|1700000000000|+Inf\n__name__=m|1700000000000|-Inf\n"
     "__name__=m|1700000000000|1000\n",
     ""},
    {"bad rows", "1:time:rfc3339,2:label:host,3:metric:m",
     "2020-01-02T03:04:05Z,a,1\n"      /* good */
     "2020-13-02T03:04:05Z,b,1\n"      /* 2:1 month 13 */
     "2020-01-02T03:04:05Z,c,abc\n"    /* 3:24 value */
     "2020-01-02T03:04:05Z,d\n"        /* 4:1 too few columns */
     "2020-01-02T03:04:05Z,\"e\"x,1\n" /* 5:25 text after quote */
     "2020-01-02 03:04:05,f,1\n"       /* 6:1 no 'T' */
     "2020-02-30T00:00:00Z,g,1\n"      /* 7:1 no such day */
     "2020-01-02T03:04:05Z,h,2\n"      /* good */
     "2020-01-02T03:04:05Z,\"unterminated,3\n",
     "__name__=m,host=a|1577934245000|1\n__name__=m,host=h|1577934245000|2\n",
     "2:1 3:24 4:1 5:25 6:1 7:1 9:22"},
};

static void test_cases(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct csv_import_format f;
        struct err e = {0};
        int rc = csv_import_format_parse(cases[i].format, strlen(cases[i].format), &f, &e);
        if (rc != 0)
            fail_msg("%s: format: %s", cases[i].name, e.msg);
        struct batch b;
        batch_init(&b);
        struct ingest_report r;
        ingest_report_init(&r);
        struct csv_import_opts o = {&f, T0};
        size_t n = strlen(cases[i].in);
        char *in = malloc(n ? n : 1); /* exact size: ASan flags any overread */
        memcpy(in, cases[i].in, n);
        assert_int_equal(csv_import_parse(in, n, &o, &b, &r), 0);
        char got[2048], errs[256];
        render_rows(&b, got, sizeof got);
        render_errs(&r, errs, sizeof errs);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s: got\n%s\nwant\n%s", cases[i].name, got, cases[i].want);
        if (strcmp(errs, cases[i].errs) != 0)
            fail_msg("%s: errors %s, want %s", cases[i].name, errs, cases[i].errs);
        free(in);
        batch_fini(&b);
    }
}

static void test_bad_formats(void **state)
{
    static const struct {
        const char *spec;
        int col; /* entry number reported */
    } bad[] = {
        {"", 1},
        {"1:label:host", 0}, /* no metric */
        {"0:metric:m", 1},
        {"257:metric:m", 1},
        {"x:metric:m", 1},
        {"1:metric:m,1:label:h", 2}, /* position twice */
        {"1:time:unix_s,2:time:unix_ms,3:metric:m", 2},
        {"1:time:unix_us,2:metric:m", 1},
        {"1:metric:", 1},
        {"1:metric", 1},
        {"1:gauge:m", 1},
        {"1:metric:m,", 2},
        {"1:metric:cpu.load", 1}, /* names are Prometheus names */
        {"1:metric:1m", 1},
        {"1:metric:m\xc3\xa9", 1},
        {"1:metric:m,2:label:k8s.pod", 2},
        {"1:metric:m,2:label:a:b", 2},
        {"1:metric:m,2:label:h\xff", 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct csv_import_format f;
        struct err e = {0};
        int rc = csv_import_format_parse(bad[i].spec, strlen(bad[i].spec), &f, &e);
        if (rc != TIDE_EINVAL || e.col != bad[i].col)
            fail_msg("%s: rc=%d col=%d (%s)", bad[i].spec, rc, e.col, e.msg);
    }
    struct csv_import_format f;
    assert_int_equal(csv_import_format_parse("3:metric:m,1:time:custom:%H:%M", 30, &f, NULL), 0);
    assert_int_equal(f.ncols, 3);
    assert_string_equal(f.cols[0].name, "%H:%M");
    assert_int_equal(f.cols[1].kind, CSV_IMPORT_SKIP);
}

/* Label cells labels_validate() refuses: the row is bad with a message
 * naming the label, nothing of it is kept, the other rows are. */
static void test_invalid_labels(void **state)
{
    static const struct {
        const char *name, *format, *in, *want_rows, *want_err;
    } lc[] = {
        {"cell not utf-8", "1:label:host,2:metric:a,3:metric:b", "x,1,2\ny\xff,1,2\nz,3,\n",
         "__name__=a,host=x|1700000000000|1\n__name__=b,host=x|1700000000000|2\n"
         "__name__=a,host=z|1700000000000|3\n",
         "line 2 col 1: value of label \"host\" is not valid UTF-8"},
        {"quoted latin-1 cell", "1:metric:m,2:label:city", "1,\"Z\xfcrich\"\n", "",
         "line 1 col 1: value of label \"city\" is not valid UTF-8"},
        {"label named twice", "1:label:h,2:label:h,3:metric:m", "a,,1\n", "",
         "line 1 col 1: duplicate label name \"h\""},
        {"utf-8 cell is fine", "1:label:city,2:metric:m", "Z\xc3\xbcrich,1\n",
         "__name__=m,city=Z\xc3\xbcrich|1700000000000|1\n", NULL},
    };
    for (size_t i = 0; i < sizeof lc / sizeof lc[0]; i++) {
        struct csv_import_format f;
        struct err e = {0};
        if (csv_import_format_parse(lc[i].format, strlen(lc[i].format), &f, &e) != 0)
            fail_msg("%s: format: %s", lc[i].name, e.msg);
        struct batch b;
        batch_init(&b);
        struct ingest_report r;
        ingest_report_init(&r);
        struct csv_import_opts o = {&f, T0};
        assert_int_equal(csv_import_parse(lc[i].in, strlen(lc[i].in), &o, &b, &r), 0);
        char got[1024];
        render_rows(&b, got, sizeof got);
        if (strcmp(got, lc[i].want_rows) != 0)
            fail_msg("%s: got\n%s\nwant\n%s", lc[i].name, got, lc[i].want_rows);
        if (lc[i].want_err == NULL ? r.lines_bad != 0
                                   : r.lines_bad != 1 || strcmp(r.errs[0].msg, lc[i].want_err) != 0)
            fail_msg("%s: %zu bad rows, first: %s", lc[i].name, r.lines_bad,
                     r.nerrs ? r.errs[0].msg : "");
        batch_fini(&b);
    }
    /* The format's own names: refused before any row, with the entry named. */
    struct csv_import_format f;
    struct err e = {0};
    assert_int_equal(csv_import_format_parse("1:metric:m,2:label:k8s.pod", 26, &f, &e),
                     TIDE_EINVAL);
    assert_string_equal(e.msg, "format entry #2: invalid label name \"k8s.pod\" (want "
                               "[a-zA-Z_][a-zA-Z0-9_]*)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_bad_formats),
        cmocka_unit_test(test_invalid_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
