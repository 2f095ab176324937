#!/usr/bin/env bash
# test_routeros_tiers.sh: tiers hold their intervals and values advance.
# One simulated router (values moving with time) polled with a 1 s tick and
# tiers system 1s, interface 2s, queue 4s, everything else off: over the
# same window the system group has about twice the samples of the interface
# group and four times those of the queue group, on one connection; the
# counters and the uptime grow between polls; a group turned off never
# appears. Series of a group not due in a run are not marked stale.
. "$(dirname "$0")/lib.sh"
. "$HERE/routeros_lib.sh"

sim_start --count 1 --version 6
cat >"$WORK/tide.yml" <<YML
targets:
  - kind: routeros
    name: r
    address: 127.0.0.1:$(sim_port 0)
    interval: 1s
    username: monitor
    password: s3cret-pw
    tiers: {system: 1s, interface: 2s, queue: 4s, conntrack: "off", interface_errors: "off",
            link: "off", ppp: "off", dhcp: "off", ping: "off", wireless: "off", lte: "off",
            bgp: "off", firewall: "off", health: "off", hardware: 1h}
YML
tide_start "$WORK/data" - --config "$WORK/tide.yml"
ros_wait 20 'len(r) == 1' 'mktxp_queue_tree_bytes_total'
t0=$(date +%s)
sleep 9
ros_wait 10 'len(r) == 1' 'mktxp_queue_tree_bytes_total'

counts=$(ros_query 'count_over_time(mktxp_system_cpu_load[8s]) or label_replace(count_over_time(mktxp_interface_rx_byte_total{name="ether1"}[8s]), "g", "if", "", "") or label_replace(count_over_time(mktxp_queue_tree_bytes_total[8s]), "g", "q", "", "")')
read -r sys ifc que < <(printf '%s' "$counts" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
v = {x["metric"].get("g", "sys"): int(float(x["value"][1])) for x in r}
print(v.get("sys", 0), v.get("if", 0), v.get("q", 0))')
log "samples in 8s: system $sys, interface $ifc, queue $que"
[ "$sys" -ge 6 ] && [ "$sys" -le 9 ] || fail "system tier (1s): $sys samples in 8s"
[ "$ifc" -ge 3 ] && [ "$ifc" -le 5 ] || fail "interface tier (2s): $ifc samples in 8s"
[ "$que" -ge 1 ] && [ "$que" -le 3 ] || fail "queue tier (4s): $que samples in 8s"
[ "$sys" -gt "$ifc" ] && [ "$ifc" -gt "$que" ] || fail "tiers out of order: $sys $ifc $que"

# Values advance.
for m in 'mktxp_interface_rx_byte_total{name="ether1"}' 'mktxp_system_uptime' 'mktxp_queue_tree_bytes_total'; do
    r=$(ros_query "max_over_time(${m}[8s]) - min_over_time(${m}[8s])")
    json_ok 'len(j["data"]["result"]) == 1 and float(j["data"]["result"][0]["value"][1]) > 0' "$r"
done
# Groups turned off never appear; one connection served every tier.
r=$(ros_query 'count({__name__=~"mktxp_bgp_.*|mktxp_firewall_.*|mktxp_system_routerboard_voltage|mktxp_ip_connections_total"})')
json_ok 'j["data"]["result"] == []' "$r"
stats=$(sim_ctl stats)
json_ok 'j[0]["connections"] == 1' "$stats"
# Nothing went stale between the slow tier's polls (an instant query sees it).
r=$(ros_query 'mktxp_queue_tree_bytes_total')
json_ok 'len(j["data"]["result"]) == 1' "$r"
stale=$(curl -fsS "$TIDE_URL/metrics" | awk '$1 == "tide_target_stale_markers_total{kind=\"routeros\"}" {print $2}')
assert_eq "stale markers written for routeros" 0 "${stale:-0}"
tide_stop "$TIDE_PID"
log ok
