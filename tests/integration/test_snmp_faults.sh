#!/usr/bin/env bash
# test_snmp_faults.sh: SNMP devices that fail never stall the others. Next
# to a good target polled every second, targets point at a UDP port nobody
# answers, at the agent with a wrong community (v2c: the agent stays silent,
# a timeout), with an unknown v3 user (the agent reports it), and a v3
# target at a port nobody answers (engine ID discovery times out; it must not
# hold the engine while it waits, as net-snmp's own discovery did). Each shows
# health "down", `up` 0 and a clear lastError in /api/v1/targets, while the
# good one keeps its interval; no community or password appears in the API
# or the log. A module error and an unknown module stop `tide serve` with
# file:line:col.
. "$(dirname "$0")/lib.sh"
. "$HERE/snmpd_lib.sh"

snmpd_start
dead_port=$(free_udp_port) # nobody listens there

cat >"$WORK/tide.yml" <<YML
targets:
  - kind: snmp
    name: good
    address: $SNMPD_ADDR
    interval: 1s
    community: $SNMP_COMMUNITY
    labels: {target: good}
  - kind: snmp
    name: dead
    address: 127.0.0.1:$dead_port
    interval: 1s
    timeout: 700ms
    retries: 1
    labels: {target: dead}
  - kind: snmp
    name: wrongcommunity
    address: $SNMPD_ADDR
    interval: 1s
    community: not-the-s3cret-community
    timeout: 500ms
    retries: 0
    labels: {target: wrongcommunity}
  - kind: snmp
    name: nouser
    address: $SNMPD_ADDR
    interval: 1s
    version: 3
    username: nosuchuser
    auth_password: never-shown-passw0rd
    timeout: 500ms
    retries: 0
    labels: {target: nouser}
  - kind: snmp
    name: deadv3
    address: 127.0.0.1:$dead_port
    interval: 1s
    version: 3
    username: someone
    security_level: authPriv
    auth_password: never-shown-passw0rd
    priv_password: never-shown-passw0rd
    timeout: 2s
    retries: 1
    labels: {target: deadv3}
YML
tide_start "$WORK/data" - --config "$WORK/tide.yml"

wait_snmp_health dead=down wrongcommunity=down nouser=down deadv3=down good=up
assert_contains "dead lastError" "timeout: no answer within 700 ms after 2 tries" \
    "$(target_field dead 't["lastError"]')"
assert_contains "wrongcommunity lastError" "wrong community" \
    "$(target_field wrongcommunity 't["lastError"]')"
assert_contains "nouser lastError" "Unknown user name" "$(target_field nouser 't["lastError"]')"
assert_contains "deadv3 lastError" "v3 engine discovery: timeout: no answer within 2000 ms after 2 tries" \
    "$(target_field deadv3 't["lastError"]')"
log "failing targets down with clear errors"

# The good target keeps its 1 s interval while the others time out.
assert_fleet_after_faults good 'dead|wrongcommunity|nouser|deadv3' \
    dead=0 deadv3=0 good=1 nouser=0 wrongcommunity=0
# Each deadv3 poll waits 4 s for a discovery answer (2 s x 2 tries). Done on
# the engine thread, as net-snmp's snmp_sess_open() does it, that stalled
# every device: gaps of 4 s between the good target's polls. None here.
req GET '/api/v1/query' -G --data-urlencode 'query=up{target="good"}[12s]'
json_ok 'all(b[0] - a[0] < 2.5 for a, b in zip(j["data"]["result"][0]["values"], j["data"]["result"][0]["values"][1:])) and len(j["data"]["result"][0]["values"]) >= 8'
req GET '/api/v1/query' -G --data-urlencode 'query=count(ifOperStatus{target="good"}) > 0'
json_ok 'len(j["data"]["result"]) == 1'
log "the good target kept being polled; failing ones have up 0 and no other series"

req GET '/api/v1/targets'
for secret in not-the-s3cret-community never-shown-passw0rd "$SNMP_COMMUNITY"; do
    case "$BODY" in *"$secret"*) fail "/api/v1/targets shows a secret ($secret)" ;; esac
    grep -qF -- "$secret" "$TIDE_LOG" && fail "the log shows a secret ($secret): $(cat "$TIDE_LOG")"
done
tide_stop "$TIDE_PID"
log "no credentials in the API or the log"

# Module errors refuse the configuration with file:line:col.
bad_config() {
    local want=$1 conf="$WORK/bad.yml" out="$WORK/bad.log" rc=0
    cat >"$conf"
    timeout 60 "$TIDE" serve --config "$conf" --data "$WORK/bad-data" --listen 127.0.0.1:0 \
        --collect-host false >"$out" 2>&1 || rc=$?
    [ "$rc" -eq 2 ] || fail "bad snmp config: exit $rc, want 2; $(cat "$out")"
    grep -qF "$conf:$want" "$out" || fail "bad snmp config: want \"$conf:$want\" in: $(cat "$out")"
}
bad_config '4:13: unknown SNMP module "if_mibb"' <<'YML'
targets:
  - kind: snmp
    address: 192.0.2.1
    module: if_mibb
YML
bad_config '4:34: snmp_modules: "ifName" is not a numeric OID' <<'YML'
snmp_modules:
  mine:
    metrics:
      - {name: x, index: i, oid: ifName}
targets: []
YML
bad_config '4:5: unknown key "comunity"' <<'YML'
targets:
  - kind: snmp
    address: 192.0.2.1
    comunity: public
YML
log "bad SNMP configuration refused with file:line:col"
log "PASS"
