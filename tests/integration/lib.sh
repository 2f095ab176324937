# lib.sh: shared helpers of Tide's integration tests, sourced by test_*.sh.
#
# Starts `tide serve` on a free 127.0.0.1 port with a temporary data
# directory, waits for /health, and stops every process it started when the
# test exits (trap on EXIT, kill by PID only). Requests go through curl;
# assertions print what was expected and what came back.
#
# Environment (from ctest, see tests/CMakeLists.txt): TIDE (the binary),
# SRC (source tree), BUILD, TMPDIR. KEEP=1 keeps the work directory.

set -euo pipefail

: "${TIDE:?set TIDE to the tide binary}"
SRC=${SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HERE="$SRC/tests/integration"
mkdir -p "${TMPDIR:-/tmp}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tide-it.XXXXXX")
# Debian's python3 ahead of a version manager's shim on PATH: a pyenv shim
# costs about 0.4 s of CPU per call and the tests make hundreds of calls.
# The tests use the standard library only (scripts/deps.sh installs python3).
if [ -x /usr/bin/python3 ] && [ "$(command -v python3)" != /usr/bin/python3 ]; then
    mkdir -p "$WORK/bin"
    ln -s /usr/bin/python3 "$WORK/bin/python3"
    PATH="$WORK/bin:$PATH"
fi
JSONTOOL=(python3 "$HERE/jsontool.py")
TEST_NAME=$(basename "$0" .sh)
PIDS=()
FAILURES=0

