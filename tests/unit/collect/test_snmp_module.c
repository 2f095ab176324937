/* test_snmp_module.c: SNMP modules as data (collect/snmp_module.c): the
 * built-in if_mib parses into snmp_exporter's names with its walks, GETs
 * and lookups; a user module derives its requests; bad modules are refused
 * with line:col and a message naming the bad OID, type or key; OID parsing,
 * formatting and ordering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "collect/snmp.h"
#include "core/yaml_tree.h"

static int parse(struct snmp_modules *ms, const char *text, struct err *e)
{
    struct yaml_tree *t = NULL;
    int rc = yaml_tree_parse(text, strlen(text), "t.yml", &t, e);
    if (rc == 0)
        rc = snmp_modules_add(ms, yaml_tree_root(t), e);
    yaml_tree_free(t);
    return rc;
}

static const struct snmp_metric *metric(const struct snmp_module *m, const char *name)
{
    for (size_t i = 0; i < m->nmetrics; i++)
        if (strcmp(m->metrics[i].name, name) == 0)
            return &m->metrics[i];
    return NULL;
}

static void test_builtin(void **state)
{
    struct snmp_modules ms;
    snmp_modules_init(&ms);
    struct err e = {0};
    assert_int_equal(snmp_modules_add_builtin(&ms, &e), 0);
    const struct snmp_module *m = snmp_modules_find(&ms, "if_mib");
    assert_non_null(m);
    assert_null(snmp_modules_find(&ms, "nope"));
    static const char *const names[] = {
        "ifOperStatus",         "ifAdminStatus",       "ifHighSpeed",      "ifHCInOctets",
        "ifHCOutOctets",        "ifInOctets",          "ifOutOctets",      "ifInErrors",
        "ifOutErrors",          "ifInDiscards",        "ifOutDiscards",    "ifHCInUcastPkts",
        "ifHCInMulticastPkts",  "ifHCInBroadcastPkts", "ifHCOutUcastPkts", "ifHCOutMulticastPkts",
        "ifHCOutBroadcastPkts", "ifLastChange",        "sysUpTime",        "snmp_device_info"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_non_null(metric(m, names[i]));
    const struct snmp_metric *hc = metric(m, "ifHCInOctets");
    assert_int_equal(hc->type, SNMP_COUNTER);
    assert_string_equal(hc->index, "ifIndex");
    assert_true(hc->has_fallback);
    char buf[128];
    assert_string_equal(snmp_oid_format(hc->fallback.v, hc->fallback.n, buf, sizeof buf),
                        "1.3.6.1.2.1.2.2.1.10");
    assert_int_equal(metric(m, "ifOperStatus")->type, SNMP_GAUGE);
    assert_null(metric(m, "sysUpTime")->index);
    /* two table walks; sysUpTime, ifNumber and the three sys* strings by GET */
    assert_int_equal(m->nwalk, 2);
    assert_int_equal(m->nget, 5);
    assert_string_equal(snmp_oid_format(m->get[0].v, m->get[0].n, buf, sizeof buf),
                        "1.3.6.1.2.1.1.3.0");
    assert_int_equal(m->nlookups, 3);
    assert_string_equal(m->lookups[0].label, "ifAlias");
    assert_string_equal(m->lookups[1].label, "ifDescr");
    assert_string_equal(m->lookups[2].label, "ifName");
    snmp_modules_fini(&ms);
}

static void test_user_module(void **state)
{
    struct snmp_modules ms;
    snmp_modules_init(&ms);
    struct err e = {0};
    int rc =
        parse(&ms,
              "ups:\n"
              "  max_repetitions: 10\n"
              "  timeout: 2s\n"
              "  retries: 1\n"
              "  metrics:\n"
              "    - name: upsBatteryTemperature\n"
              "      oid: .1.3.6.1.4.1.318.1.1.1.2.2.2\n"
              "      help: ignored\n"
              "    - {name: upsOutletState, oid: 1.3.6.1.4.1.318.1.1.1.12.1.2.1.3, index: "
              "outlet}\n"
              "    - {name: upsOutletName2, oid: 1.3.6.1.4.1.318.1.1.1.12.1.2.1.2, index: "
              "outlet, type: counter}\n"
              "  lookups:\n"
              "    - {label: outletName, oid: 1.3.6.1.4.1.318.1.1.1.12.1.2.1.2, index: outlet}\n",
              &e);
    assert_int_equal(rc, 0);
    const struct snmp_module *m = snmp_modules_find(&ms, "ups");
    assert_non_null(m);
    assert_int_equal(m->max_repetitions, 10);
    assert_int_equal(m->timeout_ms, 2000);
    assert_int_equal(m->retries, 1);
    assert_int_equal(m->nget, 1);
    assert_int_equal(m->nwalk, 2); /* the lookup's column is walked already */
    char buf[128];
    assert_string_equal(snmp_oid_format(m->get[0].v, m->get[0].n, buf, sizeof buf),
                        "1.3.6.1.4.1.318.1.1.1.2.2.2.0");

    /* a module given again replaces the first; an explicit walk covers columns */
    rc = parse(&ms,
               "ups:\n"
               "  walk: [1.3.6.1.4.1.318.1.1.1.12]\n"
               "  metrics:\n"
               "    - {name: a, oid: 1.3.6.1.4.1.318.1.1.1.12.1.2.1.3, index: i}\n"
               "    - {name: b, oid: 1.3.6.1.4.1.318.1.1.1.12.1.2.1.4, index: i}\n",
               &e);
    assert_int_equal(rc, 0);
    assert_int_equal(ms.n, 1);
    m = snmp_modules_find(&ms, "ups");
    assert_int_equal(m->nwalk, 1);
    assert_int_equal(m->nmetrics, 2);
    snmp_modules_fini(&ms);
}

