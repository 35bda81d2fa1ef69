#!/usr/bin/env python3
"""Plays a match on this host without Docker: a stand-in for `judger run`
when writing a game logic or an AI.

It speaks the judger's side of the pipe protocol (docs/protocol.md): makes the
two FIFOs and match.json, runs the game logic with JUDGER_* variables pointing
at them, starts an AI process for every {"cmd":"start"} line (connecting to
127.0.0.1 instead of the `game` alias), answers with "started"/"exited"
events, and prints the "end" line. No limits, no isolation: trusted code only.

  local-match.py --game ./tron --ai ./c-bot --ai "python3 bot.py" \\
                 --config '{"seed": 7, "port": 7100}' --out /tmp/m
"""
import argparse
import hashlib
import hmac
import json
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
import threading


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--game", required=True, help="command of the game logic")
    ap.add_argument("--ai", action="append", required=True, help="command of an AI (in AI order)")
    ap.add_argument("--config", default="{}", help="the match's config (JSON)")
    ap.add_argument("--out", help="output directory (default: a new temp dir)")
    ap.add_argument("--id", default="local")
    args = ap.parse_args()

    config = json.loads(args.config)
    out = args.out or tempfile.mkdtemp(prefix="local-match-")
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="local-match-work-")
    key = secrets.token_bytes(32)
    tokens = [hmac.new(key, f"{args.id}:{i}".encode(), hashlib.sha256).hexdigest()
              for i in range(len(args.ai))]
    match = {"match_id": args.id, "config": config,
             "players": [{"ai": i, "token": t} for i, t in enumerate(tokens)]}
    match_file = os.path.join(work, "match.json")
    with open(match_file, "w") as f:
        json.dump(match, f)
    cmd_pipe, ev_pipe = os.path.join(work, "cmd"), os.path.join(work, "events")
    os.mkfifo(cmd_pipe)
    os.mkfifo(ev_pipe)

    env = dict(os.environ, JUDGER_MATCH_FILE=match_file, JUDGER_CMD_PIPE=cmd_pipe,
               JUDGER_EVENT_PIPE=ev_pipe, JUDGER_OUT_DIR=out, JUDGER_MATCH_ID=args.id)
    glog = open(os.path.join(out, "game_logic.log"), "wb")
    game = subprocess.Popen(shlex.split(args.game), env=env, stdout=glog, stderr=subprocess.STDOUT)
    events = os.fdopen(os.open(ev_pipe, os.O_RDWR), "w", buffering=1)
    lock = threading.Lock()
    players = []
    port = str(config.get("port", 7000))

    def send(ev):
        with lock:
            events.write(json.dumps(ev) + "\n")

    def watch(p, name, ai):
        code = p.wait()
        send({"event": "exited", "name": name, "ai": ai, "exit_code": code,
              "verdict": "OK" if code == 0 else "RE"})

    end = None
    with open(cmd_pipe) as cmds:
        for line in cmds:
            try:
                c = json.loads(line)
            except ValueError:
                send({"event": "refused", "line": line[:200], "reason": "not JSON"})
                continue
            if c.get("cmd") == "start":
                ai, name = c["ai"], c["name"]
                penv = dict(os.environ, JUDGER_TOKEN=tokens[ai], JUDGER_AI_INDEX=str(ai),
                            JUDGER_PLAYER_NAME=name, JUDGER_GAME_HOST="127.0.0.1",
                            JUDGER_GAME_PORT=port, JUDGER_MATCH_ID=args.id)
                log = open(os.path.join(out, f"player_{ai}.log"), "ab")
                p = subprocess.Popen(shlex.split(args.ai[ai]), env=penv, stdout=subprocess.DEVNULL,
                                     stderr=log)
                players.append(p)
                send({"event": "started", "name": name, "ai": ai})
                threading.Thread(target=watch, args=(p, name, ai), daemon=True).start()
            elif c.get("cmd") == "progress":
                print("progress", json.dumps(c), file=sys.stderr)
            elif c.get("cmd") == "end":
                end = c
                break
    code = game.wait(timeout=30)
    for p in players:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
    for f in (cmd_pipe, ev_pipe, match_file):
        os.unlink(f)
    os.rmdir(work)
    print(json.dumps({"out": out, "game_exit": code, "end": end}))
    return 0 if end else 1


if __name__ == "__main__":
    sys.exit(main())
