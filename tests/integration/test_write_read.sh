#!/usr/bin/env bash
# test_write_read.sh: every write endpoint in, every read endpoint out, compared
# exactly. Influx line protocol on /write (each precision) and /api/v2/write,
# a gzip body, JSON lines on /api/v1/import (NaN, ±Inf, stale marker, -0);
# read back through /api/v1/export, /export/csv, /series, /labels,
# /label/<name>/values. Then: a bad line in the middle (400 naming it, good
# lines kept), export → import into a second server → identical export,
# delete_series hiding data at once, 413 for oversized bodies (plain and
# gzip), error shapes, status endpoints, /metrics counters.
. "$(dirname "$0")/lib.sh"

# Timestamps two hours back, aligned to the hour so every precision is exact.
NOW_S=$(date +%s)
T_S=$(((NOW_S / 3600 - 2) * 3600))
T_MS=$((T_S * 1000))

tide_start "$WORK/data1" - --retention 0
A_URL=$TIDE_URL
A_PID=$TIDE_PID
log "server A on $A_URL"

# ---- /write, one line per precision --------------------------------------
post_lp() { # post_lp PATH QUERY BODY
    req POST "$1?$2" --data-binary "$3"
}
post_lp /write "precision=n&db=x" "prec,p=n value=1 $((T_S * 1000000000 + 1000000))"
assert_code 204
[ -n "$(header_value X-Influxdb-Version)" ] || fail "/write: no X-Influxdb-Version header"
post_lp /write "precision=u" "prec,p=u value=2 $((T_S * 1000000 + 2000))"
assert_code 204
post_lp /write "precision=ms" "prec,p=ms value=3 $((T_MS + 3))"
assert_code 204
post_lp /write "precision=s" "prec,p=s value=4 $((T_S + 4))"
assert_code 204
post_lp /write "precision=m" "prec,p=m value=5 $((T_S / 60 + 5))"
assert_code 204
post_lp /write "precision=h" "prec,p=h value=6 $((T_S / 3600 + 1))"
assert_code 204
post_lp /write "" "prec,p=default value=7 $((T_S * 1000000000 + 7000000))"
assert_code 204
post_lp /write "precision=xs" "prec,p=bad value=0 1"
assert_code 400
json_ok '"precision" in j["error"]'

# Fields, tags, escapes, integer and boolean fields, several lines at once.
post_lp /write "precision=s" "cpu,host=a,dc=x usage_user=1.5,usage_system=2i,up=t $T_S
cpu,host=b,dc=x usage_user=0.25,usage_system=-3i,up=false $T_S
temp value=-3.25 $T_S
esc,path=a\\ b\\,c value=7 $T_S"
assert_code 204

# ---- /api/v2/write ---------------------------------------------------------
post_lp /api/v2/write "precision=ns&bucket=b&org=o" "v2,p=ns value=11 $((T_S * 1000000000 + 11000000))"
assert_code 204
post_lp /api/v2/write "precision=us&bucket=b&org=o" "v2,p=us value=12 $((T_S * 1000000 + 12000))"
assert_code 204
post_lp /api/v2/write "precision=ms&bucket=b" "v2,p=ms value=13 $((T_MS + 13))"
assert_code 204
post_lp /api/v2/write "precision=s&bucket=b" "v2,p=s value=14 $((T_S + 14))"
assert_code 204
post_lp /api/v2/write "precision=h&bucket=b" "v2,p=h value=15 1"
assert_code 400
json_ok 'j["code"] == "invalid" and "precision" in j["message"]'

# ---- gzip body -------------------------------------------------------------
printf 'gz,src=gzip value=42 %s\ngz,src=gzip2 value=43 %s\n' "$T_S" "$T_S" | gzip -c >"$WORK/body.gz"
req POST "/write?precision=s" -H 'Content-Encoding: gzip' --data-binary @"$WORK/body.gz"
assert_code 204
printf 'this is not gzip' >"$WORK/notgz"
req POST "/write?precision=s" -H 'Content-Encoding: gzip' --data-binary @"$WORK/notgz"
assert_code 400
req POST "/write?precision=s" -H 'Content-Encoding: br' --data-binary "x value=1"
assert_code 415

