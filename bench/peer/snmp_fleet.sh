#!/usr/bin/env bash
# snmp_fleet.sh: an SNMP fleet polled by Tide vs prometheus-snmp-exporter +
# VictoriaMetrics scraping it (what the ISP operators run today).
#
# Fleet: --routers simulated routers on Debian's snmpsim, recorded from a
# real snmpd's walk by tests/integration/snmp/snmprec_gen.py: 2-4 uplinks
# with ifAlias "ISP:<provider>_Internet uplinkN" + 20 access ports per
# router, community routerNNNN each. One snmpsimd (Python, one core at most)
# serves a few thousand varbinds a second, and if_mib on 1 000 routers every
# 60 s asks ~16 000 a second, so the fleet is sharded: --shards snmpsimd
# processes, each with its own UDP port, data and cache dir, router r on
# shard (r-1) % shards; both systems poll every router at its shard.
# Both sides poll the if_mib module (Tide's built-in; snmp_exporter 0.21's
# from tests/integration/snmp/snmp_exporter_if_mib.yml, one copy per
# community since 0.21 keeps auth in the module) every --interval.
# For each system, alone, with the same snmpsimd:
#   1. start it with the fleet, wait one interval + 20 s (first round in);
#   2. CPU seconds (utime+stime, /proc/PID/stat) over --measure seconds,
#      given per minute; RSS now and peak (VmHWM); for the exporter pair the
#      sum of snmp_exporter and victoria-metrics;
#   3. how many routers answered (up == 1, against --routers) and the number
#      of ifOperStatus series (against the recorded interfaces), so a round
#      the simulators could not serve is visible, plus the simulators' CPU
#      over the same window (a shard near 60 s/min is saturated);
#   4. the operator's bulk query, `ifOperStatus{ifAlias=~".*uplink.*"} == 2`
#      (every ISP uplink down, the router and interface names as labels),
#      --queries times: median latency (VM after a flush of its in-memory
#      parts via /internal/force_flush).
# A run is valid only when every router is up on both sides ("VALID" in the
# last line); otherwise the figures measure timeouts, not polling.
#
# Usage: bench/peer/snmp_fleet.sh [--routers N=1000] [--shards K=ceil(N/125)]
#          [--interval S=60] [--measure S=60] [--queries Q=21]
#          [--systems "tide vm"] [--no-build]
# Environment: TIDE_BIN (build/tide), VM_BIN (victoria-metrics),
#   EXPORTER_BIN (prometheus-snmp-exporter).
# Bounded: every wait has a deadline; processes stopped by their PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/peer/lib.sh"
ROUTERS=1000 SHARDS="" INTERVAL=60 MEASURE=60 QUERIES=21
EXPORTER_BIN=${EXPORTER_BIN:-prometheus-snmp-exporter}
QUERY='ifOperStatus{ifAlias=~".*uplink.*"} == 2'

while [ $# -gt 0 ]; do
    case "$1" in
    --routers) ROUTERS=$2; shift 2 ;;
    --shards) SHARDS=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --measure) MEASURE=$2; shift 2 ;;
    --queries) QUERIES=$2; shift 2 ;;
    *) bench_common_opt 2,36 "$@"; shift "$NSHIFT" ;;
    esac
