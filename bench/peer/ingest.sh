#!/usr/bin/env bash
# ingest.sh: side-by-side ingest benchmark, Tide vs VictoriaMetrics, on a
# TSBS "cpu-only"-like workload sent as Influx line protocol over HTTP.
#
# For each run and each system: start the server fresh on an empty data dir
# (127.0.0.1 only), wait until healthy, POST every batch file to /write with a
# fixed number of parallel curl workers, then record
#   wall time -> samples/s, server CPU s (utime+stime from /proc/PID/stat at the
#   end of the load), peak RSS (VmHWM), graceful shutdown (SIGTERM, wait for
#   exit), CPU s until durable (whole process life, from /usr/bin/time),
#   bytes on disk (du -sb) per sample; then restart on the same data dir (restart
#   time) and check that every series and sample is there (export, or PromQL
#   count as a fallback; on run 1 only by default, as exporting is slow).
# Medians over runs and Tide/VictoriaMetrics ratios are printed at the end.
#
# Usage: bench/peer/ingest.sh [--hosts N=100] [--hours H=24] [--runs R=3]
#          [--concurrency C=4] [--systems "tide vm"] [--batch LINES=10000]
#          [--end UNIX_SECONDS] [--digits D] [--no-build]
#          [--verify first|all|none (default first: only run 1 is counted)]
# Environment: TIDE_BIN (build/tide), TIDE_ARGS (extra `tide serve` flags;
#          default "--collect-host false"),
#          VM_BIN (victoria-metrics), VM_ARGS (extra flags).
# Everything is bounded in time: health waits 60 s, each request 300 s,
# shutdown 180 s (then SIGKILL of that PID), verification 300 s.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/peer/lib.sh"
HOSTS=100 HOURS=24 RUNS=3 CONC=4 BATCH=10000 VERIFY=first DIGITS=-2
# Tide alone would also collect this host's metrics; VictoriaMetrics does not, so neither does
# Tide here. Set TIDE_ARGS=" " to run it with its defaults.
TIDE_ARGS=${TIDE_ARGS:---collect-host false}

while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --verify) VERIFY=$2; shift 2 ;;
    --no-verify) VERIFY=none; shift ;;
    --digits) DIGITS=$2; shift 2 ;;
    *) bench_common_opt 2,25 "$@"; shift "$NSHIFT" ;;
    esac
done

mkdir -p "$OUT"
CLK_TCK=$(getconf CLK_TCK)

bench_check_systems
bench_tsbs_data
NFILES=$(mval files) LINES=$(mval lines)
SPAN=$(( LAST - START + $(mval interval) ))
log "data: $LINES lines, $SAMPLES samples, $SERIES series in $NFILES files ($(du -sh "$DATA" | cut -f1))"

# ---- server control ----
# Here the server runs under /usr/bin/time (CPU s until durable), so start
# and stop are this script's own; the command line is lib.sh's.
TIME_PID="" LOGF=/dev/null
trap bench_cleanup EXIT

# start_server SYS DIR PORT LOGFILE TIMEFILE: sets SERVER_PID, TIME_PID
start_server() {
    local sys=$1 dir=$2 port=$3 logf=$4 timef=$5
    bench_server_cmd "$sys" "$dir" "$port"
    LOGF=$logf
    /usr/bin/time -o "$timef" -f '%e %U %S %M' "${SERVER_CMD[@]}" >"$logf" 2>&1 &
    TIME_PID=$!
    SERVER_PID=""
    for _ in $(seq 100); do
        SERVER_PID=$(pgrep -P "$TIME_PID" | head -1 || true)
        [ -n "$SERVER_PID" ] && break
        sleep 0.05
    done
    if [ -z "$SERVER_PID" ]; then
        wait "$TIME_PID" 2>/dev/null || true
        log "$sys: did not start: $(tail -c 400 "$logf" | tr '\n' ' ')"
        return 1
    fi
}

# wait_healthy SYS PORT: 60 s at most
wait_healthy() {
    local sys=$1 port=$2 p
    local -a paths=(/health)
    [ "$sys" = tide ] && paths=(/-/ready /-/healthy /health /api/v1/status/buildinfo)
    for _ in $(seq 600); do
        kill -0 "$SERVER_PID" 2>/dev/null || { log "$sys: exited during start-up: $(tail -c 400 "$LOGF" | tr '\n' ' ')"; return 1; }
        for p in "${paths[@]}"; do
            if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port$p"; then return 0; fi
        done
        sleep 0.1
    done
    log "$sys: not healthy after 60 s"
    return 1
}