# ---- /api/v1/import (JSON lines) ------------------------------------------
cat >"$WORK/import.jsonl" <<EOF
{"metric":{"__name__":"special","kind":"nan"},"values":["NaN"],"timestamps":[$T_MS]}
{"metric":{"__name__":"special","kind":"pinf"},"values":["+Inf"],"timestamps":[$T_MS]}
{"metric":{"__name__":"special","kind":"ninf"},"values":["-Inf"],"timestamps":[$T_MS]}
{"metric":{"__name__":"special","kind":"stale"},"values":["StaleNaN"],"timestamps":[$T_MS]}
{"metric":{"__name__":"special","kind":"negzero"},"values":[-0.0],"timestamps":[$T_MS]}
{"metric":{"__name__":"special","kind":"tiny"},"values":[5e-324],"timestamps":[$T_MS]}
{"metric":{"__name__":"special","kind":"huge"},"values":[1.7976931348623157e308],"timestamps":[$T_MS]}
{"metric":{"__name__":"special","kind":"third"},"values":[0.30000000000000004],"timestamps":[$T_MS]}
{"metric":{"__name__":"multi","k":"v"},"values":[1,2,3],"timestamps":[$T_MS,$((T_MS + 1000)),$((T_MS + 2000))]}
EOF
req POST /api/v1/import --data-binary @"$WORK/import.jsonl"
assert_code 204

# ---- read back: export ----------------------------------------------------
cat >"$WORK/want.jsonl" <<EOF
{"metric":{"__name__":"prec","p":"n"},"values":[1],"timestamps":[$((T_MS + 1))]}
{"metric":{"__name__":"prec","p":"u"},"values":[2],"timestamps":[$((T_MS + 2))]}
{"metric":{"__name__":"prec","p":"ms"},"values":[3],"timestamps":[$((T_MS + 3))]}
{"metric":{"__name__":"prec","p":"s"},"values":[4],"timestamps":[$((T_MS + 4000))]}
{"metric":{"__name__":"prec","p":"m"},"values":[5],"timestamps":[$(((T_S / 60 + 5) * 60000))]}
{"metric":{"__name__":"prec","p":"h"},"values":[6],"timestamps":[$((T_MS + 3600000))]}
{"metric":{"__name__":"prec","p":"default"},"values":[7],"timestamps":[$((T_MS + 7))]}
{"metric":{"__name__":"cpu_usage_user","host":"a","dc":"x"},"values":[1.5],"timestamps":[$T_MS]}
{"metric":{"__name__":"cpu_usage_system","host":"a","dc":"x"},"values":[2],"timestamps":[$T_MS]}
{"metric":{"__name__":"cpu_up","host":"a","dc":"x"},"values":[1],"timestamps":[$T_MS]}
{"metric":{"__name__":"cpu_usage_user","host":"b","dc":"x"},"values":[0.25],"timestamps":[$T_MS]}
{"metric":{"__name__":"cpu_usage_system","host":"b","dc":"x"},"values":[-3],"timestamps":[$T_MS]}
{"metric":{"__name__":"cpu_up","host":"b","dc":"x"},"values":[0],"timestamps":[$T_MS]}
{"metric":{"__name__":"temp"},"values":[-3.25],"timestamps":[$T_MS]}
{"metric":{"__name__":"esc","path":"a b,c"},"values":[7],"timestamps":[$T_MS]}
{"metric":{"__name__":"v2","p":"ns"},"values":[11],"timestamps":[$((T_MS + 11))]}
{"metric":{"__name__":"v2","p":"us"},"values":[12],"timestamps":[$((T_MS + 12))]}
{"metric":{"__name__":"v2","p":"ms"},"values":[13],"timestamps":[$((T_MS + 13))]}
{"metric":{"__name__":"v2","p":"s"},"values":[14],"timestamps":[$((T_MS + 14000))]}
{"metric":{"__name__":"gz","src":"gzip"},"values":[42],"timestamps":[$T_MS]}
{"metric":{"__name__":"gz","src":"gzip2"},"values":[43],"timestamps":[$T_MS]}
EOF
cat "$WORK/import.jsonl" >>"$WORK/want.jsonl"
"${JSONTOOL[@]}" canon-export <"$WORK/want.jsonl" >"$WORK/want.canon"
ALL='{__name__=~".+"}'
export_canon "$ALL" >"$WORK/got.canon"
diff -u "$WORK/want.canon" "$WORK/got.canon" >&2 || fail "export differs from what was written (- want, + got)"
log "export matches all $(wc -l <"$WORK/want.canon") series written"

