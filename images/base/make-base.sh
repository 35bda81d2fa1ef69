#!/usr/bin/env bash
# Makes the offline Debian base image judger/debian:bookworm (or TAG) once per
# engine: `debootstrap --variant=minbase bookworm` into a temporary directory,
# then imported through libdockerapi (POST /images/create?fromSrc=-) by
# `judger build --base-image`. Skipped in a blink when the tag exists.
#   images/base/make-base.sh [TAG]
# Env: JUDGER (the binary; default build/bin/judger), JUDGER_DEBIAN_MIRROR
# (default http://deb.debian.org/debian), JUDGER_STATE_DIR (work directory).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
judger=${JUDGER:-$root/build/bin/judger}
if [ ! -x "$judger" ]; then
  cmake -S "$root" -B "$root/build" >/dev/null && cmake --build "$root/build" -j2 --target judger >/dev/null
fi
command -v debootstrap >/dev/null || { echo "make-base: debootstrap missing: run images/setup-host.sh" >&2; exit 3; }
state=${JUDGER_STATE_DIR:-/var/tmp/judger}
mkdir -p "$state"
if [ $# -gt 0 ]; then
  exec "$judger" build --base-image="$1" --state-dir "$state"
fi
exec "$judger" build --base-image --state-dir "$state"
