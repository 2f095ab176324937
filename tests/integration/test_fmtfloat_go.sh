#!/usr/bin/env bash
# test_fmtfloat_go.sh: core/fmtfloat.c against Go's strconv itself, string
# for string. Prometheus 2.42 (Debian's build, go1.19) prints sample values
# and PromQL numbers with strconv.FormatFloat(v, 'f' or 'e', -1, 64), and
# Tide must print the same text, so tests/fmtfloat/ref.go is built with
# Debian's Go 1.19 and fed the same inputs as tests/fmtfloat/dump.c: every
# power of two with its neighbours, subnormal and other edges, N seeded
# random bit patterns and N random decimal-looking values. fmtfloat_e is
# compared with Go's 'e' form and fmtfloat_f with its 'f' form; any
# difference fails the test, with the first ones listed.
# Skipped (exit 0, SKIP printed) only when Go 1.19 is not installed.
. "$(dirname "$0")/lib.sh"

: "${FMTFLOAT_DUMP:?set FMTFLOAT_DUMP to the fmtfloat_dump binary}"
N=${FMTFLOAT_N:-300000}    # random bit patterns, and as many decimal-looking values
SEED=${FMTFLOAT_SEED:-1}

go_ref "$SRC/tests/fmtfloat/ref.go"

out="$WORK/cmp.log"
set +e
"$FMTFLOAT_DUMP" gen "$N" "$N" "$SEED" | "$WORK/ref" | "$FMTFLOAT_DUMP" cmp "$N" "$N" "$SEED" >"$out"
rc=("${PIPESTATUS[@]}")
set -e
[ "${rc[0]}" -eq 0 ] || fail "fmtfloat_dump gen exited ${rc[0]}"
[ "${rc[1]}" -eq 0 ] || fail "ref (Go) exited ${rc[1]}"
if [ "${rc[2]}" -ne 0 ]; then
    cat "$out" >&2
    fail "fmtfloat differs from Go's strconv.FormatFloat (first differences above)"
fi
cat "$out"
log "ok"