done
[ -n "$SHARDS" ] || SHARDS=$(( (ROUTERS + 124) / 125 ))
[ "$SHARDS" -ge 1 ] && [ "$SHARDS" -le "$ROUTERS" ] || { log "--shards must be 1..routers"; exit 2; }
mkdir -p "$OUT"
CLK_TCK=$(getconf CLK_TCK)
bench_check_systems
command -v snmpsimd >/dev/null || { log "snmpsimd missing (scripts/deps.sh test)"; exit 1; }
if [[ " $SYSTEMS " == *" vm "* ]] && ! command -v "$EXPORTER_BIN" >/dev/null; then
    log "WARNING: $EXPORTER_BIN missing; skipping the exporter pair"; SYSTEMS=${SYSTEMS//vm/}
fi

RUN=$(mktemp -d "$OUT/snmp-fleet.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -KILL "$p" 2>/dev/null || true; done
    bench_cleanup
}
trap cleanup EXIT
udp_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
snmp() { "$@" -m "" -M /nonexistent; }

# ---- the fleet: record a real snmpd, generate, serve ----
log "recording a real snmpd's walk"
mkdir -p "$RUN/snmpd/persist" "$RUN/cache"
SP=$(udp_port)
printf 'agentAddress udp:127.0.0.1:%s\nrocommunity bench 127.0.0.1\nsysName bench\n' "$SP" >"$RUN/snmpd/snmpd.conf"
user=()
[ "$(id -u)" -eq 0 ] && { chmod -R 0777 "$RUN"; user=(-u nobody); }
SNMP_PERSISTENT_DIR="$RUN/snmpd/persist" snmpd -f -r -C -c "$RUN/snmpd/snmpd.conf" \
    -Lf "$RUN/snmpd.log" -M /nonexistent -m "" "${user[@]}" >/dev/null 2>&1 &
SNMPD=$!; PIDS+=("$SNMPD")
for _ in $(seq 50); do snmp snmpget -v2c -c bench -t 0.2 -r 0 "127.0.0.1:$SP" 1.3.6.1.2.1.1.5.0 >/dev/null 2>&1 && break; sleep 0.1; done
for o in 1.3.6.1.2.1.1 1.3.6.1.2.1.2 1.3.6.1.2.1.31.1.1; do
    snmp snmpwalk -v2c -c bench -ObentU "127.0.0.1:$SP" "$o"
done >"$RUN/walk.txt"
kill -TERM "$SNMPD"; wait "$SNMPD" 2>/dev/null || true
python3 "$ROOT/tests/integration/snmp/snmprec_gen.py" "$RUN/walk.txt" "$RUN/routers" "$ROUTERS" >"$RUN/summary.json"
log "fleet: $(cat "$RUN/summary.json")"

# Router r goes to shard (r-1) % SHARDS: its own data dir, cache and port.
SIM_PORTS=() SIMS=()
for k in $(seq 0 $((SHARDS - 1))); do
    mkdir -p "$RUN/shard$k/data" "$RUN/shard$k/cache"
    SIM_PORTS+=("$(udp_port)")
done
for r in $(seq 1 "$ROUTERS"); do
    f=$(printf 'router%04d.snmprec' "$r")
    mv "$RUN/routers/$f" "$RUN/shard$(( (r - 1) % SHARDS ))/data/"
done
simuser=()
[ "$(id -u)" -eq 0 ] && { chmod -R a+rwX "$RUN"; simuser=(--process-user=nobody --process-group=nogroup); }
for k in $(seq 0 $((SHARDS - 1))); do
    snmpsimd --data-dir="$RUN/shard$k/data" --cache-dir="$RUN/shard$k/cache" --v2c-arch \
        --agent-udpv4-endpoint="127.0.0.1:${SIM_PORTS[$k]}" "${simuser[@]}" --logging-method=null \
        >"$RUN/snmpsimd$k.log" 2>&1 &
    SIMS+=($!); PIDS+=($!)
done
# Ready when the highest-numbered router of every shard answers.
for k in $(seq 0 $((SHARDS - 1))); do
    last=$(printf 'router%04d' $(( ROUTERS - (ROUTERS - 1 - k) % SHARDS )))
    for i in $(seq 1200); do
        snmp snmpget -v2c -c "$last" -t 0.3 -r 0 "127.0.0.1:${SIM_PORTS[$k]}" 1.3.6.1.2.1.1.5.0 >/dev/null 2>&1 && break
        kill -0 "${SIMS[$k]}" 2>/dev/null || { log "snmpsimd $k died: $(tail -c 300 "$RUN/snmpsimd$k.log")"; exit 1; }
        [ "$i" = 1200 ] && { log "snmpsimd $k not answering after 4 min"; exit 1; }
        sleep 0.2
    done
done
log "$SHARDS snmpsimd (pids ${SIMS[*]}) serving $ROUTERS routers on 127.0.0.1:{${SIM_PORTS[*]}}"

# ---- configurations ----
python3 - "$ROUTERS" "$INTERVAL" "${SIM_PORTS[*]}" "$RUN" \
    "$ROOT/tests/integration/snmp/snmp_exporter_if_mib.yml" <<'PY'
import sys
n, interval, ports, run, tmpl = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(), sys.argv[4], sys.argv[5]
names = ["router%04d" % r for r in range(1, n + 1)]
sims = ["127.0.0.1:%s" % p for p in ports]
def sim(r):  # router number r (1-based) -> its shard's address
    return sims[(r - 1) % len(sims)]
with open(run + "/tide.yml", "w") as f:
    f.write("targets:\n")
    for r, c in enumerate(names, 1):
        f.write("  - {kind: snmp, name: %s, address: '%s', module: if_mib, interval: %ss,"
                " community: %s, labels: {router: %s}}\n" % (c, sim(r), interval, c, c))
body = open(tmpl).read().split("\nif_mib:\n", 1)[1]
with open(run + "/snmp.yml", "w") as f:
    for c in names:
        f.write("%s:\n%s" % (c, body.replace("@COMMUNITY@", c)))
# One static group per shard; __tmp_sim (dropped after relabelling) carries
# the shard's address into the exporter's `target` parameter.
with open(run + "/scrape.yml", "w") as f:
    f.write("scrape_configs:\n  - job_name: snmp\n    scrape_interval: %ss\n"
            "    scrape_timeout: %ss\n    metrics_path: /snmp\n    static_configs:\n"
            % (interval, min(int(interval), 55)))
    for k, a in enumerate(sims):
        mine = [c for r, c in enumerate(names, 1) if (r - 1) % len(sims) == k]
        f.write("      - targets: [%s]\n        labels: {__tmp_sim: '%s'}\n" % (", ".join(mine), a))
    f.write("    relabel_configs:\n"
            "      - {source_labels: [__address__], target_label: __param_module}\n"
            "      - {source_labels: [__address__], target_label: router}\n"
            "      - {source_labels: [__tmp_sim], target_label: __param_target}\n"
            "      - {target_label: __address__, replacement: '@EXPORTER@'}\n")
PY

# ---- one system at a time ----
med() { sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'; }
cpu_of() { local s=0 p; for p in "$@"; do s=$(echo "$s + $(proc_cpu "$p")" | bc -l); done; echo "$s"; }
rss_of() { local s=0 p; for p in "$@"; do s=$(echo "$s + $(awk '/^VmRSS:/ {print $2/1024}' "/proc/$p/status")" | bc -l); done; printf '%.1f' "$s"; }
hwm_of() { local s=0 p; for p in "$@"; do s=$(echo "$s + $(proc_hwm "$p")" | bc -l); done; printf '%.1f' "$s"; }
qval() { curl -s --max-time 60 "http://127.0.0.1:$1/api/v1/query" --data-urlencode "query=$2" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'; }

IFACES=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["interfaces"])' "$RUN/summary.json")
# Per shard CPU seconds of the simulators, one number per line.
sim_cpus() { local p; for p in "${SIMS[@]}"; do proc_cpu "$p"; echo; done; }
declare -A CPU RSS HWM UP SER QMS QIDLE NRES SIMCPU SIMMAX
for sys in $SYSTEMS; do
    port=$(free_port)
    case $sys in
    tide)
        "$TIDE_BIN" serve --data "$RUN/tide-data" --listen "127.0.0.1:$port" --collect-host false \
            --config "$RUN/tide.yml" >"$RUN/tide.log" 2>&1 &
        procs=($!) ;;
    vm)
        eport=$(free_port)
        "$EXPORTER_BIN" --config.file="$RUN/snmp.yml" --web.listen-address="127.0.0.1:$eport" \
            >"$RUN/exporter.log" 2>&1 &
        procs=($!)
        sed "s/@EXPORTER@/127.0.0.1:$eport/" "$RUN/scrape.yml" >"$RUN/scrape-vm.yml"
        "$VM_BIN" -storageDataPath "$RUN/vm-data" -httpListenAddr "127.0.0.1:$port" \
            -promscrape.config "$RUN/scrape-vm.yml" -search.latencyOffset 0s >"$RUN/vm.log" 2>&1 &
        procs+=($!) ;;
    esac
    PIDS+=("${procs[@]}")
    for _ in $(seq 600); do curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/health" && break; sleep 0.1; done
    log "$sys: started (pids ${procs[*]}), first round: waiting $((INTERVAL + 20)) s"
    sleep $((INTERVAL + 20))
    c0=$(cpu_of "${procs[@]}") s0=$(sim_cpus)
    sleep "$MEASURE"
    c1=$(cpu_of "${procs[@]}") s1=$(sim_cpus)
    read -r SIMCPU[$sys] SIMMAX[$sys] < <(paste <(echo "$s0") <(echo "$s1") |
        awk -v m="$MEASURE" '{d = ($2 - $1) * 60 / m; t += d; if (d > x) x = d} END {printf "%.2f %.2f\n", t, x}')
    CPU[$sys]=$(echo "($c1 - $c0) * 60 / $MEASURE" | bc -l | xargs printf '%.2f')
    RSS[$sys]=$(rss_of "${procs[@]}") HWM[$sys]=$(hwm_of "${procs[@]}")
    [ "$sys" = vm ] && curl -s -o /dev/null "http://127.0.0.1:$port/internal/force_flush"
    UP[$sys]=$(qval "$port" 'count(up{job="snmp"} == 1)')
    SER[$sys]=$(qval "$port" 'count(ifOperStatus)')
    NRES[$sys]=$(curl -s "http://127.0.0.1:$port/api/v1/query" --data-urlencode "query=$QUERY" |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))')
    bulk_queries() {
        for _ in $(seq "$QUERIES"); do
            curl -s -o /dev/null -w '%{time_total}\n' --max-time 60 "http://127.0.0.1:$port/api/v1/query" \
                --data-urlencode "query=$QUERY"
        done | awk '{print $1 * 1000}' | med
    }
    QMS[$sys]=$(bulk_queries)
    # Again with the simulators paused (SIGSTOP): the query alone on the
    # machine, not sharing the cores with ~1.5 cores of simulated routers.
    kill -STOP "${SIMS[@]}"
    QIDLE[$sys]=$(bulk_queries)
    kill -CONT "${SIMS[@]}"
    # Why targets are down, when some are: the three commonest lastError texts.
    if [ "${UP[$sys]}" != "$ROUTERS" ]; then
        curl -s --max-time 60 "http://127.0.0.1:$port/api/v1/targets" | python3 -c '
