#!/usr/bin/env bash
# test_targets_api.sh: GET /api/v1/targets shows the targets manager in
# Prometheus' shape: with the local host collector on, each host group is an
# active target that turns "up" after its first collection, with job,
# instance, lastScrape, lastScrapeDuration and intervals filled in; the
# state and scrapePool filters select; and a `targets:` entry that is wrong
# stops `tide serve` at start with exit status 2 and file:line:col.
. "$(dirname "$0")/lib.sh"

tide_start "$WORK/data" - --collect-host true --collect-interval 1s

ok=0
for i in $(seq 1 100); do
    req GET '/api/v1/targets'
    if printf '%s' "$BODY" | "${JSONTOOL[@]}" check \
        'any(t["labels"]["instance"] == "host/cpu" and t["health"] == "up" for t in j["data"]["activeTargets"])'; then
        ok=1; break
    fi
    sleep 0.1
done
[ $ok -eq 1 ] || fail "host/cpu not up within 10 s: $BODY"
assert_code 200

# Every field of a collected target, in Prometheus' types.
printf '%s' "$BODY" | "${JSONTOOL[@]}" check '(
j["status"] == "success" and j["data"]["droppedTargets"] == [] and
[t for t in j["data"]["activeTargets"] if t["labels"]["instance"] == "host/cpu"][0] == {
  **[t for t in j["data"]["activeTargets"] if t["labels"]["instance"] == "host/cpu"][0],
  "labels": {"job": "host", "instance": "host/cpu"},
  "scrapePool": "host", "scrapeUrl": "host://host/cpu?module=cpu",
  "globalUrl": "host://host/cpu?module=cpu", "lastError": "", "health": "up",
  "scrapeInterval": "1s", "scrapeTimeout": "1s"})' ||
    fail "host/cpu target fields: $BODY"
printf '%s' "$BODY" | python3 -c '
import json, sys, datetime
j = json.load(sys.stdin)
t = [t for t in j["data"]["activeTargets"] if t["labels"]["instance"] == "host/cpu"][0]
when = datetime.datetime.fromisoformat(t["lastScrape"].replace("Z", "+00:00"))
age = (datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()
assert -60 < age < 600, ("lastScrape", t["lastScrape"])
assert isinstance(t["lastScrapeDuration"], float) and 0 <= t["lastScrapeDuration"] < 60, t
d = t["discoveredLabels"]
assert d["__address__"] == "host/cpu" and d["job"] == "host" and d["__tide_module__"] == "cpu", d
groups = sorted(t["labels"]["instance"] for t in j["data"]["activeTargets"])
assert "host/mem" in groups and "host/net" in groups, groups
' || fail "host/cpu target lastScrape/duration/discoveredLabels: $BODY"

# Filters: dropped only (none: every host group is enabled), a kind with none.
req GET '/api/v1/targets?state=dropped'
assert_code 200
printf '%s' "$BODY" | "${JSONTOOL[@]}" check \
    'j["data"] == {"activeTargets": [], "droppedTargets": []}' || fail "state=dropped: $BODY"
req GET '/api/v1/targets?state=active'
printf '%s' "$BODY" | "${JSONTOOL[@]}" check \
    'len(j["data"]["activeTargets"]) >= 3 and j["data"]["droppedTargets"] == []' ||
    fail "state=active: $BODY"
req GET '/api/v1/targets?scrapePool=agent'
printf '%s' "$BODY" | "${JSONTOOL[@]}" check 'j["data"]["activeTargets"] == []' ||
    fail "scrapePool=agent: $BODY"
tide_stop "$TIDE_PID"
log "host targets listed up with Prometheus' fields"

# A bad `targets:` entry: exit status 2, "file:line:col: message".
bad_config() {
    local want=$1 conf="$WORK/bad.yml" out="$WORK/bad.log" rc=0
    cat >"$conf"
    timeout 60 "$TIDE" serve --config "$conf" --data "$WORK/bad-data" --listen 127.0.0.1:0 \
        >"$out" 2>&1 || rc=$?
    [ "$rc" -eq 2 ] || fail "bad targets config: exit $rc, want 2; $(cat "$out")"
    grep -qF "$conf:$want" "$out" || fail "bad targets config: want \"$conf:$want\" in: $(cat "$out")"
}
bad_config '3:11: unknown kind "snmp9"' <<'YML'
fsync_interval: 1s
targets:
  - kind: snmp9
    address: 192.0.2.1:161
YML
bad_config '4:15: interval' <<'YML'
targets:
  - kind: snmp
    address: 192.0.2.1:161
    interval: 5x
YML
bad_config '2:11: kind "host" cannot be configured here' <<'YML'
targets:
  - kind: host
    module: cpu
YML
bad_config '2:5: targets: missing key "kind"' <<'YML'
targets:
  - address: 192.0.2.2
YML
log "bad targets: entries refused with exit 2 and file:line:col"
log "PASS"
