#!/bin/sh
# Starts the inner engine. Socket: /run/dind/docker.sock (share /run/dind with
# the judger container and set DOCKER_HOST=unix:///run/dind/docker.sock), or
# tcp+TLS on 2376 when /certs holds ca.pem, cert.pem, key.pem.
# DIND_STORAGE_DRIVER: "vfs" where overlay-on-overlay is not allowed ("native"
#   with the containerd image store).
# DIND_UNPRIVILEGED=1: the sidecar runs without `privileged` (cap ALL minus
#   SYS_RESOURCE): its cgroup v1 controllers and /proc/sys are mounted
#   read-only, so the inner engine could answer /_ping but never start a
#   container; remount them read-write first (a plain remount says "busy").
# DIND_CONTAINERD_STORE=1: the containerd image store (Docker 29's default).
# DOCKER_MIN_API_VERSION (Docker 25+): raises the oldest API the engine serves.
set -eu
mkdir -p /run/dind
# A restarted sidecar (restart policy, host reboot, a killed host brought
# back) keeps its file system: dockerd refuses a pid file whose pid is alive,
# and its own is PID 1 again; containerd's would be taken for a running one.
rm -f /run/docker.pid /run/docker/containerd/containerd.pid
if [ "${DIND_UNPRIVILEGED:-}" = 1 ]; then
  for d in /sys/fs/cgroup/*/; do
    mount -o remount,bind,rw "$d" 2>/dev/null || true
  done
  mount -o remount,bind,rw /proc/sys 2>/dev/null || true
fi
if [ "${DIND_CONTAINERD_STORE:-}" = 1 ]; then
  mkdir -p /etc/docker
  printf '{"features": {"containerd-snapshotter": true}}\n' >/etc/docker/daemon.json
fi
set -- --host unix:///run/dind/docker.sock --storage-driver "${DIND_STORAGE_DRIVER:-overlay2}"
if [ -f /certs/ca.pem ]; then
  set -- "$@" --host tcp://0.0.0.0:2376 --tlsverify \
    --tlscacert /certs/ca.pem --tlscert /certs/cert.pem --tlskey /certs/key.pem
fi
exec dockerd "$@"