import collections, json, re, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
c = collections.Counter(re.sub(r"\"[^\"]*\"", "\"...\"", x.get("lastError") or "(none)")[:120]
                        for x in t if x.get("health") != "up")
for msg, n in c.most_common(3):
    print("  %5d down: %s" % (n, msg))' | while read -r line; do log "$sys: $line"; done || true
    fi
    log "$sys: ${CPU[$sys]} CPU s/min, RSS ${RSS[$sys]} MiB (peak ${HWM[$sys]}), up ${UP[$sys]}/$ROUTERS," \
        "${SER[$sys]}/$IFACES ifOperStatus series, bulk query ${NRES[$sys]} rows in ${QMS[$sys]} ms" \
        "(median of $QUERIES; ${QIDLE[$sys]} ms with the simulators paused); simulators ${SIMCPU[$sys]} CPU s/min (busiest shard ${SIMMAX[$sys]})"
    for p in "${procs[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${procs[@]}"; do
        for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
    done
done

echo "snmp_fleet: $ROUTERS routers on $SHARDS snmpsimd ($(cat "$RUN/summary.json")), if_mib every ${INTERVAL}s," \
    "CPU over ${MEASURE}s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %10s %10s %10s %10s %12s %10s %10s %10s %10s %10s\n' system cpu_s/min rss_MiB peak_MiB up ifOper rows \
    query_ms q_idle_ms sim_s/min sim_max
