#!/usr/bin/env bash
# test_cli_import_counts.sh: `tide import` reports imported, refused and
# skipped lines separately (issue 16 item 3). A file of good lines, bad lines
# and comments/blank lines, cut into several requests: the summary counts are
# exact, the server's reasons name the file's lines, the exit status is 1,
# the good lines are stored. --dry-run prints the same counts and reasons and
# stores nothing; a clean file exits 0. Influx line protocol and JSON lines
# (the two error shapes of docs/api/write.md).
. "$(dirname "$0")/lib.sh"

tide_start "$WORK/a" - --retention 0
A=$TIDE_URL
T_S=$(( $(date +%s) / 60 * 60 - 3600 ))

stored() { # number of samples of series $1
    curl -fsS -G "$A/api/v1/export" --data-urlencode "match[]=$1" | "${JSONTOOL[@]}" canon-export |
        python3 -c 'import sys; print(sum(len(l.split()) - 1 for l in sys.stdin))'
}

# 300 lines: 5 bad, 4 comments, 3 blank -> 288 good.
python3 - "$WORK/mix.lp" "$T_S" <<'PY'
import sys
path, t = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for i in range(1, 301):
        if i in (2, 50, 151, 152, 299):
            f.write("broken line %d\n" % i)
        elif i in (10, 100, 200, 250):
            f.write("# a comment %d\n" % i)
        elif i in (20, 120, 220):
            f.write("\n")
        else:
            f.write("cnt_lp,host=h%d value=%d %d\n" % (i % 3, i, t + i))
PY

# ---- dry run first: counts and reasons, nothing stored ------------------------
rc=0
"$TIDE" import --server "$A" --precision s --batch-bytes 1KiB --dry-run "$WORK/mix.lp" 2>"$WORK/dry.err" || rc=$?
assert_eq "dry-run exit status with bad lines" 1 "$rc"
assert_contains "dry-run counts" "would import 288, would refuse 5, skipped 7" "$(cat "$WORK/dry.err")"
assert_contains "dry-run says nothing sent" "nothing sent" "$(cat "$WORK/dry.err")"
for n in 2 50 151 152 299; do
    assert_contains "dry-run names line $n" "line $n:" "$(cat "$WORK/dry.err")"
done
assert_eq "dry-run stored nothing" 0 "$(stored cnt_lp)"

# ---- real import in many requests ----------------------------------------------
rc=0
"$TIDE" import --server "$A" --precision s --batch-bytes 1KiB "$WORK/mix.lp" 2>"$WORK/imp.err" || rc=$?
assert_eq "exit status with refused lines" 1 "$rc"
assert_contains "counts" "imported 288, refused 5, skipped 7" "$(cat "$WORK/imp.err")"
assert_contains "lines read" "read 300 lines" "$(cat "$WORK/imp.err")"
for n in 2 50 151 152 299; do
    assert_contains "server reason for line $n" "line $n:" "$(cat "$WORK/imp.err")"
done
assert_eq "good lines stored" 288 "$(stored cnt_lp)"

# ---- JSON lines (Prometheus error envelope), one request -----------------------
{
    for i in 1 2 3 4; do
        printf '{"metric":{"__name__":"cnt_json","i":"%d"},"values":[%d],"timestamps":[%d000]}\n' "$i" "$i" "$T_S"
    done
    printf '{"metric":{"__name__":"cnt_json"},"values":[1\n'
    printf '\n'
    printf 'not json\n'
} >"$WORK/mix.jsonl"
rc=0
"$TIDE" import --server "$A" "$WORK/mix.jsonl" 2>"$WORK/j.err" || rc=$?
assert_eq "jsonl exit status" 1 "$rc"
assert_contains "jsonl counts" "imported 4, refused 2, skipped 1" "$(cat "$WORK/j.err")"
assert_contains "jsonl reason line 5" "line 5:" "$(cat "$WORK/j.err")"
assert_contains "jsonl reason line 7" "line 7:" "$(cat "$WORK/j.err")"
assert_eq "jsonl stored" 4 "$(stored cnt_json)"

# ---- a clean file: exit 0 and nothing refused ----------------------------------
printf 'cnt_ok value=1 %s\n# c\ncnt_ok value=2 %s\n' "$T_S" "$((T_S + 1))" >"$WORK/ok.lp"
"$TIDE" import --server "$A" --precision s "$WORK/ok.lp" 2>"$WORK/ok.err" ||
    fail "clean import exited non-zero: $(cat "$WORK/ok.err")"
assert_contains "clean counts" "imported 2, refused 0, skipped 1" "$(cat "$WORK/ok.err")"
"$TIDE" import --server "$A" --precision s --dry-run "$WORK/ok.lp" 2>/dev/null ||
    fail "clean dry run exited non-zero"

log "ok"
