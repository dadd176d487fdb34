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

# Optimised build: gcc warns at -O2 about what -O0 never sees
# (-Wformat-truncation, -Wdangling-pointer ...), and warnings are errors:
# demo.sh's default build (RelWithDebInfo) and the benchmark's must compile.
# Compile only (the tests above ran on the sanitizer build). Skipped with a
# subset, as the fuzz stage is.
if [ "$#" -eq 0 ]; then
    cd ..
    cmake -S . -B build-opt -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZB_BENCH=ON >/dev/null
    cmake --build build-opt -j "$(nproc)" >/dev/null || {
        cmake --build build-opt -j 1 2>&1 | grep -E "error|warning" | head -n 40 || true
        echo "optimised build: FAILED (RelWithDebInfo, what demo.sh builds)"
        exit 1
    }
    echo "optimised build (RelWithDebInfo): clean"
    cd build
fi

# Fuzz stage: every libFuzzer target (tests/fuzz/) for a bounded time, in a
# separate clang build dir (libFuzzer needs clang; the build above uses gcc).
# ZB_FUZZ_SECONDS per target (default 20; 0 skips the stage). Skipped when
# ctest arguments select a subset. Each target runs on a scratch copy of its
# checked-in corpus; crashes land in build-fuzz/fuzz-artifacts/.
cd ..
fuzz_seconds="${ZB_FUZZ_SECONDS:-20}"
if [ "$#" -gt 0 ] || [ "$fuzz_seconds" = 0 ]; then
    echo "fuzz: skipped (ctest arguments given or ZB_FUZZ_SECONDS=0)"
    exit 0
fi
CC=clang cmake -S . -B build-fuzz -DZB_FUZZ=ON -DZB_SANITIZE=ON -DZB_TESTS=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)"
fuzz_work="$(mktemp -d)"
trap 'rm -rf "$fuzz_work"' EXIT
mkdir -p build-fuzz/fuzz-artifacts
fuzz_count=0
fuzz_failed=()
for src in tests/fuzz/fuzz_*.c; do
    t="$(basename "$src" .c)"
    fuzz_count=$((fuzz_count + 1))
    cp -R "tests/fuzz/corpus/$t" "$fuzz_work/$t"
    dict=()
    if [ -f "tests/fuzz/$t.dict" ]; then dict=("-dict=tests/fuzz/$t.dict"); fi
    if "./build-fuzz/tests/fuzz/$t" -max_total_time="$fuzz_seconds" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="build-fuzz/fuzz-artifacts/$t-" "${dict[@]}" \
        "$fuzz_work/$t" >"build-fuzz/$t.log" 2>&1; then
        echo "fuzz: $t clean ($(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "build-fuzz/$t.log"))"
    else
        tail -n 40 "build-fuzz/$t.log"
        echo "fuzz: $t FAILED (log build-fuzz/$t.log, input in build-fuzz/fuzz-artifacts/)"
        fuzz_failed+=("$t")
    fi
done
if [ "${#fuzz_failed[@]}" -gt 0 ]; then
    echo "fuzz: ${#fuzz_failed[@]} of $fuzz_count targets failed: ${fuzz_failed[*]}"
    exit 1
fi
echo "fuzz: $fuzz_count targets, $fuzz_seconds s each, all clean"
