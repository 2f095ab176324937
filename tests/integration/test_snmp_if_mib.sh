#!/usr/bin/env bash
# test_snmp_if_mib.sh: Tide's SNMP poller against Debian's snmpd, started
# here on a free 127.0.0.1 UDP port (snmpd_lib.sh). One v2c and one v3
# (authPriv, SHA/AES) target poll the agent with the built-in if_mib every
# second. Tide's names, label sets and values must equal what Debian's
# prometheus-snmp-exporter answers for the same agent with the if_mib module
# (snmp/snmp_exporter_if_mib.yml; counters within one poll's drift) and what
# snmpwalk reads; both targets show up 1 with job and instance, and the
# device info series names the agent. `tide snmp walk|get` prints what
# snmpwalk prints, and a v3 user with a wrong password gets a clear error.
. "$(dirname "$0")/lib.sh"
. "$HERE/snmpd_lib.sh"

command -v prometheus-snmp-exporter >/dev/null ||
    fail "prometheus-snmp-exporter is not installed (scripts/deps.sh test installs it)"
snmpd_start

cat >"$WORK/tide.yml" <<YML
targets:
  - kind: snmp
    name: v2c
    address: $SNMPD_ADDR
    interval: 1s
    community: $SNMP_COMMUNITY
    labels: {target: v2c}
  - kind: snmp
    name: v3
    address: $SNMPD_ADDR
    interval: 1s
    version: 3
    username: $SNMP_V3_USER
    security_level: authPriv
    auth_protocol: SHA
    auth_password: $SNMP_V3_AUTH
    priv_protocol: AES
    priv_password: $SNMP_V3_PRIV
    max_repetitions: 10
    labels: {target: v3}
YML
tide_start "$WORK/data" - --config "$WORK/tide.yml"

sed "s/@COMMUNITY@/$SNMP_COMMUNITY/" "$HERE/snmp/snmp_exporter_if_mib.yml" >"$WORK/snmp.yml"
spawn_ready snmp_exporter /metrics 300 prometheus-snmp-exporter --config.file="$WORK/snmp.yml" \
    --web.listen-address="127.0.0.1:@PORT@" ||
    fail "prometheus-snmp-exporter did not start (logs: $WORK/snmp_exporter-*.log)"
EXPORTER_URL="http://127.0.0.1:$SPAWN_PORT"

# Both targets up, with Prometheus' meta series.
ok=0
for i in $(seq 1 150); do
    req GET '/api/v1/query' --data-urlencode 'query=up{job="snmp"}' -G
    if printf '%s' "$BODY" | "${JSONTOOL[@]}" check \
        'sorted((r["metric"]["target"], r["value"][1]) for r in j["data"]["result"]) == [("v2c", "1"), ("v3", "1")]'; then
        ok=1
        break
    fi
    sleep 0.1
done
[ $ok -eq 1 ] || fail "up{job=\"snmp\"}: want 1 for v2c and v3, got $BODY"
json_ok "all(r['metric']['instance'] == '$SNMPD_ADDR' for r in j['data']['result'])"
req GET '/api/v1/query' -G --data-urlencode 'query=scrape_samples_scraped{target="v2c"} > 100 and scrape_duration_seconds{target="v2c"} < 5'
json_ok 'len(j["data"]["result"]) == 1'
log "v2c and v3 targets up, meta series present"

# The three readings, as close together as the tools allow.
snmpwalk_ref 1.3.6.1.2.1.2.2.1 1.3.6.1.2.1.31.1.1.1 >"$WORK/walk.txt"
sleep 1.2 # a fresh poll after the walk
curl -fsS -G "$TIDE_URL/api/v1/query" --data-urlencode 'query={target="v2c"}' >"$WORK/tide.json"
curl -fsS -G "$TIDE_URL/api/v1/query" --data-urlencode 'query={target="v3"}' >"$WORK/tide-v3.json"
curl -fsS "$EXPORTER_URL/snmp?module=if_mib&target=$SNMPD_ADDR" >"$WORK/exporter.txt"
python3 "$HERE/snmp/compare_if_mib.py" "$WORK/tide.json" "$WORK/exporter.txt" "$WORK/walk.txt" \
    "$WORK/tide-v3.json" "$SNMP_SYSNAME" >"$WORK/compare.out" ||
    fail "if_mib differs: $(cat "$WORK/compare.out")"
log "$(cat "$WORK/compare.out")"

# The CLI: the same strings as snmpwalk; v3 works; wrong credentials say why.
"$TIDE" snmp walk "$SNMPD_ADDR" 1.3.6.1.2.1.2.2.1.2 --community "$SNMP_COMMUNITY" >"$WORK/cli.txt" ||
    fail "tide snmp walk failed"
snmpwalk -v2c -c "$SNMP_COMMUNITY" -m "" -M /nonexistent -On -Oq "$SNMPD_ADDR" 1.3.6.1.2.1.2.2.1.2 |
    sed 's/ "\(.*\)"$/ \1/' >"$WORK/cli-ref.txt"
sed 's/ = OCTET STRING: / /' "$WORK/cli.txt" | diff "$WORK/cli-ref.txt" - >"$WORK/cli.diff" ||
    fail "tide snmp walk differs from snmpwalk: $(cat "$WORK/cli.diff")"
out=$("$TIDE" snmp get "$SNMPD_ADDR" 1.3.6.1.2.1.1.5.0 --version 3 --username "$SNMP_V3_USER" \
    --auth-password "$SNMP_V3_AUTH" --priv-password "$SNMP_V3_PRIV") || fail "tide snmp get v3 failed"
assert_eq "tide snmp get sysName (v3)" ".1.3.6.1.2.1.1.5.0 = OCTET STRING: $SNMP_SYSNAME" "$out"
rc=0
out=$("$TIDE" snmp get "$SNMPD_ADDR" 1.3.6.1.2.1.1.5.0 --version 3 --username "$SNMP_V3_USER" \
    --auth-password wrong-password-1 --priv-password "$SNMP_V3_PRIV" --timeout 1s 2>&1) || rc=$?
assert_eq "tide snmp get with a wrong v3 password: exit" 1 "$rc"
assert_contains "wrong v3 password" "Authentication failure" "$out"
case "$out" in *wrong-password-1*) fail "the password is in the error: $out" ;; esac
rc=0
out=$("$TIDE" snmp get "$SNMPD_ADDR" 1.3.6.1.2.1.1.5.0 --version 3 --username nosuchuser \
    --timeout 1s 2>&1) || rc=$?
assert_eq "tide snmp get, unknown v3 user: exit" 1 "$rc"
assert_contains "unknown v3 user" "Unknown user name" "$out"
rc=0
"$TIDE" snmp walk "$SNMPD_ADDR" ifName >/dev/null 2>&1 || rc=$?
assert_eq "tide snmp walk with a MIB name: exit" 2 "$rc"
log "tide snmp walk/get agree with snmpwalk; v3 errors are clear"

tide_stop "$TIDE_PID"
log "PASS"