# stop_server: SIGTERM, wait up to 180 s, then SIGKILL; echoes the seconds it took
stop_server() {
    local t0 t1
    t0=$(date +%s.%N)
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1800); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        log "WARNING: PID $SERVER_PID still running 180 s after SIGTERM; killing it"
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$TIME_PID" 2>/dev/null || true
    t1=$(date +%s.%N)
    SERVER_PID=""
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}'
}

# verify SYS PORT: prints "series samples how"; tolerant of missing APIs
verify() {
    local sys=$1 port=$2 base="http://127.0.0.1:$2" res
    res=$(curl -sS --max-time 300 -G "$base/api/v1/export" \
            --data-urlencode 'match[]={__name__=~"cpu_.*"}' \
            --data-urlencode "start=$START" --data-urlencode "end=$((LAST + 1))" 2>/dev/null |
          python3 -c '
import json, sys
series = samples = bad = 0
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    try:
        o = json.loads(line)
        samples += len(o["values"]); series += 1
    except Exception:
        bad += 1
print(series, samples, bad)
' || echo "0 0 1")
    if [ "${res%% *}" != 0 ] && [ "${res##* }" = 0 ]; then
        echo "${res% *} export"
        return
    fi
    # fallback: PromQL over the Prometheus API
    local q1 q2 s1 s2
    q1="count(count_over_time({__name__=~\"cpu_.*\"}[${SPAN}s]))"
    q2="sum(count_over_time({__name__=~\"cpu_.*\"}[${SPAN}s]))"
    s1=$(curl -sS --max-time 300 -G "$base/api/v1/query" --data-urlencode "query=$q1" \
            --data-urlencode "time=$LAST" 2>/dev/null | python3 -c '
import json, sys
try: print(int(float(json.load(sys.stdin)["data"]["result"][0]["value"][1])))
except Exception: print("?")' || echo "?")
    s2=$(curl -sS --max-time 300 -G "$base/api/v1/query" --data-urlencode "query=$q2" \
            --data-urlencode "time=$LAST" 2>/dev/null | python3 -c '
import json, sys
try: print(int(float(json.load(sys.stdin)["data"]["result"][0]["value"][1])))
except Exception: print("?")' || echo "?")
    echo "$s1 $s2 promql"
}

RESULTS="$OUT/results-$(date +%Y%m%d-%H%M%S).tsv"
printf 'run\tsystem\tload_s\tsamples_per_s\tcpu_load_s\tcpu_total_s\thwm_mib\tmaxrss_mib\tshutdown_s\tdisk_bytes\tbytes_per_sample\trestart_s\thttp_fail\tseries_found\tsamples_found\tcheck\n' >"$RESULTS"

run_one() {
    local run=$1 sys=$2
    local dir="$OUT/run-$sys" port logf timef codes t0 t1 load cpu hwm fails shut
    local total_cpu maxrss disk restart series found how
    rm -rf "$dir"; mkdir -p "$dir/data"
    port=$(free_port)
    logf="$dir/server.log" timef="$dir/time.txt" codes="$dir/codes.txt"
    start_server "$sys" "$dir/data" "$port" "$logf" "$timef" || return 1
    wait_healthy "$sys" "$port" || { stop_server >/dev/null; return 1; }
    sleep 1 # let start-up work settle before the clock starts
    local cpu0; cpu0=$(proc_cpu "$SERVER_PID")
    log "run $run $sys: loading $NFILES files with $CONC workers (pid $SERVER_PID, port $port)"
    t0=$(date +%s.%N)
    bench_post_lp "$port" "$CONC" "$codes"
    t1=$(date +%s.%N)
    kill -0 "$SERVER_PID" 2>/dev/null || log "WARNING: $sys died during the load (see ${logf#"$ROOT"/})"
    cpu=$(proc_cpu "$SERVER_PID" 2>/dev/null || echo 0)
    hwm=$(proc_hwm "$SERVER_PID" 2>/dev/null || echo 0)
    cpu=$(awk -v a="$cpu" -v b="$cpu0" 'BEGIN{printf "%.2f", a-b}')
    load=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    fails=$(grep -cv '^2' "$codes" || true)
    [ "$fails" = 0 ] || log "WARNING: $sys: $fails of $NFILES requests failed: $(sort "$codes" | uniq -c | tr '\n' ' ')"
    shut=$(stop_server)
    read -r _ u s maxrss <"$timef" || { u=0 s=0 maxrss=0; }
    total_cpu=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u+s}')
    maxrss=$(awk -v m="$maxrss" 'BEGIN{printf "%.1f", m/1024}')
    disk=$(du -sb "$dir/data" | cut -f1)
    series="-" found="-" how="skipped" restart="-"
    if [ "$VERIFY" != none ]; then
        port=$(free_port)
        t0=$(date +%s.%N)
        if start_server "$sys" "$dir/data" "$port" "$dir/server2.log" "$dir/time2.txt" &&
           wait_healthy "$sys" "$port"; then
            t1=$(date +%s.%N)
            restart=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
            if [ "$VERIFY" = all ] || [ "$run" = 1 ]; then
                t0=$(date +%s.%N)
                read -r series found how < <(verify "$sys" "$port")
                t1=$(date +%s.%N)
                log "run $run $sys: verification ($how) took $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s"
            fi
            stop_server >/dev/null
        else
            [ -n "$SERVER_PID" ] && stop_server >/dev/null
            how="restart-failed"
        fi
    fi
    local rate bps
    rate=$(awk -v n="$SAMPLES" -v t="$load" 'BEGIN{printf "%.0f", n/t}')
    bps=$(awk -v d="$disk" -v n="$SAMPLES" 'BEGIN{printf "%.3f", d/n}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$sys" "$load" "$rate" \
        "$cpu" "$total_cpu" "$hwm" "$maxrss" "$shut" "$disk" "$bps" "$restart" "$fails" "$series" "$found" "$how" >>"$RESULTS"
    log "run $run $sys: ${load}s, $rate samples/s, cpu ${cpu}s (${total_cpu}s to durable), hwm ${hwm}MiB, shutdown ${shut}s, $bps B/sample, found $series series / $found samples ($how) of $SERIES / $SAMPLES"
}

for run in $(seq "$RUNS"); do
    for sys in $SYSTEMS; do
        run_one "$run" "$sys" || log "run $run $sys: FAILED (see bench/out/run-$sys/)"
    done
done

python3 - "$RESULTS" "$SAMPLES" "$SERIES" "$HOSTS" "$HOURS" "$CONC" "$RUNS" <<'EOF'
import csv, statistics, sys
path, samples, series, hosts, hours, conc, runs = sys.argv[1:]
rows = list(csv.DictReader(open(path), delimiter="\t"))
names = {"tide": "Tide", "vm": "VictoriaMetrics"}
cols = [("samples_per_s", "samples/s", "{:,.0f}", True),
        ("cpu_load_s", "CPU s (load)", "{:.1f}", False),
        ("cpu_total_s", "CPU s (to durable)", "{:.1f}", False),
        ("hwm_mib", "peak RSS MiB", "{:.0f}", False),
        ("bytes_per_sample", "bytes/sample", "{:.3f}", False),
        ("shutdown_s", "shutdown s", "{:.1f}", False),
        ("restart_s", "restart s", "{:.2f}", False)]
med = {}
for sys_ in ("tide", "vm"):
    rs = [r for r in rows if r["system"] == sys_]
    if not rs:
        continue
    med[sys_] = {}
    for c, *_ in cols:
        vals = [float(r[c]) for r in rs if r[c] not in ("-", "")]
        med[sys_][c] = statistics.median(vals) if vals else None
    checks = ["%s/%s" % (r["series_found"], r["samples_found"]) for r in rs if r["check"] != "skipped"]
    med[sys_]["check"] = ", ".join(sorted(set(checks))) or "not checked"
    med[sys_]["fails"] = sum(int(r["http_fail"]) for r in rs)
    med[sys_]["n"] = len(rs)
print()
print(f"TSBS cpu-only-like: {hosts} hosts x {hours} h, {int(samples):,} samples, {series} series; "
      f"{conc} parallel writers; median of {runs} runs")
print()
hdr = ["system"] + [c[1] for c in cols] + ["found series/samples", "failed requests"]
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
def fmt(v, f):
    return "-" if v is None else f.format(v)
for s, m in med.items():
    print("| " + " | ".join([names[s]] + [fmt(m[c], f) for c, _, f, _ in cols] + [m["check"], str(m["fails"])]) + " |")
if "tide" in med and "vm" in med:
    cells = []
    for c, _, f, _ in cols:
        a, b = med["tide"][c], med["vm"][c]
        cells.append("-" if a is None or b in (None, 0) else "{:.2f}x".format(a / b))
    print("| " + " | ".join(["Tide / VM"] + cells + ["", ""]) + " |")
    # runs are interleaved (Tide, then VM, in each run): per-run ratios cancel slow drifts of
    # the machine's load better than the ratio of medians
    pr = []
    for run in sorted({r["run"] for r in rows}, key=int):
        t = [r for r in rows if r["run"] == run and r["system"] == "tide"]
        v = [r for r in rows if r["run"] == run and r["system"] == "vm"]
        if t and v and float(v[0]["samples_per_s"]) > 0:
            pr.append(float(t[0]["samples_per_s"]) / float(v[0]["samples_per_s"]))
    if pr:
        print()
        print("Tide/VM samples/s per run: " + ", ".join("%.2f" % x for x in pr) +
              "; median %.2fx" % statistics.median(pr))
print()
print(f"per-run results: {path}")
EOF
