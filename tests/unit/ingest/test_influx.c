/* test_influx.c: Influx line protocol to batches (ingest/influx.c): escaping,
 * every field type, precisions, default time, VictoriaMetrics naming, bad
 * lines reported with their numbers while good lines are kept. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/fs.h"

#include "dump.h"
#include "ingest/ingest.h"

#define NOW 1700000000000LL

struct lp_case {
    const char *name;
    const char *in;
    enum influx_precision prec;
    const char *want;      /* dump of the batch */
    size_t ok, bad;        /* report counts */
    const char *err;       /* substring of the first error, or NULL */
    int err_line, err_col; /* position of the first error */
};

/* Parse in[0..n) at precision prec, now NOW, into b and r (both set up here). */
static void parse_lp(const char *in, size_t n, enum influx_precision prec, struct batch *b,
                     struct ingest_report *r)
{
    batch_init(b);
    ingest_report_init(r);
    struct influx_opts o = {prec, NOW};
    assert_int_equal(influx_parse(in, n, &o, b, r), 0);
}

static void run(const struct lp_case *c)
{
    struct batch b;
    struct ingest_report r;
    struct buf out;
    batch_init(&b);
    ingest_report_init(&r);
    buf_init(&out, 0);
    struct influx_opts o = {c->prec, NOW};
    int rc = influx_parse(c->in, strlen(c->in), &o, &b, &r);
    if (rc != 0)
        fail_msg("%s: rc=%d", c->name, rc);
    dump_batch(&out, &b);
    check_report(c->name, &out, c->want, &r, c->ok, c->bad, c->err, c->err_line, c->err_col);
    if (c->err != NULL) {
        if (r.errs[0].code != TIDE_EPARSE)
            fail_msg("%s: code %d", c->name, r.errs[0].code);
    }
    buf_fini(&out);
    batch_fini(&b);
}

