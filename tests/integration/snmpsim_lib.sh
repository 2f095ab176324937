# snmpsim_lib.sh: simulated routers on Debian's snmpsim for the SNMP scale
# test and benchmark, sourced after lib.sh and snmpd_lib.sh.
#
# snmpsim_routers N DIR: start the real snmpd (snmpd_lib.sh), record its
# system group, ifTable and ifXTable with `snmpwalk -ObentU`, stop it, and
# write N routers' snmprec files into DIR (snmp/snmprec_gen.py; community
# routerNNNN each, DIR/summary.json says how many interfaces, uplinks and
# down uplinks were written).
# snmpsim_start DIR: serve DIR with snmpsimd (v1/v2c only) on a free
# 127.0.0.1 UDP port, its index cache and log under $WORK; waits until the
# last router answers. Run as root, it drops to nobody/nogroup as snmpsimd
# requires. Sets SNMPSIM_PID, SNMPSIM_ADDR.

snmpsim_routers() {
    local n=$1 dir=$2 o
    snmpd_start
    for o in 1.3.6.1.2.1.1 1.3.6.1.2.1.2 1.3.6.1.2.1.31.1.1; do
        snmpwalk -v2c -c "$SNMP_COMMUNITY" -m "" -M /nonexistent -ObentU "$SNMPD_ADDR" "$o"
    done >"$WORK/snmpd-walk.txt" || fail "snmpwalk of the real snmpd failed"
    tide_kill "$SNMPD_PID"
    python3 "$HERE/snmp/snmprec_gen.py" "$WORK/snmpd-walk.txt" "$dir" "$n" >/dev/null \
        || fail "snmprec_gen.py failed"
}

snmpsim_start() {
    local t0=$SECONDS
    command -v snmpsimd >/dev/null || fail "snmpsimd is not installed (scripts/deps.sh test installs snmpsim)"
    local dir=$1 port attempt i user=() last
    last=$(cd "$dir" && ls -- *.snmprec | tail -n 1)
    last=${last%.snmprec}
    mkdir -p "$WORK/snmpsim-cache"
    if [ "$(id -u)" -eq 0 ]; then
        chmod -R a+rX "$dir"
        chmod 0777 "$WORK" "$WORK/snmpsim-cache"
        user=(--process-user=nobody --process-group=nogroup)
    fi
    for attempt in 1 2 3; do
        port=$(free_udp_port)
        snmpsimd --data-dir="$dir" --cache-dir="$WORK/snmpsim-cache" --v2c-arch \
            --agent-udpv4-endpoint="127.0.0.1:$port" "${user[@]}" \
            --logging-method=null >"$WORK/snmpsimd-$port.log" 2>&1 &
        SNMPSIM_PID=$!
        PIDS+=("$SNMPSIM_PID")
        # snmpsimd indexes every data file before it answers (~1 s per 15
        # routers on a loaded machine)
        for i in $(seq 1 1200); do
            if snmpget -v2c -c "$last" -m "" -M /nonexistent -t 0.3 -r 0 \
                "127.0.0.1:$port" 1.3.6.1.2.1.1.5.0 >/dev/null 2>&1; then
                SNMPSIM_ADDR="127.0.0.1:$port"
                log "snmpsimd (pid $SNMPSIM_PID) on udp $SNMPSIM_ADDR serving $(ls "$dir" | grep -c snmprec) routers (ready in $((SECONDS - t0)) s)"
                return 0
            fi
            kill -0 "$SNMPSIM_PID" 2>/dev/null || break
            sleep 0.2
        done
        tide_kill "$SNMPSIM_PID"
    done
    fail "snmpsimd did not start (logs: $WORK/snmpsimd-*.log)"
}
