/* test_expfmt.c: Prometheus text exposition parsing (ingest/expfmt.c).
 * Table-driven: each case is an input and the series it must give, written
 * one per line as `labels|t_ms|value` (labels sorted, `name=value` joined by
 * ','), plus the bad lines expected as `line:col`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "ingest/expfmt.h"

#define T0 1700000000000LL

/* Render the batch as the cases write it. */
static const struct {
    const char *name, *in, *want, *errs;
} cases[] = {
    {"plain", "up 1\n",
     "__name__=up|"
     "1700000000000"
     "|1\n",
     ""},
    {"labels and timestamp",
     "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n",
     "__name__=http_requests_total,code=200,method=post|1395066363000|1027\n", ""},
    {"help type comments blank crlf",
     "# HELP x some help \\n text\r\n# TYPE x counter\r\n\r\n# random comment\r\nx 3\r\n",
     "__name__=x|1700000000000|3\n", ""},
    {"escapes", "m{path=\"C:\\\\dir\",q=\"say \\\"hi\\\"\",nl=\"a\\nb\",odd=\"\\x\"} 1\n",
     "__name__=m,nl=a\nb,odd=\\x,path=C:\\dir,q=say \"hi\"|1700000000000|1\n", ""},
    {"special values",
     "a NaN\nb +Inf\nc -Inf\nd Inf\ne 1e3\nf -0.5\ng 0x1p-2\nh 1.7976931348623157e308\ni .5\n",
     "__name__=a|1700000000000|NaN\n__name__=b|1700000000000|+Inf\n"
     "__name__=c|1700000000000|-Inf\n__name__=d|1700000000000|+Inf\n"
     "__name__=e|1700000000000|1000\n__name__=f|1700000000000|-0.5\n"
     "__name__=g|1700000000000|0.25\n__name__=h|1700000000000|1.7976931348623157e+308\n"
     "__name__=i|1700000000000|0.5\n",
     ""},
    {"blanks everywhere", "  m  { a = \"1\" , b=\"2\", }   4   -5  \n", "__name__=m,a=1,b=2|-5|4\n",
     ""},
    {"empty label set and value", "m{} 1\nn{e=\"\"} 2\n",
     "__name__=m|1700000000000|1\n__name__=n|1700000000000|2\n", ""},
    {"colon names, no final newline", "ns:rule:rate5m{job=\"x\"} 0.1",
     "__name__=ns:rule:rate5m,job=x|1700000000000|0.1\n", ""},
    {"openmetrics eof and exemplar", "a 1 # {trace_id=\"x\"} 1\n# EOF\nb 2\n",
     "__name__=a|1700000000000|1\n", ""},
    {"bad lines kept apart",
     "good 1\n"
     "1bad 2\n"               /* 2:1 metric name */
     "m{a=\"x} 1\n"           /* 3:5 unterminated value */
     "m{a=\"x\" b=\"y\"} 1\n" /* 4:9 missing comma */
     "m{a=\"1\",a=\"2\"} 1\n" /* 5:1 duplicate (labels_validate) */
     "m abc\n"                /* 6:3 value */
     "m 1 12.5\n"             /* 7:5 timestamp */
     "m 1 2 3\n"              /* 8:7 trailing text */
     "m\n"                    /* 9:2 missing value */
     "# TYPE m gauges\n"      /* 10:10 bad type */
     "m-x 1\n"                /* 11:2 bad char */
     "m{1a=\"b\"} 1\n"        /* 12:3 label name */
     "last 2\n",
     "__name__=good|1700000000000|1\n__name__=last|1700000000000|2\n",
     "2:1 3:5 4:9 5:1 6:3 7:5 8:7 9:2 10:10 11:2"},
    {"int64 timestamp bounds",
     "a 1 9223372036854775807\nb 1 -9223372036854775808\nc 1 9223372036854775808\n",
     "__name__=a|9223372036854775807|1\n__name__=b|-9223372036854775808|1\n", "3:5"},
};

