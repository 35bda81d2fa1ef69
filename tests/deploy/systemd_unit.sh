#!/usr/bin/env bash
# test-labels: unit deploy
# images/judger.service passes `systemd-analyze verify`, a broken copy of it
# does not (the check can fail), its stop timeout leaves room for the
# daemon's drain (grace_ms default in judger/daemon/config.c + teardown),
# and its sandbox keeps the exposure score low (`systemd-analyze security`).
# Under CI=true a missing systemd-analyze fails; elsewhere it skips (77).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
unit=$root/images/judger.service
die() { echo "systemd_unit: FAIL: $*" >&2; exit 1; }
if ! command -v systemd-analyze >/dev/null 2>&1; then
  [ "${CI:-}" = true ] && die "systemd-analyze is missing (apt-get install systemd)"
  echo "systemd_unit: SKIP: no systemd-analyze" >&2
  exit 77
fi
work=$(mktemp -d /tmp/judger-unit.XXXXXX)
trap 'rm -rf "$work"' EXIT
# verify also checks that ExecStart's binary exists: point it at a stand-in
# (the installed path is /usr/local/bin/judger, cmake's default prefix).
grep -q '^ExecStart=/usr/local/bin/judger daemon$' "$unit" || die "ExecStart is not 'judger daemon'"
printf '#!/bin/sh\n' >"$work/judger" && chmod +x "$work/judger"
sed "s|/usr/local/bin/judger|$work/judger|" "$unit" >"$work/judger.service"
out=$(cd "$work" && systemd-analyze verify "$work/judger.service" 2>&1) ||
  die "systemd-analyze verify: $out"
[ -z "$out" ] || die "systemd-analyze verify warns: $out"
# The control: a bad value must be reported.
mkdir "$work/bad"
sed 's/^KillMode=mixed$/KillMode=bogus/' "$work/judger.service" >"$work/bad/judger.service"
bad=$(cd "$work" && systemd-analyze verify "$work/bad/judger.service" 2>&1 || true)
echo "$bad" | grep -q 'kill mode' || die "verify did not catch KillMode=bogus: $bad"
# Drain: TimeoutStopSec > grace_ms + 20 s of teardown.
grace=$(sed -n 's/^ *c->grace_ms = \([0-9]*\);.*/\1/p' "$root/judger/daemon/config.c")
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$unit")
[ -n "$grace" ] && [ -n "$stop" ] || die "cannot read grace_ms ($grace) or TimeoutStopSec ($stop)"
[ $((stop * 1000)) -gt $((grace + 20000)) ] ||
  die "TimeoutStopSec=${stop}s does not cover grace_ms=${grace} ms plus teardown"
grep -q '^KillSignal=SIGTERM$' "$unit" || die "the stop signal must be SIGTERM (the drain)"
grep -q '^Restart=on-failure$' "$unit" || die "Restart=on-failure is missing"
# Sandbox: systemd's own exposure score, offline (no running systemd here).
score=$(systemd-analyze security --offline=true "$work/judger.service" 2>&1 |
  sed -n 's/.*Overall exposure level for judger.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || die "no exposure score"
awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }' || die "exposure $score is over 3.0"
echo "systemd_unit: verify clean, TimeoutStopSec=${stop}s vs grace_ms=$grace, exposure $score"
