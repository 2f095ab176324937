#!/usr/bin/env bash
# query.sh: side-by-side PromQL latency, Tide vs VictoriaMetrics, on the
# TSBS "cpu-only"-like data set of ingest.sh (same generator, same files).
#
# For each system: start it fresh on an empty data dir (127.0.0.1 only), load
# the data over Influx line protocol (/write), make it searchable (VM:
# /internal/force_flush), let it settle (Tide: its first compaction; VM:
# /internal/force_merge), then ask TSBS's query types written as PromQL:
#
#   single-groupby-1-1-1   max of 1 metric, 1 host, 1 h, 1 m steps      (query_range)
#   single-groupby-5-1-12  max of 5 metrics, 1 host, 12 h, 1 m steps    (query_range)
#   cpu-max-all-8          max of all 10 metrics, 8 hosts, 8 h, 1 h steps (query_range)
#   double-groupby-1       avg of 1 metric by hostname, all hosts, 12 h, 1 h steps
#   high-cpu-1             usage_user > 90 for 1 host, 12 h at 10 s     (query_range)
#   lastpoint              last value of every series                   (query)
#   groupby-orderby-limit  max of 1 metric per minute, the last 5 minutes (query_range)
#
# Each type runs --iterations times with hosts and times drawn from one
# seeded generator, so both systems get the very same request sequence, after
# one unmeasured warm-up pass. One client, one keep-alive connection, one
# request at a time; latency = request sent to last response byte. Prints the
# median and p90 per query and system, the Tide/VM ratios and the number of
# series each answer held (a sanity check that both answered with data).
#
# Usage: bench/peer/query.sh [--hosts N=100] [--hours H=24] [--iterations N=20]
#          [--systems "tide vm"] [--end UNIX_SECONDS] [--seed S=7] [--no-build]
# Environment: TIDE_BIN (build/tide), TIDE_ARGS (default "--collect-host false
#          --retention 0"), VM_BIN (victoria-metrics), VM_ARGS.
# Bounded: health waits 60 s, each load request 300 s, each query 120 s,
# shutdown 60 s then SIGKILL of that PID only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/peer/lib.sh"
HOSTS=100 HOURS=24 ITER=20 SEED=7 BATCH=10000 DIGITS=-2 CONC=2
TIDE_ARGS=${TIDE_ARGS:---collect-host false --retention 0}

while [ $# -gt 0 ]; do
    case "$1" in
    --iterations) ITER=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    *) bench_common_opt 2,32 "$@"; shift "$NSHIFT" ;;
    esac
done
[ "$HOURS" -ge 13 ] || { echo "query.sh: --hours must be at least 13 (12 h queries)" >&2; exit 2; }

mkdir -p "$OUT"

bench_check_systems
bench_tsbs_data
log "data: $SAMPLES samples, $SERIES series, $(date -u -d "@$START" +%FT%TZ) .. $(date -u -d "@$LAST" +%FT%TZ)"

trap bench_cleanup EXIT

# Let a freshly loaded system reach the state it keeps: Tide's first
# compaction (it runs once a minute and merges the blocks the load cut;
# nothing to wait for when no partition has two blocks),
# VictoriaMetrics' merge of its parts (/internal/force_merge). Queries then
# do not race the merge for the two cores. Bounded: 120 s.
settle() {
    local sys=$1 port=$2 t=0
    if [ "$sys" = vm ]; then
        curl -sf -o /dev/null --max-time 120 "http://127.0.0.1:$port/internal/force_merge" ||
            log "WARNING: vm: force_merge failed"
        return
    fi
    local st
    while [ $t -lt 120 ]; do
        st=$(curl -sf --max-time 5 "http://127.0.0.1:$port/api/v1/status/storage" || true)
        # Done after a compaction, or when the head is cut and no partition
        # has two blocks to merge.
        if grep -q '"compactions":[1-9]' <<<"$st" ||
            { grep -q '"head":{"series":0,' <<<"$st" &&
                ! grep -Eq '"blocks":([2-9]|[1-9][0-9])' <<<"$st"; }; then
            return
        fi
        sleep 1
        t=$((t + 1))
    done
    log "WARNING: tide: no compaction within 120 s"
}

RESULTS="$OUT/query-$(date +%Y%m%d-%H%M%S).tsv"
printf 'system\tquery\titer\tseconds\tseries\tstatus\n' >"$RESULTS"

for sys in $SYSTEMS; do
    dir="$OUT/query-$sys"
    rm -rf "$dir"
    mkdir -p "$dir/data"
    port=$(free_port)
    start_server "$sys" "$dir/data" "$port" "$dir/server.log" || continue
    log "$sys: loading $(mval files) files (pid $SERVER_PID, port $port)"
    t0=$(date +%s.%N)
    bench_post_lp "$port" "$CONC" "$dir/codes.txt"
    fails=$(grep -cv '^2' "$dir/codes.txt" || true)
    [ "$fails" = 0 ] || log "WARNING: $sys: $fails load requests failed"
    [ "$sys" = vm ] && curl -sf -o /dev/null --max-time 120 "http://127.0.0.1:$port/internal/force_flush"
    log "$sys: loaded in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s; settling"
    settle "$sys" "$port"
    log "$sys: querying"
    python3 - "$sys" "http://127.0.0.1:$port" "$START" "$LAST" "$HOSTS" "$ITER" "$SEED" >>"$RESULTS" <<'PY'
import http.client, json, random, sys, time, urllib.parse
sysname, url, start, last, hosts, iters, seed = sys.argv[1:]
start, last, hosts, iters = int(start), int(last), int(hosts), int(iters)
u = urllib.parse.urlsplit(url)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
rng = random.Random(int(seed))
M5 = "usage_user|usage_system|usage_idle|usage_nice|usage_iowait"
M10 = M5 + "|usage_irq|usage_softirq|usage_steal|usage_guest|usage_guest_nice"
H = 3600

