#!/usr/bin/env bash
# scrape.sh: scraping cost, Tide vs Prometheus 2.42 vs vmagent, each
# scraping the same N node_exporter-sized targets at the same interval.
#
# The body is one real capture of Debian's prometheus-node-exporter (default
# collectors), served by a local static fixture (Python, keep-alive) for
# every path /m/<i>. The targets come from one file_sd file: N groups, each
# {targets: [fixture], labels: {__metrics_path__: /m/<i>, instance: node-<i>}},
# so every target is a distinct series set. Each system gets the same
# scrape_configs (file_sd_configs, scrape_interval), runs alone for WARM
# seconds, then MEASURE seconds during which its CPU seconds (utime+stime
# from /proc/PID/stat) are counted; its RSS (VmRSS) at the end and peak
# (VmHWM) are read, and `count(up == 1)` is checked to be N (vmagent
# forwards to a victoria-metrics single node, which is not measured).
# Prints one line per system and the ratios to Tide.
#
# Usage: bench/peer/scrape.sh [--targets N=1000] [--interval 15s]
#          [--warm S=35] [--measure S=120] [--systems "tide prometheus vmagent"]
# Environment: TIDE_BIN (build/tide, a release build), PROM_BIN (prometheus),
#          VMAGENT_BIN (vmagent), VM_BIN (victoria-metrics).
# Bounded: every wait is capped; every process it starts is stopped by PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$ROOT/bench/out/scrape"
N=1000 INTERVAL=15s WARM=35 MEASURE=120 SYSTEMS="tide prometheus vmagent"
TIDE_BIN=${TIDE_BIN:-$ROOT/build/tide}
PROM_BIN=${PROM_BIN:-prometheus}
VMAGENT_BIN=${VMAGENT_BIN:-vmagent}
VM_BIN=${VM_BIN:-victoria-metrics}
while [ $# -gt 0 ]; do
    case "$1" in
    --targets) N=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --warm) WARM=$2; shift 2 ;;
    --measure) MEASURE=$2; shift 2 ;;
    --systems) SYSTEMS=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "scrape.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
CLK_TCK=$(getconf CLK_TCK)
rm -rf "$OUT"
mkdir -p "$OUT"
PIDS=()
cleanup() {
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do
        kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    done
    return 0
}
trap cleanup EXIT
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_s() { awk -v t="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.2f", ($12+$13)/t }' "/proc/$1/stat"; }
rss_mib() { awk -v k="$2:" '$1 == k { printf "%.1f", $2/1024 }' "/proc/$1/status"; }
wait_http() { # wait_http URL SECONDS
    for _ in $(seq 1 $(($2 * 10))); do
        curl -sf -o /dev/null --max-time 2 "$1" && return 0
        sleep 0.1
    done
    return 1
}
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 1 600); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# ---- the body: one node_exporter capture ----
NE_PORT=$(free_port)
prometheus-node-exporter --web.listen-address=127.0.0.1:$NE_PORT >"$OUT/ne.log" 2>&1 &
NE_PID=$!
PIDS+=("$NE_PID")
wait_http "http://127.0.0.1:$NE_PORT/metrics" 30 || { log "node exporter did not start"; exit 1; }
curl -sf "http://127.0.0.1:$NE_PORT/metrics" >"$OUT/body.prom"
stop_pid "$NE_PID"
SERIES=$(grep -vc '^#' "$OUT/body.prom")
log "body: $(wc -c <"$OUT/body.prom") bytes, $SERIES samples per scrape"