# POST form body gives the same answer as GET parameters.
curl -fsS --data-urlencode "match[]=$ALL" "$A_URL/api/v1/export" | "${JSONTOOL[@]}" canon-export >"$WORK/got-post.canon"
diff -u "$WORK/want.canon" "$WORK/got-post.canon" >&2 || fail "POST export differs from GET export"

# Repeated match[]: a series selected twice is exported once.
curl -fsS -G --data-urlencode 'match[]=prec' --data-urlencode 'match[]={p="n"}' \
    "$A_URL/api/v1/export" | "${JSONTOOL[@]}" canon-export >"$WORK/got-rep.canon"
assert_eq "series exported for match[]=prec&match[]={p=\"n\"}" 7 "$(wc -l <"$WORK/got-rep.canon")"

# start/end narrow the export.
curl -fsS -G --data-urlencode 'match[]=multi' --data-urlencode "start=$((T_S + 1))" \
    --data-urlencode "end=$((T_S + 1))" "$A_URL/api/v1/export" | "${JSONTOOL[@]}" canon-export \
    >"$WORK/got-range.canon"
assert_eq "export with start=end=T+1s" "{\"__name__\":\"multi\",\"k\":\"v\"} $((T_MS + 1000))=2.0" \
    "$(cat "$WORK/got-range.canon")"

# ---- CSV export -----------------------------------------------------------
req GET /api/v1/export/csv -G --data-urlencode 'match[]=cpu_usage_user' \
    --data-urlencode 'format=__name__,host,dc,__value__,__timestamp__:unix_ms'
assert_code 200
assert_eq "CSV header row" "__name__,host,dc,__value__,__timestamp__:unix_ms" "$(printf '%s\n' "$BODY" | head -n 1)"
got=$(printf '%s\n' "$BODY" | tail -n +2 | "${JSONTOOL[@]}" canon-csv)
want=$(printf 'cpu_usage_user,a,x,1.5,%s\ncpu_usage_user,b,x,0.25,%s\n' "$T_MS" "$T_MS")
assert_eq "CSV export" "$want" "$got"
req GET /api/v1/export/csv -G --data-urlencode 'match[]=special' \
    --data-urlencode 'format=kind,__value__,__timestamp__:unix_s' --data-urlencode 'header=false'
assert_code 200
got=$(printf '%s\n' "$BODY" | "${JSONTOOL[@]}" canon-csv)
want=$(printf '%s\n' "huge,1.7976931348623157e+308,$T_S" "nan,NaN,$T_S" "negzero,-0,$T_S" \
    "ninf,-Inf,$T_S" "pinf,+Inf,$T_S" "stale,NaN,$T_S" "third,0.30000000000000004,$T_S" \
    "tiny,5e-324,$T_S" | sort)
assert_eq "CSV export of special values" "$want" "$got"
req_bad_data GET /api/v1/export/csv -G --data-urlencode 'match[]=cpu_usage_user'

