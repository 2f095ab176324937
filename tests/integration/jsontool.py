#!/usr/bin/env python3
"""jsontool.py: JSON helpers for Tide's integration tests (stdlib only).

  check EXPR          read JSON on stdin, bind it to `j`, exit 1 unless EXPR is true
  canon-export        read /api/v1/export JSON lines on stdin, print one line per
                      series: labels, then t=value pairs merged and sorted; values
                      printed with repr() so NaN, +Inf and -Inf compare exactly
  canon-csv           sort CSV lines on stdin (export order is not part of the contract)
  remote-write        JSON lines on stdin -> a Prometheus remote write 1.0 body on stdout
                      (protobuf WriteRequest in a snappy block of literals)
  otlp                JSON lines on stdin -> an OTLP ExportMetricsServiceRequest (protobuf),
                      one gauge per line, labels other than __name__ as point attributes
"""
import json
import math
import struct
import sys


def as_float(v):
    if isinstance(v, str):
        s = v.strip()
        if s == "StaleNaN":
            return "StaleNaN"  # Prometheus' stale marker, kept apart from NaN
        low = s.lower()
        if low in ("nan",):
            return math.nan
        if low in ("inf", "+inf", "infinity", "+infinity"):
            return math.inf
        if low in ("-inf", "-infinity"):
            return -math.inf
        return float(s)
    return float(v)


def fmt(v):
    if isinstance(v, str):
        return v
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def canon_export(stream):
    series = {}
    for n, line in enumerate(stream, 1):
        line = line.strip()
        if not line:
            continue
        try:
            # Numbers as text: json would read "-0" as the integer 0 and lose the sign.
            obj = json.loads(line, parse_int=str, parse_float=str)
        except ValueError as e:
            sys.exit("line %d is not JSON (%s): %s" % (n, e, line[:200]))
        key = json.dumps(obj["metric"], sort_keys=True, separators=(",", ":"))
        vals, ts = obj["values"], obj["timestamps"]
        if len(vals) != len(ts):
            sys.exit("line %d: %d values but %d timestamps" % (n, len(vals), len(ts)))
        samples = series.setdefault(key, {})
        for t, v in zip((int(t) for t in ts), vals):
            if t in samples:
                sys.exit("line %d: timestamp %d of %s exported twice" % (n, t, key))
            samples[t] = as_float(v)
    for key in sorted(series):
        pts = " ".join("%d=%s" % (t, fmt(v)) for t, v in sorted(series[key].items()))
        print("%s %s" % (key, pts))


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def field_double(num, v):
    return varint(num << 3 | 1) + struct.pack("<d", v)


def field_fixed64(num, v):
    return varint(num << 3 | 1) + struct.pack("<Q", v)


def snappy_literals(data):
    """A valid snappy block holding `data` as literals only (no compression)."""
    out = bytearray(varint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2]) + struct.pack("<H", n)
        out += chunk
    return bytes(out)


def read_series(stream):
    for line in stream:
        if line.strip():
            o = json.loads(line)
            yield o["metric"], [as_float(v) for v in o["values"]], [int(t) for t in o["timestamps"]]


def remote_write(stream):
    req = b""
    for metric, vals, ts in read_series(stream):
        body = b"".join(field_bytes(1, field_bytes(1, k.encode()) + field_bytes(2, v.encode()))
                        for k, v in sorted(metric.items()))
        body += b"".join(field_bytes(2, field_double(1, v) + field_varint(2, t))
                         for v, t in zip(vals, ts))
        req += field_bytes(1, body)
    sys.stdout.buffer.write(snappy_literals(req))


def otlp(stream):
    metrics = b""
    for metric, vals, ts in read_series(stream):
        attrs = b"".join(field_bytes(7, field_bytes(1, k.encode()) +
                                     field_bytes(2, field_bytes(1, v.encode())))
                         for k, v in sorted(metric.items()) if k != "__name__")
        points = b"".join(field_bytes(1, field_fixed64(3, t * 1000000) + field_double(4, v) + attrs)
                          for v, t in zip(vals, ts))
        metrics += field_bytes(2, field_bytes(1, metric["__name__"].encode()) +
                               field_bytes(5, points))
    resource = field_bytes(1, field_bytes(1, b"service.name") +
                           field_bytes(2, field_bytes(1, b"tidetest")))
    rm = field_bytes(1, resource) + field_bytes(2, metrics)
    sys.stdout.buffer.write(field_bytes(1, rm))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd = sys.argv[1]
    if cmd == "check":
        j = json.load(sys.stdin)
        ok = eval(sys.argv[2], {"j": j, "math": math, "as_float": as_float})
        sys.exit(0 if ok else 1)
    if cmd == "canon-export":
        canon_export(sys.stdin)
        return
    if cmd == "remote-write":
        remote_write(sys.stdin)
        return
    if cmd == "otlp":
        otlp(sys.stdin)
        return
    if cmd == "canon-csv":
        for line in sorted(l.rstrip("\r\n") for l in sys.stdin if l.strip()):
            print(line)
        return
    sys.exit("unknown command %r" % cmd)


if __name__ == "__main__":
    main()
