/* test_host_cpu.c: the "cpu" group (collect/host_cpu.c) over fixture files
 * and over the real /proc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "host_collect.h"

static void test_fixture(void **state)
{
    struct host_opts o;
    host_opts_init(&o);
    o.version = "9.9.9";
    struct batch b;
    struct host_collector *h = fixture_group(&o, HOST_CPU, 1700000123456, &b);
    double hz = (double)sysconf(_SC_CLK_TCK);
    const struct want wants[] = {
        {"node_cpu_seconds_total", "cpu", "0", "mode", "user", 600 / hz},
        {"node_cpu_seconds_total", "cpu", "0", "mode", "nice", 10 / hz},
        {"node_cpu_seconds_total", "cpu", "0", "mode", "system", 200 / hz},
        {"node_cpu_seconds_total", "cpu", "0", "mode", "idle", 20000 / hz},
        {"node_cpu_seconds_total", "cpu", "0", "mode", "iowait", 25 / hz},
        {"node_cpu_seconds_total", "cpu", "0", "mode", "irq", 3 / hz},
        {"node_cpu_seconds_total", "cpu", "0", "mode", "softirq", 4 / hz},
        {"node_cpu_seconds_total", "cpu", "0", "mode", "steal", 5 / hz},
        {"node_cpu_seconds_total", "cpu", "1", "mode", "user", 400 / hz},
        {"node_cpu_seconds_total", "cpu", "1", "mode", "steal", 3 / hz},
        {"node_cpu_guest_seconds_total", "cpu", "0", "mode", "user", 60 / hz},
        {"node_cpu_guest_seconds_total", "cpu", "1", "mode", "nice", 5 / hz},
        {"node_intr_total", NULL, NULL, NULL, NULL, 123456},
        {"node_context_switches_total", NULL, NULL, NULL, NULL, 987654},
        {"node_boot_time_seconds", NULL, NULL, NULL, NULL, 1700000000},
        {"node_forks_total", NULL, NULL, NULL, NULL, 4242},
        {"node_procs_running", NULL, NULL, NULL, NULL, 3},
        {"node_procs_blocked", NULL, NULL, NULL, NULL, 1},
        {"node_load1", NULL, NULL, NULL, NULL, 0.25},
        {"node_load5", NULL, NULL, NULL, NULL, 0.5},
        {"node_load15", NULL, NULL, NULL, NULL, 1.75},
        {"tide_host_uptime_seconds", NULL, NULL, NULL, NULL, 12345.67},
        {"node_time_seconds", NULL, NULL, NULL, NULL, 1700000123.456},
        {"tide_host_info", "os", "Tide Linux 1.0 (test)", "version", "9.9.9", 1},
    };
    check_wants(&b, wants, sizeof wants / sizeof *wants);
    /* 2 CPUs x 8 modes; the aggregate "cpu" line is not exported */
    assert_int_equal(count_series(&b, "node_cpu_seconds_total"), 16);
    assert_int_equal(count_series(&b, "node_cpu_guest_seconds_total"), 4);
    assert_int_equal(count_series(&b, "node_uname_info"), 1);
    /* every series carries instance and job */
    for (size_t i = 0; i < b.nseries; i++) {
        assert_true(series_has(&b, i, "instance", "host-a"));
        assert_true(series_has(&b, i, "job", "tide"));
    }
    batch_fini(&b);
    host_collector_free(h);
}

/* The real /proc, cross-checked against values read here independently. */
static void test_real_proc(void **state)
{
    struct host_opts o;
    host_opts_init(&o);
    struct host_collector *h = NULL;
    struct err e = {0};
    assert_int_equal(host_collector_new(&o, &h, &e), 0);
    struct batch b;
    batch_init(&b);
    assert_int_equal(host_collect_group(h, HOST_CPU, 1, &b, &e), 0);

    /* CPUs listed in /proc/stat (cpuN lines), each with 8 modes */
    FILE *f = fopen("/proc/stat", "r");
    assert_non_null(f);
    char line[4096];
    int ncpu = 0;
    long long btime = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9')
            ncpu++;
        if (strncmp(line, "btime ", 6) == 0)
            btime = atoll(line + 6);
    }
    fclose(f);
    assert_int_equal(count_series(&b, "node_cpu_seconds_total"), ncpu * 8);
    assert_true(ncpu >= get_nprocs());
    double v;
    assert_true(find_value(&b, &v, "node_boot_time_seconds", NULL));
    assert_true(v == (double)btime);
    assert_true(find_value(&b, &v, "node_load1", NULL));
    assert_true(v >= 0);
    batch_fini(&b);
    host_collector_free(h);
}

/* A /proc without these files (a container): the group reports which file
 * is missing and still emits what it could (here: the info series). */
static void test_missing_files(void **state)
{
    struct host_opts o;
    host_opts_init(&o);
    o.proc_root = "/nonexistent-tide-proc";
    struct host_collector *h = NULL;
    struct err e = {0};
    assert_int_equal(host_collector_new(&o, &h, &e), 0);
    struct batch b;
    batch_init(&b);
    int rc = host_collect_group(h, HOST_CPU, 1, &b, &e);
    assert_int_equal(rc, -ENOENT);
    assert_non_null(strstr(e.msg, "cpu: /nonexistent-tide-proc/stat"));
    assert_int_equal(count_series(&b, "tide_host_info"), 1);
    for (int g = 0; g < HOST_NGROUPS; g++) {
        struct err ge = {0};
        batch_reset(&b);
        rc = host_collect_group(h, (enum host_group)g, 1, &b, &ge);
        if (g != HOST_SERVICE) {
            assert_true(rc < 0);
            assert_non_null(strstr(ge.msg, host_group_name((enum host_group)g)));
        }
    }
    batch_fini(&b);
    host_collector_free(h);
}

static void test_bad_options(void **state)
{
    const struct {
        const char *name;
        const char *mount_re;
        const char *svc;
        int want;
    } cases[] = {
        {"bad regex", "(", NULL, TIDE_EINVAL},
        {"empty regex is none", "", NULL, 0},
        {"service with a slash", NULL, "../x", TIDE_EINVAL},
        {"service that is an option", NULL, "--help", TIDE_EINVAL},
        {"good service", NULL, "cron", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct host_opts o;
        host_opts_init(&o);
        o.fs_mount_exclude = cases[i].mount_re;
        const char *svcs[1] = {cases[i].svc};
        if (cases[i].svc) {
            o.services = svcs;
            o.nservices = 1;
        }
        struct host_collector *h = (void *)1;
        struct err e = {0};
        int rc = host_collector_new(&o, &h, &e);
        if (rc != cases[i].want)
            fail_msg("%s: rc %d want %d (%s)", cases[i].name, rc, cases[i].want, e.msg);
        if (rc != 0)
            assert_null(h);
        host_collector_free(h);
    }
    assert_int_equal(host_group_parse("disk"), HOST_DISK);
    assert_int_equal(host_group_parse("nope"), -1);
    assert_string_equal(host_group_name(HOST_SERVICE), "service");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_real_proc),
        cmocka_unit_test(test_missing_files),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
