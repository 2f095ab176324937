/* snmp_discovery.c: SNMPv3 engine ID discovery (RFC 3414 section 4) as
 * bytes, for the SNMP engine (snmp_engine.c), which sends the request and
 * reads the agent's Report on its own epoll set. net-snmp does this
 * exchange synchronously inside snmp_sess_open() (and inside an
 * asynchronous send when the session has no engine ID), which would stall
 * every device while one v3 device does not answer; a session opened with
 * the engine ID given needs no exchange.
 *
 * The request is an SNMPv3 message (RFC 3412 section 6) with the
 * reportable flag, noAuthNoPriv, the USM security model, empty USM
 * parameters and a GetRequest with no varbinds. The agent answers with a
 * Report (usmStatsUnknownEngineIDs) whose msgAuthoritativeEngineID is its
 * engine ID. Only the BER this exchange needs is read: definite lengths,
 * short or long form, every length checked against what encloses it.
 */
#include <string.h>

#include "collect/snmp.h"

#define BER_INTEGER 0x02
#define BER_OCTETS 0x04
#define BER_SEQUENCE 0x30

/* Put a 4-byte INTEGER (tag, length 4, big-endian value) at p. */
static uint8_t *put_int32(uint8_t *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    *p++ = BER_INTEGER;
    *p++ = 4;
    for (int s = 24; s >= 0; s -= 8)
        *p++ = (uint8_t)(u >> s);
    return p;
}

size_t snmp_discovery_request(uint8_t out[SNMP_DISCOVERY_REQUEST_MAX], int32_t msg_id,
                              int32_t req_id)
{
    /* The layout has fixed lengths, all under 128 (short form). */
    uint8_t *p = out;
    *p++ = BER_SEQUENCE;
    uint8_t *msg_len = p++;
    uint8_t *msg_start = p;
    *p++ = BER_INTEGER, *p++ = 1, *p++ = 3; /* msgVersion: SNMPv3 */
    *p++ = BER_SEQUENCE, *p++ = 17;          /* msgGlobalData */
    p = put_int32(p, msg_id);                /* msgID */
    *p++ = BER_INTEGER, *p++ = 3, *p++ = 0x00, *p++ = 0xff, *p++ = 0xe3; /* msgMaxSize 65507 */
    *p++ = BER_OCTETS, *p++ = 1, *p++ = 0x04; /* msgFlags: reportable, noAuthNoPriv */
    *p++ = BER_INTEGER, *p++ = 1, *p++ = 3;   /* msgSecurityModel: USM */
    /* msgSecurityParameters: UsmSecurityParameters with every field empty */
    static const uint8_t usm[] = {BER_OCTETS, 16, BER_SEQUENCE, 14, BER_OCTETS, 0,
                                  BER_INTEGER, 1, 0, BER_INTEGER, 1, 0, BER_OCTETS, 0,
                                  BER_OCTETS, 0, BER_OCTETS, 0};
    memcpy(p, usm, sizeof usm);
    p += sizeof usm;
    *p++ = BER_SEQUENCE, *p++ = 20;             /* ScopedPDU */
    *p++ = BER_OCTETS, *p++ = 0;                /* contextEngineID */
    *p++ = BER_OCTETS, *p++ = 0;                /* contextName */
    *p++ = 0xa0, *p++ = 14;                     /* GetRequest-PDU */
    p = put_int32(p, req_id);                   /* request-id */
    *p++ = BER_INTEGER, *p++ = 1, *p++ = 0;     /* error-status */
    *p++ = BER_INTEGER, *p++ = 1, *p++ = 0;     /* error-index */
    *p++ = BER_SEQUENCE, *p++ = 0;              /* variable-bindings: none */
    *msg_len = (uint8_t)(p - msg_start);
    return (size_t)(p - out);
}

/* A BER reader over [p, end). */
struct ber {
    const uint8_t *p, *end;
};

/* Read one element's tag and length; *body is the reader over its contents,
 * and r moves past the element. 0, or TIDE_EPARSE. */
static int ber_next(struct ber *r, uint8_t *tag, struct ber *body)
{
    if (r->end - r->p < 2)
        return TIDE_EPARSE;
    *tag = *r->p++;
    size_t len = *r->p++;
    if (len & 0x80) {
        size_t nb = len & 0x7f;
        if (nb == 0 || nb > 4 || (size_t)(r->end - r->p) < nb)
            return TIDE_EPARSE; /* indefinite or absurd lengths: not SNMP */
        len = 0;
        while (nb--)
            len = len << 8 | *r->p++;
    }
    if ((size_t)(r->end - r->p) < len)
        return TIDE_EPARSE;
    body->p = r->p;
    body->end = r->p + len;
    r->p += len;
    return 0;
}

/* Read an element that must have tag `want`. */
static int ber_expect(struct ber *r, uint8_t want, struct ber *body)
{
    uint8_t tag;
    int rc = ber_next(r, &tag, body);
    return rc != 0 ? rc : tag == want ? 0 : TIDE_EPARSE;
}

/* The value of a small INTEGER (1..4 bytes, two's complement). */
static int ber_int32(struct ber *r, int32_t *out)
{
    struct ber b;
    int rc = ber_expect(r, BER_INTEGER, &b);
    size_t n = (size_t)(b.end - b.p);
    if (rc != 0 || n < 1 || n > 4)
        return TIDE_EPARSE;
    uint32_t v = (b.p[0] & 0x80) ? UINT32_MAX : 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | b.p[i];
    *out = (int32_t)v;
    return 0;
}

int snmp_discovery_engine_id(const uint8_t *msg, size_t n, int32_t msg_id, uint8_t *id,
                             size_t *id_n)
{
    struct ber r = {msg, msg + n}, m, g, sp, usm, eid;
    int32_t version, got_id;
    if (ber_expect(&r, BER_SEQUENCE, &m) != 0 || ber_int32(&m, &version) != 0 || version != 3 ||
        ber_expect(&m, BER_SEQUENCE, &g) != 0 || ber_int32(&g, &got_id) != 0)
        return TIDE_EPARSE;
    if (got_id != msg_id)
        return TIDE_ENOTFOUND; /* an answer to another request */
    if (ber_expect(&m, BER_OCTETS, &sp) != 0 || ber_expect(&sp, BER_SEQUENCE, &usm) != 0 ||
        ber_expect(&usm, BER_OCTETS, &eid) != 0)
        return TIDE_EPARSE;
    size_t len = (size_t)(eid.end - eid.p);
    if (len < 5 || len > SNMP_ENGINE_ID_MAX)
        return TIDE_EPARSE; /* RFC 3411 SnmpEngineID: 5..32 octets */
    memcpy(id, eid.p, len);
    *id_n = len;
    return 0;
}
