#!/usr/bin/env bash
# cardinality.sh: side-by-side high-cardinality benchmark, Tide vs
# VictoriaMetrics: many series with few points each, sent by Prometheus
# remote write, then what that many series cost in memory, at shutdown, at
# restart and for a label-values request over 100 000 values.
#
# Data: bench/gen/remote_write_gen.c (the generator of remote_write.sh, with
# Tide's own encoder: byte-identical snappy protobuf bodies for both) with
# --series/10 hosts x 10 cpu_usage_* metrics and --points samples per series
# (one every 360 s, ending at the start of the current UTC day); the
# `hostname` label has --series/10 distinct values (100 000 by default).
# For each run and each system, on a fresh data dir (127.0.0.1 only):
#   1. POST every body to /api/v1/write (C parallel curl workers);
#   2. peak RSS (VmHWM) and RSS now, per series, after the load;
#   3. GET /api/v1/label/hostname/values, median latency of --queries;
#   4. SIGTERM: shutdown time to exit, highest VmRSS sampled every 50 ms;
#   5. restart: time until /health answers AND an instant query returns every
#      host; RSS at rest 5 s later; label-values latency again.
# Shutdown and restart are also given as the server's CPU seconds
# (utime+stime from /proc/PID/stat), steadier than wall time on a busy box.
# Prints every figure and the Tide/VM ratio (medians over runs).
#
# Usage: bench/peer/cardinality.sh [--series N=1000000] [--points P=10]
#          [--runs R=1] [--queries Q=7] [--concurrency C=4] [--samples S=10000]
#          [--systems "tide vm"] [--end UNIX_SECONDS] [--no-build]
#   --series 100000 makes a quick run (~1 min for both systems).
# Environment: TIDE_BIN (build/tide), TIDE_ARGS (default "--collect-host false"),
#          VM_BIN (victoria-metrics), VM_ARGS.
# Bounded: health/restart waits 120 s, each request 300 s, shutdown 180 s
# (then SIGKILL of that PID only).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/peer/lib.sh"
NSERIES=1000000 POINTS=10 RUNS=1 QUERIES=7 CONC=4 PER_REQ=10000
TIDE_ARGS=${TIDE_ARGS:---collect-host false}

while [ $# -gt 0 ]; do
    case "$1" in
    --series) NSERIES=$2; shift 2 ;;
    --points) POINTS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --queries) QUERIES=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    --samples) PER_REQ=$2; shift 2 ;;
    *) bench_common_opt 2,30 "$@"; shift "$NSHIFT" ;;
    esac
done
HOSTS=$((NSERIES / 10))
[ "$HOSTS" -ge 1 ] && [ "$POINTS" -ge 1 ] || { echo "cardinality.sh: --series >= 10, --points >= 1" >&2; exit 2; }

mkdir -p "$OUT"
CLK_TCK=$(getconf CLK_TCK)
if [ "$BUILD" = 1 ]; then
    log "building Tide (make build)"
    make -C "$ROOT" --no-print-directory build >"$OUT/build.log" 2>&1 ||
        { log "make build failed (bench/out/build.log)"; exit 1; }
fi
bench_check_vm

# ---- the request generator (remote_write.sh's), against the release build ----
bench_build_gen remote_write_gen

[ -n "$END" ] || END=$(( $(date -u +%s) / 86400 * 86400 ))
DATA="$OUT/card-s${NSERIES}-p${POINTS}-r${PER_REQ}-e${END}"
if [ ! -f "$DATA/manifest" ] || [ "$GEN" -nt "$DATA/manifest" ]; then
    rm -rf "$OUT"/card-s*
    log "generating $NSERIES series x $POINTS points into ${DATA#"$ROOT"/}"
    # 360 s apart; hours = (P + 0.5) * 0.1 makes the generator's step count exactly P
    "$GEN" --out "$DATA" --hosts "$HOSTS" --interval 360 --samples "$PER_REQ" --end "$END" \
        --hours "$(awk -v p="$POINTS" 'BEGIN { printf "%.4f", (p + 0.5) * 0.1 }')"
fi
SAMPLES=$(mval samples) SERIES=$(mval series) NREQ=$(mval requests) BYTES=$(mval bytes)
LAST=$(mval last)
log "data: $SAMPLES samples, $SERIES series, $NREQ requests, $((BYTES / 1048576)) MiB snappy"

