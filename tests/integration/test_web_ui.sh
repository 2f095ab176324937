#!/usr/bin/env bash
# test_web_ui.sh: the dashboard in a real browser (tests/web/run.mjs, Debian's
# chromium through playwright-core) against a real `tide serve` collecting
# this host every 500 ms and fed with SNMP-named series:
#   screens  every screen loads with no console error and no failed request
#   live     a value written now is on the live chart within two 0.5 s ticks
#   range    the range picker changes the range queries and the URL
#   csv      a chart's CSV download equals /api/v1/export/csv
#   network  an uplink badge turns red when ifOperStatus becomes 2
#   explore  completion from the API; a parse error shown at its position
#   interval the Host screen sets the desired collection interval
#   display  the Host screen live at 0.2 s names its host in the stream and
#            the server has a display-rate lease in force meanwhile
# then the same server in Firefox (tests/web/firefox.mjs: Debian's
# firefox-esr through puppeteer-core): every screen with no console error
# and no failed request, and live mode showing a new point.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/web_lib.sh"

tide_start "$WORK/data" - --collect-host true --collect-interval 500ms
web_check
web_check_firefox

now=$(date +%s%3N)
{
    for i in $(seq 0 30); do
        t=$((now - (30 - i) * 60000))
        echo "web_csv_probe{instance=\"a\",job=\"web\"} $i $t"
        echo "web_csv_probe{instance=\"b\",job=\"web\"} $((i * 2)) $t"
    done
    for r in r1 r2; do
        ls="instance=\"$r\",ifIndex=\"1\",ifName=\"ether1\",ifAlias=\"to Magti\",provider=\"Magti\",site=\"tbilisi\""
        ls2="instance=\"$r\",ifIndex=\"2\",ifName=\"ether2\",ifAlias=\"to Silknet\",provider=\"Silknet\",site=\"tbilisi\""
        for i in 0 1 2; do
            t=$((now - (2 - i) * 30000))
            echo "ifOperStatus{$ls} 1 $t"
            echo "ifOperStatus{$ls2} $([ $r = r2 ] && echo 2 || echo 1) $t"
            echo "ifAdminStatus{$ls} 1 $t"
            echo "ifHighSpeed{$ls} 1000 $t"
            echo "ifHCInOctets{$ls} $((i * 75000000)) $t"
            echo "ifHCOutOctets{$ls} $((i * 25000000)) $t"
            echo "ifInErrors{$ls} $i $t"
            echo "ifOutErrors{$ls} 0 $t"
        done
    done
} | curl -fsS --data-binary @- "$TIDE_URL/api/v1/import/prometheus" || fail "import"

# The host collector's first CPU rates need two collections.
host=""
for _ in $(seq 1 100); do
    host=$(curl -fsS "$TIDE_URL/api/v1/agents" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d[0]["instance"] if d else "")')
    n=$(curl -fsS "$TIDE_URL/api/v1/query" --data-urlencode 'query=count(rate(node_cpu_seconds_total[1m]))' |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
    [ -n "$host" ] && [ "$n" != 0 ] && break
    sleep 0.2
done
[ -n "$host" ] || fail "the host collector wrote no tide_host_info"

WEB_HOST=$host web_run screens live display range csv network explore interval
t0=$(date +%s%3N)
WEB_HOST=$host web_run_firefox screens live
log "Firefox pass: $(($(date +%s%3N) - t0)) ms"
log "ok"
