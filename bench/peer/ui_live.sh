#!/usr/bin/env bash
# ui_live.sh: the dashboard's live mode under load (issue 13's benchmark).
# 100 fake hosts write every second (bench/gen/fleet.py, the host collector's
# names, one import request a second), first alone, then with 10 live-stream
# clients at 1 s asking what the Hosts screen asks in live mode (its four
# metrics over all hosts, bench/gen/sse_clients.py) plus a probe series.
# Prints the server's CPU (share of one core) and RSS in both phases and the
# push latency (probe sample sent -> event received by a client) median, p99
# and max over every client.
#
# Usage: bench/peer/ui_live.sh [--hosts N=100] [--clients N=10] [--interval S=1]
#          [--seconds S=30] [--no-build]
# Environment: TIDE_BIN (build/tide).
# Bounded: each phase lasts --seconds; the server gets 30 s to stop, then
# SIGKILL of its PID only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HOSTS=100 CLIENTS=10 INTERVAL=1 SECS=30 BUILD=1
TIDE_BIN=${TIDE_BIN:-$ROOT/build/tide}
while [ $# -gt 0 ]; do
    case "$1" in
    --hosts) HOSTS=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "ui_live.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ "$BUILD" = 0 ] || make -C "$ROOT" build >/dev/null

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tide-ui-live.XXXXXX")
PID=""
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$TIDE_BIN" serve --data "$WORK/data" --listen "127.0.0.1:$PORT" --collect-host false >"$WORK/tide.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT"
TCK=$(getconf CLK_TCK)
cpu() { awk -v t="$TCK" '{ sub(/^.*\) /, ""); printf "%.3f", ($12+$13)/t }' "/proc/$PID/stat"; }
rss() { awk '/^VmRSS:/ { printf "%.1f", $2/1024 }' "/proc/$PID/status"; }

# A minute of history so the rate() windows are full from the start.
python3 "$ROOT/bench/gen/fleet.py" "$URL" --hosts "$HOSTS" --history 120 --step 1
python3 "$ROOT/bench/gen/fleet.py" "$URL" --hosts "$HOSTS" --live $((2 * SECS + 10)) --step 1 \
    --stamps "$WORK/stamps" &
FLEET=$!

log "phase 1: $HOSTS hosts writing every second, no viewer ($SECS s)"
sleep 5
c0=$(cpu); t0=$(date +%s.%N)
sleep "$SECS"
c1=$(cpu); t1=$(date +%s.%N); r1=$(rss)

log "phase 2: the same with $CLIENTS live clients at ${INTERVAL}s ($SECS s)"
python3 "$ROOT/bench/gen/sse_clients.py" "$PORT" "$CLIENTS" "$INTERVAL" $((SECS + 5)) "$WORK/clients.json" &
CL=$!
sleep 5
c2=$(cpu); t2=$(date +%s.%N)
sleep "$SECS"
c3=$(cpu); t3=$(date +%s.%N); r3=$(rss)
# While the clients are still connected (a feed left without viewers is freed).
feeds=$(curl -fsS "$URL/metrics" | awk '$1 == "tide_stream_feeds" {print $2}')
wait "$CL"
kill "$FLEET" 2>/dev/null || true
wait "$FLEET" 2>/dev/null || true

python3 - "$WORK/stamps" "$WORK/clients.json" <<PY
import json, sys
sent = {}
for line in open(sys.argv[1]):
    k, t = line.split()
    sent[int(k)] = float(t)
clients = json.load(open(sys.argv[2]))
lat = sorted((t - sent[int(k)]) * 1000 for c in clients for k, t in c['seen'].items() if int(k) in sent)
def q(p):
    return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float('nan')
ev = sum(c['events'] for c in clients)
by = sum(c['bytes'] for c in clients)
u1 = ($c1 - $c0) / ($t1 - $t0) * 100
u2 = ($c3 - $c2) / ($t3 - $t2) * 100
print(f"hosts={$HOSTS} clients={len(clients)} interval=${INTERVAL}s feeds=${feeds:-?}")
print(f"server CPU: {u1:.1f} % of a core writers only, {u2:.1f} % with the clients (+{u2 - u1:.1f} %)")
print(f"server RSS: {$r1:.1f} MiB writers only, {$r3:.1f} MiB with the clients")
print(f"push latency (probe sent -> event received), {len(lat)} points: median {q(0.5):.0f} ms, p99 {q(0.99):.0f} ms, max {lat[-1] if lat else float('nan'):.0f} ms")
print(f"events {ev}, {by / 1024:.0f} KiB to the clients")
PY
kill -TERM "$PID"
for _ in $(seq 1 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
