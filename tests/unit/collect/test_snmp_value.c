/* test_snmp_value.c: varbind values as samples and label text
 * (collect/snmp_value.c): every numeric type, Counter64 exact below 2^53
 * and rounded to the nearest float64 above, strings as DisplayString or hex,
 * OIDs and addresses dotted, and the types that have no value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "collect/snmp.h"

static void test_number(void **state)
{
    static const struct {
        const char *name;
        struct snmp_vb vb;
        int rc;
        double want;
    } cases[] = {
        {"integer", {.type = SNMP_T_INTEGER, .i = -5}, 0, -5},
        {"counter32 max", {.type = SNMP_T_COUNTER32, .u = 4294967295u}, 0, 4294967295.0},
        {"gauge32", {.type = SNMP_T_GAUGE32, .u = 1000}, 0, 1000},
        {"timeticks", {.type = SNMP_T_TIMETICKS, .u = 8538}, 0, 8538},
        {"counter64 2^53",
         {.type = SNMP_T_COUNTER64, .u = 9007199254740992ull},
         0,
         9007199254740992.0},
        {"counter64 2^53+1 rounds to even",
         {.type = SNMP_T_COUNTER64, .u = 9007199254740993ull},
         0,
         9007199254740992.0},
        {"counter64 2^53-1 exact",
         {.type = SNMP_T_COUNTER64, .u = 9007199254740991ull},
         0,
         9007199254740991.0},
        {"counter64 max", {.type = SNMP_T_COUNTER64, .u = UINT64_MAX}, 0, 18446744073709551616.0},
        {"string", {.type = SNMP_T_OCTET_STR, .s = "12", .s_n = 2}, TIDE_ENOTFOUND, 0},
        {"noSuchInstance", {.type = SNMP_T_NOSUCHINSTANCE}, TIDE_ENOTFOUND, 0},
        {"endOfMibView", {.type = SNMP_T_ENDOFMIBVIEW}, TIDE_ENOTFOUND, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double v = -1;
        int rc = snmp_value_number(&cases[i].vb, &v);
        if (rc != cases[i].rc || (rc == 0 && v != cases[i].want))
            fail_msg("%s: rc %d v %.17g", cases[i].name, rc, v);
    }
}

static void test_text(void **state)
{
    static const uint32_t oid[] = {1, 3, 6, 1, 4, 1, 8072, 3, 2, 10};
    static const struct {
        const char *name;
        struct snmp_vb vb;
        const char *want;
    } cases[] = {
        {"display string", {.type = SNMP_T_OCTET_STR, .s = "eth0", .s_n = 4}, "eth0"},
        {"utf-8",
         {.type = SNMP_T_OCTET_STR, .s = "uplink \xe2\x86\x92 ISP", .s_n = 14},
         "uplink \xe2\x86\x92 ISP"},
        {"trailing NULs", {.type = SNMP_T_OCTET_STR, .s = "lo\0\0", .s_n = 4}, "lo"},
        {"binary as hex", {.type = SNMP_T_OCTET_STR, .s = "\x00\x1b\xff", .s_n = 3}, "0x001BFF"},
        {"empty", {.type = SNMP_T_OCTET_STR, .s = "", .s_n = 0}, ""},
        {"oid", {.type = SNMP_T_OID, .s = (const char *)oid, .s_n = 10}, "1.3.6.1.4.1.8072.3.2.10"},
        {"ip", {.type = SNMP_T_IPADDRESS, .s = "\x7f\x00\x00\x01", .s_n = 4}, "127.0.0.1"},
        {"integer", {.type = SNMP_T_INTEGER, .i = -7}, "-7"},
        {"counter64", {.type = SNMP_T_COUNTER64, .u = UINT64_MAX}, "18446744073709551615"},
        {"null", {.type = SNMP_T_NULL}, ""},
        {"noSuchObject", {.type = SNMP_T_NOSUCHOBJECT}, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        size_t n = snmp_value_text(&cases[i].vb, out, sizeof out);
        if (n != strlen(cases[i].want) || strcmp(out, cases[i].want) != 0)
            fail_msg("%s: got \"%s\" (%zu)", cases[i].name, out, n);
    }
    /* a cap never cuts a UTF-8 character in half */
    struct snmp_vb vb = {.type = SNMP_T_OCTET_STR, .s = "ab\xe2\x86\x92", .s_n = 5};
    char small[5];
    assert_int_equal(snmp_value_text(&vb, small, sizeof small), 2);
    assert_string_equal(small, "ab");
    assert_string_equal(snmp_type_name(SNMP_T_COUNTER64), "Counter64");
    assert_string_equal(snmp_type_name(0x99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
