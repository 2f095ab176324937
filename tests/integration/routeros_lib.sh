# routeros_lib.sh: helpers of the RouterOS tests (sourced after lib.sh):
# start the API simulator (routeros_sim.py) and talk to its control port.
#
#   sim_start ARGS...   start `routeros_sim.py serve ARGS` (bounded: it
#                       exits by itself after 300 s) and wait for its ports
#                       file; sets SIM_PID, SIM_PORTS (the file) and the
#                       arrays SIMP / SIMT (API / API-SSL port by index)
#   sim_port I [tls]    the API (or API-SSL) port of simulated router I
#   sim_ctl LINE        one control request ("fault 3 drop", "stats")
#   ros_query PROMQL    an instant query against Tide; prints the JSON

SIM="$HERE/routeros_sim.py"
# Debian's python3 when there is one: it starts in a fraction of the time a
# pyenv shim takes, and these tests call Python often.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
JSONTOOL=("$PY" "$HERE/jsontool.py")

sim_start() {
    SIM_PORTS="$WORK/sim-ports-$RANDOM.json"
    "$PY" "$SIM" serve --ports-file "$SIM_PORTS" --max-seconds 300 "$@" >"$WORK/sim.log" 2>&1 &
    SIM_PID=$!
    PIDS+=("$SIM_PID")
    local i
    SIMP=()
    SIMT=()
    for i in $(seq 1 300); do
        if [ -s "$SIM_PORTS" ]; then
            local idx port tls
            while read -r idx port tls; do
                SIMP[idx]=$port
                SIMT[idx]=$tls
            done < <("$PY" -c 'import json,sys
for d in json.load(open(sys.argv[1]))["devices"]:
    print(d["index"], d["port"], d["tls_port"] or 0)' "$SIM_PORTS")
            return 0
        fi
        kill -0 "$SIM_PID" 2>/dev/null || break
        sleep 0.1
    done
    fail "the RouterOS simulator did not start: $(cat "$WORK/sim.log")"
}

sim_port() {
    if [ "${2:-}" = tls ]; then echo "${SIMT[$1]}"; else echo "${SIMP[$1]}"; fi
}

sim_ctl() {
    "$PY" -c '
import json, socket, sys
port = json.load(open(sys.argv[1]))["control"]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall((sys.argv[2] + "\n").encode())
print(s.makefile().readline().strip())' "$SIM_PORTS" "$1"
}

ros_query() {
    curl -fsS -G --data-urlencode "query=$1" "$TIDE_URL/api/v1/query"
}

# ros_wait TIMEOUT_S PYEXPR PROMQL: poll the query until PYEXPR holds with `r`
# bound to its result list; fail after TIMEOUT_S seconds.
ros_wait() {
    local limit=$1 expr=$2 q=$3 i
    for i in $(seq 1 $((limit * 5))); do
        if ros_query "$q" | "${JSONTOOL[@]}" check "(lambda r: $expr)(j['data']['result'])" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    fail "after ${limit}s, [$expr] does not hold for $q: $(ros_query "$q" | head -c 1500)"
}
