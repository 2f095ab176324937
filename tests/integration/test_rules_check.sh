#!/usr/bin/env bash
# test_rules_check.sh: `tide rules check` and Debian's `promtool check rules`
# (Prometheus 2.42) give the same verdict on every file of tests/rules/good
# (both exit 0) and tests/rules/bad (both exit 1), and Tide's message for a
# broken file names it as FILE:LINE:COL. The docs/rules/ examples must pass.
. "$(dirname "$0")/lib.sh"

PROMTOOL=$(command -v promtool || true)
[ -n "$PROMTOOL" ] || fail "promtool not installed (scripts/deps.sh test installs prometheus)"

n=0
for f in "$SRC"/tests/rules/good/*.yml "$SRC"/tests/rules/bad/*.yml "$SRC"/docs/rules/*.yml; do
    [ -e "$f" ] || continue
    t=0
    "$TIDE" rules check "$f" >"$WORK/tide.out" 2>"$WORK/tide.err" || t=$?
    p=0
    "$PROMTOOL" check rules "$f" >"$WORK/promtool.out" 2>&1 || p=$?
    [ "$t" -eq "$p" ] || fail "$f: tide rules check exited $t, promtool check rules $p
tide: $(cat "$WORK/tide.out" "$WORK/tide.err")
promtool: $(cat "$WORK/promtool.out")"
    case "$f" in
    */bad/*)
        [ "$t" -eq 1 ] || fail "$f: want exit 1, got $t"
        grep -qE "^$f:[0-9]+:[0-9]+: " "$WORK/tide.err" ||
            fail "$f: no FILE:LINE:COL message: $(cat "$WORK/tide.err")"
        ;;
    *)
        [ "$t" -eq 0 ] || fail "$f: want exit 0, got $t: $(cat "$WORK/tide.err")"
        ;;
    esac
    n=$((n + 1))
done
[ "$n" -ge 20 ] || fail "only $n rule files checked"

# Several files at once: one bad file makes the whole run fail.
rc=0
"$TIDE" rules check "$SRC/tests/rules/good/basic.yml" "$SRC/tests/rules/bad/both.yml" >/dev/null 2>&1 || rc=$?
assert_eq "exit status with one bad file" 1 "$rc"
out=$("$TIDE" rules check "$SRC/tests/rules/good/basic.yml")
assert_contains "success line" "SUCCESS: 3 rules found" "$out"
log "ok: $n files agree with promtool"
