#!/usr/bin/env bash
# test_agent_server.sh: `tide agent --server URL` against a real `tide serve`:
# the agent's samples land in the server (remote write to URL/api/v1/write),
# the server lists it in GET /api/v1/agents as up, a POST to
# /api/v1/agent/config changes the agent's collection interval within one
# poll (seen in the agent's log and in the spacing of its samples), clearing
# it restores the agent's own --interval, and a stopped agent turns down
# after 3 intervals. Needs main.c to dispatch `agent` and the router to send
# /api/v1/agents and /api/v1/agent/config to agents_route() (api/agents.h).
source "$(dirname "$0")/lib.sh"

INSTANCE="it-server-agent-$$"
tide_start "$WORK/data" -
req GET "/api/v1/agents"
[ "$CODE" != 404 ] || fail "tide serve does not route /api/v1/agents (see src/api/agents.h)"
assert_code 200

"$TIDE" agent --server "$TIDE_URL/" --queue-dir "$WORK/queue" --instance "$INSTANCE" \
    --interval 2s --batch-max-wait 300ms --log-level debug >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")

# wait_for WHAT CMD...: retry CMD for up to 15 s.
wait_for() {
    local what=$1 i
    shift
    for i in $(seq 1 75); do
        "$@" && return 0
        sleep 0.2
    done
    fail "timed out waiting for $what"
}

agent_listed_up() {
    req GET "/api/v1/agents"
    [ "$CODE" = 200 ] && printf '%s' "$BODY" | "${JSONTOOL[@]}" check \
        "any(a['instance'] == '$INSTANCE' and a['up'] and a['job'] == 'tide-agent' for a in j['data'])"
}
wait_for "the agent in /api/v1/agents" agent_listed_up
log "listed: $(printf '%s' "$BODY" | head -c 300)"

# spacing_ms: the gap between the last two tide_host_info samples of the agent.
spacing_ms() {
    curl -fsS -G --data-urlencode "match[]=tide_host_info{instance=\"$INSTANCE\"}" \
        "$TIDE_URL/api/v1/export" | python3 -c '
import json, sys
ts = sorted(t for l in sys.stdin if l.strip() for t in json.loads(l)["timestamps"])
print(ts[-1] - ts[-2] if len(ts) > 1 else 999999)'
}

req POST "/api/v1/agent/config" --data-urlencode "instance=$INSTANCE" --data "interval=500ms"
assert_code 200
json_ok "j['data']['interval'] == '500ms'"
req GET "/api/v1/agent/config?instance=$INSTANCE"
json_ok "j['data'] == {'instance': '$INSTANCE', 'interval': '500ms'}"
wait_for "the agent to take the 500ms interval" \
    grep -q "interval 2000 ms -> 500 ms (server config)" "$WORK/agent.log"
fast() { [ "$(spacing_ms)" -le 800 ]; }
wait_for "samples 500 ms apart" fast
log "interval pushed live: samples now $(spacing_ms) ms apart"

req POST "/api/v1/agent/config" --data-urlencode "instance=$INSTANCE" --data "interval="
assert_code 200
wait_for "the agent to return to its own 2s" \
    grep -q "interval 500 ms -> 2000 ms (server config cleared)" "$WORK/agent.log"

kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || fail "tide agent exited with $? after SIGTERM, want 0"
# With a desired interval of 500ms the server expects a sample every 0.5 s:
# after 1.5 s without one, the agent is down.
req POST "/api/v1/agent/config" --data-urlencode "instance=$INSTANCE" --data "interval=500ms"
agent_listed_down() {
    req GET "/api/v1/agents"
    printf '%s' "$BODY" | "${JSONTOOL[@]}" check \
        "any(a['instance'] == '$INSTANCE' and not a['up'] and a['intervalSource'] == 'config' for a in j['data'])"
}
wait_for "the stopped agent to be listed down" agent_listed_down
grep -q "config poll of .* failed\|HTTP 404" "$WORK/agent.log" &&
    fail "the agent could not poll its config: $(grep 'config poll' "$WORK/agent.log" | head -3)"
tide_stop "$TIDE_PID"
log "agents listing and live configuration ok"
