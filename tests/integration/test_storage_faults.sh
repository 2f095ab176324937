#!/usr/bin/env bash
# test_storage_faults.sh: storage under a full disk and damaged files.
#
# 1. Full disk, for each fsync policy: the data directory is a small tmpfs
#    (a real ENOSPC). Batches of 500 samples are posted until the server
#    answers 507 (Insufficient Storage, with a Prometheus-style error body);
#    every batch answered 204 is recorded. Then SIGTERM (exit status 0: the
#    WAL keeps what the head cut could not write), the tmpfs is remounted
#    bigger, the server restarted, and every acknowledged sample must be
#    readable through /api/v1/export.
# 2. A stray or damaged .blk file is moved to DIR/quarantine/ at start-up,
#    counted in /metrics and /api/v1/status/storage, and the server starts.
# 3. Export of a block whose page is damaged: a damaged first series is
#    refused before the 200; damage met mid-stream ends the chunked body with
#    an explicit error line instead of a silent truncation.
# Needs root (mount -t tmpfs); CI and the dev container run as root.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || fail "needs root to mount a tmpfs (a real ENOSPC)"

MNT="$WORK/mnt"
mkdir -p "$MNT"
MOUNTED=0
umount_mnt() {
    if [ "$MOUNTED" = 1 ]; then
        umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
        MOUNTED=0
    fi
}
# lib.sh's EXIT trap kills our servers and reports; unmount after it.
trap 'rc=$?; umount_mnt; (exit $rc); lib_cleanup' EXIT

NOW_S=$(date +%s)
T0_S=$((NOW_S - 3600))

# batch I: enospc{k="0".."49"} at T0 + I*10 + 0..9 s, value I*1000+k*10+s,
# in $WORK/batches/I, made once for every round (one awk, not one per batch).
NBATCH=400
mkdir -p "$WORK/batches"
awk -v n="$NBATCH" -v t0="$T0_S" -v dir="$WORK/batches" 'BEGIN {
    for (i = 0; i < n; i++) {
        f = dir "/" i
        for (k = 0; k < 50; k++)
            for (s = 0; s < 10; s++)
                printf "enospc,k=%d value=%.0f %.0f\n", k, i * 1000 + k * 10 + s, t0 + i * 10 + s > f
        close(f)
    }
}'

full_disk_round() {
    local policy=$1
    mount -t tmpfs -o size=1m tmpfs "$MNT" || fail "mount tmpfs"
    MOUNTED=1
    local data="$MNT/data" acked="$WORK/acked-$policy" got507
    : >"$acked"
    tide_start "$data" - --fsync "$policy" --head-cut-on-stop true
    # One client on one connection posts the batches in order until the third
    # 507: each 204 is appended to $acked, the first 507's body is kept.
    got507=$(python3 - "$TIDE_PORT" "$WORK/batches" "$NBATCH" "$acked" "$WORK/resp.body" <<'EOF'
import http.client, sys
port, bdir, n, acked, first = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
got507 = 0
with open(acked, "a") as out:
    for i in range(n):
        body = open("%s/%d" % (bdir, i), "rb").read()
        conn.request("POST", "/write?precision=s", body)
        r = conn.getresponse()
        data = r.read()
        if r.status == 204:
            out.write("%d\n" % i)
            out.flush()
        elif r.status == 507:
            got507 += 1
            if got507 == 1:
                open(first, "wb").write(data)
            if got507 >= 3:
                break
        else:
            sys.stderr.write("batch %d: HTTP %d, want 204 or 507: %r\n" % (i, r.status, data[:500]))
            sys.exit(1)
print(got507)
EOF
) || fail "fsync=$policy: a write was answered with neither 204 nor 507"
    BODY=$(cat "$WORK/resp.body" 2>/dev/null || true)
    json_ok 'j["status"] == "error" and j["errorType"] == "storage_full" and "no space" in j["error"].lower()'
    [ "$got507" -ge 3 ] || fail "fsync=$policy: the 1 MiB disk never filled"
    local nacked
    nacked=$(wc -l <"$acked")
    [ "$nacked" -gt 5 ] || fail "fsync=$policy: only $nacked batches acknowledged before 507"
    local stop_log=$TIDE_LOG
    tide_stop "$TIDE_PID"
    # With head_cut_on_stop, the head cut at shutdown had no room for its blocks: logged, WAL kept.
    grep -q "storage: head_cut: .*No space left" "$stop_log" ||
        fail "fsync=$policy: the failed head cut at shutdown was not logged: $(tail -n 5 "$stop_log")"
    mount -o remount,size=64m "$MNT" || fail "remount bigger"
    tide_start "$data" -
    curl -fsS -G --data-urlencode 'match[]=enospc' "$TIDE_URL/api/v1/export" >"$WORK/export-$policy" ||
        fail "export after restart"
    python3 - "$acked" "$WORK/export-$policy" "$T0_S" <<'EOF' || fail "fsync=$policy: acknowledged samples lost"
import json, sys
acked = [int(x) for x in open(sys.argv[1]) if x.strip()]
t0 = int(sys.argv[3])
have = {}
for line in open(sys.argv[2]):
    o = json.loads(line)
    k = int(o["metric"]["k"])
    for t, v in zip(o["timestamps"], o["values"]):
        have[(k, t)] = v
lost = 0
for i in acked:
    for k in range(50):
        for s in range(10):
            t = (t0 + i * 10 + s) * 1000
            if have.get((k, t)) != i * 1000 + k * 10 + s:
                lost += 1
print("acknowledged batches %d, samples %d, lost %d" % (len(acked), len(acked) * 500, lost))
sys.exit(1 if lost else 0)
EOF
    log "fsync=$policy: $nacked batches ($((nacked * 500)) samples) acknowledged before 507, all readable after restart"
    tide_stop "$TIDE_PID"
    umount_mnt
}

