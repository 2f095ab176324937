#!/usr/bin/env bash
# forward.sh: forwarding throughput, Tide (`storage: none` + `remote_write:`)
# vs vmagent, both relaying the same remote-write bodies into one
# VictoriaMetrics (the cluster's stand-in).
#
# Data: bench/gen/remote_write_gen.c (as remote_write.sh: TSBS cpu-only-like,
# --samples per request). For each run and each system: a fresh VM sink and
# a fresh forwarder (Tide: storage: none, one remote_write endpoint with its
# durable queue, max_samples_per_send 10000, batch_send_deadline 1s as
# vmagent's -remoteWrite.flushInterval; vmagent: -remoteWrite.url with
# its own on-disk buffer), both on 127.0.0.1. POST every body to the
# forwarder's /api/v1/write with C parallel curl workers, then wait until
# the sink has inserted every sample (VM's
# vm_rows_inserted_total{type="promremotewrite"}). Figures: samples/s end to
# end (first POST to last sample in the sink), the load phase alone, the
# forwarder's CPU seconds and peak RSS. Medians over runs; Tide/vmagent
# ratios at the end.
#
# Usage: bench/peer/forward.sh [--hosts N=100] [--hours H=6] [--runs R=3]
#          [--concurrency C=4] [--samples S=2000] [--systems "tide vmagent"]
#          [--end UNIX_SECONDS] [--no-build]
# Environment: TIDE_BIN (build/tide), VM_BIN (victoria-metrics), VMAGENT_BIN
#          (vmagent).
# Bounded: health waits 60 s, each request 300 s, delivery 600 s, shutdown
# 180 s (then SIGKILL of that PID only).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/peer/lib.sh"
HOSTS=100 HOURS=6 RUNS=3 CONC=4 PER_REQ=2000
SYSTEMS="tide vmagent"
VMAGENT_BIN=${VMAGENT_BIN:-vmagent}

while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    --samples) PER_REQ=$2; shift 2 ;;
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
command -v "$VM_BIN" >/dev/null || { log "$VM_BIN not found: the sink is needed"; exit 1; }
if [[ " $SYSTEMS " == *" vmagent "* ]] && ! command -v "$VMAGENT_BIN" >/dev/null; then
    log "WARNING: $VMAGENT_BIN not found; skipping vmagent"
    SYSTEMS=${SYSTEMS//vmagent/}
fi

# ---- the request generator (as remote_write.sh) ----
bench_build_gen remote_write_gen
[ -n "$END" ] || END=$(( $(date -u +%s) / 86400 * 86400 ))
DATA="$OUT/rw-h${HOSTS}-${HOURS}h-s${PER_REQ}-e${END}"
if [ ! -f "$DATA/manifest" ] || [ "$GEN" -nt "$DATA/manifest" ]; then
    rm -rf "$OUT"/rw-h*
    log "generating $HOSTS hosts x ${HOURS}h into ${DATA#"$ROOT"/}"
    "$GEN" --out "$DATA" --hosts "$HOSTS" --hours "$HOURS" --samples "$PER_REQ" --end "$END"
fi
SAMPLES=$(mval samples) SERIES=$(mval series) NREQ=$(mval requests)
log "data: $SAMPLES samples, $SERIES series, $NREQ requests"

SINK_PID="" FWD_PID=""
cleanup() {
    for p in $FWD_PID $SINK_PID; do
        kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT
wait_health() { # URL PID
    for _ in $(seq 600); do
        kill -0 "$2" 2>/dev/null || return 1
        curl -sf -o /dev/null --max-time 2 "$1" && return 0
        sleep 0.1
    done
    return 1
}
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 1800); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
}
sink_rows() {
    curl -sf "http://127.0.0.1:$1/metrics" |
        awk '/^vm_rows_inserted_total\{type="promremotewrite"\}/ {print $2}'
}

