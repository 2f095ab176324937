#!/usr/bin/env bash
# test_encodings.sh: Content-Encoding of write bodies and the size cap.
# The same lines sent plain, gzip, deflate, zstd and snappy (block format) to
# /write, /api/v1/import and /api/v1/import/prometheus are stored alike; an
# unknown encoding is 415 naming the accepted ones; a corrupt body is 400;
# with max_request_bytes=64KiB a body over the cap is 413 before and after
# decoding (zstd bomb, gzip bomb), and so is a remote-write request whose
# snappy header announces more than the cap.
. "$(dirname "$0")/lib.sh"

T_S=$(( $(date +%s) / 60 * 60 - 600 ))
tide_start "$WORK/data" - --max-request-bytes 64KiB
log "server on $TIDE_URL"

snappy() { python3 -c '
import sys
sys.path.insert(0, sys.argv[1])
from jsontool import snappy_literals
sys.stdout.buffer.write(snappy_literals(sys.stdin.buffer.read()))' "$HERE"; }
deflate() { python3 -c 'import sys, zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))'; }
rawdeflate() { python3 -c '
import sys, zlib
c = zlib.compressobj(6, zlib.DEFLATED, -15)
sys.stdout.buffer.write(c.compress(sys.stdin.buffer.read()) + c.flush())'; }

encode() { # encode ENC < in > out
    case "$1" in
    identity) cat ;;
    gzip) gzip -c ;;
    deflate) deflate ;;
    rawdeflate) rawdeflate ;;
    zstd) zstd -q -c ;;
    snappy) snappy ;;
    esac
}
header_of() { [ "$1" = rawdeflate ] && echo deflate || echo "$1"; }

for enc in identity gzip deflate rawdeflate zstd snappy; do
    : >"$WORK/lp" ; : >"$WORK/prom"; : >"$WORK/jsonl"
    for i in $(seq 1 50); do
        echo "enc_lp,enc=$enc,i=$i value=$i $T_S" >>"$WORK/lp"
        echo "enc_prom{enc=\"$enc\",i=\"$i\"} $i $((T_S * 1000))" >>"$WORK/prom"
        echo "{\"metric\":{\"__name__\":\"enc_jsonl\",\"enc\":\"$enc\",\"i\":\"$i\"},\"values\":[$i],\"timestamps\":[$((T_S * 1000))]}" >>"$WORK/jsonl"
    done
    h=$(header_of "$enc")
    encode "$enc" <"$WORK/lp" >"$WORK/lp.enc"
    req POST "/write?precision=s" -H "Content-Encoding: $h" --data-binary @"$WORK/lp.enc"
    assert_code 204
    encode "$enc" <"$WORK/prom" >"$WORK/prom.enc"
    req POST /api/v1/import/prometheus -H "Content-Encoding: $h" --data-binary @"$WORK/prom.enc"
    assert_code 204
    encode "$enc" <"$WORK/jsonl" >"$WORK/jsonl.enc"
    req POST /api/v1/import -H "Content-Encoding: $h" --data-binary @"$WORK/jsonl.enc"
    assert_code 204
done
for m in enc_lp enc_prom enc_jsonl; do
    got=$(export_canon "$m" | wc -l)
    assert_eq "series of $m (50 per encoding x 6)" 300 "$got"
    for enc in gzip deflate rawdeflate zstd snappy; do
        a=$(export_canon "{__name__=\"$m\",enc=\"identity\"}" | sed 's/"enc":"[a-z]*"//')
        b=$(export_canon "{__name__=\"$m\",enc=\"$enc\"}" | sed 's/"enc":"[a-z]*"//')
        assert_eq "$m sent as $enc vs identity" "$a" "$b"
    done
done

# ---- refusals ------------------------------------------------------------------
req POST "/write" -H 'Content-Encoding: br' --data-binary 'x value=1'
assert_code 415
json_ok '"br" in j["error"] and "zstd" in j["error"] and "snappy" in j["error"]'
req POST "/write" -H 'Content-Encoding: gzip' --data-binary 'not gzip at all'
assert_code 400
json_ok '"gzip" in j["error"]'
req POST "/write" -H 'Content-Encoding: zstd' --data-binary 'not zstd at all'
assert_code 400
printf 'x value=1 %s\n' "$T_S" | zstd -q -c | head -c 10 >"$WORK/trunc.zst"
req POST "/write" -H 'Content-Encoding: zstd' --data-binary @"$WORK/trunc.zst"
assert_code 400

# ---- size cap: 64 KiB ----------------------------------------------------------
python3 -c 'print("cap,host=a value=1\n" * 20000)' >"$WORK/big.lp"
req POST /write --data-binary @"$WORK/big.lp"
assert_code 413
for enc in gzip zstd snappy; do
    encode "$enc" <"$WORK/big.lp" >"$WORK/big.enc"
    [ "$(stat -c %s "$WORK/big.enc")" -lt 65536 ] || [ "$enc" = snappy ] ||
        fail "$enc body is not under the cap"
    req POST /write -H "Content-Encoding: $enc" --data-binary @"$WORK/big.enc"
    assert_code 413
done
head -c 50000000 /dev/zero | zstd -q -c >"$WORK/bomb.zst"
req POST /api/v1/import -H 'Content-Encoding: zstd' --data-binary @"$WORK/bomb.zst"
assert_code 413
json_ok '"zstd" in j["error"] and "limit" in j["error"]'
head -c 50000000 /dev/zero | gzip -c >"$WORK/bomb.gz"
req POST /api/v1/import -H 'Content-Encoding: gzip' --data-binary @"$WORK/bomb.gz"
assert_code 413
# remote write: the snappy header says 10 MB; the body is a few bytes.
python3 -c '
import sys
sys.path.insert(0, sys.argv[1])
from jsontool import varint
sys.stdout.buffer.write(varint(10000000) + bytes([3 << 2]) + b"abcd")' "$HERE" >"$WORK/rw.bin"
req POST /api/v1/write -H 'Content-Encoding: snappy' -H 'Content-Type: application/x-protobuf' \
    --data-binary @"$WORK/rw.bin"
assert_code 413
# a remote-write body that fits is still fine
printf '{"metric":{"__name__":"rw_ok","a":"b"},"values":[1],"timestamps":[%s]}\n' "$((T_S * 1000))" |
    "${JSONTOOL[@]}" remote-write >"$WORK/rw_ok.bin"
req POST /api/v1/write -H 'Content-Encoding: snappy' -H 'Content-Type: application/x-protobuf' \
    --data-binary @"$WORK/rw_ok.bin"
assert_code 204
req GET /metrics
assert_contains "413 counter" "tide_http_requests_too_large_total" "$BODY"
log "ok"
