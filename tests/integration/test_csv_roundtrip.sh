#!/usr/bin/env bash
# test_csv_roundtrip.sh: a generated CSV history in, the same rows out.
# Two files: one timed in RFC 3339 with milliseconds and a UTC offset, one in
# unix_ms; several metric and label columns (a label value with a comma and
# quotes, empty metric cells that must be skipped, a column the format does
# not name), imported through /api/v1/import/csv, exported through
# /api/v1/export/csv and compared row by row with what the generator says
# must come out (one row per non-empty metric cell, values bit for bit).
# The export starts with a header row naming its columns (header=false: none);
# a header-ful export of one metric imports back (the header row skipped) and
# exports again byte for byte, through the endpoints and through `tide
# export` / `tide import` (issue 16 item 6).
. "$(dirname "$0")/lib.sh"

tide_start "$WORK/data" - --retention 0
T0_MS=$(( ($(date +%s) / 3600 - 48) * 3600 * 1000 ))

python3 - "$WORK" "$T0_MS" <<'PY'
import csv, datetime, random, sys
work, t0 = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
hosts = ["web-1", "web-2", "db-1", "cache-1"]
regions = ["eu, west", 'us "east"', "ap-south"]
want = []
def rfc(ms, off_h):
    tz = datetime.timezone(datetime.timedelta(hours=off_h))
    d = datetime.datetime.fromtimestamp(ms / 1000, tz)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (ms % 1000) + d.strftime("%z")[:3] + ":" + d.strftime("%z")[3:]
with open(work + "/a.csv", "w", newline="") as fa, open(work + "/b.csv", "w", newline="") as fb:
    wa, wb = csv.writer(fa), csv.writer(fb)
    for i in range(3000):
        for j, h in enumerate(hosts):
            t = t0 + i * 10000 + j * 7 + (i % 1000)
            reg = regions[(i + j) % len(regions)]
            cpu = rnd.random() * 100
            mem = float(rnd.randrange(0, 1 << 40))
            load = "" if i % 17 == 0 else repr(rnd.uniform(-1e-3, 1e6))
            if i % 2 == 0:  # file a: time rfc3339 in column 1; a column not in the format
                wa.writerow([rfc(t, (i % 5) - 2), h, reg, repr(cpu), "ignored", repr(mem), load])
                name = "csv_a"
            else:           # file b: unix_ms in the last column
                wb.writerow([h, repr(cpu), reg, repr(mem), load, t])
                name = "csv_b"
            for m, v in (("cpu", repr(cpu)), ("mem", repr(mem)), ("load", load)):
                if v != "":
                    want.append((name + "_" + m, h, reg, float(v), t))
with open(work + "/want.txt", "w") as f:
    for r in sorted(want):
        f.write("%s|%s|%s|%r|%d\n" % r)
print(len(want), "rows expected")
PY

urlq() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
FMT_A=$(urlq '1:time:rfc3339,2:label:host,3:label:region,4:metric:csv_a_cpu,6:metric:csv_a_mem,7:metric:csv_a_load')
FMT_B=$(urlq '1:label:host,2:metric:csv_b_cpu,3:label:region,4:metric:csv_b_mem,5:metric:csv_b_load,6:time:unix_ms')
req POST "/api/v1/import/csv?format=$FMT_A" --data-binary @"$WORK/a.csv"
assert_code 204
req POST "/api/v1/import/csv?format=$FMT_B" -H 'Content-Type: text/csv' --data-binary @"$WORK/b.csv"
assert_code 204

curl -fsS -G "$TIDE_URL/api/v1/export/csv" --data-urlencode 'match[]={__name__=~"csv_.*"}' \
    --data-urlencode 'format=__name__,host,region,__value__,__timestamp__:unix_ms' >"$WORK/out_h.csv"
assert_eq "header row" "__name__,host,region,__value__,__timestamp__:unix_ms" "$(head -n 1 "$WORK/out_h.csv")"
curl -fsS -G "$TIDE_URL/api/v1/export/csv" --data-urlencode 'match[]={__name__=~"csv_.*"}' \
    --data-urlencode 'format=__name__,host,region,__value__,__timestamp__:unix_ms' \
    --data-urlencode 'header=false' >"$WORK/out.csv"
assert_eq "header=false omits only the header" "$(tail -n +2 "$WORK/out_h.csv" | sha256sum)" "$(sha256sum <"$WORK/out.csv")"
curl -fsS -G "$TIDE_URL/api/v1/export/csv" --data-urlencode 'match[]={__name__=~"csv_a_.*"}' \
    --data-urlencode 'format=__name__,host,__timestamp__:rfc3339' --data-urlencode 'header=0' >"$WORK/out_rfc.csv"
