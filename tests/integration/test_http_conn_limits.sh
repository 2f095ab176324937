#!/usr/bin/env bash
# test_http_conn_limits.sh: ~1 100 idle and ~100 slow-header connections from
# one client (127.0.0.1) do not lock out /health and /write.
#
# Before the fix libmicrohttpd kept at most 1 020 connections (select's
# FD_SETSIZE default) and stopped accepting: /health timed out. Now
# (docs/config.md#http-connections) the client's own longest-waiting
# connections make room past http_max_connections_per_client, and
# connections that never complete their headers are closed after
# http_header_timeout. Proves:
#   - /health and a 1-line /write from another process answer within 5 s
#     while the flood is held, and the written point reads back;
#   - every slow-header connection is closed by the server (header timeout 2 s,
#     checked within the 12 s the flood holds);
#   - at most http_max_connections_per_client (512) flood connections stay open.
source "$(dirname "$0")/lib.sh"

tide_start "$WORK/data" - --http-header-timeout 2s

python3 "$HERE/conn_flood.py" "$TIDE_PORT" 1100 100 12 "$WORK/flood.ready" >"$WORK/flood.out" 2>"$WORK/flood.log" &
FLOOD=$!
PIDS+=("$FLOOD")
for _ in $(seq 1 300); do
    [ -e "$WORK/flood.ready" ] && break
    kill -0 "$FLOOD" 2>/dev/null || fail "conn_flood.py died: $(cat "$WORK/flood.log")"
    sleep 0.1
done
[ -e "$WORK/flood.ready" ] || fail "conn_flood.py did not open its connections within 30 s"
log "1100 idle + 100 slow-header connections open"

t0=$(date +%s%N)
curl -fsS -o /dev/null --max-time 5 "$TIDE_URL/health" || fail "/health did not answer within 5 s under the flood"
t1=$(date +%s%N)
req POST /write --max-time 5 --data-binary 'flood_probe,host=a value=42 1700000000000000000'
assert_code 204
t2=$(date +%s%N)
log "under the flood: /health $(((t1 - t0) / 1000000)) ms, /write $(((t2 - t1) / 1000000)) ms"

wait "$FLOOD" || fail "conn_flood.py failed: $(cat "$WORK/flood.log")"
out=$(cat "$WORK/flood.out")
log "flood: $out"
json_ok 'j["slow_closed"] == 100' "$out"
json_ok 'j["still_open"] <= 512' "$out"

req GET /api/v1/query --get --data-urlencode 'query=flood_probe' --data-urlencode 'time=1700000000'
assert_code 200
json_ok 'j["data"]["result"][0]["value"][1] == "42"'

# Keep-alive still works: two requests on one connection.
curl -fsS -o /dev/null -o /dev/null --max-time 5 "$TIDE_URL/health" "$TIDE_URL/health" ||
    fail "keep-alive requests failed"
tide_stop "$TIDE_PID"
log "ok"
