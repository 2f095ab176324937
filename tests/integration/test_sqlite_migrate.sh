#!/usr/bin/env bash
# test_sqlite_migrate.sh: `tide import sqlite:` migrates a table and proves
# it. A table of ROWS rows (4 validators x 2 regions, a region with ',' and
# ' ' in it, a NULL latency now and then) is migrated while the import is
# killed with SIGKILL once it has checkpointed part of the way; the same
# command then resumes after the checkpoint, and the final comparison says
# "ROWS rows read, N samples written, 0 missing" with N equal to what the
# table holds, and PromQL agrees. Also: text datetimes with --where, a
# checkpoint written with other options refused, a missing table named.
. "$(dirname "$0")/lib.sh"

ROWS=${ROWS:-200000}
tide_start "$WORK/data" - --retention 0
DB="$WORK/validator.db"
BASE=$(( $(date +%s) - 3 * 86400 ))
sqlite3 "$DB" <<SQL
CREATE TABLE votes (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, validator TEXT, region TEXT,
                    latency REAL, slot INTEGER);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS - 1)
INSERT INTO votes (ts, validator, region, latency, slot)
SELECT $BASE + i / 4, 'val-' || (i % 4), CASE WHEN i % 8 < 4 THEN 'eu west' ELSE 'us,east' END,
       CASE WHEN i % 1000 = 7 THEN NULL ELSE (i % 997) / 10.0 END, i FROM n;
CREATE TABLE temps (at TEXT, room TEXT, value REAL);
INSERT INTO temps VALUES ('$(date -u -d @$((BASE)) '+%Y-%m-%d %H:%M:%S')', 'hall', 20.5),
                         ('$(date -u -d @$((BASE + 60)) '+%Y-%m-%dT%H:%M:%S.250Z')', 'hall', 21),
                         ('$(date -u -d @$((BASE + 120)) '+%Y-%m-%d %H:%M:%S')', 'attic', 9),
                         ('not a time', 'hall', 1);
SQL
WANT=$(sqlite3 "$DB" "SELECT count(latency) + count(slot) FROM votes")
CP="$WORK/votes.checkpoint"
MIGRATE=(import "sqlite:$DB" --server "$TIDE_URL" --table votes --time-column ts
    --tags validator,region --fields latency,slot --batch-bytes 64KiB --checkpoint "$CP")

# ---- killed part of the way ----------------------------------------------------
"$TIDE" "${MIGRATE[@]}" >"$WORK/m1.out" 2>"$WORK/m1.err" &
M=$!
PIDS+=("$M")
for _ in $(seq 1 600); do
    if [ -s "$CP" ] && [ "$(awk '/^rows /{print $2}' "$CP")" -ge $((ROWS / 10)) ]; then break; fi
    kill -0 "$M" 2>/dev/null || break
    sleep 0.05
done
kill -KILL "$M" 2>/dev/null || fail "the import finished before it could be killed"
wait "$M" 2>/dev/null || true
DONE_ROWS=$(awk '/^rows /{print $2}' "$CP")
[ "$DONE_ROWS" -gt 0 ] && [ "$DONE_ROWS" -lt "$ROWS" ] ||
    fail "checkpoint after the kill: want 0 < rows < $ROWS, got $DONE_ROWS"
log "killed after $DONE_ROWS of $ROWS rows"

# ---- resumed ---------------------------------------------------------------------
"$TIDE" "${MIGRATE[@]}" >"$WORK/m2.out" 2>"$WORK/m2.err" || fail "the resumed import failed: $(cat "$WORK/m2.out" "$WORK/m2.err")"
assert_contains "resume announced" "resuming after rowid" "$(cat "$WORK/m2.err")"
assert_contains "final comparison" "$ROWS rows read, $WANT samples written, 0 missing (16 series compared, $WANT distinct" \
    "$(cat "$WORK/m2.out")"
[ ! -e "$CP" ] || fail "the checkpoint is still there after a verified migration"
q() { req GET /api/v1/query -G --data-urlencode "query=$1" --data-urlencode "time=$(( BASE + ROWS / 4 + 10 ))"; }
q 'sum(count_over_time(votes_latency[4d])) + sum(count_over_time(votes_slot[4d]))'
json_ok "j['data']['result'][0]['value'][1] == '$WANT'"
q 'count(count_over_time(votes_slot{region="us,east"}[4d]))'
json_ok 'j["data"]["result"][0]["value"][1] == "4"'
q "max_over_time(votes_slot{validator=\"val-3\",region=\"us,east\"}[4d])"
json_ok "j['data']['result'][0]['value'][1] == '$(sqlite3 "$DB" "SELECT max(slot) FROM votes WHERE validator='val-3' AND region='us,east'")'"
log "resumed: every row once, 0 missing"

# ---- what is missing is found --------------------------------------------------------
req POST /api/v1/admin/tsdb/delete_series --data-urlencode 'match[]=votes_slot{validator="val-1",region="eu west"}' \
    --data-urlencode "start=$BASE" --data-urlencode "end=$((BASE + 99))"
assert_code 204
if "$TIDE" "${MIGRATE[@]}" --verify-only >"$WORK/v.out" 2>"$WORK/v.err"; then
    fail "--verify-only found nothing missing after a deletion"
fi
assert_contains "missing counted" "0 rows read, 0 samples written, 50 missing (16 series compared" "$(cat "$WORK/v.out")"
assert_contains "series named" 'votes_slot{validator="val-1",region="eu west"}: ' "$(cat "$WORK/v.err")"
log "--verify-only finds the 50 deleted samples"

# ---- text times, --where, the 'value' field -------------------------------------
"$TIDE" import "sqlite:$DB" --server "$TIDE_URL" --table temps --time-column at --tags room \
    --fields value --measurement room_temp --where "room <> 'attic'" --checkpoint "$WORK/t.cp" \
    >"$WORK/t.out" 2>"$WORK/t.err" || fail "temps import failed: $(cat "$WORK/t.out" "$WORK/t.err")"
assert_contains "temps" "3 rows read, 2 samples written, 0 missing (1 series compared" "$(cat "$WORK/t.out")"
assert_contains "skipped row" "skipped 1 rows" "$(cat "$WORK/t.out")"
req GET /api/v1/export -G --data-urlencode 'match[]=room_temp'
json_ok "j['timestamps'] == [$BASE * 1000, ($BASE + 60) * 1000 + 250] and j['values'] == [20.5, 21] and j['metric'] == {'__name__': 'room_temp', 'room': 'hall'}"
log "text times, --where and a 'value' field"

# ---- refusals ----------------------------------------------------------------------
printf 'tide-import-sqlite 1\noptions 1234\nrowid 5\nrows 5\nsamples 10\nskipped_rows 0\nskipped_values 0\n' >"$CP"
if "$TIDE" "${MIGRATE[@]}" >"$WORK/m3.out" 2>"$WORK/m3.err"; then fail "a checkpoint of other options was used"; fi
assert_contains "mismatch" "written with other options" "$(cat "$WORK/m3.err")"
if "$TIDE" import "sqlite:$DB" --server "$TIDE_URL" --table nope --time-column ts --fields x \
    --checkpoint "$WORK/n.cp" >"$WORK/m4.out" 2>"$WORK/m4.err"; then
    fail "a missing table was accepted"
fi
assert_contains "missing table" "no such table: nope" "$(cat "$WORK/m4.err")"
log "mismatched checkpoint and missing table refused"
