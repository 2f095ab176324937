#!/usr/bin/env python3
"""remote_read.py: a Prometheus remote read client of its own, for
test_remote_read.sh, written from the public specification with the
standard library only: it encodes a ReadRequest, POSTs it snappy-compressed,
and decodes either response type independently of Tide's C code (a snappy
decompressor, a protobuf reader, CRC32C, and Prometheus' XOR chunk decoder).

usage: remote_read.py URL TYPE START_MS END_MS MATCHER...
  TYPE     samples | streamed | both (accepted types in that order) | none
  MATCHER  name=value, name!=value, name=~re, name!~re
Prints one line per series, sorted: `{labels} t=v t=v ...` (values as
repr of the float, NaN bits shown as nan:0x...), and on stderr the
Content-Type, the frame count and the largest frame."""
import struct
import sys
import urllib.request

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from jsontool import field_bytes, field_varint, snappy_literals, varint  # noqa: E402


def read_varint(b, i):
    shift = v = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if c < 0x80:
            return v, i
        shift += 7


def fields(b):
    """(field, wire type, value) of one message; value is int or bytes."""
    i = 0
    while i < len(b):
        k, i = read_varint(b, i)
        f, wt = k >> 3, k & 7
        if wt == 0:
            v, i = read_varint(b, i)
        elif wt == 1:
            v = b[i:i + 8]
            i += 8
        elif wt == 2:
            n, i = read_varint(b, i)
            v = b[i:i + n]
            i += n
        elif wt == 5:
            v = b[i:i + 4]
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        yield f, wt, v


def snappy_decompress(b):
    n, i = read_varint(b, 0)
    out = bytearray()
    while i < len(b):
        tag = b[i]
        i += 1
        t = tag & 3
        if t == 0:
            ln = tag >> 2
            if ln >= 60:
                nb = ln - 59
                ln = int.from_bytes(b[i:i + nb], "little")
                i += nb
            ln += 1
            out += b[i:i + ln]
            i += ln
            continue
        if t == 1:
            ln = ((tag >> 2) & 7) + 4
            off = ((tag >> 5) << 8) | b[i]
            i += 1
        elif t == 2:
            ln = (tag >> 2) + 1
            off = int.from_bytes(b[i:i + 2], "little")
            i += 2
        else:
            ln = (tag >> 2) + 1
            off = int.from_bytes(b[i:i + 4], "little")
            i += 4
        for _ in range(ln):
            out.append(out[-off])
    assert len(out) == n, (len(out), n)
    return bytes(out)


def crc32c(b):
    crc = 0xFFFFFFFF
    for c in b:
        crc ^= c
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


