#!/usr/bin/env bash
# remote_write.sh: side-by-side Prometheus remote-write ingest benchmark,
# Tide vs VictoriaMetrics, with byte-identical request bodies.
#
# bench/gen/remote_write_gen.c builds the bodies once with Tide's own encoder
# (protobuf WriteRequest + snappy block, one sample per TimeSeries and
# --samples per request, as Prometheus sends them) from the TSBS cpu-only-like
# workload of tsbs_cpu.c. For each run and each system: start the server
# fresh on an empty data dir (127.0.0.1 only), wait until healthy, POST every
# body to /api/v1/write with a fixed number of parallel curl workers, then
# record samples/s (samples / wall time of the load), server CPU s
# (utime+stime from /proc/PID/stat, less start-up), peak RSS (VmHWM), failed
# requests; stop it (SIGTERM). Run 1 also checks that every sample arrived
# (export after a restart). Medians over runs and Tide/VM ratios at the end.
#
# Usage: bench/peer/remote_write.sh [--hosts N=100] [--hours H=6] [--runs R=3]
#          [--concurrency C=4] [--samples S=2000] [--systems "tide vm"]
#          [--end UNIX_SECONDS] [--no-build] [--no-verify]
# Environment: TIDE_BIN (build/tide), TIDE_ARGS (default "--collect-host false"),
#          VM_BIN (victoria-metrics), VM_ARGS.
# Bounded: health waits 60 s, each request 300 s, shutdown 180 s (then SIGKILL
# of that PID only).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/peer/lib.sh"
HOSTS=100 HOURS=6 RUNS=3 CONC=4 PER_REQ=2000 VERIFY=1
TIDE_ARGS=${TIDE_ARGS:---collect-host false}

while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    --samples) PER_REQ=$2; shift 2 ;;
    --no-verify) VERIFY=0; shift ;;
    *) bench_common_opt 2,24 "$@"; shift "$NSHIFT" ;;
    esac
done

mkdir -p "$OUT"
CLK_TCK=$(getconf CLK_TCK)

if [ "$BUILD" = 1 ]; then
    log "building Tide (make build)"
    make -C "$ROOT" --no-print-directory build >"$OUT/build.log" 2>&1 ||
        { log "make build failed (bench/out/build.log)"; exit 1; }
fi
bench_check_vm

# ---- the request generator, linked against the release build's libraries ----
bench_build_gen remote_write_gen

[ -n "$END" ] || END=$(( $(date -u +%s) / 86400 * 86400 ))
DATA="$OUT/rw-h${HOSTS}-${HOURS}h-s${PER_REQ}-e${END}"
if [ ! -f "$DATA/manifest" ] || [ "$GEN" -nt "$DATA/manifest" ]; then
    rm -rf "$OUT"/rw-h*
    log "generating $HOSTS hosts x ${HOURS}h into ${DATA#"$ROOT"/}"
    "$GEN" --out "$DATA" --hosts "$HOSTS" --hours "$HOURS" --samples "$PER_REQ" --end "$END"
fi
SAMPLES=$(mval samples) SERIES=$(mval series) NREQ=$(mval requests) BYTES=$(mval bytes)
START=$(mval start) LAST=$(mval last)
log "data: $SAMPLES samples, $SERIES series, $NREQ requests, $((BYTES / 1048576)) MiB snappy"

trap bench_cleanup EXIT

count_samples() { # PORT -> samples found via export
    curl -sS --max-time 300 -G "http://127.0.0.1:$1/api/v1/export" \
        --data-urlencode 'match[]={__name__=~"cpu_.*"}' \
        --data-urlencode "start=$START" --data-urlencode "end=$((LAST + 1))" |
        python3 -c '
import json, sys
n = s = 0
for line in sys.stdin:
    if line.strip():
        o = json.loads(line); s += 1; n += len(o["values"])
print(s, n)'
}

