#!/usr/bin/env python3
"""fault_agent.py: an SNMP v2c agent on 127.0.0.1 that answers the way real
devices do when they are difficult, for test_snmp_walk_faults.sh. Written
from RFC 3416 (PDUs, GetBulk) and X.690 (BER); standard library only.

It serves a small IF-MIB: sysUpTime, sysName, and ifTable/ifXTable rows for
three interfaces (ifDescr, ifOperStatus, ifInOctets; ifName, ifHCInOctets,
ifAlias). The community chooses the behaviour:

  good       answers as RFC 3416 says
  truncate   cuts every GetBulk answer to 5 varbinds (an agent bounded by
             its message size may: RFC 3416 4.2.3), mid-row when a request
             walks two subtrees
  toobig     answers tooBig to every GetBulk with more than one repeater,
             and as `good` otherwise
  backwards  answers a GetBulk with the requested OIDs themselves, which do
             not follow them (a broken walk that never ends)
  garbage    answers with bytes that are not BER

Usage: fault_agent.py PORTFILE   (binds a free port, writes it to PORTFILE,
serves until killed). Every request is logged to stderr as
"<community> <pdu tag> <non-repeaters> <varbinds>" so a test can see what
was asked.
"""
import os
import socket
import sys

# ---- BER (X.690), the subset SNMP uses ----


def enc_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, body):
    return bytes([tag]) + enc_len(len(body)) + body


def enc_int(tag, v):
    n = max(1, (v.bit_length() + 8) // 8)
    return tlv(tag, v.to_bytes(n, "big", signed=True))


def enc_uint(tag, v):
    b = v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big")
    if b[0] & 0x80:
        b = b"\x00" + b
    return tlv(tag, b)


def enc_oid(o):
    out = bytearray([40 * o[0] + o[1]])
    for s in o[2:]:
        chunk = [s & 0x7F]
        s >>= 7
        while s:
            chunk.append(0x80 | (s & 0x7F))
            s >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, bytes(out))


def dec_tlv(buf, i):
    tag = buf[i]
    n = buf[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[i:i + k], "big")
        i += k
    return tag, buf[i:i + n], i + n


def dec_int(body):
    return int.from_bytes(body, "big", signed=True)


def dec_oid(body):
    o = [body[0] // 40, body[0] % 40]
    v = 0
    for b in body[1:]:
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            o.append(v)
            v = 0
    return tuple(o)


# ---- the MIB ----

IF = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
MIB = {
    (1, 3, 6, 1, 2, 1, 1, 3, 0): enc_uint(0x43, 123456),
    (1, 3, 6, 1, 2, 1, 1, 5, 0): tlv(0x04, b"fault-agent"),
}
ROWS = {  # ifIndex: (descr, oper status, in octets, name, alias)
    1: (b"lo", 1, 1000, b"lo", b""),
    2: (b"eth0", 1, 4294967295, b"eth0", b"ISP:Magti_Internet uplink1"),
    3: (b"eth1", 2, 77, b"eth1", b"ISP:Silknet_Internet uplink2"),
}
for ix, (descr, oper, octets, name, alias) in ROWS.items():
    MIB[IF + (1, ix)] = enc_int(0x02, ix)
    MIB[IF + (2, ix)] = tlv(0x04, descr)
    MIB[IF + (8, ix)] = enc_int(0x02, oper)
    MIB[IF + (10, ix)] = enc_uint(0x41, octets)
    MIB[IFX + (1, ix)] = tlv(0x04, name)
    MIB[IFX + (6, ix)] = enc_uint(0x46, octets + (1 << 33))
    MIB[IFX + (18, ix)] = tlv(0x04, alias)
ORDER = sorted(MIB)
END_OF_MIB = b"\x82\x00"
NULL = b"\x05\x00"


def next_of(o):
    for k in ORDER:
        if k > o:
            return k
    return None


def varbind(o, value):
    return tlv(0x30, enc_oid(o) + value)


def answer(community, pdu_tag, reqid, nonrep, maxrep, oids):
    """The varbinds and error status of the answer."""
    out, err = [], 0
    if pdu_tag == 0xA0:  # GetRequest
        out = [varbind(o, MIB.get(o, b"\x81\x00")) for o in oids]  # noSuchInstance
    elif pdu_tag == 0xA1:  # GetNextRequest
        for o in oids:
            n = next_of(o)
            out.append(varbind(o, END_OF_MIB) if n is None else varbind(n, MIB[n]))
    elif pdu_tag == 0xA5:  # GetBulkRequest
        rep = oids[nonrep:]
        if community == "toobig" and len(rep) > 1:
            return [], 1
        if community == "backwards":
            return [varbind(o, MIB.get(o, NULL)) for o in oids], 0
        for o in oids[:nonrep]:
            n = next_of(o)
            out.append(varbind(o, END_OF_MIB) if n is None else varbind(n, MIB[n]))
        cur = list(rep)
        for _ in range(max(maxrep, 0)):
            for j, o in enumerate(cur):
                n = next_of(o)
                out.append(varbind(o, END_OF_MIB) if n is None else varbind(n, MIB[n]))
                cur[j] = n if n is not None else o
        if community == "truncate":
            out = out[:5]
    return out, err


def handle(data):
    _, msg, _ = dec_tlv(data, 0)
    _, ver, i = dec_tlv(msg, 0)
    _, comm, i = dec_tlv(msg, i)
    pdu_tag, pdu, _ = dec_tlv(msg, i)
    _, reqid, j = dec_tlv(pdu, 0)
    _, a, j = dec_tlv(pdu, j)
    _, b, j = dec_tlv(pdu, j)
    _, vbl, _ = dec_tlv(pdu, j)
    oids, k = [], 0
    while k < len(vbl):
        _, vb, k = dec_tlv(vbl, k)
        _, ob, _ = dec_tlv(vb, 0)
        oids.append(dec_oid(ob))
    community = comm.decode("latin-1")
    nonrep = dec_int(a) if pdu_tag == 0xA5 else 0
    sys.stderr.write("%s %02x %d %d\n" % (community, pdu_tag, nonrep, len(oids)))
    sys.stderr.flush()
    if community == "garbage":
        return b"\x30\x84\xff\xff\xff\xffnot BER at all"
    vbs, err = answer(community, pdu_tag, dec_int(reqid), dec_int(a), dec_int(b), oids)
    body = tlv(0x02, reqid) + enc_int(0x02, err) + enc_int(0x02, 0) + tlv(0x30, b"".join(vbs))
    return tlv(0x30, tlv(0x02, ver) + tlv(0x04, comm) + tlv(0xA2, body))


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        data, peer = s.recvfrom(65535)
        try:
            reply = handle(data)
        except (IndexError, ValueError) as e:
            sys.stderr.write("undecodable request: %s\n" % e)
            continue
        s.sendto(reply, peer)


if __name__ == "__main__":
    main()
