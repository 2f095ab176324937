/* test_host_net.c: the "net" group (collect/host_net.c) over fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "host_collect.h"

static void test_netdev(void **state)
{
    struct host_opts o;
    host_opts_init(&o);
    struct batch b;
    struct host_collector *h = fixture_group(&o, HOST_NET, 1000, &b);
    const struct want wants[] = {
        {"node_network_receive_bytes_total", "device", "eth0", NULL, NULL, 48476661},
        {"node_network_receive_packets_total", "device", "eth0", NULL, NULL, 1031},
        {"node_network_receive_errs_total", "device", "eth0", NULL, NULL, 1},
        {"node_network_receive_drop_total", "device", "eth0", NULL, NULL, 2},
        {"node_network_receive_fifo_total", "device", "eth0", NULL, NULL, 3},
        {"node_network_receive_frame_total", "device", "eth0", NULL, NULL, 4},
        {"node_network_receive_compressed_total", "device", "eth0", NULL, NULL, 5},
        {"node_network_receive_multicast_total", "device", "eth0", NULL, NULL, 6},
        {"node_network_transmit_bytes_total", "device", "eth0", NULL, NULL, 49915},
        {"node_network_transmit_packets_total", "device", "eth0", NULL, NULL, 662},
        {"node_network_transmit_errs_total", "device", "eth0", NULL, NULL, 7},
        {"node_network_transmit_drop_total", "device", "eth0", NULL, NULL, 8},
        {"node_network_transmit_fifo_total", "device", "eth0", NULL, NULL, 9},
        {"node_network_transmit_colls_total", "device", "eth0", NULL, NULL, 10},
        {"node_network_transmit_carrier_total", "device", "eth0", NULL, NULL, 11},
        {"node_network_transmit_compressed_total", "device", "eth0", NULL, NULL, 12},
        /* "wlan0:1 2 ..." with no space after the colon (old kernels, big counters) */
        {"node_network_receive_bytes_total", "device", "wlan0", NULL, NULL, 1},
        {"node_network_transmit_compressed_total", "device", "wlan0", NULL, NULL, 16},
        {"node_network_up", "device", "eth0", NULL, NULL, 1},
        {"node_network_up", "device", "wlan0", NULL, NULL, 0},
    };
    check_wants(&b, wants, sizeof wants / sizeof *wants);
    /* lo is excluded by default, as node_exporter does */
    assert_int_equal(count_series(&b, "node_network_receive_bytes_total"), 2);
    batch_fini(&b);

    /* with no exclusion, lo is there; it has no operstate in the fixture /sys */
    host_collector_free(h);
    host_opts_init(&o);
    o.net_device_exclude = "";
    h = fixture_group(&o, HOST_NET, 1000, &b);
    double v;
    assert_true(find_value(&b, &v, "node_network_receive_bytes_total", "device", "lo", NULL));
    assert_true(v == 36059);
    assert_int_equal(count_series(&b, "node_network_up"), 2);
    batch_fini(&b);
    host_collector_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netdev),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
