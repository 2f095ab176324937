#!/usr/bin/env bash
# test_targets_files.sh: `target_files:` (collect/targets_files.c). Ping
# targets (loopback addresses, which answer) listed in a Prometheus file_sd
# file appear with the
# group's labels over the template's; an edit of the file (one address
# added, one removed) applies the diff within the 1 s watch while the
# unchanged target keeps its state (health never back to "unknown") and its
# cadence (lastScrape moves on); a file that does not parse is logged with
# file:line:col and its old targets keep running; DELETE of a file target
# answers 409, and nothing lands in DATA/targets.json; a reload that
# changes the template replaces the targets.
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/sd"
cat >"$WORK/tide.yml" <<YML
target_files:
  - files: [sd/*.yml]
    kind: ping
    interval: 1s
    count: 1
    labels: {source: inventory, site: default}
YML
cat >"$WORK/sd/routers.yml" <<YML
- targets: [127.0.0.1, 127.0.0.2]
  labels: {site: tbilisi}
YML
tide_start "$WORK/data" - --config "$WORK/tide.yml"

# "name health lastScrape interval file" per target, sorted
state() {
    req GET /api/v1/targets
    printf '%s' "$BODY" | python3 -c '
import json, sys
j = json.load(sys.stdin)["data"]
for t in sorted(j["activeTargets"], key=lambda t: t["discoveredLabels"]["__tide_name__"]):
    d = t["discoveredLabels"]
    print(d["__tide_name__"], t["health"], t["lastScrape"], d["__scrape_interval__"],
          d.get("__tide_source__", "-"), d.get("__meta_filepath", "-"))'
}
snap() { STATE=$(state); } # one request per check: the machine may be loaded
names() { snap; printf '%s\n' "$STATE" | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//'; }
field() { printf '%s\n' "$STATE" | awk -v n="$1" -v f="$2" '$1 == n {print $f}'; } # of the last snap
wait_for() { # wait_for WHAT CMD...: poll up to 10 s
    local what=$1 i
    shift
    for i in $(seq 1 100); do
        "$@" && return 0
        sleep 0.1
    done
    fail "$what: not within 10 s; targets: $(state)"
}

A=127.0.0.1 B=127.0.0.2 C=127.0.0.3
assert_eq "at start" "$A $B" "$(names)"
snap
assert_eq "source" "target_files $WORK/sd/routers.yml" "$(field "$A" 5) $(field "$A" 6)"

# The series carry the group's site over the template's, and the template's source.
has_up() {
    req GET "/api/v1/query" --data-urlencode "query=up{instance=\"$A\",site=\"tbilisi\",source=\"inventory\"}"
    [ "$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))')" = 1 ]
}
wait_for "up of $A with the merged labels" has_up

# A has run (health up); remember its last run.
ran() { snap; [ "$(field "$A" 2)" = up ]; }
wait_for "a first run of $A" ran
before=$(field "$A" 3)

# Edit: B removed, C added; A unchanged.
cat >"$WORK/sd/routers.yml.tmp" <<YML
- targets: [127.0.0.1, 127.0.0.3]
  labels: {site: tbilisi}
YML
mv "$WORK/sd/routers.yml.tmp" "$WORK/sd/routers.yml"
diffed() { [ "$(names)" = "$A $C" ]; }
wait_for "the diff applied" diffed
snap
assert_eq "A kept its health across the diff" up "$(field "$A" 2)"
grep -q "target_files: 1 added, 1 removed, 1 kept" "$TIDE_LOG" ||
    fail "diff summary missing: $(grep target_files "$TIDE_LOG")"
moved() { snap; [ "$(field "$A" 3)" != "$before" ] && [ "$(field "$A" 2)" = up ]; }
wait_for "A's next run" moved
[[ "$(field "$A" 3)" > "$before" ]] || fail "A's lastScrape went back: $before -> $(field "$A" 3)"

# Broken file: the old targets stay, the error names file:line:col.
printf -- '- targets: [127.0.0.9]\n  labels: {site: [unclosed\n' >"$WORK/sd/routers.yml"
logged() { grep -q "target_files: $WORK/sd/routers.yml:[0-9]*:[0-9]*: " "$TIDE_LOG"; }
wait_for "the parse error logged" logged
assert_eq "after a broken file" "$A $C" "$(names)"

# DELETE of a file target: 409 with a clear message; nothing persisted.
req DELETE "/api/v1/targets/ping/$A"
assert_code 409
assert_contains "delete" "comes from the file $WORK/sd/routers.yml" "$BODY"
if [ -e "$WORK/data/targets.json" ] && grep -q "127.0.0" "$WORK/data/targets.json"; then
    fail "file targets persisted: $(cat "$WORK/data/targets.json")"
fi

# Reload with a changed template (interval): the targets are replaced.
sed -i 's/interval: 1s/interval: 3s/' "$WORK/tide.yml"
req POST /-/reload
assert_code 200
snap
assert_eq "after a template reload" "3s 3s" "$(field "$A" 4) $(field "$C" 4)"
# A bad template refuses the reload with file:line:col; nothing changes.
sed -i 's/count: 1/count: 1\n    bogus: 1/' "$WORK/tide.yml"
req POST /-/reload
assert_code 500
assert_contains "bad template" "$WORK/tide.yml:6:" "$BODY"
assert_eq "after a refused reload" "$A $C" "$(names)"
tide_stop "$TIDE_PID"
log "target_files: file targets, diff on edit, broken file kept, 409 on delete, reload"
