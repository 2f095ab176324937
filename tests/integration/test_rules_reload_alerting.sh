#!/usr/bin/env bash
# test_rules_reload_alerting.sh: a reload (SIGHUP, POST /-/reload) applies
# the whole rules part of the config, not only rule_files: a running
# server notifying webhook A with external label site=a is changed to
# webhook B with site=b and a new evaluation_interval; after SIGHUP the
# alert arrives at B labelled site=b and A hears nothing more. A config
# that no longer parses is refused (500 with file:line:col) and B keeps
# receiving. A server started without any alerting target gets one by a
# reload. The new config's alert_relabel_configs drop the severity=debug
# alert and add team=ops to the rest.
. "$(dirname "$0")/lib.sh"

spawn_ready a / 100 python3 "$HERE/webhook_sink.py" @PORT@ "$WORK/a.jsonl" || fail "sink a did not start"
A_PORT=$SPAWN_PORT
spawn_ready b / 100 python3 "$HERE/webhook_sink.py" @PORT@ "$WORK/b.jsonl" || fail "sink b did not start"
B_PORT=$SPAWN_PORT

mkdir -p "$WORK/conf"
cat >"$WORK/conf/rules.yml" <<'YML'
groups:
  - name: always
    rules:
      - alert: Always
        expr: vector(1)
        labels: {severity: info}
      - alert: Noise
        expr: vector(2)
        labels: {severity: debug}
YML
conf() { # conf SITE PORT INTERVAL [RELABEL_YAML]
    cat >"$WORK/conf/tide.yml" <<YML
rule_files: [rules.yml]
global:
  evaluation_interval: $3
  external_labels: {site: $1}
alerting:
  resend_delay: 1s
  webhooks:
    - url: http://127.0.0.1:$2/hook
${4:-}
YML
}
conf a "$A_PORT" 1s
tide_start "$WORK/data" - --config "$WORK/conf/tide.yml"
# A reload at once, before the groups' first for-state restore (two
# evaluations in): ALERTS must still be written after it.
req POST /-/reload
assert_code 200

wait_sink() { # FILE SECONDS PYEXPR (b = body)
    local file=$1 secs=$2 expr=$3
    for _ in $(seq 1 $((secs * 5))); do
        if [ -e "$file" ] && python3 -c '
import json, sys
for line in open(sys.argv[1]):
    b = json.loads(line)["body"]
    if eval(sys.argv[2]):
        sys.exit(0)
sys.exit(1)' "$file" "$expr"; then
            return 0
        fi
        sleep 0.2
    done
    fail "after ${secs}s no body in $file satisfies: $expr; got: $(tail -c 2000 "$file" 2>/dev/null)"
}
SITE_IS() { echo "any(a[\"labels\"][\"alertname\"] == \"Always\" and a[\"labels\"].get(\"site\") == \"$1\" for a in b[\"alerts\"])"; }

wait_sink "$WORK/a.jsonl" 20 "$(SITE_IS a)"
for _ in $(seq 1 50); do
    req GET '/api/v1/series?match[]=ALERTS'
    json_ok 'True'
    python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["data"] else 1)' "$BODY" && break
    sleep 0.2
done
json_ok 'any(s["alertname"] == "Always" and s["alertstate"] == "firing" for s in j["data"])'
log "site=a alerts at webhook a; ALERTS written after an early reload"

wait_sink "$WORK/a.jsonl" 20 'any(a["labels"]["alertname"] == "Noise" for a in b["alerts"])'
conf b "$B_PORT" 2s '  alert_relabel_configs:
    - {source_labels: [severity], regex: debug, action: drop}
    - {target_label: team, replacement: ops}'
kill -HUP "$TIDE_PID"
wait_sink "$WORK/b.jsonl" 20 "$(SITE_IS b)"
wait_sink "$WORK/b.jsonl" 5 'any(a["labels"].get("team") == "ops" for a in b["alerts"])'

N_A=$(wc -l <"$WORK/a.jsonl")
sleep 3
assert_eq "posts to webhook a after the reload" "$N_A" "$(wc -l <"$WORK/a.jsonl")"
req GET /api/v1/rules
json_ok 'j["data"]["groups"][0]["interval"] == 2'
if grep -q '"Noise"' "$WORK/b.jsonl"; then fail "alert_relabel_configs did not drop the debug alert"; fi
req GET /metrics
assert_contains "relabel drops counted" "tide_notifications_alert_relabel_dropped_total " "$BODY"
log "after SIGHUP: webhook b, site=b, interval 2s, alert_relabel_configs applied; webhook a hears nothing more"

printf 'alerting: [broken\n' >"$WORK/conf/tide.yml"
req POST /-/reload
assert_code 500
assert_contains "refusal names the place" "tide.yml:" "$BODY"
N_B=$(wc -l <"$WORK/b.jsonl")
for _ in $(seq 1 50); do [ "$(wc -l <"$WORK/b.jsonl")" -gt "$N_B" ] && break; sleep 0.2; done
[ "$(wc -l <"$WORK/b.jsonl")" -gt "$N_B" ] || fail "webhook b stopped receiving after a refused reload"
log "a broken config is refused; the running alerting goes on"

# A server with no alerting target at all gets one by a reload.
cat >"$WORK/conf/tide.yml" <<YML
rule_files: [rules.yml]
global: {evaluation_interval: 1s}
YML
tide_stop "$TIDE_PID"
: >"$WORK/a.jsonl"
tide_start "$WORK/data2" - --config "$WORK/conf/tide.yml"
conf c "$A_PORT" 1s
req POST /-/reload
assert_code 200
wait_sink "$WORK/a.jsonl" 20 "$(SITE_IS c)"
log "a target added by reload to a server started without one"
