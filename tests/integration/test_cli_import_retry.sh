#!/usr/bin/env bash
# test_cli_import_retry.sh: `tide import` resends a request the server could
# not take now. (1) A fake server answers 503 twice, then forwards to a real
# `tide serve`: the import exits 0 after two announced retries and every line
# is stored once. (2) The server is not listening yet when the import
# starts and comes up a second later: the import still succeeds. (3) With
# --retries 0 a 503 fails at once (exit 1). (4) A 400 is never retried.
. "$(dirname "$0")/lib.sh"

tide_start "$WORK/data" - --retention 0
NOW=$(date +%s)
for i in $(seq 1 50); do echo "retry_m,host=h$((i % 5)) v=$i $(( (NOW - 600 + i) * 1000000000 ))"; done >"$WORK/in.lp"

spawn_ready flaky /health 100 python3 "$HERE/flaky_proxy.py" @PORT@ "$TIDE_URL" 2 "$WORK/flaky.count" ||
    fail "the fake server did not start"
FLAKY="http://127.0.0.1:$SPAWN_PORT"

"$TIDE" import --server "$FLAKY" --format influx --precision ns "$WORK/in.lp" 2>"$WORK/imp1.err" ||
    fail "import through two 503s failed: $(cat "$WORK/imp1.err")"
assert_eq "requests the fake server saw" 3 "$(wc -l <"$WORK/flaky.count")"
assert_eq "retries announced" 2 "$(grep -c 'HTTP 503: busy, try later; retry' "$WORK/imp1.err")"
assert_contains "summary" "imported 50, refused 0" "$(cat "$WORK/imp1.err")"
req GET '/api/v1/query' --data-urlencode 'query=count(count_over_time(retry_m_v[1h]))' -G
json_ok 'j["data"]["result"][0]["value"][1] == "5"'
req GET '/api/v1/query' --data-urlencode 'query=sum(count_over_time(retry_m_v[1h]))' -G
json_ok 'j["data"]["result"][0]["value"][1] == "50"'
log "two 503s retried, every line stored once"

# (2) Nobody listens yet; the server comes up while the import backs off.
PORT2=$(free_port)
"$TIDE" import --server "http://127.0.0.1:$PORT2" --format influx --precision ns "$WORK/in.lp" \
    2>"$WORK/imp2.err" &
IMP=$!
PIDS+=("$IMP")
sleep 1
"$TIDE" serve --data "$WORK/data2" --listen "127.0.0.1:$PORT2" --collect-host false --retention 0 \
    >"$WORK/tide2.log" 2>&1 &
PIDS+=("$!")
wait "$IMP" || fail "import against a server that came up late failed: $(cat "$WORK/imp2.err")"
assert_contains "connection retry announced" "; retry 1 of 5" "$(cat "$WORK/imp2.err")"
assert_contains "summary" "imported 50, refused 0" "$(cat "$WORK/imp2.err")"
log "a server that comes up late gets the import"

# (3) --retries 0: the 503 is final.
: >"$WORK/flaky3.count"
spawn_ready flaky3 /health 100 python3 "$HERE/flaky_proxy.py" @PORT@ "$TIDE_URL" 100 "$WORK/flaky3.count" ||
    fail "the second fake server did not start"
if "$TIDE" import --server "http://127.0.0.1:$SPAWN_PORT" --retries 0 --format influx "$WORK/in.lp" \
    2>"$WORK/imp3.err"; then
    fail "import with --retries 0 against a 503 succeeded"
fi
assert_eq "requests with --retries 0" 1 "$(wc -l <"$WORK/flaky3.count")"
log "--retries 0 does not retry"

# (4) A bad line is a 400: refused, not retried.
echo "retry_bad v=" >"$WORK/bad.lp"
if "$TIDE" import --server "$TIDE_URL" --format influx "$WORK/bad.lp" 2>"$WORK/imp4.err"; then
    fail "a bad line was not refused"
fi
if grep -q "retry" "$WORK/imp4.err"; then fail "a 400 was retried: $(cat "$WORK/imp4.err")"; fi
log "a 400 is not retried"