def host():
    return "host_%d" % rng.randrange(hosts)

def window(span):
    """A random [s, e] of `span` seconds inside the data, minute aligned."""
    s = rng.randrange(start, last - span) // 60 * 60
    return s, s + span

def q_1_1_1():
    s, e = window(H)
    return "/api/v1/query_range", {"query": 'max(max_over_time(cpu_usage_user{hostname="%s"}[1m]))' % host(),
                                   "start": s, "end": e, "step": 60}

def per_metric(fields, fmt):
    """One term per field, each named by a `metric` label, joined with `or`:
    rollups drop __name__, so `max by (__name__)` over several metrics is an
    error in Prometheus ("vector cannot contain metrics with the same
    labelset"); this form is valid PromQL everywhere."""
    return " or ".join('label_replace(%s, "metric", "%s", "", "")' % (fmt % ("cpu_" + f), f)
                       for f in fields)

def q_5_1_12():
    s, e = window(12 * H)
    return "/api/v1/query_range", {"query": per_metric(M5.split("|"), 'max_over_time(%%s{hostname="%s"}[1m])' % host()),
                                   "start": s, "end": e, "step": 60}

def q_max_all_8():
    s, e = window(8 * H)
    hs = "|".join(sorted({host() for _ in range(8)}))
    return "/api/v1/query_range", {"query": per_metric(M10.split("|"), 'max(max_over_time(%%s{hostname=~"%s"}[1h]))' % hs),
                                   "start": s + H, "end": e, "step": H}

def q_double_1():
    s, e = window(12 * H)
    return "/api/v1/query_range", {"query": "avg by (hostname) (avg_over_time(cpu_usage_user[1h]))",
                                   "start": s + H, "end": e, "step": H}

def q_high_cpu_1():
    s, e = window(12 * H)
    return "/api/v1/query_range", {"query": 'cpu_usage_user{hostname="%s"} > 90' % host(),
                                   "start": s, "end": e, "step": 10}

def q_lastpoint():
    return "/api/v1/query", {"query": 'last_over_time({__name__=~"cpu_.*"}[10m])', "time": last}

def q_orderby_limit():
    e = rng.randrange(start + H, last) // 60 * 60
    return "/api/v1/query_range", {"query": "max(max_over_time(cpu_usage_user[1m]))",
                                   "start": e - 240, "end": e, "step": 60}

QUERIES = [("single-groupby-1-1-1", q_1_1_1), ("single-groupby-5-1-12", q_5_1_12),
           ("cpu-max-all-8", q_max_all_8), ("double-groupby-1", q_double_1),
           ("high-cpu-1", q_high_cpu_1), ("lastpoint", q_lastpoint),
           ("groupby-orderby-limit", q_orderby_limit)]

def ask(path, params):
    body = urllib.parse.urlencode(params)
    t0 = time.perf_counter()
    conn.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    data = r.read()
    dt = time.perf_counter() - t0
    try:
        n = len(json.loads(data)["data"]["result"])
    except Exception:
        n = -1
    return dt, n, r.status

plan = [(name, i, f()) for name, f in QUERIES for i in range(iters)]
for name, f in QUERIES:  # warm-up, not measured (its own draws, same for both systems)
    ask(*f())
for name, i, (path, params) in plan:
    dt, n, st = ask(path, params)
    print("%s\t%s\t%d\t%.6f\t%d\t%d" % (sysname, name, i, dt, n, st))
PY
    stop_server
done

python3 - "$RESULTS" "$HOSTS" "$HOURS" "$SAMPLES" "$ITER" <<'EOF'
import csv, statistics, sys
path, hosts, hours, samples, iters = sys.argv[1:]
rows = list(csv.DictReader(open(path), delimiter="\t"))
order = ["single-groupby-1-1-1", "single-groupby-5-1-12", "cpu-max-all-8", "double-groupby-1",
         "high-cpu-1", "lastpoint", "groupby-orderby-limit"]
def stats(sys_, q):
    v = sorted(float(r["seconds"]) * 1000 for r in rows if r["system"] == sys_ and r["query"] == q)
    if not v:
        return None
    p90 = v[min(len(v) - 1, int(round(0.9 * (len(v) - 1))))]
    series = sorted({r["series"] for r in rows if r["system"] == sys_ and r["query"] == q})
    bad = sum(1 for r in rows if r["system"] == sys_ and r["query"] == q and r["status"] != "200")
    return statistics.median(v), p90, "/".join(series), bad
print()
print(f"TSBS cpu-only-like data: {hosts} hosts x {hours} h, {int(samples):,} samples; "
      f"{iters} iterations per query, one client, latencies in ms")
print()
print("| query | Tide median | Tide p90 | VM median | VM p90 | Tide/VM median | Tide/VM p90 | series (Tide; VM) |")
print("|---|---|---|---|---|---|---|---|")
for q in order:
    t, v = stats("tide", q), stats("vm", q)
    f = lambda x: "-" if x is None else "%.1f" % x
    r = lambda a, b: "-" if a is None or b is None or b == 0 else "%.2fx" % (a / b)
    cells = [q, f(t and t[0]), f(t and t[1]), f(v and v[0]), f(v and v[1]),
             r(t and t[0], v and v[0]), r(t and t[1], v and v[1]),
             "%s; %s" % (t[2] if t else "-", v[2] if v else "-")]
    for s, x in (("Tide", t), ("VM", v)):
        if x and x[3]:
            cells[0] += " (%s: %d failed)" % (s, x[3])
    print("| " + " | ".join(cells) + " |")
print()
print("raw results:", path)
EOF
