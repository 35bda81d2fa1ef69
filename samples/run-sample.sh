#!/usr/bin/env bash
# The README's first command: sets the host up, builds judger, makes sure the
# offline Debian base image exists, then runs the sample Tron match (c-bot in
# C against py-bot in Python) and shows how it ended.
#
#   bash samples/run-sample.sh [SPEC] [OUT_DIR]
#
# SPEC defaults to samples/specs/tron-2p.json (tron-4p.json: four seats, one
# AI twice; connect4.json: the second sample, stdin/stdout bots in Python and
# Node.js behind a relay); OUT_DIR to a new directory under /tmp. Works on a fresh clone:
# the first run builds the Debian base (~1 min) and the programs' images
# (~2 min, apt-get inside the builds); later runs reuse every cache and take
# seconds. Exit code: judger run's (0 = the match finished).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

spec=${1:-samples/specs/tron-2p.json}
out=${2:-$(mktemp -d /tmp/judger-sample.XXXXXX)}

# One line per step here; what the steps print (the compiler's warnings,
# debootstrap's ~200 "I: Retrieving ..." lines) goes to this log, whose end
# is shown when a step fails.
log=$(mktemp --suffix=.log /tmp/judger-sample-setup.XXXXXX)
failed() {
  echo "run-sample: $1 failed (exit $2); the end of $log:" >&2
  tail -n 20 "$log" >&2
  exit "$2"
}

bash images/setup-host.sh

echo "run-sample: building judger (log: $log)"
{ cmake -S . -B build && cmake --build build -j"$(nproc)" --target judger; } >>"$log" 2>&1 ||
  failed "building judger" $?

echo "run-sample: making sure the Debian base image exists (about a minute the first time; log: $log)"
base=$(build/bin/judger build --base-image 2>>"$log") || failed "judger build --base-image" $?
echo "run-sample: $base"

# The spec names its programs by directory: this host lets a spec name
# the samples' (by default only the judger's own builds; docs/security.md).
export JUDGER_PROGRAM_ROOTS=${JUDGER_PROGRAM_ROOTS:-$root/samples}
echo "run-sample: judger run $spec --out $out (program roots: $JUDGER_PROGRAM_ROOTS)"
rc=0
build/bin/judger run "$spec" --out "$out" || rc=$?

echo
if [ -f "$out/replay.json" ]; then
  if grep -q '"game": *"tron"' "$out/replay.json"; then
    python3 "$root/samples/tools/replay-ascii.py" "$out/replay.json" --last 1 || true
  fi
  python3 "$root/samples/tools/replay-html.py" "$out/replay.json" "$out/replay.html" || true
  echo
  echo "run-sample: replay      $out/replay.json"
  echo "run-sample: watch it    open $out/replay.html in a browser (self-contained)"
  if grep -q '"game": *"tron"' "$out/replay.json"; then
    echo "            or          python3 samples/tools/replay-ascii.py $out/replay.json --play"
  fi
else
  echo "run-sample: no replay was written; see $out/game_logic.log" >&2
fi
echo "run-sample: result      $out/result.json"
echo "run-sample: logs        $out/game_logic.log $out/player_*.log"
exit "$rc"