# ---- Prometheus metadata API ----------------------------------------------
req GET /api/v1/series -G --data-urlencode 'match[]={__name__=~"cpu_.*"}'
assert_code 200
json_ok 'j["status"] == "success" and sorted(map(lambda s: tuple(sorted(s.items())), j["data"])) == sorted([tuple(sorted({"__name__": n, "host": h, "dc": "x"}.items())) for n in ("cpu_usage_user", "cpu_usage_system", "cpu_up") for h in ("a", "b")])'
req POST /api/v1/series --data-urlencode 'match[]=temp' --data-urlencode 'match[]=esc'
assert_code 200
json_ok 'j == {"status": "success", "data": [{"__name__": "esc", "path": "a b,c"}, {"__name__": "temp"}]}'
req GET /api/v1/series
assert_code 400
json_ok 'j == {"status": "error", "errorType": "bad_data", "error": "no match[] parameter provided"}'
req_bad_data GET /api/v1/series -G --data-urlencode 'match[]={a=~".*"}'
req_bad_data GET /api/v1/series -G --data-urlencode 'match[]=cpu{'
req GET /api/v1/series -G --data-urlencode 'match[]=temp' --data-urlencode 'start=yesterday'
assert_code 400
json_ok 'j["errorType"] == "bad_data" and "start" in j["error"]'

req GET /api/v1/labels
assert_code 200
json_ok 'j == {"status": "success", "data": ["__name__", "dc", "host", "k", "kind", "p", "path", "src"]}'
req GET /api/v1/labels -G --data-urlencode 'match[]=cpu_up'
assert_code 200
json_ok 'j == {"status": "success", "data": ["__name__", "dc", "host"]}'
req GET /api/v1/label/host/values
assert_code 200
json_ok 'j == {"status": "success", "data": ["a", "b"]}'
req GET /api/v1/label/__name__/values
assert_code 200
json_ok 'j["data"] == sorted(["prec", "cpu_usage_user", "cpu_usage_system", "cpu_up", "temp", "esc", "v2", "gz", "special", "multi"])'
req GET /api/v1/label/p/values -G --data-urlencode 'match[]=v2' --data-urlencode 'match[]={p="n"}'
assert_code 200
json_ok 'j["data"] == ["ms", "n", "ns", "s", "us"]'
req_bad_data GET '/api/v1/label/bad-name/values'

# ---- bad line in the middle ----------------------------------------------
req POST "/write?precision=s" --data-binary "mid,n=1 value=1 $T_S
mid,n=2 value= $T_S
mid,n=3 value=3 $T_S"
assert_code 400
json_ok '"partial write" in j["error"] and "line 2" in j["error"]'
req POST "/api/v2/write?precision=s" --data-binary "mid2,n=1 value=1 $T_S
this line is bad
mid2,n=3 value=3 $T_S"
assert_code 400
json_ok 'j["code"] == "invalid" and "line 2" in j["message"]'
req POST /write --data-binary "only bad lines here"
assert_code 400
json_ok '"line 1" in j["error"] and "partial write" not in j["error"]'
printf '%s\n' "{\"metric\":{\"__name__\":\"mid3\",\"n\":\"1\"},\"values\":[1],\"timestamps\":[$T_MS]}" \
    '{"metric":{"__name__":"mid3"' \
    "{\"metric\":{\"__name__\":\"mid3\",\"n\":\"3\"},\"values\":[3],\"timestamps\":[$T_MS]}" >"$WORK/bad.jsonl"
