#!/usr/bin/env bash
# test_prometheus_remote_write.sh: a real Prometheus (Debian's `prometheus`)
# scrapes a real node exporter (Debian's `prometheus-node-exporter`) every
# second and remote-writes to Tide's /api/v1/write with a bearer token. Both
# run on 127.0.0.1 free ports with their own data in $WORK (a system service
# the package may have started is neither used nor touched). Within 60 s
# Tide lists node_cpu_seconds_total and friends; then for a handful of
# metrics every sample Prometheus holds in a 1m window (its /api/v1/query
# with a range selector at a fixed time) is in Tide's /api/v1/export with
# the same timestamp and the same value, bit for bit. The MetricMetadata
# Prometheus sends (every second here) is served by /api/v1/metadata.
. "$(dirname "$0")/lib.sh"

PROM=$(command -v prometheus || true)
NODE=$(command -v prometheus-node-exporter || command -v node_exporter || true)
if [ -z "$PROM" ] || [ -z "$NODE" ]; then
    echo "SKIP [$TEST_NAME]: prometheus or prometheus-node-exporter not installed (scripts/deps.sh test)"
    exit 0
fi

TOKEN=rw-token-$RANDOM
tide_start "$WORK/tide" - --auth-write-bearer-token "$TOKEN"
log "tide on $TIDE_URL"

# ---- node exporter, a few collectors (enough kinds: counters, gauges, labels)
start_node() {
    spawn_ready node /metrics 50 "$NODE" --web.listen-address="127.0.0.1:@PORT@" \
        --collector.disable-defaults --collector.cpu --collector.meminfo --collector.loadavg \
        --collector.stat --collector.netdev --collector.filesystem ||
        fail "node exporter did not start"
    NODE_PID=$SPAWN_PID
    NODE_PORT=$SPAWN_PORT
}
start_node
log "node exporter on 127.0.0.1:$NODE_PORT (pid $NODE_PID)"

# ---- prometheus -------------------------------------------------------------
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:$NODE_PORT']
remote_write:
  - url: $TIDE_URL/api/v1/write
    authorization:
      credentials: $TOKEN
    queue_config:
      batch_send_deadline: 500ms
      max_samples_per_send: 2000
      min_backoff: 100ms
      max_backoff: 1s
    metadata_config:
      send_interval: 1s
YML
prom_start
log "prometheus on $PROM_URL (pid $PROM_PID)"

# ---- the metrics arrive within 60 s -----------------------------------------
WANT=(node_cpu_seconds_total node_memory_MemTotal_bytes node_load1 node_network_receive_bytes_total
    node_filesystem_size_bytes node_context_switches_total up scrape_duration_seconds)
deadline=$((SECONDS + 60))
while :; do
    names=$(curl -fsS "$TIDE_URL/api/v1/label/__name__/values" || true)
    missing=()
    for m in "${WANT[@]}"; do
        [[ "$names" == *"\"$m\""* ]] || missing+=("$m")
    done
    [ ${#missing[@]} -eq 0 ] && break
    [ $SECONDS -lt $deadline ] || fail "after 60 s Tide still lacks: ${missing[*]}"
    sleep 1
done
log "all of ${WANT[*]} arrived after ~$((SECONDS - deadline + 60)) s"
# Prometheus sends each family's MetricMetadata too: /api/v1/metadata has it.
for _ in $(seq 1 30); do
    req GET "/api/v1/metadata?metric=node_cpu_seconds_total"
    [[ "$BODY" == *counter* ]] && break
    sleep 1
done
json_ok 'j["data"]["node_cpu_seconds_total"][0]["type"] == "counter"'
json_ok '"CPU" in j["data"]["node_cpu_seconds_total"][0]["help"]'
req GET "/api/v1/metadata?metric=node_load1"
json_ok 'j["data"]["node_load1"][0]["type"] == "gauge"'
log "remote write metadata served by /api/v1/metadata"
# 401 for a sender without the token (the same Tide, a plain curl)
req POST /api/v1/write -H 'Content-Encoding: snappy' --data-binary 'x'
assert_code 401

# ---- identical values ---------------------------------------------------------
# A fixed time a little in the past, once Tide holds samples after it.
sleep 5
T_MS=$(( $(date +%s%3N) - 2000 ))
SEL='{__name__=~"node_cpu_seconds_total|node_load1|node_memory_MemFree_bytes|node_network_receive_bytes_total|node_context_switches_total|up"}'
for _ in $(seq 1 30); do
    last=$(curl -fsS -G "$TIDE_URL/api/v1/export" --data-urlencode 'match[]=node_load1' |
        python3 -c 'import json,sys; print(max(max(json.loads(l)["timestamps"]) for l in sys.stdin if l.strip()))')
    [ "$last" -gt "$T_MS" ] && break
    sleep 1
done
[ "$last" -gt "$T_MS" ] || fail "Tide has no sample after the comparison time $T_MS (last $last)"
T_SEC=$(python3 -c "print('%.3f' % ($T_MS / 1000))")
curl -fsS -G "$PROM_URL/api/v1/query" --data-urlencode "query=${SEL}[1m]" \
    --data-urlencode "time=$T_SEC" >"$WORK/prom.json"
curl -fsS -G "$TIDE_URL/api/v1/export" --data-urlencode "match[]=$SEL" \
    --data-urlencode "start=$(( T_MS / 1000 - 61 ))" --data-urlencode "end=$(( T_MS / 1000 + 1 ))" >"$WORK/tide.jsonl"
python3 - "$WORK/prom.json" "$WORK/tide.jsonl" <<'PY' || fail "Prometheus and Tide disagree (see above)"
import json, struct, sys
prom = json.load(open(sys.argv[1]))
assert prom["status"] == "success" and prom["data"]["resultType"] == "matrix", prom
def key(m):
    return tuple(sorted(m.items()))
tide = {}
for line in open(sys.argv[2]):
    if line.strip():
        o = json.loads(line)
        s = tide.setdefault(key(o["metric"]), {})
        for t, v in zip(o["timestamps"], o["values"]):
            s[int(t)] = float(v)
bits = lambda v: struct.pack("<d", v)
series = samples = 0
bad = []
for r in prom["data"]["result"]:
    k = key(r["metric"])
    got = tide.get(k)
    if got is None:
        bad.append("series %s missing in Tide" % dict(k))
        continue
    series += 1
    for t, v in r["values"]:
        t_ms = int(round(float(t) * 1000))
        want = float(v)
        if t_ms not in got:
            bad.append("%s @%d: missing in Tide" % (dict(k), t_ms))
        elif bits(got[t_ms]) != bits(want):
            bad.append("%s @%d: Prometheus %r, Tide %r" % (dict(k), t_ms, want, got[t_ms]))
        samples += 1
if series < 5 or samples < 4 * series:
    bad.append("too little to compare: %d series, %d samples" % (series, samples))
for b in bad[:20]:
    print(b)
print("compared %d series, %d samples; %d differences" % (series, samples, len(bad)))
sys.exit(1 if bad else 0)
PY
kill -TERM "$PROM_PID" && wait "$PROM_PID" || true
kill -TERM "$NODE_PID" && wait "$NODE_PID" || true
log "ok"
