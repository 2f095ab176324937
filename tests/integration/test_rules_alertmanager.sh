#!/usr/bin/env bash
# test_rules_alertmanager.sh: Tide's notifier against Debian's
# prometheus-alertmanager (0.25) on 127.0.0.1, clustering off, routing to a
# webhook receiver this test runs (webhook_sink.py):
#   - a firing alert reaches the receiver through Alertmanager with its
#     labels (external labels added), annotations and generatorURL;
#   - its resolution arrives as "resolved";
#   - Alertmanager killed for 30 s (the issue's outage), an alert fires
#     meanwhile, Alertmanager back on the same port: the alert still arrives
#     (Tide's retry queue);
#   - the plain JSON webhook target gets Alertmanager's webhook payload;
#   - tls_config, against an HTTPS receiver (webhook_sink.py in ssl) with a
#     certificate made here for the name am.test only: ca_file + server_name
#     delivers; ca_file alone (name mismatch) and the system store (unknown
#     CA) are refused, with curl's reason as lastError in
#     /api/v1/alertmanagers; insecure_skip_verify delivers;
#   - file_sd_configs + relabel_configs: a file written during the run adds
#     an Alertmanager (the plain sink under /sd) and a dropped one
#     (droppedAlertmanagers); a new alert reaches the discovered one; the
#     file rewritten (its target now dropped too) is read again.
# The outage's 30 s are not idle: the TLS checks run while Alertmanager is
# down, so the test only waits for what is left of the 30 s.
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

# The HTTPS receiver: a self-signed certificate for am.test (not for
# 127.0.0.1), which is also the CA the verified target trusts.
mkdir -p "$WORK/conf/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=am.test -addext subjectAltName=DNS:am.test \
    -keyout "$WORK/conf/tls/am.key" -out "$WORK/conf/tls/ca.crt" >"$WORK/openssl.log" 2>&1 ||
    fail "openssl req: $(cat "$WORK/openssl.log")"
TLS_PORT=
for _ in 1 2 3 4 5; do
    port=$(free_port)
    python3 "$HERE/webhook_sink.py" "$port" "$WORK/tls.jsonl" "$WORK/conf/tls/ca.crt" \
        "$WORK/conf/tls/am.key" >"$WORK/tls-sink.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 1 50); do
        curl -fsSk -o /dev/null "https://127.0.0.1:$port/" 2>/dev/null && TLS_PORT=$port && break 2
        kill -0 "$!" 2>/dev/null || break
        sleep 0.1
    done
