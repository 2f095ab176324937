#!/usr/bin/env bash
# test_promtool.sh: Prometheus' own client, `promtool query instant|range|
# series|labels` (Debian's `prometheus` package, Go's client_golang API
# decoder), run against Tide as it would be against a Prometheus server.
# Each output is checked line by line: promtool decodes every result type,
# formats values and timestamps itself, and prints errors from the envelope
# ("query error: bad_data: ..."), so a shape the Go client cannot read fails
# here.
. "$(dirname "$0")/lib.sh"

PROMTOOL=$(command -v promtool || true)
if [ -z "$PROMTOOL" ]; then
    echo "SKIP [$TEST_NAME]: promtool not installed (scripts/deps.sh test installs prometheus)"
    exit 0
fi

tide_start "$WORK/data" - --retention 0
log "tide on $TIDE_URL"
T=1700000000
req POST /api/v1/import/prometheus --data-binary "up{job=\"a\",instance=\"x\"} 1 ${T}000
up{job=\"b\",instance=\"y\"} 0 ${T}000
up{job=\"b\",instance=\"y\"} 0.5 $((T + 30))000
temp_celsius{room=\"hall\"} 21.25 ${T}500"
assert_code 204

pt() { # pt ARGS...: run promtool, capture stdout+stderr in OUT and status in RC
    RC=0
    OUT=$("$PROMTOOL" "$@" 2>&1) || RC=$?
}
expect() { # expect WHAT WANT (after pt)
    [ "$RC" -eq 0 ] || fail "$1: promtool exited $RC: $OUT"
    assert_eq "$1" "$2" "$OUT"
}

pt query instant --time="$T" "$TIDE_URL" 'up'
expect "instant vector" 'up{instance="x", job="a"} => 1 @[1700000000]
up{instance="y", job="b"} => 0 @[1700000000]'

pt query instant --time="$T.5" "$TIDE_URL" 'temp_celsius * 2'
expect "instant, fractional time" '{room="hall"} => 42.5 @[1700000000.5]'

pt query instant --time="$T" "$TIDE_URL" 'sum(up) + 0.5'
expect "aggregation" '{} => 1.5 @[1700000000]'

pt query instant --time="$T" "$TIDE_URL" 'scalar(up{job="a"}) / 4'
expect "scalar" 'scalar: 0.25 @[1700000000]'

# No string result here: client_golang 1.14 (promtool 2.42) cannot decode
# resultType "string" from Prometheus itself either; test_query_api.sh and
# test_prometheus_diff.sh check that shape.

pt query instant --time="$((T + 30))" "$TIDE_URL" 'up{job="b"}[1m]'
expect "range vector" 'up{instance="y", job="b"} =>
0 @[1700000000]
0.5 @[1700000030]'

pt query instant --time="$T" "$TIDE_URL" 'absent(nothing)'
expect "absent" '{} => 1 @[1700000000]'

pt query range --start="$T" --end="$((T + 60))" --step=30s "$TIDE_URL" 'up'
expect "range query" 'up{instance="x", job="a"} =>
1 @[1700000000]
1 @[1700000030]
1 @[1700000060]
up{instance="y", job="b"} =>
0 @[1700000000]
0.5 @[1700000030]
0.5 @[1700000060]'

pt query range --start=2023-11-14T22:13:20Z --end=2023-11-14T22:14:20Z --step=1m "$TIDE_URL" 'sum by (job) (up)'
expect "range query, RFC 3339" '{job="a"} =>
1 @[1700000000]
1 @[1700000060]
{job="b"} =>
0 @[1700000000]
0.5 @[1700000060]'

pt query series --match='up{job="b"}' --match='temp_celsius' --start="$((T - 100))" --end="$((T + 100))" "$TIDE_URL"
expect "series" '{__name__="temp_celsius", room="hall"}
{__name__="up", instance="y", job="b"}'

pt query labels --start="$((T - 100))" --end="$((T + 100))" "$TIDE_URL" job
expect "label values" 'a
b'

pt query labels --start="$((T - 100))" --end="$((T + 100))" "$TIDE_URL" __name__
expect "metric names" 'temp_celsius
up'

pt query instant -o json --time="$T" "$TIDE_URL" 'up{job="a"}'
expect "json output" '[{"metric":{"__name__":"up","instance":"x","job":"a"},"value":[1700000000,"1"]}]'

pt query instant --time="$T" "$TIDE_URL" 'up +'
[ "$RC" -ne 0 ] || fail "a parse error should make promtool fail"
assert_contains "parse error" 'query error: bad_data: invalid parameter "query": 1:5: parse error: unexpected end of input' "$OUT"

pt query range --start="$T" --end="$((T + 60))" --step=1ms "$TIDE_URL" 'up'
[ "$RC" -ne 0 ] || fail "too many points should make promtool fail"
assert_contains "range error" 'query error: bad_data: exceeded maximum resolution of 11,000 points per timeseries' "$OUT"

pt query instant --time="$T" "$TIDE_URL" 'up + on() up'
[ "$RC" -ne 0 ] || fail "an execution error should make promtool fail"
assert_contains "execution error" 'query error: execution: ' "$OUT"

tide_stop "$TIDE_PID"
log "ok"
