#!/usr/bin/env bash
# test_routeros_faults.sh: routers that misbehave never hold up the others.
# Nine simulated routers polled every second by one `tide serve`:
#   d0 good           d1 drops the connection mid-reply (once)
#   d2 !fatal (once)  d3 garbage length bytes (once)   d4 never answers
#   d5 every row not UTF-8   d6 a 100000-byte word in each reply's first row
#   d7 !trap for every command   d8 good, then drops mid-reply at run time
# d1, d2, d3 and d8 recover (reconnect with backoff) and are up again; d4 is
# down with a timeout, d7 down with the router's message; d5 and d6 stay up
# with the bad sentences dropped, counted and logged with the router's name;
# the good router keeps every 1 s cycle meanwhile. The failures show in
# /api/v1/targets and in Tide's /metrics.
. "$(dirname "$0")/lib.sh"
. "$HERE/routeros_lib.sh"

sim_start --count 9 --version 7 --fault 1:drop --fault 2:fatal --fault 3:garbage \
    --fault 4:silence --fault 5:badutf8 --fault 6:oversize --fault 7:trap
{
    echo "targets:"
    for i in 0 1 2 3 4 5 6 7 8; do
        cat <<YML
  - kind: routeros
    name: d$i
    address: 127.0.0.1:$(sim_port $i)
    interval: 1s
    timeout: 1s
    username: monitor
    password: s3cret-pw
YML
    done
} >"$WORK/tide.yml"
tide_start "$WORK/data" - --config "$WORK/tide.yml"
t0=$(date +%s)

up_of() { echo "up{job=\"routeros\", instance=\"127.0.0.1:$(sim_port "$1")\"}"; }

ros_wait 20 'len(r) == 1 and r[0]["value"][1] == "1"' "$(up_of 0)"
ros_wait 20 'len(r) == 1 and r[0]["value"][1] == "1"' "$(up_of 8)"
assert_eq "fault set at run time" ok "$(sim_ctl 'fault 8 drop')"

# The one-shot faults recover.
for i in 1 2 3 8; do
    ros_wait 30 'len(r) == 1 and r[0]["value"][1] == "1"' "$(up_of $i)"
done
ros_wait 20 'len(r) == 5' 'mktxp_interface_rx_byte_total{routerboard_name="sim-8"}'
# d5: rows dropped, count-only still read; d6: the first row of each reply dropped.
ros_wait 20 'len(r) == 1 and r[0]["value"][1] == "1"' "$(up_of 5)"
ros_wait 20 'len(r) == 1' 'mktxp_ip_connections_total{routerboard_address="127.0.0.1:'"$(sim_port 5)"'"}'
# (its identity, a one-row reply, is lost too: no routerboard_name)
ros_wait 20 'len(r) == 4' 'mktxp_interface_rx_byte_total{routerboard_address="127.0.0.1:'"$(sim_port 6)"'"}'

req GET /api/v1/targets
target() { # NAME FIELD
    printf '%s' "$BODY" | "$PY" -c '
import json, sys
j = json.load(sys.stdin)
print([t for t in j["data"]["activeTargets"] if t["discoveredLabels"]["__tide_name__"] == sys.argv[1]][0][sys.argv[2]])' "$1" "$2"
}
assert_eq "d4 health" down "$(target d4 health)"
assert_contains "d4 lastError" "timeout" "$(target d4 lastError)"
assert_eq "d7 health" down "$(target d7 health)"
assert_contains "d7 lastError" "the router refused" "$(target d7 lastError)"
assert_contains "d7 lastError" "failure: simulated" "$(target d7 lastError)"
assert_eq "d0 health" up "$(target d0 health)"

# Self-metrics.
metric() { # NAME{LABELS}: its value in /metrics (0 when absent)
    curl -fsS "$TIDE_URL/metrics" | awk -v m="$1" '$1 == m {print $2; found=1} END {if (!found) print 0}'
}
for m in 'tide_routeros_connection_failures_total{reason="fatal"}' \
    'tide_routeros_connection_failures_total{reason="protocol"}' \
    'tide_routeros_connection_failures_total{reason="io"}' \
    'tide_routeros_connection_failures_total{reason="timeout"}' \
    'tide_routeros_sentences_dropped_total{reason="utf8"}' \
    'tide_routeros_sentences_dropped_total{reason="word_size"}' \
    'tide_routeros_command_timeouts_total'; do
    v=$(metric "$m")
    "$PY" -c "import sys; sys.exit(0 if float('$v') >= 1 else 1)" || fail "$m = $v, want >= 1"
done
v=$(metric tide_routeros_poller_restarts_total)
"$PY" -c "import sys; sys.exit(0 if float('$v') >= 4 else 1)" || fail "poller restarts = $v, want >= 4"

# Logged with the router's name.
grep -q 'routeros: d5: dropped a reply sentence: not UTF-8' "$TIDE_LOG" || fail "no log line for d5's bad UTF-8"
grep -q 'routeros: d6: dropped a reply sentence: word too long' "$TIDE_LOG" || fail "no log line for d6's long word"

# The good router kept its cycle: a sample of up every second, all 1.
sleep 1
span=$(($(date +%s) - t0 - 2))
[ "$span" -ge 5 ] || span=5
r=$(ros_query "count_over_time($(up_of 0)[${span}s])")
n=$(printf '%s' "$r" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')
"$PY" -c "import sys; sys.exit(0 if $n >= $span - 2 else 1)" || fail "good router: $n runs in ${span}s"
r=$(ros_query "min_over_time($(up_of 0)[${span}s])")
json_ok 'j["data"]["result"][0]["value"][1] == "1"' "$r"
log "good router: $n runs in ${span}s, all up"
tide_stop "$TIDE_PID"
log ok
