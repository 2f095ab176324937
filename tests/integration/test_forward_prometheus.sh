#!/usr/bin/env bash
# test_forward_prometheus.sh: `remote_write:` forwarding into Prometheus
# 2.42's remote-write receiver (--web.enable-remote-write-receiver), with
# a bearer token and an extra header as a prometheus.yml would give them,
# through an outage: samples 0..99 arrive; Prometheus stops for OUTAGE_S
# seconds (default 8) while 100..199 are written and Tide retries; it comes
# back on the same port and data directory; Tide delivers the backlog, and
# the raw samples Prometheus holds (fw_test[1h]) are every sample written,
# each exactly once. A receiver's permanent refusal (a 4xx) is counted in
# tide_remote_storage_samples_failed_total, not retried. A third endpoint
# (header_sink.py) shows the headers a receiver gets: the configured
# authorization and headers, snappy, protobuf, the remote-write version.
. "$(dirname "$0")/lib.sh"
. "$HERE/forward_lib.sh"

PROM=$(command -v prometheus || true)
[ -n "$PROM" ] || fail "prometheus is not installed (scripts/deps.sh test installs it)"
OUTAGE_S=${OUTAGE_S:-8}
printf 'global:\n  scrape_interval: 1m\n' >"$WORK/prometheus.yml"
prom_start --web.enable-remote-write-receiver
PROM_PORT=$SPAWN_PORT

cat >"$WORK/tide.yml" <<YML
remote_write:
  - url: $PROM_URL/api/v1/write
    name: prom
    authorization: {credentials: secret-token}
    headers: {X-Scope-OrgID: team-a}
    queue_config:
      max_samples_per_send: 40
      batch_send_deadline: 200ms
      min_backoff: 50ms
      max_backoff: 1s
  - url: $PROM_URL/api/v1/nowhere
    name: refused
    queue_config: {batch_send_deadline: 100ms}
  - url: http://127.0.0.1:@SINK@/receive
    name: sink
    authorization: {credentials_file: $WORK/token}
    headers: {X-Scope-OrgID: team-a}
    queue_config: {batch_send_deadline: 100ms}
YML
printf 'secret-token\n' >"$WORK/token"
spawn_ready sink / 100 python3 "$HERE/header_sink.py" @PORT@ "$WORK/sink.jsonl" ||
    fail "header_sink.py did not start"
sed -i "s/@SINK@/$SPAWN_PORT/" "$WORK/tide.yml"
tide_start "$WORK/data" - --config "$WORK/tide.yml"

prom_samples() { # every raw sample of fw_test, "series ts value" a line
    curl -fsS "$PROM_URL/api/v1/query" --data-urlencode 'query=fw_test[1h]' | python3 -c '
import json, sys
for r in json.load(sys.stdin)["data"]["result"]:
    for t, v in r["values"]:
        print(r["metric"]["s"], int(round(float(t) * 1000)), int(float(v)))'
}

write_range 0 99
wait_delivered 300
prom_samples >"$WORK/p1.txt"
check_once "$WORK/p1.txt" 100

tide_kill "$PROM_PID" # an outage as abrupt as it gets
write_range 100 149
sleep $((OUTAGE_S / 2))
write_range 150 199
sleep $((OUTAGE_S - OUTAGE_S / 2))
r=$(self_metric tide_remote_storage_samples_retried_total)
[ "${r%.*}" -gt 0 ] || fail "no retries counted during the outage"

# Back on the same port and data (the WAL keeps what it had).
"$PROM" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn --web.enable-remote-write-receiver \
    >>"$WORK/prometheus-again.log" 2>&1 &
PROM_PID=$!
PIDS+=("$PROM_PID")
for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$PROM_URL/-/ready" 2>/dev/null && break
    sleep 0.1
done
wait_delivered 600
prom_samples >"$WORK/p2.txt"
check_once "$WORK/p2.txt" 200

# The endpoint answering 404 got nothing, and said so once per send (its
# last sends may still be on their way when the good endpoint is done).
for _ in $(seq 1 100); do
    curl -fsS -o "$WORK/m.txt" "$TIDE_URL/metrics"
    failed=$(awk '/^tide_remote_storage_samples_failed_total\{remote_name="refused"/ {print $2}' "$WORK/m.txt")
    [ "${failed%.*}" = 600 ] && break
    sleep 0.1
done
assert_eq "samples refused for good by the 404 endpoint" 600 "${failed%.*}"
grep -q 'refused: remote write refused a record' "$TIDE_LOG" || fail "the refusal is not logged"
python3 - "$WORK/sink.jsonl" <<'PY' || fail "the sink did not get the configured headers"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert reqs, "no request"
for r in reqs:
    h = {k.lower(): v for k, v in r["headers"].items()}
    assert r["path"] == "/receive", r
    assert h.get("authorization") == "Bearer secret-token", h
    assert h.get("x-scope-orgid") == "team-a", h
    assert h.get("content-encoding") == "snappy" and h.get("content-type") == "application/x-protobuf", h
    assert h.get("x-prometheus-remote-write-version") == "0.1.0", h
print(len(reqs), "requests with the configured headers")
PY
tide_stop "$TIDE_PID"
log "ok"