RESULTS="$OUT/fwd-results-$(date +%Y%m%d-%H%M%S).tsv"
printf 'run\tsystem\tend_to_end_s\tsamples_per_s\tload_s\tcpu_s\thwm_mib\tfailed\tdelivered\n' >"$RESULTS"
run_one() {
    local run=$1 sys=$2 dir="$OUT/fwd-run-$2" sport fport t0 t1 t2 cpu0 cpu hwm fails rows=0
    rm -rf "$dir"; mkdir -p "$dir"
    sport=$(free_port)
    "$VM_BIN" -storageDataPath "$dir/sink" -httpListenAddr "127.0.0.1:$sport" -retentionPeriod 10y \
        -loggerLevel ERROR >"$dir/sink.log" 2>&1 &
    SINK_PID=$!
    wait_health "http://127.0.0.1:$sport/health" "$SINK_PID" || { log "sink did not start"; return 1; }
    fport=$(free_port)
    case "$sys" in
    tide)
        printf 'storage: none\nremote_write:\n  - url: http://127.0.0.1:%s/api/v1/write\n    name: sink\n    queue_config: {max_samples_per_send: 10000, batch_send_deadline: 1s}\n' \
            "$sport" >"$dir/tide.yml"
        "$TIDE_BIN" serve --data "$dir/data" --listen "127.0.0.1:$fport" --collect-host false \
            --config "$dir/tide.yml" >"$dir/fwd.log" 2>&1 & ;;
    vmagent)
        "$VMAGENT_BIN" -remoteWrite.url="http://127.0.0.1:$sport/api/v1/write" \
            -remoteWrite.tmpDataPath="$dir/data" -httpListenAddr="127.0.0.1:$fport" \
            -loggerLevel=ERROR >"$dir/fwd.log" 2>&1 & ;;
    esac
    FWD_PID=$!
    wait_health "http://127.0.0.1:$fport/health" "$FWD_PID" || { log "$sys did not start"; return 1; }
    sleep 1
    cpu0=$(proc_cpu "$FWD_PID")
    log "run $run $sys: posting $NREQ requests with $CONC workers"
    t0=$(date +%s.%N)
    find "$DATA" -name 'req-*.bin' -print0 | sort -z |
        xargs -0 -P "$CONC" -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 300 \
            -H 'Content-Encoding: snappy' -H 'Content-Type: application/x-protobuf' \
            -H 'X-Prometheus-Remote-Write-Version: 0.1.0' --data-binary @{} \
            "http://127.0.0.1:$fport/api/v1/write" >"$dir/codes.txt" 2>/dev/null || true
    t1=$(date +%s.%N)
    for _ in $(seq 6000); do
        rows=$(sink_rows "$sport"); rows=${rows:-0}
        [ "${rows%.*}" -ge "$SAMPLES" ] && break
        sleep 0.1
    done
    t2=$(date +%s.%N)
    cpu=$(awk -v a="$(proc_cpu "$FWD_PID")" -v b="$cpu0" 'BEGIN{printf "%.2f", a-b}')
    hwm=$(proc_hwm "$FWD_PID")
    fails=$(grep -cv '^2' "$dir/codes.txt" || true)
    stop_pid "$FWD_PID"; stop_pid "$SINK_PID"
    local e2e load
    e2e=$(awk -v a="$t0" -v b="$t2" 'BEGIN{printf "%.3f", b-a}')
    load=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$sys" "$e2e" \
        "$(awk -v n="$SAMPLES" -v t="$e2e" 'BEGIN{printf "%.0f", n/t}')" "$load" "$cpu" "$hwm" \
        "$fails" "${rows%.*}" >>"$RESULTS"
    log "run $run $sys: ${e2e}s end to end (load ${load}s), cpu ${cpu}s, hwm ${hwm}MiB, $fails failed, ${rows%.*}/$SAMPLES delivered"
}

for run in $(seq "$RUNS"); do
    for sys in $SYSTEMS; do
        run_one "$run" "$sys" || log "run $run $sys: FAILED"
    done
done

python3 - "$RESULTS" "$SAMPLES" "$SERIES" "$NREQ" "$PER_REQ" "$CONC" "$RUNS" <<'PY'
import csv, statistics, sys
path, samples, series, nreq, per_req, conc, runs = sys.argv[1:]
rows = list(csv.DictReader(open(path), delimiter="\t"))
names = {"tide": "Tide (storage: none)", "vmagent": "vmagent"}
cols = [("samples_per_s", "samples/s end to end", "{:,.0f}"), ("load_s", "load s", "{:.2f}"),
        ("cpu_s", "forwarder CPU s", "{:.2f}"), ("hwm_mib", "peak RSS MiB", "{:.0f}")]
med = {}
for s in names:
    rs = [r for r in rows if r["system"] == s]
    if rs:
        med[s] = {c: statistics.median(float(r[c]) for r in rs) for c, _, _ in cols}
        med[s]["delivered"] = min(int(r["delivered"]) for r in rs)
print()
print(f"Forwarding: {int(samples):,} samples in {series} series, {nreq} remote-write requests of "
      f"{per_req} samples, {conc} writers, into one VictoriaMetrics; median of {runs} runs")
print()
hdr = ["system"] + [c[1] for c in cols] + ["delivered (min)"]
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
for s, m in med.items():
    print("| " + " | ".join([names[s]] + [f.format(m[c]) for c, _, f in cols] + [str(m["delivered"])]) + " |")
if len(med) == 2:
    print("| Tide / vmagent | " + " | ".join("{:.2f}x".format(med["tide"][c] / med["vmagent"][c])
                                            if med["vmagent"][c] else "-" for c, _, _ in cols) + " | |")
print()
print("per-run results: " + path)
PY
