#!/usr/bin/env bash
# test_rules_query_backend.sh: rules evaluated by a `query_backend:` — Tide
# with `storage: none` in front of Debian's victoria-metrics (the cluster's
# stand-in), which holds data this test writes to it directly:
#   1. a recording rule's result arrives at VM through remote_write, at the
#      group's aligned evaluation times less its query_offset, and equals
#      what VM computes for the same expression at those times (the input's
#      value is its own timestamp in seconds, so a wrong time would show).
#      The offset is needed with VM: an instant query within a second or two
#      of now does not see the newest samples yet (-search.latencyOffset,
#      0 here, 30 s by default, shifts it further), so asking again later
#      would give another answer (docs/rules.md);
#   2. an alerting rule fires on VM's data: /api/v1/alerts with its
#      template expanded, /api/v1/rules, ALERTS{alertstate="firing"} in VM,
#      and the notification at a webhook;
#   3. a restart while a `for: 1h` alert is pending restores its `for`
#      clock from the ALERTS_FOR_STATE that VM holds (Prometheus' shift by
#      the down time), as there is no local storage to read it from;
#   4. VM stopped: the rules show health "err" with a lastError naming the
#      backend, tide_rule_evaluation_failures_total grows, and ingestion
#      still answers at once (the samples queue for VM);
#   5. VM back: the rules are healthy again and the queued samples arrive;
#   6. a backend that accepts connections and never answers: ingestion and
#      /api/v1/rules answer at once meanwhile, the rules fail with the
#      timeout (query_timeout) as lastError, and a stop is not held up by
#      a request in flight;
#   7. local storage and a query_backend: the rules still read VM (the
#      local storage has no rq_in), their results land in the local storage
#      too, and backfill is refused (`backfill: true` marks nothing).
. "$(dirname "$0")/lib.sh"

