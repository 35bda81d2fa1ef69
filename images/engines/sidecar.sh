#!/usr/bin/env bash
# A newer Docker engine beside the host's: Debian 13 (trixie) docker.io 26.1
# (API 1.45) run as a Docker-in-Docker sidecar, reached by a unix socket in a
# shared directory. Tests and the sample match run against it by setting
# DOCKER_HOST (tests/run-all.sh, the engine-<name> CTest labels).
#
#   images/engines/sidecar.sh image               # judger/engine:trixie, once per host
#   images/engines/sidecar.sh start NAME [--min-api V] [--containerd]
#   images/engines/sidecar.sh host NAME           # prints its DOCKER_HOST
#   images/engines/sidecar.sh stop NAME           # removes the container; its volume stays
#
# The image is `debootstrap --variant=minbase --include=docker.io trixie`
# imported as is (no build step: ~40 s, then cached by tag, so later runs
# take seconds). Nothing from trixie is installed on the host. The sidecar
# runs unprivileged (cap ALL minus SYS_RESOURCE, see
# /work/shared/docs/environment.md): overlay2 storage on its volume, vfs
# where that is refused (the containerd store: its "native" snapshotter),
# remounted cgroup v1 controllers and /proc/sys.
# Its /var/lib/docker is a named volume, so test images stay between runs:
# a start after a stop takes about 3 s (tests/run-all.sh stops the sidecars
# when it ends, unless JUDGER_KEEP_SIDECARS=1).
# Paths tests bind-mount into containers (/tmp, /var/tmp, /var/lib/judger,
# the source tree) are shared at the same place.
# Env: JUDGER_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# JUDGER_SIDECAR_STORAGE (drivers to try in order; default "overlay2 vfs").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
IMAGE=judger/engine:trixie
RUN_DIR=/run/judger-engines
mirror=${JUDGER_DEBIAN_MIRROR:-http://deb.debian.org/debian}

die() { echo "sidecar: $*" >&2; exit 3; }
sock_of() { echo "$RUN_DIR/$1/docker.sock"; }
answers() { curl -fsS --max-time 2 --unix-socket "$1" http://d/_ping >/dev/null 2>&1; }

make_image() {
  docker image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  mkdir -p /var/tmp/judger
  exec 9>/var/tmp/judger/engine-image.lock
  flock 9 # one debootstrap per host; the second waits, then finds the tag
  docker image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  local dir
  dir=$(mktemp -d /var/tmp/judger/engine-rootfs.XXXXXX)
  echo "sidecar: debootstrap trixie with docker.io into $dir (about a minute)"
  if ! debootstrap --variant=minbase --include=docker.io,iptables,ca-certificates \
      trixie "$dir" "$mirror" >"$dir.log" 2>&1; then
    tail -5 "$dir.log" >&2
    rm -rf "$dir"
    die "debootstrap trixie failed (log: $dir.log)"
  fi
  rm -rf "$dir"/var/cache/apt/archives/*.deb
  tar -C "$dir" -c . | docker import -m "debootstrap trixie + docker.io" - "$IMAGE" >/dev/null
  rm -rf "$dir" "$dir.log"
  echo "sidecar: $IMAGE ready ($(chroot_version))"
}

chroot_version() {
  docker run --rm --entrypoint dockerd "$IMAGE" --version 2>/dev/null || echo "?"
}

start() {
  local name=$1; shift
  local min_api="" containerd=0
  while [ $# -gt 0 ]; do
    case $1 in
      --min-api) min_api=$2; shift 2 ;;
      --containerd) containerd=1; shift ;;
      *) die "unknown option $1" ;;
    esac
  done
  local dir=$RUN_DIR/$name want
  # The checkout is part of the configuration: the sidecar mounts it at the
  # same path (tests bind program directories from it), so a sidecar made for
  # another checkout is made again (its data volume, and images, stay).
  want="min-api=$min_api containerd=$containerd storage=${JUDGER_SIDECAR_STORAGE:-overlay2 vfs} entrypoint=$(sha256sum "$root/images/dind/entrypoint.sh" | cut -c1-16) root=$root"
  # A checkout removed and cloned again at the same path leaves the
  # sidecar's bind on the removed directory: the engine then sees no
  # program there. Same config, but the checkout's inode is part of it.
  want="$want inode=$(stat -c %i "$root")"
  if answers "$(sock_of "$name")" && [ "$(cat "$dir/config" 2>/dev/null)" = "$want" ]; then
    seed_images "$name"
    echo "DOCKER_HOST=unix://$(sock_of "$name")"
    return 0
  fi
  make_image
  mkdir -p "$dir" /var/lib/judger /var/tmp/judger
  # overlay2 works where the sidecar's /var/lib/docker (a volume) is not
  # itself on overlayfs, and is much faster than vfs, which copies a whole
  # image per container; vfs is the fallback. The containerd store uses
  # containerd's "native" snapshotter (its overlayfs one fails nested here).
  local driver
  if [ "$containerd" = 1 ]; then
    run_engine "$name" "$min_api" 1 native || fail_engine "$name"
  else
    for driver in ${JUDGER_SIDECAR_STORAGE:-overlay2 vfs}; do
      run_engine "$name" "$min_api" 0 "$driver" && break
      echo "sidecar: $name: storage driver $driver refused; trying the next" >&2
    done
    answers "$(sock_of "$name")" || fail_engine "$name"
  fi
  echo "$want" >"$dir/config"
  seed_images "$name"
  echo "DOCKER_HOST=unix://$(sock_of "$name")"
}

# The offline Debian base (images/base, judger/debian:bookworm) is the same
# debootstrap on every engine: copy the host's instead of a second minute of
# debootstrap (make-base.sh makes it on whichever engine still lacks it).
seed_images() {
  local inner="unix://$(sock_of "$1")" img
  for img in judger/debian:bookworm; do
    docker image inspect "$img" >/dev/null 2>&1 || continue
    DOCKER_HOST=$inner docker image inspect "$img" >/dev/null 2>&1 && continue
    docker save "$img" | DOCKER_HOST=$inner docker load >/dev/null
  done
}

fail_engine() {
  docker logs --tail 20 "judger-engine-$1" >&2 || true
  die "the $1 engine did not answer (log: docker logs judger-engine-$1)"
}

# run_engine NAME MIN_API CONTAINERD DRIVER: (re)creates the sidecar and
# waits up to 60 s for its socket; non-zero when the engine exits or stays mute.
run_engine() {
  local name=$1 min_api=$2 containerd=$3 driver=$4 dir=$RUN_DIR/$1
  docker rm -f "judger-engine-$name" >/dev/null 2>&1 || true
  rm -f "$dir/docker.sock"
  local args=(--cap-add ALL --cap-drop SYS_RESOURCE
              --security-opt seccomp=unconfined --security-opt apparmor=unconfined
              -e DIND_UNPRIVILEGED=1 -e "DIND_STORAGE_DRIVER=$driver")
  [ -n "$min_api" ] && args+=(-e "DOCKER_MIN_API_VERSION=$min_api")
  [ "$containerd" = 1 ] && args+=(-e DIND_CONTAINERD_STORE=1)
  docker run -d --name "judger-engine-$name" --label "judger.engine-sidecar=$name" \
    --restart unless-stopped "${args[@]}" \
    -v "$dir:/run/dind" -v "judger-engine-$name-data:/var/lib/docker" \
    -v /tmp:/tmp -v /var/tmp:/var/tmp -v /var/lib/judger:/var/lib/judger -v "$root:$root" \
    -v "$root/images/dind/entrypoint.sh:/usr/local/bin/dind-entrypoint:ro" \
    --entrypoint /usr/local/bin/dind-entrypoint "$IMAGE" >/dev/null
  for _ in $(seq 1 120); do
    answers "$(sock_of "$name")" && return 0
    docker inspect -f '{{.State.Running}}' "judger-engine-$name" 2>/dev/null | grep -q true ||
      return 1
    sleep 0.5
  done
  return 1
}

cmd=${1:-}
case $cmd in
  image) make_image ;;
  start) [ $# -ge 2 ] || die "usage: sidecar.sh start NAME [--min-api V] [--containerd]"; shift; start "$@" ;;
  host) [ $# -ge 2 ] || die "usage: sidecar.sh host NAME"; echo "unix://$(sock_of "$2")" ;;
  stop) [ $# -ge 2 ] || die "usage: sidecar.sh stop NAME"; docker rm -f "judger-engine-$2" >/dev/null 2>&1 || true ;;
  *) die "usage: sidecar.sh image|start|host|stop ..." ;;
esac
