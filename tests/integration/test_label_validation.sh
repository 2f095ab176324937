#!/usr/bin/env bash
# test_label_validation.sh: labels Prometheus refuses are refused over HTTP
# by every write endpoint, each in its protocol's way (labels_validate() in
# src/model/labels.c, docs/api/write.md "Label rules"): invalid UTF-8 in a
# metric name, label name or label value, an empty label name, a series
# without __name__, a label name twice.
#   - Influx /write and /api/v2/write, JSON lines, text exposition, CSV:
#     good lines stored, 400 naming each bad line and the label;
#   - remote write and OTLP: the whole request refused with 400, nothing stored.
# Then every read endpoint that returns labels (/api/v1/export, /series,
# /labels, /label/<name>/values, /query) is checked to be strict UTF-8 JSON,
# and so are the error bodies themselves.
. "$(dirname "$0")/lib.sh"

NOW_S=$(date +%s)
T_S=$(((NOW_S / 60 - 10) * 60))
T_MS=$((T_S * 1000))

tide_start "$WORK/data" - --retention 0
log "server on $TIDE_URL"

# strict_json FILE [lines]: FILE is UTF-8 (no invalid byte) and JSON (one
# document, or one per non-empty line with "lines").
strict_json() {
    python3 - "$1" "${2:-}" <<'EOF' || fail "not strict UTF-8 JSON: $1 ($(head -c 300 "$1" | od -c | head -5))"
import json, sys
data = open(sys.argv[1], "rb").read()
text = data.decode("utf-8")  # strict: raises on any invalid byte
if sys.argv[2] == "lines":
    for line in text.splitlines():
        if line.strip():
            json.loads(line)
else:
    json.loads(text)
EOF
}

# The bodies below are built with printf so that they hold raw bytes.
# ---- Influx line protocol -------------------------------------------------
printf 'lv_influx,host=good value=1 %s\nlv_influx,host=a\xff value=2 %s\nlv_influx,a=1,a=2 value=3 %s\nlv_influx,h\xc3=x value=4 %s\nlv\xffbad value=5 %s\nlv_influx,host=good2 value=6 %s\n' \
    "$T_S" "$T_S" "$T_S" "$T_S" "$T_S" "$T_S" >"$WORK/lp"
req POST "/write?precision=s" --data-binary @"$WORK/lp"
assert_code 400
strict_json "$WORK/resp.body"
json_ok 'j["error"].startswith("partial write: line 2: value of label \"host\" is not valid UTF-8")'
json_ok '"line 3: duplicate label name \"a\"" in j["error"]'
json_ok '"line 4: invalid label name \"h\\xc3\" (not valid UTF-8)" in j["error"]'
json_ok '"line 5: invalid metric name \"lv\\xffbad\" (not valid UTF-8)" in j["error"]'
json_ok 'j["error"].endswith("dropped=4")'
assert_contains "X-Influxdb-Error" "line 2: value of label" "$(header_value X-Influxdb-Error)"
# Influx 2.x shape, and the names Prometheus cannot take are rewritten, not refused.
printf 'lv.v2,host-name=a,k8s.io/app=x value=7 %s\nlv_v2,host=b\xfc value=8 %s\n' "$T_S" "$T_S" >"$WORK/lp2"
req POST "/api/v2/write?precision=s&bucket=b" --data-binary @"$WORK/lp2"
assert_code 400
strict_json "$WORK/resp.body"
json_ok 'j["code"] == "invalid" and "line 2: value of label \"host\" is not valid UTF-8" in j["message"]'

# ---- JSON lines (/api/v1/import) -------------------------------------------
{
    printf '{"metric":{"__name__":"lv_jsonl","k":"ok"},"values":[1],"timestamps":[%s]}\n' "$T_MS"
    printf '{"metric":{"__name__":"lv_jsonl","k":"a\xff"},"values":[2],"timestamps":[%s]}\n' "$T_MS"
    printf '{"metric":{"__name__":"lv_jsonl","":"x"},"values":[3],"timestamps":[%s]}\n' "$T_MS"
    printf '{"metric":{"job":"x"},"values":[4],"timestamps":[%s]}\n' "$T_MS"
    printf '{"metric":{"__name__":"lv_jsonl","k":"1","k":"2"},"values":[5],"timestamps":[%s]}\n' "$T_MS"
} >"$WORK/jsonl"
req_bad_data POST /api/v1/import --data-binary @"$WORK/jsonl"
strict_json "$WORK/resp.body"
json_ok 'j["error"].startswith("partial import: line 2: value of label \"k\" is not valid UTF-8")'
json_ok '"line 3: empty label name" in j["error"]'
json_ok '"line 4: missing metric name (label __name__)" in j["error"]'
json_ok '"line 5: duplicate label name \"k\"" in j["error"]'
json_ok '"(1 samples stored, 4 bad lines)" in j["error"]'

# ---- text exposition (/api/v1/import/prometheus) ---------------------------
printf 'lv_prom{k="ok"} 1 %s\nlv_prom{k="Z\xfcrich"} 2 %s\nlv_prom{k="1",k="2"} 3 %s\n' \
    "$T_MS" "$T_MS" "$T_MS" >"$WORK/prom"
req_bad_data POST /api/v1/import/prometheus --data-binary @"$WORK/prom"
strict_json "$WORK/resp.body"
json_ok '"line 2 col 1: value of label \"k\" is not valid UTF-8" in j["error"]'
json_ok '"line 3 col 1: duplicate label name \"k\"" in j["error"]'

# ---- CSV (/api/v1/import/csv) -----------------------------------------------
printf '%s,ok,1\n%s,a\xff,2\n' "$T_MS" "$T_MS" >"$WORK/csv"
req_bad_data POST "/api/v1/import/csv?format=1:time:unix_ms,2:label:k,3:metric:lv_csv" \
    --data-binary @"$WORK/csv"
