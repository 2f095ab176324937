#!/usr/bin/env bash
# test_routeros_catalog.sh: every catalog metric, value and label. Two
# simulated routers with frozen values, a v6 one logging in the plain way
# and a v7 one with the legacy MD5 challenge, are polled by `tide serve`;
# every series Tide stores for each must be exactly the series
# `routeros_sim.py expect` derives from the simulator's own replies (name,
# labels, value; nothing missing, nothing extra), and the catalog has at
# least 40 metric names. Menus of the other version ("no such command")
# are logged once per router and not asked again.
. "$(dirname "$0")/lib.sh"
. "$HERE/routeros_lib.sh"

sim_start --count 2 --version mixed --login mixed --frozen
p0=$(sim_port 0)
p1=$(sim_port 1)
printf 's3cret-pw\n' >"$WORK/pw"
export ROS_TEST_PW=s3cret-pw

cat >"$WORK/tide.yml" <<YML
targets:
  - kind: routeros
    name: v6
    address: 127.0.0.1:$p0
    interval: 1s
    username: monitor
    password_file: $WORK/pw
    ping: [192.0.2.1, 192.0.2.66]
    labels: {site: tbilisi}
  - kind: routeros
    name: v7
    address: 127.0.0.1:$p1
    interval: 1s
    username: monitor
    password_env: ROS_TEST_PW
    ping: [198.51.100.20]
YML
tide_start "$WORK/data" - --config "$WORK/tide.yml"

# The link and LTE groups need the interface names of a first poll: wait
# for them, then compare everything.
ros_wait 20 'len(r) == 2' 'routeros_interface_link_speed_bits{name="ether1"}'
ros_wait 20 'len(r) == 2' 'mktxp_lte_rssi'
sleep 1

ros_query '{job="routeros", routerboard_name="sim-0"}' >"$WORK/v6.json"
"$PY" "$SIM" compare --version 6 --identity sim-0 --address "127.0.0.1:$p0" \
    --ping 192.0.2.1 --ping 192.0.2.66 --ignore job --ignore instance --ignore site \
    <"$WORK/v6.json" >"$WORK/v6.diff" || fail "v6 router: $(cat "$WORK/v6.diff")"
log "v6: $(tail -1 "$WORK/v6.diff")"
ros_query '{job="routeros", routerboard_name="sim-1"}' >"$WORK/v7.json"
"$PY" "$SIM" compare --version 7 --identity sim-1 --address "127.0.0.1:$p1" \
    --ping 198.51.100.20 <"$WORK/v7.json" >"$WORK/v7.diff" || fail "v7 router: $(cat "$WORK/v7.diff")"
log "v7: $(tail -1 "$WORK/v7.diff")"

# Target labels, job and instance are on every series.
json_ok 'all(r["metric"].get("site") == "tbilisi" and r["metric"]["job"] == "routeros" for r in j["data"]["result"])' "$(cat "$WORK/v6.json")"

# At least 40 distinct metrics over both routers.
names=$("$PY" -c '
import json, sys
n = set()
for f in sys.argv[1:]:
    n |= {r["metric"]["__name__"] for r in json.load(open(f))["data"]["result"]}
print(len(n - {"up", "scrape_duration_seconds", "scrape_samples_scraped"}))' "$WORK/v6.json" "$WORK/v7.json")
[ "$names" -ge 40 ] || fail "only $names metric names, want >= 40"
log "$names metric names"

# Missing menus: logged once per router, then never asked again.
n=$(grep -c 'v6: /routing/bgp/session/print is not on this router' "$TIDE_LOG" || true)
assert_eq "log lines for v6's missing /routing/bgp/session" 1 "$n"
n=$(grep -c 'v7: /routing/bgp/peer/print is not on this router' "$TIDE_LOG" || true)
assert_eq "log lines for v7's missing /routing/bgp/peer" 1 "$n"

# Both up, with no error.
req GET /api/v1/targets
json_ok 'sorted(t["health"] for t in j["data"]["activeTargets"]) == ["up", "up"]'
json_ok 'all(t["lastError"] == "" for t in j["data"]["activeTargets"])'
# No password anywhere.
if grep -q s3cret-pw "$TIDE_LOG" || printf '%s' "$BODY" | grep -q s3cret-pw; then
    fail "the password shows in the log or the targets API"
fi
tide_stop "$TIDE_PID"
log ok
