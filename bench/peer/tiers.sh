#!/usr/bin/env bash
# tiers.sh: long-history benchmark (issue 12): disk and chart queries over
# months of data, Tide with rollup tiers vs Tide raw-only vs VictoriaMetrics.
#
# Data: bench/gen/tiers_gen.c, --series series (default 1 000: 100 hosts x 5
# gauges + 5 counters with resets) every --interval s (10) for --days days
# (90) ending at the start of the current UTC day, sent as byte-identical
# Prometheus remote-write bodies (one hour of whole series per request), day
# by day, oldest first, 4 parallel curl workers. Days are generated once
# into bench/out/tiers-* and reused.
# Per system, on a fresh data dir (127.0.0.1 only):
#   1. ingest every day (wall time);
#   2. Tide: wait until the maintenance job has rolled every partition up
#      (the 1h tier's point count stops moving); VM: /internal/force_flush;
#   3. disk: `du` of the data dir; for Tide also raw vs tier bytes from
#      /api/v1/status/storage ("with tiers vs raw-only");
#   4. query_range at a 1 h step over the last 30 days, over all --days and
#      over a year (the issue's "30-day and 1-year charts"; with fewer than
#      365 days of data the year's chart holds the days there are):
#        avg_over_time(gauge_0[1h])            100 series
#        max_over_time(gauge_0[1h])            100 series
#        sum by (host) (rate(counter_0_total[1h]))  100 series
#      --queries times each (median), Tide with tier=auto (tiers) and
#      tier=raw (raw samples), VM as it is (its rollup result cache serves
#      the repeats) and with nocache=1 (computed each time); every answer's series count and
#      Tide's "tier" field are checked; the server's CPU time (utime+stime
#      from /proc/PID/stat) over the runs is divided by their number.
#   With fewer than 365 days, one more chart has a year's worth of points
#   (100 series x 8 761 at 1 h): last_over_time, which keeps the name, over
#   365 / --days gauges, rounded (at most the 5 there are), and all --days:
#        last_over_time({__name__=~"gauge_[0-3]"}[1h])   400 series (90 days)
# Prints a markdown table (medians, ms; server CPU ms per query) and the ratios.
#
# Usage: bench/peer/tiers.sh [--days 90] [--series 1000] [--interval 10]
#          [--queries 5] [--systems "tide vm"] [--end UNIX_DAY_START] [--no-build]
#          [--keep]
#   --days 7 --series 100 makes a quick run (a few minutes).
#   --keep keeps each system's data dir (bench/out/tiers-db-SYS) after the
#     run, and reuses it instead of ingesting again when it holds the same
#     data set (a marker written after a complete ingest and tier wait), so
#     repeated timings of one data set cost a server start each.
# Environment: TIDE_BIN (build/tide), TIDE_ARGS (default "--collect-host
#   false --retention 0"), VM_BIN (victoria-metrics), VM_ARGS.
# Bounded: start 60 s, each request 300 s, the tier wait 40 min, shutdown
# 180 s (then SIGKILL of that PID only).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/peer/lib.sh"
DAYS=90 NSERIES=1000 INTERVAL=10 QUERIES=5 CONC=4 KEEP=0
# Raw data kept for the whole run (the default retention, 30 d, would leave
# only the tiers for older days, which is what production wants but not a
# fair raw-vs-tier comparison).
TIDE_ARGS=${TIDE_ARGS:---collect-host false --retention 0}

while [ $# -gt 0 ]; do
    case "$1" in
    --days) DAYS=$2; shift 2 ;;
    --series) NSERIES=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --queries) QUERIES=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) bench_common_opt 2,39 "$@"; shift "$NSHIFT" ;;
    esac
done
mkdir -p "$OUT"
bench_check_systems

bench_build_gen tiers_gen
[ -n "$END" ] || END=$(( $(date -u +%s) / 86400 * 86400 ))
DATA="$OUT/tiers-s${NSERIES}-d${DAYS}-i${INTERVAL}-e${END}"
if [ ! -d "$DATA" ]; then
    rm -rf "$OUT"/tiers-s*
    mkdir -p "$DATA"
fi
for d in $(seq 0 $((DAYS - 1))); do
    [ -f "$DATA/manifest-$(printf %04d "$d")" ] && continue
    "$GEN" --out "$DATA" --day "$d" --days "$DAYS" --series "$NSERIES" --interval "$INTERVAL" --end "$END"
