#!/usr/bin/env bash
# routeros.sh: what polling MikroTik routers costs Tide. N simulated routers
# (tests/integration/routeros_sim.py: one process, one port each, v6 and v7,
# both logins, values moving with time) are polled by one `tide serve` with
# every catalog group on its default tier (5 s / 60 s / 5 min / 1 h) and two
# ping addresses each. After every router is up and a warm-up, over a window
# of --seconds:
#   - Tide's CPU (utime+stime from /proc/PID/stat) as % of one core, and per
#     router; the simulator's CPU beside it, for scale;
#   - Tide's RSS at the end and its peak (VmHWM), and per router;
#   - samples stored per second (tide_target_samples_total{kind="routeros"});
#   - bytes on disk per sample: growth of the data directory (WAL and head;
#     no block is cut in so short a window) over the samples stored;
#   - missed and failed runs (both should be 0).
# The window should cover a 60 s tier at least once; the 5 min and 1 h
# groups run at the start (their first poll) and then not at all in a short
# window, so --seconds 300 or more gives the steady state of all tiers.
#
# Usage: bench/peer/routeros.sh [--routers N=100] [--seconds S=120]
#          [--warmup W=15] [--interfaces I=8] [--no-build]
# Environment: TIDE_BIN (build/tide).
# Bounded: start-up waits 120 s; the simulator stops itself after the run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/peer/lib.sh"
ROUTERS=100 SECONDS_=120 WARMUP=15 IFACES=8

while [ $# -gt 0 ]; do
    case "$1" in
    --routers) ROUTERS=$2; shift 2 ;;
    --seconds) SECONDS_=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --interfaces) IFACES=$2; shift 2 ;;
    *) bench_common_opt 2,22 "$@"; shift "$NSHIFT" ;;
    esac
done

mkdir -p "$OUT"
CLK_TCK=$(getconf CLK_TCK)
if [ "$BUILD" = 1 ]; then
    log "building Tide (make build)"
    make -C "$ROOT" --no-print-directory build >"$OUT/build.log" 2>&1 ||
        { log "make build failed (bench/out/build.log)"; exit 1; }
fi
[ -x "$TIDE_BIN" ] || { log "$TIDE_BIN missing"; exit 1; }

W=$(mktemp -d "$OUT/routeros.XXXXXX")
SIM_PID=""
cleanup() {
    bench_cleanup
    if [ -n "$SIM_PID" ] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill -KILL "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    rm -rf "$W"
}
trap cleanup EXIT

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
log "starting $ROUTERS simulated routers"
"$PY" "$ROOT/tests/integration/routeros_sim.py" serve --count "$ROUTERS" --version mixed \
    --login mixed --interfaces "$IFACES" --ports-file "$W/ports.json" \
    --max-seconds $((SECONDS_ + WARMUP + 180)) >"$W/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 600); do [ -s "$W/ports.json" ] && break; sleep 0.1; done
[ -s "$W/ports.json" ] || { log "the simulator did not start: $(cat "$W/sim.log")"; exit 1; }
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))["devices"]
print("targets:")
for x in d:
    print("  - {kind: routeros, name: r%d, address: \"127.0.0.1:%d\", username: monitor, "
          "password: s3cret-pw, ping: [192.0.2.1, 198.51.100.7]}" % (x["index"], x["port"]))
' "$W/ports.json" >"$W/tide.yml"

PORT=$(free_port)
TIDE_ARGS="--collect-host false --config $W/tide.yml"
start_server tide "$W/data" "$PORT" "$W/tide.log" || exit 1
URL="http://127.0.0.1:$PORT"
q() { curl -fsS -G --data-urlencode "query=$1" "$URL/api/v1/query"; }
metric() { curl -fsS "$URL/metrics" | awk -v m="$1" '$1 == m {print $2; f=1} END {if (!f) print 0}'; }

for i in $(seq 1200); do
    n=$(q 'count(up{job="routeros"} == 1)' | "$PY" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
    [ "$n" = "$ROUTERS" ] && break
    [ "$i" -lt 1200 ] || { log "only $n of $ROUTERS routers up after 120 s"; exit 1; }
    sleep 0.1
done
log "all $ROUTERS routers up; warming up ${WARMUP}s"
sleep "$WARMUP"

cpu0=$(proc_cpu "$SERVER_PID") scpu0=$(proc_cpu "$SIM_PID")
s0=$(metric 'tide_target_samples_total{kind="routeros"}')
d0=$(du -sb "$W/data" | cut -f1)
t0=$(date +%s.%N)
log "measuring ${SECONDS_}s"
sleep "$SECONDS_"
t1=$(date +%s.%N)
cpu1=$(proc_cpu "$SERVER_PID") scpu1=$(proc_cpu "$SIM_PID")
s1=$(metric 'tide_target_samples_total{kind="routeros"}')
d1=$(du -sb "$W/data" | cut -f1)
rss=$(awk '/^VmRSS:/ { printf "%.1f", $2/1024 }' "/proc/$SERVER_PID/status")
hwm=$(proc_hwm "$SERVER_PID")
missed=$(metric 'tide_target_runs_missed_total{kind="routeros"}')
failed=$(metric 'tide_target_failures_total{kind="routeros"}')
series=$(q 'count({job="routeros"})' | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')
stop_server

"$PY" - "$ROUTERS" "$t0" "$t1" "$cpu0" "$cpu1" "$scpu0" "$scpu1" "$s0" "$s1" "$d0" "$d1" "$rss" "$hwm" \
    "$missed" "$failed" "$series" <<'EOF'
import sys
n, t0, t1, c0, c1, sc0, sc1, s0, s1, d0, d1, rss, hwm, missed, failed, series = sys.argv[1:]
n = int(n)
secs = float(t1) - float(t0)
cpu = (float(c1) - float(c0)) / secs * 100
scpu = (float(sc1) - float(sc0)) / secs * 100
samples = float(s1) - float(s0)
disk = int(d1) - int(d0)
print("routers                 %d (%s series at the end)" % (n, series))
print("window                  %.0f s" % secs)
print("tide CPU                %.2f %% of one core (%.4f %% per router)" % (cpu, cpu / n))
print("simulator CPU           %.2f %% of one core" % scpu)
print("tide RSS                %s MiB now, %s MiB peak (%.2f MiB per router now)" % (rss, hwm, float(rss) / n))
print("samples stored          %.0f (%.0f /s, %.1f per router per 5 s)" % (samples, samples / secs, samples / secs * 5 / n))
print("disk growth             %d bytes, %.2f bytes/sample (WAL + head)" % (disk, disk / samples if samples else 0))
print("missed / failed runs    %s / %s" % (missed, failed))
EOF
