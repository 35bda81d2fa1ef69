#!/usr/bin/python3
"""bench_match's docker-py column: one trivial match the way saiblo-worker's
match_judger.py drives the engine with docker-py (Debian's python3-docker),
one call after another: the game host, then per agent an internal network,
the agent's container on it and the game host joining it; wait for the game
host, stop it, read the logs, wait for the agents; then remove the
containers and the networks by listing them. (saiblo-worker starts the
game host with network_disabled=True; connecting such a container leaves a
stale endpoint on Docker 20.10, so here it starts on an internal network of
its own, which it would otherwise not need: one more network create.)

    match_dockerpy.py IMAGE TRIVIAL_DIR NPLAYERS LABEL

Prints "result <ms>" once the result is known and "done <ms>" after the
cleanup, both counted from the first engine call (the interpreter's start
and the import are left out: saiblo-worker is a long-lived process)."""
import sys
import time

import docker

image, trivial, nplayers, label = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
client = docker.from_env()
t0 = time.monotonic()
cmd = ["sh", "/app/main.sh"]
common = dict(detach=True, mem_limit="512m", nano_cpus=int(1e9), labels={"judger.bench": label},
              volumes={trivial: {"bind": "/app", "mode": "ro"}}, user="65534:65534")
host_name = f"{label}-host"
agent_names = [f"{label}-agent-{i}" for i in range(nplayers)]
net_names = [f"{label}-net-{i}" for i in range(nplayers)] + [f"{label}-net-host"]
try:
    client.networks.create(net_names[-1], internal=True, labels={"judger.bench": label})
    host = client.containers.run(image, cmd, name=host_name, network=net_names[-1], **common)
    agents = []
    for i in range(nplayers):
        net = client.networks.create(net_names[i], internal=True, labels={"judger.bench": label})
        agents.append(client.containers.run(image, cmd, name=agent_names[i],
                                            network=net_names[i], **common))
        net.connect(host_name)
    host.wait(timeout=60)
    host.stop()
    logs = [host.logs(stdout=False)]
    codes = []
    for a in agents:
        codes.append(a.wait(timeout=60)["StatusCode"])
        logs.append(a.logs(stdout=False))
    print(f"result {(time.monotonic() - t0) * 1000:.0f}", flush=True)
finally:
    # Listed by the bench's label: docker-py inspects every listed container,
    # and on an engine shared with other runs one may vanish in between.
    for c in client.containers.list(all=True, filters={"label": f"judger.bench={label}"}):
        if c.name == host_name or c.name in agent_names:
            c.stop(timeout=0)
            c.remove(v=True, force=True)
    for n in client.networks.list(filters={"label": f"judger.bench={label}"}):
        if n.name in net_names:
            n.remove()
print(f"done {(time.monotonic() - t0) * 1000:.0f}", flush=True)
