#!/usr/bin/env bash
# test_snmp_snmpsim.sh: 100 simulated routers on Debian's snmpsim, polled by
# one tide serve. The routers' data is recorded from the real snmpd's walk
# (snmpsim_lib.sh, snmp/snmprec_gen.py): each has its own community, 2-4
# uplinks with ifAlias "ISP:<provider>_Internet uplinkN" and 20 access
# ports. Checks: every router up; every series of the module present for
# every interface, with ifName/ifAlias labels; the operator's bulk
# query ("which uplinks are down", with names) returns exactly the uplinks the
# data files have down; every router polled twice at a 5 s interval, no poll
# longer than two intervals, polls spread over the interval. Replaces
# test_snmp_scale.sh (100 communities of one real snmpd).
#
# The module walks the columns the monitor page needs (admin/oper status,
# speed, ifName, ifAlias), about 120 varbinds a router: snmpsimd is Python
# and answers about a thousand varbinds a second on a loaded 2-core box, too
# few for if_mib's ~950 per router on 100 routers inside a test's time
# (bench/peer/snmp_fleet.sh runs if_mib on the fleet).
. "$(dirname "$0")/lib.sh"
. "$HERE/snmpd_lib.sh"
. "$HERE/snmpsim_lib.sh"

N=100
INTERVAL=5
snmpsim_routers "$N" "$WORK/routers"
snmpsim_start "$WORK/routers"
read -r IFACES UPLINKS DOWN < <(python3 -c '
import json, sys; s = json.load(open(sys.argv[1]))
print(s["interfaces"], s["uplinks"], s["uplinks_down"])' "$WORK/routers/summary.json")
[ -n "$DOWN" ] || fail "no summary of the generated routers"
log "${SECONDS}s: $N routers generated and served"

{
    cat <<YML
snmp_modules:
  uplinks:
    max_repetitions: 30
    timeout: 5s
    retries: 2
    metrics:
      - {name: sysUpTime, oid: 1.3.6.1.2.1.1.3}
      - {name: ifAdminStatus, oid: 1.3.6.1.2.1.2.2.1.7, index: ifIndex}
      - {name: ifOperStatus, oid: 1.3.6.1.2.1.2.2.1.8, index: ifIndex}
      - {name: ifHighSpeed, oid: 1.3.6.1.2.1.31.1.1.1.15, index: ifIndex}
    lookups:
      - {label: ifAlias, oid: 1.3.6.1.2.1.31.1.1.1.18, index: ifIndex}
      - {label: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, index: ifIndex}
targets:
YML
    for i in $(seq -f %04g 1 $N); do
        cat <<YML
  - kind: snmp
    name: router$i
    address: $SNMPSIM_ADDR
    module: uplinks
    interval: ${INTERVAL}s
    community: router$i
    labels: {router: router$i}
YML
    done
} >"$WORK/tide.yml"
tide_start "$WORK/data" - --config "$WORK/tide.yml"

# q EXPR: the scalar value of an instant query ("" when the result is empty)
q() {
    req GET '/api/v1/query' -G --data-urlencode "query=$1"
    printf '%s' "$BODY" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")'
}

# every router polled twice, one interval apart (deadline generous for a
# loaded machine; the assertions below are on content, not time)
deadline=$((SECONDS + 90))
while [ "$SECONDS" -lt "$deadline" ]; do
    [ "$(q 'count(count_over_time(up{job="snmp"}[2m]) >= 2)')" = "$N" ] && break
    sleep 0.5
done
log "${SECONDS}s: two rounds in"
assert_eq "routers polled twice" "$N" "$(q 'count(count_over_time(up{job="snmp"}[2m]) >= 2)')"
assert_eq "routers up" "$N" "$(q 'count(up{job="snmp"} == 1)')"
# each of the three metrics on every interface, with ifName and router
assert_eq "series (3 metrics x every interface, with ifName and router)" "$((3 * IFACES))" \
    "$(q 'count({__name__=~"ifAdminStatus|ifOperStatus|ifHighSpeed",ifName=~".+",router=~"router.*"})')"
assert_eq "sysUpTime per router" "$N" "$(q 'count(sysUpTime)')"
assert_eq "routers with 22-24 interfaces" "$N" "$(q 'count(count by (router) (ifOperStatus) >= 22 <= 24)')"
assert_eq "uplinks (ifAlias ISP:*)" "$UPLINKS" "$(q 'count(ifOperStatus{ifAlias=~"ISP:.*"})')"

# the operator's monitor page: every uplink down now, with router and names
req GET '/api/v1/query' -G --data-urlencode \
    'query=ifOperStatus{ifAlias=~"ISP:.*"} == 2 and on (router, ifIndex) ifAdminStatus == 1'
printf '%s' "$BODY" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
assert len(r) == int(sys.argv[1]), ("down uplinks", len(r), sys.argv[1])
for s in r:
    m = s["metric"]
    assert m["ifName"].startswith("xe-0/0/"), m
    assert m["ifAlias"].startswith("ISP:") and "uplink" in m["ifAlias"], m
    assert m["router"].startswith("router") and m["instance"], m
' "$DOWN" || fail "bulk 'uplinks down' query: $BODY"

# every poll shorter than twice the interval, every target healthy, the polls
# spread over the interval (many distinct instants), not bunched at one
req GET '/api/v1/targets?scrapePool=snmp'
printf '%s' "$BODY" | python3 -c '
import json, sys
n, interval = int(sys.argv[1]), float(sys.argv[2])
ts = json.load(sys.stdin)["data"]["activeTargets"]
assert len(ts) == n, len(ts)
assert all(t["health"] == "up" for t in ts), [t["lastError"] for t in ts if t["health"] != "up"][:5]
# generous: a loaded machine slows snmpsimd (Python), not the poller
slow = [t["lastScrapeDuration"] for t in ts if t["lastScrapeDuration"] >= 2 * interval]
assert not slow, ("polls longer than twice the interval", slow[:10])
phases = set(t["lastScrape"][17:23] for t in ts)
assert len(phases) >= 20, ("polls bunched, not spread over the interval", sorted(phases)[:10])
' "$N" "$INTERVAL" || fail "targets: $BODY"
log "${SECONDS}s: checked; poll duration avg $(q 'avg(scrape_duration_seconds{job="snmp"})') s, max $(q 'max(scrape_duration_seconds{job="snmp"})') s"
tide_stop "$TIDE_PID"
log "$N routers ($IFACES interfaces, $UPLINKS uplinks, $DOWN down) polled every ${INTERVAL}s, every series present"
log "PASS"
