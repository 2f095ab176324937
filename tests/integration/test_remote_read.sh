#!/usr/bin/env bash
# test_remote_read.sh: Prometheus remote read (/api/v1/read) and federation
# (/federate), issue 16 item 7.
#  1. Remote read with a client of our own (remote_read.py: snappy, protobuf,
#     CRC32C and XOR chunk decoding written from the specification): the
#     SAMPLES and STREAMED_XOR_CHUNKS answers hold exactly the samples
#     /api/v1/export has, bit for bit (NaN included), a 200 000-sample series
#     spans several frames of at most ~1 MiB, and a request accepting no type
#     Tide implements gets 400.
#  2. Debian's Prometheus 2.42 with remote_read pointed at Tide (read_recent,
#     required_matchers rr="1"): its /api/v1/query answers for data only Tide
#     has. (Prometheus 2.42's client asks for SAMPLES.)
#  3. /federate with curl: the latest sample of each matching series with its
#     timestamp, # TYPE lines, nothing older than the lookback, no stale
#     series; then the same Prometheus scrapes Tide's /federate with
#     honor_labels and holds the series under their own labels.
. "$(dirname "$0")/lib.sh"

tide_start "$WORK/data" - --retention 0
NOW=$(date +%s%3N)
BASE=$(( (NOW / 1000 - 900) * 1000 ))   # 15 minutes ago, whole seconds

# ---- data only Tide has --------------------------------------------------------
python3 - "$BASE" "$NOW" >"$WORK/in.jsonl" <<'PY'
import json, random, sys
base, now = int(sys.argv[1]), int(sys.argv[2])
random.seed(7)
# rr_small: one sample a second for 10 minutes, awkward values
ts = [base + i * 1000 for i in range(600)]
vs = [round(i * 0.1, 3) if i % 5 else random.random() * 1e6 for i in range(600)]
vs[17] = "NaN"; vs[18] = "+Inf"; vs[19] = "-Inf"; vs[20] = -0.0
print(json.dumps({"metric": {"__name__": "rr_small", "rr": "1", "job": "a"}, "values": vs, "timestamps": ts}))
# rr_big: 200 000 random samples (about 1.7 MB of XOR chunks)
ts = [base - 200000 * 4 + i * 4 for i in range(200000)]
vs = [random.random() for _ in ts]
print(json.dumps({"metric": {"__name__": "rr_big", "rr": "1"}, "values": vs, "timestamps": ts}))
# for /federate: fresh, stale-marked and old series
print(json.dumps({"metric": {"__name__": "fed_up", "job": "node", "instance": "h1"}, "values": [1, 1], "timestamps": [now - 20000, now - 10000]}))
print(json.dumps({"metric": {"__name__": "fed_temp", "job": "node", "instance": "h1", "room": 'a"b\\c'}, "values": [21.5, 1e21], "timestamps": [now - 20000, now - 5000]}))
print(json.dumps({"metric": {"__name__": "fed_old", "job": "node"}, "values": [5], "timestamps": [now - 600000]}))
PY
# the stale marker (Prometheus' NaN 0x7ff0000000000002) goes in through remote write
python3 - "$HERE" "$NOW" >"$WORK/stale.bin" <<'PY'
import struct, sys
sys.path.insert(0, sys.argv[1])
from jsontool import field_bytes, field_varint, snappy_literals
now = int(sys.argv[2])
lab = lambda n, v: field_bytes(1, field_bytes(1, n.encode()) + field_bytes(2, v.encode()))
smp = lambda v, t: field_bytes(2, field_bytes(1, b"")[:0] + bytes([0x09]) + struct.pack("<Q", v) + field_varint(2, t))
one = struct.unpack("<Q", struct.pack("<d", 3.0))[0]
ts = lab("__name__", "fed_gone") + lab("job", "node") + smp(one, now - 20000) + smp(0x7ff0000000000002, now - 10000)
sys.stdout.buffer.write(snappy_literals(field_bytes(1, ts)))
PY
req POST /api/v1/import --data-binary @"$WORK/in.jsonl"
assert_code 204
req POST /api/v1/write -H 'Content-Encoding: snappy' -H 'Content-Type: application/x-protobuf' --data-binary @"$WORK/stale.bin"
assert_code 204

