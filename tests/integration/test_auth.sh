#!/usr/bin/env bash
# test_auth.sh: optional credentials per scope. A server with a write bearer
# token and read basic auth (from *_file keys) refuses writes and reads
# without them (401, WWW-Authenticate, Prometheus error shape), takes the right
# ones (Bearer, InfluxDB's Token, Basic), never mixes the scopes, and keeps
# /health, /ready and /ping open; `tide import` / `tide export` pass the
# credentials. A server with no auth keys stays open.
. "$(dirname "$0")/lib.sh"

T_S=$(( $(date +%s) / 60 * 60 - 600 ))
printf 's3cret-token\n' >"$WORK/write.token"
printf 'reader:pa:ss' >"$WORK/read.basic"
chmod 600 "$WORK/write.token" "$WORK/read.basic"
tide_start "$WORK/data" - --auth-write-bearer-token-file "$WORK/write.token" \
    --auth-read-basic-file "$WORK/read.basic"
log "server on $TIDE_URL"
READ_AUTH=(-u 'reader:pa:ss')

# ---- open endpoints ----------------------------------------------------------
for p in /health /-/healthy /ready /-/ready /ping; do
    req GET "$p"
    case "$CODE" in 200 | 204) ;; *) fail "$p: want 200/204 without credentials, got $CODE" ;; esac
done

# ---- write scope -------------------------------------------------------------
LINE="auth_test,host=a value=1 $T_S"
req POST "/write?precision=s" --data-binary "$LINE"
assert_code 401
json_ok 'j["status"] == "error" and j["errorType"] == "unauthorized"'
assert_contains "WWW-Authenticate" 'Bearer realm="tide"' "$(header_value WWW-Authenticate)"
req POST "/write?precision=s" -H 'Authorization: Bearer wrong' --data-binary "$LINE"
assert_code 401
json_ok '"invalid credentials" in j["error"]'
req POST "/write?precision=s" -H 'Authorization: Bearer s3cret-tok' --data-binary "$LINE"
assert_code 401
req POST "/write?precision=s" "${READ_AUTH[@]}" --data-binary "$LINE"
assert_code 401 # read credentials do not write
req POST "/write?precision=s" -H 'Authorization: Bearer s3cret-token' --data-binary "$LINE"
assert_code 204
req POST "/api/v2/write?precision=s&bucket=b" -H 'Authorization: Token s3cret-token' \
    --data-binary "auth_test,host=b value=2 $T_S"
assert_code 204
for p in /api/v1/import /api/v1/import/prometheus /api/v1/write /api/v1/otlp/v1/metrics \
    /api/v1/admin/tsdb/delete_series "/api/v1/import/csv?format=1:metric:x"; do
    req POST "$p" --data-binary 'x'
    assert_code 401
done
# A refused upload is drained, not stored, and answered after the body.
head -c 300000 /dev/zero | tr '\0' 'a' >"$WORK/big.txt"
req POST /api/v1/import --data-binary @"$WORK/big.txt"
assert_code 401

# ---- read scope --------------------------------------------------------------
for p in "/api/v1/export?match[]=auth_test" /api/v1/labels /api/v1/series?match[]=up \
    /api/v1/label/host/values /api/v1/status/tsdb /api/v1/status/storage /metrics; do
    req GET "$p"
    assert_code 401
    assert_contains "WWW-Authenticate of $p" 'Basic realm="tide"' "$(header_value WWW-Authenticate)"
    req GET "$p" -H 'Authorization: Bearer s3cret-token'
    assert_code 401 # the write token does not read
done
req GET "/api/v1/labels" -u 'reader:wrong'
assert_code 401
req GET "/api/v1/labels" "${READ_AUTH[@]}"
assert_code 200
json_ok '"host" in j["data"]'
req GET "/api/v1/export" "${READ_AUTH[@]}" --data-urlencode 'match[]=auth_test' -G
assert_code 200
assert_eq "exported series" 2 "$(printf '%s\n' "$BODY" | grep -c auth_test)"

# ---- the CLI passes credentials ---------------------------------------------
printf 'auth_cli,host=c value=3 %s\n' "$T_S" >"$WORK/in.lp"
if "$TIDE" import --server "$TIDE_URL" --precision s "$WORK/in.lp" 2>"$WORK/imp.err"; then
    fail "tide import without a token succeeded"
fi
assert_contains "import error" "HTTP 401" "$(cat "$WORK/imp.err")"
"$TIDE" import --server "$TIDE_URL" --precision s --bearer-token s3cret-token "$WORK/in.lp" 2>/dev/null ||
    fail "tide import with the token failed"
if "$TIDE" export --server "$TIDE_URL" --match auth_cli -o "$WORK/out.jsonl" 2>/dev/null; then
    fail "tide export without credentials succeeded"
fi
"$TIDE" export --server "$TIDE_URL" --match auth_cli --basic 'reader:pa:ss' -o "$WORK/out.jsonl" 2>/dev/null ||
    fail "tide export with credentials failed"
assert_contains "exported" '"auth_cli"' "$(cat "$WORK/out.jsonl")"

# ---- a bad key stops start-up; no keys = open ------------------------------
if "$TIDE" serve --data "$WORK/x" --auth-write-basic nocolon >"$WORK/bad.log" 2>&1; then
    fail "auth_write_basic without ':' was accepted"
fi
assert_contains "bad basic" "USER:PASSWORD" "$(cat "$WORK/bad.log")"
tide_stop "$TIDE_PID"
tide_start "$WORK/data2" -
req POST "/write?precision=s" --data-binary "$LINE"
assert_code 204
req GET /api/v1/labels
assert_code 200
log "ok"
