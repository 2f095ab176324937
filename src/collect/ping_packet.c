/* ping_packet.c: ICMP and ICMPv6 echo messages: building a request,
 * parsing what an ICMP socket hands back (the one parser of outside input
 * in the ping collector: fuzz/ping_reply.c), the Internet checksum, and
 * blackbox exporter's address hash. No I/O.
 */
#include <netinet/in.h>
#include <string.h>

#include "collect/ping.h"

#define ICMP4_ECHO_REPLY 0
#define ICMP4_ECHO_REQUEST 8
#define ICMP6_ECHO_REQUEST_T 128
#define ICMP6_ECHO_REPLY_T 129
#define ICMP_HEADER 8
#define PAYLOAD_MIN 16 /* cookie + token */

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

uint16_t ping_checksum(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (n & 1)
        sum += (uint32_t)b[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

size_t ping_build_request(uint8_t *buf, int family, uint16_t id, uint16_t seq, uint64_t cookie,
                          uint64_t token)
{
    size_t n = ICMP_HEADER + PING_PAYLOAD_BYTES;
    memset(buf, 0, n);
    buf[0] = family == AF_INET6 ? ICMP6_ECHO_REQUEST_T : ICMP4_ECHO_REQUEST;
    put_be16(buf + 4, id);
    put_be16(buf + 6, seq);
    put_be64(buf + ICMP_HEADER, cookie);
    put_be64(buf + ICMP_HEADER + 8, token);
    for (size_t i = ICMP_HEADER + PAYLOAD_MIN; i < n; i++)
        buf[i] = (uint8_t)i; /* ping(8)'s fill pattern, recognisable in a capture */
    if (family != AF_INET6)
        put_be16(buf + 2, ping_checksum(buf, n));
    return n;
}

int ping_parse_reply(const uint8_t *p, size_t n, int family, bool ip_header,
                     struct ping_reply *out)
{
    int ttl = -1;
    if (family == AF_INET && ip_header) {
        if (n < 20 || (p[0] >> 4) != 4)
            return TIDE_EPARSE;
        size_t ihl = (size_t)(p[0] & 0x0f) * 4;
        if (ihl < 20 || ihl > n)
            return TIDE_EPARSE;
        if (p[9] != IPPROTO_ICMP)
            return TIDE_ENOTFOUND;
        ttl = p[8];
        p += ihl;
        n -= ihl;
    }
    if (n < ICMP_HEADER)
        return TIDE_EPARSE;
    uint8_t want = family == AF_INET6 ? ICMP6_ECHO_REPLY_T : ICMP4_ECHO_REPLY;
    if (p[0] != want || p[1] != 0)
        return TIDE_ENOTFOUND;
    if (n < ICMP_HEADER + PAYLOAD_MIN)
        return TIDE_EPARSE; /* an echo reply, but not one of ours */
    out->id = get_be16(p + 4);
    out->seq = get_be16(p + 6);
    out->cookie = get_be64(p + ICMP_HEADER);
    out->token = get_be64(p + ICMP_HEADER + 8);
    out->ttl = ttl;
    return 0;
}

uint32_t ping_ip_hash(const struct sockaddr *sa)
{
    const uint8_t *b;
    size_t n;
    if (sa->sa_family == AF_INET) {
        b = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
        n = 4;
    } else {
        b = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        n = 16;
    }
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}
