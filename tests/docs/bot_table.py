#!/usr/bin/env python3
"""Checks the table "What judger tells your bot" of docs/writing-a-bot.md
against the real engine: one bot per row, each playing the guide's
rock-paper-scissors game (rps/, written by docs/writing-a-game.md's blocks),
two per match, so four matches of a few seconds in all.

  bot_table.py DOC.md      (where rps/ is: the guides' work directory or a
                            checkout's root; `judger` on PATH. Writes
                            bot-table/ and out/bot-table/ there. Run by a
                            ```sh test block of the bot guide)

For every row it compares the player's result.json fields with the table's
cells: the verdict (the `XX` in the verdict cell), the exit code (the first
number of its cell, or -1 for "none") and each `quoted` piece of the message
cell, which must be part of its instances' messages (or its build_message),
and each `field: true` of the exit code cell;
and it checks the game's side of the row (the score the game gave, the match
still finished). A cell that drifts from what judger does fails the guides'
test, naming the row.
"""
import json
import os
import re
import subprocess
import sys

# The bots: a TCP client like the guide's cycler, each doing one thing.
HELLO = '''import os, socket, sys, time
for attempt in range(100):
    try:
        sock = socket.create_connection((os.environ["JUDGER_GAME_HOST"], 7000))
        break
    except OSError:
        time.sleep(0.1)
sock.sendall(f"{os.environ['JUDGER_TOKEN']} {os.environ['JUDGER_PLAYER_NAME']}\\n".encode())
for line in sock.makefile("r"):
    words = line.split()
    if words[0] == "end":
        break
    if words[0] != "round":
        continue
'''
BOTS = {
    # row key: (what it does on the first round, build step or None)
    "crashes": ("    print(1 / 0)\n", None),
    "never answers": ("    time.sleep(3600)\n", None),
    "answers garbage": ("    sock.sendall(b'banana\\n')\n", None),
    "uses too much memory": ("    hog = 'x' * (300 << 20)\n", None),
    "prints too much": ("    while True:\n        sys.stderr.write('x' * 4095 + '\\n')\n", None),
    "fails to compile": ("    sock.sendall(b'R\\n'\n", "py_compile"),
}
# A bot that dies by itself plays a silent one: the game waits its 1 s on the
# silent player before it ends the match, so the death is read before the
# end-of-match kill (a death in the very moment of that kill is a race
# docs/match-spec.md decides, not a row of this table).
MATCHES = [("crashes", "never answers"), ("uses too much memory", "never answers"),
           ("prints too much", "answers garbage"), ("fails to compile", "answers garbage")]
RUN_DOCKERFILE = '''FROM judger/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends python3-minimal \\
    && rm -rf /var/lib/apt/lists/*
CMD ["python3", "/app/bot.py"]
'''
BUILD_DOCKERFILE = RUN_DOCKERFILE.replace('CMD ["python3", "/app/bot.py"]',
                                          'CMD ["python3", "-m", "py_compile", "/app/bot.py"]')


WORK = "bot-table"  # the bots and the specs, under the current directory


def slug(key):
    return "table-" + key.replace(" ", "-")


def write_bot(key):
    body, build = BOTS[key]
    d = os.path.join(WORK, slug(key))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "bot.py"), "w") as f:
        f.write(HELLO + body)
    with open(os.path.join(d, "run.Dockerfile"), "w") as f:
        f.write(RUN_DOCKERFILE)
    if build:
        with open(os.path.join(d, "build.Dockerfile"), "w") as f:
            f.write(BUILD_DOCKERFILE)


def play(a, b):
    """One match of a against b; the result.json."""
    spec = {"id": f"{slug(a)}-vs", "game_logic": {"id": "rps", "dir": "../rps"},
            "players": [{"id": slug(a), "dir": slug(a)}, {"id": slug(b), "dir": slug(b)}],
            "config": {"rounds": 3},
            "limits": {"players": {"memory": "64m", "wall_ms": 30000}, "deadline_ms": 60000}}
    path = os.path.join(WORK, f"{slug(a)}-match.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    out = os.path.join("out", WORK, slug(a))
    env = dict(os.environ, JUDGER_PROGRAM_ROOTS=os.getcwd())
    p = subprocess.run(["judger", "run", path, "--out", out, "--quiet"], env=env,
                       capture_output=True, text=True, timeout=300)
    print(p.stdout, end="")
    with open(os.path.join(out, "result.json")) as f:
        return p.returncode, json.load(f)


def table_rows(doc):
    """{row key: [cells]} of the table that follows the heading."""
    rows, inside = {}, False
    with open(doc) as f:
        for line in f:
            if line.startswith("## What judger tells your bot"):
                inside = True
            elif inside and line.startswith("## "):
                break
            elif inside and line.startswith("| **"):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                key = re.match(r"\*\*(.+?)\*\*", cells[0]).group(1)
                rows[key] = cells
    return rows


def check_row(check, key, cells, p, instances, mine, out):
    """One player against its row of the table."""
    _, verdict_cell, exit_cell, message_cell, _, decides_cell = cells[:6]
    verdict = re.search(r"`([A-Z]+)`", verdict_cell).group(1)
    check(p["verdict"] == verdict, f"{key}: verdict {p['verdict']} (table: {verdict})")
    m = re.search(r"-?\d+", exit_cell)
    want = int(m.group(0)) if m else -1
    check(p["exit_code"] == want, f"{key}: exit code {p['exit_code']} (table: {want})")
    # `killed: true`, `oom_killed: true`...: the player's or an instance's field.
    for field in re.findall(r"`(\w+): true`", exit_cell):
        check(p.get(field) is True or any(x.get(field) is True for x in instances),
              f"{key}: {field} is true")
    said = " ".join(filter(None, [p.get("build_message")] +
                           [x.get("message") for x in instances]))
    for piece in re.findall(r"`([^`]+)`", message_cell):
        check(piece in said, f"{key}: the message has '{piece}' ({said!r})")
    logs = {"crashes": ("log", "Traceback"), "fails to compile": ("build_log", "SyntaxError")}
    if key in logs:
        field, words = logs[key]
        with open(os.path.join(out, p[field]), errors="replace") as f:
            check(words in f.read(), f"{key}: {p[field]} holds the {words}")
    if "no point" in decides_cell:
        check(mine == 0, f"{key}: the game gave it no point (score {mine})")



def main():
    rows = table_rows(sys.argv[1])
    failures = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            failures.append(what)

    check(sorted(rows) == sorted(BOTS), f"the table's rows are the bots ({sorted(rows)})")
    for key in BOTS:
        write_bot(key)
    seen = {}  # row key: [(player, its instances, its score, the match's out dir)]
    for a, b in MATCHES:
        code, res = play(a, b)
        check(code == 0 and res["status"] == "finished",
              f"{a} / {b}: the match finished, judger run exit 0 (exit {code}, {res['status']})")
        for i, key in enumerate((a, b)):
            instances = [x for x in res["instances"] if x["ai"] == i]
            seen.setdefault(key, []).append(
                (res["players"][i], instances, res["scores"][i] if res.get("scores") else None,
                 os.path.join("out", WORK, slug(a))))
    for key, cells in rows.items():
        for p, instances, mine, out in seen.get(key, []):
            check_row(check, key, cells, p, instances, mine, out)
    print(f"bot_table: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