class Bits:
    def __init__(self, b):
        self.b, self.pos = b, 0

    def bit(self):
        v = (self.b[self.pos >> 3] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return v

    def bits(self, n):
        v = 0
        for _ in range(n):
            v = v << 1 | self.bit()
        return v

    def uvarint(self):
        shift = v = 0
        while True:
            c = self.bits(8)
            v |= (c & 0x7F) << shift
            if c < 0x80:
                return v
            shift += 7

    def varint(self):
        u = self.uvarint()
        return (u >> 1) ^ -(u & 1)


def signed(v, n):
    return v - (1 << n) if v >= 1 << (n - 1) else v


def xor_chunk(data):
    """Prometheus' XOR chunk: u16 count big-endian, then the bit stream."""
    n = struct.unpack(">H", data[:2])[0]
    r = Bits(data[2:])
    out = []
    t = delta = 0
    vbits = 0
    lead = trail = 0
    for i in range(n):
        if i == 0:
            t = r.varint()
            vbits = r.bits(64)
            out.append((t, vbits))
            continue
        if i == 1:
            delta = r.uvarint()
        else:
            for nb, payload in ((0, 0), (1, 14), (2, 17), (3, 20), (4, 64)):
                if nb == 4 or r.bit() == 0:
                    break
            dod = 0 if payload == 0 else signed(r.bits(payload), payload)
            delta += dod
        t += delta
        if r.bit() == 1:
            if r.bit() == 1:
                lead = r.bits(5)
                sig = r.bits(6) or 64
                trail = 64 - lead - sig
            sig = 64 - lead - trail
            vbits ^= r.bits(sig) << trail
        out.append((t, vbits))
    return out


def fmt(vbits):
    v = struct.unpack("<d", struct.pack("<Q", vbits))[0]
    return "nan:0x%016x" % vbits if v != v else repr(v)


def labels_of(msg):
    ls = {}
    for f, _, v in fields(msg):
        if f == 1:
            kv = {ff: vv.decode() for ff, _, vv in fields(v)}
            ls[kv.get(1, "")] = kv.get(2, "")
    return ls


def key(ls):
    return "{" + ",".join('%s="%s"' % (k, ls[k]) for k in sorted(ls)) + "}"


def main():
    url, typ, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ms = []
    for m in sys.argv[5:]:
        for op, code in (("!~", 3), ("=~", 2), ("!=", 1), ("=", 0)):
            if op in m:
                n, v = m.split(op, 1)
                ms.append(field_varint(1, code) + field_bytes(2, n.encode()) + field_bytes(3, v.encode()))
                break
    q = field_varint(1, start) + field_varint(2, end) + b"".join(field_bytes(3, m) for m in ms)
    types = {"samples": [0], "streamed": [1], "both": [1, 0], "none": []}[typ]
    req = field_bytes(1, q) + b"".join(field_varint(2, t) for t in types)
    r = urllib.request.Request(url, data=snappy_literals(req), method="POST", headers={
        "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Read-Version": "0.1.0"})
    resp = urllib.request.urlopen(r)
    body = resp.read()
    ct = resp.headers.get("Content-Type")
    series = {}
    frames = maxframe = 0
    if ct.startswith("application/x-streamed-protobuf"):
        assert ct == "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse", ct
        i = 0
        while i < len(body):
            n, i = read_varint(body, i)
            crc = struct.unpack(">I", body[i:i + 4])[0]
            msg = body[i + 4:i + 4 + n]
            i += 4 + n
            assert len(msg) == n, "truncated frame"
            assert crc32c(msg) == crc, "frame %d: CRC32C mismatch" % frames
            frames += 1
            maxframe = max(maxframe, n)
            for f, _, cs in fields(msg):
                if f != 1:
                    continue
                ls = labels_of(cs)
                s = series.setdefault(key(ls), [])
                for ff, _, ch in fields(cs):
                    if ff != 2:
                        continue
                    c = {cf: cv for cf, _, cv in fields(ch)}
                    assert c.get(3) == 1, "chunk encoding %r" % c.get(3)
                    pts = xor_chunk(c[4])
                    assert pts[0][0] == signed(c.get(1, 0), 64) and pts[-1][0] == signed(c.get(2, 0), 64)
                    assert len(pts) <= 120
                    s.extend(pts)
    else:
        assert ct == "application/x-protobuf", ct
        assert resp.headers.get("Content-Encoding") == "snappy"
        raw = snappy_decompress(body)
        for f, _, qr in fields(raw):
            for ff, _, ts in fields(qr):
                ls = labels_of(ts)
                s = series.setdefault(key(ls), [])
                for sf, _, smp in fields(ts):
                    if sf != 2:
                        continue
                    d = {a: b for a, _, b in fields(smp)}
                    s.append((signed(d.get(2, 0), 64), struct.unpack("<Q", d.get(1, bytes(8)))[0]))
    for k in sorted(series):
        print(k, " ".join("%d=%s" % (t, fmt(v)) for t, v in series[k]))
    print("content-type=%s frames=%d maxframe=%d" % (ct, frames, maxframe), file=sys.stderr)


if __name__ == "__main__":
    main()
