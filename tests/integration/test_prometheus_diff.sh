#!/usr/bin/env bash
# test_prometheus_diff.sh: PromQL answers of Tide and of a real Prometheus
# 2.42 (Debian's `prometheus`) on the same samples, compared exactly.
#
# promql_diff.py writes a few dozen series of varied shapes (counters with
# resets, gauges, classic histograms, gaps past the lookback, NaN/±Inf,
# irregular scrapes, odd label sets) twice: as OpenMetrics, which
# `promtool tsdb create-blocks-from openmetrics` turns into blocks for our
# own Prometheus (127.0.0.1, free port, data under $WORK; a system service
# the package may have started is neither used nor touched), and as text
# exposition with timestamps for Tide's /api/v1/import/prometheus. Then
# every query of its list (each function, operator, aggregation, offset/@,
# subqueries, errors) is asked of both, instant at several times and as
# range queries, and every difference is printed. Any difference fails.
. "$(dirname "$0")/lib.sh"

PROM=$(command -v prometheus || true)
PROMTOOL=$(command -v promtool || true)
if [ -z "$PROM" ] || [ -z "$PROMTOOL" ]; then
    echo "SKIP [$TEST_NAME]: prometheus/promtool not installed (scripts/deps.sh test)"
    exit 0
fi
DIFF=(python3 "$HERE/promql_diff.py")

nseries=$("${DIFF[@]}" gen "$WORK")
log "generated $nseries series ($(wc -l <"$WORK/data.prom") samples)"

mkdir -p "$WORK/prom-data"
"$PROMTOOL" tsdb create-blocks-from openmetrics --quiet "$WORK/data.om" "$WORK/prom-data" \
    >"$WORK/promtool.log" 2>&1 || { cat "$WORK/promtool.log" >&2; fail "promtool could not create blocks"; }

printf 'global:\n  evaluation_interval: 1m\n' >"$WORK/prometheus.yml"
prom_start --storage.tsdb.retention.time=100y
log "prometheus on $PROM_URL (pid $PROM_PID)"

tide_start "$WORK/tide" - --retention 0
log "tide on $TIDE_URL"
req POST /api/v1/import/prometheus --data-binary @"$WORK/data.prom"
assert_code 204

# Same series on both sides before comparing anything else.
want=$(curl -fsS -G --data-urlencode 'query=count({__name__=~".+"})' --data-urlencode 'time=1700005400' "$PROM_URL/api/v1/query")
got=$(curl -fsS -G --data-urlencode 'query=count({__name__=~".+"})' --data-urlencode 'time=1700005400' "$TIDE_URL/api/v1/query")
assert_eq "series count" "$want" "$got"

rc=0
"${DIFF[@]}" compare "$TIDE_URL" "$PROM_URL" >"$WORK/diff.txt" || rc=$?
tail -n 1 "$WORK/diff.txt"
if [ "$rc" -ne 0 ]; then
    grep -v '^[0-9]* queries' "$WORK/diff.txt" | head -n 200 >&2
    fail "Tide and Prometheus disagree (full list: $WORK/diff.txt)"
fi

kill -TERM "$PROM_PID" 2>/dev/null || true
wait "$PROM_PID" 2>/dev/null || true
tide_stop "$TIDE_PID"
log "ok"
