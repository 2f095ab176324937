# lib.sh: what the peer benchmarks share (sourced by ingest.sh, query.sh and
# remote_write.sh): logging, a free loopback port, the build-and-availability
# check of the systems to compare, and the TSBS cpu-only-like data set.
# Expects ROOT, OUT, SYSTEMS, BUILD, TIDE_BIN, VM_BIN (and for bench_tsbs_data
# HOSTS, HOURS, BATCH, DIGITS, END) to be set by the caller.

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
    if [[ " $SYSTEMS " == *" vm "* ]] && ! command -v "$VM_BIN" >/dev/null; then
        log "WARNING: $VM_BIN not found (scripts/deps.sh bench installs it); skipping VictoriaMetrics"
        SYSTEMS=${SYSTEMS//vm/}
    fi
    [ -n "${SYSTEMS// /}" ] || { log "no system to benchmark"; exit 1; }
}

# The TSBS cpu-only-like line-protocol files (bench/gen/tsbs_cpu.c), generated
# once per parameter set into DATA; other data sets are removed (they are
# large). Sets DATA, SAMPLES, SERIES, START, LAST and defines mval KEY.
bench_tsbs_data() {
    local gen="$OUT/tsbs_cpu"
    if [ ! -x "$gen" ] || [ "$ROOT/bench/gen/tsbs_cpu.c" -nt "$gen" ]; then
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
