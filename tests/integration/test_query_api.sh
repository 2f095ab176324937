#!/usr/bin/env bash
# test_query_api.sh: Prometheus' query API on a real `tide serve`:
# /api/v1/query and /api/v1/query_range result shapes for every resultType
# (scalar, string, vector, matrix) and timestamp formatting; errors with
# Prometheus' messages and HTTP codes (400 bad_data, 422 execution, 503
# timeout); GET vs POST form; RFC 3339 vs Unix times; the `timeout`
# parameter; query_max_concurrency (a second query waits for the slot, or
# gets 503 when its timeout passes first); ingestion is not stalled by a
# long query; the status endpoints Grafana and promtool call; long
# expressions (GET up to the request-line limit, POST past it); a matrix
# big enough to be written by two threads, sent in pieces; and the
# `tide query` CLI (table, json, errors, exit codes).
. "$(dirname "$0")/lib.sh"

tide_start "$WORK/data" - --retention 0 --query-max-concurrency 1
log "tide on $TIDE_URL"

T=1700000000 # 2023-11-14T22:13:20Z
{
    echo "# TYPE http_requests_total counter"
    for i in $(seq 0 20); do
        ts=$(( (T - 600 + i * 30) * 1000 ))
        echo "http_requests_total{job=\"api\",code=\"200\"} $((i * 10)) $ts"
        echo "http_requests_total{job=\"api\",code=\"500\"} $i $ts"
    done
    echo "temp{room=\"a\"} 21.5 $((T * 1000))"
    echo "temp{room=\"b\"} 19.25 $((T * 1000 + 781))"
} >"$WORK/data.prom"
req POST /api/v1/import/prometheus --data-binary @"$WORK/data.prom"
assert_code 204

q() { # q PATH [curl args]: GET with url-encoded params
    local path=$1
    shift
    req GET "$path" -G "$@"
}
qi() { # qi EXPR [TIME=$T]: instant query of EXPR at TIME
    q /api/v1/query --data-urlencode "query=$1" --data-urlencode "time=${2-$T}"
}

# ---- instant query: every result type --------------------------------------
qi 'temp' "$T.781"
assert_code 200
json_ok 'j["status"]=="success" and j["data"]["resultType"]=="vector"'
json_ok 'sorted((r["metric"]["room"], r["value"]) for r in j["data"]["result"]) == [("a",[1700000000.781,"21.5"]),("b",[1700000000.781,"19.25"])]'
assert_contains "timestamp text" '"value":[1700000000.781,"21.5"]' "$BODY"
assert_contains "labels object" '"metric":{"__name__":"temp","room":"a"}' "$BODY"

qi '1 + 1.5'
assert_eq "scalar" '{"status":"success","data":{"resultType":"scalar","result":[1700000000,"2.5"]}}' "$BODY"
qi '"hello"' "$T.5"
assert_eq "string" '{"status":"success","data":{"resultType":"string","result":[1700000000.500,"hello"]}}' "$BODY"
qi 'http_requests_total{code="500"}[1m]'
json_ok 'j["data"]["resultType"]=="matrix" and j["data"]["result"][0]["values"]==[[1699999940,"18"],[1699999970,"19"],[1700000000,"20"]]'
qi '1/0'
assert_contains "+Inf" '"+Inf"' "$BODY"
qi '-1/0'
assert_contains "-Inf" '"-Inf"' "$BODY"
qi '0/0'
assert_contains "NaN" '"NaN"' "$BODY"
qi 'vector(1e21)'
assert_contains "exponent from 1e21" '"1e+21"' "$BODY"
qi 'vector(1e20)'
assert_contains "no exponent below 1e21" '"100000000000000000000"' "$BODY"
qi 'vector(0.000000725)'
assert_contains "exponent below 1e-6" '"7.25e-07"' "$BODY"
qi 'vector(0.000001)'
assert_contains "no exponent from 1e-6" '"0.000001"' "$BODY"
qi 'sum by (code) (rate(http_requests_total[5m]))'
json_ok 'sorted((r["metric"]["code"], round(float(r["value"][1]), 9)) for r in j["data"]["result"]) == [("200",0.333333333),("500",0.033333333)]'
qi 'nothing_here'
assert_eq "empty vector" '{"status":"success","data":{"resultType":"vector","result":[]}}' "$BODY"

