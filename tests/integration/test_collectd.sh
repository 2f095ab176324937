#!/usr/bin/env bash
# test_collectd.sh: Debian's collectd (collectd-core) sends to Tide with its
# write_http plugin, issue 16 item 8. Two unprivileged collectd daemons run
# in the foreground with generated configurations (cpu, memory, load;
# Interval 1): one posts Format "JSON" to /api/v1/import/collectd with
# Hostname cd-json, the other Format "Command" (PUTVAL lines) to
# /collectd-post, collectd_exporter's path, with Hostname cd-cmd. Within 30 s
# Tide holds collectd_cpu_total{cpu,type,instance}, collectd_memory{memory},
# collectd_load_shortterm for both, under the same names and labels (the
# instance aside), counters as counters (rate() works, metadata says so).
# Then curl sends malformed input and gets 400 naming the lines and reasons.
. "$(dirname "$0")/lib.sh"

CD=$(command -v collectd || echo /usr/sbin/collectd)
if [ ! -x "$CD" ] || [ ! -f /usr/lib/collectd/write_http.so ]; then
    echo "SKIP [$TEST_NAME]: collectd not installed (scripts/deps.sh test: collectd-core)"
    exit 0
fi

tide_start "$WORK/data" -

start_collectd() { # NAME FORMAT PATH
    local name=$1 format=$2 path=$3
    mkdir -p "$WORK/cd-$name"
    cat >"$WORK/cd-$name/collectd.conf" <<CONF
Hostname "cd-$name"
FQDNLookup false
BaseDir "$WORK/cd-$name"
PIDFile "$WORK/cd-$name/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval 1
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File STDOUT
  Timestamp true
</Plugin>
LoadPlugin cpu
LoadPlugin memory
LoadPlugin load
<LoadPlugin write_http>
  FlushInterval 1
</LoadPlugin>
<Plugin write_http>
  <Node "tide">
    URL "$TIDE_URL$path"
    Format "$format"
    StoreRates false
    BufferSize 8192
    Timeout 5000
  </Node>
</Plugin>
CONF
    "$CD" -f -C "$WORK/cd-$name/collectd.conf" >"$WORK/collectd-$name.log" 2>&1 &
    PIDS+=($!)
}
start_collectd json JSON /api/v1/import/collectd
start_collectd cmd Command /collectd-post
log "collectd (JSON and Command) posting to $TIDE_URL"

series_of() { # INSTANCE -> sorted "name{labels without instance}" lines
    curl -fsS -G "$TIDE_URL/api/v1/series" --data-urlencode "match[]={instance=\"$1\",__name__=~\"collectd_.*\"}" |
        python3 -c '
import json, sys
for s in json.load(sys.stdin)["data"]:
    s.pop("instance")
    n = s.pop("__name__")
    print(n + "{" + ",".join("%s=%s" % kv for kv in sorted(s.items())) + "}")' | sort
}
want='collectd_cpu_total{cpu=0,type=idle}
collectd_load_shortterm{}
collectd_memory{memory=used}'
for _ in $(seq 1 60); do
    j=$(series_of cd-json)
    c=$(series_of cd-cmd)
    if grep -qxF 'collectd_cpu_total{cpu=0,type=idle}' <<<"$j" && grep -qxF 'collectd_load_shortterm{}' <<<"$c" &&
        grep -qxF 'collectd_memory{memory=used}' <<<"$j" && grep -qxF 'collectd_cpu_total{cpu=0,type=idle}' <<<"$c" &&
        grep -qxF 'collectd_memory{memory=used}' <<<"$c" && grep -qxF 'collectd_load_shortterm{}' <<<"$j"; then
        break
    fi
    sleep 0.5
done
for w in $want; do
    grep -qxF "$w" <<<"$j" || fail "JSON: $w missing; have: $(head -c 1500 <<<"$j")"
    grep -qxF "$w" <<<"$c" || fail "Command: $w missing; have: $(head -c 1500 <<<"$c")"
done
assert_eq "JSON and Command give the same series" "$j" "$c"
log "$(wc -l <<<"$j") series from each format, the same names and labels"
grep -qi "error" "$WORK"/collectd-*.log && grep -i "write_http" "$WORK"/collectd-*.log | grep -qi "error" &&
    fail "collectd logged write_http errors: $(grep -i error "$WORK"/collectd-*.log | head -5)"

# counters count: after a few intervals rate() of the jiffies is > 0 (summed
# over the states: some sandboxes freeze idle)
sleep 3
for inst in cd-json cd-cmd; do
    req GET /api/v1/query --data-urlencode "query=sum(rate(collectd_cpu_total{instance=\"$inst\"}[5s]))" -G
    json_ok 'len(j["data"]["result"]) == 1 and float(j["data"]["result"][0]["value"][1]) > 0'
    req GET /api/v1/query --data-urlencode "query=collectd_memory{instance=\"$inst\",memory=\"used\"}" -G
    json_ok 'float(j["data"]["result"][0]["value"][1]) > 1e6'
done
req GET '/api/v1/metadata?metric=collectd_cpu_total'
json_ok 'j["data"]["collectd_cpu_total"][0]["type"] == "counter"'
req GET '/api/v1/metadata?metric=collectd_load_shortterm'
json_ok 'j["data"]["collectd_load_shortterm"][0]["type"] == "gauge"'

# malformed input: 400 with line numbers and reasons; good lines stored
printf 'PUTVAL t1/cpu-0/cpu-user 1000:5\nPUTVAL nohost 1:1\nPUTVAL t1/p/t 1:abc\n' >"$WORK/bad.txt"
req POST /api/v1/import/collectd -H 'Content-Type: text/plain' --data-binary @"$WORK/bad.txt"
assert_code 400
assert_contains "bad identifier named" "line 2: identifier must be host/plugin[-instance]/type[-instance]" "$BODY"
assert_contains "bad value named" 'line 3: bad value \"abc\"' "$BODY"
assert_contains "good line stored" "1 samples stored" "$BODY"
req POST /api/v1/import/collectd -H 'Content-Type: application/json' \
    --data-binary $'[{"values":[1],"dstypes":["gauge"],"dsnames":["value"],"host":"t1","plugin":"p","type":"t"},\n{"values":[1,2],"dstypes":["gauge"],"dsnames":["a"],"host":"t1","plugin":"p","type":"t"}]'
assert_code 400
assert_contains "JSON reason" "line 2: 2 values but 1 data source type(s)" "$BODY"
log "ok"
