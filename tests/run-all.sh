#!/usr/bin/env bash
# Sets everything up and runs every test: host set-up (packages, dockerd,
# redis-server binary), a -Werror build, the whole CTest suite against the
# real engine, then the unit tests again under AddressSanitizer + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."

bash images/setup-host.sh

jobs=$(nproc)
cmake -S . -B build -DJUDGER_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs" --timeout 900)

# Sanitizers: no leak, no overflow, no UB in the unit tests.
cmake -S . -B build-asan -DJUDGER_WERROR=ON -DJUDGER_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 \
  ctest --output-on-failure -j"$jobs" -L unit)
echo "run-all: every test passed"
