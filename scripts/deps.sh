#!/usr/bin/env bash
# deps.sh: install the Debian packages Tide needs to build, test and benchmark.
# Idempotent: only packages not yet installed are installed, and they are named.
# Usage: scripts/deps.sh [build|test|bench]...   (default: build test)
set -euo pipefail

build_pkgs=(gcc make cmake ninja-build pkg-config clang
    libmicrohttpd-dev libzstd-dev libsnappy-dev libprotobuf-c-dev protobuf-c-compiler
    libpcre2-dev libyaml-dev libxxhash-dev zlib1g-dev libcurl4-openssl-dev libsnmp-dev libsqlite3-dev
    libssl-dev)
test_pkgs=(libcmocka-dev libclang-rt-dev curl python3 influxdb-client procps prometheus-node-exporter victoria-metrics
    prometheus prometheus-alertmanager sqlite3 zstd golang-go snmpd snmp prometheus-snmp-exporter snmpsim
    collectd-core libyajl2 prometheus-blackbox-exporter iproute2 openssl
    chromium firefox-esr)
bench_pkgs=(victoria-metrics curl python3 time)
# Directories with a package.json and package-lock.json whose npm packages a
# group needs (`npm ci` there when node_modules is missing or older than the
# lock file). Their groups also need Node.js and npm (below).
npm_build_dirs=(web)
npm_test_dirs=(tests/clients-node tests/routeros-node tests/web)

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(build test)

want=()
for g in "${groups[@]}"; do
    case "$g" in
    build) want+=("${build_pkgs[@]}") ;;
    test) want+=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
    bench) want+=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
    *) echo "deps.sh: unknown group '$g' (build, test, bench)" >&2; exit 2 ;;
    esac
done

npm_dirs=()
for g in "${groups[@]}"; do
    case "$g" in
    build) npm_dirs+=("${npm_build_dirs[@]}") ;;
    test) npm_dirs+=("${npm_build_dirs[@]}" "${npm_test_dirs[@]}") ;;
    esac
done
# Node.js and npm: Debian's packages only where the machine has none (an
# image may bring its own, e.g. NodeSource's nodejs with npm inside, which
# Debian's npm package cannot be installed beside).
if [ ${#npm_dirs[@]} -gt 0 ]; then
    command -v node >/dev/null || want+=(nodejs)
    command -v npm >/dev/null || want+=(npm)
fi

# npm_install: `npm ci` in every directory of npm_dirs that needs it.
npm_install() {
    local root d
    root=$(cd "$(dirname "$0")/.." && pwd)
    for d in "${npm_dirs[@]}"; do
        if [ ! -f "$root/$d/node_modules/.package-lock.json" ] ||
            [ "$root/$d/package-lock.json" -nt "$root/$d/node_modules/.package-lock.json" ]; then
            echo "deps.sh: npm ci in $d" >&2
            # puppeteer-core drives the Debian firefox-esr: it must download no browser.
            (cd "$root/$d" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2)
        fi
    done
}

missing=()
for p in $(printf '%s\n' "${want[@]}" | sort -u); do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    npm_install
    exit 0
fi
echo "deps.sh: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps.sh: done" >&2
npm_install