valid=1
for sys in $SYSTEMS; do
    printf '%-6s %10s %10s %10s %10s %12s %10s %10s %10s %10s %10s\n' "$sys" "${CPU[$sys]}" "${RSS[$sys]}" \
        "${HWM[$sys]}" "${UP[$sys]}/$ROUTERS" "${SER[$sys]}/$IFACES" "${NRES[$sys]}" "${QMS[$sys]}" \
        "${QIDLE[$sys]}" "${SIMCPU[$sys]}" "${SIMMAX[$sys]}"
    [ "${UP[$sys]}" = "$ROUTERS" ] && [ "${SER[$sys]}" = "$IFACES" ] || valid=0
done
if [[ " $SYSTEMS " == *" tide "* && " $SYSTEMS " == *" vm "* ]]; then
    echo "ratios tide/vm: cpu $(echo "${CPU[tide]} / ${CPU[vm]}" | bc -l | xargs printf '%.2f')," \
        "rss $(echo "${RSS[tide]} / ${RSS[vm]}" | bc -l | xargs printf '%.2f')," \
        "query $(echo "${QMS[tide]} / ${QMS[vm]}" | bc -l | xargs printf '%.2f')," \
        "query with the simulators paused $(echo "${QIDLE[tide]} / ${QIDLE[vm]}" | bc -l | xargs printf '%.2f')"
fi
if [ "$valid" = 1 ]; then
    echo "VALID: every router up and every interface present on every system"
else
    echo "INVALID: some routers did not answer (see up and ifOper); the figures measure timeouts"
fi
rm -rf "$RUN"
