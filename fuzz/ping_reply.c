/* fuzz/ping_reply.c: what an ICMP socket hands the ping engine
 * (collect/ping_packet.c's ping_parse_reply), as arbitrary bytes: the first
 * byte picks the socket (IPv4 datagram, IPv4 raw with the IP header, IPv6),
 * the rest is the datagram. Checks, beyond "no crash, no read past the end":
 *   - the answer is 0, TIDE_ENOTFOUND or TIDE_EPARSE;
 *   - an accepted reply rebuilt with ping_build_request() (type turned into
 *     a reply) parses back to the same id, sequence, cookie and token;
 *   - the TTL is known exactly when the IPv4 header was there. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collect/ping.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % 3;
    int family = mode == 2 ? AF_INET6 : AF_INET;
    bool hdr = mode == 1;
    struct ping_reply r;
    memset(&r, 0xa5, sizeof r);
    int rc = ping_parse_reply(data + 1, size - 1, family, hdr, &r);
    assert(rc == 0 || rc == TIDE_ENOTFOUND || rc == TIDE_EPARSE);
    if (rc != 0)
        return 0;
    assert(hdr ? (r.ttl >= 0 && r.ttl <= 255) : r.ttl == -1);
    uint8_t buf[8 + PING_PAYLOAD_BYTES];
    size_t n = ping_build_request(buf, family, r.id, r.seq, r.cookie, r.token);
    buf[0] = family == AF_INET6 ? 129 : 0;
    struct ping_reply back;
    assert(ping_parse_reply(buf, n, family, false, &back) == 0);
    assert(back.id == r.id && back.seq == r.seq && back.cookie == r.cookie &&
           back.token == r.token);
    return 0;
}
