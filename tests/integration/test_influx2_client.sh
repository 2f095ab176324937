#!/usr/bin/env bash
# test_influx2_client.sh: InfluxDB 2 clients work unchanged. The official
# JS client (npm @influxdata/influxdb-client + -apis, pinned in
# tests/clients-node) against a `tide serve` with a write token:
#   - its HealthAPI sees status "pass" and its SetupAPI "allowed: false"
#     (a set-up server), as InfluxDB 2 answers;
#   - 2 000 points written through its batching WriteApi (500 per request,
#     gzip, `Authorization: Token`, org and bucket) are all stored, tags with
#     ',', ' ' and '=' intact, int and float fields as Tide names them;
#   - a wrong token makes the client fail with 401;
#   - through a proxy that answers 503 (Retry-After: 1) to the first two
#     writes, the client retries and every point arrives.
. "$(dirname "$0")/lib.sh"

NODE_DIR="$SRC/tests/clients-node"
[ -d "$NODE_DIR/node_modules/@influxdata/influxdb-client" ] ||
    fail "npm packages missing in $NODE_DIR (scripts/deps.sh test runs npm ci there)"
printf 'influx-s3cret\n' >"$WORK/token"
tide_start "$WORK/data" - --retention 0 --auth-write-bearer-token-file "$WORK/token"

node "$NODE_DIR/influx_write.mjs" "$TIDE_URL" influx-s3cret votes 2000 >"$WORK/c1.out" 2>"$WORK/c1.err" ||
    fail "the InfluxDB client failed: $(cat "$WORK/c1.out" "$WORK/c1.err")"
json_ok 'j == {"health": "pass", "setupAllowed": False, "written": 2000}' "$(cat "$WORK/c1.out")"

q() { req GET /api/v1/query -G --data-urlencode "query=$1"; }
q 'sum(count_over_time(validator_vote_latency_ms[2h]))'
json_ok 'j["data"]["result"][0]["value"][1] == "2000"'
q 'count(count_over_time(validator_vote_slot[2h]))'
json_ok 'j["data"]["result"][0]["value"][1] == "10"'
q 'max(max_over_time(validator_vote_slot[2h]))'
json_ok 'j["data"]["result"][0]["value"][1] == "1999"'
q 'max_over_time(validator_vote_latency_ms{validator="v,3",region="eu west",app="influx client"}[2h])'
json_ok 'len(j["data"]["result"]) == 1 and j["data"]["result"][0]["value"][1] == "498.25"'
q 'count(count_over_time(validator_vote_latency_ms{region="us=east"}[2h]))'
json_ok 'j["data"]["result"][0]["value"][1] == "5"'
log "2000 points in batches stored, tags intact"

if node "$NODE_DIR/influx_write.mjs" "$TIDE_URL" wrong-token votes 10 >"$WORK/c2.out" 2>"$WORK/c2.err"; then
    fail "a wrong token was accepted: $(cat "$WORK/c2.out")"
fi
json_ok 'j["error"] == 401' "$(cat "$WORK/c2.out")"
log "a wrong token fails with 401"

spawn_ready proxy /health 100 python3 "$HERE/flaky_proxy.py" @PORT@ "$TIDE_URL" 2 "$WORK/proxy.count" ||
    fail "the proxy did not start"
node "$NODE_DIR/influx_write.mjs" "http://127.0.0.1:$SPAWN_PORT" influx-s3cret votes 1200 3000 \
    >"$WORK/c3.out" 2>"$WORK/c3.err" || fail "writes through 503s failed: $(cat "$WORK/c3.out" "$WORK/c3.err")"
# (the client's retry buffer may merge the batches that waited into one request)
[ "$(wc -l <"$WORK/proxy.count")" -ge 3 ] ||
    fail "want 2 refused writes and at least one more through the proxy, saw $(wc -l <"$WORK/proxy.count")"
q 'sum(count_over_time(validator_vote_latency_ms[2h]))'
json_ok 'j["data"]["result"][0]["value"][1] == "3200"'
log "503s retried by the client, every point stored"
