/* test_host_mem.c: the "mem" group (collect/host_mem.c): node_exporter's
 * meminfo names over a fixture, and MemTotal against the real /proc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "host_collect.h"

static void test_fixture(void **state)
{
    struct host_opts o;
    host_opts_init(&o);
    struct batch b;
    struct host_collector *h = fixture_group(&o, HOST_MEM, 1000, &b);
    const struct want wants[] = {
        {"node_memory_MemTotal_bytes", NULL, NULL, NULL, NULL, 24684084.0 * 1024},
        {"node_memory_MemFree_bytes", NULL, NULL, NULL, NULL, 23735808.0 * 1024},
        {"node_memory_MemAvailable_bytes", NULL, NULL, NULL, NULL, 24305764.0 * 1024},
        {"node_memory_Buffers_bytes", NULL, NULL, NULL, NULL, 8676.0 * 1024},
        {"node_memory_Cached_bytes", NULL, NULL, NULL, NULL, 745564.0 * 1024},
        {"node_memory_SwapTotal_bytes", NULL, NULL, NULL, NULL, 0},
        {"node_memory_SwapFree_bytes", NULL, NULL, NULL, NULL, 0},
        {"node_memory_Active_anon_bytes", NULL, NULL, NULL, NULL, 1568.0 * 1024},
        {"node_memory_Inactive_file_bytes", NULL, NULL, NULL, NULL, 522088.0 * 1024},
        {"node_memory_HugePages_Total", NULL, NULL, NULL, NULL, 7}, /* a count: no _bytes */
        {"node_memory_Hugepagesize_bytes", NULL, NULL, NULL, NULL, 2048.0 * 1024},
    };
    check_wants(&b, wants, sizeof wants / sizeof *wants);
    assert_int_equal(b.nseries, sizeof wants / sizeof *wants);
    batch_fini(&b);
    host_collector_free(h);
}

static void test_real_memtotal(void **state)
{
    FILE *f = fopen("/proc/meminfo", "r");
    assert_non_null(f);
    char line[256];
    double kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %lf kB", &kb) == 1)
            break;
    fclose(f);
    struct host_opts o;
    struct batch b;
    struct host_collector *h = real_collector(&o, &b);
    assert_int_equal(host_collect_group(h, HOST_MEM, 1, &b, NULL), 0);
    double v;
    assert_true(find_value(&b, &v, "node_memory_MemTotal_bytes", NULL));
    assert_true(v == kb * 1024);
    /* every name is a valid metric name */
    for (size_t i = 0; i < b.nseries; i++) {
        const struct batch_series *s = &b.series[i];
        struct strv n = labels_get(b.labels + s->label_off, s->nlabels, STRV_LIT("__name__"));
        assert_true(labels_valid_metric_name(n));
    }
    batch_fini(&b);
    host_collector_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_real_memtotal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