/* Bad modules: code, line:col and a piece of the message. */
static void test_errors(void **state)
{
    static const struct {
        const char *name, *yaml;
        int code, line, col;
        const char *want;
    } cases[] = {
        {"mib name", "m:\n  metrics:\n    - {name: x, oid: ifName, index: i}\n", TIDE_EINVAL, 3, 22,
         "\"ifName\" is not a numeric OID"},
        {"bad oid", "m:\n  metrics:\n    - name: x\n      oid: 1.3..6\n", TIDE_EINVAL, 4, 12,
         "\"1.3..6\""},
        {"type", "m:\n  metrics:\n    - {name: x, oid: 1.3.6, type: enum}\n", TIDE_EINVAL, 3, 35,
         "type \"enum\" is not one of gauge, counter, info"},
        {"unknown key", "m:\n  metrics:\n    - {name: x, oid: 1.3.6, colour: red}\n",
         TIDE_ENOTFOUND, 3, 29, "unknown key \"colour\""},
        {"module key", "m:\n  metric: []\n", TIDE_EINVAL, 2, 3, "missing key \"metrics\""},
        {"no metrics", "m:\n  metrics: []\n", TIDE_EINVAL, 2, 12, "has no metrics"},
        {"metric name", "m:\n  metrics:\n    - {name: 9x, oid: 1.3.6}\n", TIDE_EINVAL, 3, 14,
         "\"9x\" is not a valid metric name"},
        {"info without labels", "m:\n  metrics:\n    - {name: x, type: info}\n", TIDE_EINVAL, 3, 7,
         "missing key \"labels\""},
        {"fallback on scalar", "m:\n  metrics:\n    - {name: x, oid: 1.3.6, fallback: 1.3.7}\n",
         TIDE_EINVAL, 3, 39, "fallback needs an indexed metric"},
        {"lookup", "m:\n  metrics: [{name: x, oid: 1.3.6}]\n  lookups: [{label: l, oid: 1.3}]\n",
         TIDE_EINVAL, 3, 13, "missing key \"index\""},
        {"not a map", "- m\n", TIDE_EINVAL, 1, 1, "expected a mapping"},
        {"repetitions", "m:\n  max_repetitions: 0\n  metrics: [{name: x, oid: 1.3.6}]\n",
         TIDE_EINVAL, 2, 20, "max_repetitions"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct snmp_modules ms;
        snmp_modules_init(&ms);
        struct err e = {0};
        int rc = parse(&ms, cases[i].yaml, &e);
        if (rc != cases[i].code || e.line != cases[i].line || e.col != cases[i].col ||
            strstr(e.msg, cases[i].want) == NULL)
            fail_msg("%s: got rc %d at %d:%d \"%s\"", cases[i].name, rc, e.line, e.col, e.msg);
        snmp_modules_fini(&ms);
    }
}

static void test_oid(void **state)
{
    static const struct {
        const char *in;
        int rc;
        const char *out;
    } cases[] = {
        {"1.3.6.1", 0, "1.3.6.1"},
        {".1.3.6.1.2.1.1.3.0", 0, "1.3.6.1.2.1.1.3.0"},
        {"1.3.4294967295", 0, "1.3.4294967295"},
        {"1.3.4294967296", TIDE_EINVAL, ""},
        {"1", TIDE_EINVAL, ""},
        {"", TIDE_EINVAL, ""},
        {"1.3.", TIDE_EINVAL, ""},
        {"1.3.a", TIDE_EINVAL, ""},
        {"sysName", TIDE_EINVAL, ""},
        {"1. 3", TIDE_EINVAL, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct snmp_oid o;
        int rc = snmp_oid_parse(cases[i].in, &o);
        char buf[128] = "";
        if (rc == 0)
            snmp_oid_format(o.v, o.n, buf, sizeof buf);
        if (rc != cases[i].rc || (rc == 0 && strcmp(buf, cases[i].out) != 0))
            fail_msg("%s: rc %d, \"%s\"", cases[i].in, rc, buf);
    }
    struct snmp_oid a, b, root;
    snmp_oid_parse("1.3.6.1.2", &a);
    snmp_oid_parse("1.3.6.1.10", &b);
    snmp_oid_parse("1.3.6.1", &root);
    assert_int_equal(snmp_oid_cmp(a.v, a.n, b.v, b.n), -1); /* numeric, not text order */
    assert_int_equal(snmp_oid_cmp(b.v, b.n, a.v, a.n), 1);
    assert_int_equal(snmp_oid_cmp(root.v, root.n, a.v, a.n), -1);
    assert_int_equal(snmp_oid_cmp(a.v, a.n, a.v, a.n), 0);
    assert_true(snmp_oid_under(a.v, a.n, &root));
    assert_false(snmp_oid_under(root.v, root.n, &a));
    /* the cap truncates, never overflows */
    char small[6];
    snmp_oid_format(b.v, b.n, small, sizeof small);
    assert_true(strlen(small) < sizeof small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_user_module),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_oid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