# ---- times: RFC 3339 = Unix seconds; default time is now --------------------
qi 'temp{room="a"}' '2023-11-14T22:13:20.781Z'
rfc=$BODY
qi 'temp{room="a"}' '1700000000.781'
assert_eq "RFC 3339 vs Unix" "$rfc" "$BODY"
qi 'temp{room="a"}' '2023-11-14T23:13:20.781+01:00'
assert_eq "RFC 3339 with offset" "$rfc" "$BODY"
q /api/v1/query --data-urlencode 'query=time()'
json_ok 'abs(j["data"]["result"][0] - __import__("time").time()) < 60'

# ---- GET vs POST form ---------------------------------------------------------
q /api/v1/query_range --data-urlencode 'query=http_requests_total{code="200"}' \
    --data-urlencode "start=$((T - 120))" --data-urlencode "end=$T" --data-urlencode 'step=1m'
assert_code 200
get_body=$BODY
json_ok 'j["data"]["resultType"]=="matrix" and [v for v in j["data"]["result"][0]["values"]]==[[1699999880,"160"],[1699999940,"180"],[1700000000,"200"]]'
req POST /api/v1/query_range --data-urlencode 'query=http_requests_total{code="200"}' \
    --data-urlencode "start=2023-11-14T22:11:20Z" --data-urlencode "end=2023-11-14T22:13:20Z" --data-urlencode 'step=60'
assert_code 200
assert_eq "POST form = GET" "$get_body" "$BODY"
q /api/v1/query_range --data-urlencode 'query=2 * 3' --data-urlencode "start=$T" --data-urlencode "end=$((T + 30))" --data-urlencode 'step=15'
assert_eq "scalar range" '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"6"],[1700000015,"6"],[1700000030,"6"]]}]}}' "$BODY"
q /api/v1/query_range --data-urlencode 'query=temp' --data-urlencode "start=$T" --data-urlencode "end=$((T + 1))" --data-urlencode 'step=0.5'
json_ok '[v[0] for v in j["data"]["result"][0]["values"]]==[1700000000,1700000000.5,1700000001]'
assert_contains "ms kept" "[1700000000.500,\"21.5\"]" "$BODY"

# ---- errors: message, errorType, HTTP status ---------------------------------
err() { # err WANT_CODE WANT_TYPE WANT_MSG
    assert_code "$1"
    json_ok "j['status']=='error' and j['errorType']=='$2'"
    printf '%s' "$BODY" | "${JSONTOOL[@]}" check "j['error']==$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$3")" ||
        fail "error message: want [$3], got [$BODY]"
}
qi 'sum('
err 400 bad_data 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis'
qi 'up' 'yesterday'
err 400 bad_data 'invalid parameter "time": cannot parse "yesterday" to a valid timestamp'
q /api/v1/query --data-urlencode 'query=up' --data-urlencode 'timeout=soon'
err 400 bad_data 'invalid parameter "timeout": cannot parse "soon" to a valid duration'
q /api/v1/query_range --data-urlencode 'query=up' --data-urlencode "end=$T" --data-urlencode 'step=1'
err 400 bad_data 'invalid parameter "start": cannot parse "" to a valid timestamp'
q /api/v1/query_range --data-urlencode 'query=up' --data-urlencode "start=$T" --data-urlencode "end=$((T - 1))" --data-urlencode 'step=1'
err 400 bad_data 'end timestamp must not be before start time'
q /api/v1/query_range --data-urlencode 'query=up' --data-urlencode "start=$T" --data-urlencode "end=$T" --data-urlencode 'step=0'
err 400 bad_data 'zero or negative query resolution step widths are not accepted. Try a positive integer'
q /api/v1/query_range --data-urlencode 'query=up' --data-urlencode "start=$T" --data-urlencode "end=$((T + 11001))" --data-urlencode 'step=1'
err 400 bad_data 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)'
q /api/v1/query_range --data-urlencode 'query=up' --data-urlencode "start=$T" --data-urlencode "end=$((T + 11000))" --data-urlencode 'step=1'
assert_code 200
q /api/v1/query_range --data-urlencode 'query=up' --data-urlencode "start=$T" --data-urlencode "end=$T" --data-urlencode 'step=x'
err 400 bad_data 'invalid parameter "step": cannot parse "x" to a valid duration'
q /api/v1/query_range --data-urlencode 'query=temp[5m]' --data-urlencode "start=$T" --data-urlencode "end=$T" --data-urlencode 'step=1'
err 400 bad_data 'invalid parameter "query": invalid expression type "range vector" for range query, must be Scalar or instant Vector'
qi 'http_requests_total + on(job) http_requests_total'
assert_code 422
json_ok 'j["errorType"]=="execution" and j["error"].startswith("found duplicate series for the match group {job=\"api\"} on the right hand-side of the operation")'
q /api/v1/query --data-urlencode 'query=sum_over_time(sum_over_time(vector(1)[10m:1s])[30d:1m])' --data-urlencode 'timeout=1ms'
err 503 timeout 'query timed out in expression evaluation'
req DELETE /api/v1/query
assert_code 405

