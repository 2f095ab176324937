#!/usr/bin/env bash
# test_rules_alertmanager.sh: Tide's notifier against Debian's
# prometheus-alertmanager (0.25) on 127.0.0.1, clustering off, routing to a
# webhook receiver this test runs (webhook_sink.py):
#   - a firing alert reaches the receiver through Alertmanager with its
#     labels (external labels added), annotations and generatorURL;
#   - its resolution arrives as "resolved";
#   - Alertmanager killed, an alert fires meanwhile, Alertmanager back on the
#     same port: the alert still arrives (Tide's retry queue);
#   - the plain JSON webhook target gets Alertmanager's webhook payload.
. "$(dirname "$0")/lib.sh"

AM=$(command -v prometheus-alertmanager || command -v alertmanager || true)
[ -n "$AM" ] || fail "prometheus-alertmanager not installed (scripts/deps.sh test installs it)"

# The receivers.
spawn_ready sink / 100 python3 "$HERE/webhook_sink.py" @PORT@ "$WORK/sink.jsonl" ||
    fail "webhook sink did not start"
SINK_PORT=$SPAWN_PORT
spawn_ready direct / 100 python3 "$HERE/webhook_sink.py" @PORT@ "$WORK/direct.jsonl" ||
    fail "direct webhook sink did not start"
DIRECT_PORT=$SPAWN_PORT

cat >"$WORK/am.yml" <<YML
route:
  receiver: sink
  group_by: [alertname, instance]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:$SINK_PORT/am
        send_resolved: true
YML
am_start() { # am_start PORT
    "$AM" --config.file="$WORK/am.yml" --storage.path="$WORK/am-data" \
        --web.listen-address="127.0.0.1:$1" --cluster.listen-address= \
        --log.level=warn >>"$WORK/alertmanager.log" 2>&1 &
    AM_PID=$!
    PIDS+=("$AM_PID")
    for _ in $(seq 1 300); do
        curl -fsS -o /dev/null "http://127.0.0.1:$1/-/ready" 2>/dev/null && return 0
        kill -0 "$AM_PID" 2>/dev/null || break
        sleep 0.1
    done
    fail "alertmanager did not start on port $1"
}
AM_PORT=$(free_port)
am_start "$AM_PORT"
log "alertmanager on 127.0.0.1:$AM_PORT, sink on $SINK_PORT"

mkdir -p "$WORK/conf"
cat >"$WORK/conf/tide.yml" <<YML
rule_files: [rules.yml]
global:
  evaluation_interval: 1s
  external_labels: {cluster: am-test}
external_url: http://tide.test:9470
alerting:
  alertmanagers:
    - static_configs: [{targets: ["127.0.0.1:$AM_PORT"]}]
      timeout: 2s
  webhooks:
    - url: http://127.0.0.1:$DIRECT_PORT/direct
YML
cat >"$WORK/conf/rules.yml" <<'YML'
groups:
  - name: am
    rules:
      - alert: Down
        expr: up == 0
        labels: {severity: page}
        annotations: {summary: "{{ $labels.instance }} is down"}
YML
tide_start "$WORK/data" - --config "$WORK/conf/tide.yml"

# wait_sink FILE SECONDS PYEXPR: until some received body satisfies PYEXPR
# (bound to `b`, the JSON body; `p`, the path).
wait_sink() {
    local file=$1 secs=$2 expr=$3
    for _ in $(seq 1 $((secs * 5))); do
        if [ -e "$file" ] && python3 -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line); b = d["body"]; p = d["path"]
    if eval(sys.argv[2]):
        sys.exit(0)
sys.exit(1)' "$file" "$expr"; then
            return 0
        fi
        sleep 0.2
    done
    fail "after ${secs}s no body in $file satisfies: $expr; got: $(cat "$file" 2>/dev/null | tail -c 3000)"
}

req POST /write --data-binary 'up,instance=h1 value=0'
assert_code 204
FIRING='b["status"] == "firing" and any(a["labels"].get("instance") == "h1" and a["labels"]["alertname"] == "Down" and a["labels"]["cluster"] == "am-test" and a["labels"]["severity"] == "page" and a["annotations"]["summary"] == "h1 is down" and a["generatorURL"].startswith("http://tide.test:9470/graph?g0.expr=up+%3D%3D+0") for a in b["alerts"])'
wait_sink "$WORK/sink.jsonl" 30 "$FIRING"
log "firing alert arrived through alertmanager"
wait_sink "$WORK/direct.jsonl" 10 'p == "/direct" and b["version"] == "4" and '"${FIRING#b\[\"status\"\] == \"firing\" and }"
log "firing alert arrived at the plain webhook"

req POST /write --data-binary 'up,instance=h1 value=1'
assert_code 204
wait_sink "$WORK/sink.jsonl" 30 'b["status"] == "resolved" and any(a["labels"].get("instance") == "h1" and a["status"] == "resolved" for a in b["alerts"])'
log "resolution arrived"

# Alertmanager down while an alert fires, then back on the same port.
tide_kill "$AM_PID"
req POST /write --data-binary 'up,instance=h2 value=0'
assert_code 204
sleep 5
req GET /metrics
python3 -c 'import re,sys; m=re.findall(r"tide_notifications_errors_total\{alertmanager=\"[^\"]*api/v2/alerts\"\} (\S+)", sys.stdin.read()); sys.exit(0 if m and float(m[0]) > 0 else 1)' <<<"$BODY" ||
    fail "no failed sends counted while alertmanager was down: $(grep notifications <<<"$BODY")"
grep -q '"h2"' "$WORK/sink.jsonl" && fail "h2 arrived while alertmanager was down?"
am_start "$AM_PORT"
wait_sink "$WORK/sink.jsonl" 60 'b["status"] == "firing" and any(a["labels"].get("instance") == "h2" for a in b["alerts"])'
log "ok: the alert fired during the outage arrived after it"
