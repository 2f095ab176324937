#!/usr/bin/env bash
# test_ping_sockets.sh: the socket Tide's ping kind gets, in a fresh network
# namespace (its own net.ipv4.ping_group_range and loopback):
#   - range "0 0" (root's group inside): unprivileged datagram sockets, for
#     IPv4 and IPv6, and 127.0.0.1 and ::1 answer;
#   - the default "1 0" and CAP_NET_RAW dropped (setpriv): no socket, the
#     targets are down with the reason naming the sysctl and the capability.
# (The raw-socket fallback as root is what the other ping tests use.)
# Needs root (ip netns); without it the test says SKIP and why.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! command -v setpriv >/dev/null; then
    echo "SKIP [$TEST_NAME]: needs root, iproute2 and setpriv to create a network namespace"
    exit 0
fi
NS="tides$$"
trap 'ip netns del "$NS" 2>/dev/null || true; lib_cleanup' EXIT
ip netns add "$NS" || {
    echo "SKIP [$TEST_NAME]: ip netns add failed (no permission to create namespaces)"
    exit 0
}
ip -n "$NS" link set lo up
cat >"$WORK/tide.yml" <<YML
targets:
  - {kind: ping, address: 127.0.0.1, interval: 1s, count: 1}
  - {kind: ping, address: "::1", interval: 1s, count: 1}
YML
PORT=18080 # inside the namespace: nothing else listens there

# run_in_ns LOG [wrapper...]: tide serve inside the namespace; sets NS_PID.
run_in_ns() {
    local logf=$1
    shift
    rm -rf "$WORK/data"
    ip netns exec "$NS" "$@" "$TIDE" serve --data "$WORK/data" --listen "127.0.0.1:$PORT" \
        --collect-host false --config "$WORK/tide.yml" >"$logf" 2>&1 &
    NS_PID=$!
    PIDS+=("$NS_PID")
}
nsq() {
    ip netns exec "$NS" curl -fsS "http://127.0.0.1:$PORT$1" 2>/dev/null || true
}
wait_for() { # PATH PYTHON-CONDITION-ON-d
    for _ in $(seq 1 100); do
        nsq "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($2) else 1)" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

ip netns exec "$NS" sh -c 'echo "0 0" >/proc/sys/net/ipv4/ping_group_range'
run_in_ns "$WORK/dgram.log"
wait_for "/api/v1/query?query=count(probe_success%3D%3D1)" \
    'd["data"]["result"] and d["data"]["result"][0]["value"][1] == "2"' ||
    fail "datagram sockets: 127.0.0.1 and ::1 did not both answer: $(nsq '/api/v1/query?query=probe_success')"
grep -q "ICMP socket dgram, ICMPv6 socket dgram" "$WORK/dgram.log" ||
    fail "want datagram sockets: $(grep ping "$WORK/dgram.log")"
tide_stop "$NS_PID"

ip netns exec "$NS" sh -c 'echo "1 0" >/proc/sys/net/ipv4/ping_group_range'
run_in_ns "$WORK/none.log" setpriv --bounding-set=-net_raw
wait_for /api/v1/targets \
    'all(t["health"] == "down" and "ping_group_range" in t["lastError"] and "CAP_NET_RAW" in t["lastError"] for t in d["data"]["activeTargets"]) and len(d["data"]["activeTargets"]) == 2' ||
    fail "without a socket the targets should be down with the reason: $(nsq /api/v1/targets)"
grep -q "ICMP socket none, ICMPv6 socket none" "$WORK/none.log" || fail "want no sockets: $(grep ping "$WORK/none.log")"
tide_stop "$NS_PID"
log "ok"
