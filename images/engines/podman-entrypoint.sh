#!/bin/sh
# Starts Podman's API service inside the podman sidecar (images/engines/podman.sh):
# socket /run/judger-engine/podman.sock (the host's /run/judger-engines/podman).
# PODMAN_CONF: the containers.conf both Podman engines run with.
# PODMAN_STORAGE_DRIVER: "overlay" (graphroot on the sidecar's volume), or
#   "vfs" where overlay is refused.
# JUDGER_NET_POOL: the judger's address pool; see firewall() below.
set -eu
# The sidecar runs without `privileged` (cap ALL minus SYS_RESOURCE): its
# cgroup v1 controllers and /proc/sys are mounted read-only, so the engine
# would answer /_ping but never start a container; remount them read-write
# (a plain remount says "busy"), as images/dind/entrypoint.sh does.
for d in /sys/fs/cgroup/*/; do
  mount -o remount,bind,rw "$d" 2>/dev/null || true
done
mount -o remount,bind,rw /proc/sys 2>/dev/null || true

# A restarted sidecar keeps its file system: Podman would take the previous
# run's containers, locks and network state in /run for live ones.
rm -rf /run/libpod /run/containers /run/netns /run/user/0/libpod

mkdir -p /etc/containers
# Networks live beside the images and containers on the volume, so a
# recreated sidecar finds the networks its containers were made on.
printf '%s\n[network]\nnetwork_config_dir = "/var/lib/containers/networks"\n' \
  "${PODMAN_CONF:?}" >/etc/containers/containers.conf
mkdir -p /var/lib/containers/networks
cat >/etc/containers/storage.conf <<EOF
[storage]
driver = "${PODMAN_STORAGE_DRIVER:-overlay}"
graphroot = "/var/lib/containers/storage"
runroot = "/run/containers/storage"
EOF

# Podman gives each network's bridge the gateway address and ignores
# com.docker.network.bridge.inhibit_ipv4, so a player could reach this
# engine host (the sidecar) on its gateway, and through it the host. The
# rule: from the judger's pool, nothing reaches this host but DNS
# (aardvark-dns answers container names, e.g. the build proxy's alias, on
# the gateway), and nothing is forwarded out of the pool. Connections are
# refused with icmp-admin-prohibited: a client sees EHOSTUNREACH, told
# apart from a closed port (ECONNREFUSED) by the judger's probe.
firewall() {
  pool=${JUDGER_NET_POOL:-10.240.0.0/16}
  iptables -N JUDGER-ENGINE 2>/dev/null || iptables -F JUDGER-ENGINE
  # DNS only to the pool's own gateways (aardvark-dns listens there), never
  # to another address of this host (review 28 #9).
  iptables -A JUDGER-ENGINE -d "$pool" -p udp --dport 53 -j RETURN
  iptables -A JUDGER-ENGINE -d "$pool" -p tcp --dport 53 -j RETURN
  iptables -A JUDGER-ENGINE -j REJECT --reject-with icmp-admin-prohibited
  iptables -C INPUT -s "$pool" -j JUDGER-ENGINE 2>/dev/null ||
    iptables -I INPUT -s "$pool" -j JUDGER-ENGINE
  iptables -C FORWARD -s "$pool" ! -d "$pool" -j REJECT --reject-with icmp-admin-prohibited \
    2>/dev/null ||
    iptables -I FORWARD -s "$pool" ! -d "$pool" -j REJECT --reject-with icmp-admin-prohibited
}
if [ -n "${JUDGER_NET_POOL:-}" ]; then
  firewall
fi

mkdir -p /run/judger-engine
# These hosts have cgroup v1 (hybrid); Podman 5 warns on every start.
export PODMAN_IGNORE_CGROUPSV1_WARNING=1
rm -f /run/judger-engine/podman.sock
# catatonit as PID 1 reaps what conmon leaves; the service never times out.
exec catatonit -- podman --log-level=info system service --time=0 \
  unix:///run/judger-engine/podman.sock