done
SAMPLES=$(cat "$DATA"/manifest-* | awk -F= '/^samples=/ {s += $2} END {printf "%d", s}')
BYTES=$(cat "$DATA"/manifest-* | awk -F= '/^bytes=/ {s += $2} END {printf "%d", s}')
log "data: $NSERIES series x $DAYS days at ${INTERVAL}s = $SAMPLES samples, $((BYTES / 1048576)) MiB of requests"

trap bench_cleanup EXIT
RES="$OUT/tiers-results.txt"
: >"$RES"

CLK_TCK=$(getconf CLK_TCK)
# query NAME PORT EXPR START EXTRA: median ms of QUERIES runs and the server's
# CPU ms per run; checks the answer. The timed runs read the body into
# /dev/null, like the other benchmarks: curl writing a 2-7 MB answer to a
# file adds 1.5 ms or more to either system's time, the client's cost, not
# the server's. One more run, untimed, keeps the body for the check.
query() {
    local name=$1 port=$2 expr=$3 start=$4 extra=$5 t times=() body="$OUT/tiers-q.json"
    local cpu0 cpu1 args
    args=(--max-time 300 -G "http://127.0.0.1:$port/api/v1/query_range"
          --data-urlencode "query=$expr" --data-urlencode "start=$start" --data-urlencode "end=$END"
          --data-urlencode step=3600 $extra)
    cpu0=$(proc_cpu "$SERVER_PID")
    for _ in $(seq "$QUERIES"); do
        t=$(curl -s -o /dev/null -w '%{time_total}' "${args[@]}")
        times+=("$t")
    done
    cpu1=$(proc_cpu "$SERVER_PID")
    curl -s -o "$body" "${args[@]}"
    local info
    info=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); r=j["data"]["result"]; print(len(r), sum(len(s["values"]) for s in r), j.get("tier", "-"))' "$body")
    local med
    med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]*1000}')
    local cpu
    cpu=$(echo "$cpu0 $cpu1 $QUERIES" | awk '{printf "%.1f", ($2 - $1) * 1000 / $3}')
    echo "$name $med $info cpu_ms=$cpu" >>"$RES"
    log "$name: ${med} ms, server CPU ${cpu} ms/query (series, points, tier: $info)"
}

# The charts (bench/peer/lib.sh, tiers_chart).
CHARTS="avg max rate"

# The chart ranges, days: 30, all DAYS and a year.
RANGES=$(printf '%s\n' 30 "$DAYS" 365 | sort -nu)
# The year-sized chart over DAYS (see the top), when DAYS < 365.
YEARSIZE=$(tiers_chart yearsize "$DAYS")

# chart NAME EXPR START: one chart from START to END on system $sys at
# $port: Tide from tiers and from raw samples, VM cached and not.
chart() {
    if [ "$sys" = tide ]; then
        query "tide-tiers-$1" "$port" "$2" "$3" "--data-urlencode tier=auto"
        query "tide-raw-$1" "$port" "$2" "$3" "--data-urlencode tier=raw"
    else
        query "vm-$1" "$port" "$2" "$3" ""
        query "vmnc-$1" "$port" "$2" "$3" "--data-urlencode nocache=1"
    fi
}

# run_queries: every chart of CHARTS over each of RANGES, then the
# year-sized chart, on system $sys, served at $port.
run_queries() {
    for range in $RANGES; do
        for q in $CHARTS; do
            chart "$q-${range}d" "$(tiers_chart "$q" "$DAYS")" $((END - range * 86400))
        done
    done
    if [ "$DAYS" -lt 365 ]; then
        chart "yearsize-${DAYS}d" "$YEARSIZE" $((END - DAYS * 86400))
    fi
}

