/* test_targets_api.c: the /api/v1/targets document (api/targets_api.c) for
 * a snapshot with an enabled, never-run target (health unknown, Go's zero
 * time), one collected with an error and a disabled one (dropped, with
 * discoveredLabels only), under each state filter; and json_f64's digits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/json.h"
#include "api/targets_api.h"

static void render(const struct target_status *v, size_t n, bool active, bool dropped, char *out,
                   size_t cap)
{
    struct buf b;
    struct json w;
    buf_init(&b, 0);
    json_init(&w, &b);
    targets_api_write(&w, v, n, active, dropped);
    assert_int_equal(json_end(&w), 0);
    snprintf(out, cap, "%.*s", (int)b.len, b.p);
    buf_fini(&b);
}

static void test_document(void **state)
{
    (void)state;
    struct target_status v[3] = {0};
    snprintf(v[0].kind, sizeof v[0].kind, "snmp");
    snprintf(v[0].name, sizeof v[0].name, "core-1");
    snprintf(v[0].address, sizeof v[0].address, "192.0.2.1:161");
    snprintf(v[0].module, sizeof v[0].module, "if_mib");
    v[0].enabled = true;
    v[0].interval_ms = 90000;
    v[0].health = TARGET_DOWN;
    snprintf(v[0].last_error, sizeof v[0].last_error, "timeout");
    v[0].last_run_ms = 1700000000123;
    v[0].last_duration_ns = 1500000000;
    snprintf(v[1].kind, sizeof v[1].kind, "snmp");
    snprintf(v[1].name, sizeof v[1].name, "new");
    v[1].enabled = true;
    v[1].interval_ms = 500;
    snprintf(v[2].kind, sizeof v[2].kind, "snmp");
    snprintf(v[2].name, sizeof v[2].name, "off");
    v[2].interval_ms = 60000;

    char got[4096];
    render(v, 3, true, true, got, sizeof got);
    const char *want =
        "{\"activeTargets\":["
        "{\"discoveredLabels\":{\"__address__\":\"192.0.2.1:161\",\"__scrape_interval__\":\"1m30s\","
        "\"__scrape_timeout__\":\"1m30s\",\"__tide_kind__\":\"snmp\",\"__tide_module__\":\"if_mib\","
        "\"__tide_name__\":\"core-1\",\"job\":\"snmp\"},"
        "\"labels\":{\"instance\":\"192.0.2.1:161\",\"job\":\"snmp\"},\"scrapePool\":\"snmp\","
        "\"scrapeUrl\":\"snmp://192.0.2.1:161?module=if_mib\","
        "\"globalUrl\":\"snmp://192.0.2.1:161?module=if_mib\",\"lastError\":\"timeout\","
        "\"lastScrape\":\"2023-11-14T22:13:20.123Z\",\"lastScrapeDuration\":1.5,"
        "\"health\":\"down\",\"scrapeInterval\":\"1m30s\",\"scrapeTimeout\":\"1m30s\"},"
        "{\"discoveredLabels\":{\"__address__\":\"new\",\"__scrape_interval__\":\"500ms\","
        "\"__scrape_timeout__\":\"500ms\",\"__tide_kind__\":\"snmp\",\"__tide_name__\":\"new\","
        "\"job\":\"snmp\"},"
        "\"labels\":{\"instance\":\"new\",\"job\":\"snmp\"},\"scrapePool\":\"snmp\","
        "\"scrapeUrl\":\"snmp://new\",\"globalUrl\":\"snmp://new\",\"lastError\":\"\","
        "\"lastScrape\":\"0001-01-01T00:00:00Z\",\"lastScrapeDuration\":0,"
        "\"health\":\"unknown\",\"scrapeInterval\":\"500ms\",\"scrapeTimeout\":\"500ms\"}],"
        "\"droppedTargets\":["
        "{\"discoveredLabels\":{\"__address__\":\"off\",\"__scrape_interval__\":\"1m\","
        "\"__scrape_timeout__\":\"1m\",\"__tide_kind__\":\"snmp\",\"__tide_name__\":\"off\","
        "\"job\":\"snmp\"}}]}";
    assert_string_equal(got, want);

    render(v, 3, true, false, got, sizeof got);
    assert_non_null(strstr(got, "\"droppedTargets\":[]}"));
    assert_non_null(strstr(got, "core-1"));
    render(v, 3, false, true, got, sizeof got);
    assert_true(strncmp(got, "{\"activeTargets\":[],\"droppedTargets\":[{", 39) == 0);
    render(v, 0, true, true, got, sizeof got);
    assert_string_equal(got, "{\"activeTargets\":[],\"droppedTargets\":[]}");
}

static void test_f64(void **state)
{
    (void)state;
    const double in[] = {0, 1.5, 0.1, 0.000349302, 1e21, -2.5};
    const char *want = "[0,1.5,0.1,0.000349302,1e+21,-2.5,null]";
    struct buf b;
    struct json w;
    buf_init(&b, 0);
    json_init(&w, &b);
    json_arr(&w);
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        json_f64(&w, in[i]);
    json_f64(&w, 0.0 / 0.0);
    json_arr_end(&w);
    assert_int_equal(json_end(&w), 0);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.p, want, b.len);
    buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document),
        cmocka_unit_test(test_f64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