req POST /api/v1/import --data-binary @"$WORK/bad.jsonl"
assert_code 400
json_ok 'j["status"] == "error" and j["errorType"] == "bad_data" and "line 2" in j["error"]'
got=$(export_canon '{__name__=~"mid.*"}')
want=$(printf '%s\n' "{\"metric\":{\"__name__\":\"mid\",\"n\":\"1\"},\"values\":[1],\"timestamps\":[$T_MS]}" \
    "{\"metric\":{\"__name__\":\"mid\",\"n\":\"3\"},\"values\":[3],\"timestamps\":[$T_MS]}" \
    "{\"metric\":{\"__name__\":\"mid2\",\"n\":\"1\"},\"values\":[1],\"timestamps\":[$T_MS]}" \
    "{\"metric\":{\"__name__\":\"mid2\",\"n\":\"3\"},\"values\":[3],\"timestamps\":[$T_MS]}" \
    "{\"metric\":{\"__name__\":\"mid3\",\"n\":\"1\"},\"values\":[1],\"timestamps\":[$T_MS]}" \
    "{\"metric\":{\"__name__\":\"mid3\",\"n\":\"3\"},\"values\":[3],\"timestamps\":[$T_MS]}" |
    "${JSONTOOL[@]}" canon-export)
assert_eq "good lines around a bad one are kept" "$want" "$got"

# ---- the other write formats ----------------------------------------------
# Remote write 1.0 and OTLP bodies are built by jsontool.py (protobuf by hand,
# snappy as a block of literals).
printf '%s\n' "{\"metric\":{\"__name__\":\"rw\",\"job\":\"a\"},\"values\":[1.5,\"-Inf\"],\"timestamps\":[$T_MS,$((T_MS + 1000))]}" |
    "${JSONTOOL[@]}" remote-write >"$WORK/rw.bin"
req POST /api/v1/write -H 'Content-Encoding: snappy' -H 'Content-Type: application/x-protobuf' \
    -H 'X-Prometheus-Remote-Write-Version: 0.1.0' --data-binary @"$WORK/rw.bin"
assert_code 204
printf 'not snappy' >"$WORK/bad.bin"
req POST /api/v1/write -H 'Content-Encoding: snappy' --data-binary @"$WORK/bad.bin"
assert_code 400
printf '%s\n' "{\"metric\":{\"__name__\":\"otel\",\"host\":\"x\"},\"values\":[2.25],\"timestamps\":[$T_MS]}" |
    "${JSONTOOL[@]}" otlp >"$WORK/otlp.bin"
