#!/usr/bin/env bash
# test_agent_liveness.sh: issue 16 item 1. `tide agent --interval 500ms`
# collects every 0.5 s but sends in batches (--batch-max-wait, default 5 s);
# GET /api/v1/agents must judge liveness from that send cadence, so once the
# agent is listed up it is never listed down while it runs. Polls every
# 200 ms for ~12 s (two or more whole batch periods). Then the agent is
# stopped and must turn down within the documented window (3 x 5 s here).
source "$(dirname "$0")/lib.sh"

INSTANCE="it-liveness-$$"
tide_start "$WORK/data" -

# --remote-write-url (no --server): no config poll, so the server only knows
# what the agent's writes tell it.
"$TIDE" agent --remote-write-url "$TIDE_URL/api/v1/write" --queue-dir "$WORK/queue" \
    --instance "$INSTANCE" --interval 500ms --log-level debug >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")

# watch SECONDS: poll the listing every 200 ms; print "first_up flips polls".
watch() {
    python3 - "$TIDE_URL" "$INSTANCE" "$1" <<'PY'
import json, sys, time, urllib.request
url, inst, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
first_up, flips, polls, downs = None, 0, 0, []
t0 = time.monotonic()
while time.monotonic() - t0 < secs:
    with urllib.request.urlopen(url + "/api/v1/agents", timeout=10) as r:
        data = json.load(r)["data"]
    polls += 1
    mine = [a for a in data if a["instance"] == inst]
    up = bool(mine) and mine[0]["up"]
    if up and first_up is None:
        first_up = time.monotonic() - t0
    elif first_up is not None and not up:
        flips += 1
        downs.append(mine[0] if mine else None)
    time.sleep(0.2)
print(-1 if first_up is None else round(first_up, 1), flips, polls)
for d in downs[:3]:
    print("down:", json.dumps(d), file=sys.stderr)
PY
}

read -r FIRST_UP FLIPS POLLS < <(watch 20)
log "first up after ${FIRST_UP}s, $POLLS polls, $FLIPS reported down after the first up"
[ "$FIRST_UP" != -1 ] || fail "the agent was never listed up in 20 s"
assert_eq "polls reporting the running agent down after it was up" 0 "$FLIPS"

req GET "/api/v1/agents"
json_ok "any(a['instance'] == '$INSTANCE' and a['up'] and a['flushInterval'] == '5s' for a in j['data'])"

kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || fail "tide agent exited with $? after SIGTERM, want 0"
agent_down() {
    req GET "/api/v1/agents"
    printf '%s' "$BODY" | "${JSONTOOL[@]}" check \
        "any(a['instance'] == '$INSTANCE' and not a['up'] for a in j['data'])"
}
for i in $(seq 1 150); do
    agent_down && break
    sleep 0.2
done
agent_down || fail "the stopped agent is still listed up after 30 s: $BODY"
log "stopped agent listed down"
tide_stop "$TIDE_PID"
