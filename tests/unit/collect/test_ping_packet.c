/* test_ping_packet.c: ICMP echo messages (collect/ping_packet.c): a built
 * request carries the cookie and token and a valid checksum; replies parse
 * from a datagram socket (no header) and a raw IPv4 socket (with the IP
 * header, TTL read from it); other ICMP types, truncated messages and bad
 * headers are refused; the address hash is blackbox exporter's (values
 * read from prometheus-blackbox-exporter 0.23's probe_ip_addr_hash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "collect/ping.h"

static void test_build_parse_v4(void **state)
{
    (void)state;
    uint8_t buf[8 + PING_PAYLOAD_BYTES];
    size_t n = ping_build_request(buf, AF_INET, 0x1234, 0xbeef, 0x0102030405060708ull, 42);
    assert_int_equal(n, 64);
    assert_int_equal(buf[0], 8);
    assert_int_equal(ping_checksum(buf, n), 0); /* a valid checksum sums to zero */
    struct ping_reply r;
    assert_int_equal(ping_parse_reply(buf, n, AF_INET, false, &r), TIDE_ENOTFOUND); /* a request */
    buf[0] = 0;
    assert_int_equal(ping_parse_reply(buf, n, AF_INET, false, &r), 0);
    assert_int_equal(r.id, 0x1234);
    assert_int_equal(r.seq, 0xbeef);
    assert_true(r.cookie == 0x0102030405060708ull);
    assert_true(r.token == 42);
    assert_int_equal(r.ttl, -1);
}

static void test_parse_raw_v4(void **state)
{
    (void)state;
    uint8_t pkt[20 + 8 + PING_PAYLOAD_BYTES] = {0};
    pkt[0] = 0x45;
    pkt[8] = 57; /* TTL */
    pkt[9] = 1;  /* ICMP */
    ping_build_request(pkt + 20, AF_INET, 7, 9, 1, 2);
    pkt[20] = 0;
    struct ping_reply r;
    assert_int_equal(ping_parse_reply(pkt, sizeof pkt, AF_INET, true, &r), 0);
    assert_int_equal(r.ttl, 57);
    assert_int_equal(r.seq, 9);
    pkt[0] = 0x44; /* IHL 16 bytes: too short */
    assert_int_equal(ping_parse_reply(pkt, sizeof pkt, AF_INET, true, &r), TIDE_EPARSE);
    pkt[0] = 0x4f; /* IHL 60 bytes: fits, but then no ICMP header */
    assert_int_equal(ping_parse_reply(pkt, 64, AF_INET, true, &r), TIDE_EPARSE);
    pkt[0] = 0x45;
    pkt[9] = 6; /* TCP */
    assert_int_equal(ping_parse_reply(pkt, sizeof pkt, AF_INET, true, &r), TIDE_ENOTFOUND);
    assert_int_equal(ping_parse_reply(pkt, 19, AF_INET, true, &r), TIDE_EPARSE);
}

static void test_parse_v6(void **state)
{
    (void)state;
    uint8_t buf[8 + PING_PAYLOAD_BYTES];
    size_t n = ping_build_request(buf, AF_INET6, 1, 2, 3, 4);
    assert_int_equal(buf[0], 128);
    struct ping_reply r;
    assert_int_equal(ping_parse_reply(buf, n, AF_INET6, false, &r), TIDE_ENOTFOUND);
    buf[0] = 129;
    assert_int_equal(ping_parse_reply(buf, n, AF_INET6, false, &r), 0);
    assert_true(r.token == 4 && r.cookie == 3 && r.seq == 2);
    buf[0] = 0; /* an IPv4 echo reply type on an ICMPv6 socket */
    assert_int_equal(ping_parse_reply(buf, n, AF_INET6, false, &r), TIDE_ENOTFOUND);
    buf[0] = 129;
    assert_int_equal(ping_parse_reply(buf, 8 + 15, AF_INET6, false, &r), TIDE_EPARSE);
    assert_int_equal(ping_parse_reply(buf, 7, AF_INET6, false, &r), TIDE_EPARSE);
}

static void test_ip_hash(void **state)
{
    (void)state;
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
    inet_pton(AF_INET6, "::1", &a6.sin6_addr);
    assert_int_equal(ping_ip_hash((struct sockaddr *)&a4), 3668918509u);
    assert_int_equal(ping_ip_hash((struct sockaddr *)&a6), 1751717746u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_parse_v4),
        cmocka_unit_test(test_parse_raw_v4),
        cmocka_unit_test(test_parse_v6),
        cmocka_unit_test(test_ip_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
