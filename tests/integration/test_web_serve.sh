#!/usr/bin/env bash
# test_web_serve.sh: the dashboard's server side without a browser.
#  - `/` and the hashed assets: ETag + If-None-Match → 304, no-cache for the
#    shell and immutable for hashed names, gzip only when accepted (the
#    inflated body equals the gzip'd one), 404 for unknown assets;
#  - GET /api/v1/stream: parameter errors (interval bounds, PromQL errors
#    with their position) answered 400 before streaming; new points pushed;
#    one evaluation per (query, interval) shared by every viewer
#    (tide_stream_feeds); 40 open streams on a 2-worker server leave /health
#    and writes answering (parked streams hold no worker); SIGTERM with
#    streams open stops cleanly.
source "$(dirname "$0")/lib.sh"

tide_start "$WORK/data" - --http-threads 2

# get PATH [curl args]: like req, for bodies that are not text (gzip).
get() {
    local path=$1
    shift
    HEADERS="$WORK/get.headers"
    CODE=$(curl -sS -o "$WORK/get.body" -D "$HEADERS" -w '%{http_code}' "$@" "$TIDE_URL$path") ||
        fail "curl $path failed"
}

# ---- assets ----
touch "$WORK/resp.body" # a 304 writes no body file for req to read
get / -H 'Accept-Encoding: gzip'
assert_code 200
etag=$(header_value ETag)
[ -n "$etag" ] || fail "/ has no ETag"
assert_contains "shell cache" "no-cache" "$(header_value Cache-Control)"
html=$(curl -fsS "$TIDE_URL/")
asset=$(grep -o '/assets/app-[A-Za-z0-9]*\.js' <<<"$html" | head -1)
[ -n "$asset" ] || fail "no script in /: $html"
req GET / -H "If-None-Match: \"other\", $etag"
assert_code 304
get "$asset" -H 'Accept-Encoding: gzip, deflate'
assert_code 200
assert_eq "content coding" gzip "$(header_value Content-Encoding)"
assert_contains "asset cache" immutable "$(header_value Cache-Control)"
assert_contains "asset type" javascript "$(header_value Content-Type)"
gunzip -c "$WORK/get.body" >"$WORK/asset.gunzip" || fail "the gzip'd asset does not inflate"
req GET "$asset"
assert_code 200
[ -z "$(header_value Content-Encoding)" ] || fail "gzip sent without Accept-Encoding"
cmp -s "$WORK/resp.body" "$WORK/asset.gunzip" || fail "plain and gzip'd asset differ"
req GET "$asset" -H 'Accept-Encoding: gzip;q=0, identity'
[ -z "$(header_value Content-Encoding)" ] || fail "gzip sent although refused with q=0"
req GET "$asset" -H "If-None-Match: $(header_value ETag)"
assert_code 304
req GET /assets/nope.js
assert_code 404

# ---- stream: refusals ----
req GET '/api/v1/stream?query=up&interval=0.05'
assert_code 400
assert_contains "interval error" interval "$BODY"
req GET '/api/v1/stream?query=up&interval=11'
assert_code 400
req GET '/api/v1/stream' -G --data-urlencode 'query=sum(rate(x[5m])'
assert_code 400
assert_contains "parse error" '1:16: parse error' "$BODY"
req GET '/api/v1/stream?interval=1'
assert_code 400

# ---- stream: new points, shared evaluations ----
stream() { # stream NAME QUERY INTERVAL: curl in the background into $WORK/NAME.sse
    curl -sN -G "$TIDE_URL/api/v1/stream" --data-urlencode "query=$2" --data-urlencode "interval=$3" \
        >"$WORK/$1.sse" 2>/dev/null &
    PIDS+=("$!")
}
metric() { # metric NAME: its value on /metrics
    curl -fsS "$TIDE_URL/metrics" | awk -v n="$1" '$1 == n {print $2}'
}
metric_is() { # metric_is NAME VALUE
    [ "$(metric "$1")" = "$2" ]
}
wait_for() { # wait_for DESC CMD...: poll up to 30 s (a loaded machine)
    local desc=$1 i
    shift
    for i in $(seq 1 300); do
        "$@" && return 0
        sleep 0.1
    done
    fail "timed out waiting for $desc"
}
stream a 'web_probe' 0.2
stream b 'web_probe' 0.2
stream c 'web_probe' 0.2
wait_for "3 clients" metric_is tide_stream_clients 3
assert_eq "feeds for 3 viewers of one query" 1 "$(metric tide_stream_feeds)"
stream d 'web_probe' 1
wait_for "4 clients" metric_is tide_stream_clients 4
assert_eq "feeds after another interval" 2 "$(metric tide_stream_feeds)"
printf 'web_probe{instance="p"} 4242 %s\n' "$(date +%s%3N)" |
    curl -fsS --data-binary @- "$TIDE_URL/api/v1/import/prometheus"
for s in a b c d; do
    wait_for "the new point on stream $s" grep -q '"value":"4242"' "$WORK/$s.sse"
done
grep -q '^data: {"q":0,"t":[0-9.]*,"result":\[{"metric":{"__name__":"web_probe","instance":"p"},"value":"4242"}\]}$' \
    "$WORK/a.sse" || fail "unexpected event: $(grep 4242 "$WORK/a.sse" | head -1)"
evals=$(metric tide_stream_evaluations_total)
sleep 1
evals2=$(metric tide_stream_evaluations_total)
# 0.2 s and 1 s feeds: about 6 evaluations a second, however many viewers.
[ "$((evals2 - evals))" -le 12 ] || fail "$((evals2 - evals)) evaluations in 1 s for 2 feeds"

# ---- 40 parked streams do not starve a 2-worker server ----
# One process holds the 40 streams (40 curls take seconds to spawn on a busy machine).
python3 - "$TIDE_PORT" 40 <<'PY' &
import socket, sys, time, urllib.parse
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    q = urllib.parse.urlencode({"query": f"web_probe + {i}", "interval": "10"})
    s.sendall(f"GET /api/v1/stream?{q} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    socks.append(s)
time.sleep(60)
PY
PIDS+=("$!")
wait_for "44 clients" metric_is tide_stream_clients 44
for i in 1 2 3; do
    t0=$(date +%s%N)
    curl -fsS --max-time 5 -o /dev/null "$TIDE_URL/health" || fail "/health did not answer with 40 streams open"
    printf 'web_other %s\n' "$i" | curl -fsS --max-time 5 --data-binary @- "$TIDE_URL/api/v1/import/prometheus" ||
        fail "a write did not go through with 40 streams open"
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ "$ms" -lt 5000 ] || fail "/health and a write took $ms ms with 40 streams open"
done

# ---- a stop with streams open ----
tide_stop "$TIDE_PID"
grep -q "stopped cleanly" "$TIDE_LOG" || fail "no clean stop: $(tail -3 "$TIDE_LOG")"
log "ok"