for policy in interval never always; do
    full_disk_round "$policy"
done

# ---- 2. stray and damaged block files are quarantined, the server starts ----

# import_random DATA N_SERIES N_SAMPLES: random values (XOR-coded, so several
# block pages), series dmg{s="000".."N-1"} at T0 + i s.
import_random() {
    python3 - "$2" "$3" "$T0_S" <<'EOF2' >"$WORK/random.jsonl"
import json, random, sys
ns, n, t0 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(42)
for k in range(ns):
    print(json.dumps({"metric": {"__name__": "dmg", "s": "%03d" % k},
                      "values": [rnd.random() * 1e6 for _ in range(n)],
                      "timestamps": [(t0 + i) * 1000 for i in range(n)]}))
EOF2
    req POST /api/v1/import --data-binary @"$WORK/random.jsonl"
    assert_code 204
}

# flip FILE OFFSET: xor one byte (OFFSET < 0 counts from the block's index
# start, i.e. into its last page).
flip() {
    python3 - "$1" "$2" <<'EOF2'
import struct, sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(-64, 2)
    index_off = struct.unpack("<Q", f.read(8))[0]
    if off < 0:
        off = index_off + off
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0x20]))
EOF2
}

DATA2="$WORK/data2"
tide_start "$DATA2" - --head-cut-on-stop true
import_random "$DATA2" 3 100
tide_stop "$TIDE_PID"
BLK=$(find "$DATA2/blocks" -name '*.blk' | head -n 1)
[ -n "$BLK" ] || fail "no block written at shutdown"
PART_DIR=$(dirname "$BLK")
head -c 4096 /dev/urandom >"$PART_DIR/00000077.blk"       # junk
mkdir -p "$DATA2/blocks/86400000"
cp "$BLK" "$DATA2/blocks/86400000/00000078.blk"         # a valid block in the wrong partition
tide_start "$DATA2" -
n=$(find "$DATA2/quarantine" -name '*.blk*' | wc -l)
[ "$n" -eq 2 ] || fail "want 2 files in quarantine, got $n: $(ls "$DATA2/quarantine" 2>&1)"
[ ! -e "$PART_DIR/00000077.blk" ] || fail "the junk block is still in place"
grep -q "storage: block_load: block .*00000077.blk is damaged" "$TIDE_LOG" ||
    fail "quarantine not logged: $(cat "$TIDE_LOG")"
req GET /metrics
assert_contains "metrics" "tide_storage_blocks_quarantined_total 2" "$BODY"
assert_contains "metrics" 'tide_storage_background_errors_total{job="compaction"} 0' "$BODY"
req GET /api/v1/status/storage
json_ok 'j["data"]["totals"]["blocksQuarantined"] == 2 and j["data"]["totals"]["backgroundErrors"]["head_cut"] == 0'
req GET /api/v1/status/runtimeinfo
json_ok 'j["data"]["corruptionCount"] == 2'
n=$(export_canon 'dmg' | wc -l)
[ "$n" -eq 3 ] || fail "want the 3 series of the good block, got $n"
tide_stop "$TIDE_PID"
log "quarantine: 2 bad block files set aside, server started, good block served"

# ---- 3. export of a block damaged at read time ----

DATA3="$WORK/data3"
tide_start "$DATA3" - --head-cut-on-stop true
import_random "$DATA3" 20 3000
tide_stop "$TIDE_PID"
BLK=$(find "$DATA3/blocks" -name '*.blk' | head -n 1)
cp "$BLK" "$WORK/good.blk"
flip "$BLK" -40 # inside the last page: the last series in label order
tide_start "$DATA3" -
rc=0
code=$(curl -sS -o "$WORK/export3" -w '%{http_code}' -G --data-urlencode 'match[]=dmg' \
    "$TIDE_URL/api/v1/export" 2>"$WORK/curl3.err") || rc=$?
assert_eq "status of an export damaged mid-stream" 200 "$code"
[ "$rc" -ne 0 ] || fail "curl saw a complete transfer; want it aborted (exit 18)"
last=$(tail -n 1 "$WORK/export3")
BODY=$last
json_ok '"error" in j and "incomplete" in j["error"] and "metric" not in j'
good=$(grep -c '"metric"' "$WORK/export3" || true)
[ "$good" -ge 1 ] && [ "$good" -lt 20 ] || fail "want some series before the error line, got $good"
log "export damaged mid-stream: 200, $good series, then the error line; curl exit $rc"
tide_stop "$TIDE_PID"

cp "$WORK/good.blk" "$BLK"
flip "$BLK" 40 # inside the first page: the first series
tide_start "$DATA3" -
req GET "/api/v1/export?match[]=dmg"
assert_code 500
json_ok 'j["status"] == "error" and j["errorType"] == "internal"'
log "export damaged in its first series: 500 before any byte"
tide_stop "$TIDE_PID"

log "ok"