vm_setup
vm_flush() { curl -fsS "$VM_URL/internal/force_flush" >/dev/null; }
q() { python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
epoch() { python3 -c 'import sys,datetime; print(datetime.datetime.fromisoformat(sys.argv[1].replace("Z","+00:00")).timestamp())' "$1"; }
active_at() { # active_at ALERTNAME: activeAt of that alert in Tide's /api/v1/alerts, or ""
    curl -fsS "$TIDE_URL/api/v1/alerts" | python3 -c 'import json,sys
a = [x["activeAt"] for x in json.load(sys.stdin)["data"]["alerts"] if x["labels"]["alertname"] == sys.argv[1]]
print(a[0] if a else "")' "$1"
}

vm_start -search.latencyOffset=0s
# The inputs, written to VM directly: rq_in{k} holds its own timestamp in
# seconds, one sample a second from 2 minutes ago to 10 minutes ahead;
# rq_hot{k="a"} is 1 all along.
NOW=$(date +%s)
python3 - "$NOW" >"$WORK/in.prom" <<'PY'
import sys
now = int(sys.argv[1])
for t in range(now - 120, now + 600):
    for k in ("a", "b"):
        print(f'rq_in{{k="{k}"}} {t} {t * 1000}')
    print(f'rq_hot{{k="a"}} 1 {t * 1000}')
PY
curl -fsS -X POST --data-binary @"$WORK/in.prom" "$VM_URL/api/v1/import/prometheus" ||
    fail "writing the inputs to VM"
vm_flush

# A webhook receiver keeping each notification as one JSON line.
cat >"$WORK/sink.py" <<'PY'
import json, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
signal.alarm(600)  # bounded in time, whatever happens to the test
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps(json.loads(body)) + "\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
spawn_ready sink /ready 100 python3 "$WORK/sink.py" @PORT@ "$WORK/hooks.jsonl" ||
    fail "the webhook receiver did not start"
HOOK_URL="http://127.0.0.1:$SPAWN_PORT/hook"

cat >"$WORK/tide.yml" <<YML
storage: none
query_backend: $VM_URL
remote_write:
  - url: $VM_URL/api/v1/write
    name: vm
    remote_timeout: 2s
    queue_config: {batch_send_deadline: 100ms, min_backoff: 50ms, max_backoff: 500ms}
rule_files: [rules.yml]
global:
  evaluation_interval: 1s
alerting:
  for_grace_period: 1s
  webhooks:
    - url: $HOOK_URL
YML
cat >"$WORK/rules.yml" <<'YML'
groups:
  - name: rq
    query_offset: 5s
    rules:
      - record: rq:in:max
        expr: max by (k) (rq_in)
        labels: {via: backend}
      - alert: RqHot
        expr: rq_hot > 0
        for: 2s
        labels: {severity: page}
        annotations: {summary: "{{ $labels.k }} is {{ $value }}"}
      - alert: RqSlow
        expr: rq_hot > 0
        for: 1h
YML

tide_start "$WORK/data" - --config "$WORK/tide.yml"
[ ! -d "$WORK/data/wal" ] || fail "storage: none created a WAL"
grep -q "rules are evaluated by the query backend" "$TIDE_LOG" || fail "no word of the backend in the log"

# 2. the alert fires on VM's data (checked first: it takes the longest).
poll 30 /api/v1/alerts '[(a["state"], a["labels"]["severity"], a["annotations"]["summary"]) for a in j["data"]["alerts"] if a["labels"]["alertname"] == "RqHot"] == [("firing", "page", "a is 1")]'
req GET /api/v1/rules
json_ok '{r["name"]: (r["health"], r.get("lastError", "")) for g in j["data"]["groups"] for r in g["rules"]} == {"rq:in:max": ("ok", ""), "RqHot": ("ok", ""), "RqSlow": ("ok", "")}'
json_ok '{r["name"]: r.get("state") for g in j["data"]["groups"] for r in g["rules"] if r["type"] == "alerting"} == {"RqHot": "firing", "RqSlow": "pending"}'
for _ in $(seq 1 50); do
    vm_flush
    curl -fsS "$VM_URL/api/v1/query?query=$(q 'ALERTS{alertname="RqHot",alertstate="firing"}')" >"$WORK/alerts.json"
    grep -q '"severity":"page"' "$WORK/alerts.json" && break
    sleep 0.2
done
json_ok 'len(j["data"]["result"]) == 1 and j["data"]["result"][0]["metric"]["k"] == "a"' "$(cat "$WORK/alerts.json")"
for _ in $(seq 1 50); do
    grep -q '"RqHot"' "$WORK/hooks.jsonl" 2>/dev/null && break
    sleep 0.2
done
python3 - "$WORK/hooks.jsonl" <<'PY' || fail "no RqHot notification at the webhook"
import json, sys
alerts = [a for l in open(sys.argv[1]) if l.strip() for a in json.loads(l)["alerts"]
          if a["labels"]["alertname"] == "RqHot"]
assert alerts, "none"
a = alerts[0]
assert a["status"] == "firing" and a["labels"]["k"] == "a" and a["annotations"]["summary"] == "a is 1", a
PY
log "RqHot fires on VM's data, ALERTS reached VM, the webhook was notified"

# 1. the recorded series in VM equal VM's own answer at each evaluation time.
for _ in $(seq 1 50); do
    vm_flush
    curl -fsS -G --data-urlencode 'match[]=rq:in:max' "$VM_URL/api/v1/export" >"$WORK/rec.jsonl"
    [ "$(python3 -c 'import json,sys; print(min([len(json.loads(l)["values"]) for l in open(sys.argv[1]) if l.strip()] or [0]))' "$WORK/rec.jsonl")" -ge 3 ] &&
        [ "$(grep -c . "$WORK/rec.jsonl")" = 2 ] && break
    sleep 0.2
done
python3 - "$WORK/rec.jsonl" "$VM_URL" <<'PY' || fail "the recorded series differ from VM's answers"
import json, sys, urllib.parse, urllib.request
path, vm = sys.argv[1], sys.argv[2]
series = [json.loads(l) for l in open(path) if l.strip()]
assert sorted(s["metric"]["k"] for s in series) == ["a", "b"], series
checked = 0
for s in series:
    m = s["metric"]
    assert m == {"__name__": "rq:in:max", "k": m["k"], "via": "backend"}, m
    ts = s["timestamps"]
    # one sample per evaluation, on the group's grid (1 s apart, same phase)
    assert all((b - a) % 1000 == 0 and b > a for a, b in zip(ts, ts[1:])), ts
    for t, v in list(zip(ts, s["values"]))[-5:]:
        q = urllib.parse.urlencode({"query": 'max by (k) (rq_in{k="%s"})' % m["k"],
                                    "time": "%d.%03d" % (t // 1000, t % 1000)})
        ans = json.load(urllib.request.urlopen(f"{vm}/api/v1/query?{q}"))
        res = ans["data"]["result"]
        assert len(res) == 1, ans
        want = float(res[0]["value"][1])
        assert v == want, (m["k"], t, v, want)
        assert v == t // 1000, (m["k"], t, v)  # the input's last sample at or before t
        checked += 1
print(f"{checked} recorded samples equal VM's answers at their evaluation times")
PY

# 3. restart while RqSlow (for: 1h) is pending: its for clock is restored
# from VM's ALERTS_FOR_STATE (there is no local storage to read). Restored,
# it is active since about R - (STOP - A) + 7 (2 evaluations before the
# restore, the 5 s query_offset of the last ALERTS_FOR_STATE sample);
# started afresh it would be active since R or later.
sleep 15
A=$(active_at RqSlow)
[ -n "$A" ] || fail "RqSlow is not pending"
tide_stop "$TIDE_PID"
STOP=$(date +%s)
vm_flush
sleep 2
R=$(date +%s)
tide_start "$WORK/data" - --config "$WORK/tide.yml"
ok=0
for _ in $(seq 1 100); do
    A2=$(active_at RqSlow)
    if [ -n "$A2" ] && python3 -c "import sys; sys.exit(0 if $(epoch "$A2") < $R - 3 else 1)"; then
        ok=1
        break
    fi
    sleep 0.2
done
[ $ok = 1 ] || fail "RqSlow's for state was not restored from VM: active since $A before the stop at $STOP, now ${A2:-none} (restart at $R)"
python3 -c "
a, a2, stop, r = $(epoch "$A"), $(epoch "$A2"), $STOP, $R
down = a2 - a
assert 0 < down < (r - stop) + 15, (a, a2, stop, r)
print(f'RqSlow restored: active since {a2:.0f}, shifted by the {down:.0f} s down time')"

# 4. backend down: health err with the reason, failures counted, ingestion unhindered.
failures_before=$(curl -fsS "$TIDE_URL/metrics" | awk '$1 ~ /^tide_rule_evaluation_failures_total/ {s += $2} END {print s + 0}')
vm_stop
poll 30 /api/v1/rules '{r["name"]: r["health"] for g in j["data"]["groups"] for r in g["rules"]} == {"rq:in:max": "err", "RqHot": "err", "RqSlow": "err"}'
json_ok 'all(r["lastError"].startswith("query_backend: GET ") for g in j["data"]["groups"] for r in g["rules"])'
log "with VM down: $(printf '%s' "$BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["groups"][0]["rules"][0]["lastError"])')"
failures_after=$(curl -fsS "$TIDE_URL/metrics" | awk '$1 ~ /^tide_rule_evaluation_failures_total/ {s += $2} END {print s + 0}')
[ "$failures_after" -gt "$failures_before" ] ||
    fail "tide_rule_evaluation_failures_total did not grow ($failures_before -> $failures_after)"
t0=$(date +%s%3N)
printf 'rq_written{k="down"} 7 %s000\n' "$(date +%s)" >"$WORK/down.prom"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X POST --data-binary @"$WORK/down.prom" \
    "$TIDE_URL/api/v1/import/prometheus") || fail "ingestion with the backend down did not answer"
took=$(($(date +%s%3N) - t0))
assert_eq "import status with the backend down" 204 "$code"
[ "$took" -lt 2000 ] || fail "ingestion took ${took} ms with the backend down"
pending=$(curl -fsS "$TIDE_URL/metrics" | awk '$1 ~ /^tide_remote_storage_samples_pending/ {s += $2} END {print s + 0}')
[ "$pending" -gt 0 ] || fail "the sample written with VM down is not queued"
log "ingestion answered in ${took} ms with VM down; $pending samples queued"

# 5. VM back: healthy again, the queued sample delivered.
vm_start -search.latencyOffset=0s
poll 30 /api/v1/rules '{r["name"]: r["health"] for g in j["data"]["groups"] for r in g["rules"]} == {"rq:in:max": "ok", "RqHot": "ok", "RqSlow": "ok"}'
for _ in $(seq 1 100); do
    vm_flush
    n=$(curl -fsS -G --data-urlencode 'match[]=rq_written' "$VM_URL/api/v1/export" | grep -c '"down"' || true)
    [ "$n" = 1 ] && break
    sleep 0.2
done
[ "$n" = 1 ] || fail "the sample written during the outage did not reach VM"
tide_stop "$TIDE_PID"

# 6. a backend that never answers.
SLOW_PORT=$(free_port)
python3 -c '
import signal, socket, sys
signal.alarm(120)  # bounded in time, whatever happens to the test
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)  # read nothing, answer nothing
' "$SLOW_PORT" >"$WORK/slow.log" 2>&1 &
SLOW_PID=$!
PIDS+=("$SLOW_PID")
for _ in $(seq 1 50); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$SLOW_PORT" 2>/dev/null && break
    sleep 0.1
done
sed -e "s|^query_backend:.*|query_backend: http://127.0.0.1:$SLOW_PORT|" "$WORK/tide.yml" >"$WORK/slow.yml"
printf 'query_timeout: 3s\n' >>"$WORK/slow.yml"
tide_start "$WORK/slow-data" - --config "$WORK/slow.yml"
sleep 1.5 # the groups' first evaluations are waiting on the backend now
t0=$(date +%s%3N)
printf 'rq_written{k="slow"} 8 %s000\n' "$(date +%s)" >"$WORK/slow.prom"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X POST --data-binary @"$WORK/slow.prom" \
    "$TIDE_URL/api/v1/import/prometheus") || fail "ingestion with a hanging backend did not answer"
