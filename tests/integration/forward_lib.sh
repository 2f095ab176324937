# forward_lib.sh: helpers of the forwarding tests (test_forward_*.sh),
# sourced after lib.sh.
#
# Samples are written to Tide with explicit timestamps through
# /api/v1/import/prometheus: series fw_test{s="a"|"b"|"c"}, sample k of
# each at BASE_MS + k*100 with value k, so what a receiver holds can be
# compared with what was written: every sample exactly once.

BASE_MS=$(($(date +%s%3N) - 600000)) # ten minutes ago: inside every receiver's window

# write_range FROM TO [URL]: samples FROM..TO (inclusive) of each series.
write_range() {
    local from=$1 to=$2 url=${3:-$TIDE_URL}
    python3 - "$from" "$to" "$BASE_MS" >"$WORK/batch.prom" <<'PY'
import sys
lo, hi, base = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for k in range(lo, hi + 1):
    for s in "abc":
        print(f'fw_test{{s="{s}"}} {k} {base + k * 100}')
PY
    curl -fsS -X POST --data-binary @"$WORK/batch.prom" "$url/api/v1/import/prometheus" >/dev/null ||
        fail "writing samples $from..$to to $url failed"
}

# self_metric NAME: the value of Tide's own metric NAME (first sample), or "".
self_metric() {
    curl -fsS -o "$WORK/self.metrics" "$TIDE_URL/metrics" || return 0
    awk -v n="$1" '($1 == n || index($1, n "{") == 1) && !done {print $2; done = 1}' "$WORK/self.metrics"
}

# wait_delivered N: until tide_remote_storage_samples_total reaches N and
# nothing is pending (30 s at most).
wait_delivered() {
    local want=$1 i sent pend
    for i in $(seq 1 150); do
        sent=$(self_metric tide_remote_storage_samples_total)
        pend=$(self_metric tide_remote_storage_samples_pending)
        if [ "${sent%.*}" = "$want" ] && [ "${pend:-1}" = 0 ]; then
            return 0
        fi
        sleep 0.2
    done
    fail "want $want samples delivered and none pending, have sent=$sent pending=$pend"
}

# check_once FILE N: FILE holds "series ts value" lines as a receiver
# exported them; each of the 3 series must have samples 0..N-1, each once.
check_once() {
    python3 - "$1" "$2" "$BASE_MS" <<'PY' || fail "the receiver does not hold every sample exactly once"
import collections, sys
path, n, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
got = collections.Counter(tuple(l.split()) for l in open(path) if l.strip())
want = {(s, str(base + k * 100), str(k)) for s in "abc" for k in range(n)}
dups = [k for k, c in got.items() if c > 1]
missing = want - set(got)
extra = set(got) - want
print(f"{sum(got.values())} samples received, {len(want)} written, "
      f"{len(missing)} missing, {len(dups)} duplicated, {len(extra)} unexpected")
assert not dups, sorted(dups)[:5]
assert not missing, sorted(missing)[:5]
assert not extra, sorted(extra)[:5]
PY
}