RESULTS="$OUT/rw-results-$(date +%Y%m%d-%H%M%S).tsv"
printf 'run\tsystem\tload_s\tsamples_per_s\tcpu_s\thwm_mib\tfailed\tfound\n' >"$RESULTS"
run_one() {
    local run=$1 sys=$2 dir="$OUT/rw-run-$2" port t0 t1 cpu0 cpu hwm load fails found="-"
    rm -rf "$dir"; mkdir -p "$dir"
    port=$(free_port)
    start_server "$sys" "$dir/data" "$port" "$dir/server.log" || return 1
    sleep 1
    cpu0=$(proc_cpu "$SERVER_PID")
    log "run $run $sys: posting $NREQ requests with $CONC workers"
    t0=$(date +%s.%N)
    find "$DATA" -name 'req-*.bin' -print0 | sort -z |
        xargs -0 -P "$CONC" -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 300 \
            -H 'Content-Encoding: snappy' -H 'Content-Type: application/x-protobuf' \
            -H 'X-Prometheus-Remote-Write-Version: 0.1.0' --data-binary @{} \
            "http://127.0.0.1:$port/api/v1/write" >"$dir/codes.txt" 2>/dev/null || true
    t1=$(date +%s.%N)
    cpu=$(awk -v a="$(proc_cpu "$SERVER_PID")" -v b="$cpu0" 'BEGIN{printf "%.2f", a-b}')
    hwm=$(proc_hwm "$SERVER_PID")
    load=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    fails=$(grep -cv '^2' "$dir/codes.txt" || true)
    stop_server
    if [ "$VERIFY" = 1 ] && [ "$run" = 1 ]; then
        port=$(free_port)
        if start_server "$sys" "$dir/data" "$port" "$dir/server2.log"; then
            found=$(count_samples "$port" | tr ' ' '/')
            stop_server
        fi
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$sys" "$load" \
        "$(awk -v n="$SAMPLES" -v t="$load" 'BEGIN{printf "%.0f", n/t}')" "$cpu" "$hwm" "$fails" "$found" >>"$RESULTS"
    log "run $run $sys: ${load}s, cpu ${cpu}s, hwm ${hwm}MiB, $fails failed, found series/samples $found"
}

for run in $(seq "$RUNS"); do
    for sys in $SYSTEMS; do
        run_one "$run" "$sys" || log "run $run $sys: FAILED"
    done
done

python3 - "$RESULTS" "$SAMPLES" "$SERIES" "$NREQ" "$PER_REQ" "$CONC" "$RUNS" "$HOSTS" "$HOURS" <<'EOF'
import csv, statistics, sys
path, samples, series, nreq, per_req, conc, runs, hosts, hours = sys.argv[1:]
rows = list(csv.DictReader(open(path), delimiter="\t"))
names = {"tide": "Tide", "vm": "VictoriaMetrics"}
cols = [("samples_per_s", "samples/s", "{:,.0f}"), ("cpu_s", "CPU s", "{:.1f}"),
        ("hwm_mib", "peak RSS MiB", "{:.0f}")]
med = {}
for s in ("tide", "vm"):
    rs = [r for r in rows if r["system"] == s]
    if rs:
        med[s] = {c: statistics.median(float(r[c]) for r in rs) for c, _, _ in cols}
        med[s]["failed"] = sum(int(r["failed"]) for r in rs)
        med[s]["found"] = ", ".join(sorted({r["found"] for r in rs if r["found"] != "-"})) or "-"
print()
print(f"Remote write: TSBS cpu-only-like, {hosts} hosts x {hours} h = {int(samples):,} samples in "
      f"{series} series, {nreq} requests of {per_req} samples (snappy protobuf), {conc} parallel "
      f"writers; median of {runs} runs")
print()
hdr = ["system"] + [c[1] for c in cols] + ["failed requests", "found series/samples"]
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
for s, m in med.items():
    print("| " + " | ".join([names[s]] + [f.format(m[c]) for c, _, f in cols] +
                            [str(m["failed"]), m["found"]]) + " |")
if len(med) == 2:
    print("| Tide / VM | " + " | ".join("{:.2f}x".format(med["tide"][c] / med["vm"][c])
                                       if med["vm"][c] else "-" for c, _, _ in cols) + " | | |")
print()
print("per-run results: " + path)
EOF