assert_eq "import status with a hanging backend" 204 "$code"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$TIDE_URL/api/v1/rules") ||
    fail "/api/v1/rules with a hanging backend did not answer"
assert_eq "/api/v1/rules with a hanging backend" 200 "$code"
took=$(($(date +%s%3N) - t0))
[ "$took" -lt 2000 ] || fail "ingestion and /api/v1/rules took ${took} ms with a hanging backend"
poll 20 /api/v1/rules 'all(r["health"] == "err" and r["lastError"].startswith("query_backend: GET ") and "timed out" in r["lastError"] for g in j["data"]["groups"] for r in g["rules"])'
log "hanging backend: $(printf '%s' "$BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["groups"][0]["rules"][0]["lastError"])')"
sleep 1 # a new round of requests is in flight again
t0=$(date +%s%3N)
tide_stop "$TIDE_PID"
took=$(($(date +%s%3N) - t0))
[ "$took" -lt 5000 ] || fail "stopping took ${took} ms with requests to a hanging backend in flight"
log "stopped in ${took} ms with requests to the hanging backend in flight"

# 7. local storage + query_backend.
sed -e '/^storage: none/d' "$WORK/tide.yml" >"$WORK/local.yml"
sed -e 's/^    query_offset: 5s/    query_offset: 5s\n    backfill: true/' "$WORK/rules.yml" >"$WORK/local-rules.yml"
sed -i 's/^rule_files: .*/rule_files: [local-rules.yml]/' "$WORK/local.yml"
grep -q 'backfill: true' "$WORK/local-rules.yml" || fail "test setup: no backfill key"
tide_start "$WORK/local-data" - --config "$WORK/local.yml"
# (/api/v1/query would ask VM: the export reads the local storage)
for _ in $(seq 1 100); do
    n=$(curl -fsS -G --data-urlencode 'match[]=rq:in:max' "$TIDE_URL/api/v1/export" | grep -c '"via":"backend"' || true)
    [ "$n" = 2 ] && break
    sleep 0.2
