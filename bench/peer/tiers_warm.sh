#!/usr/bin/env bash
# tiers_warm.sh: one chart of the long-history data set, warm, timed on
# several Tide builds in turn (an A/B of a change), on the Tide data dir
# that `bench/peer/tiers.sh --keep` left in bench/out/tiers-db-tide.
#
# Per build and round: a server on that data dir (127.0.0.1, retention off),
# the --before expressions once each from raw samples (tier=raw over the same
# days: to see what a raw chart leaves behind), --warmup untimed runs of the chart, then --runs timed ones. Prints
# the median wall ms, the server's CPU ms per run (utime + stime from
# /proc/PID/stat, in clock ticks) and its minor page faults per run; with
# --each, every run's wall ms and faults too. The builds alternate, --rounds
# times, so that a drift of the machine hits each alike.
#
# Usage: bench/peer/tiers_warm.sh [--chart yearsize|avg|max|rate|EXPR]
#          [--days 90] [--runs 10] [--warmup 3] [--rounds 2] [--tier auto]
#          [--before EXPR]... [--each] [--end UNIX_DAY_START] BIN...
#   --days D charts the last D days before --end (tiers.sh's, 1796515200 for
#   the data set of docs/benchmarks.md) at a 1 h step.
# Bounded: each request 300 s; the server is stopped by its PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/peer/lib.sh"
CHART=yearsize DAYS=90 RUNS=10 WARMUP=3 ROUNDS=2 TIER=auto EACH=0 END=1796515200
BEFORE=() BINS=()
while [ $# -gt 0 ]; do
    case "$1" in
    --chart) CHART=$2; shift 2 ;;
    --days) DAYS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --tier) TIER=$2; shift 2 ;;
    --before) BEFORE+=("$2"); shift 2 ;;
    --each) EACH=1; shift ;;
    --end) END=$2; shift 2 ;;
    -h|--help) sed -n 2,20p "$0"; exit 0 ;;
    -*) echo "${0##*/}: unknown argument $1" >&2; exit 2 ;;
    *) BINS+=("$1"); shift ;;
    esac
done
[ ${#BINS[@]} -gt 0 ] || { echo "${0##*/}: no Tide build given" >&2; exit 2; }
DB="$OUT/tiers-db-tide"
# The data set's days, from the marker tiers.sh wrote (tiers-s<N>-d<DAYS>-...).
DATA_DAYS=$(sed -n 's/^tiers-s[0-9]*-d\([0-9]*\)-.*/\1/p' "$DB.ingested" 2>/dev/null)
[ -d "$DB" ] && [ -n "$DATA_DAYS" ] ||
    { echo "${0##*/}: no complete $DB: run bench/peer/tiers.sh --keep first" >&2; exit 1; }
EXPR=$(tiers_chart "$CHART" "$DATA_DAYS") || EXPR=$CHART
TIDE_ARGS="--collect-host false --retention 0"
CLK_TCK=$(getconf CLK_TCK)
trap bench_cleanup EXIT
faults() { awk '{ sub(/^.*\) /, ""); print $8 }' "/proc/$1/stat"; }

# get PORT EXPR TIER: one query_range over the chart's days; prints seconds.
get() {
    curl -s -o /dev/null -w '%{time_total}' --max-time 300 -G "http://127.0.0.1:$1/api/v1/query_range" \
        --data-urlencode "query=$2" --data-urlencode "start=$((END - DAYS * 86400))" \
        --data-urlencode "end=$END" --data-urlencode step=3600 --data-urlencode "tier=$3"
}

for round in $(seq "$ROUNDS"); do
    for bin in "${BINS[@]}"; do
        TIDE_BIN=$bin
        port=$(free_port)
        start_server tide "$DB" "$port" "$OUT/tiers-warm.log"
        for q in "${BEFORE[@]}"; do get "$port" "$q" raw >/dev/null; done
        for _ in $(seq "$WARMUP"); do get "$port" "$EXPR" "$TIER" >/dev/null; done
        cpu0=$(proc_cpu "$SERVER_PID") f0=$(faults "$SERVER_PID")
        times=() each=""
        for _ in $(seq "$RUNS"); do
            fa=$(faults "$SERVER_PID")
            t=$(get "$port" "$EXPR" "$TIER")
            times+=("$t")
            each+=" $(awk -v t="$t" 'BEGIN {printf "%.1f", t * 1000}')/$(($(faults "$SERVER_PID") - fa))"
        done
        cpu1=$(proc_cpu "$SERVER_PID") f1=$(faults "$SERVER_PID")
        med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]*1000}')
        printf '%s round %d: median %s ms, server CPU %s ms/run, %d faults/run\n' "${bin##*/}" "$round" \
            "$med" "$(echo "$cpu0 $cpu1 $RUNS" | awk '{printf "%.1f", ($2 - $1) * 1000 / $3}')" \
            $(((f1 - f0) / RUNS))
        [ "$EACH" = 0 ] || echo "  runs (ms/faults):$each"
        stop_server
    done
done
