#!/usr/bin/env bash
# test_otlp_e2e.sh: OTLP/HTTP protobuf end to end. A request hand-encoded
# here in Python (wire format, no protobuf library) carries one metric of
# each kind Tide stores: a gauge, a monotonic cumulative sum (int and
# double), a non-monotonic sum, an explicit-bucket histogram and a summary,
# under a resource with service.name/namespace/instance.id and one more
# attribute. Each POST path answers 200 with an empty protobuf body; then
# /api/v1/export must show exactly the Prometheus-named series the OTLP
# rules give (docs/api/formats.md), with their timestamps and values,
# plus target_info. gzip and zstd bodies give the same result.
. "$(dirname "$0")/lib.sh"

tide_start "$WORK/data" - --retention 0
T_MS=$(( ($(date +%s) - 600) * 1000 ))

python3 - "$HERE" "$T_MS" "$WORK/otlp.bin" <<'PY'
import struct, sys
sys.path.insert(0, sys.argv[1])
from jsontool import varint, field_bytes, field_varint, field_double, field_fixed64
t_ns = int(sys.argv[2]) * 1000000 + 456789  # sub-millisecond part is cut
def s(x): return x.encode()
def kv(k, v, num=1): return field_bytes(num, field_bytes(1, s(k)) + field_bytes(2, field_bytes(1, s(v))))
def num_dp(v, attrs=(), as_int=False):
    b = field_fixed64(3, t_ns)
    b += (varint(6 << 3 | 1) + struct.pack("<q", v)) if as_int else field_double(4, v)
    return b + b"".join(kv(k, x, 7) for k, x in attrs)
def metric(name, unit, kind_field, body):
    return field_bytes(1, s(name)) + field_bytes(3, s(unit)) + field_bytes(kind_field, body)
gauge = metric("room.temperature", "Cel", 5, field_bytes(1, num_dp(21.5, [("room", "kitchen")])))
sum_int = metric("http.server.requests", "{request}", 7,
                 field_bytes(1, num_dp(42, [("code", "200")], as_int=True)) + field_varint(2, 2) + field_varint(3, 1))
sum_dbl = metric("process.cpu.time", "s", 7,
                 field_bytes(1, num_dp(12.25)) + field_varint(2, 2) + field_varint(3, 1))
updown = metric("queue.length", "", 7, field_bytes(1, num_dp(-3.0)) + field_varint(2, 2) + field_varint(3, 0))
hdp = (field_fixed64(3, t_ns) + field_fixed64(4, 6) + field_double(5, 100.0) +
       field_bytes(6, struct.pack("<3Q", 1, 2, 3)) + field_bytes(7, struct.pack("<2d", 5.0, 10.5)) +
       kv("route", "/x", 9))
hist = metric("http.server.duration", "ms", 9, field_bytes(1, hdp) + field_varint(2, 2))
q = lambda qq, v: field_bytes(6, field_double(1, qq) + field_double(2, v))
sdp = field_fixed64(3, t_ns) + field_fixed64(4, 5) + field_double(5, 10.0) + q(0.5, 1.0) + q(0.99, 2.0)
summ = metric("rpc.latency", "s", 11, field_bytes(1, sdp))
resource = (kv("service.name", "api") + kv("service.namespace", "shop") +
            kv("service.instance.id", "pod-7") + kv("host.name", "h1"))
sm = field_bytes(2, b"".join(field_bytes(2, m) for m in (gauge, sum_int, sum_dbl, updown, hist, summ)))
rm = field_bytes(1, resource) + sm
open(sys.argv[3], "wb").write(field_bytes(1, rm))
PY

cat >"$WORK/want.txt" <<W
http_server_duration_milliseconds_bucket{instance=pod-7,job=shop/api,le=+Inf,route=/x} $T_MS 6
http_server_duration_milliseconds_bucket{instance=pod-7,job=shop/api,le=10.5,route=/x} $T_MS 3
http_server_duration_milliseconds_bucket{instance=pod-7,job=shop/api,le=5,route=/x} $T_MS 1
http_server_duration_milliseconds_count{instance=pod-7,job=shop/api,route=/x} $T_MS 6
http_server_duration_milliseconds_sum{instance=pod-7,job=shop/api,route=/x} $T_MS 100
http_server_requests_total{code=200,instance=pod-7,job=shop/api} $T_MS 42
process_cpu_time_seconds_total{instance=pod-7,job=shop/api} $T_MS 12.25
queue_length{instance=pod-7,job=shop/api} $T_MS -3
room_temperature_celsius{instance=pod-7,job=shop/api,room=kitchen} $T_MS 21.5
rpc_latency_seconds_count{instance=pod-7,job=shop/api} $T_MS 5
rpc_latency_seconds_sum{instance=pod-7,job=shop/api} $T_MS 10
rpc_latency_seconds{instance=pod-7,job=shop/api,quantile=0.5} $T_MS 1
rpc_latency_seconds{instance=pod-7,job=shop/api,quantile=0.99} $T_MS 2
target_info{host_name=h1,instance=pod-7,job=shop/api} $T_MS 1
W

flat_export() {
    curl -fsS -G "$TIDE_URL/api/v1/export" --data-urlencode 'match[]={job="shop/api"}' | python3 -c '
import json, sys
out = []
for line in sys.stdin:
    if line.strip():
        o = json.loads(line)
        m = o["metric"]
        name = m.pop("__name__")
        labels = ",".join("%s=%s" % kv for kv in sorted(m.items()))
        for t, v in zip(o["timestamps"], o["values"]):
            out.append("%s{%s} %d %s" % (name, labels, t, ("%r" % float(v)).removesuffix(".0")))
print("\n".join(sorted(out)))'
}

for path in /api/v1/otlp/v1/metrics /opentelemetry/v1/metrics /v1/metrics; do
    req POST "$path" -H 'Content-Type: application/x-protobuf' --data-binary @"$WORK/otlp.bin"
    assert_code 200
    assert_eq "$path: response body" "" "$BODY"
done
got=$(flat_export)
assert_eq "OTLP series" "$(sort "$WORK/want.txt")" "$got"

# the same request compressed; a second copy at the same time changes nothing
gzip -c "$WORK/otlp.bin" >"$WORK/otlp.gz"
req POST /v1/metrics -H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: gzip' \
    --data-binary @"$WORK/otlp.gz"
assert_code 200
zstd -q -c "$WORK/otlp.bin" >"$WORK/otlp.zst"
req POST /v1/metrics -H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: zstd' \
    --data-binary @"$WORK/otlp.zst"
assert_code 200
assert_eq "OTLP series after compressed copies" "$(sort "$WORK/want.txt")" "$(flat_export)"

# a truncated protobuf is refused whole
head -c 100 "$WORK/otlp.bin" >"$WORK/trunc.bin"
req POST /v1/metrics -H 'Content-Type: application/x-protobuf' --data-binary @"$WORK/trunc.bin"
assert_code 400
log "ok"