req POST /api/v1/otlp/v1/metrics -H 'Content-Type: application/x-protobuf' --data-binary @"$WORK/otlp.bin"
assert_code 200
req POST /api/v1/import/prometheus --data-binary "# TYPE promtext gauge
promtext{a=\"b\"} 3.5 $T_MS"
assert_code 204
req POST "/api/v1/import/csv?format=1:time:unix_s,2:label:host,3:metric:csvimp" --data-binary "$T_S,h1,7.5"
assert_code 204
req POST /api/v1/import/csv --data-binary "$T_S,h1,7.5"
assert_code 400
got=$(export_canon '{__name__=~"rw|otel|promtext|csvimp"}')
want=$(printf '%s\n' "{\"metric\":{\"__name__\":\"rw\",\"job\":\"a\"},\"values\":[1.5,\"-Inf\"],\"timestamps\":[$T_MS,$((T_MS + 1000))]}" \
    "{\"metric\":{\"__name__\":\"otel\",\"host\":\"x\",\"job\":\"tidetest\"},\"values\":[2.25],\"timestamps\":[$T_MS]}" \
    "{\"metric\":{\"__name__\":\"promtext\",\"a\":\"b\"},\"values\":[3.5],\"timestamps\":[$T_MS]}" \
    "{\"metric\":{\"__name__\":\"csvimp\",\"host\":\"h1\"},\"values\":[7.5],\"timestamps\":[$T_MS]}" |
    "${JSONTOOL[@]}" canon-export)
assert_eq "remote write, OTLP, text format and CSV imports" "$want" "$got"

# ---- export → import into a second server → export again ------------------
curl -fsS -G --data-urlencode "match[]=$ALL" "$A_URL/api/v1/export" >"$WORK/export-a.jsonl"
tide_start "$WORK/data2" - --retention 0
B_URL=$TIDE_URL
B_PID=$TIDE_PID
req POST /api/v1/import --data-binary @"$WORK/export-a.jsonl"
assert_code 204
export_canon "$ALL" "$A_URL" >"$WORK/a.canon"
export_canon "$ALL" "$B_URL" >"$WORK/b.canon"
diff -u "$WORK/a.canon" "$WORK/b.canon" >&2 || fail "export of server B differs from server A's"
# Gzip'ed import of the same export changes nothing.
gzip -c "$WORK/export-a.jsonl" >"$WORK/export-a.jsonl.gz"
req POST /api/v1/import -H 'Content-Encoding: gzip' --data-binary @"$WORK/export-a.jsonl.gz"
assert_code 204
export_canon "$ALL" "$B_URL" >"$WORK/b2.canon"
diff -u "$WORK/a.canon" "$WORK/b2.canon" >&2 || fail "re-import changed server B's data"
log "export -> import -> export is identical ($(wc -l <"$WORK/a.canon") series)"
tide_stop "$B_PID"
TIDE_URL=$A_URL

# ---- delete_series ----------------------------------------------------------
req POST /api/v1/admin/tsdb/delete_series --data-urlencode 'match[]=temp'
assert_code 204
got=$(export_canon temp)
assert_eq "export of a deleted series" "" "$got"
req GET /api/v1/series -G --data-urlencode 'match[]=temp'
assert_code 200
json_ok 'j == {"status": "success", "data": []}'
# A time range deletes only inside it.
req PUT /api/v1/admin/tsdb/delete_series --data-urlencode 'match[]=multi' \
    --data-urlencode "start=$((T_S + 1))" --data-urlencode "end=$((T_S + 1))"
assert_code 204
assert_eq "export after deleting the middle sample" \
    "{\"__name__\":\"multi\",\"k\":\"v\"} $T_MS=1.0 $((T_MS + 2000))=3.0" "$(export_canon multi)"
req POST /api/v1/admin/tsdb/delete_series
assert_code 400
json_ok 'j["error"] == "no match[] parameter provided"'
req GET /api/v1/admin/tsdb/delete_series -G --data-urlencode 'match[]=temp'
assert_code 405
[ -n "$(header_value Allow)" ] || fail "405 without an Allow header"

# ---- configuration file -----------------------------------------------------------
# A bad file stops start-up with exit status 2, naming file, line and column.
printf 'retention: 0\nretenion: 30d\n' >"$WORK/bad.yml"
rc=0
"$TIDE" serve --config "$WORK/bad.yml" --data "$WORK/never" >"$WORK/bad-config.out" 2>&1 || rc=$?
assert_eq "exit status for a bad config file" 2 "$rc"
assert_contains "bad config message" "bad.yml:2:1: unknown key \"retenion\"" "$(cat "$WORK/bad-config.out")"
# A flag wins over the file: the file says 1KiB, the flag 64KiB.
printf 'retention: 0\nmax_request_bytes: 1KiB\nlog_level: warn\n' >"$WORK/small.yml"
tide_start "$WORK/data4" - --config "$WORK/small.yml" --max-request-bytes 64KiB
req POST "/write?precision=s" --data-binary "$(for i in $(seq 1 100); do echo "cfg,i=$i value=1 $T_S"; done)"
assert_code 204
tide_stop "$TIDE_PID"

# ---- size limits --------------------------------------------------------------
printf 'retention: 0\nmax_request_bytes: 64KiB\n' >"$WORK/limits.yml"
tide_start "$WORK/data3" - --config "$WORK/limits.yml"
python3 -c "
import sys
for i in range(4000): sys.stdout.write('big,i=%d value=%d $T_S\n' % (i, i))" >"$WORK/big.lp"
req POST "/write?precision=s" --data-binary @"$WORK/big.lp"
assert_code 413
# Chunked upload (no Content-Length) is capped too.
req POST "/write?precision=s" -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big.lp"
assert_code 413
# A small gzip body that inflates past the cap.
python3 -c "
import gzip, sys
sys.stdout.buffer.write(gzip.compress(b'z value=1 $T_S\n' * 20000))" >"$WORK/bomb.gz"
[ "$(stat -c %s "$WORK/bomb.gz")" -lt 65536 ] || fail "test bug: gzip bomb not small"
req POST "/write?precision=s" -H 'Content-Encoding: gzip' --data-binary @"$WORK/bomb.gz"
assert_code 413
req GET /api/v1/series -G --data-urlencode 'match[]={__name__=~"big|z"}'
json_ok 'j["data"] == []'
req GET /metrics
assert_contains "/metrics after 413s" 'tide_http_requests_too_large_total 3' "$BODY"
tide_stop "$TIDE_PID"
TIDE_URL=$A_URL

# ---- error shapes, influx helpers -------------------------------------------------
req GET /no/such/path
assert_code 404
json_ok 'j["status"] == "error"'
req GET /ping
assert_code 204
[ -n "$(header_value X-Influxdb-Version)" ] || fail "/ping: no X-Influxdb-Version header"
req HEAD /ping -I
assert_code 204
req GET '/ping?verbose=true'
assert_code 200
json_ok '"version" in j'
req GET /health
assert_code 200
req GET /ready
assert_code 200
req POST /query --data-urlencode 'q=CREATE DATABASE "x"'
assert_code 200
json_ok 'j == {"results": [{"statement_id": 0}]}'

# ---- status endpoints ---------------------------------------------------------------
req GET /api/v1/status/tsdb
assert_code 200
json_ok 'j["status"] == "success" and set(j["data"]) == {"headStats", "seriesCountByMetricName", "labelValueCountByLabelName", "memoryInBytesByLabelName", "seriesCountByLabelValuePair"}'
json_ok 'set(j["data"]["headStats"]) == {"numSeries", "numLabelPairs", "chunkCount", "minTime", "maxTime"} and j["data"]["headStats"]["numSeries"] > 0'
json_ok 'all(set(e) == {"name", "value"} for k in ("seriesCountByMetricName", "labelValueCountByLabelName", "memoryInBytesByLabelName", "seriesCountByLabelValuePair") for e in j["data"][k])'
json_ok '{"name": "cpu_usage_user", "value": 2} in j["data"]["seriesCountByMetricName"]'
req GET /api/v1/status/storage
assert_code 200
json_ok 'j["status"] == "success" and {"bytesOnDisk", "series", "samples", "head", "partitions"} <= set(j["data"]) and j["data"]["series"] > 0'
json_ok 'all({"minTime", "maxTime", "blocks", "bytes", "samples", "series"} <= set(p) for p in j["data"]["partitions"])'

# ---- /metrics -----------------------------------------------------------------------
req GET /metrics
assert_code 200
m1=$BODY
assert_contains "/metrics" 'tide_build_info{version="' "$m1"
assert_contains "/metrics" 'tide_http_requests_total{path="/write",code="204"}' "$m1"
assert_contains "/metrics" 'tide_lines_rejected_total{format="influx"}' "$m1"
assert_contains "/metrics" 'process_resident_memory_bytes ' "$m1"
metric() { printf '%s\n' "$2" | awk -v n="$1" '$1 == n {print $2}'; }
before=$(metric 'tide_samples_ingested_total{format="influx"}' "$m1")
[ "${before:-0}" -gt 0 ] || fail "tide_samples_ingested_total{format=\"influx\"} is ${before:-missing}"
rej=$(metric 'tide_lines_rejected_total{format="influx"}' "$m1")
[ "${rej:-0}" -ge 3 ] || fail "tide_lines_rejected_total{format=\"influx\"} is ${rej:-missing}, want >= 3"
req POST "/write?precision=s" --data-binary "moved a=1,b=2 $T_S"
assert_code 204
req GET /metrics
after=$(metric 'tide_samples_ingested_total{format="influx"}' "$BODY")
assert_eq "tide_samples_ingested_total{format=\"influx\"} after 2 more samples" $((before + 2)) "$after"

tide_stop "$A_PID"
log "PASS"
