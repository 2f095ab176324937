/* test_snmp_discovery.c: the v3 engine ID discovery bytes (collect/
 * snmp_discovery.c): the request is the RFC 3414 section 4 message, and the
 * engine ID is read from snmpd's Report, short and long BER lengths alike;
 * other messages and malformed bytes are told apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "collect/snmp.h"

static const uint8_t request_1_2[] = {
    0x30, 62,                                                 /* SNMPv3Message */
    0x02, 1,    3,                                            /* msgVersion 3 */
    0x30, 17,   0x02, 4, 0, 0, 0, 1,                          /* msgID 1 */
    0x02, 3,    0x00, 0xff, 0xe3,                             /* msgMaxSize */
    0x04, 1,    0x04,                                         /* reportable */
    0x02, 1,    3,                                            /* USM */
    0x04, 16,   0x30, 14, 0x04, 0, 0x02, 1, 0, 0x02, 1, 0,    /* empty USM */
    0x04, 0,    0x04, 0,  0x04, 0,                            /* parameters */
    0x30, 20,   0x04, 0,  0x04, 0,                            /* ScopedPDU */
    0xa0, 14,   0x02, 4,  0, 0, 0, 2,                         /* GetRequest */
    0x02, 1,    0,    0x02, 1, 0, 0x30, 0};

static void test_request_bytes(void **state)
{
    uint8_t out[SNMP_DISCOVERY_REQUEST_MAX];
    size_t n = snmp_discovery_request(out, 1, 2);
    assert_int_equal(n, sizeof request_1_2);
    assert_memory_equal(out, request_1_2, n);
}

/* The Report Debian's snmpd (net-snmp 5.9) sent to that request (msgID
 * 0x12345678, request-id 2): engine ID 80001f888082049e11da10166b00000000. */
static const uint8_t report[] = {
    0x30, 0x6e, 0x02, 0x01, 0x03, 0x30, 0x11, 0x02, 0x04, 0x12, 0x34, 0x56,
    0x78, 0x02, 0x03, 0x00, 0xff, 0xe3, 0x04, 0x01, 0x00, 0x02, 0x01, 0x03,
    0x04, 0x21, 0x30, 0x1f, 0x04, 0x11, 0x80, 0x00, 0x1f, 0x88, 0x80, 0x82,
    0x04, 0x9e, 0x11, 0xda, 0x10, 0x16, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x01, 0x01, 0x02, 0x01, 0x01, 0x04, 0x00, 0x04, 0x00, 0x04, 0x00, 0x30,
    0x33, 0x04, 0x11, 0x80, 0x00, 0x1f, 0x88, 0x80, 0x82, 0x04, 0x9e, 0x11,
    0xda, 0x10, 0x16, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0xa8, 0x1c,
    0x02, 0x01, 0x02, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x11, 0x30,
    0x0f, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x06, 0x03, 0x0f, 0x01, 0x01, 0x04,
    0x00, 0x41, 0x01, 0x01,
};

static void test_engine_id_from_report(void **state)
{
    uint8_t id[SNMP_ENGINE_ID_MAX];
    size_t n = 0;
    assert_int_equal(snmp_discovery_engine_id(report, sizeof report, 0x12345678, id, &n), 0);
    assert_int_equal(n, 17);
    static const uint8_t want[] = {0x80, 0x00, 0x1f, 0x88, 0x80, 0x82, 0x04, 0x9e, 0x11,
                                   0xda, 0x10, 0x16, 0x6b, 0x00, 0x00, 0x00, 0x00};
    assert_memory_equal(id, want, n);
    /* the same with the outer length in long form (0x81 0x6e) */
    uint8_t longform[sizeof report + 1] = {0x30, 0x81};
    memcpy(longform + 2, report + 1, sizeof report - 1);
    memset(id, 0, sizeof id);
    assert_int_equal(snmp_discovery_engine_id(longform, sizeof longform, 0x12345678, id, &n), 0);
    assert_int_equal(n, 17);
    assert_memory_equal(id, want, n);
    /* an answer to another message */
    assert_int_equal(snmp_discovery_engine_id(report, sizeof report, 7, id, &n), TIDE_ENOTFOUND);
}

static void test_malformed(void **state)
{
    uint8_t id[SNMP_ENGINE_ID_MAX];
    size_t n = 0;
    /* cut anywhere: never an ID */
    for (size_t cut = 0; cut < 40; cut++)
        assert_int_equal(snmp_discovery_engine_id(report, cut, 0x12345678, id, &n), TIDE_EPARSE);
    /* our own request: version 3 and msgID match, but the engine ID is empty */
    uint8_t req[SNMP_DISCOVERY_REQUEST_MAX];
    size_t rn = snmp_discovery_request(req, 5, 5);
    assert_int_equal(snmp_discovery_engine_id(req, rn, 5, id, &n), TIDE_EPARSE);
    /* a v2c message */
    static const uint8_t v2c[] = {0x30, 0x05, 0x02, 0x01, 0x01, 0x04, 0x00};
    assert_int_equal(snmp_discovery_engine_id(v2c, sizeof v2c, 1, id, &n), TIDE_EPARSE);
    /* an engine ID whose length runs past its enclosing USM sequence */
    uint8_t big[sizeof report];
    memcpy(big, report, sizeof report);
    big[29] = 0x30; /* the engine ID's length byte */
    assert_int_equal(snmp_discovery_engine_id(big, sizeof big, 0x12345678, id, &n), TIDE_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_bytes),
        cmocka_unit_test(test_engine_id_from_report),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
