/* test_jsonl.c: VictoriaMetrics JSON lines (ingest/jsonl.c): parsing, bad
 * lines with their numbers, and format -> parse round trips that keep every
 * value's bits (NaN, ±Inf, the stale marker, -0, subnormals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../testutil.h"

#include "dump.h"
#include "ingest/ingest.h"
#include "ingest/jsontok.h"

struct jl_case {
    const char *name;
    const char *in;
    const char *want;      /* dump of the batch */
    size_t ok, bad;        /* report counts */
    const char *err;       /* substring of the first error, or NULL */
    int err_line, err_col; /* its position */
};

static void run(const struct jl_case *c)
{
    struct batch b;
    struct ingest_report r;
    struct buf out;
    batch_init(&b);
    ingest_report_init(&r);
    buf_init(&out, 0);
    int rc = jsonl_parse(c->in, strlen(c->in), &b, &r);
    if (rc != 0)
        fail_msg("%s: rc=%d", c->name, rc);
    dump_batch(&out, &b);
    check_report(c->name, &out, c->want, &r, c->ok, c->bad, c->err, c->err_line, c->err_col);
    buf_fini(&out);
    batch_fini(&b);
}

static void test_parse(void **state)
{
    static const struct jl_case cases[] = {
        {"vm example",
         "{\"metric\":{\"__name__\":\"up\",\"job\":\"node\"},\"values\":[0,1.5],"
         "\"timestamps\":[1549891472010,1549891487724]}\n",
         "up{job=\"node\"} 0 1549891472010\nup{job=\"node\"} 1.5 1549891487724\n", 1, 0, NULL, 0,
         0},
        {"key order and spaces",
         "  { \"timestamps\" : [ 5 ] , \"values\" : [ -2e-3 ] , \"metric\" : { \"b\" : \"2\" , "
         "\"__name__\" : \"m\" , \"a\" : \"1\" } }  \r\n",
         "m{a=\"1\",b=\"2\"} -0.002 5\n", 1, 0, NULL, 0, 0},
        {"specials",
         "{\"metric\":{\"__name__\":\"m\"},\"values\":[\"NaN\",\"+Inf\",\"-Inf\",\"Inf\",NaN,"
         "-Inf,+Inf,\"StaleNaN\",\"infinity\",\"-infinity\",\"nan\"],"
         "\"timestamps\":[1,2,3,4,5,6,7,8,9,10,11]}",
         "m{} NaN 1\nm{} +Inf 2\nm{} -Inf 3\nm{} +Inf 4\nm{} NaN 5\nm{} -Inf 6\nm{} +Inf 7\n"
         "m{} StaleNaN 8\nm{} +Inf 9\nm{} -Inf 10\nm{} NaN 11\n",
         1, 0, NULL, 0, 0},
        {"null skipped with its timestamp",
         "{\"metric\":{\"__name__\":\"m\"},\"values\":[null,2,null],\"timestamps\":[1,2,3]}",
         "m{} 2 2\n", 1, 0, NULL, 0, 0},
        {"all null", "{\"metric\":{\"__name__\":\"m\"},\"values\":[null],\"timestamps\":[1]}", "",
         1, 0, NULL, 0, 0},
        {"escapes",
         "{\"metric\":{\"\\u005f_name__\":\"a\",\"k\":\"a\\\"b\\\\c\\/"
         "\\u00e9\\ud83d\\ude00\\n\\t\"},"
         "\"values\":[1],\"timestamps\":[-5]}",
         "a{k=\"a\"b\\c/é😀\n\t\"} 1 -5\n", 1, 0, NULL, 0, 0},
        {"lone surrogate",
         "{\"metric\":{\"__name__\":\"m\",\"k\":\"\\ud800x\"},\"values\":[1],"
         "\"timestamps\":[1]}",
         "m{k=\"\xef\xbf\xbdx\"} 1 1\n", 1, 0, NULL, 0, 0},
        {"unknown keys skipped",
         "{\"x\":{\"y\":[1,{\"z\":null}],\"w\":\"s\"},\"metric\":{\"__name__\":\"m\"},"
         "\"values\":[1],\"timestamps\":[1],\"q\":true}",
         "m{} 1 1\n", 1, 0, NULL, 0, 0},
        {"empty label value dropped",
         "{\"metric\":{\"__name__\":\"m\",\"e\":\"\"},\"values\":[1],\"timestamps\":[1]}",
         "m{} 1 1\n", 1, 0, NULL, 0, 0},
        {"blank lines", "\n  \n\r\n", "", 3, 0, NULL, 0, 0},
        {"numbers",
         "{\"metric\":{\"__name__\":\"m\"},\"values\":[0.1,1e308,5e-324,-0,123456789012345678901],"
         "\"timestamps\":[1,2,3,4,5]}",
         "m{} 0.1 1\nm{} 1e+308 2\nm{} 5e-324 3\nm{} -0 4\nm{} 1.2345678901234568e+20 5\n", 1, 0,
         NULL, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run(&cases[i]);
}

#define OKLINE "{\"metric\":{\"__name__\":\"ok\"},\"values\":[1],\"timestamps\":[1]}\n"

static void test_bad(void **state)
{
    static const struct jl_case cases[] = {
        {"good lines kept",
         OKLINE "{\"metric\":{\"__name__\":\"m\"},\"values\":[1,2],"
                "\"timestamps\":[1]}\n" OKLINE,
         "ok{} 1 1\nok{} 1 1\n", 2, 1, "line 2: \"values\" has 2 entries but \"timestamps\" has 1",
         2, 1},
        {"trailing garbage", "{\"metric\":{\"__name__\":\"m\"},\"values\":[1],\"timestamps\":[1]}x",
         "", 0, 1, "unexpected data after the object", 1, 58},
        {"two objects", "{\"metric\":{\"__name__\":\"m\"},\"values\":[1],\"timestamps\":[1]}{}", "",
         0, 1, "unexpected data", 1, 58},
        {"missing metric", "{\"values\":[1],\"timestamps\":[1]}", "", 0, 1, "missing \"metric\"", 1,
         1},
        {"missing name", "{\"metric\":{\"a\":\"b\"},\"values\":[1],\"timestamps\":[1]}", "", 0, 1,
         "__name__", 1, 1},
        {"missing values", "{\"metric\":{\"__name__\":\"m\"},\"timestamps\":[1]}", "", 0, 1,
         "\"values\"", 1, 1},
        {"empty values", "{\"metric\":{\"__name__\":\"m\"},\"values\":[],\"timestamps\":[]}", "", 0,
         1, "\"values\"", 1, 1},
        {"float timestamp", "{\"metric\":{\"__name__\":\"m\"},\"values\":[1],\"timestamps\":[1.5]}",
         "", 0, 1, "integer milliseconds", 1, 55},
        {"timestamp overflow",
         "{\"metric\":{\"__name__\":\"m\"},\"values\":[1],\"timestamps\":[9223372036854775808]}",
         "", 0, 1, "out of range", 1, 55},
        {"bad value word", "{\"metric\":{\"__name__\":\"m\"},\"values\":[nope],\"timestamps\":[1]}",
         "", 0, 1, "invalid value", 1, 38},
        {"bad value string",
         "{\"metric\":{\"__name__\":\"m\"},\"values\":[\"1\"],\"timestamps\":[1]}", "", 0, 1,
         "a value string must be", 1, 38},
        {"number label", "{\"metric\":{\"__name__\":1},\"values\":[1],\"timestamps\":[1]}", "", 0,
         1, "label values must be strings", 1, 23},
        {"bad escape", "{\"metric\":{\"__name__\":\"a\\q\"},\"values\":[1],\"timestamps\":[1]}", "",
         0, 1, "invalid escape", 1, 25},
        {"bad \\u", "{\"metric\":{\"__name__\":\"a\\u12\"},\"values\":[1],\"timestamps\":[1]}", "",
         0, 1, "invalid \\u escape", 1, 25},
        {"unterminated", "{\"metric\":{\"__name__\":\"m", "", 0, 1, "unterminated string", 1, 23},
        {"not an object", "[1,2]", "", 0, 1, "expected '{'", 1, 1},
        {"duplicate key",
         "{\"metric\":{\"__name__\":\"m\"},\"values\":[1],\"values\":[2],\"timestamps\":[1]}", "",
         0, 1, "duplicate key", 1, 41},
        {"leading zero", "{\"metric\":{\"__name__\":\"m\"},\"values\":[01],\"timestamps\":[1]}", "",
         0, 1, "expected ',' or ']'", 1, 39},
        {"control char", "{\"metric\":{\"__name__\":\"a\tb\"},\"values\":[1],\"timestamps\":[1]}",
         "", 0, 1, "control character", 1, 25},
        {"value not utf-8",
         OKLINE "{\"metric\":{\"__name__\":\"m\",\"h\":\"a\xff\"},\"values\":[1],\"timestamps\":[1]"
                "}\n" OKLINE,
         "ok{} 1 1\nok{} 1 1\n", 2, 1, "line 2: value of label \"h\" is not valid UTF-8 (column 1)",
         2, 1},
        {"latin-1 value",
         "{\"metric\":{\"__name__\":\"m\",\"city\":\"Z\xfcrich\"},\"values\":[1],\"timestamps\":[1]"
         "}",
         "", 0, 1, "line 1: value of label \"city\" is not valid UTF-8", 1, 1},
        {"label name not utf-8",
         "{\"metric\":{\"__name__\":\"m\",\"h\xc3\":\"x\"},\"values\":[1],\"timestamps\":[1]}", "",
         0, 1, "line 1: invalid label name \"h\\xc3\" (not valid UTF-8)", 1, 1},
        {"metric name not utf-8",
         "{\"metric\":{\"__name__\":\"m\xe9\"},\"values\":[1],\"timestamps\":[1]}", "", 0, 1,
         "line 1: invalid metric name \"m\\xe9\" (not valid UTF-8)", 1, 1},
        {"invalid metric name",
         "{\"metric\":{\"__name__\":\"a-b\"},\"values\":[1],\"timestamps\":[1]}", "", 0, 1,
         "line 1: invalid metric name \"a-b\"", 1, 1},
        {"invalid label name",
         "{\"metric\":{\"__name__\":\"m\",\"k8s.pod\":\"x\"},\"values\":[1],\"timestamps\":[1]}",
         "", 0, 1, "line 1: invalid label name \"k8s.pod\"", 1, 1},
        {"empty label name",
         "{\"metric\":{\"__name__\":\"m\",\"\":\"x\"},\"values\":[1],\"timestamps\":[1]}", "", 0, 1,
         "line 1: empty label name", 1, 1},
        {"empty __name__",
         "{\"metric\":{\"__name__\":\"\",\"a\":\"b\"},\"values\":[1],\"timestamps\":[1]}", "", 0, 1,
         "line 1: missing metric name (label __name__)", 1, 1},
        {"duplicate label",
         "{\"metric\":{\"__name__\":\"m\",\"job\":\"a\",\"job\":\"b\"},\"values\":[1],"
         "\"timestamps\":[1]}",
         "", 0, 1, "line 1: duplicate label name \"job\"", 1, 1},
        {"deep unknown",
         "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
         "[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
         "]]]]]]}",
         "", 0, 1, "nested too deeply", 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run(&cases[i]);
}

static void test_round_trip(void **state)
{
    static const uint64_t vals[] = {
        0x0000000000000000ULL, /* 0 */
        0x8000000000000000ULL, /* -0 */
        0x0000000000000001ULL, /* smallest subnormal */
        0x000fffffffffffffULL, /* largest subnormal */
        0x7fefffffffffffffULL, /* DBL_MAX */
        0x3fb999999999999aULL, /* 0.1 */
        0x3ff0000000000001ULL, /* 1 + ulp */
        0x7ff0000000000000ULL, /* +Inf */
        0xfff0000000000000ULL, /* -Inf */
        0x7ff8000000000001ULL, /* the canonical NaN */
        STALE_NAN_BITS,        /* Prometheus' stale marker */
        0x4341c37937e08000ULL, /* 1e16 */
        0xc3e0000000000000ULL, /* -2^63 */
    };
    const size_t n = sizeof vals / sizeof vals[0];
    struct sample s[sizeof vals / sizeof vals[0]];
    for (size_t i = 0; i < n; i++)
        s[i] = (struct sample){(int64_t)i * 1000 - 5000, from_bits(vals[i])};
    s[n - 1].t_ms = INT64_MIN;
    s[n - 2].t_ms = INT64_MAX;
    struct label ls[] = {
        {STRV_LIT("__name__"), STRV_LIT("weird:name_")},
        {STRV_LIT("a"), STRV_LIT("x\ny\x01z\"q\\")},
        {STRV_LIT("b"), STRV_LIT("ünï")},
    };
    struct buf out;
    buf_init(&out, 0);
    /* Name not first in the input: the format puts it first. */
    struct label ls_rot[] = {ls[1], ls[0], ls[2]};
    assert_int_equal(jsonl_format(&out, ls_rot, 3, s, n), 0);
    assert_true(strncmp(out.p, "{\"metric\":{\"__name__\":", 22) == 0);
    assert_true(out.p[out.len - 1] == '\n');
    assert_non_null(strstr(out.p, "\"StaleNaN\""));

    struct batch b;
    struct ingest_report r;
    batch_init(&b);
    ingest_report_init(&r);
    assert_int_equal(jsonl_parse(out.p, out.len, &b, &r), 0);
    assert_int_equal(r.lines_ok, 1);
    assert_int_equal(r.lines_bad, 0);
    assert_int_equal(b.nseries, 1);
    assert_int_equal(b.series[0].nlabels, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_true(strv_eq(b.labels[i].name, ls[i].name));
        assert_true(strv_eq(b.labels[i].value, ls[i].value));
    }
    assert_int_equal(b.series[0].nsamples, n);
    for (size_t i = 0; i < n; i++) {
        if (bits(b.samples[i].v) != vals[i])
            fail_msg("value %zu: %016llx, want %016llx", i,
                     (unsigned long long)bits(b.samples[i].v), (unsigned long long)vals[i]);
        assert_true(b.samples[i].t_ms == s[i].t_ms);
    }
    batch_fini(&b);

    /* Other NaN payloads come back as the canonical NaN. */
    buf_reset(&out);
    struct sample odd = {1, from_bits(0x7ff800000000dead)};
    assert_int_equal(jsonl_format(&out, ls, 1, &odd, 1), 0);
    batch_init(&b);
    assert_int_equal(jsonl_parse(out.p, out.len, &b, &r), 0);
    assert_true(bits(b.samples[0].v) == 0x7ff8000000000001ULL);
    batch_fini(&b);

    /* No samples, no line. */
    buf_reset(&out);
    assert_int_equal(jsonl_format(&out, ls, 1, s, 0), 0);
    assert_int_equal(out.len, 0);
    buf_fini(&out);
}

static void test_round_trip_random(void **state)
{
    /* Many random bit patterns (finite ones), formatted and parsed back. */
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    struct sample s[512];
    for (size_t i = 0; i < 512; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t u = x;
        if ((u & 0x7ff0000000000000ULL) == 0x7ff0000000000000ULL)
            u &= ~0x4000000000000000ULL; /* keep it finite */
        s[i] = (struct sample){(int64_t)x, from_bits(u)};
    }
    struct label ls[] = {{STRV_LIT("__name__"), STRV_LIT("r")}};
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(jsonl_format(&out, ls, 1, s, 512), 0);
    struct batch b;
    struct ingest_report r;
    batch_init(&b);
    ingest_report_init(&r);
    assert_int_equal(jsonl_parse(out.p, out.len, &b, &r), 0);
    assert_int_equal(b.nsamples, 512);
    for (size_t i = 0; i < 512; i++) {
        if (bits(b.samples[i].v) != bits(s[i].v) || b.samples[i].t_ms != s[i].t_ms)
            fail_msg("sample %zu: %.17g != %.17g", i, b.samples[i].v, s[i].v);
    }
    batch_fini(&b);
    buf_fini(&out);
}

static void test_format_limit(void **state)
{
    /* A capped buffer: the failed append leaves the buffer as it was. */
    struct buf out;
    buf_init(&out, 40);
    struct label ls[] = {{STRV_LIT("__name__"), STRV_LIT("metric_with_a_long_name")}};
    struct sample s = {1, 1};
    buf_puts(&out, "keep");
    assert_int_equal(jsonl_format(&out, ls, 1, &s, 1), TIDE_ELIMIT);
    assert_int_equal(out.len, 4);
    assert_string_equal(out.p, "keep");
    buf_fini(&out);
}

/* Data stored before ingest checked UTF-8 (an older version, a collector)
 * is still exported as valid JSON: each bad byte becomes \ufffd, valid
 * UTF-8 and escapes are unchanged, and the line imports back. */
static void test_format_invalid_utf8(void **state)
{
    static const struct {
        const char *in;
        const char *want; /* the JSON string written */
    } cases[] = {
        {"a\xff"
         "b",
         "\"a\\ufffdb\""},
        {"\xc3", "\"\\ufffd\""}, /* cut short at the end */
        {"\xe2\x82"
         "x",
         "\"\\ufffd\\ufffdx\""},                       /* cut short inside */
        {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""}, /* a surrogate */
        {"\xc0\xaf", "\"\\ufffd\\ufffd\""},            /* overlong */
        {"Z\xc3\xbcrich \xf0\x9f\x98\x80", "\"Z\xc3\xbcrich \xf0\x9f\x98\x80\""},
        {"q\"\\\n\x01", "\"q\\\"\\\\\\n\\u0001\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf out;
        buf_init(&out, 0);
        assert_int_equal(jsontok_put_string(&out, cases[i].in, strlen(cases[i].in)), 0);
        if (strcmp(out.p, cases[i].want) != 0)
            fail_msg("case %zu: got %s want %s", i, out.p, cases[i].want);
        buf_fini(&out);
    }
    struct label ls[] = {
        {STRV_LIT("__name__"), STRV_LIT("old")},
        {STRV_LIT("host"), STRV_LIT("h\xff")},
    };
    struct sample s = {1000, 1};
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(jsonl_format(&out, ls, 2, &s, 1), 0);
    assert_string_equal(out.p, "{\"metric\":{\"__name__\":\"old\",\"host\":\"h\\ufffd\"},"
                               "\"values\":[1],\"timestamps\":[1000]}\n");
    struct batch b;
    struct ingest_report r;
    batch_init(&b);
    ingest_report_init(&r);
    assert_int_equal(jsonl_parse(out.p, out.len, &b, &r), 0);
    assert_int_equal(r.lines_bad, 0);
    assert_int_equal(b.nseries, 1);
    assert_true(strv_eq_c(b.labels[1].value, "h\xef\xbf\xbd"));
    batch_fini(&b);
    buf_fini(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_format_limit), cmocka_unit_test(test_format_invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
