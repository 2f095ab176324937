#!/usr/bin/env bash
# test_routeros_connect.sh: "test connection" and API-SSL. `tide routeros
# test` and POST /api/v1/targets/test tell apart: ok (version, board,
# identity), auth (wrong password), refused (nothing listens), closed (the
# router closes at once: API restricted), timeout (a router that never
# answers) and tls (a certificate nobody vouches for); a kind without a
# test of its own (snmp) is run once as a temporary target. API-SSL runs with a
# certificate made here by the openssl CLI: verified against it as CA, it
# works; without it, verification fails; with tls_insecure it works. A
# target over API-SSL is polled like any other. No password is ever shown.
. "$(dirname "$0")/lib.sh"
. "$HERE/routeros_lib.sh"

command -v openssl >/dev/null || fail "openssl CLI missing (scripts/deps.sh test installs it)"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=router.test" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
    >"$WORK/openssl.log" 2>&1 || fail "openssl: $(cat "$WORK/openssl.log")"

# 0: v7 plain login; 1: v6 MD5 login; 2: closes at once; 3: never answers.
sim_start --count 4 --version mixed --login mixed --cert "$WORK/cert.pem" --key "$WORK/key.pem" \
    --fault 2:disabled --fault 3:silence
printf 's3cret-pw\n' >"$WORK/pw"
printf 'not-the-pw\n' >"$WORK/bad"
dead=$(free_port)

# ---- the command ----
out=$("$TIDE" routeros test "127.0.0.1:$(sim_port 0)" --user monitor --password-file "$WORK/pw") ||
    fail "routeros test: $out"
assert_contains "routeros test" "version:  6.49.10 (long-term)" "$out"
assert_contains "routeros test" "identity: sim-0" "$out"
assert_contains "routeros test" "board:    RB4011iGS+" "$out"
out=$(ROS_PW=s3cret-pw "$TIDE" routeros test "127.0.0.1:$(sim_port 1)" --user monitor --password-env ROS_PW) ||
    fail "routeros test (MD5 login): $out"
assert_contains "routeros test, MD5 login" "identity: sim-1" "$out"

expect_fail() { # WANT ARGS...: the command fails with this class
    local want=$1 out rc=0
    shift
    out=$("$TIDE" routeros test "$@" 2>&1) || rc=$?
    assert_eq "exit status of routeros test $*" 1 "$rc"
    assert_contains "routeros test $*" ": $want: " "$out"
    if printf '%s' "$out" | grep -q -e s3cret-pw -e not-the-pw; then
        fail "the password shows in: $out"
    fi
}
expect_fail auth "127.0.0.1:$(sim_port 0)" --user monitor --password-file "$WORK/bad"
expect_fail refused "127.0.0.1:$dead" --user monitor --password-file "$WORK/pw"
expect_fail closed "127.0.0.1:$(sim_port 2)" --user monitor --password-file "$WORK/pw"
expect_fail timeout "127.0.0.1:$(sim_port 3)" --user monitor --password-file "$WORK/pw" --timeout 500ms
expect_fail tls "127.0.0.1:$(sim_port 0 tls)" --user monitor --password-file "$WORK/pw" --tls
out=$("$TIDE" routeros test "127.0.0.1:$(sim_port 0 tls)" --user monitor --password-file "$WORK/pw" \
    --tls --ca-file "$WORK/cert.pem") || fail "API-SSL with the CA: $out"
assert_contains "API-SSL" "(API-SSL)" "$out"
out=$("$TIDE" routeros test "127.0.0.1:$(sim_port 1 tls)" --user monitor --password-file "$WORK/pw" \
    --tls --insecure) || fail "API-SSL insecure: $out"
assert_contains "API-SSL insecure, MD5 login" "identity: sim-1" "$out"
out=$("$TIDE" routeros test 2>&1) && fail "no arguments accepted"
usage_rc=0
"$TIDE" routeros test 127.0.0.1 --user x >/dev/null 2>&1 || usage_rc=$?
assert_eq "usage error status" 2 "$usage_rc"

# ---- the endpoint, and a target over API-SSL ----
cat >"$WORK/tide.yml" <<YML
targets:
  - kind: routeros
    name: tls-verified
    address: 127.0.0.1:$(sim_port 0 tls)
    interval: 1s
    tls: true
    tls_ca_file: $WORK/cert.pem
    username: monitor
    password_file: $WORK/pw
  - kind: routeros
    name: tls-unverified
    address: 127.0.0.1:$(sim_port 1 tls)
    interval: 1s
    tls: true
    username: monitor
    password_file: $WORK/pw
