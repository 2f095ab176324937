#!/usr/bin/env bash
# test_http_slow_queries.sh: slow PromQL queries do not hold up /health and
# writes.
#
# Before the fix a query ran on an HTTP worker thread, also while it waited
# for a query slot, so more slow queries than http_threads left no worker
# for /health or /write (7-17 s). Now query handlers run on the query pool
# with the connection suspended (docs/api/README.md#slow-queries). With
# 2 workers, 1 query slot and 4 slow range queries (about 1 s each alone in
# the sanitizer build) plus one with timeout=300ms, this proves:
#   - /health and a 1-line /write answer within 5 s while the queries run;
#   - the 4 queries all succeed with the answer the same query gets alone
#     (100 series x a median of 179-180 per window), although they waited
#     longer than http_idle_timeout (1 s) with their connection suspended;
#   - the one with timeout=300ms gets Prometheus' 503 "timeout" error, and
#     within 5 s, whether its deadline passes while it waits for the slot
#     (the slot is not handed out in arrival order) or while it evaluates;
#   - SIGTERM with queries in flight answers each (200, or 503 "unavailable"
#     for those still waiting for the slot) and exits 0.
source "$(dirname "$0")/lib.sh"

tide_start "$WORK/data" - --http-threads 2 --query-max-concurrency 1 --http-idle-timeout 1s

python3 - "$WORK/body.lp" <<'PY'
import sys
base = 1700000000
with open(sys.argv[1], "w") as f:
    for s in range(100):
        f.write("".join(f"slow_m,s=s{s} value={i % 360} {(base + i * 10) * 10**9}\n" for i in range(3000)))
PY
req POST /write --data-binary "@$WORK/body.lp"
assert_code 204

Q='sum(quantile_over_time(0.5, slow_m[1h]))'
slow_query() { # N [extra curl args]: one slow range query in the background
    local n=$1
    shift
    curl -sS -o "$WORK/q$n.body" -w '%{http_code} %{time_total}' --max-time 120 -G "$TIDE_URL/api/v1/query_range" \
        --data-urlencode "query=$Q" --data-urlencode start=1700003600 --data-urlencode end=1700030000 \
        --data-urlencode step=60 "$@" >"$WORK/q$n.code" 2>"$WORK/q$n.err" &
    QPIDS+=($!)
    PIDS+=($!)
}
QPIDS=()
for n in 1 2 3 4; do slow_query "$n"; done
# The short-deadline query last, once the others hold or wait for the slot.
sleep 0.5
slow_query 5 --data-urlencode timeout=300ms
sleep 0.5

t0=$(date +%s%N)
curl -fsS -o /dev/null --max-time 5 "$TIDE_URL/health" || fail "/health did not answer within 5 s during slow queries"
t1=$(date +%s%N)
req POST /write --max-time 5 --data-binary 'probe value=1'
assert_code 204
t2=$(date +%s%N)
log "during 5 slow queries: /health $(((t1 - t0) / 1000000)) ms, /write $(((t2 - t1) / 1000000)) ms"

for pid in "${QPIDS[@]}"; do wait "$pid" || fail "a query's curl failed: $(cat "$WORK"/q*.err)"; done
for n in 1 2 3 4; do
    assert_eq "query $n status" 200 "$(cut -d' ' -f1 "$WORK/q$n.code")"
    cmp -s "$WORK/q1.body" "$WORK/q$n.body" || fail "query $n answered differently from query 1"
done
json_ok 'j["status"] == "success" and len(j["data"]["result"][0]["values"]) == 441 and all(17900 <= float(v[1]) <= 18000 for v in j["data"]["result"][0]["values"])' "$(cat "$WORK/q1.body")"
# The same query alone on the idle server gives the same bytes.
curl -fsS -o "$WORK/q6.body" --max-time 120 -G "$TIDE_URL/api/v1/query_range" --data-urlencode "query=$Q" \
    --data-urlencode start=1700003600 --data-urlencode end=1700030000 --data-urlencode step=60 ||
    fail "query alone failed"
cmp -s "$WORK/q1.body" "$WORK/q6.body" || fail "queries under load answered differently from alone"
assert_eq "query 5 (timeout=300ms) status" 503 "$(cut -d' ' -f1 "$WORK/q5.code")"
awk '{ exit !($2 < 5) }' "$WORK/q5.code" || fail "the timeout=300ms query answered after $(cut -d' ' -f2 "$WORK/q5.code") s"
json_ok 'j["status"] == "error" and j["errorType"] == "timeout"' "$(cat "$WORK/q5.body")"
log "query 5 after $(cut -d' ' -f2 "$WORK/q5.code") s: $(cat "$WORK/q5.body")"
# SIGTERM with 3 slow queries in flight: the one evaluating finishes and is
# answered, the ones waiting for the slot get 503 "unavailable" at once,
# none sees a dropped connection, and the process exits 0.
QPIDS=()
for n in 7 8 9; do slow_query "$n"; done
sleep 1
tide_stop "$TIDE_PID"
for pid in "${QPIDS[@]}"; do wait "$pid" || fail "a query's curl failed at shutdown: $(cat "$WORK"/q[789].err)"; done
for n in 7 8 9; do
    code=$(cut -d' ' -f1 "$WORK/q$n.code")
    case "$code" in
    200) cmp -s "$WORK/q1.body" "$WORK/q$n.body" || fail "query $n answered differently at shutdown" ;;
    503) json_ok 'j["status"] == "error" and j["errorType"] == "unavailable"' "$(cat "$WORK/q$n.body")" ;;
    *) fail "query $n at shutdown: status $code, want 200 or 503" ;;
    esac
    log "query $n at shutdown: $code after $(cut -d' ' -f2 "$WORK/q$n.code") s"
done
log "ok"
