#!/usr/bin/env bash
# test-labels: unit deploy
# images/judger.service passes `systemd-analyze verify`, a broken copy of it
# does not (the check can fail), its stop timeout leaves room for the
# daemon's drain (grace_ms default in docs/settings.md + teardown),
# and its sandbox keeps the exposure score low (`systemd-analyze security`).
# Then the sandbox's file system, reproduced without systemd as PID 1 (a
# mount namespace: every mount read-only as ProtectSystem=strict makes it,
# a private /tmp, the state directory the one writable place): a build's
# lock files (the base image's, the build proxy's, the build turns) are had
# there, the build runs on its own network and leaves none. They used to be
# in /run/lock, read-only under the unit: every image build failed.
# Under CI=true a missing systemd-analyze, judger binary or engine fails;
# elsewhere it skips (77).
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
# grace_ms's default from the settings table (docs/settings.md, which
# test_judger_settings keeps equal to JD_CONFIG_MAP): "60s" or "60000ms".
grace=$(sed -n 's/^| `grace_ms` |[^|]*|[^|]*|[^|]*| `\([0-9]*\)\(m*s\)` |.*/\1 \2/p' \
  "$root/docs/settings.md" | awk '{print $2 == "s" ? $1 * 1000 : $1}')
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

# ---- the sandbox's file system, and a build's lock files in it ----
skip() {
  [ "${CI:-}" = true ] && die "$*"
  echo "systemd_unit: SKIP: $*" >&2
  exit 77
}
judger=${JUDGER_BIN:-}
for j in "$judger" "$PWD/../bin/judger" "$root/build/bin/judger"; do
  [ -n "$j" ] && [ -x "$j" ] && { judger=$(cd "$(dirname "$j")" && pwd)/judger; break; }
done
[ -x "$judger" ] || skip "no judger binary (build it, or set JUDGER_BIN)"
command -v docker >/dev/null 2>&1 && docker version >/dev/null 2>&1 ||
  skip "the engine does not answer (run images/setup-host.sh)"
grep -q '^ProtectSystem=strict$' "$unit" || die "ProtectSystem=strict is gone: update this test"
grep -q '^PrivateTmp=yes$' "$unit" || die "PrivateTmp=yes is gone: update this test"
grep -q '^StateDirectory=judger$' "$unit" || die "StateDirectory=judger is gone: update this test"
# The base image and the proxy's are the engine's, made once (outside the
# sandbox: debootstrap is not the unit's to run, docs/deployment.md).
"$judger" build --base-image -q >/dev/null || die "cannot make the base image"
# The state dir stands in for /var/lib/judger: on the root file system,
# outside /tmp (the sandbox's /tmp is its own).
state=$(mktemp -d /var/tmp/judger-unit-state.XXXXXX)
host=unit-sandbox-$$
id=unit-sandbox-$$
trap 'rm -rf "$work" "$state"; docker image rm -f $(docker images -q --filter label=judger.id=$id) >/dev/null 2>&1 || true' EXIT
mkdir -p "$state/src/prog"
printf 'FROM judger/debian:bookworm\nLABEL judger.test=1\nRUN echo %s\n' "$id" >"$state/src/prog/run.Dockerfile"
cat >"$work/inside.sh" <<'INSIDE'
set -euo pipefail
state=$1 judger=$2 host=$3 id=$4
# ProtectSystem=strict: every mount read-only but the kernel's API trees.
findmnt -rn -o TARGET | while read -r m; do
  case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || true
done
mount --bind "$state" "$state" && mount -o remount,bind,rw "$state" # StateDirectory=
mount -t tmpfs -o mode=1777 tmpfs /tmp                                # PrivateTmp=
# The sandbox holds: what the judger used before is read-only now.
! touch /run/lock/judger-unit-probe 2>/dev/null || { echo "INSIDE: /run/lock is writable"; exit 1; }
! touch /var/lib/judger-unit-probe 2>/dev/null || { echo "INSIDE: /var/lib is writable"; exit 1; }
touch "$state/probe" || { echo "INSIDE: the state dir is read-only"; exit 1; }
export JUDGER_STATE_DIR=$state JUDGER_HOST_ID=$host JUDGER_PROGRAM_ROOTS=$state/src
# The base image's lock: had (a tag that never exists, a mirror that
# refuses: debootstrap is what fails, not the lock).
rc=0
out=$(JUDGER_DEBIAN_MIRROR=http://127.0.0.1:9/debian "$judger" build -q \
  --base-image="judger-test/$id:none" 2>&1) || rc=$?
case "$rc:$out" in
  *"cannot lock"* | *"Read-only"* | *"waited"*) echo "INSIDE: base image lock: $out"; exit 1 ;;
  "3:"*"debootstrap --variant=minbase bookworm"*"failed"*) ;;
  *) echo "INSIDE: base image (exit $rc): $out"; exit 1 ;;
esac
# An image build: the proxy's lock, the build's network, its cache.
out=$("$judger" build -q --domain ai --id "$id" --op run --source "$state/src/prog" 2>&1) ||
  { echo "INSIDE: build failed: $out"; exit 1; }
echo "INSIDE: ok"
INSIDE
# The binary goes with the state dir: a checkout under /tmp (a CI clone)
# is hidden by the sandbox's own /tmp.
cp "$judger" "$state/judger-bin"
out=$(unshare -m --propagation private bash "$work/inside.sh" "$state" "$state/judger-bin" "$host" "$id" 2>&1) ||
  die "in the sandbox: $out"
echo "$out" | grep -q '^INSIDE: ok$' || die "in the sandbox: $out"
[ -f "$state/locks/build-base-image" ] && [ ! -L "$state/locks/build-base-image" ] ||
  die "no base image lock in the state dir"
[ -f "$state/locks/build-proxy" ] || die "no build proxy lock in the state dir"
ls "$state/locks" | grep -Eq '^build-[0-9a-f]{64}$' || die "no build turn lock in the state dir"
[ ! -e /run/lock/judger-unit-probe ] || die "the sandbox wrote /run/lock"
left=$(docker network ls -q --filter "label=judger.host=$host")
[ -z "$left" ] || die "the build left its network: $left"
left=$(docker ps -aq --filter "label=judger.host=$host")
[ -z "$left" ] || die "the build left a container (its proxy?): $left"
echo "systemd_unit: verify clean, TimeoutStopSec=${stop}s vs grace_ms=$grace, exposure $score;" \
  "a build under ProtectSystem=strict: locks in the state dir, no network or proxy left"