static void test_cases(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct batch b;
        batch_init(&b);
        struct ingest_report r;
        ingest_report_init(&r);
        struct expfmt_opts o = {T0};
        assert_int_equal(expfmt_parse(cases[i].in, strlen(cases[i].in), &o, &b, &r), 0);
        char got[2048], errs[512];
        render_rows(&b, got, sizeof got);
        render_errs(&r, errs, sizeof errs);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s: got\n%s\nwant\n%s", cases[i].name, got, cases[i].want);
        if (strcmp(errs, cases[i].errs) != 0)
            fail_msg("%s: errors %s, want %s (%s)", cases[i].name, errs, cases[i].errs,
                     r.nerrs ? r.errs[0].msg : "");
        batch_fini(&b);
    }
}

/* Line counts, and no read past the end of an input cut anywhere. */
static void test_report_and_prefixes(void **state)
{
    const char *in = "# TYPE a gauge\na{x=\"\\\"y\"} 1 5\n\nbad line\nb 2\n";
    struct batch b;
    batch_init(&b);
    struct ingest_report r;
    ingest_report_init(&r);
    struct expfmt_opts o = {T0};
    expfmt_parse(in, strlen(in), &o, &b, &r);
    assert_int_equal(r.lines_ok, 4);
    assert_int_equal(r.lines_bad, 1);
    assert_int_equal(r.nerrs, 1);
    assert_int_equal(r.errs[0].line, 4);
    assert_int_equal(r.errs[0].code, TIDE_EPARSE);
    for (size_t n = 0; n <= strlen(in); n++) {
        char *copy = malloc(n ? n : 1); /* exact size: ASan flags any overread */
        memcpy(copy, in, n);
        batch_reset(&b);
        ingest_report_init(&r);
        assert_int_equal(expfmt_parse(copy, n, &o, &b, &r), 0);
        free(copy);
    }
    batch_fini(&b);
}

/* Label sets Prometheus refuses (labels_validate): the line is bad with a
 * message naming the label, the lines around it are kept. */
static void test_invalid_labels(void **state)
{
    static const struct {
        const char *name;
        const char *line; /* the middle line */
        const char *want; /* exact message; NULL: the line is good */
    } lcases[] = {
        {"bad utf8 value", "m{host=\"a\xff\"} 1",
         "line 2 col 1: value of label \"host\" is not valid UTF-8"},
        {"bad utf8 after escape", "m{host=\"\\\"\xc3\"} 1",
         "line 2 col 1: value of label \"host\" is not valid UTF-8"},
        {"latin-1 value", "m{city=\"Z\xfcrich\"} 1",
         "line 2 col 1: value of label \"city\" is not valid UTF-8"},
        {"duplicate", "m{a=\"1\",a=\"2\"} 1", "line 2 col 1: duplicate label name \"a\""},
        {"duplicate, one empty", "m{a=\"\",a=\"2\"} 1", "line 2 col 1: duplicate label name \"a\""},
        {"__name__ in braces", "m{__name__=\"n\"} 1",
         "line 2 col 1: duplicate label name \"__name__\""},
        {"bad utf8 label name", "m{h\xc3=\"x\"} 1", "line 2 col 4: expected '=' after label name"},
        {"non-ascii metric name", "m\xc3\xa9 1", "line 2 col 2: invalid character in metric name"},
        {"utf8 value is fine", "m{city=\"Z\xc3\xbcrich\"} 1", NULL},
        {"empty value drops the label", "m{a=\"\"} 1", NULL},
    };
    for (size_t i = 0; i < sizeof lcases / sizeof lcases[0]; i++) {
        char in[256];
        snprintf(in, sizeof in, "before 1\n%s\nafter 2\n", lcases[i].line);
        struct batch b;
        batch_init(&b);
        struct ingest_report r;
        ingest_report_init(&r);
        struct expfmt_opts o = {T0};
        assert_int_equal(expfmt_parse(in, strlen(in), &o, &b, &r), 0);
        size_t want_series = lcases[i].want ? 2 : 3;
        if (b.nseries != want_series || r.lines_bad != (lcases[i].want ? 1u : 0u))
            fail_msg("%s: %zu series, %zu bad lines (%s)", lcases[i].name, b.nseries, r.lines_bad,
                     r.nerrs ? r.errs[0].msg : "");
        if (lcases[i].want && (r.errs[0].line != 2 || strcmp(r.errs[0].msg, lcases[i].want) != 0))
            fail_msg("%s:\n  got  %s\n  want %s", lcases[i].name, r.errs[0].msg, lcases[i].want);
        batch_fini(&b);
    }
}

