#!/usr/bin/env bash
# rules.sh: 1 000 Prometheus-format rules evaluated every 15 s, Tide vs
# Prometheus 2.42 vs vmalert (+ VictoriaMetrics as its datasource and
# remote-write target), side by side on the same data and the same file.
#
# bench/peer/rules_gen.py makes HOSTS x 12 series every 15 s for the
# HISTORY minutes before each run (the run stays inside the rules' 5m windows, so nothing
# needs to write) and RULES rules in
# groups of 100 (60 % recording, 40 % alerting with `for: 1m`). Each system
# gets the data first (Tide and VictoriaMetrics through /api/v1/import,
# Prometheus as a block made by `promtool tsdb create-blocks-from
# openmetrics`), then loads the rules; alerts go to a small local webhook
# sink for all three. After WARM seconds, CPU (utime+stime of the server;
# for vmalert, of vmalert plus victoria-metrics, which runs its queries) is
# measured over MEASURE seconds, with RSS at the end, and each system's own
# report of how long its groups take (sum of the groups' last evaluation
# durations: tide_rule_group_last_duration_seconds,
# prometheus_rule_group_last_duration_seconds,
# vmalert_iteration_duration_seconds), and the iterations each missed over
# the run (*_iterations_missed_total, vmalert_iteration_missed_total).
# Firing alerts are counted in each as a sanity check (they should agree).
# Medians over runs and ratios to Tide.
#
# Usage: bench/peer/rules.sh [--hosts N=100] [--rules N=1000] [--runs R=3]
#          [--warm S=40] [--measure S=100] [--history MIN=60]
#          [--systems "tide prom vmalert"] [--no-build]
# (warm + measure + loading must stay under 5 minutes: the data ends when
# the run starts; the load time is logged. At the issue's size, 8334 hosts =
# 100 008 series, use --history 10: 4.1 M samples per system instead of 24 M.)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/peer/lib.sh"
SYSTEMS="tide prom vmalert"
HOSTS=100 RULES=1000 RUNS=3 WARM=40 MEASURE=100 HISTORY=60
PROM_BIN=${PROM_BIN:-prometheus}
VMALERT_BIN=${VMALERT_BIN:-vmalert}
while [ $# -gt 0 ]; do
    case "$1" in
    --hosts) HOSTS=$2; shift 2 ;;
    --rules) RULES=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --warm) WARM=$2; shift 2 ;;
    --measure) MEASURE=$2; shift 2 ;;
    --history) HISTORY=$2; shift 2 ;;
    --systems) SYSTEMS=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "rules.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if [[ " $SYSTEMS " == *" tide "* ]] && [ "$BUILD" = 1 ]; then
    mkdir -p "$OUT"
    make -C "$ROOT" --no-print-directory build >"$OUT/build.log" 2>&1 || log "WARNING: make build failed"
fi
for b in "$TIDE_BIN" "$PROM_BIN" "$VMALERT_BIN" "$VM_BIN" promtool; do
    command -v "$b" >/dev/null || { log "$b is missing (scripts/deps.sh bench test)"; exit 1; }
done
CLK_TCK=$(getconf CLK_TCK)
WORKD=$(mktemp -d "${TMPDIR:-/tmp}/tide-bench-rules.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$WORKD"
}
trap cleanup EXIT

# gen_data SYS: the data set and rules, ending now (right before each run);
# the OpenMetrics copy and its blocks only for Prometheus.
gen_data() {
    rm -rf "$WORKD/prom-blocks" "$WORKD/data.om"
    if [ "$1" = prom ]; then
        python3 "$ROOT/bench/peer/rules_gen.py" "$WORKD" "$HOSTS" "$RULES" "$HISTORY" >&2
        promtool tsdb create-blocks-from openmetrics "$WORKD/data.om" "$WORKD/prom-blocks" >/dev/null
    else
        python3 "$ROOT/bench/peer/rules_gen.py" "$WORKD" "$HOSTS" "$RULES" "$HISTORY" --no-om >&2
    fi
}

# A webhook sink for every system's alerts (Alertmanager v2 API shape).
cat >"$WORKD/sink.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"[]")
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
SINK_PORT=$(free_port)
python3 "$WORKD/sink.py" "$SINK_PORT" &
PIDS+=($!)

