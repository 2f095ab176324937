#!/usr/bin/env bash
# test_rules_eval.sh: rule evaluation in a running `tide serve`:
#   - a recording rule's output is queryable through /api/v1/query, with the
#     rule's labels, and listed by /api/v1/rules?type=record;
#   - an alert goes pending -> firing -> resolved, with ALERTS{alertstate}
#     and ALERTS_FOR_STATE series, its templates expanded, in /api/v1/alerts;
#   - a restart while an alert is pending keeps its `for` clock (restored
#     from ALERTS_FOR_STATE, Prometheus' shift by the down time);
#   - POST /-/reload refuses a broken file with file:line and keeps the old
#     rules and their alert state; a good change is taken;
#   - the tide_rule_* self-metrics.
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/conf/rules"
cat >"$WORK/conf/tide.yml" <<'YML'
rule_files: [rules/*.yml]
global:
  evaluation_interval: 1s
  external_labels: {cluster: it}
external_url: http://tide.test:9470
alerting:
  for_grace_period: 1s
YML
cat >"$WORK/conf/rules/main.yml" <<'YML'
groups:
  - name: main
    rules:
      - record: job:temp:max
        expr: max by (job) (temp)
        labels: {rollup: "yes"}
      - alert: Hot
        expr: temp > 50
        for: 6s
        labels: {severity: "{{ if gt $value 80.0 }}page{{ else }}ticket{{ end }}"}
        annotations:
          summary: "{{ $labels.instance }} at {{ $value | humanize }} in {{ $externalLabels.cluster }}"
  - name: slow
    rules:
      - alert: Pending
        expr: load > 1
        for: 1h
YML

now_s() { date +%s; }
write() { # write LINES: Influx line protocol at the current time
    req POST /write --data-binary "$1"
    assert_code 204
}
q() { python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }

tide_start "$WORK/data" - --config "$WORK/conf/tide.yml"
log "tide on $TIDE_URL"
write 'temp,job=a,instance=h1 value=90
temp,job=a,instance=h2 value=40
load,instance=h1 value=5'

# Recording rule.
poll 30 "/api/v1/query?query=$(q 'job:temp:max')" \
    'len(j["data"]["result"]) == 1 and j["data"]["result"][0]["metric"] == {"__name__": "job:temp:max", "job": "a", "rollup": "yes"} and j["data"]["result"][0]["value"][1] == "90"'
req GET "/api/v1/rules?type=record"
json_ok '[r["name"] for g in j["data"]["groups"] for r in g["rules"]] == ["job:temp:max"] and j["data"]["groups"][0]["rules"][0]["health"] == "ok"'

# Alert: firing after 6s; its history shows ALERTS pending first (they are
# written once the for state was restored, after the second evaluation),
# then firing. Checked on the stored series, so a slow machine cannot miss
# the pending phase.
t_begin=$(now_s)
poll 60 "/api/v1/query?query=$(q 'ALERTS{alertname="Hot",alertstate="firing"}')" \
    'len(j["data"]["result"]) == 1 and j["data"]["result"][0]["metric"]["severity"] == "page" and j["data"]["result"][0]["metric"]["instance"] == "h1"'
# end one second on: the firing sample the poll saw may lie after the whole
# second now_s gives.
req GET "/api/v1/query_range?query=$(q 'ALERTS{alertname="Hot"}')&start=$((t_begin - 5))&end=$(($(now_s) + 1))&step=1"
json_ok '(lambda r: len(r) == 2 and max(float(v[0]) for v in r["pending"]) < min(float(v[0]) for v in r["firing"]))({s["metric"]["alertstate"]: s["values"] for s in j["data"]["result"]})'
req GET /api/v1/alerts
json_ok '[(a["state"], a["annotations"]["summary"], a["value"]) for a in j["data"]["alerts"] if a["labels"]["alertname"] == "Hot"] == [("firing", "h1 at 90 in it", "9e+01")]'
req GET "/api/v1/query?query=$(q 'ALERTS_FOR_STATE{alertname="Hot"}')"
json_ok 'len(j["data"]["result"]) == 1 and abs(float(j["data"]["result"][0]["value"][1]) - '"$(now_s)"') < 30'
req GET "/api/v1/rules?type=alert"
json_ok '{r["name"]: r["state"] for g in j["data"]["groups"] for r in g["rules"]} == {"Hot": "firing", "Pending": "pending"} and [r["duration"] for g in j["data"]["groups"] for r in g["rules"]] == [6, 3600]'

# Resolution: the condition clears, the alert resolves, ALERTS goes stale.
write 'temp,job=a,instance=h1 value=10'
poll 30 /api/v1/alerts '[a for a in j["data"]["alerts"] if a["labels"]["alertname"] == "Hot"] == []'
poll 30 "/api/v1/query?query=$(q 'ALERTS{alertname="Hot"}')" 'j["data"]["result"] == []'

# Reload: a broken file is refused with file:line, the old rules go on.
active_before=$(curl -fsS "$TIDE_URL/api/v1/alerts" | python3 -c 'import json,sys; print([a["activeAt"] for a in json.load(sys.stdin)["data"]["alerts"] if a["labels"]["alertname"]=="Pending"][0])')
cp "$WORK/conf/rules/main.yml" "$WORK/main.yml.good"
printf '      - record: "bad name"\n        expr: up\n' >>"$WORK/conf/rules/main.yml"
req POST /-/reload
assert_code 500
assert_contains "reload error" "conf/rules/main.yml:18:17: invalid recording rule name" "$BODY"
req GET /api/v1/rules
json_ok 'len(j["data"]["groups"]) == 2'
# A good change: one more recording rule; Pending keeps its active time.
cp "$WORK/main.yml.good" "$WORK/conf/rules/main.yml"
printf '      - record: job:temp:min\n        expr: min by (job) (temp)\n' >>"$WORK/conf/rules/main.yml"
kill -HUP "$TIDE_PID"
poll 30 "/api/v1/query?query=$(q 'job:temp:min')" 'len(j["data"]["result"]) == 1'
req GET /api/v1/alerts
json_ok '[a["activeAt"] for a in j["data"]["alerts"] if a["labels"]["alertname"] == "Pending"] == ["'"$active_before"'"]'

# Self-metrics.
req GET /metrics
assert_contains "metrics" 'tide_rule_group_rules{rule_group="'"$WORK"'/conf/rules/main.yml;main"} 2' "$BODY"
assert_contains "metrics" "tide_rule_group_iterations_total" "$BODY"
assert_contains "metrics" "tide_rule_group_iterations_missed_total" "$BODY"
assert_contains "metrics" "tide_rule_evaluation_failures_total" "$BODY"
assert_contains "metrics" "tide_rule_group_last_evaluation_timestamp_seconds" "$BODY"

# Restart while pending: "Pending" (for 1h) has been pending a while; after a
# restart its active time moves by the down time only, so the time already
# spent pending is kept (without the restore it would start over).
sleep 4
write 'load,instance=h1 value=5'
active=$(curl -fsS "$TIDE_URL/api/v1/alerts" | python3 -c 'import json,sys; print([a["activeAt"] for a in json.load(sys.stdin)["data"]["alerts"] if a["labels"]["alertname"]=="Pending"][0])')
epoch() { python3 -c 'import sys,datetime; print(datetime.datetime.fromisoformat(sys.argv[1].replace("Z","+00:00")).timestamp())' "$1"; }
stop_at=$(now_s)
pending_for=$(python3 -c "print($stop_at - $(epoch "$active"))")
log "Pending active since $active, pending ${pending_for}s at the stop"
tide_stop "$TIDE_PID"
sleep 2
restart_at=$(now_s)
tide_start "$WORK/data" - --config "$WORK/conf/tide.yml"
poll 60 /api/v1/alerts '[a for a in j["data"]["alerts"] if a["labels"]["alertname"] == "Pending" and __import__("datetime").datetime.fromisoformat(a["activeAt"].replace("Z","+00:00")).timestamp() < '"$restart_at"' - '"$pending_for"' / 2]'
log "ok"
