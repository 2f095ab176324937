#!/usr/bin/env bash
# test_routeros_node.sh: the simulator checked with a client nobody here
# wrote. npm's node-routeros (tests/routeros-node, pinned in its lock file,
# installed by scripts/deps.sh test) logs in to a v6 router (plain login)
# and a v7 one (MD5 challenge), runs every print command with rows
# concurrently (tagged on one connection), a count-only and a ?query with a
# .proplist, and must read exactly what `routeros_sim.py replies` says the
# simulator answers.
. "$(dirname "$0")/lib.sh"
. "$HERE/routeros_lib.sh"

NODE_DIR="$SRC/tests/routeros-node"
command -v node >/dev/null || fail "node is not installed (scripts/deps.sh test installs nodejs)"
[ -d "$NODE_DIR/node_modules/node-routeros" ] ||
    fail "node-routeros is not installed: run scripts/deps.sh test (npm ci in tests/routeros-node)"

sim_start --count 2 --version mixed --login mixed --frozen
for i in 0 1; do
    v=$((6 + i))
    "$PY" "$SIM" replies --version "$v" --index "$i" >"$WORK/want-$v.json"
    cmds=$("$PY" -c '
import json, sys
w = json.load(open(sys.argv[1]))
print(" ".join(k for k, v in sorted(w.items()) if k.endswith("/print") and v))' "$WORK/want-$v.json")
    # shellcheck disable=SC2086
    node "$NODE_DIR/check.js" 127.0.0.1 "$(sim_port $i)" monitor s3cret-pw $cmds \
        >"$WORK/got-$v.json" 2>"$WORK/node-$v.log" ||
        fail "node-routeros against the v$v router: $(cat "$WORK/node-$v.log")"
    "$PY" -c '
import json, sys
want = json.load(open(sys.argv[1]))
got = json.load(open(sys.argv[2]))
bad = [k for k in got if got[k] != want.get(k)]
for k in bad:
    print("%s: simulator says %s, node-routeros read %s" % (k, json.dumps(want.get(k))[:300], json.dumps(got[k])[:300]))
missing = [k for k, v in want.items() if v and k not in got]
for k in missing:
    print("%s: not read" % k)
print("%d commands compared" % len(got))
sys.exit(1 if bad or missing else 0)' "$WORK/want-$v.json" "$WORK/got-$v.json" >"$WORK/cmp-$v.txt" ||
        fail "v$v: $(cat "$WORK/cmp-$v.txt")"
    log "v$v: $(tail -1 "$WORK/cmp-$v.txt")"
done
# A wrong password is refused to node-routeros too.
if node "$NODE_DIR/check.js" 127.0.0.1 "$(sim_port 0)" monitor wrong /system/resource/print \
    >/dev/null 2>"$WORK/node-bad.log"; then
    fail "node-routeros logged in with a wrong password"
fi
log ok
