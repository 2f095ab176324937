#!/usr/bin/env bash
# test_ping_blackbox.sh: Tide's ping kind against Debian's
# prometheus-blackbox-exporter icmp prober, both probing 127.0.0.1, ::1 and
# an address nobody answers (198.51.100.1, TEST-NET-2; the brief's
# 192.0.2.1 is this VM's own gateway and answers). For each destination:
# the same series names (Tide's extra probe_icmp_* aside), the same
# probe_success, probe_ip_protocol and probe_ip_addr_hash, a hop limit of
# 64 on both, and RTTs of the same order (both under 50 ms on loopback: no
# exact timing on a shared machine). A host name that does not resolve
# gives probe_success 0 and the target down with the resolver's error;
# Tide's extra series (loss ratio, jitter) are there for a 3-probe target.
. "$(dirname "$0")/lib.sh"

command -v prometheus-blackbox-exporter >/dev/null ||
    fail "prometheus-blackbox-exporter is not installed (scripts/deps.sh test installs it)"
UNREACH=198.51.100.1

cat >"$WORK/bb.yml" <<YML
modules:
  icmp:
    prober: icmp
    timeout: 1s
YML
spawn_ready blackbox /metrics 300 prometheus-blackbox-exporter --config.file="$WORK/bb.yml" \
    --web.listen-address="127.0.0.1:@PORT@" ||
    fail "prometheus-blackbox-exporter did not start (logs: $WORK/blackbox-*.log)"
BB_URL="http://127.0.0.1:$SPAWN_PORT"

cat >"$WORK/tide.yml" <<YML
targets:
  - {kind: ping, address: 127.0.0.1, interval: 1s, count: 1}
  - {kind: ping, address: "::1", interval: 1s, count: 1}
  - {kind: ping, address: "$UNREACH", interval: 2s, count: 1, timeout: 1s}
  - {kind: ping, name: lo3, address: 127.0.0.2, interval: 1s, count: 3, packet_interval: 50ms}
  - {kind: ping, address: no-such-host.invalid, interval: 1s}
YML
tide_start "$WORK/data" - --config "$WORK/tide.yml"

# Tide's newest value of every probe_* series of one instance, as "name{phase} value".
tide_series() {
    curl -fsS "$TIDE_URL/api/v1/query" --data-urlencode "query={__name__=~\"probe_.*\",instance=\"$1\"}" |
        python3 -c '
import json, sys
for r in json.load(sys.stdin)["data"]["result"]:
    m = r["metric"]
    ph = "{phase=\"%s\"}" % m["phase"] if "phase" in m else ""
    print(m["__name__"] + ph, r["value"][1])' | sort
}

# Wait until every target has had a round (the unreachable one takes 1 s).
ok=0
for _ in $(seq 1 100); do
    n=$(curl -fsS "$TIDE_URL/api/v1/query" --data-urlencode 'query=count(probe_success)' |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
    [ "$n" = 5 ] && ok=1 && break
    sleep 0.2
done
[ $ok = 1 ] || fail "not every ping target reported probe_success within 20 s (have $n)"

for dest in 127.0.0.1 ::1 $UNREACH; do
    curl -fsS "$BB_URL/probe?module=icmp&target=$dest" | grep -v '^#' |
        sed 's/ \(.*\)$/ \1/' | sort >"$WORK/bb.$dest" || fail "blackbox probe of $dest failed"
    tide_series "$dest" >"$WORK/tide.$dest"
    bb_names=$(cut -d' ' -f1 "$WORK/bb.$dest" | tr '\n' ' ')
    tide_names=$(cut -d' ' -f1 "$WORK/tide.$dest" | grep -v -E '^probe_icmp_(loss_ratio|jitter_seconds|rtt_m(in|ax)_seconds)$' | tr '\n' ' ')
    assert_eq "series of $dest (blackbox vs tide)" "$bb_names" "$tide_names"
    python3 - "$WORK/bb.$dest" "$WORK/tide.$dest" "$dest" <<'PY' || fail "values differ for $3"
import sys
def load(p):
    return {l.split()[0]: float(l.split()[1]) for l in open(p) if l.strip()}
bb, td, dest = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3]
for k in ("probe_success", "probe_ip_protocol", "probe_ip_addr_hash", "probe_icmp_reply_hop_limit"):
    if k in bb or k in td:
        assert bb.get(k) == td.get(k), f"{dest} {k}: blackbox {bb.get(k)} tide {td.get(k)}"
rtt_b, rtt_t = bb['probe_icmp_duration_seconds{phase="rtt"}'], td['probe_icmp_duration_seconds{phase="rtt"}']
if bb["probe_success"] == 1:
    assert 0 < rtt_b < 0.05 and 0 < rtt_t < 0.05, f"{dest} rtt: blackbox {rtt_b} tide {rtt_t}"
    assert td["probe_icmp_loss_ratio"] == 0, td
else:
    assert rtt_b == 0 and rtt_t == 0 and td["probe_icmp_loss_ratio"] == 1, (bb, td)
print(f"{dest}: success {bb['probe_success']:g}/{td['probe_success']:g} rtt blackbox {rtt_b*1e3:.3f} ms, tide {rtt_t*1e3:.3f} ms")
PY
done
assert_eq "probe_success of 127.0.0.1" "1" "$(grep '^probe_success ' "$WORK/tide.127.0.0.1" | cut -d' ' -f2)"
assert_eq "probe_success of $UNREACH" "0" "$(grep '^probe_success ' "$WORK/tide.$UNREACH" | cut -d' ' -f2)"

# Three probes a round: loss ratio 0 and a jitter series.
tide_series 127.0.0.2 >"$WORK/tide.lo3"
grep -q '^probe_icmp_loss_ratio 0$' "$WORK/tide.lo3" || fail "lo3: want loss ratio 0: $(cat "$WORK/tide.lo3")"
grep -q '^probe_icmp_jitter_seconds ' "$WORK/tide.lo3" || fail "lo3: no jitter series"

# The name that does not resolve: probe_success 0, the target down, the reason given.
assert_eq "probe_success of the bad name" "probe_success 0" \
    "$(tide_series no-such-host.invalid | grep '^probe_success ')"
req GET /api/v1/targets
echo "$BODY" | python3 -c '
import json, sys
t = [t for t in json.load(sys.stdin)["data"]["activeTargets"] if t["labels"]["instance"] == "no-such-host.invalid"][0]
assert t["health"] == "down" and "cannot resolve" in t["lastError"], t' ||
    fail "the unresolvable target is not down with its reason"

# A bad key and an impossible timing are refused with the position.
cat >"$WORK/bad.yml" <<YML
targets:
  - {kind: ping, address: 127.0.0.1, interval: 1s, count: 5, packet_interval: 300ms}
YML
if "$TIDE" serve --data "$WORK/bad" --listen 127.0.0.1:0 --collect-host false --config "$WORK/bad.yml" >"$WORK/bad.log" 2>&1; then
    fail "a round longer than the interval was accepted"
fi
grep -q "do not fit in the 1000 ms interval" "$WORK/bad.log" || fail "unclear error: $(cat "$WORK/bad.log")"
tide_stop "$TIDE_PID"
log "ok"
