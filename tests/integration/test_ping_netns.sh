#!/usr/bin/env bash
# test_ping_netns.sh: loss, delay and jitter seen through a network
# namespace. The kernel here has no sch_netem (CONFIG_NET_SCH_NETEM is not
# set), so instead of `tc netem` a namespace whose kernel ignores echo
# requests runs ping_responder.py, which answers the n-th request after
# 30 ms or 70 ms (alternately) and drops every 4th. A ping target with 4
# probes a round must then show, round after round: probe_success 1, loss
# ratio exactly 0.25, min RTT >= 30 ms, max RTT >= 70 ms, mean between, and
# jitter (mean |difference| of consecutive RTTs) near 40 ms (upper bounds
# generous: the responder's timers run late on a loaded machine). An address of
# the namespace's subnet that nobody holds gives probe_success 0 and loss 1
# from Tide and from the blackbox exporter alike.
# Needs root (ip netns); without it the test says SKIP and why.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
    echo "SKIP [$TEST_NAME]: needs root and iproute2 to create a network namespace"
    exit 0
fi
NS="tidep$$"
VA="tpa$$"
VB="tpb$$"
# A /29 of 10.213.0.0/16 picked from the PID, so concurrent runs differ.
o3=$(($$ % 250))
o4=$(((($$ / 250) % 30) * 8))
NET="10.213.$o3"
HOST_IP="$NET.$((o4 + 1))"
NS_IP="$NET.$((o4 + 2))"
NOBODY="$NET.$((o4 + 3))"
netns_cleanup() {
    [ -n "${RESP_PID:-}" ] && kill "$RESP_PID" 2>/dev/null
    ip link del "$VA" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    lib_cleanup
}
trap netns_cleanup EXIT
ip netns add "$NS" || {
    echo "SKIP [$TEST_NAME]: ip netns add failed (no permission to create namespaces)"
    exit 0
}
ip link add "$VA" type veth peer name "$VB"
ip link set "$VB" netns "$NS"
ip addr add "$HOST_IP/29" dev "$VA"
ip link set "$VA" up
ip -n "$NS" addr add "$NS_IP/29" dev "$VB"
ip -n "$NS" link set "$VB" up
ip -n "$NS" link set lo up
ip netns exec "$NS" sh -c 'echo 1 >/proc/sys/net/ipv4/icmp_echo_ignore_all'

ip netns exec "$NS" python3 "$HERE/ping_responder.py" 30,70 4 >"$WORK/responder.log" 2>&1 &
RESP_PID=$!
PIDS+=("$RESP_PID")
for _ in $(seq 1 50); do grep -q ready "$WORK/responder.log" && break; sleep 0.1; done
grep -q ready "$WORK/responder.log" || fail "ping_responder.py did not start: $(cat "$WORK/responder.log")"

cat >"$WORK/tide.yml" <<YML
targets:
  - {kind: ping, name: lossy, address: $NS_IP, interval: 2s, count: 4, packet_interval: 100ms, timeout: 1500ms}
  - {kind: ping, name: nobody, address: $NOBODY, interval: 1s, count: 2, timeout: 500ms}
YML
tide_start "$WORK/data" - --config "$WORK/tide.yml"

q() {
    curl -fsS "$TIDE_URL/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
# Three rounds' worth: the last round's values are checked each time. (A
# 1.5 s probe timeout, far above the responder's 70 ms, so that a loaded
# machine's late replies are not counted as loss.)
rounds=0
for _ in $(seq 1 100); do
    rounds=$(q "count_over_time(probe_success{instance=\"$NS_IP\"}[1m])")
    [ "${rounds:-0}" -ge 3 ] 2>/dev/null && break
    sleep 0.2
done
[ "${rounds:-0}" -ge 3 ] || fail "fewer than 3 rounds of $NS_IP within 20 s"
python3 - "$TIDE_URL" "$NS_IP" <<'PY' || fail "loss/delay/jitter not as the responder makes them"
import json, sys, urllib.parse, urllib.request
url, inst = sys.argv[1], sys.argv[2]
def series(name, extra=""):
    q = urllib.parse.urlencode({"query": f'{name}{{instance="{inst}"{extra}}}[1m]'})
    r = json.load(urllib.request.urlopen(f"{url}/api/v1/query?{q}"))["data"]["result"]
    return [float(v) for _, v in r[0]["values"]]
succ, loss = series("probe_success"), series("probe_icmp_loss_ratio")
mn, mx = series("probe_icmp_rtt_min_seconds"), series("probe_icmp_rtt_max_seconds")
jit, rtt = series("probe_icmp_jitter_seconds"), series("probe_icmp_duration_seconds", ',phase="rtt"')
print("rounds", len(succ), "loss", loss, "min", mn, "max", mx, "jitter", jit, "rtt", rtt)
assert all(s == 1 for s in succ), succ
assert all(l == 0.25 for l in loss), loss
# Generous upper bounds: the responder's timers run late on a loaded machine.
assert all(0.030 <= m < 0.200 for m in mn), mn
assert all(0.070 <= m < 0.450 for m in mx), mx
assert all(a <= r <= b for a, r, b in zip(mn, rtt, mx)), (mn, rtt, mx)
assert all(0.015 <= j <= 0.200 for j in jit), jit
assert sorted(jit)[len(jit) // 2] >= 0.025, jit  # the median round shows the 40 ms swing
PY
assert_eq "probe_success of nobody" "0" "$(q "probe_success{instance=\"$NOBODY\"}")"
assert_eq "loss ratio of nobody" "1" "$(q "probe_icmp_loss_ratio{instance=\"$NOBODY\"}")"
if command -v prometheus-blackbox-exporter >/dev/null; then
    printf 'modules:\n  icmp:\n    prober: icmp\n    timeout: 1s\n' >"$WORK/bb.yml"
    spawn_ready blackbox /metrics 300 prometheus-blackbox-exporter --config.file="$WORK/bb.yml" \
        --web.listen-address="127.0.0.1:@PORT@" || fail "blackbox exporter did not start"
    got=$(curl -fsS "http://127.0.0.1:$SPAWN_PORT/probe?module=icmp&target=$NOBODY" | grep '^probe_success ')
    assert_eq "blackbox probe_success of nobody" "probe_success 0" "$got"
fi
tide_stop "$TIDE_PID"
log "ok"
