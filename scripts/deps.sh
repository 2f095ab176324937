#!/usr/bin/env bash
# deps.sh: install the Debian packages Tide needs to build, test and benchmark.
# Idempotent: only packages not yet installed are installed, and they are named.
# Usage: scripts/deps.sh [build|test|bench]...   (default: build test)
set -euo pipefail

build_pkgs=(gcc make cmake ninja-build pkg-config clang
    libmicrohttpd-dev libzstd-dev libsnappy-dev libprotobuf-c-dev protobuf-c-compiler
    libpcre2-dev libyaml-dev libxxhash-dev zlib1g-dev libcurl4-openssl-dev libsnmp-dev)
test_pkgs=(libcmocka-dev libclang-rt-dev curl python3 influxdb-client procps prometheus-node-exporter victoria-metrics
    prometheus prometheus-alertmanager sqlite3 zstd golang-go snmpd snmp prometheus-snmp-exporter
    collectd-core libyajl2)
bench_pkgs=(victoria-metrics curl python3 time)

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

missing=()
for p in $(printf '%s\n' "${want[@]}" | sort -u); do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "deps.sh: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps.sh: done" >&2
