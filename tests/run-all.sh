#!/usr/bin/env bash
# Sets everything up and runs every test: host set-up (packages, dockerd,
# redis-server binary), the style gate, a -Werror build, the whole CTest suite against the
# real engines (the host's and a newer one as a sidecar), then the unit tests again under AddressSanitizer + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."

bash images/setup-host.sh

# The sidecar engines the tests start (images/engines/sidecar.sh, and
# podman.sh's Podman sidecar and the host's Podman 4.3 service) are
# stopped when this script ends, passed or failed: their image and data
# volumes stay, so the next run starts them again in about 3 s each.
# JUDGER_KEEP_SIDECARS=1 leaves them running.
stop_sidecars() {
  [ "${JUDGER_KEEP_SIDECARS:-0}" = 1 ] && return 0
  local engine engines=${JUDGER_ENGINES:-host;trixie;containerd}
  for engine in ${engines//;/ }; do
    case $engine in
      host) ;;
      podman) bash images/engines/podman.sh stop podman ;;
      *) bash images/engines/sidecar.sh stop "$engine" ;;
    esac
  done
  bash images/engines/podman.sh stop podman43
}
trap stop_sidecars EXIT

# The style and size gate first: it takes a second, and a tree that breaks
# the house rules (clang-format, functions over 80 lines, files over 600
# lines of code, the error convention) is not worth an hour of tests.
python3 tests/style/gate.py

jobs=$(nproc)
# The engine tests run on every engine of JUDGER_ENGINES: the host's 20.10
# and the trixie 26.1 sidecars (images/engines/sidecar.sh, started by the
# engine_<name>_start fixtures; the image is made once, then cached by tag):
# "trixie" with its minimum API raised to 1.44 (Docker 29's floor) runs every
# engine test, "containerd" (the containerd image store) libdockerapi's.
cmake -S . -B build -DJUDGER_WERROR=ON -DJUDGER_ENGINES="${JUDGER_ENGINES:-host;trixie;containerd}" >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs" --timeout 900)

# Sanitizers: no leak, no overflow, no UB in the unit tests. Criterion runs
# each test in a child and does not turn a sanitizer report into a failure,
# so the reports themselves are searched for.
cmake -S . -B build-asan -DJUDGER_WERROR=ON -DJUDGER_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
asan_log=build-asan/sanitizer.log
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -V -j"$jobs" -L unit) >"$asan_log" 2>&1 || { tail -50 "$asan_log"; exit 1; }
if grep -E "ERROR: (Leak|Address)Sanitizer|runtime error:" "$asan_log" >/dev/null; then
  grep -E -A20 "ERROR: (Leak|Address)Sanitizer|runtime error:" "$asan_log" | head -80
  echo "run-all: the sanitizers reported problems (full log: $asan_log)" >&2
  exit 1
fi
echo "run-all: unit tests clean under ASan + UBSan ($(grep -c '\[PASS\]' "$asan_log") passing cases)"
echo "run-all: every test passed"