lib_cleanup() {
    local rc=$?
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [ "$rc" -ne 0 ] || [ "$FAILURES" -ne 0 ]; then
        echo "--- $TEST_NAME failed; logs in $WORK:" >&2
        for f in "$WORK"/*.log; do
            [ -e "$f" ] || continue
            echo "--- $f (last 30 lines)" >&2
            tail -n 30 "$f" >&2
        done
    elif [ "${KEEP:-0}" != 1 ]; then
        rm -rf "$WORK"
    fi
}
trap lib_cleanup EXIT

log() { echo "[$TEST_NAME] $*"; }

fail() {
    echo "FAIL [$TEST_NAME]: $*" >&2
    FAILURES=$((FAILURES + 1))
    exit 1
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# tide_start DATADIR [PORT|-] [flags...]: start a server and wait until
# /health answers. Sets TIDE_PID, TIDE_PORT, TIDE_URL, TIDE_LOG. With PORT
# "-" a free port is picked (retried if another process grabs it first).
tide_start() {
    local dir=$1 want_port=${2:--}
    shift 2 || shift $#
    local attempt port log pid
    for attempt in 1 2 3 4 5; do
        if [ "$want_port" = - ]; then port=$(free_port); else port=$want_port; fi
        log="$WORK/tide-$port-$attempt-$RANDOM.log"
        "$TIDE" serve --data "$dir" --listen "127.0.0.1:$port" --collect-host false "$@" >"$log" 2>&1 &
        pid=$!
        PIDS+=("$pid")
        local i
        for i in $(seq 1 300); do
            if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null; then
                TIDE_PID=$pid
                TIDE_PORT=$port
                TIDE_URL="http://127.0.0.1:$port"
                TIDE_LOG=$log
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            tide_kill "$pid"
            fail "tide (pid $pid) did not answer /health within 30 s; log: $log"
        fi
        wait "$pid" 2>/dev/null || true
        if [ "$want_port" = - ] && grep -q "cannot listen" "$log"; then
            continue
        fi
        cat "$log" >&2
        fail "tide exited at start-up (data $dir, port $port)"
    done
    fail "could not find a free port for tide"
}

# tide_stop PID: SIGTERM, wait up to 30 s, require exit status 0.
tide_stop() {
    local pid=$1 i rc=0
    kill -TERM "$pid"
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        tide_kill "$pid"
        fail "tide (pid $pid) did not exit within 30 s of SIGTERM"
    fi
    wait "$pid" || rc=$?
    [ "$rc" -eq 0 ] || fail "tide (pid $pid) exited with status $rc after SIGTERM, want 0"
}

# tide_kill PID: SIGKILL and reap (any process this test started).
tide_kill() {
    local pid=$1
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# req METHOD PATH [curl args...]: one request to the current server (TIDE_URL).
# Sets CODE (HTTP status) and BODY (response body), HEADERS (file path).
req() {
    local method=$1 path=$2
    shift 2
    local out="$WORK/resp.body" hdr="$WORK/resp.headers"
    CODE=$(curl -sS -o "$out" -D "$hdr" -w '%{http_code}' -X "$method" "$@" "$TIDE_URL$path") ||
        fail "curl $method $path failed"
    BODY=$(cat "$out")
    HEADERS=$hdr
}

# assert_eq WHAT WANT GOT
assert_eq() {
    if [ "$2" != "$3" ]; then
        fail "$1: want [$2], got [$3]"
    fi
}

# assert_code WANT (after req): prints the body when the status differs.
assert_code() {
    if [ "$CODE" != "$1" ]; then
        fail "HTTP status: want $1, got $CODE; body: ${BODY:0:2000}"
    fi
}

# assert_contains WHAT NEEDLE HAYSTACK
assert_contains() {
    case "$3" in
    *"$2"*) ;;
    *) fail "$1: [$2] not found in [${3:0:2000}]" ;;
    esac
}

# req_bad_data METHOD PATH [curl args...]: the request is refused with 400 and
# a Prometheus-style bad_data error.
req_bad_data() {
    req "$@"
    assert_code 400
    json_ok 'j["status"] == "error" and j["errorType"] == "bad_data"'
}

# assert_header NAME (after req): the header is present; prints its value.
header_value() {
    tr -d '\r' <"$HEADERS" | awk -v n="$(echo "$1" | tr 'A-Z' 'a-z')" -F': ' \
        'tolower($1)==n {print substr($0, length($1)+3); exit}'
}

# json_ok PYEXPR [JSON]: evaluate a Python expression with `j` bound to the
# parsed JSON (BODY by default); fail unless it is true.
json_ok() {
    local expr=$1 doc=${2-$BODY}
    printf '%s' "$doc" | "${JSONTOOL[@]}" check "$expr" ||
        fail "JSON check failed: $expr; document: ${doc:0:2000}"
}

# poll SECONDS PATH PYEXPR: GET PATH until PYEXPR holds on the JSON body.
poll() {
    local secs=$1 path=$2 expr=$3 i
    for i in $(seq 1 $((secs * 5))); do
        req GET "$path"
        if printf '%s' "$BODY" | "${JSONTOOL[@]}" check "$expr" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    fail "after ${secs}s, $path: $expr does not hold; body: ${BODY:0:1500}"
}

# vm_setup: Debian's victoria-metrics for a test: VM_BIN, a free 127.0.0.1
# VM_PORT, VM_URL, data in $WORK/vm. Missing, it fails the test
# (scripts/deps.sh test installs it).
vm_setup() {
    VM_BIN=${VM_BIN:-$(command -v victoria-metrics || true)}
    [ -n "$VM_BIN" ] || fail "victoria-metrics is not installed (scripts/deps.sh test installs it)"
    VM_PORT=$(free_port)
    VM_URL="http://127.0.0.1:$VM_PORT"
}
# vm_start [FLAG...]: start it (again, on the same data) with FLAGs added,
# and wait for /health; VM_PID is its PID.
vm_start() {
    "$VM_BIN" -storageDataPath="$WORK/vm" -httpListenAddr="127.0.0.1:$VM_PORT" \
        -loggerLevel=ERROR "$@" >>"$WORK/vm.log" 2>&1 &
    VM_PID=$!
    PIDS+=("$VM_PID")
    local i
    for i in $(seq 1 100); do
        curl -fsS -o /dev/null --max-time 1 "$VM_URL/health" 2>/dev/null && return 0
        kill -0 "$VM_PID" 2>/dev/null || fail "victoria-metrics exited at start"
        sleep 0.1
    done
    fail "victoria-metrics did not answer /health within 10 s"
}
vm_stop() {
    kill -TERM "$VM_PID"
    wait "$VM_PID" 2>/dev/null || true
}

# export_canon MATCH [SERVER_URL]: export the series matching MATCH, in a
# canonical text form (series sorted, samples merged and sorted, values
# printed so NaN/±Inf compare exactly).
export_canon() {
    local match=$1 url=${2:-$TIDE_URL}
    curl -fsS -G --data-urlencode "match[]=$match" "$url/api/v1/export" |
        "${JSONTOOL[@]}" canon-export
}

# spawn_ready NAME PATH POLLS CMD...: start CMD, every "@PORT@" in its words
# replaced by a free 127.0.0.1 port, logging to $WORK/NAME-PORT.log, and poll
# http://127.0.0.1:PORT/PATH (POLLS times, 0.1 s apart) until it answers,
# keeping that answer in $WORK/NAME.ready. Up to 5 tries, on other ports
# (one may be taken meanwhile, or the process die). Sets SPAWN_PID and
# SPAWN_PORT; returns 1 when it never answered.
spawn_ready() {
    local name=$1 path=$2 polls=$3 port
    shift 3
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        "${@//@PORT@/$port}" >"$WORK/$name-$port.log" 2>&1 &
        SPAWN_PID=$!
        PIDS+=("$SPAWN_PID")
        for _ in $(seq 1 "$polls"); do
            if curl -fsS -o "$WORK/$name.ready" --max-time 10 "http://127.0.0.1:$port$path" 2>/dev/null; then
                SPAWN_PORT=$port
                return 0
            fi
            kill -0 "$SPAWN_PID" 2>/dev/null || break
            sleep 0.1
        done
        tide_kill "$SPAWN_PID"
    done
    return 1
}

# prom_start [flags...]: start Debian's `prometheus` ($PROM) on a free
# 127.0.0.1 port with $WORK/prometheus.yml and $WORK/prom-data, retried on
# another port if one is taken meanwhile, and wait (30 s at most) until
# /-/ready. Sets PROM_PID and PROM_URL; fails the test when it never starts.
prom_start() {
    spawn_ready prometheus /-/ready 300 "$PROM" --config.file="$WORK/prometheus.yml" \
        --storage.tsdb.path="$WORK/prom-data" --web.listen-address="127.0.0.1:@PORT@" \
        --log.level=warn "$@" ||
        fail "prometheus did not start (logs: $WORK/prometheus-*.log)"
    PROM_PID=$SPAWN_PID
    PROM_URL="http://127.0.0.1:$SPAWN_PORT"
}

# go_ref SRC_FILE: build a Go reference program (a single file, standard
# library only) with Go 1.19 on linux/amd64, the Go of Debian's Prometheus
# 2.42 build, into $WORK/ref: a throwaway cache and GOPATH, v1 code
# generation (no FMA contraction), as Debian builds Prometheus. Without that
# Go the test is skipped (exit 0, SKIP printed).
go_ref() {
    local go=/usr/lib/go-1.19/bin/go version
    [ -x "$go" ] || go=$(command -v go || true)
    if [ -z "$go" ]; then
        echo "SKIP [$TEST_NAME]: Go is not installed (scripts/deps.sh test installs golang-go)"
        exit 0
    fi
    version=$("$go" version)
    case "$version" in
    *" go1.19"*" linux/amd64") ;;
    *)
        echo "SKIP [$TEST_NAME]: need Go 1.19 on linux/amd64 (Prometheus 2.42's), found: $version"
        exit 0
        ;;
    esac
    log "$version"
    cp "$1" "$WORK/ref.go"
    (cd "$WORK" && env GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GOFLAGS= GO111MODULE=off \
        GOAMD64=v1 CGO_ENABLED=0 "$go" build -o "$WORK/ref" ref.go) >"$WORK/go-build.log" 2>&1 ||
        fail "go build of $1 failed: $(cat "$WORK/go-build.log")"
}
