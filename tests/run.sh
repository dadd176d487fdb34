#!/usr/bin/env bash
# The test command: installs what is missing, builds with AddressSanitizer +
# UndefinedBehaviorSanitizer into build/, and runs every test through ctest.
#   ./tests/run.sh              everything
#   ./tests/run.sh -R unit      only tests matching a ctest regex
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
cmake -S . -B build -DZB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build -j "$(nproc)"
# LMDB's reader table and ZeroMQ's threads trip no sanitizer; leaks are errors.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
