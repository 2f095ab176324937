#!/usr/bin/env bash
# test_tiers_cleanup.sh: POST /api/v1/admin/cleanup, `tide admin cleanup` and
# the per-job/instance and per-tier rows of /api/v1/status/storage.
# Two jobs write samples 10 days old and 1 day old; a dry run counts exactly
# the old ones and deletes nothing, match[] narrows it to one job, the real
# run deletes exactly them (the recent ones stay), and the status page
# splits series, samples and bytes by job/instance (bytes summing to
# bytesOnDisk) before and after a head cut into blocks.
. "$(dirname "$0")/lib.sh"

NOW_MS=$(($(date +%s) * 1000))
OLD=$((NOW_MS - 10 * 86400000))
NEW=$((NOW_MS - 86400000))
DATA="$WORK/data"
ALL='{__name__=~".+"}'

tide_start "$DATA" -
: >"$WORK/in.jsonl"
for job in a b; do
    for inst in i1 i2 i3; do
        ts_old="" ts_new="" vs=""
        for k in $(seq 0 9); do
            ts_old+="${ts_old:+,}$((OLD + k * 10000))"
            ts_new+="${ts_new:+,}$((NEW + k * 10000))"
            vs+="${vs:+,}$k"
        done
        echo "{\"metric\":{\"__name__\":\"m\",\"job\":\"$job\",\"instance\":\"$inst\"},\"values\":[$vs],\"timestamps\":[$ts_old]}" >>"$WORK/in.jsonl"
        echo "{\"metric\":{\"__name__\":\"m\",\"job\":\"$job\",\"instance\":\"$inst\"},\"values\":[$vs],\"timestamps\":[$ts_new]}" >>"$WORK/in.jsonl"
    done
done
req POST /api/v1/import --data-binary @"$WORK/in.jsonl"
assert_code 204

# Stats: six groups of one series and 20 samples each, bytes adding up.
check_status() {
    req GET /api/v1/status/storage
    assert_code 200
    json_ok 'len(j["data"]["byJobInstance"]) == 6'
    json_ok 'all(g["series"] == 1 and g["samples"] == '"$1"' for g in j["data"]["byJobInstance"])'
    json_ok 'sorted((g["job"], g["instance"]) for g in j["data"]["byJobInstance"]) == [("a","i1"),("a","i2"),("a","i3"),("b","i1"),("b","i2"),("b","i3")]'
    json_ok 'abs(sum(g["bytes"] for g in j["data"]["byJobInstance"]) - j["data"]["bytesOnDisk"]) <= 0.01 * j["data"]["bytesOnDisk"]'
    json_ok 'all(g["minTime"] <= g["maxTime"] for g in j["data"]["byJobInstance"])'
    json_ok 'j["data"]["tiers"][0]["name"] == "raw" and j["data"]["tiers"][0]["samples"] == j["data"]["samples"]'
    json_ok '"partitions" in j["data"] and "totals" in j["data"]' # the old fields stay
}
check_status 20
log "status: six job/instance rows, bytes sum to bytesOnDisk (head in the WAL)"

# The head spans ten days, more than head_max_age: the server cuts it into
# blocks within a second of starting. Wait for that, so the cleanups below
# leave tombstones in blocks (a cleanup before the cut would delete from the
# head instead, and which came first would be a race).
poll 30 /api/v1/status/storage 'j["data"]["head"]["samples"] == 0 and j["data"]["blockSamples"] == 120'

# Parameter errors.
req POST /api/v1/admin/cleanup
assert_code 400
req POST /api/v1/admin/cleanup --data older_than=soon
assert_code 400
req POST /api/v1/admin/cleanup --data older_than=7d --data dry_run=maybe
assert_code 400

# Dry run: counts the 60 old samples of 6 series, deletes nothing.
export_canon "$ALL" >"$WORK/before.canon"
req POST /api/v1/admin/cleanup --data older_than=7d --data dry_run=true
assert_code 200
json_ok 'j["status"] == "success" and j["data"] == {"dryRun": True, "series": 6, "samples": 60}'
export_canon "$ALL" >"$WORK/after_dry.canon"
diff -u "$WORK/before.canon" "$WORK/after_dry.canon" >&2 || fail "a dry run changed the data"

# The CLI, dry run with --match: job a only.
out=$(TIDE_SERVER=$TIDE_URL "$TIDE" admin cleanup --older-than 7d --match '{job="a"}' --dry-run) ||
    fail "tide admin cleanup --dry-run failed"
assert_eq "cli dry run" "would delete 30 samples of 3 series older than 7d (dry run)" "$out"
"$TIDE" admin cleanup --server "$TIDE_URL" >/dev/null 2>&1 && fail "no --older-than accepted"
[ $? -eq 2 ] || true

# Real run through the CLI for job a, then the API for the rest.
out=$("$TIDE" admin cleanup --server "$TIDE_URL" --older-than 7d --match '{job="a"}') ||
    fail "tide admin cleanup failed"
assert_eq "cli run" "deleted 30 samples of 3 series older than 7d" "$out"
req POST /api/v1/admin/cleanup --data older_than=7d --data dry_run=true
json_ok 'j["data"] == {"dryRun": True, "series": 3, "samples": 30}'
req POST /api/v1/admin/cleanup --data older_than=7d
json_ok 'j["data"] == {"dryRun": False, "series": 3, "samples": 30}'
req POST /api/v1/admin/cleanup --data older_than=7d --data dry_run=true
json_ok 'j["data"] == {"dryRun": True, "series": 0, "samples": 0}'
export_canon "$ALL" >"$WORK/after.canon"
n_old=$(grep -c "$OLD=" "$WORK/after.canon" || true)
n_new=$(grep -c "$NEW=" "$WORK/after.canon" || true)
assert_eq "series with old samples left" 0 "$n_old"
assert_eq "series with recent samples left" 6 "$n_new"
log "cleanup: dry run counted 60/6, deleted exactly the old samples"

# After a restart the data is in blocks: bytes are apportioned from the
# block files and still add up. The head spans ten days, more than
# head_max_age, so the server had already cut it into blocks (waited for
# above) and the cleanup left tombstones: the status counts block samples from the block index, deleted
# ones included until compaction (once a minute) rewrites the blocks, while
# reads never see them.
tide_stop "$TIDE_PID"
tide_start "$DATA" -
req GET /api/v1/status/storage
json_ok 'j["data"]["blockSamples"] == 120 and j["data"]["head"]["samples"] == 0'
check_status 20
export_canon "$ALL" >"$WORK/restarted.canon"
diff -u "$WORK/after.canon" "$WORK/restarted.canon" >&2 || fail "the cleanup did not survive a restart"
log "status from blocks: per-group samples and bytes"
