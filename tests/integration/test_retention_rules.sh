#!/usr/bin/env bash
# test_retention_rules.sh: the `tiers:`, `retention_rules:` and `buckets:`
# configuration as `tide serve` meets it, and the InfluxDB 2 bucket mapping.
# - a valid file starts, /api/v1/status/storage lists the tiers configured;
# - a bad rule or tier stops the start with exit 2 and file:line:col;
# - /api/v2/write?bucket=B stores the series with the label bucket="B", an
#   unknown bucket is 404 and a missing one 400 (InfluxDB 2's answers);
# - queries take tier=auto|raw|NAME and answer which tier served them.
# (Retention by rule with a simulated clock, tier computation and the
# tier-vs-raw differential are unit tests: tests/unit/storage/test_retention_rules.c,
# test_tier.c, tests/unit/query/test_tier_eval.c.)
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/conf"
cat >"$WORK/conf/tide.yml" <<'YML'
retention: 30d
tiers:
  - {resolution: 5m, retention: 90d}
  - {resolution: 1h, retention: 2y, name: hourly}
buckets:
  vote-latencies-raw: 24h
  vote-latencies-5m: {retention: 7d, tiers: {5m: 30d}}
retention_rules:
  - {match: '{__name__=~"pod_.*"}', retention: 30d}
  - {match: '{job="node"}', retention: 90d, tiers: {hourly: 5y}}
YML

tide_start "$WORK/data" - --config "$WORK/conf/tide.yml"
req GET /api/v1/status/storage
assert_code 200
json_ok '[t["name"] for t in j["data"]["tiers"]] == ["raw", "5m", "hourly"]'
json_ok '[t["resolution"] for t in j["data"]["tiers"]] == [0, 300000, 3600000]'
json_ok 'j["data"]["tiers"][2]["retention"] == 5 * 365 * 86400000' # the longest any rule gives
log "tiers configured: raw, 5m, hourly"

# InfluxDB 2 writes into buckets.
NOW_S=$(date +%s)
req POST "/api/v2/write?org=o&bucket=vote-latencies-raw&precision=s" --data-binary "vote,validator=v1 latency=12.5 $NOW_S"
assert_code 204
req POST "/api/v2/write?org=o&bucket=vote-latencies-5m&precision=s" --data-binary "vote,bucket=spoofed,validator=v1 latency=13 $NOW_S"
assert_code 204
req POST "/api/v2/write?org=o&bucket=nope&precision=s" --data-binary "vote latency=1 $NOW_S"
assert_code 404
json_ok 'j == {"code": "not found", "message": "bucket \"nope\" not found"}'
req POST "/api/v2/write?org=o&precision=s" --data-binary "vote latency=1 $NOW_S"
assert_code 400
req GET "/api/v1/series" --get --data-urlencode 'match[]=vote_latency'
json_ok 'sorted(s["bucket"] for s in j["data"]) == ["vote-latencies-5m", "vote-latencies-raw"]'
json_ok 'all(set(s) == {"__name__", "bucket", "validator"} for s in j["data"])'
log "bucket= becomes the label bucket; unknown 404, missing 400"

# The tier parameter and the answer's tier field.
req GET /api/v1/query_range --get --data-urlencode 'query=avg_over_time(vote_latency[1h])' \
    --data-urlencode "start=$(((NOW_S / 3600 - 2) * 3600))" --data-urlencode "end=$(((NOW_S / 3600 + 1) * 3600))" \
    --data-urlencode step=3600 --data-urlencode tier=auto
assert_code 200
json_ok 'j["status"] == "success" and j["tier"] == "raw"' # all in the head: rolled up from raw samples
req GET /api/v1/query --get --data-urlencode 'query=vote_latency'
json_ok '"tier" not in j' # without tier=, Prometheus' answer unchanged
req GET /api/v1/query --get --data-urlencode 'query=vote_latency' --data-urlencode tier=raw
json_ok 'j["tier"] == "raw" and len(j["data"]["result"]) == 2'
req GET /api/v1/query --get --data-urlencode 'query=vote_latency' --data-urlencode tier=9m
assert_code 400
assert_contains "tier=9m" "unknown tier" "$BODY"
tide_stop "$TIDE_PID"
log "tier=auto|raw|NAME accepted, unknown refused"

# Configuration errors stop the start, naming the place.
bad_config() {
    printf '%s\n' "$1" >"$WORK/conf/bad.yml"
    local out rc=0
    out=$("$TIDE" serve --data "$WORK/data-bad" --listen 127.0.0.1:0 --config "$WORK/conf/bad.yml" 2>&1) || rc=$?
    [ "$rc" -eq 2 ] || fail "bad config ($1) exited $rc, want 2: $out"
    assert_contains "bad config" "$2" "$out"
}
bad_config $'tiers:\n  - {resolution: 7m}' "bad.yml:2:"
bad_config $'retention_rules:\n  - {match: \'{a=}\', retention: 1d}' "bad selector"
bad_config $'retention_rules:\n  - {match: up}' 'bad.yml:2:5: retention_rules: missing key'
bad_config $'buckets:\n  b: soon' "bad.yml:2:"
log "bad tiers/rules/buckets refused with file:line:col, exit 2"
