#!/usr/bin/env bash
# sqlite_migrate.sh: how fast a SQLite table of history moves into the
# store. A table of ROWS rows (4 validators x 2 regions, two value columns,
# one second apart per series) is migrated
#   tide: `tide import sqlite:` into a fresh `tide serve` (batches, the
#         checkpoint after each, and the per-series comparison at the end,
#         all inside the timed command);
#   vm:   the usual route into VictoriaMetrics: `sqlite3 -csv` dump piped
#         into curl POST /api/v1/import/csv with the column mapping, then
#         /internal/force_flush (no comparison: VictoriaMetrics has none).
# Each run starts the server on an empty directory. Medians over runs of
# wall time and rows/s are printed, and the Tide/VictoriaMetrics time ratio.
#
# Usage: bench/peer/sqlite_migrate.sh [--rows N=1000000] [--runs R=3]
#          [--systems "tide vm"] [--no-build]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/peer/lib.sh"
ROWS=1000000 RUNS=3
TIDE_ARGS=${TIDE_ARGS:---collect-host false --retention 0}
while [ $# -gt 0 ]; do
    case "$1" in
    --rows) ROWS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    *) bench_common_opt 2,16 "$@"; shift "$NSHIFT" ;;
    esac
done
bench_check_systems
command -v sqlite3 >/dev/null || { log "sqlite3 is missing: scripts/deps.sh test"; exit 1; }
WORKD=$(mktemp -d "${TMPDIR:-/tmp}/tide-bench-sqlite.XXXXXX")
trap 'bench_cleanup; rm -rf "$WORKD"' EXIT

DB="$WORKD/votes.db"
BASE=$(( $(date +%s) - ROWS / 4 - 3600 ))
log "making a table of $ROWS rows"
sqlite3 "$DB" <<SQL
CREATE TABLE votes (ts INTEGER NOT NULL, validator TEXT, region TEXT, latency REAL, slot INTEGER);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS - 1)
INSERT INTO votes SELECT $BASE + i / 4, 'val-' || (i % 4),
    CASE WHEN i % 8 < 4 THEN 'eu-west' ELSE 'us-east' END, (i % 997) / 10.0, i FROM n;
SQL

run_one() { # SYS RUN -> prints seconds
    local sys=$1 port t0 t1
    port=$(free_port)
    start_server "$sys" "$WORKD/data-$sys-$2" "$port" "$WORKD/$sys-$2.log" >&2
    t0=$(date +%s.%N)
    case "$sys" in
    tide)
        "$TIDE_BIN" import "sqlite:$DB" --server "http://127.0.0.1:$port" --table votes \
            --time-column ts --tags validator,region --fields latency,slot \
            --checkpoint "$WORKD/cp-$2" >"$WORKD/tide-import-$2.out" 2>&1 ||
            { log "tide import failed: $(tail -3 "$WORKD/tide-import-$2.out")"; return 1; }
        grep -q " 0 missing" "$WORKD/tide-import-$2.out" || { log "tide: samples missing"; return 1; } ;;
    vm)
        sqlite3 -csv "$DB" 'SELECT ts, validator, region, latency, slot FROM votes' |
            curl -sf --max-time 600 -X POST --data-binary @- \
                "http://127.0.0.1:$port/api/v1/import/csv?format=1:time:unix_s,2:label:validator,3:label:region,4:metric:votes_latency,5:metric:votes_slot" ||
            { log "vm import failed"; return 1; }
        curl -sf --max-time 60 "http://127.0.0.1:$port/internal/force_flush" >/dev/null ;;
    esac
    t1=$(date +%s.%N)
    stop_server
    echo "$t1 - $t0" | bc -l
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A MED
for sys in $SYSTEMS; do
    : >"$WORKD/$sys.times"
    for r in $(seq 1 "$RUNS"); do
        s=$(run_one "$sys" "$r")
        log "$sys run $r: $s s"
        echo "$s" >>"$WORKD/$sys.times"
    done
    MED[$sys]=$(median <"$WORKD/$sys.times")
done
printf '\nSQLite migration, %d rows (%d samples), median of %d runs\n' "$ROWS" $((ROWS * 2)) "$RUNS"
printf '%-6s %10s %12s\n' system seconds rows/s
for sys in $SYSTEMS; do
    printf '%-6s %10.2f %12.0f\n' "$sys" "${MED[$sys]}" "$(echo "$ROWS / ${MED[$sys]}" | bc -l)"
done
if [ -n "${MED[tide]:-}" ] && [ -n "${MED[vm]:-}" ]; then
    printf 'tide/vm time ratio: %.2f (tide includes the per-series comparison)\n' \
        "$(echo "${MED[tide]} / ${MED[vm]}" | bc -l)"
fi