done
assert_eq "recorded series in the local storage" 2 "$n"
n=$(curl -fsS -G --data-urlencode 'match[]=rq_in' "$TIDE_URL/api/v1/export" | grep -c . || true)
assert_eq "rq_in series in the local storage (the rules read VM)" 0 "$n"
req GET /api/v1/rules
json_ok 'all("backfill" not in r and r["health"] == "ok" for g in j["data"]["groups"] for r in g["rules"])'
req POST /api/v1/rules/backfill --data-urlencode "from=$((NOW - 60))" --data-urlencode "to=$NOW"
assert_code 400
assert_contains "backfill refusal" "not available when rules are evaluated by a query_backend" "$BODY"
tide_stop "$TIDE_PID"
log "local storage + query_backend: records stored locally, backfill refused"

# storage: none with rule files and no query_backend is refused at start.
sed '/^query_backend:/d' "$WORK/tide.yml" >"$WORK/bad.yml"
if timeout 20 "$TIDE" serve --data "$WORK/bad" --listen 127.0.0.1:0 --collect-host false --config "$WORK/bad.yml" >"$WORK/bad.log" 2>&1; then
    fail "storage: none with rule_files and no query_backend was accepted"
fi
grep -q "rules need a query_backend" "$WORK/bad.log" || fail "unclear refusal: $(cat "$WORK/bad.log")"
log "ok"
