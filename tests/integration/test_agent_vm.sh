#!/usr/bin/env bash
# test_agent_vm.sh: `tide agent` forwarding to Debian's VictoriaMetrics.
#
#  1. the agent's host metrics reach VM (node_cpu_seconds_total, tide_host_info
#     for the agent's instance);
#  2. outage: VM is stopped for ~5 s while the agent keeps collecting and
#     retrying, then restarted on the same directory and port; once the
#     backlog drained, every collection timestamp of a chosen series between
#     start and end is in VM exactly once (VM keeps duplicates: no dedup flag);
#  3. crash: with VM down and a backlog on disk, the agent is killed with
#     SIGKILL, restarted on the same queue directory, VM restarted: the
#     backlog arrives, still without duplicates.
# Needs victoria-metrics (scripts/deps.sh test installs it): missing, the test fails.
source "$(dirname "$0")/lib.sh"

vm_setup
QDIR="$WORK/queue"
INSTANCE="it-agent-$$"
SERIES="tide_host_info{instance=\"$INSTANCE\"}"
WAIT_MS=3000 # --batch-max-wait: a lost record would leave a gap of ~3 s



agent_start() {
    "$TIDE" agent --remote-write-url "$VM_URL/api/v1/write" --queue-dir "$QDIR" \
        --instance "$INSTANCE" --interval 1s --batch-max-wait "${WAIT_MS}ms" \
        --log-level debug >>"$WORK/agent.log" 2>&1 &
    AGENT_PID=$!
    PIDS+=("$AGENT_PID")
    sleep 0.5
    kill -0 "$AGENT_PID" 2>/dev/null || fail "tide agent exited at start"
}

# timestamps: the sorted timestamps (ms) of $SERIES in VM, one a line.
timestamps() {
    curl -fsS "$VM_URL/internal/force_flush" >/dev/null
    curl -fsS -G --data-urlencode "match[]=$SERIES" "$VM_URL/api/v1/export" |
        python3 -c '
import json, sys
ts = []
for line in sys.stdin:
    if line.strip():
        ts += json.loads(line)["timestamps"]
print("\n".join(str(t) for t in sorted(ts)))'
}

# check_window FROM_MS TO_MS: each timestamp once, none missing in between
# (a gap above 2.5 s at 1 s intervals means a lost collection).
check_window() {
    timestamps | python3 -c '
import sys
lo, hi = int(sys.argv[1]), int(sys.argv[2])
ts = [int(x) for x in sys.stdin if x.strip()]
dups = sorted({t for t in ts if ts.count(t) > 1})
if dups:
    sys.exit("duplicated timestamps: %s" % dups[:10])
w = [t for t in ts if lo <= t <= hi]
if not w or w[0] - lo > 2500 or hi - w[-1] > 2500:
    sys.exit("window [%d, %d] not covered: first %s last %s" % (lo, hi, w[:1], w[-1:]))
gaps = [(a, b) for a, b in zip(w, w[1:]) if b - a > 2500]
if gaps:
    sys.exit("missing collections between %s" % gaps[:5])
print("%d collections in %.1f s, each once" % (len(w), (hi - lo) / 1000))' "$1" "$2" ||
        fail "VM holds the wrong samples for $SERIES in [$1, $2]"
}

now_ms() { date +%s%3N; }

# wait_drained: until the sender is through again (it logs the recovery;
# the rest of the backlog follows at once, and a SIGTERM pushes what is
# pending and gives the sender 2 s to deliver it).
wait_drained() {
    local i
    for i in $(seq 1 100); do
        if grep -q "remote write recovered" "$WORK/agent.log" 2>/dev/null; then
            sleep 0.5
            return 0
        fi
        sleep 0.2
    done
    fail "the agent did not deliver its backlog within 20 s"
}

# --- 1. metrics arrive -------------------------------------------------------
vm_start
T0=$(now_ms)
agent_start
for i in $(seq 1 50); do
    curl -fsS "$VM_URL/internal/force_flush" >/dev/null
    n=$(curl -fsS -G --data-urlencode "match[]=node_cpu_seconds_total{instance=\"$INSTANCE\"}" \
        "$VM_URL/api/v1/series" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')
    [ "$n" -gt 0 ] && break
    sleep 0.2
done
[ "$n" -gt 0 ] || fail "no node_cpu_seconds_total for instance $INSTANCE in VM after 10 s"
log "node_cpu_seconds_total arrived: $n series"

# --- 2. outage ---------------------------------------------------------------
vm_stop
log "VM stopped; the agent keeps collecting"
sleep 5
vm_start
wait_drained
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || fail "tide agent exited with $? after SIGTERM, want 0"
T1=$(now_ms)
check_window "$((T0 + 1500))" "$((T1 - 1500))"
log "outage: $(timestamps | wc -l) samples of $SERIES, none missing or twice"

# --- 3. SIGKILL with a backlog on disk ---------------------------------------
agent_start
sleep 2
vm_stop
T2=$(now_ms)
sleep $((WAIT_MS / 1000 + 3))
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
T3=$(now_ms)
bytes=$(cat "$QDIR"/*.seg | wc -c)
[ "$bytes" -gt 0 ] || fail "no backlog on disk after the outage"
log "agent killed with $bytes bytes queued"
: >"$WORK/agent.log"
agent_start
sleep 1
vm_start
wait_drained
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || fail "tide agent exited with $? after SIGTERM, want 0"
# What was pushed before the kill (all but the last batch-max-wait) arrived.
check_window "$((T2 - 1000))" "$((T3 - WAIT_MS - 1500))"
grep -q "records (.*) waiting from before" "$WORK/agent.log" ||
    fail "the restarted agent did not report the queued backlog"
log "SIGKILL: the backlog arrived after the restart, once"
vm_stop
exit 0
