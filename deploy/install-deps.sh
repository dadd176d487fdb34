#!/usr/bin/env bash
# Installs the Debian packages zhibao needs to build, test and run.
# Idempotent: when every package is already installed it changes nothing
# and does not touch the network.
#
#   ./deploy/install-deps.sh            build + test dependencies
#   ./deploy/install-deps.sh --runtime  only what the binaries need at run time
set -euo pipefail

build_pkgs=(
    build-essential cmake pkg-config
    libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
    liblmdb-dev libsodium-dev libjansson-dev libcmocka-dev libmicrohttpd-dev gettext
    libxlsxwriter-dev
)
# chromium: the dashboard's browser test (tests/system/dashboard.sh) loads the
# page headless; fonts-noto-cjk draws its Chinese labels in the screenshot;
# faketime: nodes with clocks set back or ahead (tests/system/accident_stats.sh);
# python3-openpyxl: opens the reports' workbooks (tests/system/report_xlsx.sh)
test_pkgs=(clang libclang-rt-14-dev lmdb-utils python3 curl chromium fonts-noto-cjk faketime python3-openpyxl
           iproute2)
runtime_pkgs=(libzmq5 libprotobuf-c1 liblmdb0 libsodium23 libjansson4 libmicrohttpd12 libxlsxwriter4)

want=()
case "${1:-}" in
    --runtime) want=("${runtime_pkgs[@]}") ;;
    "") want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
    *) echo "usage: $0 [--runtime]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    # dpkg-query prints "install ok installed" only for a fully installed package
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
