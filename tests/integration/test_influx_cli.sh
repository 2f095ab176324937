#!/usr/bin/env bash
# test_influx_cli.sh: Debian's `influx` client (influxdb-client, InfluxDB 1.x
# CLI) imports a file into Tide as it would into InfluxDB: it pings /ping,
# runs the DDL section through /query, posts the DML section to /write with
# precision=s. The samples must then come back exactly through
# /api/v1/export. Skipped (exit 0, SKIP printed) only when `influx` is not
# installed: scripts/deps.sh test installs it.
. "$(dirname "$0")/lib.sh"

INFLUX=${INFLUX:-$(command -v influx || true)}
if [ -z "$INFLUX" ]; then
    echo "SKIP: the influx CLI is not installed (scripts/deps.sh test installs influxdb-client)"
    exit 0
fi

NOW_S=$(date +%s)
T_S=$((NOW_S - 600))
T_MS=$((T_S * 1000))

tide_start "$WORK/data" -

cat >"$WORK/import.txt" <<EOF
# DDL
CREATE DATABASE tidetest
CREATE RETENTION POLICY oneday ON tidetest DURATION 1d REPLICATION 1

# DML
# CONTEXT-DATABASE: tidetest
# CONTEXT-RETENTION-POLICY: oneday
cpu,host=a,region=eu usage_user=1.5,usage_system=0.25 $T_S
cpu,host=b,region=us usage_user=99.75,usage_system=3 $((T_S + 10))
mem,host=a used=1048576i,free=2.5e9 $T_S
disk,host=a,path=/var\ log used_percent=42.125 $((T_S + 20))
up,host=a value=true $T_S
EOF

out=$("$INFLUX" -host 127.0.0.1 -port "$TIDE_PORT" -import -path "$WORK/import.txt" -precision s 2>&1) ||
    fail "influx -import failed: $out"
log "influx said: $(printf '%s' "$out" | tr '\n' ' ')"
assert_contains "influx -import output" "Processed 5 inserts" "$out"
assert_contains "influx -import output" "Failed 0 inserts" "$out"

cat >"$WORK/want.jsonl" <<EOF
{"metric":{"__name__":"cpu_usage_user","host":"a","region":"eu"},"values":[1.5],"timestamps":[$T_MS]}
{"metric":{"__name__":"cpu_usage_system","host":"a","region":"eu"},"values":[0.25],"timestamps":[$T_MS]}
{"metric":{"__name__":"cpu_usage_user","host":"b","region":"us"},"values":[99.75],"timestamps":[$((T_MS + 10000))]}
{"metric":{"__name__":"cpu_usage_system","host":"b","region":"us"},"values":[3],"timestamps":[$((T_MS + 10000))]}
{"metric":{"__name__":"mem_used","host":"a"},"values":[1048576],"timestamps":[$T_MS]}
{"metric":{"__name__":"mem_free","host":"a"},"values":[2500000000],"timestamps":[$T_MS]}
{"metric":{"__name__":"disk_used_percent","host":"a","path":"/var log"},"values":[42.125],"timestamps":[$((T_MS + 20000))]}
{"metric":{"__name__":"up","host":"a"},"values":[1],"timestamps":[$T_MS]}
EOF
"${JSONTOOL[@]}" canon-export <"$WORK/want.jsonl" >"$WORK/want.canon"
export_canon '{__name__=~".+"}' >"$WORK/got.canon"
diff -u "$WORK/want.canon" "$WORK/got.canon" >&2 || fail "samples imported by the influx CLI differ (- want, + got)"

# A bad line in an import: the CLI reports the failed batch, the good lines stay.
# The CLI joins lines that keep their own "\n" with another "\n", so the bad
# line is line 3 of the request body, and that is the line Tide names.
cat >"$WORK/bad.txt" <<EOF
# DML
# CONTEXT-DATABASE: tidetest
good,n=1 value=1 $T_S
bad,n=2 value= $T_S
good,n=3 value=3 $T_S
EOF
out=$("$INFLUX" -host 127.0.0.1 -port "$TIDE_PORT" -import -path "$WORK/bad.txt" -precision s 2>&1) &&
    fail "influx -import of a bad line succeeded: $out"
assert_contains "influx -import output for a bad line" "partial write" "$out"
assert_contains "influx -import output for a bad line" "line 3: " "$out"
got=$(export_canon good)
assert_eq "good lines next to a bad one" \
    "{\"__name__\":\"good\",\"n\":\"1\"} $T_MS=1.0
{\"__name__\":\"good\",\"n\":\"3\"} $T_MS=3.0" "$got"

tide_stop "$TIDE_PID"
log "PASS"