req GET "/api/v1/export/csv?match[]=csv_a_cpu&format=__value__&header=maybe"
assert_code 400
python3 - "$WORK/out.csv" "$WORK/want.txt" "$WORK/out_rfc.csv" <<'PY' || fail "CSV round trip differs (see above)"
import csv, datetime, sys
got = []
for r in csv.reader(open(sys.argv[1], newline="")):
    got.append("%s|%s|%s|%r|%d" % (r[0], r[1], r[2], float(r[3]), int(r[4])))
got.sort()
want = sorted(l.rstrip("\n") for l in open(sys.argv[2]))
bad = 0
for i, (g, w) in enumerate(zip(got, want)):
    if g != w:
        bad += 1
        if bad <= 10:
            print("row %d: want %s, got %s" % (i + 1, w, g))
if len(got) != len(want):
    print("rows: want %d, got %d" % (len(want), len(got)))
    bad += 1
# the RFC 3339 export names the same instants
n = 0
for r in csv.reader(open(sys.argv[3], newline="")):
    datetime.datetime.fromisoformat(r[2].replace("Z", "+00:00"))
    n += 1
if n != sum(1 for w in want if w.startswith("csv_a_")):
    print("rfc3339 export: %d rows" % n)
    bad += 1
print("compared %d rows, %d differences" % (len(want), bad))
sys.exit(1 if bad else 0)
PY

# ---- export with header -> import -> export again, equal ------------------------
# One metric: the import's format names the metric; column 1 (__name__) is
# not named, so it is ignored; the header row's metric cell reads __value__.
EXP_FMT='__name__,host,region,__value__,__timestamp__:unix_ms'
curl -fsS -G "$TIDE_URL/api/v1/export/csv" --data-urlencode 'match[]=csv_b_mem' \
    --data-urlencode "format=$EXP_FMT" >"$WORK/b_mem.csv"
assert_eq "header" "$EXP_FMT" "$(head -n 1 "$WORK/b_mem.csv")"
tide_start "$WORK/data2" - --retention 0
FMT_RT=$(urlq '2:label:host,3:label:region,4:metric:csv_b_mem,5:time:unix_ms')
req POST "/api/v1/import/csv?format=$FMT_RT" --data-binary @"$WORK/b_mem.csv"
assert_code 204
curl -fsS -G "$TIDE_URL/api/v1/export/csv" --data-urlencode 'match[]=csv_b_mem' \
    --data-urlencode "format=$EXP_FMT" >"$WORK/b_mem2.csv"
assert_eq "export -> import -> export (rows + header)" "$(wc -l <"$WORK/b_mem.csv")" "$(wc -l <"$WORK/b_mem2.csv")"
cmp -s "$WORK/b_mem.csv" "$WORK/b_mem2.csv" || fail "re-export differs from the first export"

# The same through the CLI, in small requests (the header only in the first);
# --no-header gives the rows alone.
"$TIDE" export --server "$TIDE_URL" --match csv_b_mem --format csv --csv-format "$EXP_FMT" \
    -o "$WORK/cli.csv" 2>/dev/null || fail "tide export csv"
cmp -s "$WORK/b_mem.csv" "$WORK/cli.csv" || fail "tide export csv differs from the endpoint's"
tide_start "$WORK/data3" - --retention 0
"$TIDE" import --server "$TIDE_URL" --batch-bytes 4KiB \
    --csv-format '2:label:host,3:label:region,4:metric:csv_b_mem,5:time:unix_ms' "$WORK/cli.csv" 2>"$WORK/cli_imp.err" ||
    fail "tide import of the export: $(cat "$WORK/cli_imp.err")"
rows=$(( $(wc -l <"$WORK/cli.csv") - 1 ))
assert_contains "header counted as skipped" "imported $rows, refused 0, skipped 1" "$(cat "$WORK/cli_imp.err")"
"$TIDE" export --server "$TIDE_URL" --match csv_b_mem --format csv --csv-format "$EXP_FMT" \
    -o "$WORK/cli2.csv" 2>/dev/null || fail "tide export csv (copy)"
cmp -s "$WORK/cli.csv" "$WORK/cli2.csv" || fail "CLI export -> import -> export differs"
"$TIDE" export --server "$TIDE_URL" --match csv_b_mem --format csv --csv-format "$EXP_FMT" --no-header \
    -o "$WORK/cli3.csv" 2>/dev/null || fail "tide export --no-header"
assert_eq "--no-header" "$(tail -n +2 "$WORK/cli.csv" | sha256sum)" "$(sha256sum <"$WORK/cli3.csv")"
log "ok"