static void test_parse_float(void **state)
{
    static const struct {
        const char *in;
        int ok;
        double want;
    } f[] = {
        {"0", 1, 0},         {"-0", 1, -0.0},     {"1.5", 1, 1.5},        {"1e-400", 1, 0},
        {"1e400", 1, INFINITY}, {"0.1", 1, 0.1},  {"123456789012345678901234567890", 1, 1.2345678901234568e29},
        {"nan", 1, NAN},     {"INF", 1, INFINITY}, {"-infinity", 1, -INFINITY}, {"", 0, 0},
        {"1x", 0, 0},        {"0x10", 0, 0},      {"--1", 0, 0},          {".", 0, 0},
        {"e5", 0, 0},        {" 1", 0, 0},        {"1e", 0, 0},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        double v = 0;
        int rc = expfmt_parse_float(f[i].in, strlen(f[i].in), &v);
        if ((rc == 0) != f[i].ok)
            fail_msg("%s: rc=%d", f[i].in, rc);
        if (f[i].ok && !(isnan(f[i].want) ? isnan(v) : v == f[i].want && signbit(v) == signbit(f[i].want)))
            fail_msg("%s: got %.17g", f[i].in, v);
    }
}

/* HELP, TYPE and UNIT lines become the batch's metadata, one entry per
 * family, rendered `family|type|unit|help` (type "-" when not given). */
static void test_metadata(void **state)
{
    (void)state;
    static const struct {
        const char *name, *in, *want;
    } mc[] = {
        {"type then help", "# TYPE x counter\n# HELP x Total \\ things\\n here.\nx 1\n",
         "x|counter||Total \\ things\n here.\n"},
        {"help only, untyped", "# HELP y  two  spaces\n# TYPE z untyped\n",
         "y|-||two  spaces\nz|unknown||\n"},
        {"unit", "# TYPE t_seconds gauge\n# UNIT t_seconds seconds\n# HELP t_seconds\n",
         "t_seconds|gauge|seconds|\n"},
        {"bad type is no metadata", "# TYPE w weird\n", ""},
        {"comments are not", "# just a comment\n# HELPER x y\n", ""},
    };
    for (size_t i = 0; i < sizeof mc / sizeof mc[0]; i++) {
        struct batch b;
        batch_init(&b);
        struct ingest_report r;
        ingest_report_init(&r);
        struct expfmt_opts o = {.default_t_ms = T0};
        assert_int_equal(expfmt_parse(mc[i].in, strlen(mc[i].in), &o, &b, &r), 0);
        char got[512] = "";
        size_t n = 0;
        for (size_t j = 0; j < b.nmeta; j++) {
            const struct batch_meta *m = &b.meta[j];
            const char *t = metric_type_name(m->type);
            n += (size_t)snprintf(got + n, sizeof got - n, "%.*s|%s|%.*s|%.*s\n",
                                  (int)m->family.n, m->family.p, t ? t : "-", (int)m->unit.n,
                                  m->unit.p ? m->unit.p : "", (int)m->help.n,
                                  m->help.p ? m->help.p : "");
        }
        if (strcmp(got, mc[i].want) != 0)
            fail_msg("%s:\n  got  [%s]\n  want [%s]", mc[i].name, got, mc[i].want);
        batch_fini(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_report_and_prefixes),
        cmocka_unit_test(test_invalid_labels),
        cmocka_unit_test(test_parse_float),
        cmocka_unit_test(test_metadata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
