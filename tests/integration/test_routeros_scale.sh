#!/usr/bin/env bash
# test_routeros_scale.sh: 100 simulated routers (one simulator process, one
# port each, v6 and v7, both logins) polled by one `tide serve` at the 5 s
# tier with every group of the catalog on its default tier: within three
# cycles every router is up, each has run at least twice, and no run was
# missed (tide_target_runs_missed_total{kind="routeros"} stays 0).
. "$(dirname "$0")/lib.sh"
. "$HERE/routeros_lib.sh"

N=100
sim_start --count $N --version mixed --login mixed
{
    echo "targets:"
    for i in $(seq 0 $((N - 1))); do
        printf '  - {kind: routeros, name: r%d, address: "127.0.0.1:%s", username: monitor, password: s3cret-pw}\n' \
            "$i" "$(sim_port "$i")"
    done
} >"$WORK/tide.yml"
tide_start "$WORK/data" - --config "$WORK/tide.yml"

ros_wait 30 'len(r) == 1 and r[0]["value"][1] == "100"' 'count(up{job="routeros"} == 1)'
sleep 11
r=$(ros_query 'count(count_over_time(up{job="routeros"}[12s]) >= 2)')
json_ok 'j["data"]["result"][0]["value"][1] == "100"' "$r"
r=$(ros_query 'count(up{job="routeros"} == 1)')
json_ok 'j["data"]["result"][0]["value"][1] == "100"' "$r"
m=$(curl -fsS "$TIDE_URL/metrics")
missed=$(printf '%s\n' "$m" | awk '$1 == "tide_target_runs_missed_total{kind=\"routeros\"}" {print $2}')
fails=$(printf '%s\n' "$m" | awk '$1 == "tide_target_failures_total{kind=\"routeros\"}" {print $2}')
assert_eq "missed routeros runs" 0 "${missed:-0}"
assert_eq "failed routeros runs" 0 "${fails:-0}"
# All of them on the 5 s tick, and the catalog read from each.
req GET /api/v1/targets
json_ok 'len(j["data"]["activeTargets"]) == 100 and all(t["scrapeInterval"] == "5s" for t in j["data"]["activeTargets"])'
r=$(ros_query 'count(count by (routerboard_name) (mktxp_interface_rx_byte_total))')
json_ok 'j["data"]["result"][0]["value"][1] == "100"' "$r"
tide_stop "$TIDE_PID"
log ok
