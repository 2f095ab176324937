# lib.sh: what the peer benchmarks share (sourced by every bench/peer/*.sh):
# logging, a free loopback port, the build-and-availability check of the
# systems to compare, the TSBS cpu-only-like data set, the generators linked
# against Tide's libraries (bench_build_gen), and starting and stopping the
# server under test.
# Sourced right after the caller sets ROOT, before it parses its arguments:
# sets the defaults the three share (OUT, SYSTEMS, END, BUILD, TIDE_BIN,
# VM_BIN, VM_ARGS); bench_tsbs_data also expects HOSTS, HOURS, BATCH, DIGITS.

OUT="$ROOT/bench/out"
SYSTEMS="tide vm" END="" BUILD=1
TIDE_BIN=${TIDE_BIN:-$ROOT/build/tide}
VM_BIN=${VM_BIN:-victoria-metrics}
VM_ARGS=${VM_ARGS:-}

# bench_common_opt HELP_LINES ARGS...: handles $1 of ARGS when it is an option
# every peer script takes (--hosts, --hours, --systems, --end, --no-build) or
# -h/--help (prints lines HELP_LINES, a sed range, of the script and exits);
# exits 2 on any other. Sets NSHIFT to the number of words to shift.
bench_common_opt() {
    local help=$1; shift
    NSHIFT=2
    case "$1" in
    --hosts) HOSTS=$2 ;;
    --hours) HOURS=$2 ;;
    --systems) SYSTEMS=$2 ;;
    --end) END=$2 ;;
    --no-build) BUILD=0; NSHIFT=1 ;;
    -h|--help) sed -n "${help}p" "$0"; exit 0 ;;
    *) echo "${0##*/}: unknown argument $1" >&2; exit 2 ;;
    esac
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Build Tide when asked, then drop the systems that cannot run here, with a
# warning; exit when none is left.
bench_check_systems() {
    if [[ " $SYSTEMS " == *" tide "* ]] && [ "$BUILD" = 1 ]; then
        log "building Tide (make build)"
        make -C "$ROOT" --no-print-directory build >"$OUT/build.log" 2>&1 ||
            log "WARNING: make build failed (see bench/out/build.log); using existing $TIDE_BIN if any"
    fi
    if [[ " $SYSTEMS " == *" tide "* ]] && [ ! -x "$TIDE_BIN" ]; then
        log "WARNING: $TIDE_BIN missing; skipping Tide"
        SYSTEMS=${SYSTEMS//tide/}
    fi
    bench_check_vm
    [ -n "${SYSTEMS// /}" ] || { log "no system to benchmark"; exit 1; }
}

# Drop VictoriaMetrics from SYSTEMS, with a warning, when VM_BIN is missing.
bench_check_vm() {
    if [[ " $SYSTEMS " == *" vm "* ]] && ! command -v "$VM_BIN" >/dev/null; then
        log "WARNING: $VM_BIN not found (scripts/deps.sh bench installs it); skipping VictoriaMetrics"
        SYSTEMS=${SYSTEMS//vm/}
    fi
}

# The TSBS cpu-only-like line-protocol files (bench/gen/tsbs_cpu.c), generated
# once per parameter set into DATA; other data sets are removed (they are
# large). Sets DATA, SAMPLES, SERIES, START, LAST and defines mval KEY.
bench_tsbs_data() {
    local gen="$OUT/tsbs_cpu"
    if [ ! -x "$gen" ] || [ "$ROOT/bench/gen/tsbs_cpu.c" -nt "$gen" ] ||
       [ "$ROOT/bench/gen/rng.h" -nt "$gen" ]; then
        log "compiling the generator"
        ${CC:-cc} -O2 -o "$gen" "$ROOT/bench/gen/tsbs_cpu.c" -lm
    fi
    [ -n "$END" ] || END=$(( $(date -u +%s) / 86400 * 86400 ))
    DATA="$OUT/data-h${HOSTS}-${HOURS}h-b${BATCH}-d${DIGITS}-e${END}"
    if [ ! -f "$DATA/manifest" ] || [ "$ROOT/bench/gen/tsbs_cpu.c" -nt "$DATA/manifest" ]; then
        rm -rf "$OUT"/data-h*
        log "generating $HOSTS hosts x ${HOURS}h into ${DATA#"$ROOT"/}"
        "$gen" --out "$DATA" --hosts "$HOSTS" --hours "$HOURS" --batch "$BATCH" --end "$END" \
            --digits "$DIGITS"
    fi
    SAMPLES=$(mval samples) SERIES=$(mval series) START=$(mval start) LAST=$(mval last)
}

mval() { sed -n "s/^$1=//p" "$DATA/manifest"; }

# bench_post_lp PORT CONC CODES: POST every batch-*.lp file of DATA to
# /write, CONC at a time, the HTTP status of each into the file CODES.
bench_post_lp() {
    find "$DATA" -name 'batch-*.lp' -print0 | sort -z |
        xargs -0 -P "$2" -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 300 \
            -H 'Content-Type: text/plain' --data-binary @{} "http://127.0.0.1:$1/write" \
            >"$3" 2>/dev/null || true
}

# CPU seconds (utime+stime; needs CLK_TCK) and peak RSS in MiB of PID $1.
proc_cpu() { awk -v t="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.2f", ($12+$13)/t }' "/proc/$1/stat"; }
proc_hwm() { awk '/^VmHWM:/ { printf "%.1f", $2/1024 }' "/proc/$1/status"; }

# bench_build_gen NAME: compile bench/gen/NAME.c (a data generator) against the
# release build's libraries into $OUT/NAME when it is missing or older than its
# source, bench/gen/rng.h or the libraries; sets GEN to its path.
bench_build_gen() {
    GEN="$OUT/$1"
    local src="$ROOT/bench/gen/$1.c"
    local libs=("$ROOT/build/libtide_ingest.a" "$ROOT/build/proto/libtide_proto.a"
        "$ROOT/build/libtide_model.a" "$ROOT/build/libtide_core.a")
    if [ ! -x "$GEN" ] || [ "$src" -nt "$GEN" ] || [ "$ROOT/bench/gen/rng.h" -nt "$GEN" ] ||
        [ "$ROOT/build/libtide_ingest.a" -nt "$GEN" ]; then
        log "compiling bench/gen/$1.c"
        mkdir -p "$OUT"
        # shellcheck disable=SC2046
        ${CC:-cc} -O2 -std=gnu11 -D_GNU_SOURCE -I"$ROOT/src" -I"$ROOT/build/gen" "$src" "${libs[@]}" \
            $(pkg-config --libs libprotobuf-c libzstd zlib libxxhash libpcre2-8 yaml-0.1) \
            -lsnappy -lpthread -lm -o "$GEN"
    fi
}

# tiers_chart NAME DATA_DAYS: the PromQL of one chart of tiers.sh (and
# tiers_warm.sh) over a data set of DATA_DAYS days: avg, max, rate, or
# yearsize, last_over_time over as many gauges as make a year's worth of
# points (365 / DATA_DAYS, rounded, at most the 5 there are). Status 1 for
# another NAME.
tiers_chart() {
    local n
    case "$1" in
    avg) echo 'avg_over_time(gauge_0[1h])' ;;
    max) echo 'max_over_time(gauge_0[1h])' ;;
    rate) echo 'sum by (host) (rate(counter_0_total[1h]))' ;;
    yearsize)
        n=$(( (365 + $2 / 2) / $2 ))
        [ "$n" -gt 5 ] && n=5
        echo "last_over_time({__name__=~\"gauge_[0-$((n - 1))]\"}[1h])" ;;
    *) return 1 ;;
    esac
}

