#!/usr/bin/env bash
# test_gomath.sh: query/gomath.c against Go's math package itself, bit for
# bit. PromQL's math functions, `^` and atan2 must answer exactly as
# Prometheus 2.42 (Debian's build, go1.19 on amd64) does, so tests/gomath/
# ref.go is built with Debian's Go 1.19 and fed the same inputs as
# tests/gomath/dump.c: edge cases (specials, subnormals, method thresholds,
# multiples of pi/4 and of ln2/2, logs near 1, pow's negative bases and huge
# exponents) and N seeded random inputs per function. Any result whose bits
# differ (NaNs aside) fails the test, with the first differences listed.
#
# Go's Exp takes an FMA path on CPUs with AVX and FMA; there the comparison
# runs a second time with Go under GODEBUG=cpu.fma=off and gomath forced to
# its plain path, so both paths are checked on one machine.
# Skipped (exit 0, SKIP printed) only when Go 1.19 is not installed.
. "$(dirname "$0")/lib.sh"

: "${GOMATH_DUMP:?set GOMATH_DUMP to the gomath_dump binary}"
N=${GOMATH_N:-200000}    # random inputs per function
SEED=${GOMATH_SEED:-1}

go_ref "$SRC/tests/gomath/ref.go"

# compare NAME N SEED [VAR=value...]: one generate | Go | compare pipeline;
# the VAR=value pairs are set for both sides.
compare() {
    local name=$1 n=$2 seed=$3
    shift 3
    local out="$WORK/cmp-$name.log"
    set +e
    "$GOMATH_DUMP" gen "$n" "$seed" | env "$@" "$WORK/ref" | env "$@" "$GOMATH_DUMP" cmp "$n" "$seed" >"$out"
    local rc=("${PIPESTATUS[@]}")
    set -e
    [ "${rc[0]}" -eq 0 ] || fail "$name: gomath_dump gen exited ${rc[0]}"
    [ "${rc[1]}" -eq 0 ] || fail "$name: ref (Go) exited ${rc[1]}"
    if [ "${rc[2]}" -ne 0 ]; then
        cat "$out" >&2
        fail "$name: gomath differs from Go's math (first differences above)"
    fi
    log "$name: $(tail -n 1 "$out")"
}

FMA=$("$GOMATH_DUMP" fma)
log "CPU has AVX+FMA (Go's useFMA): $FMA"
compare default "$N" "$SEED" GODEBUG=
cat "$WORK/cmp-default.log"
if [ "$FMA" = 1 ]; then
    compare no-fma "$((N / 4))" "$((SEED + 1))" GODEBUG=cpu.fma=off GOMATH_NO_FMA=1
fi
log "ok"