# ---- the fixture ----
FX_PORT=$(free_port)
python3 - "$OUT/body.prom" "$FX_PORT" >"$OUT/fixture.log" 2>&1 <<'PY' &
import http.server, sys
body = open(sys.argv[1], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
PY
FX_PID=$!
PIDS+=("$FX_PID")
wait_http "http://127.0.0.1:$FX_PORT/m/0" 30 || { log "fixture did not start"; exit 1; }

python3 - "$N" "127.0.0.1:$FX_PORT" >"$OUT/targets.json" <<'PY'
import json, sys
n, addr = int(sys.argv[1]), sys.argv[2]
print(json.dumps([{"targets": [addr], "labels": {"__metrics_path__": "/m/%d" % i,
                                                   "instance": "node-%d" % i}} for i in range(n)]))
PY
cat >"$OUT/scrape.yml" <<EOF
global:
  scrape_interval: $INTERVAL
scrape_configs:
  - job_name: node
    file_sd_configs:
      - files: ['$OUT/targets.json']
EOF

up_count() { # up_count QUERY_URL
    curl -sf -G --data-urlencode 'query=count(up{job="node"} == 1)' "$1/api/v1/query" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'
}

RESULTS=()
run_one() { # run_one SYSTEM
    local sys=$1 port pid query dir=$OUT/$1 vm_pid=""
    mkdir -p "$dir"
    port=$(free_port)
    case "$sys" in
    tide)
        "$TIDE_BIN" serve --config "$OUT/scrape.yml" --data "$dir/data" \
            --listen "127.0.0.1:$port" --collect-host false >"$dir/log" 2>&1 &
        pid=$!; query="http://127.0.0.1:$port"; health="$query/health" ;;
    prometheus)
        "$PROM_BIN" --config.file="$OUT/scrape.yml" --storage.tsdb.path="$dir/data" \
            --web.listen-address="127.0.0.1:$port" --log.level=warn >"$dir/log" 2>&1 &
        pid=$!; query="http://127.0.0.1:$port"; health="$query/-/ready" ;;
    vmagent)
        local vport
        vport=$(free_port)
        "$VM_BIN" -storageDataPath "$dir/vm" -httpListenAddr "127.0.0.1:$vport" >"$dir/vm.log" 2>&1 &
        vm_pid=$!
        PIDS+=("$vm_pid")
        wait_http "http://127.0.0.1:$vport/health" 60 || { log "victoria-metrics did not start"; return 1; }
        "$VMAGENT_BIN" -promscrape.config="$OUT/scrape.yml" -httpListenAddr "127.0.0.1:$port" \
            -remoteWrite.url="http://127.0.0.1:$vport/api/v1/write" \
            -remoteWrite.tmpDataPath="$dir/vmagent" >"$dir/log" 2>&1 &
        pid=$!; query="http://127.0.0.1:$vport"; health="http://127.0.0.1:$port/health" ;;
    esac
    PIDS+=("$pid")
    wait_http "$health" 60 || { log "$sys did not start: $(tail -c 300 "$dir/log")"; return 1; }
    log "$sys: warming up ${WARM}s"
    sleep "$WARM"
    local c0 c1 up
    c0=$(cpu_s "$pid")
    log "$sys: measuring ${MEASURE}s"
    sleep "$MEASURE"
    c1=$(cpu_s "$pid")
    local rss hwm
    rss=$(rss_mib "$pid" VmRSS)
    hwm=$(rss_mib "$pid" VmHWM)
    if [ "$sys" = vmagent ]; then # VictoriaMetrics hides the last 30 s: ask vmagent itself
        up=$(curl -sf "http://127.0.0.1:$port/metrics" |
            awk '/^vm_promscrape_targets\{.*status="up"/ { n += $NF } END { print n + 0 }')
    else
        up=$(up_count "$query" || echo "?")
    fi
    local cpu
    cpu=$(awk -v a="$c0" -v b="$c1" -v m="$MEASURE" 'BEGIN { printf "%.3f", (b - a) / m }')
    RESULTS+=("$sys $cpu $rss $hwm $up")
    log "$sys: $cpu CPU s/s, RSS $rss MiB (peak $hwm), up targets $up of $N"
    stop_pid "$pid"
    [ -z "$vm_pid" ] || stop_pid "$vm_pid"
}

for s in $SYSTEMS; do
    run_one "$s" || RESULTS+=("$s failed - - -")
done

printf '\n%d targets x %d samples every %s, measured %ss after %ss\n' "$N" "$SERIES" "$INTERVAL" "$MEASURE" "$WARM"
printf '%-11s %12s %10s %10s %8s\n' system "CPU s/s" "RSS MiB" "peak MiB" "up"
base_cpu="" base_rss=""
for r in "${RESULTS[@]}"; do
    # shellcheck disable=SC2086
    set -- $r
    printf '%-11s %12s %10s %10s %8s\n' "$1" "$2" "$3" "$4" "$5"
    if [ "$1" = tide ]; then base_cpu=$2; base_rss=$3; fi
done
if [ -n "$base_cpu" ]; then
    for r in "${RESULTS[@]}"; do
        # shellcheck disable=SC2086
        set -- $r
        [ "$1" = tide ] || [ "$2" = failed ] && continue
        awk -v s="$1" -v c="$2" -v m="$3" -v tc="$base_cpu" -v tm="$base_rss" \
            'BEGIN { printf "tide/%s: CPU %.2fx, RSS %.2fx\n", s, tc / c, tm / m }'
    done
fi
