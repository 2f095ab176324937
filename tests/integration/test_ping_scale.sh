#!/usr/bin/env bash
# test_ping_scale.sh: 1 000 ping targets (127.0.0.1 … 127.0.3.232, all
# answered by the loopback interface) at a 1 s interval from one engine
# thread. Within 30 s every target reports probe_success 1, each has had
# rounds on schedule (at least 3 samples over the last 4 s: no target
# starved), exactly one thread is named tide-ping, and the process's CPU
# over a 5 s window is printed (the figure quoted in docs/collect/ping.md;
# not asserted: the machine is shared).
. "$(dirname "$0")/lib.sh"

N=1000
{
    echo "targets:"
    for i in $(seq 1 $N); do
        echo "  - {kind: ping, address: 127.0.$((i / 256)).$((i % 256)), interval: 1s, count: 1, timeout: 500ms}"
    done
} >"$WORK/tide.yml"
sed -i 's/127\.0\.0\.0,/127.0.3.233,/' "$WORK/tide.yml" # .0 is a network address: use one more
tide_start "$WORK/data" - --config "$WORK/tide.yml"

q() {
    curl -fsS "$TIDE_URL/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'
}
ok=0
for _ in $(seq 1 150); do
    [ "$(q 'count(probe_success == 1)')" = $N ] && ok=1 && break
    sleep 0.2
done
[ $ok = 1 ] || fail "want $N targets with probe_success 1 within 30 s, have $(q 'count(probe_success == 1)') (and $(q 'count(probe_success == 0)') at 0)"
t0=$(awk '{print $14 + $15}' /proc/"$TIDE_PID"/stat)
sleep 4
t1=$(awk '{print $14 + $15}' /proc/"$TIDE_PID"/stat)
assert_eq "targets with >= 3 rounds in 4 s" "$N" "$(q 'count(count_over_time(probe_success[4s]) >= 3)')"
assert_eq "targets failing" "0" "$(q 'count(probe_success == 0) or vector(0)')"
threads=$(grep -lx tide-ping /proc/"$TIDE_PID"/task/*/comm | wc -l)
assert_eq "tide-ping threads" "1" "$threads"
hz=$(getconf CLK_TCK)
log "CPU of tide serve with $N ping targets at 1 s: $(python3 -c "print(f'{($t1 - $t0) / $hz / 4 * 100:.1f}')") % of one core (this build: $(basename "$(dirname "$TIDE")"))"
log "mean rtt over all targets: $(q 'avg(probe_icmp_duration_seconds{phase="rtt"})') s"
tide_stop "$TIDE_PID"
log "ok"
