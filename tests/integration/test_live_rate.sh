#!/usr/bin/env bash
# test_live_rate.sh: display rate vs storage rate (docs/ui.md#display-rate)
# with a real `tide agent` and the server's own host collector, both storing
# every 5 s. A live stream watching both hosts at 0.5 s
# (GET /api/v1/stream?...&interval=0.5&host=A&host=B) must
#   - get points ~0.5 s apart: the stream evaluates timestamp(node_load1{…}),
#     the time of the newest sample, so each new display-rate point shows;
#   - while storage (/api/v1/export, and query_range's samples) keeps
#     points only ~5 s apart over the same time;
#   - and once the stream is closed, the lease lapses: the agent logs the
#     end of the display rate and both hosts are sampled every 5 s again.
# /metrics shows tide_live_leases_active and the ring's points meanwhile.
source "$(dirname "$0")/lib.sh"

AGENT="it-live-agent-$$"
LOCAL=$(python3 -c 'import socket; print(socket.gethostname())')
tide_start "$WORK/data" - --collect-host true --collect-interval 5s

"$TIDE" agent --server "$TIDE_URL/" --queue-dir "$WORK/queue" --instance "$AGENT" \
    --interval 5s --batch-max-wait 1s --top-n 0 >"$WORK/agent.log" 2>&1 &
PIDS+=("$!")

# wait_for SECONDS WHAT CMD...: retry CMD every 0.2 s.
wait_for() {
    local secs=$1 what=$2 i
    shift 2
    for i in $(seq 1 $((secs * 5))); do
        "$@" && return 0
        sleep 0.2
    done
    fail "timed out after ${secs}s waiting for $what"
}

# stored_ts INSTANCE FROM_MS: the stored node_load1 timestamps (ms) of a host
# from FROM_MS on, one per line, through the export API.
stored_ts() {
    curl -fsS -G --data-urlencode "match[]=node_load1{instance=\"$1\"}" \
        --data-urlencode "start=$(python3 -c "print($2/1000)")" \
        "$TIDE_URL/api/v1/export" | python3 -c '
import json, sys
for l in sys.stdin:
    if l.strip():
        for t in sorted(json.loads(l)["timestamps"]):
            print(t)'
}

