#!/usr/bin/env bash
# test_snmp_flap.sh: real interface status changes. The test re-runs itself
# in a network namespace of its own (unshare -n as root, unshare -rn with a
# user namespace otherwise), creates a veth pair there, and starts snmpd and
# `tide serve` (one SNMP target, 1 s interval) inside it. It then sets one
# end down and up three times: ifOperStatus{ifName="flap1"} must follow
# (2 while down, 1 while up) and changes() over the window must count the
# six flaps. Without namespaces (or veth) the test fails and says so: it is
# never skipped silently.
if [ -z "${TIDE_FLAP_NETNS:-}" ]; then
    export TIDE_FLAP_NETNS=1
    if [ "$(id -u)" -eq 0 ]; then
        exec unshare -n bash "$0" "$@"
    fi
    exec unshare -rn bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$HERE/snmpd_lib.sh"

ip link set lo up || fail "cannot bring lo up in the new network namespace"
ip link add flap0 type veth peer name flap1 ||
    fail "cannot create a veth pair in the network namespace (kernel without veth?)"
ip link set flap0 up
ip link set flap1 up
snmpd_start

cat >"$WORK/tide.yml" <<YML
targets:
  - kind: snmp
    address: $SNMPD_ADDR
    interval: 1s
    community: $SNMP_COMMUNITY
YML
tide_start "$WORK/data" - --config "$WORK/tide.yml"

# oper_is WANT: wait (20 s at most) until Tide's ifOperStatus of flap1 is WANT.
oper_is() {
    local want=$1 i
    for i in $(seq 1 200); do
        req GET '/api/v1/query' -G --data-urlencode 'query=ifOperStatus{ifName="flap1"}'
        if printf '%s' "$BODY" | "${JSONTOOL[@]}" check \
            "len(j['data']['result']) == 1 and j['data']['result'][0]['value'][1] == '$want'"; then
            return 0
        fi
        sleep 0.1
    done
    fail "ifOperStatus{ifName=\"flap1\"} did not become $want: $BODY"
}

oper_is 1
t0=$(date +%s)
for round in 1 2 3; do
    ip link set flap1 down
    oper_is 2
    ip link set flap1 up
    oper_is 1
done
log "ifOperStatus followed 3 down/up flaps in $(($(date +%s) - t0)) s"
sleep 1
window=$(($(date +%s) - t0 + 5))
req GET '/api/v1/query' -G --data-urlencode "query=changes(ifOperStatus{ifName=\"flap1\"}[${window}s])"
json_ok 'len(j["data"]["result"]) == 1 and int(float(j["data"]["result"][0]["value"][1])) == 6'
req GET '/api/v1/query' -G --data-urlencode "query=changes(ifOperStatus{ifName=\"flap0\"}[${window}s]) >= 6"
json_ok 'len(j["data"]["result"]) == 1' # its peer went lowerLayerDown and back each time
tide_stop "$TIDE_PID"
log "changes() counts the 6 flaps"
log "PASS"
