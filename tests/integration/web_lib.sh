# web_lib.sh: what the dashboard's browser tests (test_web_*.sh) share:
# checks that chromium (and firefox-esr) and tests/web's npm packages are
# there (a missing one fails the test, it never skips), web_run to run
# tests/web/run.mjs and web_run_firefox tests/web/firefox.mjs against the
# server lib.sh started. Screenshots land in $WORK/shots (kept
# with KEEP=1; WEB_SHOTS=DIR also copies them there, e.g. docs/img).

web_check() {
    command -v node >/dev/null || fail "node is missing: run scripts/deps.sh test"
    [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "chromium is missing: run scripts/deps.sh test"
    [ -d "$SRC/tests/web/node_modules/playwright-core" ] ||
        fail "tests/web/node_modules is missing: run scripts/deps.sh test"
    curl -fsS "$TIDE_URL/" | grep -q '/assets/app-' ||
        fail "/ does not serve the dashboard (built without node? run scripts/deps.sh build)"
}

# web_check_firefox: Debian's firefox-esr and npm's puppeteer-core (for
# tests/web/firefox.mjs); missing ones fail, they are an install step.
web_check_firefox() {
    [ -x "${FIREFOX:-/usr/bin/firefox-esr}" ] || fail "firefox-esr is missing: run scripts/deps.sh test"
    [ -d "$SRC/tests/web/node_modules/puppeteer-core" ] ||
        fail "tests/web/node_modules/puppeteer-core is missing: run scripts/deps.sh test"
}

# web_run_firefox TEST...: tests/web/firefox.mjs's tests, against $TIDE_URL.
web_run_firefox() {
    local rc=0
    (cd "$SRC/tests/web" && node firefox.mjs "$TIDE_URL" "$WORK/shots" "$@") || rc=$?
    if [ -n "${WEB_SHOTS:-}" ]; then
        mkdir -p "$WEB_SHOTS"
        cp "$WORK"/shots/firefox-*.png "$WEB_SHOTS"/ 2>/dev/null || true
    fi
    [ "$rc" -eq 0 ] || fail "Firefox tests failed (screenshots in $WORK/shots)"
}

# web_run TEST...: the browser tests named, against $TIDE_URL.
web_run() {
    local rc=0
    (cd "$SRC/tests/web" && node run.mjs "$TIDE_URL" "$WORK/shots" "$@") || rc=$?
    if [ -n "${WEB_SHOTS:-}" ]; then
        mkdir -p "$WEB_SHOTS"
        cp "$WORK"/shots/*.png "$WEB_SHOTS"/ 2>/dev/null || true
    fi
    [ "$rc" -eq 0 ] || fail "browser tests failed (screenshots in $WORK/shots)"
}