# ---- guards: one query slot (--query-max-concurrency 1) -----------------------
SLOW='sum_over_time(sum_over_time(vector(1)[10m:1s])[40d:1m])'
curl -sS -o "$WORK/slow.json" -w '%{http_code}' -G --data-urlencode "query=$SLOW" \
    --data-urlencode 'timeout=20s' "$TIDE_URL/api/v1/query" >"$WORK/slow.code" &
slow_pid=$!
PIDS+=("$slow_pid")
sleep 0.5
# ... ingestion goes on while it runs
t0=$(date +%s%N)
req POST /api/v1/import/prometheus --data-binary "temp{room=\"c\"} 1 $((T * 1000))"
assert_code 204
write_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# ... a second query that cannot wait long enough gets 503
q /api/v1/query --data-urlencode 'query=1' --data-urlencode 'timeout=200ms'
busy=$BODY
busy_code=$CODE
slow_held=0
kill -0 "$slow_pid" 2>/dev/null && slow_held=1 # still running: it held the only slot throughout
# ... and one that can wait gets its answer once the slot frees
qi 'temp{room="c"}'
json_ok 'j["data"]["result"][0]["value"][1]=="1"'
wait "$slow_pid" || fail "slow query request failed"
if [ "$slow_held" = 1 ]; then
    assert_eq "busy status" 503 "$busy_code"
    json_ok 'j["errorType"]=="timeout" and "query_max_concurrency" in j["error"]' "$busy"
else
    log "the long query finished within 0.7 s on this build; slot checks skipped"
fi
log "a write during a long query took ${write_ms} ms"
[ "$write_ms" -lt 2000 ] || fail "a write took ${write_ms} ms while a query ran: ingestion stalled"

# ---- status and discovery endpoints ------------------------------------------
q /api/v1/status/buildinfo
assert_code 200
json_ok 'set(j["data"]) >= {"version","revision","branch","buildUser","buildDate","goVersion"} and j["data"]["version"]!=""'
q /api/v1/status/runtimeinfo
json_ok 'j["data"]["reloadConfigSuccess"] is True and j["data"]["GOMAXPROCS"]>=1 and j["data"]["storageRetention"]=="forever"'
q /api/v1/status/flags
json_ok 'j["data"]["query_max_concurrency"]=="1" and j["data"]["query_timeout"]=="2m" and j["data"]["retention"]=="0"'
q /api/v1/status/config
json_ok '"query_lookback_delta: \"5m\"" in j["data"]["yaml"]'
q /api/v1/metadata  # the # TYPE lines of the import (test_metadata.sh has the rest)
json_ok 'j["status"]=="success" and j["data"]["http_requests_total"][0]["type"]=="counter"'
q /api/v1/query_exemplars --data-urlencode 'query=up'
assert_eq "exemplars" '{"status":"success","data":[]}' "$BODY"
q /api/v1/rules
assert_eq "rules" '{"status":"success","data":{"groups":[]}}' "$BODY"
q /api/v1/alerts
assert_eq "alerts" '{"status":"success","data":{"alerts":[]}}' "$BODY"
q /api/v1/targets
assert_eq "targets" '{"status":"success","data":{"activeTargets":[],"droppedTargets":[]}}' "$BODY"
q /api/v1/format_query --data-urlencode 'query=sum(rate(x[5m]))by(a)'
assert_eq "format_query" '{"status":"success","data":"sum by (a) (rate(x[5m]))"}' "$BODY"
q /api/v1/format_query --data-urlencode 'query=sum('
err 400 bad_data 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis'

