# snmpd_lib.sh: start Debian's snmpd for the SNMP integration tests, sourced
# after lib.sh. The agent listens on a free 127.0.0.1 UDP port with a
# generated snmpd.conf: a v2c community and a v3 USM user (SHA/AES,
# authPriv), created with createUser in a persistent directory of the test's
# own (SNMP_PERSISTENT_DIR), no MIB files, a log file and a pid file. Run as
# root (a container), it drops to user nobody after binding (-u), as an
# unprivileged agent does; otherwise it runs as the calling user.
#
# Sets SNMPD_PORT, SNMPD_PID, SNMPD_ADDR (127.0.0.1:PORT) and exports the
# credentials below for the test.
SNMP_COMMUNITY=tide-ro-community
SNMP_V3_USER=tideuser
SNMP_V3_AUTH=tide-auth-pass
SNMP_V3_PRIV=tide-priv-pass
SNMP_SYSNAME=tide-snmpd-$$

free_udp_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

snmpd_start() {
    command -v snmpd >/dev/null || fail "snmpd is not installed (scripts/deps.sh test installs it)"
    local dir="$WORK/snmpd" port attempt user=()
    mkdir -p "$dir/persist"
    if [ "$(id -u)" -eq 0 ]; then
        chmod 0777 "$dir" "$dir/persist"
        user=(-u nobody)
    fi
    for attempt in 1 2 3 4 5; do
        port=$(free_udp_port)
        cat >"$dir/snmpd.conf" <<CONF
agentAddress udp:127.0.0.1:$port
rocommunity $SNMP_COMMUNITY 127.0.0.1
createUser $SNMP_V3_USER SHA "$SNMP_V3_AUTH" AES "$SNMP_V3_PRIV"
rouser $SNMP_V3_USER priv
sysName $SNMP_SYSNAME
sysLocation tide-test-lab
sysContact tide@example.invalid
CONF
        SNMP_PERSISTENT_DIR="$dir/persist" snmpd -f -r -C -c "$dir/snmpd.conf" -p "$dir/snmpd.pid" \
            -Lf "$WORK/snmpd-$port.log" -M /nonexistent -m "" "${user[@]}" >/dev/null 2>&1 &
        SNMPD_PID=$!
        PIDS+=("$SNMPD_PID")
        local i
        for i in $(seq 1 50); do
            if snmpget -v2c -c "$SNMP_COMMUNITY" -m "" -M /nonexistent -t 0.2 -r 0 \
                "127.0.0.1:$port" 1.3.6.1.2.1.1.5.0 >/dev/null 2>&1; then
                SNMPD_PORT=$port
                SNMPD_ADDR="127.0.0.1:$port"
                log "snmpd (pid $SNMPD_PID) on udp $SNMPD_ADDR"
                return 0
            fi
            kill -0 "$SNMPD_PID" 2>/dev/null || break
            sleep 0.1
        done
        tide_kill "$SNMPD_PID"
    done
    fail "snmpd did not start (logs: $WORK/snmpd-*.log)"
}

# snmpwalk_ref OID...: snmpwalk -On -Oq (numeric OIDs, raw numbers) of the agent.
snmpwalk_ref() {
    local o
    for o in "$@"; do
        snmpwalk -v2c -c "$SNMP_COMMUNITY" -m "" -M /nonexistent -On -Oq -Ot -Oe "$SNMPD_ADDR" "$o"
    done
}

# target_field NAME PYEXPR: PYEXPR over the target t named NAME (its
# __tide_name__) in $BODY, an answer of GET /api/v1/targets.
target_field() {
    printf '%s' "$BODY" | python3 -c '
import json, sys
j = json.load(sys.stdin)
t = [t for t in j["data"]["activeTargets"] if t["discoveredLabels"]["__tide_name__"] == sys.argv[1]][0]
print(eval(sys.argv[2]))' "$1" "$2"
}

# wait_snmp_health NAME=HEALTH...: poll GET /api/v1/targets?scrapePool=snmp
# (10 s at most) until every named target has its health; fails otherwise.
wait_snmp_health() {
    local i pair ok
    for i in $(seq 1 100); do
        req GET '/api/v1/targets?scrapePool=snmp'
        ok=1
        for pair in "$@"; do
            [ "$(target_field "${pair%%=*}" 't["health"]')" = "${pair#*=}" ] || { ok=0; break; }
        done
        [ $ok -eq 1 ] && return 0
        sleep 0.1
    done
    fail "want health $*: $BODY"
}

# assert_fleet_after_faults GOOD FAILED_RE NAME=UP...: the checks a fault test
# makes once its failing devices are down. GOOD (a 1 s target) kept its
# interval over 6 s (>= 4 polls leaves room for a loaded machine); `up` of
# job snmp is exactly NAME=UP for every target; the targets matching
# FAILED_RE (a PromQL regex) have no ifOperStatus series.
assert_fleet_after_faults() {
    local good=$1 failed=$2 pair want=""
    shift 2
    for pair in "$@"; do
        want="$want(\"${pair%%=*}\", \"${pair#*=}\"), "
    done
    sleep 6
    req GET '/api/v1/query' -G --data-urlencode "query=count_over_time(up{target=\"$good\"}[6s])"
    json_ok 'len(j["data"]["result"]) == 1 and int(j["data"]["result"][0]["value"][1]) >= 4'
    req GET '/api/v1/query' -G --data-urlencode 'query=up{job="snmp"}'
    json_ok "sorted((r[\"metric\"][\"target\"], r[\"value\"][1]) for r in j[\"data\"][\"result\"]) == sorted([$want])"
    req GET '/api/v1/query' -G --data-urlencode "query=ifOperStatus{target=~\"$failed\"}"
    json_ok 'j["data"]["result"] == []'
}
