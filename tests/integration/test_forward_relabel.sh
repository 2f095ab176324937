#!/usr/bin/env bash
# test_forward_relabel.sh: write_relabel_configs on a `remote_write:`
# endpoint, with Prometheus' semantics, forwarding into a second `tide
# serve` (its /api/v1/write is a remote-write receiver): series named
# secret_* are dropped, the label `internal` is removed, `dc` is added from
# `host`'s prefix; the receiver holds exactly what the rules let through,
# and tide_remote_storage_samples_dropped_total counts what they dropped.
# A bad rule is refused at start with its line:col.
. "$(dirname "$0")/lib.sh"

tide_start "$WORK/recv" - --retention 0
RECV_URL=$TIDE_URL
RECV_PID=$TIDE_PID
cat >"$WORK/tide.yml" <<YML
remote_write:
  - url: $RECV_URL/api/v1/write
    name: recv
    queue_config: {batch_send_deadline: 100ms}
    write_relabel_configs:
      - {source_labels: [__name__], regex: "secret_.*", action: drop}
      - {regex: internal, action: labeldrop}
      - {source_labels: [host], regex: "([a-z]+)-.*", target_label: dc, replacement: "\$1"}
YML
tide_start "$WORK/send" - --retention 0 --config "$WORK/tide.yml"
T=$(( $(date +%s) - 60 ))
req POST "/write?precision=s" --data-binary "public_m,host=fra-1,internal=x value=1 $T
public_m,host=ams-2 value=2 $T
secret_m,host=fra-1 value=3 $T
secret_m,host=ams-2 value=4 $T"
assert_code 204

for _ in $(seq 1 100); do
    n=$(curl -fsS -G "$RECV_URL/api/v1/series" --data-urlencode 'match[]={__name__=~".+"}' |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')
    [ "$n" -ge 2 ] && break
    sleep 0.1
done
curl -fsS -G "$RECV_URL/api/v1/export" --data-urlencode 'match[]={__name__=~".+"}' >"$WORK/recv.jsonl"
python3 - "$WORK/recv.jsonl" <<'PY' || fail "the receiver holds other series than the rules let through: $(cat "$WORK/recv.jsonl")"
import json, sys
got = sorted((json.dumps(json.loads(l)["metric"], sort_keys=True), json.loads(l)["values"]) for l in open(sys.argv[1]))
want = sorted([
    (json.dumps({"__name__": "public_m", "host": "fra-1", "dc": "fra"}, sort_keys=True), [1]),
    (json.dumps({"__name__": "public_m", "host": "ams-2", "dc": "ams"}, sort_keys=True), [2]),
])
sys.exit(0 if got == want else f"got {got}")
PY
req GET /metrics
assert_contains "dropped counted" 'tide_remote_storage_samples_dropped_total{remote_name="recv"' "$BODY"
python3 - "$BODY" <<'PY' || fail "tide_remote_storage_samples_dropped_total is not 2"
import re, sys
m = re.search(r'^tide_remote_storage_samples_dropped_total\{remote_name="recv"[^}]*\} (\S+)$', sys.argv[1], re.M)
sys.exit(0 if m and float(m.group(1)) == 2 else 1)
PY
log "secret_* dropped, internal removed, dc derived; 2 samples counted as dropped"

tide_stop "$TIDE_PID"
cat >"$WORK/bad.yml" <<YML
remote_write:
  - url: $RECV_URL/api/v1/write
    write_relabel_configs:
      - {action: hashmod, source_labels: [a], target_label: b}
YML
if "$TIDE" serve --data "$WORK/bad" --listen 127.0.0.1:0 --collect-host false --config "$WORK/bad.yml" \
    >"$WORK/bad.log" 2>&1; then
    fail "a hashmod rule without modulus was accepted"
fi
assert_contains "position" "bad.yml:4:" "$(cat "$WORK/bad.log")"
log "a bad rule refused with its position"
