/* test_routeros_value.c: RouterOS value texts as numbers
 * (collect/routeros_value.c): durations in both spellings, bit rates,
 * leading numbers, up/down pairs, booleans, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "collect/routeros.h"

static void near(double want, double got)
{
    if (fabs(want - got) > 1e-9 * (fabs(want) > 1 ? fabs(want) : 1))
        fail_msg("want %.12g, got %.12g", want, got);
}

static void test_duration(void **state)
{
    static const struct {
        const char *s;
        double want;
    } ok[] = {
        {"1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5},
        {"5s", 5},
        {"12ms250us", 0.01225},
        {"1h2m3s450ms", 3723.45},
        {"00:01:02", 62},
        {"3d00:00:01", -1}, /* refused below */
    };
    double v;
    for (size_t i = 0; i + 1 < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(ros_duration(strv_c(ok[i].s), &v), 0);
        near(ok[i].want, v);
    }
    assert_int_equal(ros_duration(strv_c("3d00:00:01"), &v), TIDE_EINVAL);
    assert_int_equal(ros_duration(strv_c(""), &v), TIDE_EINVAL);
    assert_int_equal(ros_duration(strv_c("5x"), &v), TIDE_EINVAL);
    assert_int_equal(ros_duration(strv_c("s"), &v), TIDE_EINVAL);
}

static void test_numbers(void **state)
{
    double v;
    assert_int_equal(ros_num(strv_c("24.1"), &v), 0);
    near(24.1, v);
    assert_int_equal(ros_num(strv_c("-5"), &v), 0);
    near(-5, v);
    assert_int_equal(ros_num(strv_c("5 "), &v), TIDE_EINVAL);
    assert_int_equal(ros_num(strv_c("nan"), &v), TIDE_EINVAL);
    assert_int_equal(ros_num(strv_c(""), &v), TIDE_EINVAL);
    assert_int_equal(ros_lead_num(strv_c("-61dBm@6Mbps"), &v), 0);
    near(-61, v);
    assert_int_equal(ros_lead_num(strv_c("dBm"), &v), TIDE_EINVAL);
    assert_int_equal(ros_bool(strv_c("true"), &v), 0);
    near(1, v);
    assert_int_equal(ros_bool(strv_c("no"), &v), 0);
    near(0, v);
    assert_int_equal(ros_bool(strv_c("1"), &v), TIDE_EINVAL);
}

static void test_rates_pairs(void **state)
{
    double v;
    assert_int_equal(ros_bitrate(strv_c("1Gbps"), &v), 0);
    near(1e9, v);
    assert_int_equal(ros_bitrate(strv_c("2.5Gbps"), &v), 0);
    near(2.5e9, v);
    assert_int_equal(ros_bitrate(strv_c("100Mbps"), &v), 0);
    near(1e8, v);
    assert_int_equal(ros_bitrate(strv_c("10Tbps"), &v), TIDE_EINVAL);
    assert_int_equal(ros_pair(strv_c("1000/2000"), 0, &v), 0);
    near(1000, v);
    assert_int_equal(ros_pair(strv_c("1000/2000"), 1, &v), 0);
    near(2000, v);
    assert_int_equal(ros_pair(strv_c("1000"), 0, &v), TIDE_EINVAL);
    assert_int_equal(ros_pair(strv_c("a/2"), 0, &v), TIDE_EINVAL);
}

/* The catalog: at least 40 metric names, each with help and a group. */
static void test_catalog(void **state)
{
    size_t n = ros_catalog_metrics();
    assert_true(n >= 40);
    for (size_t i = 0; i < n; i++) {
        const char *help = NULL, *group = NULL;
        const char *name = ros_catalog_metric(i, &help, &group);
        assert_non_null(name);
        assert_non_null(help);
        assert_true(ros_group_find(group) >= 0);
    }
    assert_null(ros_catalog_metric(n, NULL, NULL));
    assert_int_equal(ros_group_tier_ms((enum ros_group)ros_group_find("system")), 5000);
    assert_int_equal(ros_group_tier_ms((enum ros_group)ros_group_find("bgp")), 300000);
    assert_int_equal(ros_group_tier_ms((enum ros_group)ros_group_find("health")), 3600000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_rates_pairs),
        cmocka_unit_test(test_catalog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
