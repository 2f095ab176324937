#!/usr/bin/env bash
# test_host_collect.sh: `tide serve` collects the local host by default, so a
# new user sees their machine's series within one collection interval; the
# values are the host's own (CPU count and MemTotal checked against /proc).
. "$(dirname "$0")/lib.sh"

tide_start "$WORK/data" - --collect-host true --collect-interval 1s

ncpu=$(grep -c '^cpu[0-9]' /proc/stat)
memtotal=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 1024 ))
ok=0
for i in $(seq 1 50); do
    req GET '/api/v1/series' --data-urlencode 'match[]=node_cpu_seconds_total{mode="idle"}' -G
    got=$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')
    if [ "$got" -eq "$ncpu" ]; then ok=1; break; fi
    sleep 0.1
done
[ $ok -eq 1 ] || fail "want $ncpu node_cpu_seconds_total{mode=\"idle\"} series within 5 s, got $got"

req GET '/api/v1/export' --data-urlencode 'match[]=node_memory_MemTotal_bytes' -G
assert_code 200
got=$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(int(json.loads(sys.stdin.readline())["values"][-1]))')
[ "$got" = "$memtotal" ] || fail "node_memory_MemTotal_bytes = $got, /proc/meminfo says $memtotal"

req GET '/api/v1/series' --data-urlencode 'match[]=tide_host_info' -G
assert_contains "tide_host_info" "\"hostname\":\"$(hostname)\"" "$BODY"
log "host series present: $ncpu CPUs, MemTotal $memtotal"
log "PASS"
