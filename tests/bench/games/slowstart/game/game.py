#!/usr/bin/env python3
"""slowstart: a benchmark game logic that starts like a Python game logic
with libraries (tests/bench/real_games.c).

Before it asks for its players it spends a few hundred ms importing (many
standard library modules, as a chess or numpy game logic imports its
library) and initialising (a table built in pure Python); config.table sets
the table's size. Then it listens on port 7000, starts p0 and p1, takes
their `<token> <name>` hellos, plays config.rounds rounds of "round <k>"
(each player answers a digit; the higher one scores), sends "end" and ends
the match (docs/protocol.md).
"""
import importlib
import time

T0 = time.monotonic()
MODULES = """argparse asyncio base64 bisect calendar collections concurrent.futures
configparser contextlib copy csv dataclasses datetime decimal difflib
email.mime.multipart email.parser enum fractions functools gettext glob gzip
hashlib heapq html.parser http.client http.server inspect ipaddress itertools
json logging logging.handlers lzma mimetypes multiprocessing numbers optparse
pathlib pickle pprint queue random re shlex shutil smtplib socketserver sqlite3
ssl statistics string struct subprocess tarfile tempfile textwrap threading
tokenize traceback typing unittest unittest.mock urllib.request uuid
xml.dom.minidom xml.etree.ElementTree xmlrpc.client zipfile zoneinfo""".split()
for _name in MODULES:
    importlib.import_module(_name)

import hmac  # noqa: E402  (after the slow part on purpose)
import json  # noqa: E402
import os  # noqa: E402
import select  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402

PORT = 7000


def log(*a):
    print("slowstart:", *a, file=sys.stderr, flush=True)


def build_table(n):
    """Pure-Python work standing for a library's initialisation."""
    table = {}
    for i in range(n):
        key = (i * 2654435761) % 4294967296
        table[key] = sum(int(c) for c in str(key)) % 10
    return sorted(table.items())


def accept_players(srv, tokens, timeout):
    """Sockets of the players that said a valid hello, by AI index."""
    socks = [None] * len(tokens)
    deadline = time.monotonic() + timeout
    while None in socks and time.monotonic() < deadline:
        if not select.select([srv], [], [], 0.2)[0]:
            continue
        c, _ = srv.accept()
        c.settimeout(5)
        try:
            hello = c.makefile("rb").readline().decode("ascii", "replace").split()
        except OSError:
            hello = []
        ai = next((i for i, t in enumerate(tokens)
                   if hello and hmac.compare_digest(hello[0], t)), None)
        if ai is None or socks[ai]:
            c.close()
            continue
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks[ai] = c
    return socks


def ask(sock, reader, line):
    """A digit, or -1 when the player is gone or says something else."""
    if not sock:
        return -1
    try:
        sock.sendall((line + "\n").encode())
        answer = reader.readline().decode("ascii", "replace").strip()
    except OSError:
        return -1
    return int(answer) if answer.isdigit() else -1


def main():
    with open(os.environ.get("JUDGER_MATCH_JSON", "/judger/match.json")) as f:
        match = json.load(f)
    config = match.get("config") or {}
    table = build_table(config.get("table", 60000))
    log(f"ready after {(time.monotonic() - T0) * 1000:.0f} ms ({len(table)} entries)")
    tokens = [p["token"] for p in match["players"]]

    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", PORT))  # listen before any player is started
    srv.listen(8)
    cmd = open(os.environ["JUDGER_CMD_PIPE"], "w", buffering=1)
    for ai in range(len(tokens)):
        cmd.write(json.dumps({"cmd": "start", "name": f"p{ai}", "ai": ai}) + "\n")
    socks = accept_players(srv, tokens, config.get("connect_timeout_ms", 30000) / 1000)
    readers = [s.makefile("rb") if s else None for s in socks]

    scores = [0] * len(tokens)
    for k in range(config.get("rounds", 10)):
        answers = [ask(s, r, f"round {k}") for s, r in zip(socks, readers)]
        best = max(answers)
        for i, a in enumerate(answers):
            scores[i] += 1 if a == best and a >= 0 else 0
    for s in socks:
        if s:
            try:
                s.sendall(b"end\n")
            except OSError:
                pass
            s.close()
    cmd.write(json.dumps({"cmd": "end", "scores": scores}) + "\n")
    log("scores:", scores)


if __name__ == "__main__":
    main()
