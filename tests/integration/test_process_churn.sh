#!/usr/bin/env bash
# test_process_churn.sh: top-process series do not churn (issue 16 item 2).
# `tide serve` collects this host every 200 ms while a loop starts a busy
# `yes` process every 0.3 s under a new pid. After ~30 collections the
# tide_process_* series carry name and user, never pid; the `yes` group is
# one series whatever pids it went through (its pid is a value, changing),
# and there is one series per (name, user) and metric: bounded by the
# process names the host runs, not by the processes started.
. "$(dirname "$0")/lib.sh"

# Top 100 (the most there is): on a loaded machine (a build, other tests)
# five busier processes than `yes` are common, and the check is about
# series per group, not ranking.
tide_start "$WORK/data" - --collect-host true --collect-interval 200ms --collect-top-n 100

( for _ in $(seq 1 25); do timeout 0.3 yes >/dev/null; done ) &
LOOP=$!
PIDS+=("$LOOP")
sleep 7
wait "$LOOP" 2>/dev/null || true

req GET /api/v1/series --data-urlencode 'match[]={__name__=~"tide_process_.*"}' -G
assert_code 200
json_ok 'all("pid" not in s for s in j["data"])'
json_ok 'all({"__name__", "name", "user"} <= set(s) for s in j["data"])'
json_ok 'sum(1 for s in j["data"] if s["__name__"] == "tide_process_cpu_usage_ratio" and s["name"] == "yes") == 1'
json_ok 'len(set(s["__name__"] for s in j["data"])) == 4'
# one series per (name, user) and metric: a pid label would make one per
# process (the 25 `yes` processes alone made 25 before)
json_ok 'len(j["data"]) == len(set((s["__name__"], s["name"], s["user"]) for s in j["data"]))'
nratio=$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin)["data"] if s["__name__"]=="tide_process_cpu_usage_ratio"))')
# the pid is kept as a value, and it changed as `yes` restarted
req GET /api/v1/export --data-urlencode 'match[]=tide_process_pid{name="yes"}' -G
npids=$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(len(set(v for l in sys.stdin if l.strip() for v in json.loads(l)["values"])))')
[ "$npids" -ge 2 ] || fail "tide_process_pid{name=yes} took $npids values; want the restarts' pids"
log "ok: $nratio series for $npids pids of yes"
