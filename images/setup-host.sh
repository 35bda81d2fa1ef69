#!/usr/bin/env bash
# Host set-up for judger: installs the Debian packages the project needs and makes
# sure a Docker engine answers on the local socket. Safe to run again and again.
set -euo pipefail

PKGS=(build-essential cmake pkg-config git
      libcurl4-openssl-dev libjson-c-dev libgit2-dev libssl-dev libcriterion-dev
      libhiredis-dev libarchive-dev libmicrohttpd-dev
      docker.io redis-server busybox-static debootstrap openssl valgrind curl iproute2
      lua-check clang-format  # tests/style: the Lua scripts' lint, the style gate
      prometheus  # promtool and a real Prometheus for the metrics tests
      docker-compose systemd  # tests/deploy: the two-host compose file, systemd-analyze
      podman catatonit runc netavark aardvark-dns  # the host's Podman 4.3 engine (images/engines/podman.sh): runc, not crun; catatonit for Init
      python3 python3-docker nodejs chromium)  # samples: Python and Node.js AIs run on the host in tests, the replay tools; python3-docker: bench_match's docker-py column; chromium: the replay pages checked headless (tests/docs)

need=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

sock=/var/run/docker.sock
engine_up() { curl -fsS --max-time 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; }

# A second dockerd on the machine (the TLS test starts one) or a manual
# `ip link del` can take the default bridge away; containers on the default
# network then fail to start. Restart the engine so it recreates docker0.
if engine_up && ! ip link show docker0 >/dev/null 2>&1; then
  echo "setup: docker0 is missing; restarting dockerd"
  pkill -x dockerd || true
  for _ in $(seq 1 30); do pgrep -x dockerd >/dev/null || break; sleep 1; done
fi

if ! engine_up; then
  echo "setup: starting dockerd (log: /var/log/judger-dockerd.log)"
  # containerd is started by dockerd itself when not already running.
  nohup dockerd >/var/log/judger-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    engine_up && break
    sleep 1
  done
fi
if ! engine_up; then
  echo "setup: dockerd did not answer on $sock within 60 s; see /var/log/judger-dockerd.log" >&2
  exit 1
fi
echo "setup: docker engine answers on $sock"