# import_jsonl URL: data.jsonl into URL's /api/v1/import, in pieces of 10 000
# series (Tide caps a request body at max_request_bytes, 64 MiB); a failed
# piece is logged, not silent.
import_jsonl() {
    rm -f "$WORKD"/piece.*
    split -l 10000 "$WORKD/data.jsonl" "$WORKD/piece."
    for f in "$WORKD"/piece.*; do
        curl -sSf --max-time 300 --data-binary @"$f" "$1/api/v1/import" >&2 ||
            log "import of $f into $1 failed"
    done
    rm -f "$WORKD"/piece.*
}

wait_http() { # URL: 60 s at most
    for _ in $(seq 600); do curl -sf -o /dev/null --max-time 2 "$1" && return 0; sleep 0.1; done
    log "no answer from $1"; return 1
}
cpu_of() { local t=0 p; for p in "$@"; do t=$(echo "$t + $(proc_cpu "$p")" | bc -l); done; echo "$t"; }
rss_of() { local t=0 p; for p in "$@"; do t=$(echo "$t + $(awk '/^VmRSS:/ {print $2/1024}' "/proc/$p/status")" | bc -l); done; echo "$t"; }
metric_sum() { # URL NAME [FILTER]: sum of a metric's samples in a /metrics page
    curl -sf --max-time 10 "$1" | awk -v n="$2" -v f="${3:-}" '$1 ~ "^"n"({|$)" && index($0, f) { s += $NF } END { printf "%.4f", s }'
}
firing() { # QUERY_URL
    curl -sf --max-time 10 "$1/api/v1/query" --data-urlencode 'query=count(ALERTS{alertstate="firing"})' |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'
}

run_one() { # SYS RUN -> "cpu_s rss_mib eval_s firing missed"
    local sys=$1 d="$WORKD/$1-$2" port vmport procs=() q evalurl evalname evalfilter="" missname
    local t0 m0
    mkdir -p "$d"
    gen_data "$sys"
    t0=$(date +%s)
    port=$(free_port)
    case "$sys" in
    tide)
        cat >"$d/tide.yml" <<YML
rule_files: [$WORKD/rules.yml]
global: {evaluation_interval: 15s}
alerting: {alertmanagers: [{static_configs: [{targets: ["127.0.0.1:$SINK_PORT"]}]}]}
YML
        "$TIDE_BIN" serve --data "$d/data" --listen "127.0.0.1:$port" --collect-host false \
            --retention 0 --config "$d/tide.yml" >"$d/log" 2>&1 &
        procs=($!); PIDS+=($!)
        wait_http "http://127.0.0.1:$port/health"
        import_jsonl "http://127.0.0.1:$port"
        # Reload so that the first evaluations see the data.
        curl -sf -X POST --max-time 60 "http://127.0.0.1:$port/-/reload" >/dev/null
        q="http://127.0.0.1:$port" evalurl="$q/metrics" evalname=tide_rule_group_last_duration_seconds
        missname=tide_rule_group_iterations_missed_total ;;
    prom)
        cp -r "$WORKD/prom-blocks" "$d/data"
        cat >"$d/prometheus.yml" <<YML
