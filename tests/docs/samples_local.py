#!/usr/bin/env python3
"""Both samples through samples/tools/local-match.py (no engine): the stand-in
judger must run a game written from docs/protocol.md as the judger does.

- tron (C game, C and Python bots over TCP) and connect4 (Python game,
  Python and Node.js stdin/stdout bots behind relay.py): status finished,
  every player OK, scores = the replay's, two runs give the same scores;
- what the game logic saw: JUDGER_MATCH_JSON with players[].id and tokens,
  the pipes, JUDGER_OUT_DIR, JUDGER_AI_COUNT (a probe game in sh);
- a player stopped at the end reads as under the judger (exit 0, killed,
  OK), one that exited by itself keeps its exit;
- relay.py never outlives its program: a program that dies makes the relay
  exit at once with its code;
- both replays made into pages and checked in headless Chromium.

  samples_local.py   (from any directory; CI=true turns a skip into a failure)
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
S = os.path.join(ROOT, "samples")
LOCAL = [sys.executable, os.path.join(S, "tools", "local-match.py")]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def local_match(out, *args):
    p = subprocess.run(LOCAL + ["--out", out, *args], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
    with open(os.path.join(out, "result.json")) as f:
        return p.returncode, json.load(f)


def honest(name, out, args, replay_scores):
    runs = []
    for k in range(2):
        rc, res = local_match(f"{out}-{k}", *args)
        check(rc == 0 and res["status"] == "finished", f"{name}: run {k} finished")
        check(all(p["verdict"] == "OK" and p["instances"] == 1 for p in res["players"]),
              f"{name}: run {k}: every player OK, one instance each")
        with open(os.path.join(f"{out}-{k}", "replay.json")) as f:
            replay = json.load(f)
        scores = [p["score"] for p in res["players"]]
        check(scores == replay_scores(replay), f"{name}: run {k}: scores {scores} = the replay's")
        runs.append(scores)
    check(runs[0] == runs[1], f"{name}: same scores twice ({runs})")
    return f"{out}-0"


def stopped_at_end(tmp):
    """A player the end of the match stops reads as the judger reports it
    (docs/match-spec.md): exit 0, killed, OK; one that exited by itself
    keeps its own exit (3: RE, not killed)."""
    game = os.path.join(tmp, "ends.sh")
    with open(game, "w") as f:
        f.write('exec 3<"$JUDGER_EVENT_PIPE" 4>"$JUDGER_CMD_PIPE"\n'
                'echo \'{"cmd":"start","name":"p0","ai":0}\' >&4\n'
                'echo \'{"cmd":"start","name":"p1","ai":1}\' >&4\n'
                'while read -r ev <&3; do case "$ev" in *exited*) break ;; esac; done\n'
                'echo \'{"cmd":"end","scores":[1,0]}\' >&4\n')
    out = os.path.join(tmp, "ends")
    rc, res = local_match(out, "--game", f"sh {game}", "--ai", "sleep 60",
                          "--ai", "sh -c 'exit 3'")
    p0, p1 = res["players"]
    check(rc == 0 and (p0["exit_code"], p0["killed"], p0["verdict"]) == (0, True, "OK"),
          f"a player stopped at the end: exit 0, killed, OK ({p0})")
    check((p1["exit_code"], p1["killed"], p1["verdict"]) == (3, False, "RE"),
          f"a player that exited by itself keeps its exit: 3, not killed, RE ({p1})")


def main():
    tmp = tempfile.mkdtemp(prefix="docs-samples-local-")
    env = dict(os.environ, OUT=tmp)
    for script in ("games/tron/build.sh", "ais/c-bot/build.sh"):
        subprocess.run(["sh", os.path.join(S, script)], env=env, check=True,
                       stderr=subprocess.DEVNULL)
    tron = honest("tron", os.path.join(tmp, "tron"),
                  ["--spec", os.path.join(S, "specs/tron-2p.json"),
                   "--game", os.path.join(tmp, "tron"), "--ai", os.path.join(tmp, "c-bot"),
                   "--ai", f"python3 {S}/ais/py-bot/bot.py"],
                  lambda r: [sum(s["points"] for s in r["seats"] if s["ai"] == a) for a in (0, 1)])
    c4 = honest("connect4", os.path.join(tmp, "c4"),
                ["--spec", os.path.join(S, "specs/connect4.json"),
                 "--game", f"python3 {S}/games/connect4/game.py",
                 "--ai", f"python3 {S}/ais/c4-py/relay.py python3 {S}/ais/c4-py/bot.py",
                 "--ai", f"python3 {S}/ais/c4-js/relay.py node {S}/ais/c4-js/bot.js"],
                lambda r: r["scores"])
    with open(os.path.join(S, "ais/c4-py/relay.py"), "rb") as a, \
            open(os.path.join(S, "ais/c4-js/relay.py"), "rb") as b:
        check(a.read() == b.read(), "both connect4 AIs carry the same relay.py")

    # What a game logic gets, exactly as docs/protocol.md says.
    probe = os.path.join(tmp, "probe.sh")
    with open(probe, "w") as f:
        f.write('env | grep ^JUDGER_ | sort > "$JUDGER_OUT_DIR/env.txt"\n'
                'cp "$JUDGER_MATCH_JSON" "$JUDGER_OUT_DIR/match-copy.json"\n'
                'exec 3<"$JUDGER_EVENT_PIPE" 4>"$JUDGER_CMD_PIPE"\n'
                'echo "create_player p0 0" >&4\n'
                'echo \'{"cmd":"start","name":"p1","ai":5}\' >&4\n'
                'n=0; while [ $n -lt 2 ] && read -r ev <&3; do echo "$ev" >> "$JUDGER_OUT_DIR/events.txt"\n'
                '  case "$ev" in *exited*|*refused*) n=$((n + 1)) ;; esac; done\n'
                'echo \'end_match {"scores": [3, 1]}\' >&4\n')
    out = os.path.join(tmp, "probe")
    rc, res = local_match(out, "--id", "probe-1", "--game", f"sh {probe}",
                          "--ai", "sh -c 'echo \"$JUDGER_GAME_HOST $JUDGER_PLAYER_NAME\" >&2'",
                          "--ai", "true", "--ai-id", "first", "--ai-id", "second",
                          "--config", '{"k": [1]}')
    with open(os.path.join(out, "env.txt")) as f:
        names = sorted(l.split("=")[0] for l in f)
    check(names == ["JUDGER_AI_COUNT", "JUDGER_CMD_PIPE", "JUDGER_EVENT_PIPE",
                    "JUDGER_MATCH_ID", "JUDGER_MATCH_JSON", "JUDGER_OUT_DIR"],
          f"probe: the game logic's variables are the judger's ({names})")
    with open(os.path.join(out, "match-copy.json")) as f:
        m = json.load(f)
    check(m["match_id"] == "probe-1" and m["config"] == {"k": [1]} and
          [(p["ai"], p["id"], len(p["token"])) for p in m["players"]] ==
          [(0, "first", 64), (1, "second", 64)], "probe: match.json has ai, id and token")
    with open(os.path.join(out, "events.txt")) as f:
        evs = [json.loads(l) for l in f]
    kinds = sorted(e["event"] for e in evs)
    check(kinds == ["exited", "refused", "started"],
          f"probe: started, refused (AI 5 of 2) and exited events ({kinds})")
    check(rc == 0 and [p["score"] for p in res["players"]] == [3, 1],
          "probe: end_match (Hiper text form) ends the match with its scores")
    with open(os.path.join(out, "player_0.log")) as f:
        check("game p0" in f.read(), "probe: the player resolves JUDGER_GAME_HOST=game")

    stopped_at_end(tmp)

    # The wrapper pitfall: relay.py exits as soon as its program dies.
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    relay_src = open(os.path.join(S, "ais/c4-py/relay.py")).read().replace(
        "PORT = 7000", f"PORT = {port}")
    relay = os.path.join(tmp, "relay.py")
    with open(relay, "w") as f:
        f.write(relay_src)
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, relay, "sh", "-c", "read line; exit 3"],
                         env=dict(os.environ, JUDGER_GAME_HOST="127.0.0.1", JUDGER_TOKEN="t",
                                  JUDGER_PLAYER_NAME="p0"))
    conn, _ = srv.accept()
    conn.sendall(b"move 0 x\n")  # the program reads it and dies; the game stays open
    code = p.wait(timeout=20)
    took = time.monotonic() - t0
    check(code == 3 and took < 5, f"relay exits with its program's code at once ({code}, {took:.1f} s)")
    conn.close()
    srv.close()

    # Both replays in a browser.
    pages = []
    for d in (tron, c4):
        page = os.path.join(d, "replay.html")
        subprocess.run([sys.executable, os.path.join(S, "tools/replay-html.py"),
                        os.path.join(d, "replay.json"), page], check=True)
        pages.append(page)
    rc = subprocess.run([sys.executable, os.path.join(ROOT, "tests/docs/viewer_check.py"),
                         *pages]).returncode
    if rc == 77:
        return 77
    check(rc == 0, "both replays load and draw in headless Chromium, no console message")
    subprocess.run(["rm", "-rf", tmp])
    print(f"samples_local: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
