#!/usr/bin/env bash
# test_targets_reload.sh: POST /-/reload and SIGHUP re-read `targets:` and
# apply the diff by kind/name: a removed entry is removed, a changed one
# (interval) replaced, a new one added, an unchanged one kept, a target added
# through the API untouched; a broken entry refuses the whole reload with
# file:line:col and the old targets keep running.
. "$(dirname "$0")/lib.sh"

DEAD=$(free_port)
conf() {
    { echo "targets:"; cat; } >"$WORK/tide.yml"
}
conf <<YML
  - {kind: snmp, name: a, address: "127.0.0.1:$DEAD", interval: 5s, timeout: 100ms, retries: 0}
  - {kind: snmp, name: b, address: "127.0.0.1:$DEAD", interval: 5s, timeout: 100ms, retries: 0}
  - {kind: snmp, name: k, address: "127.0.0.1:$DEAD", interval: 5s, timeout: 100ms, retries: 0}
YML
tide_start "$WORK/data" - --config "$WORK/tide.yml"
req POST /api/v1/targets --data-binary '{"kind":"snmp","name":"api1","address":"127.0.0.1:'$DEAD'","interval":"5s","timeout":"100ms","retries":0}'
assert_code 201
names() { # the snmp targets as "name=interval" sorted
    req GET /api/v1/targets
    printf '%s' "$BODY" | python3 -c '
import json, sys
j = json.load(sys.stdin)["data"]
print(" ".join(sorted(t["discoveredLabels"]["__tide_name__"] + "=" + t["discoveredLabels"]["__scrape_interval__"]
                      for t in j["activeTargets"] + j["droppedTargets"])))'
}
assert_eq "at start" "a=5s api1=5s b=5s k=5s" "$(names)"

# Broken: an unknown key on line 4 → refused with file:line:col; nothing changes.
conf <<YML
  - {kind: snmp, name: b, address: "127.0.0.1:$DEAD", interval: 2s, timeout: 100ms, retries: 0}
  - {kind: snmp, name: k, address: "127.0.0.1:$DEAD", interval: 5s, timeout: 100ms, retries: 0}
  - {kind: snmp, name: c, address: "127.0.0.1:$DEAD", bogus: 1}
YML
req POST /-/reload
assert_code 500
assert_contains "broken reload" "$WORK/tide.yml:4:" "$BODY"
assert_contains "broken reload" "bogus" "$BODY"
assert_eq "after a refused reload" "a=5s api1=5s b=5s k=5s" "$(names)"

# Good: a removed, b replaced (2s), c added, k kept, api1 untouched.
conf <<YML
  - {kind: snmp, name: b, address: "127.0.0.1:$DEAD", interval: 2s, timeout: 100ms, retries: 0}
  - {kind: snmp, name: k, address: "127.0.0.1:$DEAD", interval: 5s, timeout: 100ms, retries: 0}
  - {kind: snmp, name: c, address: "127.0.0.1:$DEAD", interval: 3s, timeout: 100ms, retries: 0}
YML
req POST /-/reload
assert_code 200
assert_eq "after a reload" "api1=5s b=2s c=3s k=5s" "$(names)"
grep -q "targets reloaded: 1 added, 1 removed, 1 replaced, 1 kept" "$TIDE_LOG" ||
    fail "reload summary missing: $(grep reloaded "$TIDE_LOG")"

# SIGHUP: the same path; c goes.
conf <<YML
  - {kind: snmp, name: b, address: "127.0.0.1:$DEAD", interval: 2s, timeout: 100ms, retries: 0}
  - {kind: snmp, name: k, address: "127.0.0.1:$DEAD", interval: 5s, timeout: 100ms, retries: 0}
YML
kill -HUP "$TIDE_PID"
for i in $(seq 1 100); do
    [ "$(names)" = "api1=5s b=2s k=5s" ] && break
    sleep 0.1
done
assert_eq "after SIGHUP" "api1=5s b=2s k=5s" "$(names)"
tide_stop "$TIDE_PID"
log "targets: reloaded by diff; a broken entry refuses the reload"
