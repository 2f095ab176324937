#!/usr/bin/env bash
# test_targets_runtime.sh: targets added, disabled, enabled and deleted at
# run time through the API (collect/targets_runtime.h): POST adds one entry
# (201; 400 with the reason for a bad one; 409 for a taken kind/name), the
# target is listed and polled (an SNMP device on a closed port: up 0); a
# disable moves it to droppedTargets and writes stale markers (`up` gone from
# an instant query); enable brings it back; a config target can be disabled
# too; all of it, secrets never in an answer, survives a restart from
# DATA/targets.json (0600); a DELETE removes it; the write scope is required.
. "$(dirname "$0")/lib.sh"

DEAD=$(free_port) # nothing answers SNMP there
printf 'w-token\n' >"$WORK/write.token"
chmod 600 "$WORK/write.token"
cat >"$WORK/tide.yml" <<YML
targets:
  - {kind: snmp, name: cfg1, address: "127.0.0.1:$DEAD", interval: 1s, community: cfgsecret, timeout: 200ms, retries: 0}
YML
W=(-H 'Authorization: Bearer w-token')
start() {
    tide_start "$WORK/data" - --config "$WORK/tide.yml" \
        --auth-write-bearer-token-file "$WORK/write.token"
}
check() { printf '%s' "$BODY" | "${JSONTOOL[@]}" check "$1" || fail "$2: $CODE $BODY"; }
wait_for() { # PATH PYEXPR WHAT [curl args]
    local i
    for i in $(seq 1 150); do
        req GET "$1" "${@:4}"
        printf '%s' "$BODY" | "${JSONTOOL[@]}" check "$2" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "$3 within 15 s: $BODY"
}
ENTRY='{"kind":"snmp","name":"r1","address":"127.0.0.1:'$DEAD'","interval":"1s",
 "community":"topsecret","timeout":"200ms","retries":0,"labels":{"site":"tbilisi"}}'

start
# No credentials: refused; the GET list stays open to readers.
req POST /api/v1/targets --data-binary "$ENTRY"
assert_code 401
req DELETE /api/v1/targets/snmp/cfg1
assert_code 401
req GET /api/v1/targets
assert_code 200

# Bad entries: the reason, with line:col for the body.
req POST /api/v1/targets "${W[@]}" --data-binary '{"kind":"snmp","address":"x:1","interval":"1ms"}'
assert_code 400
check '"interval" in j["error"] and j["error"].startswith("body:1:")' "bad interval"
req POST /api/v1/targets "${W[@]}" --data-binary '{"kind":"snmp","address":"x:1","bogus":1}'
assert_code 400
check '"bogus" in j["error"]' "unknown key"
req POST /api/v1/targets "${W[@]}" --data-binary '{"kind":"nope","address":"x:1"}'
assert_code 400
check '"unknown kind" in j["error"]' "unknown kind"

# Add: 201 with the target, no secret; a second add of that name: 409.
req POST /api/v1/targets "${W[@]}" --data-binary "$ENTRY"
assert_code 201
check 'j["data"]["kind"] == "snmp" and j["data"]["name"] == "r1" and j["data"]["enabled"]' "add"
case "$BODY" in *topsecret*) fail "secret in the add answer: $BODY" ;; esac
req POST /api/v1/targets "${W[@]}" --data-binary "$ENTRY"
assert_code 409
req POST /api/v1/targets "${W[@]}" --data-binary '{"kind":"snmp","name":"cfg1","address":"y:1"}'
assert_code 409

# Polled: health down (nothing answers), up == 0 stored.
wait_for /api/v1/targets 'any(t["discoveredLabels"]["__tide_name__"] == "r1" and t["health"] == "down" for t in j["data"]["activeTargets"])' "r1 down"
wait_for /api/v1/query 'len(j["data"]["result"]) == 1 and j["data"]["result"][0]["value"][1] == "0"' "up 0 of r1" \
    -G --data-urlencode 'query=up{instance="127.0.0.1:'$DEAD'",site="tbilisi"}'

# Disable: dropped, and `up` is stale at once.
req POST /api/v1/targets/snmp/r1/disable "${W[@]}"
assert_code 200
check 'j["data"]["enabled"] == False' "disable"
req GET /api/v1/targets
check 'not any(t["discoveredLabels"]["__tide_name__"] == "r1" for t in j["data"]["activeTargets"]) and any(t["discoveredLabels"]["__tide_name__"] == "r1" for t in j["data"]["droppedTargets"])' "r1 dropped"
wait_for /api/v1/query 'len(j["data"]["result"]) == 0' "r1 stale" -G --data-urlencode 'query=up{site="tbilisi"}'
# A config target can be disabled too; unknown ones are 404; config ones cannot be deleted.
req POST /api/v1/targets/snmp/cfg1/disable "${W[@]}"
assert_code 200
req POST /api/v1/targets/snmp/nosuch/enable "${W[@]}"
assert_code 404
req DELETE /api/v1/targets/snmp/cfg1 "${W[@]}"
assert_code 409
req GET /api/v1/targets/snmp/r1
assert_code 405

perm=$(stat -c %a "$WORK/data/targets.json")
assert_eq "targets.json mode" 600 "$perm"
grep -q topsecret "$WORK/data/targets.json" || fail "the secret is not persisted"

# Restart: r1 comes back, still disabled, and so does cfg1's state.
tide_stop "$TIDE_PID"
start
req GET /api/v1/targets
check '[t["discoveredLabels"]["__tide_name__"] for t in j["data"]["droppedTargets"]] == ["cfg1", "r1"] and j["data"]["activeTargets"] == []' "after restart"
case "$BODY" in *topsecret*|*cfgsecret*) fail "secret in the list: $BODY" ;; esac
req POST /api/v1/targets/snmp/r1/enable "${W[@]}"
assert_code 200
check 'j["data"]["enabled"] == True and j["data"]["target"]["labels"]["instance"] == "127.0.0.1:'$DEAD'"' "enable"
wait_for /api/v1/targets 'any(t["discoveredLabels"]["__tide_name__"] == "r1" and t["health"] == "down" for t in j["data"]["activeTargets"])' "r1 polled again"

# Delete: gone, now and after a restart.
req DELETE /api/v1/targets/snmp/r1 "${W[@]}"
assert_code 200
req DELETE /api/v1/targets/snmp/r1 "${W[@]}"
assert_code 404
tide_stop "$TIDE_PID"
start
req GET /api/v1/targets
check '[t["discoveredLabels"]["__tide_name__"] for t in j["data"]["droppedTargets"]] == ["cfg1"] and j["data"]["activeTargets"] == []' "after delete and restart"
tide_stop "$TIDE_PID"
log "targets added, disabled, enabled and deleted at run time, kept across restarts"