static void test_types(void **state)
{
    static const struct lp_case cases[] = {
        {"float", "cpu usage=1.5 1000000000", INFLUX_NS, "cpu_usage{} 1.5 1000\n", 1, 0, NULL, 0,
         0},
        {"exponent", "m f=-1.5e3,g=2E-2,h=.5,i=7.,j=+3 0", INFLUX_NS,
         "m_f{} -1500 0\nm_g{} 0.02 0\nm_h{} 0.5 0\nm_i{} 7 0\nm_j{} 3 0\n", 1, 0, NULL, 0, 0},
        {"integer", "m a=1i,b=-9223372036854775808i,c=9223372036854775807i 0", INFLUX_NS,
         "m_a{} 1 0\nm_b{} -9.223372036854776e+18 0\nm_c{} 9.223372036854776e+18 0\n", 1, 0, NULL,
         0, 0},
        {"unsigned", "m a=18446744073709551615u,b=0u 0", INFLUX_NS,
         "m_a{} 1.8446744073709552e+19 0\nm_b{} 0 0\n", 1, 0, NULL, 0, 0},
        {"bools", "m a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE 0", INFLUX_NS,
         "m_a{} 1 0\nm_b{} 1 0\nm_c{} 1 0\nm_d{} 1 0\nm_e{} 1 0\n"
         "m_f{} 0 0\nm_g{} 0 0\nm_h{} 0 0\nm_i{} 0 0\nm_j{} 0 0\n",
         1, 0, NULL, 0, 0},
        {"string skipped", "m s=\"a, b=c \\\" d\",x=2 0", INFLUX_NS, "m_x{} 2 0\n", 1, 0, NULL, 0,
         0},
        {"string only", "m s=\"hello\" 0", INFLUX_NS, "", 1, 0, NULL, 0, 0},
        {"value field", "temp,room=k value=21.5 0", INFLUX_NS, "temp{room=\"k\"} 21.5 0\n", 1, 0,
         NULL, 0, 0},
        {"long digits", "m a=0.1000000000000000055511151231257827,b=123456789012345678901234 0",
         INFLUX_NS, "m_a{} 0.1 0\nm_b{} 1.2345678901234569e+23 0\n", 1, 0, NULL, 0, 0},
        {"negative zero", "m a=-0.0 0", INFLUX_NS, "m_a{} -0 0\n", 1, 0, NULL, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run(&cases[i]);
}

static void test_escapes(void **state)
{
    static const struct lp_case cases[] = {
        {"measurement", "my\\ meas\\,x f=1 0", INFLUX_NS, "my_meas_x_f{} 1 0\n", 1, 0, NULL, 0, 0},
        {"measurement keeps \\=", "a\\=b f=1 0", INFLUX_NS, "a__b_f{} 1 0\n", 1, 0, NULL, 0, 0},
        {"tags", "m,t\\ k\\=1=v\\,a\\ l\\=x f=1 0", INFLUX_NS, "m_f{t_k_1=\"v,a l=x\"} 1 0\n", 1, 0,
         NULL, 0, 0},
        {"field key", "m f\\ k\\,\\=y=2 0", INFLUX_NS, "m_f_k__y{} 2 0\n", 1, 0, NULL, 0, 0},
        {"double backslash", "m,t=a\\\\b f=1 0", INFLUX_NS, "m_f{t=\"a\\b\"} 1 0\n", 1, 0, NULL, 0,
         0},
        {"other backslash kept", "m,t=a\\xb f=1 0", INFLUX_NS, "m_f{t=\"a\\xb\"} 1 0\n", 1, 0, NULL,
         0, 0},
        {"tags sorted", "m,z=1,a=2 f=1 0", INFLUX_NS, "m_f{a=\"2\",z=\"1\"} 1 0\n", 1, 0, NULL, 0,
         0},
        {"__name__ tag overridden", "m,__name__=x f=1 0", INFLUX_NS, "m_f{} 1 0\n", 1, 0, NULL, 0,
         0},
        {"unicode", "Ünï,ключ=значение f=1 0", INFLUX_NS, "_n__f{____=\"значение\"} 1 0\n", 1, 0,
         NULL, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run(&cases[i]);
}

static void test_time(void **state)
{
    static const struct lp_case cases[] = {
        {"default time", "m f=1", INFLUX_NS, "m_f{} 1 1700000000000\n", 1, 0, NULL, 0, 0},
        {"default with spaces", "m f=1   ", INFLUX_NS, "m_f{} 1 1700000000000\n", 1, 0, NULL, 0, 0},
        {"ns floor", "m f=1 1999999", INFLUX_NS, "m_f{} 1 1\n", 1, 0, NULL, 0, 0},
        {"ns negative floor", "m f=1 -1", INFLUX_NS, "m_f{} 1 -1\n", 1, 0, NULL, 0, 0},
        {"us", "m f=1 1500", INFLUX_US, "m_f{} 1 1\n", 1, 0, NULL, 0, 0},
        {"us negative", "m f=1 -1500", INFLUX_US, "m_f{} 1 -2\n", 1, 0, NULL, 0, 0},
        {"ms", "m f=1 -42", INFLUX_MS, "m_f{} 1 -42\n", 1, 0, NULL, 0, 0},
        {"s", "m f=1 1700000000", INFLUX_S, "m_f{} 1 1700000000000\n", 1, 0, NULL, 0, 0},
        {"m", "m f=1 2", INFLUX_M, "m_f{} 1 120000\n", 1, 0, NULL, 0, 0},
        {"h", "m f=1 2", INFLUX_H, "m_f{} 1 7200000\n", 1, 0, NULL, 0, 0},
        {"s overflow", "m f=1 9223372036854775807", INFLUX_S, "", 0, 1, "timestamp out of range", 1,
         7},
        {"int64 overflow", "m f=1 9223372036854775808", INFLUX_NS, "", 0, 1,
         "timestamp out of range", 1, 7},
        {"min int64", "m f=1 -9223372036854775808", INFLUX_NS, "m_f{} 1 -9223372036855\n", 1, 0,
         NULL, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run(&cases[i]);
}

static void test_lines(void **state)
{
    static const struct lp_case cases[] = {
        {"crlf", "a f=1 0\r\nb f=2 0\r\n", INFLUX_NS, "a_f{} 1 0\nb_f{} 2 0\n", 2, 0, NULL, 0, 0},
        {"comments and blanks", "# hi\n\n   \n\ta f=1 0\n#x f=2\n", INFLUX_NS, "a_f{} 1 0\n", 5, 0,
         NULL, 0, 0},
        {"no trailing newline", "a f=1 0\nb f=2 0", INFLUX_NS, "a_f{} 1 0\nb_f{} 2 0\n", 2, 0, NULL,
         0, 0},
        {"multi spaces", "a,t=1   f=1,g=2   5000000", INFLUX_NS,
         "a_f{t=\"1\"} 1 5\na_g{t=\"1\"} 2 5\n", 1, 0, NULL, 0, 0},
        {"empty input", "", INFLUX_NS, "", 0, 0, NULL, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run(&cases[i]);
}

static void test_bad_lines(void **state)
{
    static const struct lp_case cases[] = {
        {"bad value keeps others", "a f=1 0\nb x=abc 0\nc f=3 0\n", INFLUX_NS,
         "a_f{} 1 0\nc_f{} 3 0\n", 2, 1, "line 2: invalid field value \"abc\" for field \"x\"", 2,
         5},
        {"no fields", "cpu", INFLUX_NS, "", 0, 1, "missing fields", 1, 4},
        {"no fields after tags", "cpu,a=b", INFLUX_NS, "", 0, 1, "missing fields", 1, 8},
        {"no fields after space", "cpu ", INFLUX_NS, "", 0, 1, "missing fields", 1, 5},
        {"missing tag value", "cpu,host= f=1", INFLUX_NS, "", 0, 1,
         "missing value for tag \"host\"", 1, 10},
        {"tag without =", "cpu,host f=1", INFLUX_NS, "", 0, 1, "missing '=' after tag key", 1, 9},
        {"empty tag key", "cpu,=x f=1", INFLUX_NS, "", 0, 1, "missing tag key", 1, 5},
        {"empty field key", "cpu =1", INFLUX_NS, "", 0, 1, "missing field key", 1, 5},
        {"field without =", "cpu f 1", INFLUX_NS, "", 0, 1, "missing '=' after field key", 1, 6},
        {"empty field value", "cpu f=,g=1", INFLUX_NS, "", 0, 1, "missing value for field \"f\"", 1,
         7},
        {"trailing comma", "cpu f=1, 0", INFLUX_NS, "", 0, 1, "missing field key", 1, 9},
        {"unterminated string", "cpu s=\"abc", INFLUX_NS, "", 0, 1, "unterminated string", 1, 7},
        {"text after string", "cpu s=\"a\"b", INFLUX_NS, "", 0, 1, "unexpected text", 1, 10},
        {"bad timestamp", "cpu f=1 12a", INFLUX_NS, "", 0, 1, "invalid timestamp", 1, 9},
        {"extra token", "cpu f=1 12 13", INFLUX_NS, "", 0, 1, "invalid timestamp", 1, 9},
        {"int overflow", "cpu f=9223372036854775808i", INFLUX_NS, "", 0, 1, "invalid field value",
         1, 7},
        {"negative unsigned", "cpu f=-1u", INFLUX_NS, "", 0, 1, "invalid field value", 1, 7},
        {"NaN rejected", "cpu f=NaN", INFLUX_NS, "", 0, 1, "invalid field value", 1, 7},
        {"Inf rejected", "cpu f=inf", INFLUX_NS, "", 0, 1, "invalid field value", 1, 7},
        {"1e", "cpu f=1e", INFLUX_NS, "", 0, 1, "invalid field value", 1, 7},
        {"missing measurement", ",a=b f=1", INFLUX_NS, "", 0, 1, "missing measurement", 1, 1},
        {"line numbers count blanks", "\n# c\n\nx\n", INFLUX_NS, "", 3, 1, "line 4:", 4, 2},
        {"col after leading space", "  cpu f=x", INFLUX_NS, "", 0, 1, "invalid field value", 1, 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run(&cases[i]);
}

/* Names become Prometheus names (VictoriaMetrics' -usePromCompatibleNaming);
 * what labels_validate() still refuses makes the line bad, naming the label,
 * and leaves nothing of that line in the batch. */
static void test_prom_names(void **state)
{
    static const struct lp_case cases[] = {
        {"dots, dashes, slashes", "cpu.load,host-name=a,k8s.io/app=x value=1 0", INFLUX_NS,
         "cpu_load{host_name=\"a\",k8s_io_app=\"x\"} 1 0\n", 1, 0, NULL, 0, 0},
        {"colon kept in metric, not in label", "a:b,c:d=1 f=1 0", INFLUX_NS,
         "a:b_f{c_d=\"1\"} 1 0\n", 1, 0, NULL, 0, 0},
        {"leading digit", "1m,2x=y 5s=1 0", INFLUX_NS, "_1m_5s{_2x=\"y\"} 1 0\n", 1, 0, NULL, 0, 0},
        {"valid names borrowed unchanged", "m,_a=1,B9=2 f_g=1 0", INFLUX_NS,
         "m_f_g{B9=\"2\",_a=\"1\"} 1 0\n", 1, 0, NULL, 0, 0},
        {"tag value not utf-8", "a f=1 0\nm,host=a\xff f=1 0\nb f=1 0\n", INFLUX_NS,
         "a_f{} 1 0\nb_f{} 1 0\n", 2, 1, "line 2: value of label \"host\" is not valid UTF-8", 2,
         1},
        {"latin-1 tag value", "m,city=Z\xfcrich f=1 0", INFLUX_NS, "", 0, 1,
         "line 1: value of label \"city\" is not valid UTF-8", 1, 1},
        {"measurement not utf-8", "m\xff f=1 0", INFLUX_NS, "", 0, 1,
         "line 1: invalid metric name \"m\\xff_f\" (not valid UTF-8)", 1, 1},
        {"tag key not utf-8", "m,h\xc3=x f=1 0", INFLUX_NS, "", 0, 1,
         "line 1: invalid label name \"h\\xc3\" (not valid UTF-8)", 1, 1},
        {"second field not utf-8: whole line out", "m ok=1,b\xe2\x82=2 0", INFLUX_NS, "", 0, 1,
         "line 1: invalid metric name \"m_b\\xe2\\x82\" (not valid UTF-8)", 1, 1},
        {"duplicate tag key", "m,a=1,a=2 f=1 0", INFLUX_NS, "", 0, 1,
         "line 1: duplicate label name \"a\"", 1, 1},
        {"duplicate after renaming", "m,a.b=1,a_b=2 f=1 0", INFLUX_NS, "", 0, 1,
         "line 1: duplicate label name \"a_b\"", 1, 1},
        {"col 1 after leading blanks", "  m,a=1,a=2 f=1 0", INFLUX_NS, "", 0, 1,
         "line 1: duplicate label name \"a\"", 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run(&cases[i]);
}

static void test_many_errors(void **state)
{
    /* More bad lines than the report keeps: all counted, the first kept. */
    struct buf in;
    buf_init(&in, 0);
    for (int i = 0; i < 25; i++)
        buf_printf(&in, "m f=%s 0\n", i % 2 ? "1" : "bad");
    struct batch b;
    struct ingest_report r;
    parse_lp(in.p, in.len, INFLUX_NS, &b, &r);
    assert_int_equal(r.lines_ok, 12);
    assert_int_equal(r.lines_bad, 13);
    assert_int_equal(r.nerrs, INGEST_MAX_REPORTED);
    assert_int_equal(r.errs[0].line, 1);
    assert_int_equal(r.errs[1].line, 3);
    assert_int_equal(b.nseries, 12);
    batch_fini(&b);
    buf_fini(&in);
}

static void test_zero_copy(void **state)
{
    /* Unescaped tokens borrow from the input; escaped ones do not. */
    const char *in = "m,host=a\\ b,dc=x value=1 0";
    struct batch b;
    struct ingest_report r;
    parse_lp(in, strlen(in), INFLUX_NS, &b, &r);
    assert_int_equal(b.nseries, 1);
    for (uint32_t k = 0; k < b.series[0].nlabels; k++) {
        const struct label *l = &b.labels[k];
        int inside = l->value.p >= in && l->value.p < in + strlen(in);
        if (strv_eq_c(l->name, "host"))
            assert_false(inside);
        else
            assert_true(inside);
    }
    batch_fini(&b);
}

static void test_not_nul_terminated(void **state)
{
    /* The parser must stop at n: the bytes after it would change the result. */
    const char *in = "m f=12 34";
    struct batch b;
    struct ingest_report r;
    parse_lp(in, 6, INFLUX_MS, &b, &r);
    assert_int_equal(b.nsamples, 1);
    assert_true(b.samples[0].v == 12.0);
    assert_int_equal(b.samples[0].t_ms, NOW);
    batch_fini(&b);
}

static void test_precision_parse(void **state)
{
    static const struct {
        const char *s;
        int ok;
        enum influx_precision p;
    } cases[] = {
        {"ns", 1, INFLUX_NS}, {"n", 1, INFLUX_NS}, {"us", 1, INFLUX_US}, {"u", 1, INFLUX_US},
        {"ms", 1, INFLUX_MS}, {"s", 1, INFLUX_S},  {"m", 1, INFLUX_M},   {"h", 1, INFLUX_H},
        {"", 0, 0},           {"x", 0, 0},         {"sec", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum influx_precision p = INFLUX_NS;
        int rc = influx_precision_parse(cases[i].s, &p);
        if (cases[i].ok && (rc != 0 || p != cases[i].p))
            fail_msg("\"%s\": rc=%d p=%d", cases[i].s, rc, p);
        if (!cases[i].ok && rc == 0)
            fail_msg("\"%s\": accepted", cases[i].s);
    }
}

/* tests/ingest/influx/<name>.in against <name>.want (see the README there).
 * TIDE_REGEN=1 rewrites the .want files from the current output. */
static void test_data_files(void **state)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        skip();
    snprintf(slash, sizeof dir - (size_t)(slash - dir), "/../../ingest/influx");
    DIR *d = opendir(dir);
    if (d == NULL)
        skip();
    int ran = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 4 || strcmp(de->d_name + nl - 3, ".in") != 0)
            continue;
        char path[2048], wpath[2048];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        snprintf(wpath, sizeof wpath, "%s/%.*s.want", dir, (int)(nl - 3), de->d_name);
        char *in = NULL;
        size_t n = 0;
        assert_int_equal(fs_read_file(path, &in, &n), 0);
        struct batch b;
        struct ingest_report r;
        struct buf out;
        buf_init(&out, 0);
        parse_lp(in, n, INFLUX_NS, &b, &r);
        dump_batch(&out, &b);
        buf_printf(&out, "# ok=%zu bad=%zu\n", r.lines_ok, r.lines_bad);
        for (size_t i = 0; i < r.nerrs; i++)
            buf_printf(&out, "! %s (col %d)\n", r.errs[i].msg, r.errs[i].col);
        if (getenv("TIDE_REGEN") != NULL) {
            FILE *f = fopen(wpath, "w");
            assert_non_null(f);
            fwrite(out.p, 1, out.len, f);
            fclose(f);
        } else {
            char *want = NULL;
            size_t wn = 0;
            if (fs_read_file(wpath, &want, &wn) != 0)
                fail_msg("%s: missing (TIDE_REGEN=1 writes it)", wpath);
            if (wn != out.len || memcmp(want, out.p, wn) != 0)
                fail_msg("%s:\n got: %s\nwant: %.*s", de->d_name, out.p, (int)wn, want);
            free(want);
        }
        free(in);
        buf_fini(&out);
        batch_fini(&b);
        ran++;
    }
    closedir(d);
    assert_true(ran > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_prom_names),
        cmocka_unit_test(test_many_errors),
        cmocka_unit_test(test_zero_copy),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_precision_parse),
        cmocka_unit_test(test_data_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