# ---- one server at a time, on 127.0.0.1, stopped by its PID ----

SERVER_PID=""
bench_cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
}

# bench_server_cmd SYS DIR PORT: the command line of system SYS serving DIR
# on 127.0.0.1:PORT, in the array SERVER_CMD (TIDE_ARGS / VM_ARGS appended).
bench_server_cmd() {
    case "$1" in
    tide) SERVER_CMD=("$TIDE_BIN" serve --data "$2" --listen "127.0.0.1:$3")
          # shellcheck disable=SC2206
          SERVER_CMD+=($TIDE_ARGS) ;;
    vm) SERVER_CMD=("$VM_BIN" -storageDataPath "$2" -httpListenAddr "127.0.0.1:$3" -retentionPeriod 10y)
        # shellcheck disable=SC2206
        SERVER_CMD+=($VM_ARGS) ;;
    esac
}

# start_server SYS DIR PORT LOG: start it (SERVER_PID) and wait, 60 s at most,
# until /health answers.
start_server() {
    bench_server_cmd "$1" "$2" "$3"
    "${SERVER_CMD[@]}" >"$4" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 600); do
        kill -0 "$SERVER_PID" 2>/dev/null || { log "$1 exited at start-up: $(tail -c 300 "$4")"; return 1; }
        curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$3/health" && return 0
        sleep 0.1
    done
    log "$1: not healthy after 60 s"
    return 1
}

# stop_server: SIGTERM, wait up to 180 s, then SIGKILL.
stop_server() {
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1800); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