YML
tide_start "$WORK/data" - --config "$WORK/tide.yml"

post_test() { # JSON
    req POST /api/v1/targets/test -H 'Content-Type: application/json' --data-binary "$1"
}
post_test "{\"kind\":\"routeros\",\"address\":\"127.0.0.1:$(sim_port 1)\",\"username\":\"monitor\",\"password\":\"s3cret-pw\"}"
assert_code 200
json_ok 'j["data"]["ok"] is True and j["data"]["result"]["identity"] == "sim-1"'
json_ok 'j["data"]["result"]["version"] == "7.14.3 (stable)" and j["data"]["result"]["board"] == "RB4011iGS+"'
for c in "auth|127.0.0.1:$(sim_port 0)|not-the-pw|" "refused|127.0.0.1:$dead|s3cret-pw|" \
    "closed|127.0.0.1:$(sim_port 2)|s3cret-pw|" "timeout|127.0.0.1:$(sim_port 3)|s3cret-pw|,\"timeout\":\"500ms\"" \
    "tls|127.0.0.1:$(sim_port 0 tls)|s3cret-pw|,\"tls\":true"; do
    IFS='|' read -r want addr pw extra <<<"$c"
    post_test "{\"kind\":\"routeros\",\"address\":\"$addr\",\"username\":\"monitor\",\"password\":\"$pw\"$extra}"
    assert_code 200
    json_ok "j['data']['ok'] is False and j['data']['failure'] == '$want'"
    case "$BODY" in *s3cret-pw* | *not-the-pw*) fail "the password is echoed: $BODY" ;; esac
done
post_test "{\"kind\":\"routeros\",\"address\":\"127.0.0.1:$(sim_port 0 tls)\",\"username\":\"monitor\",\"password\":\"s3cret-pw\",\"tls\":true,\"tls_insecure\":true}"
json_ok 'j["data"]["ok"] is True and j["data"]["result"]["identity"] == "sim-0"'
# A kind without a test of its own (snmp) is opened, run once and closed:
# nothing answers on that UDP port, so the run times out.
udp_dead=$("$PY" -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
post_test "{\"kind\":\"snmp\",\"address\":\"127.0.0.1:$udp_dead\",\"timeout\":\"200ms\",\"retries\":0,\"community\":\"c0mmunity-s3cret\"}"
assert_code 200
json_ok 'j["data"]["kind"] == "snmp" and j["data"]["ok"] is False and "failure" not in j["data"] and j["data"]["error"] != ""'
case "$BODY" in *c0mmunity-s3cret*) fail "the community is echoed: $BODY" ;; esac
req GET /api/v1/targets
json_ok 'len(j["data"]["activeTargets"]) == 2'
# Bad entries: 400 with a position, nothing echoed.
req_bad_data POST /api/v1/targets/test --data-binary '{"kind":"routeros","address":"127.0.0.1:1","username":"m","password":"s3cret-pw","pasword":"x"}'
assert_contains "unknown key" 'unknown key \"pasword\"' "$BODY"
req_bad_data POST /api/v1/targets/test --data-binary '{"kind":"nosuchkind"}'
req_bad_data POST /api/v1/targets/test --data-binary '{"kind":"routeros","address":"127.0.0.1:1"}'
assert_contains "no username" "needs a username" "$BODY"

# The verified API-SSL target is up; the unverified one says why it is not.
for i in $(seq 1 100); do
    req GET /api/v1/targets
    if printf '%s' "$BODY" | "${JSONTOOL[@]}" check '(lambda t: t["tls-verified"]["health"] == "up" and t["tls-unverified"]["health"] == "down")({x["discoveredLabels"]["__tide_name__"]: x for x in j["data"]["activeTargets"]})' 2>/dev/null; then
        break
    fi
    sleep 0.2
done
json_ok '[x for x in j["data"]["activeTargets"] if x["discoveredLabels"]["__tide_name__"] == "tls-verified"][0]["health"] == "up"'
json_ok '"certificate verification failed" in [x for x in j["data"]["activeTargets"] if x["discoveredLabels"]["__tide_name__"] == "tls-unverified"][0]["lastError"]'
ros_wait 10 'len(r) == 1 and r[0]["value"][1] == "1"' 'up{job="routeros", instance="127.0.0.1:'"$(sim_port 0 tls)"'"}'
ros_wait 10 'len(r) == 5' 'mktxp_interface_rx_byte_total{routerboard_name="sim-0"}'
if grep -q -e s3cret-pw -e not-the-pw "$TIDE_LOG"; then
    fail "a password shows in the log"
fi
tide_stop "$TIDE_PID"
log ok
