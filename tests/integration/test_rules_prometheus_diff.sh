#!/usr/bin/env bash
# test_rules_prometheus_diff.sh: the same rule file evaluated by Debian's
# Prometheus 2.42 and by Tide over the same data, compared.
# Both load $WORK/rules.yml through a config in $WORK (so a group's file,
# hence its evaluation phase, is the same string in both). One writer sends
# the same samples, stamped with the same times, to Prometheus (remote write
# receiver) and to Tide (/api/v1/import), half an interval away from the
# evaluations, all before the first is due. Then the recorded series, ALERTS and ALERTS_FOR_STATE are
# read back from both with query_range at 1 s steps over the run and must be
# equal, value for value: evaluation times (Prometheus' alignment), the
# for and keep_firing_for transitions and the staleness markers included.
. "$(dirname "$0")/lib.sh"

PROM=$(command -v prometheus || true)
[ -n "$PROM" ] || fail "prometheus not installed (scripts/deps.sh test installs it)"

cat >"$WORK/rules.yml" <<'YML'
groups:
  - name: diff
    interval: 2s
    rules:
      - record: job:x:sum
        expr: sum by (job) (x)
      - record: x:doubled
        expr: x * 2
        labels: {k: v}
      - alert: XHigh
        expr: x > 5
        for: 4s
        keep_firing_for: 4s
        labels: {severity: page}
      - alert: XAny
        expr: x > 0
YML
cat >"$WORK/prometheus.yml" <<'YML'
global:
  evaluation_interval: 2s
rule_files: [rules.yml]
YML
cat >"$WORK/tide.yml" <<'YML'
global:
  evaluation_interval: 2s
rule_files: [rules.yml]
YML

prom_start --web.enable-remote-write-receiver
tide_start "$WORK/data" - --config "$WORK/tide.yml"
log "prometheus on $PROM_URL, tide on $TIDE_URL"

# The evaluation phase (ms within the 2 s interval), from Tide's first evaluation.
phase=""
for _ in $(seq 1 50); do
    phase=$(curl -fsS "$TIDE_URL/api/v1/rules" | python3 -c '
import json, sys, datetime
g = json.load(sys.stdin)["data"]["groups"][0]
t = g["lastEvaluation"]
if t.startswith("0001"):
    sys.exit(0)
ms = int(round(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000))
print(ms % 2000)')
    [ -n "$phase" ] && break
    sleep 0.2
done
[ -n "$phase" ] || fail "tide never evaluated the group"
log "evaluation phase ${phase} ms"

# Values of x{instance="i1"}, one per interval, and a second series that
# appears later and goes away. All samples are written at once, before the
# first of them is due, stamped half an interval after an evaluation time:
# both systems hold all the data before any evaluation may see it (an
# instant query at E reads only samples <= E), so a slow machine cannot
# make one of them evaluate before a write reached it.
values=(1 1 9 9 9 9 9 1 1 1 1 7 1 1 1)
first_ms=$(python3 -c '
import time, sys
phase = int(sys.argv[1])
now = time.time() * 1000 + 4000
e = ((now - phase) // 2000) * 2000 + phase
print(int(e + 2000 + 1000))' "$phase")
{
    ts=() v1=() v2=() t2=()
    for i in "${!values[@]}"; do
        t=$((first_ms + 2000 * i))
        ts+=("$t")
        v1+=("${values[$i]}")
        if [ "$i" -ge 3 ] && [ "$i" -le 8 ]; then
            t2+=("$t")
            v2+=(6)
        fi
    done
    join() { local IFS=,; echo "$*"; }
    echo "{\"metric\":{\"__name__\":\"x\",\"job\":\"a\",\"instance\":\"i1\"},\"values\":[$(join "${v1[@]}")],\"timestamps\":[$(join "${ts[@]}")]}"
    echo "{\"metric\":{\"__name__\":\"x\",\"job\":\"a\",\"instance\":\"i2\"},\"values\":[$(join "${v2[@]}")],\"timestamps\":[$(join "${t2[@]}")]}"
} >"$WORK/data.jsonl"
"${JSONTOOL[@]}" remote-write <"$WORK/data.jsonl" >"$WORK/rw.bin"
curl -fsS -o /dev/null -H 'Content-Encoding: snappy' -H 'Content-Type: application/x-protobuf' \
    -H 'X-Prometheus-Remote-Write-Version: 0.1.0' --data-binary "@$WORK/rw.bin" \
    "$PROM_URL/api/v1/write" || fail "remote write to prometheus failed"
curl -fsS -o /dev/null --data-binary "@$WORK/data.jsonl" "$TIDE_URL/api/v1/import" ||
    fail "import to tide failed"
now_ms=$(python3 -c 'import time; print(int(time.time() * 1000))')
[ "$now_ms" -lt "$first_ms" ] || fail "the writes took too long: the first sample was due before they ended"
last_ms=$((first_ms + 2000 * (${#values[@]} - 1)))
sleep $(( (last_ms - now_ms) / 1000 + 4 ))
end_s=$(( last_ms / 1000 + 2 ))
begin_s=$(( first_ms / 1000 - 1 ))
start_ms=$first_ms
log "comparing [$begin_s, $end_s]"

compare() { # compare QUERY
    local qq
    qq=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1")
    local path="/api/v1/query_range?query=$qq&start=$begin_s&end=$end_s&step=1"
    curl -fsS "$PROM_URL$path" >"$WORK/prom.json" || fail "prometheus: $1"
    curl -fsS "$TIDE_URL$path" >"$WORK/tide.json" || fail "tide: $1"
    python3 - "$WORK/prom.json" "$WORK/tide.json" "$1" <<'PY' || fail "$1 differs (see above)"
import json, sys
def canon(path):
    d = json.load(open(path))["data"]["result"]
    return sorted((sorted(s["metric"].items()), s["values"]) for s in d)
p, t = canon(sys.argv[1]), canon(sys.argv[2])
if p != t:
    print("prometheus:", json.dumps(p)[:3000], file=sys.stderr)
    print("tide:      ", json.dumps(t)[:3000], file=sys.stderr)
    sys.exit(1)
if not p:
    print("empty result for " + sys.argv[3], file=sys.stderr)
    sys.exit(1)
PY
    log "same: $1"
}
compare 'job:x:sum'
compare 'x:doubled'
compare 'ALERTS'
# The run covers the transitions: XHigh pending, then firing.
python3 -c 'import json,sys; st={(s["metric"]["alertname"], s["metric"]["alertstate"]) for s in json.load(open(sys.argv[1]))["data"]["result"]}; sys.exit(0 if {("XHigh","pending"),("XHigh","firing"),("XAny","firing")} <= st else 1)' "$WORK/prom.json" ||
    fail "ALERTS lack the pending/firing transitions: $(head -c 1500 "$WORK/prom.json")"
compare 'ALERTS_FOR_STATE'
compare 'timestamp(job:x:sum)'
log ok