trap bench_cleanup EXIT

rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2/1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }

# label_values PORT -> "median_ms count" over QUERIES requests (after one unmeasured)
label_values() {
    local url="http://127.0.0.1:$1/api/v1/label/hostname/values" n
    n=$(curl -sS --max-time 120 "$url" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))' 2>/dev/null || echo 0)
    for _ in $(seq "$QUERIES"); do
        curl -sS -o /dev/null --max-time 120 -w '%{time_total}\n' "$url" || echo 120
    done | sort -g | awk -v n="$n" '{ a[NR] = $1 } END { printf "%.1f %s", a[int((NR + 1) / 2)] * 1000, n }'
}

# ready PORT -> 0 when an instant query counts every host's cpu_usage_user
ready() {
    curl -sf --max-time 10 -G "http://127.0.0.1:$1/api/v1/query" \
        --data-urlencode 'query=count(cpu_usage_user)' --data-urlencode "time=$LAST" 2>/dev/null |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; sys.exit(0 if r and int(float(r[0]["value"][1])) == int(sys.argv[1]) else 1)' "$HOSTS" 2>/dev/null
}

RESULTS="$OUT/card-results-$(date +%Y%m%d-%H%M%S).tsv"
COLS="load_s hwm_mib rss_mib lv_ms lv_n shut_s shut_rss_mib shut_hwm_mib restart_s rest_rss_mib lv2_ms lv2_n shut_cpu restart_cpu"
printf 'run\tsystem\t%s\n' "${COLS// /\\t}" | sed 's/\\t/\t/g' >"$RESULTS"
run_one() {
    local run=$1 sys=$2 dir="$OUT/card-run-$2" port t0 load hwm rss lv shut smax shwm t pid r restart rest lv2
    local cpu0 cpu scpu rcpu
    rm -rf "$dir"; mkdir -p "$dir"
    port=$(free_port)
    start_server "$sys" "$dir/data" "$port" "$dir/server.log" || return 1
    log "run $run $sys: posting $NREQ requests with $CONC workers"
    t0=$(date +%s.%N)
    find "$DATA" -name 'req-*.bin' -print0 | sort -z |
        xargs -0 -P "$CONC" -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 300 \
            -H 'Content-Encoding: snappy' -H 'Content-Type: application/x-protobuf' \
            -H 'X-Prometheus-Remote-Write-Version: 0.1.0' --data-binary @{} \
            "http://127.0.0.1:$port/api/v1/write" >"$dir/codes.txt" 2>/dev/null || true
    load=$(elapsed "$t0")
    [ "$sys" = vm ] && curl -s -o /dev/null --max-time 120 "http://127.0.0.1:$port/internal/force_flush"
    sleep 2
    hwm=$(proc_hwm "$SERVER_PID") rss=$(rss_mib "$SERVER_PID")
    log "run $run $sys: load ${load}s ($(grep -cv '^2' "$dir/codes.txt" || true) failed), peak RSS ${hwm} MiB, RSS ${rss} MiB"
    lv=$(label_values "$port")
    log "run $run $sys: label values ${lv% *} ms (${lv#* } values)"
    # shutdown: SIGTERM, sample RSS until the process is gone (180 s at most)
    pid=$SERVER_PID smax=0 shwm=0
    cpu0=$(proc_cpu "$pid") cpu=$cpu0
    t0=$(date +%s.%N)
    kill -TERM "$pid"
    for _ in $(seq 3600); do
        r=$(rss_mib "$pid"); t=$(proc_hwm "$pid" 2>/dev/null || true)
        [ -n "$t" ] && shwm=$t
        # a zombie keeps its CPU times until reaped (it is our child)
        t=$(proc_cpu "$pid" 2>/dev/null || true)
        [ -n "$t" ] && cpu=$t
        smax=$(awk -v a="$smax" -v b="$r" 'BEGIN { print (b > a ? b : a) }')
        kill -0 "$pid" 2>/dev/null || break
        # a zombie has no RSS: it has exited, only not reaped yet
        grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && break
        sleep 0.05
    done
    shut=$(elapsed "$t0")
    scpu=$(awk -v a="$cpu" -v b="$cpu0" 'BEGIN { printf "%.2f", a - b }')
    kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null &&
        { log "run $run $sys: still running after 180 s, SIGKILL"; kill -KILL "$pid"; }
    wait "$pid" 2>/dev/null || true
    SERVER_PID=""
    log "run $run $sys: shutdown ${shut}s (CPU ${scpu}s), max RSS during it ${smax} MiB, peak ${shwm} MiB"
    # restart: until /health and a query both answer (120 s at most)
    port=$(free_port)
    bench_server_cmd "$sys" "$dir/data" "$port"
    t0=$(date +%s.%N)
    "${SERVER_CMD[@]}" >"$dir/server2.log" 2>&1 &
    SERVER_PID=$!
    restart=""
    for _ in $(seq 2400); do
        kill -0 "$SERVER_PID" 2>/dev/null || { log "$sys exited at restart"; return 1; }
        if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/health" && ready "$port"; then
            restart=$(elapsed "$t0") rcpu=$(proc_cpu "$SERVER_PID"); break
        fi
        sleep 0.05
    done
    [ -n "$restart" ] || { log "run $run $sys: not ready 120 s after restart"; stop_server; return 1; }
    sleep 5
    rest=$(rss_mib "$SERVER_PID")
    lv2=$(label_values "$port")
    log "run $run $sys: restart ${restart}s (CPU ${rcpu}s), RSS at rest ${rest} MiB, label values ${lv2% *} ms (${lv2#* } values)"
    stop_server
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$sys" "$load" \
        "$hwm" "$rss" "${lv% *}" "${lv#* }" "$shut" "$smax" "$shwm" "$restart" "$rest" "${lv2% *}" \
        "${lv2#* }" "$scpu" "$rcpu" >>"$RESULTS"
}

for run in $(seq "$RUNS"); do
    for sys in $SYSTEMS; do
        run_one "$run" "$sys" || log "run $run $sys: FAILED"
    done
done

python3 - "$RESULTS" "$SERIES" "$SAMPLES" "$POINTS" "$RUNS" <<'EOF'
import csv, statistics, sys
path, series, samples, points, runs = sys.argv[1:]
series = int(series)
rows = list(csv.DictReader(open(path), delimiter="\t"))
cols = [("hwm_mib", "peak RSS MiB", "{:.0f}"), ("hwm_b", "peak B/series", "{:.0f}"),
        ("shut_rss_mib", "max RSS in shutdown MiB", "{:.0f}"), ("shut_s", "shutdown s", "{:.2f}"),
        ("shut_cpu", "shutdown CPU s", "{:.2f}"), ("restart_s", "restart s", "{:.2f}"),
        ("restart_cpu", "restart CPU s", "{:.2f}"), ("rest_rss_mib", "RSS at rest MiB", "{:.0f}"),
        ("rest_b", "at rest B/series", "{:.0f}"), ("lv_ms", "label values ms", "{:.1f}"),
        ("lv2_ms", "label values after restart ms", "{:.1f}"), ("load_s", "load s", "{:.1f}")]
med = {}
for s in ("tide", "vm"):
    rs = [r for r in rows if r["system"] == s]
    for r in rs:
        r["hwm_b"] = float(r["hwm_mib"]) * 1048576 / series
        r["rest_b"] = float(r["rest_rss_mib"]) * 1048576 / series
    if rs:
        med[s] = {c: statistics.median(float(r[c]) for r in rs) for c, _, _ in cols}
        med[s]["n"] = "/".join(sorted({r["lv_n"] + "," + r["lv2_n"] for r in rs}))
print()
print(f"Cardinality: {series:,} series x {points} points = {int(samples):,} samples by remote write; "
      f"median of {runs} run(s); label values over hostname (values returned: "
      + "; ".join(f"{s} {m['n']}" for s, m in med.items()) + ")")
print()
print("| figure | " + " | ".join({"tide": "Tide", "vm": "VictoriaMetrics"}[s] for s in med)
      + (" | Tide / VM |" if len(med) == 2 else " |"))
print("|---|" + "---|" * (len(med) + (len(med) == 2)))
for c, name, f in cols:
    line = "| " + name + " | " + " | ".join(f.format(m[c]) for m in med.values())
    if len(med) == 2:
        line += " | " + ("{:.2f}x".format(med["tide"][c] / med["vm"][c]) if med["vm"][c] else "-")
    print(line + " |")
print()
print("per-run results: " + path)
EOF
