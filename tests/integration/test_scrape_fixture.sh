#!/usr/bin/env bash
# test_scrape_fixture.sh: the scrape_configs keys against a fixture exporter
# (scrape_fixture.py, HTTP and HTTPS with a throwaway CA), one Tide with one
# job per case, scrape_interval 1s. Proves, one check per key:
#   honor_labels false: clashing exposed labels become exported_<name>
#     (exported_exported_job when exported_job is taken), target's win;
#   honor_labels true: the exposed job/instance are kept;
#   basic_auth with password_file (up 1) and a wrong password (up 0, 401);
#   authorization with credentials_file (Bearer);
#   params plus a __param_target relabelling reach the query string;
#   gzip: Accept-Encoding sent, the gzip body decoded;
#   the Accept header is Prometheus 2.42's; OpenMetrics float timestamps;
#   sample_limit and label_limit fail the scrape (up 0, nothing stored,
#     scrape_samples_scraped still counted); a bad line fails the scrape;
#   tls_config ca_file (up 1), insecure_skip_verify (up 1), no CA (up 0);
#   file_sd_configs: a file added is picked up, a file removed makes its
#     target's series stale;
#   samples with their own timestamp get no stale marker, others do;
#   SIGHUP (rules reload) accepts the file and scraping goes on;
#   an unknown key is refused at start with file:line:col.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || fail "openssl is not installed (scripts/deps.sh test)"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
    >"$WORK/openssl.log" 2>&1 || fail "openssl could not make a certificate"

python3 "$HERE/scrape_fixture.py" "$WORK" "$WORK/cert.pem" "$WORK/key.pem" >"$WORK/fixture.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
    [ -s "$WORK/fixture.ports" ] && break
    sleep 0.1
done
[ -s "$WORK/fixture.ports" ] || fail "the fixture did not start"
read -r HP SP START <"$WORK/fixture.ports"
A="127.0.0.1:$HP"
S="127.0.0.1:$SP"
log "fixture on $A (https $S)"

printf 'secret-pw\n' >"$WORK/pw"
printf 'wrong\n' >"$WORK/pw-bad"
printf '  tok-123\n' >"$WORK/tok"
mkdir -p "$WORK/sd"
printf '[{"targets": ["%s"], "labels": {"__metrics_path__": "/sd/a", "team": "x"}}]\n' "$A" \
    >"$WORK/sd/a.json"

job() { # job NAME PATH [extra YAML lines...]
    local name=$1 path=$2
    shift 2
    printf '  - job_name: %s\n    metrics_path: %s\n    static_configs:\n      - targets: ["%s"]\n' \
        "$name" "$path" "$A"
    local l
    for l in "$@"; do printf '    %s\n' "$l"; done
}
{
    printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 800ms\nscrape_configs:\n'
    job plain /metrics
    job honor /metrics "honor_labels: true"
    job auth /auth "basic_auth: {username: u, password_file: pw}"
    job auth_bad /auth "basic_auth: {username: u, password_file: pw-bad}"
    job bearer /bearer "authorization: {credentials_file: tok}"
    job params /params "params: {module: [if_mib]}" "relabel_configs:" \
        "  - {source_labels: [__address__], target_label: __param_target}"
    job gzip /gzip
    job accept /accept
    job om /om
    job limit /big "sample_limit: 10"
    job labellimit /labels "label_limit: 3"
    job bad /bad
    job stamped /stamped
    printf '  - job_name: tls_ca\n    scheme: https\n    tls_config: {ca_file: cert.pem}\n    static_configs: [{targets: ["%s"]}]\n' "$S"
    printf '  - job_name: tls_insecure\n    scheme: https\n    tls_config: {insecure_skip_verify: true}\n    static_configs: [{targets: ["%s"]}]\n' "$S"
    printf '  - job_name: tls_noca\n    scheme: https\n    static_configs: [{targets: ["%s"]}]\n' "$S"
    printf '  - job_name: sd\n    file_sd_configs:\n      - files: [sd/*.json, sd/*.yml]\n        refresh_interval: 10m\n'
} >"$WORK/tide.yml"

