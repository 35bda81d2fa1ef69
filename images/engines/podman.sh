#!/usr/bin/env bash
# Podman engines beside the host's Docker, reached by a unix socket through
# DOCKER_HOST (its Docker-compatible API). Two of them (docs/engines.md):
#
#   podman43  the host's own Podman (Debian 12: 4.3.1) run as a service:
#             `podman system service` with a root, runroot and containers.conf
#             of its own, so it never touches Docker's state.
#   podman    Debian 13's Podman (5.4) in a sidecar container on the host's
#             Docker, like sidecar.sh's trixie: made once with debootstrap,
#             imported as judger/engine:podman and cached by tag.
#
#   images/engines/podman.sh image               # judger/engine:podman, once per host
#   images/engines/podman.sh start podman43|podman
#   images/engines/podman.sh host podman43|podman  # prints its DOCKER_HOST
#   images/engines/podman.sh stop podman43|podman  # the storage stays
#
# Both answer on /run/judger-engines/<name>/podman.sock; `start` is
# idempotent (an engine that answers with the same configuration is left
# as is), waits for /_ping and prints DOCKER_HOST=unix://... .
# Both get the same containers.conf: runc and cgroupfs (crun refuses the
# hybrid cgroups of these hosts), explicit default_ulimits (Podman otherwise
# asks runc for RLIMIT_NOFILE/NPROC 1048576, which a host with lower hard
# limits refuses), file events and k8s-file logs (no journald), log level
# info (at debug its cleanup wants /dev/log and exits are never reported).
# The sidecar also carries the engine-side firewall rule of docs/engines.md:
# nothing from the judger's address pool (JUDGER_NET_POOL, 10.240.0.0/16)
# reaches the engine's host but its DNS (container names), since Podman
# gives every network's gateway an address and ignores inhibit_ipv4.
# Env: JUDGER_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# JUDGER_PODMAN_STORAGE (the sidecar's drivers to try in order; default
# "overlay vfs"), JUDGER_NET_POOL (default 10.240.0.0/16).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
IMAGE=judger/engine:podman
RUN_DIR=/run/judger-engines
mirror=${JUDGER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
pool=${JUDGER_NET_POOL:-10.240.0.0/16}

die() { echo "podman: $*" >&2; exit 3; }
sock_of() { echo "$RUN_DIR/$1/podman.sock"; }
answers() { curl -fsS --max-time 2 --unix-socket "$1" http://d/_ping >/dev/null 2>&1; }

# The configuration both engines run with (the sidecar's entrypoint writes
# the same file from PODMAN_CONF).
engine_conf() {
  cat <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
log_driver = "k8s-file"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
}

# --- podman43: the host's Podman as a service --------------------------------

P43_STATE=/var/lib/judger-podman43
P43_LOG=/var/log/judger-podman43.log

# The pid of the service answering on our socket: the pid file's when it
# is that service, else (a service started by hand) the podman service
# process whose command line names the socket.
p43_pid() {
  local dir=$RUN_DIR/podman43 pid
  pid=$(cat "$dir/pid" 2>/dev/null || true)
  if [ -n "$pid" ] && { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null |
      grep -q "system service .*unix://$(sock_of podman43)"; then
    echo "$pid"
    return 0
  fi
  pid=$(pgrep -f -x "podman .*system service --time=0 unix://$(sock_of podman43)" | head -1 || true)
  [ -n "$pid" ] && echo "$pid" && return 0
  return 1
}

stop_podman43() {
  local pid
  pid=$(p43_pid) || { rm -f "$RUN_DIR/podman43/pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$RUN_DIR/podman43/pid" "$(sock_of podman43)"
}

start_podman43() {
  local dir=$RUN_DIR/podman43 sock want pid
  sock=$(sock_of podman43)
  command -v podman >/dev/null || die "podman is not installed (images/setup-host.sh)"
  want="$(engine_conf | sha256sum | cut -c1-16) $(podman --version) state=$P43_STATE"
  if answers "$sock" && [ "$(cat "$dir/config" 2>/dev/null)" = "$want" ] && p43_pid >/dev/null; then
    echo "DOCKER_HOST=unix://$sock"
    return 0
  fi
  stop_podman43
  mkdir -p "$dir" "$P43_STATE"
  engine_conf >"$dir/containers.conf.tmp"
  mv -f "$dir/containers.conf.tmp" "$dir/containers.conf"
  echo "podman: starting podman43 ($(date -u +%FT%TZ), log: $P43_LOG)" >>"$P43_LOG"
  # Its own session (setsid): a test run that ends does not take it along.
  CONTAINERS_CONF=$dir/containers.conf setsid podman --root "$P43_STATE/root" \
    --runroot "$dir/runroot" --log-level=info system service --time=0 \
    "unix://$sock" >>"$P43_LOG" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/pid"
  for _ in $(seq 1 120); do
    answers "$sock" && break
    kill -0 "$pid" 2>/dev/null || { tail -5 "$P43_LOG" >&2; die "podman43 exited (log: $P43_LOG)"; }
    sleep 0.25
  done
  answers "$sock" || { tail -5 "$P43_LOG" >&2; die "podman43 did not answer in 30 s (log: $P43_LOG)"; }
  echo "$want" >"$dir/config"
  echo "DOCKER_HOST=unix://$sock"
}

# --- podman: Debian 13's Podman in a sidecar ---------------------------------

make_image() {
  docker image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  mkdir -p /var/tmp/judger
  exec 9>/var/tmp/judger/engine-podman-image.lock
  flock 9 # one debootstrap per host; the second waits, then finds the tag
  docker image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  local dir t0=$SECONDS
  dir=$(mktemp -d /var/tmp/judger/engine-podman-rootfs.XXXXXX)
  echo "podman: debootstrap trixie with podman into $dir (about a minute)"
  if ! debootstrap --variant=minbase \
      --include=podman,runc,catatonit,conmon,netavark,aardvark-dns,nftables,iptables,ca-certificates \
      trixie "$dir" "$mirror" >"$dir.log" 2>&1; then
    tail -5 "$dir.log" >&2
    rm -rf "$dir"
    die "debootstrap trixie failed (log: $dir.log)"
  fi
  rm -rf "$dir"/var/cache/apt/archives/*.deb
  tar -C "$dir" -c . | docker import -m "debootstrap trixie + podman" - "$IMAGE" >/dev/null
  rm -rf "$dir" "$dir.log"
  echo "podman: $IMAGE ready in $((SECONDS - t0)) s ($(docker run --rm --entrypoint podman "$IMAGE" --version 2>/dev/null || echo "?"))"
}

start_sidecar() {
  local name=podman dir=$RUN_DIR/podman want driver
  make_image
  want="image=$(docker image inspect -f '{{.Id}}' "$IMAGE" | cut -c8-23)"
  want="$want storage=${JUDGER_PODMAN_STORAGE:-overlay vfs} pool=$pool conf=$(engine_conf | sha256sum | cut -c1-16)"
  want="$want entrypoint=$(sha256sum "$here/podman-entrypoint.sh" | cut -c1-16) root=$root"
  # A checkout removed and cloned again at the same path leaves the
  # sidecar's bind on the removed directory (see sidecar.sh).
  want="$want inode=$(stat -c %i "$root")"
  if answers "$(sock_of "$name")" && [ "$(cat "$dir/config" 2>/dev/null)" = "$want" ]; then
    seed_images
    echo "DOCKER_HOST=unix://$(sock_of "$name")"
    return 0
  fi
  mkdir -p "$dir" /var/lib/judger /var/tmp/judger
  for driver in ${JUDGER_PODMAN_STORAGE:-overlay vfs}; do
    run_sidecar "$driver" && break
    echo "podman: storage driver $driver refused; trying the next" >&2
  done
  if ! answers "$(sock_of "$name")"; then
    docker logs --tail 20 judger-engine-podman >&2 || true
    die "the podman engine did not answer (log: docker logs judger-engine-podman)"
  fi
  echo "$want" >"$dir/config"
  seed_images
  echo "DOCKER_HOST=unix://$(sock_of "$name")"
}

# The offline Debian base (judger/debian:bookworm) is copied from the host's
# engine, as sidecar.sh does, instead of a second debootstrap.
seed_images() {
  local inner img=judger/debian:bookworm
  inner="unix://$(sock_of podman)"
  docker image inspect "$img" >/dev/null 2>&1 || return 0
  DOCKER_HOST=$inner docker image inspect "$img" >/dev/null 2>&1 && return 0
  docker save "$img" | DOCKER_HOST=$inner docker load >/dev/null
}

# run_sidecar DRIVER: (re)creates the sidecar and waits up to 60 s for its
# socket; non-zero when the engine exits or stays mute.
run_sidecar() {
  local driver=$1 dir=$RUN_DIR/podman
  docker rm -f judger-engine-podman >/dev/null 2>&1 || true
  rm -f "$dir/podman.sock"
  docker run -d --name judger-engine-podman --label judger.engine-sidecar=podman \
    --restart unless-stopped --cgroupns private --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --log-opt max-size=20m --log-opt max-file=2 \
    -e "PODMAN_STORAGE_DRIVER=$driver" -e "PODMAN_CONF=$(engine_conf)" \
    -e "JUDGER_NET_POOL=$pool" \
    -v "$dir:/run/judger-engine" -v judger-engine-podman-data:/var/lib/containers \
    -v /tmp:/tmp -v /var/tmp:/var/tmp -v /var/lib/judger:/var/lib/judger -v "$root:$root" \
    -v "$here/podman-entrypoint.sh:/usr/local/bin/podman-entrypoint:ro" \
    --entrypoint /usr/local/bin/podman-entrypoint "$IMAGE" >/dev/null
  for _ in $(seq 1 120); do
    answers "$dir/podman.sock" && return 0
    docker inspect -f '{{.State.Running}}' judger-engine-podman 2>/dev/null | grep -q true ||
      return 1
    sleep 0.5
  done
  return 1
}

usage() { die "usage: podman.sh image | start|host|stop podman43|podman"; }
cmd=${1:-}
name=${2:-}
case $cmd:$name in
  image:*) make_image ;;
  start:podman43) start_podman43 ;;
  start:podman) start_sidecar ;;
  stop:podman43) stop_podman43 ;;
  stop:podman) docker rm -f judger-engine-podman >/dev/null 2>&1 || true ;;
  host:podman43 | host:podman) echo "unix://$(sock_of "$name")" ;;
  *) usage ;;
esac
