#!/usr/bin/env bash
# test_metadata.sh: /api/v1/metadata serves what the senders said about each
# metric family (issue 16 item 5). Text exposition on /api/v1/import/prometheus
# (# TYPE, # HELP, # UNIT) and an OTLP request (kind, description, unit,
# hand-encoded here) fill it; the `metric` and `limit` parameters select;
# the store survives a restart (DATA/metadata.tsv). Remote write's
# MetricMetadata is checked with a real Prometheus in
# test_prometheus_remote_write.sh.
. "$(dirname "$0")/lib.sh"

tide_start "$WORK/data" -

req GET /api/v1/metadata
assert_code 200
json_ok 'j == {"status": "success", "data": {}}'

cat >"$WORK/in.prom" <<'P'
# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{code="200"} 1027
# TYPE request_duration_seconds histogram
# UNIT request_duration_seconds seconds
# HELP request_duration_seconds Latency, with a \\ backslash\nand a newline.
request_duration_seconds_bucket{le="+Inf"} 3
request_duration_seconds_sum 1.5
request_duration_seconds_count 3
# TYPE temperature gauge
temperature 21
P
req POST /api/v1/import/prometheus --data-binary @"$WORK/in.prom"
assert_code 204

python3 - "$HERE" "$WORK/otlp.bin" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[1])
from jsontool import field_bytes, field_varint, field_double, field_fixed64
t_ns = int(time.time()) * 10**9
dp = field_fixed64(3, t_ns) + field_double(4, 7.0)
m = (field_bytes(1, b"queue.depth") + field_bytes(2, b"Items waiting in the queue.") +
     field_bytes(3, b"{item}") + field_bytes(5, field_bytes(1, dp)))
c = (field_bytes(1, b"jobs.done") + field_bytes(2, b"Jobs finished.") +
     field_bytes(7, field_bytes(1, dp) + field_varint(2, 2) + field_varint(3, 1)))
rm = field_bytes(2, field_bytes(2, m) + field_bytes(2, c))
open(sys.argv[2], "wb").write(field_bytes(1, rm))
PY
req POST /v1/metrics -H 'Content-Type: application/x-protobuf' --data-binary @"$WORK/otlp.bin"
assert_code 200

check_all() {
    req GET /api/v1/metadata
    assert_code 200
    json_ok 'j["status"] == "success"'
    json_ok 'j["data"]["http_requests_total"] == [{"type": "counter", "help": "The total number of HTTP requests.", "unit": ""}]'
    json_ok 'j["data"]["request_duration_seconds"] == [{"type": "histogram", "help": "Latency, with a \\ backslash\nand a newline.", "unit": "seconds"}]'
    json_ok 'j["data"]["temperature"] == [{"type": "gauge", "help": "", "unit": ""}]'
    json_ok 'j["data"]["queue_depth"] == [{"type": "gauge", "help": "Items waiting in the queue.", "unit": "{item}"}]'
    json_ok 'j["data"]["jobs_done_total"] == [{"type": "counter", "help": "Jobs finished.", "unit": ""}]'
    json_ok 'len(j["data"]) == 5'
}
check_all
log "text exposition and OTLP metadata served"

req GET "/api/v1/metadata?metric=temperature"
json_ok 'list(j["data"]) == ["temperature"]'
req GET "/api/v1/metadata?metric=nope"
json_ok 'j["data"] == {}'
req GET "/api/v1/metadata?limit=2&limit_per_metric=1"
json_ok 'len(j["data"]) == 2'
req_bad_data GET "/api/v1/metadata?limit=x"

# A later sender changes the help; the type stays.
printf '# HELP temperature Degrees Celsius.\ntemperature 22\n' >"$WORK/in2.prom"
req POST /api/v1/import/prometheus --data-binary @"$WORK/in2.prom"
assert_code 204
req GET "/api/v1/metadata?metric=temperature"
json_ok 'j["data"]["temperature"] == [{"type": "gauge", "help": "Degrees Celsius.", "unit": ""}]'

# Restart: the store is read back from the data directory.
tide_stop "$TIDE_PID"
[ -s "$WORK/data/metadata.tsv" ] || fail "no metadata.tsv in the data directory"
tide_start "$WORK/data" -
req GET "/api/v1/metadata?metric=temperature"
json_ok 'j["data"]["temperature"] == [{"type": "gauge", "help": "Degrees Celsius.", "unit": ""}]'
req GET /api/v1/metadata
json_ok 'len(j["data"]) == 5'
log "ok"
