#!/usr/bin/env bash
# test_snmp_scale.sh: 100 SNMP targets polled from one engine thread. Debian
# has no snmpsim (it is on PyPI only), so the 100 "devices" are 100 targets of
# the real snmpd started here, each with its own session, label and
# community (snmpd.conf gets one rocommunity per device). With a 5 s interval
# every target must be up, polled at least twice in 14 s, with every if_mib
# series present, and the first polls spread over the interval rather than
# bunched at one instant.
. "$(dirname "$0")/lib.sh"
. "$HERE/snmpd_lib.sh"

N=100
snmpd_start
# one community per device, added to the running agent's configuration
for i in $(seq 1 $N); do echo "rocommunity dev$i-ro 127.0.0.1"; done >>"$WORK/snmpd/snmpd.conf"
tide_kill "$SNMPD_PID"
snmpd_port=$SNMPD_PORT
SNMP_PERSISTENT_DIR="$WORK/snmpd/persist" snmpd -f -r -C -c "$WORK/snmpd/snmpd.conf" \
    -p "$WORK/snmpd/snmpd.pid" -Lf "$WORK/snmpd-scale.log" -M /nonexistent -m "" \
    $([ "$(id -u)" -eq 0 ] && echo "-u nobody") >/dev/null 2>&1 &
PIDS+=("$!")
for i in $(seq 1 50); do
    snmpget -v2c -c dev$N-ro -m "" -M /nonexistent -t 0.2 -r 0 "$SNMPD_ADDR" 1.3.6.1.2.1.1.5.0 \
        >/dev/null 2>&1 && break
    sleep 0.1
done

{
    echo "targets:"
    for i in $(seq 1 $N); do
        cat <<YML
  - kind: snmp
    name: dev$i
    address: $SNMPD_ADDR
    interval: 5s
    community: dev$i-ro
    labels: {device: dev$i}
YML
    done
} >"$WORK/tide.yml"
tide_start "$WORK/data" - --config "$WORK/tide.yml"
sleep 14

req GET '/api/v1/query' -G --data-urlencode 'query=count(up{job="snmp"} == 1)'
json_ok "j['data']['result'][0]['value'][1] == '$N'"
req GET '/api/v1/query' -G --data-urlencode 'query=count(count_over_time(up{job="snmp"}[14s]) >= 2)'
json_ok "j['data']['result'][0]['value'][1] == '$N'"
# every device: as many interfaces and series as the agent has
ifaces=$(snmpwalk -v2c -c "$SNMP_COMMUNITY" -m "" -M /nonexistent -On -Oq "$SNMPD_ADDR" \
    1.3.6.1.2.1.2.2.1.1 | wc -l)
req GET '/api/v1/query' -G --data-urlencode 'query=count(count by (device) (ifOperStatus) == '"$ifaces"')'
json_ok "j['data']['result'][0]['value'][1] == '$N'"
req GET '/api/v1/query' -G --data-urlencode 'query=count(count by (device) ({job="snmp",device=~"dev.*"}) == scalar(count({device="dev1"})))'
json_ok "j['data']['result'][0]['value'][1] == '$N'"
# spread: the first polls fall on many distinct instants of the interval
req GET '/api/v1/targets?scrapePool=snmp'
printf '%s' "$BODY" | python3 -c '
import json, sys
j = json.load(sys.stdin)
ts = sorted(t["lastScrape"][17:23] for t in j["data"]["activeTargets"])
assert len(ts) == '"$N"', len(ts)
assert len(set(ts)) >= 20, ("polls bunched", ts[:10])
' || fail "polls not spread over the interval: $BODY"
tide_stop "$TIDE_PID"
log "$N targets up, each polled every 5 s with $ifaces interfaces, polls spread"
log "PASS"