done
[ -n "$TLS_PORT" ] || fail "https sink did not start: $(cat "$WORK/tls-sink.log")"

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
    - scheme: https                  # verified: the test's CA, the certificate's name
      path_prefix: /verified
      static_configs: [{targets: ["127.0.0.1:$TLS_PORT"]}]
      timeout: 2s
      follow_redirects: true
      enable_http2: false
      tls_config: {ca_file: tls/ca.crt, server_name: am.test, min_version: TLS12}
    - scheme: https                  # refused: the certificate is not for 127.0.0.1
      path_prefix: /wrongname
      static_configs: [{targets: ["127.0.0.1:$TLS_PORT"]}]
      timeout: 2s
      tls_config: {ca_file: tls/ca.crt}
    - scheme: https                  # refused: the system store does not know the CA
      path_prefix: /unknownca
      static_configs: [{targets: ["127.0.0.1:$TLS_PORT"]}]
      timeout: 2s
    - file_sd_configs: [{files: [am-sd/*.yml], refresh_interval: 1m}]
      path_prefix: /sd
      timeout: 2s
      relabel_configs:
        - {source_labels: [role], regex: skip, action: drop}
  webhooks:
    - url: http://127.0.0.1:$DIRECT_PORT/direct
    - url: https://127.0.0.1:$TLS_PORT/insecure
      timeout: 2s
      tls_config: {insecure_skip_verify: true}
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

# Alertmanager down for 30 s while an alert fires, then back on the same
# port. The TLS checks run meanwhile.
tide_kill "$AM_PID"
OUTAGE_START=$(date +%s)
req POST /write --data-binary 'up,instance=h2 value=0'
assert_code 204

wait_sink "$WORK/tls.jsonl" 20 'p == "/verified/api/v2/alerts" and any(a["labels"].get("instance") == "h1" for a in b)'
wait_sink "$WORK/tls.jsonl" 20 'p == "/insecure" and b["version"] == "4"'
log "https: ca_file + server_name and insecure_skip_verify deliver"
# check_am PYEXPR: /api/v1/alertmanagers (`d`, its data; `am(prefix)`, the
# active entry whose URL has that path prefix) satisfies PYEXPR, polled 20 s.
check_am() {
    local until=$(($(date +%s) + 20))
    while [ "$(date +%s)" -le "$until" ]; do
        req GET /api/v1/alertmanagers
        python3 -c '
import json, sys
d = json.loads(sys.stdin.read())["data"]
def am(prefix):
    return [a for a in d["activeAlertmanagers"] if "/" + prefix + "/api/v2/alerts" in a["url"]][0]
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" <<<"$BODY" 2>/dev/null && return 0
        sleep 0.2
    done
    fail "/api/v1/alertmanagers never satisfied: $1; got: $BODY"
}
check_am 'len(d["activeAlertmanagers"]) == 4 and d["droppedAlertmanagers"] == [] and am("verified")["lastError"] == "" and am("verified")["sent"] > 0 and d["webhooks"][1]["url"].endswith("/insecure") and d["webhooks"][1]["sent"] > 0'
check_am '"127.0.0.1" in am("wrongname")["lastError"] and "certificate" in am("wrongname")["lastError"] and am("wrongname")["sent"] == 0 and am("wrongname")["queueLength"] > 0'
check_am '"certificate" in am("unknownca")["lastError"] and am("unknownca")["sent"] == 0 and am("unknownca")["errors"] > 0'
grep -q '"/wrongname\|"/unknownca' "$WORK/tls.jsonl" && fail "an unverified https target got alerts"
log "https: name mismatch and unknown CA refused: $(python3 -c 'import json,sys; print([a["lastError"] for a in json.load(sys.stdin)["data"]["activeAlertmanagers"][2:]])' <<<"$BODY")"

# Discovery: a file_sd file appears, then changes.
mkdir -p "$WORK/conf/am-sd"
sd_write() { printf '%s\n' "$1" >"$WORK/conf/am-sd/.tmp" && mv "$WORK/conf/am-sd/.tmp" "$WORK/conf/am-sd/a.yml"; }
sd_write '[{targets: ["127.0.0.1:'"$DIRECT_PORT"'"], labels: {role: main}}, {targets: ["127.0.0.1:1"], labels: {role: skip}}]'
check_am 'am("sd")["url"] == "http://127.0.0.1:'"$DIRECT_PORT"'/sd/api/v2/alerts" and len(d["activeAlertmanagers"]) == 5 and d["droppedAlertmanagers"] == [{"url": "http://127.0.0.1:1/sd/api/v2/alerts"}]'
req POST /write --data-binary 'up,instance=h3 value=0'
assert_code 204
wait_sink "$WORK/direct.jsonl" 20 'p == "/sd/api/v2/alerts" and any(a["labels"].get("instance") == "h3" for a in b)'
sd_write '[{targets: ["127.0.0.1:'"$DIRECT_PORT"'", "127.0.0.1:1"], labels: {role: skip}}]'
check_am 'len(d["activeAlertmanagers"]) == 4 and len(d["droppedAlertmanagers"]) == 2'
log "file_sd_configs: discovered, relabel-dropped, sent to, re-read on change"

req GET /metrics
python3 -c 'import re,sys; m=re.findall(r"tide_notifications_errors_total\{alertmanager=\"http://127.0.0.1:'"$AM_PORT"'/api/v2/alerts\"\} (\S+)", sys.stdin.read()); sys.exit(0 if m and float(m[0]) > 0 else 1)' <<<"$BODY" ||
    fail "no failed sends counted while alertmanager was down: $(grep notifications <<<"$BODY")"
left=$((OUTAGE_START + 30 - $(date +%s)))
log "alertmanager down; ${left}s of the 30 s outage left to wait"
[ "$left" -gt 0 ] && sleep "$left"
grep -q '"h2"' "$WORK/sink.jsonl" && fail "h2 arrived while alertmanager was down?"
am_start "$AM_PORT"
wait_sink "$WORK/sink.jsonl" 60 'b["status"] == "firing" and any(a["labels"].get("instance") == "h2" for a in b["alerts"])'
log "ok: the alert fired during the 30 s outage arrived after it"