# ---- 1. our own client, both response types ----------------------------------
RR=(python3 "$HERE/remote_read.py" "$TIDE_URL/api/v1/read")
"${RR[@]}" samples 0 "$NOW" 'rr=1' >"$WORK/samples.txt" 2>"$WORK/samples.err" || fail "SAMPLES read failed: $(cat "$WORK/samples.err")"
"${RR[@]}" streamed 0 "$NOW" 'rr=1' >"$WORK/streamed.txt" 2>"$WORK/streamed.err" || fail "streamed read failed: $(cat "$WORK/streamed.err")"
"${RR[@]}" both 0 "$NOW" '__name__=~rr_.*' 'job!=x' >"$WORK/both.txt" 2>"$WORK/both.err" || fail "read failed"
cmp -s "$WORK/samples.txt" "$WORK/streamed.txt" || fail "SAMPLES and STREAMED_XOR_CHUNKS answers differ"
cmp -s "$WORK/samples.txt" "$WORK/both.txt" || fail "the streamed answer with other matchers differs"
assert_contains "streamed content type" "proto=prometheus.ChunkedReadResponse" "$(cat "$WORK/streamed.err")"
assert_contains "preferred type first" "x-streamed-protobuf" "$(cat "$WORK/both.err")"
python3 - "$WORK/streamed.err" <<'PY' || fail "frames: $(cat "$WORK/streamed.err")"
import re, sys
m = re.search(r"frames=(\d+) maxframe=(\d+)", open(sys.argv[1]).read())
frames, maxframe = int(m.group(1)), int(m.group(2))
assert frames >= 2 and maxframe <= (1 << 20) + 64 * 1024, (frames, maxframe)
PY
# the same samples as /api/v1/export, bit for bit
curl -fsS -G "$TIDE_URL/api/v1/export" --data-urlencode 'match[]={rr="1"}' >"$WORK/export.jsonl"
python3 - "$WORK/export.jsonl" "$WORK/samples.txt" <<'PY' || fail "remote read and export disagree"
import json, re, sys
def fmt(v):
    f = {"NaN": float("nan"), "+Inf": float("inf"), "-Inf": float("-inf")}.get(v, v) if isinstance(v, str) else float(v)
    return "nan" if f != f else repr(f)  # export writes any NaN as "NaN"
by = {}
for line in open(sys.argv[1]):  # a long series comes in several lines
    o = json.loads(line, parse_int=float)  # "-0" is -0.0
    k = "{" + ",".join('%s="%s"' % (n, o["metric"][n]) for n in sorted(o["metric"])) + "}"
    by.setdefault(k, []).extend(zip(o["timestamps"], o["values"]))
want = [k + " " + " ".join("%d=%s" % (t, fmt(v)) for t, v in sorted(by[k])) for k in sorted(by)]
got = [re.sub(r"nan:0x[0-9a-f]+", "nan", l.rstrip("\n")) for l in open(sys.argv[2])]
if got != want:
    for g, w in zip(got, want):
        if g != w:
            gs, ws = g.split(), w.split()
            for a, b in zip(gs, ws):
                if a != b:
                    print("first difference: got %s want %s" % (a, b)); break
    print("series: got %d want %d" % (len(got), len(want)))
    sys.exit(1)
print("compared %d series, %d samples" % (len(got), sum(l.count("=") - l.count('="') for l in got)))
PY
# a time range cuts the answer; NaN keeps its bits (Tide's import NaN)
"${RR[@]}" streamed "$((BASE + 10000))" "$((BASE + 20000))" '__name__=rr_small' >"$WORK/range.txt" 2>/dev/null
assert_eq "samples in [BASE+10s, BASE+20s]" 11 "$(awk '{print NF-1}' "$WORK/range.txt")"
assert_contains "NaN over the wire" "$((BASE + 17000))=nan:0x" "$(cat "$WORK/range.txt")"
assert_contains "-0.0 over the wire" "$((BASE + 20000))=-0.0" "$(cat "$WORK/range.txt")"
# no implemented type accepted: 400; not snappy: 400
python3 - "$HERE" >"$WORK/bad.bin" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from jsontool import field_bytes, field_varint, snappy_literals
sys.stdout.buffer.write(snappy_literals(field_bytes(1, field_varint(2, 1)) + field_varint(2, 7)))
PY
req POST /api/v1/read -H 'Content-Encoding: snappy' --data-binary @"$WORK/bad.bin"
assert_code 400
req POST /api/v1/read --data-binary 'not snappy'
assert_code 400
log "remote read: SAMPLES and streamed XOR chunks agree with the export"

