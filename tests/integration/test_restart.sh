#!/usr/bin/env bash
# test_restart.sh: data survives clean restarts. Write through /write and
# /api/v1/import, SIGTERM (exit status 0 required), restart on the same data
# directory, compare the export exactly; overwrite and add samples, restart
# again, compare again. The first server runs with head_cut_on_stop, so its
# shutdown cuts the head into blocks; the later ones use the default (the
# head stays in the WAL and is replayed at start), so reads then merge
# blocks and a replayed head. A third round uses a tiny head_max_age
# and samples spread over five hours so head cuts also happen while
# serving, not only at shutdown.
. "$(dirname "$0")/lib.sh"

NOW_S=$(date +%s)
T_S=$(((NOW_S / 3600 - 6) * 3600))
T_MS=$((T_S * 1000))
DATA="$WORK/data"
ALL='{__name__=~".+"}'

tide_start "$DATA" - --head-cut-on-stop true
PORT=$TIDE_PORT

# restarted_same N: stop tide, start it again on the same data and port, and
# check that it exports what it did before (WORK/beforeN.canon).
restarted_same() {
    tide_stop "$TIDE_PID"
    tide_start "$DATA" "$PORT"
    export_canon "$ALL" >"$WORK/after$1.canon"
    diff -u "$WORK/before$1.canon" "$WORK/after$1.canon" >&2 || fail "data changed across restart $1"
    log "restart $1: $(wc -l <"$WORK/after$1.canon") series identical"
}

# Round 1: line protocol and JSON lines, special values included.
lines=""
for i in $(seq 0 199); do
    lines+="r1,host=h$((i % 5)) value=$i.5,other=${i}i $((T_S + i * 10))"$'\n'
done
req POST "/write?precision=s" --data-binary "$lines"
assert_code 204
printf '%s\n' "{\"metric\":{\"__name__\":\"r1_special\",\"k\":\"x\"},\"values\":[\"NaN\",\"+Inf\",\"-Inf\",1e-300],\"timestamps\":[$T_MS,$((T_MS + 1)),$((T_MS + 2)),$((T_MS + 3))]}" >"$WORK/r1.jsonl"
req POST /api/v1/import --data-binary @"$WORK/r1.jsonl"
assert_code 204
export_canon "$ALL" >"$WORK/before1.canon"
n=$(wc -l <"$WORK/before1.canon")
[ "$n" -eq 11 ] || fail "want 11 series before restart, got $n"

restarted_same 1
req GET /api/v1/status/storage
json_ok 'j["data"]["blockSamples"] == 404 and j["data"]["head"]["samples"] == 0' # cut at the first stop

# Round 2: overwrite a sample (the last write wins), add a series, restart.
req POST "/write?precision=s" --data-binary "r1,host=h0 value=-1 $T_S
r2,host=new value=2 $((T_S + 5))"
assert_code 204
export_canon "$ALL" >"$WORK/before2.canon"
grep -q "^{\"__name__\":\"r1\",\"host\":\"h0\"} $T_MS=-1.0 " "$WORK/before2.canon" ||
    fail "the overwritten sample is not visible: $(grep '"r1","host":"h0"' "$WORK/before2.canon" | head -c 300)"
restarted_same 2
req GET /api/v1/status/storage
json_ok 'j["data"]["blockSamples"] == 404 and j["data"]["head"]["samples"] == 2' # the WAL replayed over blocks
tide_stop "$TIDE_PID"

# Round 3: head cuts while serving (head_max_age 1m, samples over 5 hours).
tide_start "$DATA" "$PORT" --head-max-age 1m
lines=""
for i in $(seq 0 299); do
    lines+="r3,k=a value=$i $((T_S + i * 60))"$'\n'
done
req POST "/write?precision=s" --data-binary "$lines"
assert_code 204
# Wait (up to 30 s) for the background job to cut the head into a block.
for i in $(seq 1 60); do
    req GET /api/v1/status/storage
    printf '%s' "$BODY" | "${JSONTOOL[@]}" check 'j["data"]["totals"]["headCuts"] >= 1' && break
    sleep 0.5
done
json_ok 'j["data"]["totals"]["headCuts"] >= 1 and j["data"]["blockSamples"] > 0'
export_canon "$ALL" >"$WORK/before3.canon"
restarted_same 3
req GET /api/v1/status/storage
json_ok 'len(j["data"]["partitions"]) >= 1 and sum(p["samples"] for p in j["data"]["partitions"]) > 0'
tide_stop "$TIDE_PID"
log "PASS"
