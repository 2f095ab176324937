#!/usr/bin/env bash
# test_snmp_walk_faults.sh: walks against agents that answer the hard ways
# real devices do (snmp/fault_agent.py, one community per behaviour), next
# to Debian's snmpd as the good device:
#   - an agent that cuts GetBulk answers short (mid-row when Tide walks
#     ifTable and ifXTable in one request) still gives the whole table;
#   - an agent that says tooBig to a request of two subtrees is walked one
#     subtree at a time and still gives the whole table;
#   - an agent whose walk goes backwards (malformed varbinds) and one that
#     answers bytes that are not BER show up 0 and a clear lastError;
# and through all of it snmpd's target keeps its 1 s interval.
. "$(dirname "$0")/lib.sh"
. "$HERE/snmpd_lib.sh"

snmpd_start
python3 "$HERE/snmp/fault_agent.py" "$WORK/agent.port" 2>"$WORK/agent.log" &
PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$WORK/agent.port" ] && break; sleep 0.1; done
[ -s "$WORK/agent.port" ] || fail "fault agent did not start: $(cat "$WORK/agent.log")"
AGENT="127.0.0.1:$(cat "$WORK/agent.port")"
log "fault agent on udp $AGENT"

{
    echo "targets:"
    echo "  - {kind: snmp, name: good, address: '$SNMPD_ADDR', interval: 1s, community: $SNMP_COMMUNITY, labels: {target: good}}"
    for c in truncate toobig backwards garbage; do
        echo "  - {kind: snmp, name: $c, address: '$AGENT', interval: 1s, community: $c, timeout: 500ms, retries: 0, labels: {target: $c}}"
    done
} >"$WORK/tide.yml"
tide_start "$WORK/data" - --config "$WORK/tide.yml"

wait_snmp_health truncate=up toobig=up backwards=down garbage=down good=up
assert_contains "backwards lastError" "does not follow" "$(target_field backwards 't["lastError"]')"
assert_contains "garbage lastError" "timeout: no answer within 500 ms" \
    "$(target_field garbage 't["lastError"]')"
log "cut and tooBig answers walked to the end; malformed ones down with clear errors"

# The whole table from the agents that cut or refuse: every interface with
# its status, names and 64-bit counter, as the agent holds them.
want_table='[("1", "lo", "lo", "", "1", "8589935592"), ("2", "eth0", "eth0", "ISP:Magti_Internet uplink1", "1", "12884901887"), ("3", "eth1", "eth1", "ISP:Silknet_Internet uplink2", "2", "8589934669")]'
for c in truncate toobig; do
    req GET '/api/v1/query' -G --data-urlencode "query=ifOperStatus{target=\"$c\"}"
    oper=$(printf '%s' "$BODY" | python3 -c 'import json,sys; print({r["metric"]["ifIndex"]: r["value"][1] for r in json.load(sys.stdin)["data"]["result"]})')
    req GET '/api/v1/query' -G --data-urlencode "query=ifHCInOctets{target=\"$c\"}"
    BODY=$(printf '%s' "$BODY" | python3 -c '
import json, sys
oper = eval(sys.argv[1])
r = json.load(sys.stdin)["data"]["result"]
print(json.dumps(sorted((m["metric"]["ifIndex"], m["metric"].get("ifDescr", ""), m["metric"].get("ifName", ""),
    m["metric"].get("ifAlias", ""), oper.get(m["metric"]["ifIndex"]), m["value"][1]) for m in r)))' "$oper")
    printf '%s' "$BODY" | python3 -c "import json,sys; got=[tuple(x) for x in json.load(sys.stdin)]; sys.exit(0 if got == $want_table else 1)" ||
        fail "$c: want $want_table, got $BODY"
done
# The scalars came too: in the first GETBULK from truncate (cut to them
# alone), by a GET of their own from toobig after its tooBig.
for c in truncate toobig; do
    req GET '/api/v1/query' -G --data-urlencode "query=sysUpTime{target=\"$c\"} + on(target) group_left(sysName) snmp_device_info"
    json_ok 'len(j["data"]["result"]) == 1 and j["data"]["result"][0]["value"][1] == "123457" and j["data"]["result"][0]["metric"]["sysName"] == "fault-agent"'
done
# What was asked: two subtrees and five scalars in one GETBULK, then after
# toobig's tooBig a GET of the scalars and one subtree at a time.
grep -q '^truncate a5 5 7$' "$WORK/agent.log" || fail "truncate was never asked for scalars and two subtrees at once: $(head "$WORK/agent.log")"
grep -q '^toobig a0 0 5$' "$WORK/agent.log" || fail "toobig was never asked for its scalars alone after tooBig: $(grep toobig "$WORK/agent.log" | head)"
grep -q '^toobig a5 0 1$' "$WORK/agent.log" || fail "toobig was never asked for one subtree after tooBig"
log "both give the whole table and the scalars, equal to the agent's"

# The good device kept its 1 s interval while the others failed.
assert_fleet_after_faults good 'backwards|garbage' \
    backwards=0 garbage=0 good=1 toobig=1 truncate=1
tide_stop "$TIDE_PID"
log "PASS"
