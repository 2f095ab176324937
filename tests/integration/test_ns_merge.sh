#!/usr/bin/env bash
# test_ns_merge.sh: issue 16 item 4. Timestamps are stored in milliseconds;
# two Influx lines of one series 100 ns apart (precision=ns) land in the same
# millisecond and storage keeps the last write (docs/storage.md). The merge
# is counted in tide_samples_merged_total{format="influx"} and logged; the
# stored value is the later line's. Lines 1 ms apart are not merged.
source "$(dirname "$0")/lib.sh"

tide_start "$WORK/data" -

merged() {
    curl -fsS "$TIDE_URL/metrics" |
        awk '$1 == "tide_samples_merged_total{format=\"influx\"}" { print $2; found = 1 }
             END { if (!found) print "missing" }'
}
assert_eq "tide_samples_merged_total{format=influx} at start" 0 "$(merged)"

T_MS=$(($(date +%s) * 1000 - 60000))
T_NS=$((T_MS * 1000000 + 123000)) # inside the millisecond T_MS
req POST "/write?precision=ns" --data-binary "$(printf 'nsm,host=a value=1 %s\nnsm,host=a value=2 %s\n' \
    "$T_NS" "$((T_NS + 100))")"
assert_code 204
assert_eq "merges counted after two lines 100 ns apart" 1 "$(merged)"

# 1 ms apart: two samples, nothing merged.
req POST "/write?precision=ns" --data-binary "$(printf 'nsm,host=b value=1 %s\nnsm,host=b value=2 %s\n' \
    "$T_NS" "$((T_NS + 1000000))")"
assert_code 204
assert_eq "merges after lines 1 ms apart" 1 "$(merged)"

# Precision ms: equal timestamps are the client's own duplicates, not counted.
req POST "/write?precision=ms" --data-binary "$(printf 'nsm,host=c value=1 %s\nnsm,host=c value=2 %s\n' \
    "$T_MS" "$T_MS")"
assert_code 204
assert_eq "merges after precision=ms duplicates" 1 "$(merged)"

req GET "/api/v1/export" -G --data-urlencode 'match[]=nsm{host="a"}'
assert_code 200
printf '%s' "$BODY" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
assert len(rows) == 1, rows
assert rows[0]["timestamps"] == ['"$T_MS"'], rows
assert rows[0]["values"] == [2], rows
' || fail "want one sample at $T_MS with the later value 2, got: $BODY"
req GET "/api/v1/export" -G --data-urlencode 'match[]=nsm{host="b"}'
printf '%s' "$BODY" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
assert rows[0]["timestamps"] == ['"$T_MS"', '"$((T_MS + 1))"'] and rows[0]["values"] == [1, 2], rows
' || fail "host=b: want two samples, got: $BODY"
grep -q "same series and millisecond" "$TIDE_LOG" || fail "the merge was not logged"
[ "$(grep -c "same series and millisecond" "$TIDE_LOG")" -eq 1 ] || fail "logged more than once a minute"
log "merged samples counted: $(merged), stored value is the last write's"
tide_stop "$TIDE_PID"