# ---- 3a. /federate with curl -------------------------------------------------
req GET '/federate?match[]=%7Bjob%3D%22node%22%7D'
assert_code 200
assert_contains "content type" "text/plain; version=0.0.4" "$(header_value Content-Type)"
cat >"$WORK/fed.want" <<W
# TYPE fed_temp untyped
fed_temp{instance="h1",job="node",room="a\\"b\\\\c"} 1e+21 $((NOW - 5000))
# TYPE fed_up untyped
fed_up{instance="h1",job="node"} 1 $((NOW - 10000))
W
assert_eq "/federate body" "$(cat "$WORK/fed.want")" "$BODY"
req GET '/federate?match[]=fed_up&match[]=%7Binstance%3D%22h1%22%7D'
assert_eq "a series selected twice is written once" 1 "$(grep -c '^fed_up' <<<"$BODY")"
assert_eq "series in the answer" 2 "$(grep -vc '^#' <<<"$BODY")"
req GET /federate
assert_code 400
log "/federate: latest samples, lookback and stale markers honoured"

# ---- 2 and 3b. Prometheus 2.42 -------------------------------------------------
PROM=$(command -v prometheus || true)
if [ -z "$PROM" ]; then
    echo "SKIP [$TEST_NAME]: prometheus not installed (scripts/deps.sh test); own-client checks passed"
    exit 0
fi
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params:
      'match[]': ['{job="node"}']
    static_configs:
      - targets: ['127.0.0.1:$TIDE_PORT']
remote_read:
  - url: $TIDE_URL/api/v1/read
    read_recent: true
    required_matchers:
      rr: "1"
YML
prom_start
log "prometheus on $PROM_URL"
T=$(( (BASE + 300000) / 1000 ))
pq() { curl -fsS -G "$PROM_URL/api/v1/query" --data-urlencode "query=$1" --data-urlencode "time=$2"; }
tq() { curl -fsS -G "$TIDE_URL/api/v1/query" --data-urlencode "query=$1" --data-urlencode "time=$2"; }
for q in 'rr_small{rr="1"}' 'count_over_time(rr_small{rr="1"}[10m])' 'sum_over_time(rr_big{rr="1"}[5m])@BASE' 'rr_small{rr="1"}[30s]'; do
    at=$T
    if [[ "$q" == *@BASE ]]; then q=${q%@BASE}; at=$((BASE / 1000)); fi
    P=$(pq "$q" "$at") || fail "prometheus query $q failed"
    X=$(tq "$q" "$at")
    python3 - "$P" "$X" "$q" <<'PY' || fail "Prometheus (remote read) and Tide disagree on $q"
import json, sys
p, t, q = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
assert p["status"] == "success", p
pr, tr = p["data"]["result"], t["data"]["result"]
assert pr, "Prometheus has nothing for %s: %s" % (q, p)
norm = lambda r: sorted((json.dumps(x["metric"], sort_keys=True), x.get("value") or x.get("values")) for x in r)
assert norm(pr) == norm(tr), (norm(pr)[:3], norm(tr)[:3])
print("%s: %d series agree" % (q, len(pr)))
PY
done
# without rr="1" Prometheus does not ask Tide: nothing
P=$(pq 'rr_small' "$T")
json_ok 'j["data"]["result"] == []' "$P"
log "Prometheus 2.42 reads Tide's data through /api/v1/read"

# federation scraped by Prometheus, own labels kept (honor_labels)
for _ in $(seq 1 30); do
    P=$(curl -fsS -G "$PROM_URL/api/v1/query" --data-urlencode 'query=fed_temp')
    [[ "$P" == *'"room"'* ]] && break
    sleep 1
done
json_ok 'len(j["data"]["result"]) == 1 and j["data"]["result"][0]["metric"] == {"__name__": "fed_temp", "instance": "h1", "job": "node", "room": "a\"b\\c"} and j["data"]["result"][0]["value"][1] == "1e+21"' "$P"
P=$(curl -fsS -G "$PROM_URL/api/v1/query" --data-urlencode 'query=up{job="federate"}')
json_ok 'j["data"]["result"][0]["value"][1] == "1"' "$P"
kill -TERM "$PROM_PID" && wait "$PROM_PID" || true
log "ok"
