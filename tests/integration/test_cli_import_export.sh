#!/usr/bin/env bash
# test_cli_import_export.sh: `tide import` and `tide export` as a user runs
# them. Formats guessed from extensions; stdin with --format; requests cut at
# line boundaries (tiny --batch-bytes) with bad lines reported by the file's
# own line numbers and a non-zero exit; a quoted CSV field holding a newline
# never cut; the progress line redrawn on a terminal (script(1)) and one
# summary line otherwise; export to a file and to stdout, JSON lines read back
# by import into a second server giving the same export; usage errors exit 2.
. "$(dirname "$0")/lib.sh"

tide_start "$WORK/a" - --retention 0
A=$TIDE_URL
T_S=$(( $(date +%s) / 60 * 60 - 3600 ))

# ---- line protocol in many requests, bad lines numbered as in the file -----
python3 - "$WORK/data.lp" "$T_S" <<'PY'
import sys
path, t = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for i in range(1, 5001):
        if i in (7, 2500, 4999):
            f.write("broken line %d\n" % i)
        else:
            f.write("cli_lp,host=h%d value=%d %d\n" % (i % 4, i, t + i))
PY
rc=0
"$TIDE" import --server "$A" --precision s --batch-bytes 4KiB "$WORK/data.lp" 2>"$WORK/imp.err" || rc=$?
assert_eq "exit status with bad lines" 1 "$rc"
for n in 7 2500 4999; do
    assert_contains "bad line $n named" "line $n:" "$(cat "$WORK/imp.err")"
done
assert_contains "summary" "data.lp: read 5000 lines" "$(cat "$WORK/imp.err")"
assert_contains "summary counts" "imported 4997, refused 3, skipped 0" "$(cat "$WORK/imp.err")"
got=$(curl -fsS -G "$A/api/v1/export" --data-urlencode 'match[]=cli_lp' | "${JSONTOOL[@]}" canon-export |
    python3 -c 'import sys; print(sum(len(l.split()) - 1 for l in sys.stdin))')
assert_eq "samples stored" 4997 "$got"

# ---- stdin, format guessing, prometheus text, jsonl --------------------------
printf 'cli_prom{a="1"} 5 %s000\n' "$T_S" >"$WORK/x.prom"
"$TIDE" import --server "$A" "$WORK/x.prom" 2>/dev/null || fail "import .prom"
printf 'cli_stdin,a=1 value=2 %s\n' "$T_S" | "$TIDE" import --server "$A" --format influx --precision s - 2>/dev/null ||
    fail "import from stdin"
rc=0
"$TIDE" import --server "$A" "$WORK/x.unknown" 2>"$WORK/e" || rc=$?
assert_eq "unknown extension" 1 "$rc"
assert_contains "message" "--format" "$(cat "$WORK/e")"
rc=0
"$TIDE" import --server "$A" --csv-format '1:nonsense' x.csv 2>"$WORK/e" || rc=$?
assert_eq "bad --csv-format is a usage error" 2 "$rc"
rc=0
"$TIDE" import --server "$A" 2>/dev/null || rc=$?
assert_eq "no file" 2 "$rc"
"$TIDE" import --help | grep -q -- '--csv-format' || fail "import --help"
"$TIDE" help export | grep -q -- '--match' || fail "help export"

# ---- CSV with a quoted newline, cut into tiny requests -----------------------
python3 - "$WORK/q.csv" "$T_S" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(400):
        note = '"two\nlines, %d"' % i if i % 3 == 0 else "plain%d" % i
        f.write("%d,%s,%d\n" % ((int(sys.argv[2]) + i) * 1000, note, i))
PY
"$TIDE" import --server "$A" --batch-bytes 1KiB --csv-format '1:time:unix_ms,2:label:note,3:metric:cli_csv' \
    "$WORK/q.csv" 2>"$WORK/csv.err" || { cat "$WORK/csv.err" >&2; fail "CSV import with quoted newlines"; }
got=$(curl -fsS -G "$A/api/v1/export" --data-urlencode 'match[]=cli_csv' | "${JSONTOOL[@]}" canon-export | wc -l)
assert_eq "CSV series (one per note)" 400 "$got"

# ---- progress on a terminal ----------------------------------------------------
if command -v script >/dev/null; then
    python3 -c 'import sys; [print("cli_tty,h=a value=%d %d" % (i, int(sys.argv[1]) + i)) for i in range(200000)]' "$T_S" >"$WORK/tty.lp"
    script -qec "$TIDE import --server $A --precision s --batch-bytes 64KiB $WORK/tty.lp" /dev/null >"$WORK/tty.out" 2>&1 ||
        fail "import on a terminal failed: $(tail -c 300 "$WORK/tty.out")"
    grep -q $'\r' "$WORK/tty.out" || fail "no progress redraw on a terminal"
    grep -q 'ETA' "$WORK/tty.out" || fail "no ETA on the terminal progress line"
fi

# ---- export: file and stdout, then round trip into a second server ----------
"$TIDE" export --server "$A" --match '{__name__=~"cli_.*"}' -o "$WORK/all.jsonl" 2>"$WORK/exp.err" || fail "export"
assert_contains "export summary" "exported" "$(cat "$WORK/exp.err")"
"$TIDE" export --server "$A" --match 'cli_prom' 2>/dev/null | grep -q '"cli_prom"' || fail "export to stdout"
rc=0
"$TIDE" export --server "$A" --match 'cli_prom{' -o "$WORK/bad.jsonl" 2>"$WORK/e" || rc=$?
assert_eq "bad selector" 1 "$rc"
assert_contains "server message" "HTTP 400" "$(cat "$WORK/e")"
rc=0
"$TIDE" export --server "$A" --format csv 2>/dev/null || rc=$?
assert_eq "csv without --csv-format" 2 "$rc"
before=$(export_canon '{__name__=~"cli_.*"}' "$A")
tide_start "$WORK/b" - --retention 0
"$TIDE" import --server "$TIDE_URL" --batch-bytes 64KiB "$WORK/all.jsonl" 2>/dev/null || fail "re-import"
assert_eq "export of the copy" "$before" "$(export_canon '{__name__=~"cli_.*"}' "$TIDE_URL")"
rc=0
"$TIDE" export --server "http://127.0.0.1:1" -o "$WORK/x" 2>/dev/null || rc=$?
assert_eq "unreachable server" 1 "$rc"
log "ok"
