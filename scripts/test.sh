#!/usr/bin/env bash
# Installs what is missing (Debian packages, Python virtual environment), then builds and runs
# the whole test suite twice: with AddressSanitizer + UndefinedBehaviorSanitizer (unit and
# end-to-end tests against the sanitized otlpd), then in a normal build; in between, each
# libFuzzer target runs for FUZZ_SECONDS (default 30). Ends with ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --python --demo --browser
JOBS=$(nproc)

echo "=== ASan + UBSan build ==="
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DOTLPD_SANITIZE=ON -DOTLPD_BUILD_BENCH=OFF >/dev/null
ninja -C build-asan
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
(cd build-asan && ctest --output-on-failure -j"$JOBS")

echo "=== libFuzzer targets (clang), ${FUZZ_SECONDS:=30} s each ==="
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTLPD_FUZZ=ON \
  -DOTLPD_BUILD_TESTS=OFF -DOTLPD_BUILD_BENCH=OFF -DOTLPD_FUZZ_SECONDS="$FUZZ_SECONDS" >/dev/null
ninja -C build-fuzz otlpd_fuzzers
(cd build-fuzz && ctest --output-on-failure -L fuzz)

echo "=== Normal build ==="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build
cd build && ctest --output-on-failure -j"$JOBS"