# ---- long expressions ----------------------------------------------------------------
# A GET's request line and headers must fit libmicrohttpd's 32 KiB per
# connection (http.c HTTP_CONN_MEMORY): a 30 000-byte expression answers, a
# 40 000-byte one gets 414, and the same goes through as a POST form body.
long_expr() { # long_expr N: temp{room="a",pad!="xxx...x"} with N x's: room a's series
    python3 -c 'import sys; print("temp{room=\"a\",pad!=\"" + "x" * int(sys.argv[1]) + "\"}")' "$1"
}
qi "$(long_expr 30000)"
assert_code 200
assert_contains "30 000-byte GET" '"room":"a"' "$BODY"
qi "$(long_expr 40000)"
assert_code 414
long_expr 40000 >"$WORK/long.expr"
req POST /api/v1/query --data-urlencode "query@$WORK/long.expr" --data-urlencode "time=$T"
assert_code 200
assert_contains "40 000-byte POST" '"room":"a"' "$BODY"

# ---- a big matrix -----------------------------------------------------------------
# 40 series x 1 001 steps: past 32 768 points the answer is written by two
# threads, and the second thread's half is sent from its own buffer
# (http.h's splice). Every point in order, whoever wrote it, five times.
BT=$((T + 100000))
python3 -c '
import sys
bt = int(sys.argv[1])
for k in range(40):
    for i in range(1001):
        print("big{s=\"%02d\"} %d %d" % (k, k * 100000 + i, (bt + 15 * i) * 1000))
' "$BT" >"$WORK/big.prom"
req POST /api/v1/import/prometheus --data-binary @"$WORK/big.prom"
assert_code 204
for round in 1 2 3 4 5; do
    q /api/v1/query_range --data-urlencode 'query=big' --data-urlencode "start=$BT" \
        --data-urlencode "end=$((BT + 15000))" --data-urlencode 'step=15'
    assert_code 200
    json_ok "[(r['metric']['s'], r['values']) for r in j['data']['result']] == [('%02d' % k, [[$BT + 15 * i, str(k * 100000 + i)] for i in range(1001)]) for k in range(40)]"
done

# ---- tide query ----------------------------------------------------------------
out=$("$TIDE" query --server "$TIDE_URL" --time "$((T + 1))" 'sort(temp)')
log "tide query table:"$'\n'"$out"
assert_contains "table header" "SERIES" "$out"
assert_contains "table row" 'temp{room="b"}' "$out"
assert_contains "table value" '19.25' "$out"
out=$("$TIDE" query --server "$TIDE_URL" --start "$((T - 60))" --end "$T" --step 30s 'http_requests_total{code="500"}')
assert_contains "range table" '2023-11-14T22:13:20.000Z  20' "$out"
out=$("$TIDE" query --server "$TIDE_URL" --time "$T" --format json '1+1')
assert_eq "json output" '{"status":"success","data":{"resultType":"scalar","result":[1700000000,"2"]}}' "$out"
rc=0
out=$("$TIDE" query --server "$TIDE_URL" 'sum(' 2>&1) || rc=$?
assert_eq "exit on error" 1 "$rc"
assert_contains "error text" 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis' "$out"
rc=0
"$TIDE" query --server "$TIDE_URL" --bogus x up >/dev/null 2>&1 || rc=$?
assert_eq "exit on bad flag" 2 "$rc"

tide_stop "$TIDE_PID"
log "ok"
