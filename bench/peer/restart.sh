#!/usr/bin/env bash
# restart.sh: Tide's start-up on a kept data directory, build against build:
# how long the WAL replay takes (`storage open in` from the log), the wall
# time until /health answers, the server's CPU seconds by then, and the
# latency of the instant query cardinality.sh waits for
# (count(cpu_usage_user) over every host), each start on a fresh copy of the
# same directory. For A/B runs of the replay and of big selections: the
# same WAL, no peer, no load phase.
#
# Data: a stopped server's data directory, by default the one
# bench/peer/cardinality.sh leaves (bench/out/card-run-tide/data: 1 M series
# x 10 points in the WAL, since head_cut_on_stop is off). Run cardinality.sh
# once first, or give --data.
#
# Usage: bench/peer/restart.sh [--data DIR] [--runs R=5] [--queries Q=5]
#          [--time UNIX_SECONDS] [BIN...]
#   BIN: Tide binaries to compare (default build/tide); with two or more,
#   the runs alternate between them. --time is the query's evaluation time
#   (default: `last` from cardinality.sh's manifest next to the data).
# Prints one line per start and the medians per binary.
# Bounded: 120 s for each start, 10 s for each query; each server is
# stopped by its PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/peer/lib.sh"
DATA="$OUT/card-run-tide/data" RUNS=5 QUERIES=5 QTIME=""
BINS=()
while [ $# -gt 0 ]; do
    case "$1" in
    --data) DATA=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --queries) QUERIES=$2; shift 2 ;;
    --time) QTIME=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    -*) echo "restart.sh: unknown argument $1" >&2; exit 2 ;;
    *) BINS+=("$1"); shift ;;
    esac
done
[ ${#BINS[@]} -gt 0 ] || BINS=("$TIDE_BIN")
[ -d "$DATA/wal" ] || { echo "restart.sh: no WAL in $DATA (run bench/peer/cardinality.sh first)" >&2; exit 2; }
if [ -z "$QTIME" ]; then
    for manifest in "$OUT"/card-s*/manifest; do
        [ -f "$manifest" ] && QTIME=$(sed -n 's/^last=//p' "$manifest") && break
    done
    [ -n "$QTIME" ] || { echo "restart.sh: give --time (no cardinality.sh manifest)" >&2; exit 2; }
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tide-restart.XXXXXX")
cleanup() { bench_cleanup; rm -rf "$WORK"; }
trap cleanup EXIT
CLK_TCK=$(getconf CLK_TCK)
RES="$WORK/results"

# one_start BIN: start BIN on a fresh copy of DATA, measure, stop it.
one_start() {
    local bin=$1 port t0 t1 cpu open q qs=""
    rm -rf "$WORK/data" && cp -a "$DATA" "$WORK/data"
    port=$(free_port)
    "$bin" serve --data "$WORK/data" --listen "127.0.0.1:$port" --collect-host false >"$WORK/log" 2>&1 &
    SERVER_PID=$!
    t0=$(date +%s.%N)
    for _ in $(seq 6000); do
        kill -0 "$SERVER_PID" 2>/dev/null || { log "$bin exited: $(tail -c 300 "$WORK/log")"; return 1; }
        curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/health" && break
        sleep 0.02
    done
    t1=$(date +%s.%N)
    cpu=$(awk -v t="$CLK_TCK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$SERVER_PID/stat")
    open=$(sed -n 's/.*storage open in \([0-9.]*\) ms.*/\1/p' "$WORK/log")
    for _ in $(seq "$QUERIES"); do
        q=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 -G "http://127.0.0.1:$port/api/v1/query" \
            --data-urlencode 'query=count(cpu_usage_user)' --data-urlencode "time=$QTIME")
        qs="$qs $(awk -v q="$q" 'BEGIN { printf "%.0f", q * 1000 }')"
    done
    stop_server
    local wall
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    echo "$bin $open $wall $cpu$qs" >>"$RES"
    log "$bin: storage open ${open} ms, healthy after ${wall} s, CPU ${cpu} s, count() ms:${qs} (load $(cut -d' ' -f1 /proc/loadavg))"
}

for _ in $(seq "$RUNS"); do
    for bin in "${BINS[@]}"; do
        one_start "$bin"
    done
done

echo
echo "| binary | storage open ms | healthy s | CPU s | count() ms | runs |"
echo "|---|---|---|---|---|---|"
for bin in "${BINS[@]}"; do
    awk -v b="$bin" '
        function med(a, n,   i, j, t) {
            for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        $1 == b { n++; o[n] = $2; w[n] = $3; c[n] = $4; for (i = 5; i <= NF; i++) q[++m] = $i }
        END { printf "| %s | %.0f | %.2f | %.2f | %.0f | %d |\n", b, med(o, n), med(w, n), med(c, n), med(q, m), n }
    ' "$RES"
done
