#!/usr/bin/env bash
# test_crash.sh: with --fsync always, an acknowledged write survives SIGKILL.
#
# A writer loop posts small batches (5 series, one sample each, values and
# timestamps derived from the batch number) and records every batch answered
# 204. Meanwhile the server is SIGKILLed at a random moment and restarted on
# the same port and data directory, several rounds. At the end every
# recorded batch must be present with its exact values; batches that were
# not acknowledged may or may not be there, but nothing else may be.
. "$(dirname "$0")/lib.sh"

ROUNDS=${CRASH_ROUNDS:-4}
NOW_S=$(date +%s)
BASE_MS=$(((NOW_S - 3600) * 1000))
DATA="$WORK/data"
ACKED="$WORK/acked"
STOP="$WORK/stop-writer"
: >"$ACKED"

tide_start "$DATA" - --fsync always
PORT=$TIDE_PORT
URL=$TIDE_URL

# writer: batch i writes crash{s="k"} = i*10+k at BASE_MS + i*100, k = 0..4.
writer() {
    local i=0 body k code
    while [ ! -e "$STOP" ]; do
        body=""
        for k in 0 1 2 3 4; do
            body+="crash,s=$k value=$((i * 10 + k)) $((BASE_MS + i * 100))"$'\n'
        done
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --data-binary "$body" \
            "$URL/write?precision=ms" 2>/dev/null) || true
        if [ "$code" = 204 ]; then
            echo "$i" >>"$ACKED"
        fi
        i=$((i + 1))
    done
}
writer &
WRITER=$!
PIDS+=("$WRITER")

for round in $(seq 1 "$ROUNDS"); do
    # Let the writer get some batches in, then kill at a random moment.
    sleep "$(python3 -c 'import random; print(round(random.uniform(0.6, 1.6), 2))')"
    tide_kill "$TIDE_PID"
    log "round $round: SIGKILL after $(wc -l <"$ACKED") acknowledged batches in total"
    sleep 0.2
    tide_start "$DATA" "$PORT" --fsync always
done
sleep 1
touch "$STOP"
wait "$WRITER" || true
tide_kill "$TIDE_PID"
tide_start "$DATA" "$PORT" --fsync always

nacked=$(wc -l <"$ACKED")
[ "$nacked" -ge 20 ] || fail "only $nacked batches acknowledged; the writer did not get going"

curl -fsS -G --data-urlencode 'match[]=crash' "$TIDE_URL/api/v1/export" >"$WORK/export.jsonl"
python3 - "$ACKED" "$WORK/export.jsonl" "$BASE_MS" <<'PY'
import json, sys
acked_file, export_file, base = sys.argv[1], sys.argv[2], int(sys.argv[3])
acked = sorted({int(l) for l in open(acked_file) if l.strip()})
got = {}
for line in open(export_file):
    if not line.strip():
        continue
    o = json.loads(line)
    k = int(o["metric"]["s"])
    for t, v in zip(o["timestamps"], o["values"]):
        got[(k, t)] = v
missing, wrong = [], []
for i in acked:
    for k in range(5):
        key = (k, base + i * 100)
        if key not in got:
            missing.append((i, k))
        elif float(got[key]) != float(i * 10 + k):
            wrong.append((i, k, got[key]))
# Anything present must be a batch the writer sent, with its exact value.
for (k, t), v in got.items():
    i, rem = divmod(t - base, 100)
    if rem != 0 or float(v) != float(i * 10 + k):
        wrong.append(("unexpected", k, t, v))
if missing or wrong:
    print("acknowledged batches: %d; missing samples: %d %s; wrong: %d %s"
          % (len(acked), len(missing), missing[:10], len(wrong), wrong[:10]))
    sys.exit(1)
print("all %d acknowledged batches (%d samples) present and exact; %d samples stored"
      % (len(acked), 5 * len(acked), len(got)))
PY
tide_stop "$TIDE_PID"
log "PASS"
