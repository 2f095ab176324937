#!/usr/bin/env bash
# test_scrape_snmp_relabel.sh: `metric_relabel_configs:` on an SNMP target
# (issue 10 item 3) against Debian's snmpd on a free UDP port. The rules
# keep only the loopback interface's ifOperStatus-family series and drop
# ifInDiscards, rename ifHCInOctets to if_in_octets_total, and derive a
# `kind` label from ifDescr ("lo" -> loopback) the way an operator derives
# isp_provider from ifAlias. Proves: the dropped series is absent, the
# renamed one present under its new name only, the derived label present,
# series of other interfaces gone, the target label and job still there,
# and the meta series up unaffected. A bad rule is refused at start with
# file:line:col.
. "$(dirname "$0")/lib.sh"
. "$HERE/snmpd_lib.sh"

snmpd_start

cat >"$WORK/tide.yml" <<YML
targets:
  - kind: snmp
    name: r1
    address: $SNMPD_ADDR
    interval: 1s
    community: $SNMP_COMMUNITY
    labels: {site: lab}
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: ifInDiscards
        action: drop
      - source_labels: [ifDescr]
        regex: lo
        target_label: kind
        replacement: loopback
      - source_labels: [__name__]
        regex: ifHCInOctets
        target_label: __name__
        replacement: if_in_octets_total
      - source_labels: [__name__, ifDescr]
        regex: '(if.*|sys.*);(lo)?'
        action: keep
YML
tide_start "$WORK/data" - --config "$WORK/tide.yml"

value_of() { # value_of QUERY: the first value, or "none"
    local body
    body=$(curl -fsS -G --data-urlencode "query=$1" "$TIDE_URL/api/v1/query")
    if [[ $body =~ \"value\":\[[0-9.e+]+,\"([^\"]*)\"\] ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo none
    fi
}
for _ in $(seq 1 100); do
    [ "$(value_of 'up{job="snmp"}')" = 1 ] && break
    sleep 0.2
done
[ "$(value_of 'up{job="snmp"}')" = 1 ] || fail "the snmp target is not up"
sleep 1.5 # one more poll after the first

[ "$(value_of 'count(ifInDiscards)')" = none ] || fail "ifInDiscards was not dropped"
[ "$(value_of 'count(ifHCInOctets)')" = none ] || fail "ifHCInOctets is still there"
[ "$(value_of 'count(if_in_octets_total{ifDescr="lo",kind="loopback",site="lab",job="snmp"})')" = 1 ] ||
    fail "if_in_octets_total with kind=loopback, site and job is missing"
[ "$(value_of 'count(ifOperStatus{ifDescr!="lo"})')" = none ] ||
    fail "series of other interfaces were kept"
[ "$(value_of 'ifOperStatus{ifDescr="lo",kind="loopback"}')" != none ] ||
    fail "ifOperStatus of lo is missing"
log "drop, rename, derived label and keep ok"
tide_stop "$TIDE_PID"

printf 'targets:\n  - kind: snmp\n    address: %s\n    metric_relabel_configs:\n      - action: hashmod\n        source_labels: [a]\n' \
    "$SNMPD_ADDR" >"$WORK/bad.yml"
rc=0
"$TIDE" serve --config "$WORK/bad.yml" --data "$WORK/bad" --listen 127.0.0.1:0 \
    --collect-host false >"$WORK/bad.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "a bad rule: exit $rc, want 2"
grep -q "bad.yml:5:9: .*modulus" "$WORK/bad.log" || {
    cat "$WORK/bad.log" >&2
    fail "no file:line:col for the bad rule"
}
log "ok"
