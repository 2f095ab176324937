/* test_collectd.c: collectd's write_http formats (ingest/collectd.c).
 * Table-driven: each case is an input, its format, the series it must give
 * (dump_batch() form) and the bad lines as "line: reason" messages. The
 * JSON and PUTVAL forms of one value list give the same series, named as
 * collectd_exporter names them. */
#include "dump.h"

#include <stdlib.h>

#include "ingest/collectd.h"

#define NOW 1700000000000LL

static const struct {
    const char *name;
    enum collectd_format f;
    const char *in, *want, *errs;
} cases[] = {
    {"json cpu derive", COLLECTD_JSON,
     "[{\"values\":[1901474177],\"dstypes\":[\"derive\"],\"dsnames\":[\"value\"],"
     "\"time\":1280959128.123,\"interval\":10.000,\"host\":\"leeloo\",\"plugin\":\"cpu\","
     "\"plugin_instance\":\"0\",\"type\":\"cpu\",\"type_instance\":\"idle\"}]",
     "collectd_cpu_total{cpu=\"0\",instance=\"leeloo\",type=\"idle\"} 1901474177 1280959128123\n",
     ""},
    {"putval cpu, same series", COLLECTD_PUTVAL,
     "PUTVAL \"leeloo/cpu-0/cpu-idle\" interval=10.000 1280959128.123:1901474177\n",
     "collectd_cpu_total{cpu=\"0\",instance=\"leeloo\",type=\"idle\"} 1901474177 1280959128123\n",
     ""},
    {"json load: dsnames, gauges, null skipped", COLLECTD_AUTO,
     "  [{\"values\":[0.5,0.25,null],\"dstypes\":[\"gauge\",\"gauge\",\"gauge\"],"
     "\"dsnames\":[\"shortterm\",\"midterm\",\"longterm\"],\"time\":1280959128,"
     "\"host\":\"h\",\"plugin\":\"load\",\"plugin_instance\":\"\",\"type\":\"load\","
     "\"type_instance\":\"\",\"meta\":{\"a\":[1,{\"b\":2}]}}]",
     "collectd_load_shortterm{instance=\"h\"} 0.5 1280959128000\n"
     "collectd_load_midterm{instance=\"h\"} 0.25 1280959128000\n",
     ""},
    {"putval: type instance without plugin instance, N, U, types table", COLLECTD_AUTO,
     "PUTVAL h/memory/memory-used interval=10 N:12345\r\n"
     "# a comment\n\n"
     "PUTVAL h/interface-eth0/if_octets 1000:1:U\n"
     "PUTVAL h/load/load 1000:1:2:3\n",
     "collectd_memory{instance=\"h\",memory=\"used\"} 12345 1700000000000\n"
     "collectd_interface_if_octets_rx_total{instance=\"h\",interface=\"eth0\"} 1 1000000\n"
     "collectd_load_shortterm{instance=\"h\"} 1 1000000\n"
     "collectd_load_midterm{instance=\"h\"} 2 1000000\n"
     "collectd_load_longterm{instance=\"h\"} 3 1000000\n",
     ""},
    {"putval: unknown types fall back", COLLECTD_PUTVAL,
     "PUTVAL h/my.plugin-x/my_type 5:7\nPUTVAL h/p/two 5:1:2\n",
     "collectd_my_plugin_my_type{instance=\"h\",my_plugin=\"x\"} 7 5000\n"
     "collectd_p_two_0{instance=\"h\"} 1 5000\ncollectd_p_two_1{instance=\"h\"} 2 5000\n",
     ""},
    {"json counter and absolute", COLLECTD_JSON,
     "[{\"values\":[3,4],\"dstypes\":[\"counter\",\"absolute\"],\"dsnames\":[\"rx\",\"n\"],"
     "\"time\":1,\"host\":\"h\",\"plugin\":\"p\",\"type\":\"t\"}]",
     "collectd_p_t_rx_total{instance=\"h\"} 3 1000\ncollectd_p_t_n{instance=\"h\"} 4 1000\n", ""},
    {"putval bad lines, with reasons", COLLECTD_PUTVAL,
     "PUTVAL h/cpu-0/cpu-idle 1:1\n"
     "GETVAL h/cpu/cpu\n"
     "PUTVAL hostonly 1:1\n"
     "PUTVAL h/p/t 1:x\n"
     "PUTVAL h/p/t\n"
     "PUTVAL h/p/t 1:1 2:2\n"
     "PUTVAL h/load/load 1:1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17\n",
     "collectd_cpu_total{cpu=\"0\",instance=\"h\",type=\"idle\"} 1 1000\n",
     "line 2: expected PUTVAL, got \"GETVAL\"|"
     "line 3: identifier must be host/plugin[-instance]/type[-instance]|"
     "line 4: bad value \"x\"|line 5: no time:values|"
     "line 6: more than one time:values set (send one per PUTVAL)|"
     "line 7: 17 values of unknown type \"load\"|"},
    {"json: bad list skipped, syntax error stops", COLLECTD_JSON,
     "[{\"values\":[1,2],\"dstypes\":[\"gauge\"],\"dsnames\":[\"a\",\"b\"],\"host\":\"h\","
     "\"plugin\":\"p\",\"type\":\"t\"},\n"
     "{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"host\":\"h\","
     "\"plugin\":\"p\",\"type\":\"t\",\"time\":2},\n"
     "{\"values\":[1],\"dstypes\":[\"weird\"]},\n"
     "{\"values\":[1 2]}]",
     "collectd_p_t{instance=\"h\"} 1 2000\n",
     "line 1: 2 values but 1 data source type(s)|"
     "line 3: unknown data source type \"weird\"|"},
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct batch b;
        batch_init(&b);
        struct ingest_report r;
        ingest_report_init(&r);
        struct collectd_opts o = {.format = cases[i].f, .now_ms = NOW};
        assert_int_equal(collectd_parse(cases[i].in, strlen(cases[i].in), &o, &b, &r), 0);
        struct buf got;
        buf_init(&got, 0);
        dump_batch(&got, &b);
        if (strcmp(got.p ? got.p : "", cases[i].want) != 0)
            fail_msg("%s:\n  got  [%s]\n  want [%s]", cases[i].name, got.p ? got.p : "",
                     cases[i].want);
        char errs[1024] = "";
        size_t n = 0;
        for (size_t j = 0; j < r.nerrs; j++)
            n += (size_t)snprintf(errs + n, sizeof errs - n, "%s|", r.errs[j].msg);
        if (strcmp(errs, cases[i].errs) != 0)
            fail_msg("%s: errors\n  got  [%s]\n  want [%s]", cases[i].name, errs, cases[i].errs);
        buf_fini(&got);
        batch_fini(&b);
    }
}

/* Metadata: counters and gauges by data source type. */
static void test_metadata(void **state)
{
    (void)state;
    const char *in = "PUTVAL h/cpu-0/cpu-idle 1:1\nPUTVAL h/memory/memory-used 1:1\n";
    struct batch b;
    batch_init(&b);
    struct collectd_opts o = {.format = COLLECTD_AUTO, .now_ms = NOW};
    assert_int_equal(collectd_parse(in, strlen(in), &o, &b, NULL), 0);
    assert_int_equal(b.nmeta, 2);
    assert_true(strv_eq_c(b.meta[0].family, "collectd_cpu_total"));
    assert_int_equal(b.meta[0].type, METRIC_TYPE_COUNTER);
    assert_true(strv_eq_c(b.meta[1].family, "collectd_memory"));
    assert_int_equal(b.meta[1].type, METRIC_TYPE_GAUGE);
    batch_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_metadata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