for sys in $SYSTEMS; do
    dir="$OUT/tiers-db-$sys"
    marker="$dir.ingested"
    if [ "$KEEP" = 1 ] && [ -d "$dir" ] && [ "$(cat "$marker" 2>/dev/null)" = "${DATA##*/}" ]; then
        port=$(free_port)
        start_server "$sys" "$dir" "$port" "$OUT/tiers-$sys.log"
        log "$sys: reusing ${dir#"$ROOT"/}, ingested before"
        cat "$dir.results" >>"$RES" 2>/dev/null || true
        run_queries
        stop_server
        continue
    fi
    rm -rf "$dir" "$marker" "$dir.results"
    port=$(free_port)
    start_server "$sys" "$dir" "$port" "$OUT/tiers-$sys.log"
    t0=$(date +%s.%N)
    for d in $(seq 0 $((DAYS - 1))); do
        find "$DATA" -name "req-$(printf %04d "$d")-*.bin" -print0 | sort -z |
            xargs -0 -P "$CONC" -I{} curl -s -o /dev/null --max-time 300 \
                -H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: snappy' \
                -H 'X-Prometheus-Remote-Write-Version: 0.1.0' --data-binary @{} \
                "http://127.0.0.1:$port/api/v1/write" || true
    done
    t1=$(date +%s.%N)
    echo "$sys ingest_s $(echo "$t1 - $t0" | bc)" >>"$RES"
    log "$sys: ingested in $(echo "$t1 - $t0" | bc) s"
    if [ "$sys" = tide ]; then
        # Rolled up: the 1h tier's points stop moving (the job runs once a minute).
        prev=-1
        for _ in $(seq 80); do
            sleep 30
            cur=$(curl -s "http://127.0.0.1:$port/api/v1/status/storage" |
                python3 -c 'import json,sys; j=json.load(sys.stdin)["data"]; print(j["tiers"][-1]["samples"], j["head"]["samples"])')
            log "tide: 1h tier points, head samples: $cur"
            [ "$cur" = "$prev" ] && [ "${cur%% *}" -gt 0 ] && break
            prev=$cur
        done
        curl -s "http://127.0.0.1:$port/api/v1/status/storage" >"$OUT/tiers-status.json"
        python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["data"]
for t in j["tiers"]: print("tide tier_bytes_%s %d %d" % (t["name"], t["bytes"], t["samples"]))' \
            "$OUT/tiers-status.json" >>"$RES"
    else
        curl -s -o /dev/null "http://127.0.0.1:$port/internal/force_flush" || true
        sleep 5
    fi
    echo "$sys du_bytes $(du -sb "$dir" | cut -f1)" >>"$RES"
    grep "^$sys " "$RES" >"$dir.results" || true
    run_queries
    stop_server
    if [ "$KEEP" = 1 ]; then echo "${DATA##*/}" >"$marker"; fi
done

log "results in ${RES#"$ROOT"/}"
python3 - "$RES" "$DAYS" $RANGES <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1])]
days = int(sys.argv[2])
ranges = [d + "d" for d in sys.argv[3:]]
charts = [(n, rng) for rng in ranges for n in ("avg", "max", "rate")]
if days < 365:
    charts.append(("yearsize", "%dd" % days))
q = {r[0]: float(r[1]) for r in rows if r[0].count("-") >= 2}
print("| query (1 h step) | Tide tiers ms | Tide raw ms | VM ms | VM nocache ms | raw/tiers | VM/tiers | VM nocache/tiers |")
print("|---|---|---|---|---|---|---|---|")
f = lambda x: "%.1f" % x if x is not None else "-"
rt = lambda a, b: "%.1fx" % (a / b) if a is not None and b else "-"
for n, rng in charts:
    t, r, v, nc = (q.get("%s-%s-%s" % (s, n, rng)) for s in ("tide-tiers", "tide-raw", "vm", "vmnc"))
    print("| %s %s | %s | %s | %s | %s | %s | %s | %s |" % (n, rng, f(t), f(r), f(v), f(nc), rt(r, t), rt(v, t), rt(nc, t)))
cpu = {r[0]: float(r[-1][7:]) for r in rows if r[-1].startswith("cpu_ms=")}
print()
print("| server CPU ms per query | Tide tiers | Tide raw | VM | VM nocache | VM nocache/tiers |")
print("|---|---|---|---|---|---|")
for n, rng in charts:
    t, r, v, nc = (cpu.get("%s-%s-%s" % (s, n, rng)) for s in ("tide-tiers", "tide-raw", "vm", "vmnc"))
    print("| %s %s | %s | %s | %s | %s | %s |" % (n, rng, f(t), f(r), f(v), f(nc), rt(nc, t)))
for r in rows:
    if r[1] in ("du_bytes", "ingest_s") or r[1].startswith("tier_bytes"):
        print(" ".join(r))
EOF
