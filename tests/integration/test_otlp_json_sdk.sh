#!/usr/bin/env bash
# test_otlp_json_sdk.sh: the official OpenTelemetry JS SDK (npm, pinned in
# tests/clients-node) exports the same metrics to a real `tide serve` twice:
# with exporter-metrics-otlp-http (OTLP/HTTP JSON) as service "svc-json" and
# with exporter-metrics-otlp-proto (protobuf) as "svc-proto". Both exports
# must succeed, store the same series (label sets equal once `job` is
# mapped) with the same values, and those values must be the ones recorded
# (counter 40/2, up-down -3, histogram buckets 1/3/4/5 sum 115, gauge 21.5
# with a quoted label value). A malformed JSON body gets 400 with a JSON
# google.rpc.Status naming the byte; nothing of it is stored.
. "$(dirname "$0")/lib.sh"

NODE_DIR="$SRC/tests/clients-node"
[ -d "$NODE_DIR/node_modules/@opentelemetry/sdk-metrics" ] ||
    fail "npm packages missing in $NODE_DIR (scripts/deps.sh test runs npm ci there)"

tide_start "$WORK/data" - --retention 0

for enc in json proto; do
    node "$NODE_DIR/otel_send.mjs" "$TIDE_URL/v1/metrics" "$enc" "svc-$enc" >"$WORK/otel-$enc.log" 2>&1 ||
        fail "the OTel SDK export ($enc) failed: $(cat "$WORK/otel-$enc.log")"
done
log "both encodings exported"

curl -fsS -G --data-urlencode 'match[]={job=~"svc-.*"}' "$TIDE_URL/api/v1/export" >"$WORK/export.jsonl"
python3 - "$WORK/export.jsonl" <<'PY' || fail "the two encodings stored different series or values"
import json, sys
by = {"svc-json": {}, "svc-proto": {}}
for line in open(sys.argv[1]):
    s = json.loads(line)
    m = dict(s["metric"])
    job = m.pop("job")
    m.pop("otel_scope_version", None)
    by[job][tuple(sorted(m.items()))] = s["values"][-1]
j, p = by["svc-json"], by["svc-proto"]
if not j:
    sys.exit("nothing stored from the JSON export")
if set(j) != set(p):
    print("only json:", sorted(set(j) - set(p)))
    print("only proto:", sorted(set(p) - set(j)))
    sys.exit(1)
for k in j:
    if j[k] != p[k]:
        sys.exit(f"{k}: json {j[k]} proto {p[k]}")
def val(name, **lab):
    hits = [v for k, v in j.items() if dict(k).get("__name__") == name and all(dict(k).get(a) == b for a, b in lab.items())]
    if len(hits) != 1:
        sys.exit(f"{name} {lab}: {len(hits)} series, want 1; have {sorted(j)}")
    return hits[0]
want = [
    (("http_server_requests_total",), {"code": "200"}, 40),
    (("http_server_requests_total",), {"code": "500"}, 2),
    (("process_cpu_time_seconds_total",), {}, 12.25),
    (("queue_length",), {}, -3),
    (("http_server_duration_milliseconds_bucket",), {"le": "5"}, 1),
    (("http_server_duration_milliseconds_bucket",), {"le": "10"}, 3),
    (("http_server_duration_milliseconds_bucket",), {"le": "50"}, 4),
    (("http_server_duration_milliseconds_bucket",), {"le": "+Inf"}, 5),
    (("http_server_duration_milliseconds_sum",), {}, 115),
    (("http_server_duration_milliseconds_count",), {}, 5),
    (("room_temperature_celsius",), {"room": 'kitchen "main"'}, 21.5),
]
for (name,), lab, v in want:
    got = val(name, **lab)
    if got != v:
        sys.exit(f"{name} {lab}: got {got}, want {v}")
ti = [k for k in j if dict(k).get("__name__") == "target_info"]
if len(ti) != 1 or dict(ti[0]).get("deployment_environment") != "test" or dict(ti[0]).get("instance") != "node-1":
    sys.exit(f"target_info: {ti}")
PY
log "same series and values from both encodings"

# A malformed JSON body: 400, a JSON Status with the byte offset, nothing stored.
req POST /v1/metrics -H 'Content-Type: application/json' \
    --data-binary '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"bad.one","gauge":{"dataPoints":[{"asDouble":1,"timeUnixNano":"1700000000000000000"}]}}]}]}]} oops'
assert_code 400
json_ok 'j["code"] == 3 and "otlp json: byte" in j["message"] and "after the request object" in j["message"]'
req GET '/api/v1/series?match[]=bad_one'
json_ok 'j["data"] == []'
# An integer too large for the field, in a string: refused, named.
req POST /v1/metrics -H 'Content-Type: application/json' \
    --data-binary '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"bad.two","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{"asInt":"99999999999999999999","timeUnixNano":"1700000000000000000"}]}}]}]}]}'
assert_code 400
json_ok '"integer out of range" in j["message"]'
log "malformed JSON refused with its position"