global: {evaluation_interval: 15s}
rule_files: [$WORKD/rules.yml]
alerting: {alertmanagers: [{static_configs: [{targets: ["127.0.0.1:$SINK_PORT"]}]}]}
YML
        "$PROM_BIN" --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/data" \
            --storage.tsdb.retention.time=10y --web.listen-address="127.0.0.1:$port" \
            --log.level=warn >"$d/log" 2>&1 &
        procs=($!); PIDS+=($!)
        wait_http "http://127.0.0.1:$port/-/ready"
        q="http://127.0.0.1:$port" evalurl="$q/metrics" evalname=prometheus_rule_group_last_duration_seconds
        missname=prometheus_rule_group_iterations_missed_total ;;
    vmalert)
        vmport=$(free_port)
        "$VM_BIN" -storageDataPath "$d/data" -httpListenAddr "127.0.0.1:$vmport" -retentionPeriod 10y \
            -search.latencyOffset 0s >"$d/vm.log" 2>&1 &
        procs=($!); PIDS+=($!)
        wait_http "http://127.0.0.1:$vmport/health"
        import_jsonl "http://127.0.0.1:$vmport"
        curl -sf --max-time 60 "http://127.0.0.1:$vmport/internal/force_flush" >/dev/null
        "$VMALERT_BIN" -rule="$WORKD/rules.yml" -datasource.url="http://127.0.0.1:$vmport" \
            -remoteWrite.url="http://127.0.0.1:$vmport" -notifier.url="http://127.0.0.1:$SINK_PORT" \
            -evaluationInterval=15s -httpListenAddr="127.0.0.1:$port" >"$d/log" 2>&1 &
        procs+=($!); PIDS+=($!)
        wait_http "http://127.0.0.1:$port/health"
        q="http://127.0.0.1:$vmport" evalurl="http://127.0.0.1:$port/metrics"
        evalname=vmalert_iteration_duration_seconds evalfilter='quantile="0.5"'
        missname=vmalert_iteration_missed_total ;;
    esac
    log "$sys: loaded and started in $(($(date +%s) - t0)) s"
    sleep "$WARM"
    local c0 c1
    c0=$(cpu_of "${procs[@]}")
    m0=$(metric_sum "$evalurl" "$missname")
    sleep "$MEASURE"
    c1=$(cpu_of "${procs[@]}")
    [ "$sys" = vmalert ] && curl -sf --max-time 60 "http://127.0.0.1:$vmport/internal/force_flush" >/dev/null
    echo "$(echo "$c1 - $c0" | bc -l) $(rss_of "${procs[@]}") $(metric_sum "$evalurl" "$evalname" "$evalfilter") $(firing "$q") $(echo "$(metric_sum "$evalurl" "$missname") - $m0" | bc -l)"
    for p in "${procs[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${procs[@]}"; do wait "$p" 2>/dev/null || true; done
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A CPU RSS EVAL FIRE MISS
for sys in $SYSTEMS; do
    : >"$WORKD/$sys.res"
    for r in $(seq 1 "$RUNS"); do
        res=$(run_one "$sys" "$r")
        log "$sys run $r: cpu_s rss_mib eval_s firing missed = $res"
        echo "$res" >>"$WORKD/$sys.res"
    done
    CPU[$sys]=$(awk '{print $1}' "$WORKD/$sys.res" | median)
    RSS[$sys]=$(awk '{print $2}' "$WORKD/$sys.res" | median)
    EVAL[$sys]=$(awk '{print $3}' "$WORKD/$sys.res" | median)
    FIRE[$sys]=$(awk '{print $4}' "$WORKD/$sys.res" | median)
    MISS[$sys]=$(awk '{print $5}' "$WORKD/$sys.res" | median)
done
printf '\n%d rules (%d hosts x 12 series), 15 s interval, CPU over %d s, median of %d runs\n' \
    "$RULES" "$HOSTS" "$MEASURE" "$RUNS"
printf '%-8s %10s %12s %10s %10s %8s %8s\n' system cpu_s cpu_%core rss_mib eval_s firing missed
for sys in $SYSTEMS; do
    printf '%-8s %10.2f %12.2f %10.1f %10.4f %8s %8s\n' "$sys" "${CPU[$sys]}" \
        "$(echo "100 * ${CPU[$sys]} / $MEASURE" | bc -l)" "${RSS[$sys]}" "${EVAL[$sys]}" "${FIRE[$sys]}" \
        "${MISS[$sys]}"
done
if [ -n "${CPU[tide]:-}" ]; then
    for sys in $SYSTEMS; do
        [ "$sys" = tide ] && continue
        printf 'tide/%s: cpu %.2fx, rss %.2fx, eval time %.2fx\n' "$sys" \
            "$(echo "${CPU[tide]} / ${CPU[$sys]}" | bc -l)" "$(echo "${RSS[tide]} / ${RSS[$sys]}" | bc -l)" \
            "$(echo "${EVAL[tide]} / ${EVAL[$sys]}" | bc -l)"
    done
fi
