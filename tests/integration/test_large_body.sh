#!/usr/bin/env bash
# test_large_body.sh: a line-protocol body far larger than one parse slice
# (api/write.c cuts bodies into ~512 KiB slices at newlines) is stored whole,
# and bad lines in any slice are reported with their line numbers in the
# whole body, the good lines kept.
. "$(dirname "$0")/lib.sh"

tide_start "$WORK/data" -
T_S=$(( $(date +%s) - 3600 ))
python3 - "$WORK/big.lp" "$T_S" <<'PY'
import sys
path, t0 = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for i in range(1, 30001):
        if i in (3, 25000):
            f.write("bad line without fields\n")
        else:
            f.write("big,host=h%d,pad=%s v=%d %d\n" % (i % 7, "x" * 20, i, t0 + i))
PY
size=$(stat -c %s "$WORK/big.lp")
[ "$size" -gt 1500000 ] || fail "the body is only $size bytes; it must span several slices"

req POST '/write?precision=s' --data-binary @"$WORK/big.lp"
assert_code 400
assert_contains "partial write error" "line 3:" "$BODY"
assert_contains "partial write error" "line 25000:" "$BODY"
assert_contains "partial write error" "dropped=2" "$BODY"

req GET '/api/v1/export' --data-urlencode 'match[]=big_v' -G
assert_code 200
got=$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(sum(len(json.loads(l)["values"]) for l in sys.stdin if l.strip()))')
assert_eq "samples stored" 29998 "$got"
log "PASS ($size bytes, 29998 samples, bad lines 3 and 25000 reported)"
