#!/usr/bin/env bash
# test_rules_backfill.sh: `tide rules backfill` (issue 11 item 5) over a
# history imported before the rule existed:
#   - --dry-run reports series, samples and examples and writes nothing;
#   - a real run writes the rule's samples at the group's evaluation times,
#     with the rule's name and labels, queryable in the past;
#   - a second run writes nothing new (everything "existing");
#   - --match and --rule select; an unknown rule is an error (exit 1);
#   - `backfill: true`: a recording rule added by a reload has its history
#     filled in the background, with its progress in /api/v1/rules.
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/conf"
cat >"$WORK/conf/tide.yml" <<'YML'
rule_files: [rules.yml]
YML
cat >"$WORK/conf/rules.yml" <<'YML'
groups:
  - name: rollup
    interval: 30s
    rules:
      - record: job:v:sum
        expr: sum by (job) (v)
        labels: {src: backfill}
      - record: job:v:max
        expr: max by (job) (v)
YML
tide_start "$WORK/data" - --config "$WORK/conf/tide.yml"
now=$(date +%s)
from=$((now - 3600))
to=$((now - 900))
# History: v for two instances every 60 s over the last hour.
python3 - "$now" >"$WORK/hist.jsonl" <<'PY'
import json, sys
now = int(sys.argv[1])
ts = [(now - 3600 + 60 * i) * 1000 for i in range(60)]
for inst, base in (("i1", 1), ("i2", 10)):
    print(json.dumps({"metric": {"__name__": "v", "job": "a", "instance": inst},
                      "values": [base + i for i in range(60)], "timestamps": ts}))
PY
req POST /api/v1/import --data-binary "@$WORK/hist.jsonl"
assert_code 204

bf() { # bf ARGS...: run tide rules backfill against the server; OUT, RC
    RC=0
    OUT=$("$TIDE" rules backfill --server "$TIDE_URL" "$@" 2>&1) || RC=$?
}
past="/api/v1/query?query=job:v:sum&time=$((now - 1800))"

bf --from "$from" --to "$to" --rule job:v:sum --dry-run
[ "$RC" -eq 0 ] || fail "dry run exited $RC: $OUT"
json_ok 'j["data"]["dryRun"] and len(j["data"]["rules"]) == 1 and j["data"]["rules"][0]["series"] == 1 and j["data"]["rules"][0]["written"] > 80 and j["data"]["rules"][0]["existing"] == 0 and "job:v:sum" in j["data"]["rules"][0]["examples"][0]' "$OUT"
want=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["rules"][0]["written"])')
req GET "$past"
json_ok 'j["data"]["result"] == []'

bf --from "$from" --to "$to" --rule job:v:sum
[ "$RC" -eq 0 ] || fail "backfill exited $RC: $OUT"
json_ok 'not j["data"]["dryRun"] and j["data"]["rules"][0]["written"] == '"$want" "$OUT"
# The recorded value is what sum(v) gives at the recorded sample's own time.
req GET "$past"
json_ok 'len(j["data"]["result"]) == 1 and j["data"]["result"][0]["metric"] == {"__name__": "job:v:sum", "job": "a", "src": "backfill"}'
got=$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')
req GET "/api/v1/query?query=timestamp(job:v:sum)&time=$((now - 1800))"
ts=$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')
req GET "/api/v1/query?query=sum(v)&time=$ts"
json_ok 'j["data"]["result"][0]["value"][1] == "'"$got"'"'
# Samples sit on the group's evaluation grid (30 s apart).
req GET "/api/v1/query?query=$(python3 -c 'import urllib.parse; print(urllib.parse.quote("count_over_time(job:v:sum[10m])"))')&time=$((now - 1800))"
json_ok 'j["data"]["result"][0]["value"][1] == "20"'

# Idempotent.
bf --from "$from" --to "$to" --rule job:v:sum
[ "$RC" -eq 0 ] || fail "second backfill exited $RC: $OUT"
json_ok 'j["data"]["rules"][0]["written"] == 0 and j["data"]["rules"][0]["existing"] == '"$want" "$OUT"

# Selection.
bf --from "$from" --to "$to" --group rollup --match 'job:v:max{job="zzz"}' --dry-run
[ "$RC" -eq 0 ] || fail "match exited $RC: $OUT"
json_ok '[(r["rule"], r["series"]) for r in j["data"]["rules"]] == [("job:v:sum", 0), ("job:v:max", 0)]' "$OUT"
bf --from "$from" --to "$to" --rule nope
[ "$RC" -eq 1 ] || fail "unknown rule: want exit 1, got $RC: $OUT"
assert_contains "unknown rule" "no recording rule matches" "$OUT"
bf --from "$from"
[ "$RC" -eq 2 ] || fail "missing --to: want exit 2, got $RC"

# backfill: true: add a group with a new rule, reload, wait for "done".
cat >>"$WORK/conf/rules.yml" <<'YML'
  - name: auto
    interval: 1m
    backfill: true
    rules:
      - record: job:v:min
        expr: min by (job) (v)
YML
req POST /-/reload
assert_code 200
for _ in $(seq 1 150); do
    req GET "/api/v1/rules?type=record"
    printf '%s' "$BODY" | "${JSONTOOL[@]}" check '[r["backfill"]["state"] for g in j["data"]["groups"] for r in g["rules"] if r["name"] == "job:v:min"] == ["done"]' 2>/dev/null && break
    sleep 0.2
done
json_ok '[(r["backfill"]["state"], r["backfill"]["progress"]) for g in j["data"]["groups"] for r in g["rules"] if r["name"] == "job:v:min"] == [("done", 1)]'
json_ok 'all("backfill" not in r for g in j["data"]["groups"] if g["name"] == "rollup" for r in g["rules"])'
req GET "/api/v1/query?query=job:v:min&time=$((now - 1800))"
json_ok 'len(j["data"]["result"]) == 1 and j["data"]["result"][0]["metric"] == {"__name__": "job:v:min", "job": "a"}'
log ok
