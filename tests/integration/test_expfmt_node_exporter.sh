#!/usr/bin/env bash
# test_expfmt_node_exporter.sh: a real node exporter page (Debian's
# prometheus-node-exporter, default collectors, started here on a free
# 127.0.0.1 port) POSTed as is to /api/v1/import/prometheus. Every sample
# line of the page, parsed independently in Python (escapes in label values,
# NaN/±Inf, exponents, histograms and summaries), must come back from
# /api/v1/export with the same labels (empty ones dropped, as in Prometheus), the timestamp given in ?timestamp=
# and the same value, bit for bit; and nothing else may come back.
. "$(dirname "$0")/lib.sh"

NODE=$(command -v prometheus-node-exporter || command -v node_exporter || true)
if [ -z "$NODE" ]; then
    echo "SKIP [$TEST_NAME]: prometheus-node-exporter not installed (scripts/deps.sh test)"
    exit 0
fi
tide_start "$WORK/data" -
spawn_ready node /metrics 50 "$NODE" --web.listen-address="127.0.0.1:@PORT@" ||
    fail "no page from the node exporter"
NODE_PID=$SPAWN_PID
mv "$WORK/node.ready" "$WORK/page.prom"
[ -s "$WORK/page.prom" ] || fail "no page from the node exporter"
kill -TERM "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null || true
log "page: $(wc -l <"$WORK/page.prom") lines, $(grep -vc '^#' "$WORK/page.prom") samples"

T_S=$(( $(date +%s) / 60 * 60 - 300 ))
req POST "/api/v1/import/prometheus?timestamp=$T_S" -H 'Content-Type: text/plain; version=0.0.4' \
    --data-binary @"$WORK/page.prom"
assert_code 204
curl -fsS -G "$TIDE_URL/api/v1/export" --data-urlencode 'match[]={__name__=~".+"}' >"$WORK/export.jsonl"

python3 - "$WORK/page.prom" "$WORK/export.jsonl" "$((T_S * 1000))" <<'PY' || fail "the page and Tide's export differ (see above)"
import json, math, re, struct, sys
page, export, t_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")

def parse_line(line):
    m = NAME.match(line)
    name, i = m.group(0), m.end()
    labels = {"__name__": name}
    if i < len(line) and line[i] == "{":
        i += 1
        while True:
            while line[i] in " ,":
                i += 1
            if line[i] == "}":
                i += 1
                break
            m = NAME.match(line, i)
            key, i = m.group(0), m.end()
            assert line[i] == "=" and line[i + 1] == '"', line
            i += 2
            val = []
            while line[i] != '"':
                if line[i] == "\\":
                    i += 1
                    val.append({"n": "\n", "\\": "\\", '"': '"'}.get(line[i], "\\" + line[i]))
                else:
                    val.append(line[i])
                i += 1
            i += 1
            if val:  # an empty value is no label at all (Prometheus' data model)
                labels[key] = "".join(val)
    rest = line[i:].split()
    v = float(rest[0])  # Go's ParseFloat spellings: NaN, +Inf, -Inf, 1e+06
    return labels, v

want = {}
for line in open(page, encoding="utf-8"):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    labels, v = parse_line(line)
    want[tuple(sorted(labels.items()))] = v

got = {}
for line in open(export):
    if line.strip():
        o = json.loads(line)
        vals = [float(x) if not isinstance(x, str) else float(x.replace("Inf", "inf")) for x in o["values"]]
        got[tuple(sorted(o["metric"].items()))] = list(zip(o["timestamps"], vals))

def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or struct.pack("<d", a) == struct.pack("<d", b)

bad = []
for k, v in want.items():
    g = got.get(k)
    if g is None:
        bad.append("missing: %s" % dict(k))
    elif len(g) != 1 or g[0][0] != t_ms or not same(g[0][1], v):
        bad.append("%s: want %r @%d, got %r" % (dict(k), v, t_ms, g))
for k in got:
    if k not in want:
        bad.append("extra series: %s" % dict(k))
for b in bad[:20]:
    print(b)
print("page samples: %d, exported series: %d, differences: %d" % (len(want), len(got), len(bad)))
sys.exit(1 if bad or len(want) < 100 else 0)
PY
log "ok"
