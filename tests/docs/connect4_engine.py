#!/usr/bin/env python3
"""The connect4 sample on the real engine: `judger run
samples/specs/connect4.json` finishes, both players (Python and Node.js,
each behind relay.py) are OK, the scores equal the replay's and those of the
same spec under local-match.py (the bots are deterministic), the replay
draws in headless Chromium, and nothing of the run is left on the engine.
Then the wrapper pitfall for real: a bot behind relay.py that overruns its
memory is OOM-killed, the relay exits with it at once, the player is MLE
within seconds (not at its wall time) and the match still finishes.

  connect4_engine.py BUILD_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
S = os.path.join(ROOT, "samples")


def engine_get(path):
    """GET on the engine's socket (curl: the tests' only way around the product)."""
    p = subprocess.run(["curl", "-fsS", "--max-time", "10", "--unix-socket",
                        "/var/run/docker.sock", "http://d" + path],
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def main():
    build = os.path.abspath(sys.argv[1])
    judger = os.path.join(build, "bin", "judger")
    env = dict(os.environ, JUDGER_STATE_DIR=os.path.join(build, "samples-state"))
    tmp = tempfile.mkdtemp(prefix="docs-c4-engine-")
    out = os.path.join(tmp, "out")
    subprocess.run([judger, "build", "--base-image", "--quiet"], env=env, check=True)
    rc = subprocess.run([judger, "run", os.path.join(S, "specs/connect4.json"), "--out", out,
                         "--quiet"], env=env).returncode
    with open(os.path.join(out, "result.json")) as f:
        res = json.load(f)
    with open(os.path.join(out, "replay.json")) as f:
        replay = json.load(f)
    problems = []
    if rc != 0 or res["status"] != "finished":
        problems.append(f"judger run exited {rc}, status {res['status']}")
    verdicts = [p["verdict"] for p in res["players"]]
    scores = [p["score"] for p in res["players"]]
    if verdicts != ["OK", "OK"]:
        problems.append(f"verdicts {verdicts}")
    if scores != replay["scores"]:
        problems.append(f"scores {scores} != the replay's {replay['scores']}")
    lout = os.path.join(tmp, "local")
    subprocess.run([sys.executable, os.path.join(S, "tools/local-match.py"), "--out", lout,
                    "--spec", os.path.join(S, "specs/connect4.json"),
                    "--game", f"python3 {S}/games/connect4/game.py",
                    "--ai", f"python3 {S}/ais/c4-py/relay.py python3 {S}/ais/c4-py/bot.py",
                    "--ai", f"python3 {S}/ais/c4-js/relay.py node {S}/ais/c4-js/bot.js"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(lout, "result.json")) as f:
        local_scores = [p["score"] for p in json.load(f)["players"]]
    if scores != local_scores:
        problems.append(f"engine scores {scores} != local {local_scores}")
    page = os.path.join(out, "replay.html")
    subprocess.run([sys.executable, os.path.join(S, "tools/replay-html.py"),
                    os.path.join(out, "replay.json"), page], check=True)
    vc = subprocess.run([sys.executable, os.path.join(ROOT, "tests/docs/viewer_check.py"), page])
    if vc.returncode:
        problems.append("the replay page did not draw in headless Chromium")
    # judger run exits with its result; its teardown ends in a process of
    # its own (docs/match-spec.md): what it leaves must be gone within 60 s.
    label = urllib.parse.quote(json.dumps({"label": [f"judger.run={res['run']}"]}))
    deadline = time.monotonic() + 60
    while True:
        left = engine_get(f"/containers/json?all=1&filters={label}") + \
            engine_get(f"/networks?filters={label}")
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if left:
        problems.append(f"{len(left)} containers/networks of {res['run']} left")
    print(f"connect4_engine: scores {scores}, {res.get('duration_ms', '?')} ms; " +
          ("; ".join(problems) or "all good"))
    problems += memory_hog(judger, env, tmp)
    if not problems:
        subprocess.run(["rm", "-rf", tmp])
    if vc.returncode == 77 and len(problems) == 1:
        return 77  # no chromium outside CI: everything else passed
    return 1 if problems else 0


def memory_hog(judger, env, tmp):
    """c4-py's relay and image around a bot that eats memory."""
    hog = os.path.join(tmp, "hog")
    os.makedirs(hog)
    for name in ("relay.py", "run.Dockerfile"):
        with open(os.path.join(S, "ais/c4-py", name)) as f, \
                open(os.path.join(hog, name), "w") as g:
            g.write(f.read())
    with open(os.path.join(hog, "bot.py"), "w") as f:
        f.write("import sys\nheap = []\nfor line in sys.stdin:\n"
                "    while True:\n        heap.append(b'x' * (8 << 20))\n")
    spec = os.path.join(tmp, "hog.json")
    with open(spec, "w") as f:
        json.dump({"id": "connect4-hog",
                   "game_logic": {"id": "connect4", "dir": os.path.join(S, "games/connect4")},
                   "players": [{"id": "c4-hog", "dir": hog},
                               {"id": "c4-js", "dir": os.path.join(S, "ais/c4-js")}],
                   "config": {"games": 2},
                   "limits": {"players": {"memory": "48m", "wall_ms": 120000}}}, f)
    out = os.path.join(tmp, "hog-out")
    rc = subprocess.run([judger, "run", spec, "--out", out, "--quiet"], env=env,
                        stdout=subprocess.DEVNULL).returncode
    with open(os.path.join(out, "result.json")) as f:
        res = json.load(f)
    hogp = res["players"][0]
    print(f"connect4_engine: memory hog: status {res['status']}, verdict {hogp['verdict']}, "
          f"scores {[p['score'] for p in res['players']]}, match {res.get('duration_ms')} ms")
    problems = []
    if rc != 0 or res["status"] != "finished":
        problems.append(f"hog match: exit {rc}, status {res['status']}")
    if hogp["verdict"] != "MLE":
        problems.append(f"the hog is {hogp['verdict']}, not MLE")
    if res.get("duration_ms", 0) > 60000:
        problems.append(f"the hog match took {res.get('duration_ms')} ms: the player hung")
    if [p["score"] for p in res["players"]] != [0, 4]:
        problems.append("the hog's opponent did not win both games")
    return problems


if __name__ == "__main__":
    sys.exit(main())
