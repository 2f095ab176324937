#!/usr/bin/env bash
# test_forward_vm.sh: `remote_write:` forwarding into Debian's
# victoria-metrics (the cluster's stand-in), through an outage:
#   1. samples 0..99 are written to Tide and arrive in VM;
#   2. VM stops; 100..199 are written during the outage (OUTAGE_S seconds,
#      default 10; the benchmark uses a minute), Tide retries with backoff
#      (tide_remote_storage_samples_retried_total grows) and keeps them
#      queued in DATA/forward/vm;
#   3. Tide is stopped and started again in the middle of the outage: the
#      queue is still there; 200..249 are written after the restart;
#   4. VM comes back: everything is delivered, and VM's export holds every
#      sample exactly once (VM keeps duplicates: no dedup flag);
#   5. a second Tide with `storage: none` and `query_backend:` pointing at
#      VM forwards what it is sent and answers /api/v1/query and `tide
#      query` through VM, while /api/v1/export is refused with the reason.
. "$(dirname "$0")/lib.sh"
. "$HERE/forward_lib.sh"

vm_setup
OUTAGE_S=${OUTAGE_S:-10}

vm_export() {
    curl -fsS "$VM_URL/internal/force_flush" >/dev/null
    curl -fsS -G --data-urlencode 'match[]=fw_test' "$VM_URL/api/v1/export" | python3 -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        d = json.loads(line)
        for t, v in zip(d["timestamps"], d["values"]):
            print(d["metric"]["s"], t, int(v))'
}

cat >"$WORK/tide.yml" <<YML
remote_write:
  - url: $VM_URL/api/v1/write
    name: vm
    remote_timeout: 2s
    queue_config:
      max_samples_per_send: 50
      batch_send_deadline: 200ms
      min_backoff: 50ms
      max_backoff: 1s
YML

# 1. delivery
vm_start -search.latencyOffset=0s
tide_start "$WORK/data" - --config "$WORK/tide.yml"
write_range 0 99
wait_delivered 300
vm_export >"$WORK/vm1.txt"
check_once "$WORK/vm1.txt" 100

# 2. outage
vm_stop
T_OUT=$(date +%s)
write_range 100 149
sleep $((OUTAGE_S / 2))
write_range 150 199
for _ in $(seq 1 50); do
    r=$(self_metric tide_remote_storage_samples_retried_total)
    [ "${r%.*}" -gt 0 ] && break
    sleep 0.2
done
[ "${r%.*}" -gt 0 ] || fail "no retried samples counted during the outage"
pending=$(self_metric tide_remote_storage_samples_pending)
[ "${pending%.*}" = 300 ] || fail "want 300 samples pending during the outage, have $pending"
grep -q "retrying in" "$TIDE_LOG" || fail "the outage is not in the log"

# 3. restart mid-outage
tide_stop "$TIDE_PID"
grep -q "stay queued for the next start" "$TIDE_LOG" || fail "stop did not report the queued sends"
tide_start "$WORK/data" - --config "$WORK/tide.yml"
grep -q "queued from before, delivering" "$TIDE_LOG" || fail "the restarted Tide did not find its queue"
write_range 200 249
left=$((OUTAGE_S - ($(date +%s) - T_OUT)))
[ "$left" -gt 0 ] && sleep "$left"

# 4. back: every sample once (the 300 queued before the restart, 150 after it)
vm_start -search.latencyOffset=0s
wait_delivered 450
vm_export >"$WORK/vm2.txt"
check_once "$WORK/vm2.txt" 250
# Tide's own copy agrees.
curl -fsS -G --data-urlencode 'match[]=fw_test' "$TIDE_URL/api/v1/export" >"$WORK/tide.json"
n=$(python3 -c 'import json,sys; print(sum(len(json.loads(l)["values"]) for l in open(sys.argv[1]) if l.strip()))' "$WORK/tide.json")
assert_eq "samples in Tide's own storage" 750 "$n"
tide_stop "$TIDE_PID"

# 5. storage: none + query_backend through VM
cat >"$WORK/none.yml" <<YML
storage: none
query_backend: $VM_URL
remote_write:
  - url: $VM_URL/api/v1/write
    queue_config: {batch_send_deadline: 100ms}
YML
tide_start "$WORK/none-data" - --config "$WORK/none.yml"
[ ! -d "$WORK/none-data/wal" ] || fail "storage: none created a WAL"
now=$(date +%s)
printf 'fw_none{k="x"} 42 %s000\n' "$((now - 120))" |
    curl -fsS -X POST --data-binary @- "$TIDE_URL/api/v1/import/prometheus" >/dev/null
for _ in $(seq 1 50); do
    curl -fsS "$VM_URL/internal/force_flush" >/dev/null
    req GET "/api/v1/query?query=fw_none&time=$((now - 110))"
    echo "$BODY" | grep -q '"42"' && break
    sleep 0.2
done
echo "$BODY" | grep -q '"42"' || fail "query through the backend: $BODY"
out=$("$TIDE" query --server "$TIDE_URL" --time "$((now - 110))" 'fw_none * 2' 2>&1) || fail "tide query: $out"
echo "$out" | grep -q 84 || fail "tide query through the backend: $out"
req GET "/api/v1/export?match[]=fw_none"
assert_eq "export with storage: none" 503 "$CODE"
assert_contains "export refusal" "no local storage (storage: none)" "$BODY"
tide_stop "$TIDE_PID"

# A storage: none without an endpoint is refused at start.
printf 'storage: none\n' >"$WORK/bad.yml"
if "$TIDE" serve --data "$WORK/bad" --listen 127.0.0.1:0 --collect-host false --config "$WORK/bad.yml" >"$WORK/bad.log" 2>&1; then
    fail "storage: none without remote_write was accepted"
fi
grep -q "needs a remote_write" "$WORK/bad.log" || fail "unclear refusal: $(cat "$WORK/bad.log")"
log "ok"