strict_json "$WORK/resp.body"
json_ok '"line 2 col 1: value of label \"k\" is not valid UTF-8" in j["error"]'
req_bad_data POST "/api/v1/import/csv?format=1:time:unix_ms,2:label:k8s.pod,3:metric:lv_csv" \
    --data-binary @"$WORK/csv"
json_ok '"invalid label name \"k8s.pod\"" in j["error"]'

# ---- remote write and OTLP: bodies built from raw bytes ---------------------
# mk.py rw|otlp 'python list of series' T_MS: each series a list of
# (name, value) byte pairs in the order sent, duplicates and all.
cat >"$WORK/mk.py" <<'EOF'
import ast, sys
sys.path.insert(0, sys.argv[4])
from jsontool import field_bytes, field_double, field_fixed64, field_varint, snappy_literals
mode, series, t_ms = sys.argv[1], ast.literal_eval(sys.argv[2]), int(sys.argv[3])
out = b""
if mode == "rw":
    for labels in series:
        body = b"".join(field_bytes(1, field_bytes(1, k) + field_bytes(2, v)) for k, v in labels)
        out += field_bytes(1, body + field_bytes(2, field_double(1, 1.0) + field_varint(2, t_ms)))
    out = snappy_literals(out)
else:  # otlp: one gauge per series; __name__ is the metric name, the rest attributes
    metrics = b""
    for labels in series:
        name = dict(labels)[b"__name__"]
        attrs = b"".join(field_bytes(7, field_bytes(1, k) + field_bytes(2, field_bytes(1, v)))
                         for k, v in labels if k != b"__name__")
        point = field_bytes(1, field_fixed64(3, t_ms * 1000000) + field_double(4, 1.0) + attrs)
        metrics += field_bytes(2, field_bytes(1, name) + field_bytes(5, point))
    out = field_bytes(1, field_bytes(2, metrics))
sys.stdout.buffer.write(out)
EOF
mk() { python3 "$WORK/mk.py" "$1" "$2" "$T_MS" "$HERE" >"$WORK/pb"; }

rw_refused() { # rw_refused SERIES WANT
    mk rw "$1"
    req POST /api/v1/write -H 'Content-Type: application/x-protobuf' \
        -H 'Content-Encoding: snappy' --data-binary @"$WORK/pb"
    assert_code 400
    python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$WORK/resp.body" ||
        fail "remote write error body is not UTF-8"
    assert_contains "remote write 400 body" "nothing stored: remote write: timeseries 2: $2" "$BODY"
}
GOOD="[(b'__name__', b'lv_rw'), (b'job', b'good')]"
rw_refused "[$GOOD, [(b'__name__', b'lv_rw'), (b'job', b'a\\xff')]]" \
    'value of label "job" is not valid UTF-8'
rw_refused "[$GOOD, [(b'__name__', b'lv_rw'), (b'j\\xc3', b'x')]]" \
    'invalid label name "j\xc3" (not valid UTF-8)'
rw_refused "[$GOOD, [(b'__name__', b'lv\\xffrw')]]" \
    'invalid metric name "lv\xffrw" (not valid UTF-8)'
rw_refused "[$GOOD, [(b'__name__', b'lv_rw'), (b'', b'x')]]" 'empty label name'
rw_refused "[$GOOD, [(b'job', b'x')]]" 'missing metric name (label __name__)'
rw_refused "[$GOOD, []]" 'missing metric name (label __name__)'
rw_refused "[$GOOD, [(b'__name__', b'lv_rw'), (b'job', b'a'), (b'job', b'b')]]" \
    'duplicate label name "job"'
# A good request still goes in.
mk rw "[$GOOD]"
req POST /api/v1/write -H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: snappy' \
    --data-binary @"$WORK/pb"
assert_code 204

mk otlp "[[(b'__name__', b'lv_otlp_ok')], [(b'__name__', b'lv_otlp'), (b'host', b'a\\xff')]]"
req POST /api/v1/otlp/v1/metrics -H 'Content-Type: application/x-protobuf' --data-binary @"$WORK/pb"
assert_code 400
assert_contains "otlp 400 body" 'nothing stored: otlp: metric "lv_otlp": value of label "host" is not valid UTF-8' "$BODY"

# ---- what was stored, and every read path is strict UTF-8 JSON ---------------
got=$(curl -fsS -G --data-urlencode 'match[]={__name__=~"lv.*"}' "$TIDE_URL/api/v1/export" |
    "${JSONTOOL[@]}" canon-export | cut -d' ' -f1 | sort | tr '\n' ' ')
assert_eq "stored series" \
    '{"__name__":"lv_csv","k":"ok"} {"__name__":"lv_influx","host":"good"} {"__name__":"lv_influx","host":"good2"} {"__name__":"lv_jsonl","k":"ok"} {"__name__":"lv_prom","k":"ok"} {"__name__":"lv_rw","job":"good"} {"__name__":"lv_v2","host_name":"a","k8s_io_app":"x"} ' \
    "$got"
curl -fsS -G --data-urlencode 'match[]={__name__=~".+"}' "$TIDE_URL/api/v1/export" >"$WORK/export"
strict_json "$WORK/export" lines
for path in "/api/v1/series?match%5B%5D=%7B__name__%3D~%22.%2B%22%7D" /api/v1/labels /api/v1/label/k/values \
    /api/v1/label/__name__/values "/api/v1/query?query=%7B__name__%3D~%22lv.%2A%22%7D&time=$T_S"; do
    req GET "$path"
    assert_code 200
    strict_json "$WORK/resp.body"
done
log "ok"
