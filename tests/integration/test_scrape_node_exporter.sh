#!/usr/bin/env bash
# test_scrape_node_exporter.sh: Debian's prometheus-node-exporter scraped
# by Tide and by Prometheus 2.42 at once, with the same scrape_configs
# (copied as is into both config files, scrape_interval 1s, a target label
# and a metric_relabel_configs rule). Proves:
#   - both store the same series: the same label sets (names and labels,
#     values aside) under {job="node"} at the same instant, meta series
#     (up, scrape_duration_seconds, scrape_samples_scraped,
#     scrape_samples_post_metric_relabeling, scrape_series_added) included;
#   - `up` is 1 on both, and scrape_samples_post_metric_relabeling is below
#     scrape_samples_scraped on both (the go_* drop rule did its work);
#   - after the exporter is stopped, `up` is 0 on both and every node_*
#     series is stale on both (an instant query finds none: stale markers,
#     not the 5-minute lookback).
. "$(dirname "$0")/lib.sh"

PROM=$(command -v prometheus || true)
NE=$(command -v prometheus-node-exporter || true)
[ -n "$PROM" ] || fail "prometheus is not installed (scripts/deps.sh test)"
[ -n "$NE" ] || fail "prometheus-node-exporter is not installed (scripts/deps.sh test)"

# A small, stable set of collectors keeps the comparison about scraping.
spawn_ready node_exporter /metrics 100 "$NE" --web.listen-address=127.0.0.1:@PORT@ \
    --collector.disable-defaults --collector.cpu --collector.meminfo --collector.loadavg \
    --collector.time --collector.uname --collector.filefd ||
    fail "node exporter did not start"
NE_PID=$SPAWN_PID
NE_ADDR="127.0.0.1:$SPAWN_PORT"
log "node exporter on $NE_ADDR (pid $NE_PID)"

scrape_configs() {
    cat <<EOF
scrape_configs:
  - job_name: node
    scrape_interval: 1s
    scrape_timeout: 900ms
    static_configs:
      - targets: ['$NE_ADDR']
        labels:
          env: test
    relabel_configs:
      - source_labels: [__address__]
        regex: '([^:]+):\d+'
        target_label: host
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'go_(gc|memstats)_.*'
        action: drop
EOF
}
{
    printf 'global:\n  scrape_interval: 1s\n  evaluation_interval: 1m\n'
    scrape_configs
} >"$WORK/prometheus.yml"
cp "$WORK/prometheus.yml" "$WORK/tide.yml"

mkdir -p "$WORK/prom-data"
prom_start
log "prometheus on $PROM_URL"
tide_start "$WORK/tide" - --config "$WORK/tide.yml"
log "tide on $TIDE_URL"

q() { # q URL QUERY [TIME]: the instant query's result list as JSON
    local args=(--data-urlencode "query=$2")
    [ -z "${3:-}" ] || args+=(--data-urlencode "time=$3")
    curl -fsS -G "${args[@]}" "$1/api/v1/query" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["data"]["result"]))'
}
value_of() { # value_of URL QUERY: the first value, or "none" (no Python: the machine may be busy)
    local body
    body=$(curl -fsS -G --data-urlencode "query=$2" "$1/api/v1/query")
    if [[ $body =~ \"value\":\[[0-9.e+]+,\"([^\"]*)\"\] ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo none
    fi
}
wait_value() { # wait_value URL QUERY WANT SECONDS
    local i
    for i in $(seq 1 $(($4 * 5))); do
        [ "$(value_of "$1" "$2")" = "$3" ] && return 0
        sleep 0.2
    done
    fail "$2 on $1 is $(value_of "$1" "$2"), want $3 within $4 s"
}

wait_value "$PROM_URL" 'up{job="node"}' 1 15
wait_value "$TIDE_URL" 'up{job="node"}' 1 15
sleep 2.5 # a few scrapes on both, so scrape_series_added has settled

label_sets() { # label_sets URL TIME: sorted label sets without values of __name__-less meta
    q "$1" '{job="node"}' "$2" | python3 -c '
import json, sys
for s in sorted(json.dumps(r["metric"], sort_keys=True) for r in json.load(sys.stdin)):
    print(s)'
}
t=$(python3 -c 'import time; print(f"{time.time() - 0.5:.3f}")')
label_sets "$PROM_URL" "$t" >"$WORK/prom.sets"
label_sets "$TIDE_URL" "$t" >"$WORK/tide.sets"
n=$(wc -l <"$WORK/prom.sets")
[ "$n" -gt 50 ] || fail "prometheus has only $n series for job node"
if ! diff "$WORK/prom.sets" "$WORK/tide.sets" >"$WORK/sets.diff"; then
    head -n 40 "$WORK/sets.diff" >&2
    fail "Tide's label sets differ from Prometheus' (< prometheus, > tide; $WORK/sets.diff)"
fi
log "same $n label sets on both"
grep -q '"host": "127.0.0.1"' "$WORK/tide.sets" || fail "relabel_configs' host label is missing"
grep -q '"env": "test"' "$WORK/tide.sets" || fail "the static_configs label env is missing"
if grep -q '"go_memstats_' "$WORK/tide.sets"; then fail "metric_relabel_configs did not drop go_memstats_*"; fi

for side in "$PROM_URL" "$TIDE_URL"; do
    scraped=$(value_of "$side" 'scrape_samples_scraped{job="node"}')
    post=$(value_of "$side" 'scrape_samples_post_metric_relabeling{job="node"}')
    [ "$post" != none ] && [ "$scraped" != none ] && [ "${post%.*}" -lt "${scraped%.*}" ] ||
        fail "$side: post_metric_relabeling $post is not below scraped $scraped"
done

# The exporter goes away: up 0 and every node_* series stale, on both.
kill -TERM "$NE_PID"
wait "$NE_PID" 2>/dev/null || true
wait_value "$PROM_URL" 'up{job="node"}' 0 15
wait_value "$TIDE_URL" 'up{job="node"}' 0 15
for side in "$PROM_URL" "$TIDE_URL"; do
    left=$(value_of "$side" 'count({job="node",__name__=~"node_.*"})')
    [ "$left" = none ] || fail "$side: $left node_* series still answer after the exporter stopped"
done
log "up 0 and node_* stale on both"

kill -TERM "$PROM_PID" 2>/dev/null || true
wait "$PROM_PID" 2>/dev/null || true
tide_stop "$TIDE_PID"
log "ok"