# gaps_ms: the gaps between consecutive numbers on stdin, one per line.
gaps_ms() { python3 -c '
import sys
v = [int(float(x)) for x in sys.stdin.read().split()]
for a, b in zip(v, v[1:]):
    print(b - a)'; }

has_samples() { [ "$(stored_ts "$1" 0 | wc -l)" -ge 1 ]; }
wait_for 30 "the agent's first samples" has_samples "$AGENT"
wait_for 30 "the local collector's first samples" has_samples "$LOCAL"

metric() { curl -fsS "$TIDE_URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
[ "$(metric tide_live_leases_active)" = 0 ] || fail "a lease before any screen: $(metric tide_live_leases_active)"

# At most 8 hosts per stream, none empty.
many=()
for i in 1 2 3 4 5 6 7 8 9; do many+=(--data "host=h$i"); done
req GET "/api/v1/stream" -G --data-urlencode "query=up" "${many[@]}"
assert_code 400
req GET "/api/v1/stream" -G --data-urlencode "query=up" --data "host="
assert_code 400

# The screen: one stream watching both hosts at 0.5 s.
Q0="timestamp(node_load1{instance=\"$AGENT\"})"
Q1="timestamp(node_load1{instance=\"$LOCAL\"})"
curl -sN -G --data-urlencode "query=$Q0" --data-urlencode "query=$Q1" --data "interval=0.5" \
    --data-urlencode "host=$AGENT" --data-urlencode "host=$LOCAL" \
    "$TIDE_URL/api/v1/stream" >"$WORK/stream.txt" 2>"$WORK/curl.log" &
STREAM_PID=$!
PIDS+=("$STREAM_PID")
OPENED=$(python3 -c 'import time; print(int(time.time() * 1000))')

# The agent learns it at its next config poll (within its 5 s interval).
wait_for 15 "the agent to take the display rate" \
    grep -q "display rate 500 ms while a screen watches (storage every 5000 ms)" "$WORK/agent.log"
active2() { [ "$(metric tide_live_leases_active)" = 2 ]; }
wait_for 5 "two leases active in /metrics" active2
WATCH_FROM=$(python3 -c 'import time; print(int(time.time() * 1000))')
sleep 8
WATCH_TO=$(python3 -c 'import time; print(int(time.time() * 1000))')
ring_points=$(metric tide_live_ring_points)
thinned=$(metric tide_live_ring_thinned_total)
log "ring: $ring_points points held, $thinned kept out of storage so far"
python3 -c "import sys; sys.exit(0 if float('$ring_points') > 0 and float('$thinned') > 0 else 1)" ||
    fail "the ring holds no points ($ring_points) or thinned none ($thinned)"

# The stream: distinct newest-sample times per query within the window.
stream_ts() {
    python3 - "$WORK/stream.txt" "$1" "$WATCH_FROM" "$WATCH_TO" <<'EOF'
import json, sys
path, q, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
seen = set()
for line in open(path):
    if not line.startswith("data: "):
        continue
    ev = json.loads(line[6:])
    if ev.get("q") != q or "result" not in ev:
        continue
    for r in ev["result"]:
        t = int(round(float(r["value"]) * 1000))
        if lo <= t <= hi:
            seen.add(t)
for t in sorted(seen):
    print(t)
EOF
}
# check_rate WHAT MIN_COUNT LO_MS HI_MS < gaps: the median gap in [LO, HI].
check_gaps() {
    local what=$1 min_count=$2 lo=$3 hi=$4
    python3 -c "
import statistics, sys
g = [int(x) for x in sys.stdin.read().split()]
if len(g) < $min_count:
    print('$what: only %d gaps: %s' % (len(g), g)); sys.exit(1)
m = statistics.median(g)
print('$what: %d gaps, median %d ms, min %d, max %d' % (len(g), m, min(g), max(g)))
sys.exit(0 if $lo <= m <= $hi and min(g) >= ${5:-0} else 1)"
}

for q in 0 1; do
    host=$AGENT
    [ "$q" = 1 ] && host=$LOCAL
    out=$(stream_ts "$q" | gaps_ms | check_gaps "stream of $host" 10 350 700) ||
        fail "the stream did not get display-rate points: $out"
    log "$out"
done

# query_range at 0.5 s over the watched window sees only stored points: the
# same value (the sample time) repeats until the next stored sample.
qr_distinct=$(curl -fsS -G --data-urlencode "query=$Q0" \
    --data "start=$(python3 -c "print($WATCH_FROM/1000)")" \
    --data "end=$(python3 -c "print($WATCH_TO/1000)")" --data "step=0.5" \
    "$TIDE_URL/api/v1/query_range" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(len({v for s in r for _, v in s["values"]}))')
[ "$qr_distinct" -le 3 ] || fail "query_range saw $qr_distinct distinct sample times in 8 s, want <= 3"
log "query_range over the 8 s: $qr_distinct distinct stored samples"

# The screen closes: nobody renews, the leases lapse, the host goes back.
kill -TERM "$STREAM_PID"
wait "$STREAM_PID" 2>/dev/null || true
CLOSED=$(python3 -c 'import time; print(int(time.time() * 1000))')
# Storage over the whole time the stream was open (and the 10 s before):
# ~5 s apart, nothing closer than 4 s (the other points are in the ring only).
for host in "$AGENT" "$LOCAL"; do
    out=$(stored_ts "$host" "$((OPENED - 10000))" | awk -v hi="$CLOSED" '$1 <= hi' |
        gaps_ms | check_gaps "storage of $host while watched" 2 4500 5600 4000) ||
        fail "storage kept display-rate points: $out"
    log "$out"
done
wait_for 15 "the agent to end the display rate" \
    grep -q "display rate ended, back to 5000 ms" "$WORK/agent.log"
active0() { [ "$(metric tide_live_leases_active)" = 0 ]; }
wait_for 10 "no lease active in /metrics" active0
LAPSED=$(python3 -c 'import time; print(int(time.time() * 1000))')
log "leases lapsed $((LAPSED - CLOSED)) ms after the stream closed"
sleep 12
for host in "$AGENT" "$LOCAL"; do
    out=$(stored_ts "$host" "$LAPSED" | gaps_ms | check_gaps "collection of $host after" 1 4500 5600 4000) ||
        fail "$host is not back at its 5 s interval: $out"
    log "$out"
    # Across the whole test, the lease's start and end included: never
    # closer than 4 s, never a gap over two intervals.
    out=$(stored_ts "$host" 0 | gaps_ms | python3 -c '
import sys
g = [int(x) for x in sys.stdin.read().split()]
print("all stored gaps: %s" % g)
sys.exit(0 if g and min(g) >= 4000 and max(g) <= 10500 else 1)') ||
        fail "$host: stored spacing broken around the lease: $out"
    log "$host $out"
done
tide_stop "$TIDE_PID"