tide_start "$WORK/tide" - --config "$WORK/tide.yml"
log "tide on $TIDE_URL"

value_of() { # value_of QUERY: the first value, or "none"
    local body
    body=$(curl -fsS -G --data-urlencode "query=$1" "$TIDE_URL/api/v1/query")
    if [[ $body =~ \"value\":\[[0-9.e+]+,\"([^\"]*)\"\] ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo none
    fi
}
wait_value() { # wait_value QUERY WANT SECONDS
    local i
    for i in $(seq 1 $(($3 * 5))); do
        [ "$(value_of "$1")" = "$2" ] && return 0
        sleep 0.2
    done
    fail "$1 is $(value_of "$1"), want $2 within $3 s"
}

for j in plain honor auth bearer params gzip accept om stamped tls_ca tls_insecure sd; do
    wait_value "up{job=\"$j\"}" 1 20
done
for j in auth_bad limit labellimit bad tls_noca; do
    wait_value "up{job=\"$j\"}" 0 20
done
log "up as expected for every job"

wait_value "fx_clash{job=\"plain\",instance=\"$A\",exported_job=\"already\",exported_exported_job=\"exported_job_value\",exported_instance=\"exp-inst\"}" 1 5
wait_value 'fx_clash{job="exported_job_value",instance="exp-inst",exported_job="already"}' 1 5
wait_value "fx_param{job=\"params\",module=\"if_mib\",target=\"$A\"}" 1 5
wait_value 'fx_gzip{job="gzip",encoding="gzip"}' 1 5
accept="application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
wait_value "fx_accept{accept=\"$accept\"}" 1 5
ts=$(value_of 'timestamp(fx_om{job="om"})')
[ "$ts" = "$START.25" ] || fail "OpenMetrics timestamp: got $ts, want $START.25"
wait_value 'scrape_samples_scraped{job="limit"}' 20 5
wait_value 'count(fx_big)' none 1
wait_value 'count(fx_labels)' none 1
wait_value 'count(fx_ok)' none 1
log "honor_labels, params, gzip, Accept, OpenMetrics, limits ok"

# file_sd: a file added, then one removed.
wait_value 'fx_sd{from="a",team="x"}' 1 5
printf -- '- targets: ["%s"]\n  labels: {__metrics_path__: /sd/b}\n' "$A" >"$WORK/sd/b.yml"
wait_value 'fx_sd{from="b"}' 1 10
rm "$WORK/sd/a.json"
wait_value 'count(fx_sd{from="a"})' none 10
wait_value 'fx_sd{from="b"}' 1 2
log "file_sd add and remove ok"

# Staleness: a timestamped sample is never stale-marked, a plain one is.
wait_value 'count(fx_gone{job="stamped"})' 1 5
curl -fsS -o /dev/null "http://$A/toggle"
wait_value 'count(fx_gone{job="stamped"})' none 10
wait_value 'count(fx_kept_stamped{job="stamped"})' 1 1
log "staleness ok"

# A reload (rules only) accepts a file with scrape_configs: and keeps scraping.
kill -HUP "$TIDE_PID"
for _ in $(seq 1 50); do
    grep -q "rules reloaded\|reload refused" "$TIDE_LOG" && break
    sleep 0.1
done
grep -q "rules reloaded" "$TIDE_LOG" || fail "SIGHUP with scrape_configs: $(grep reload "$TIDE_LOG")"
wait_value 'up{job="plain"}' 1 5

tide_stop "$TIDE_PID"

# A bad key is refused with file:line:col, before anything runs.
printf 'scrape_configs:\n  - job_name: x\n    scrape_intervall: 1s\n' >"$WORK/bad.yml"
rc=0
"$TIDE" serve --config "$WORK/bad.yml" --data "$WORK/bad" --listen 127.0.0.1:0 \
    --collect-host false >"$WORK/bad.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "a bad scrape_configs key: exit $rc, want 2"
grep -q "bad.yml:3:5: .*scrape_intervall" "$WORK/bad.log" || {
    cat "$WORK/bad.log" >&2
    fail "no file:line:col for the bad key"
}
log "ok"
