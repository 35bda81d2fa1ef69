#!/usr/bin/env python3
"""py-bot: a cautious, slightly random Tron player (sample AI for judger).

Each turn it keeps the moves that do not crash at once, drops those that
lead into a pocket much smaller than the best one (a flood fill, bounded),
avoids cells an opponent could enter this same turn when it can, and picks
among the rest at random, preferring to go straight. Its random generator
is seeded with its player name, so a game replays identically.

Protocol (docs/samples.md): connect to $JUDGER_GAME_HOST port 7000 (the judger sets
no port; $JUDGER_GAME_PORT only overrides it in tests on a shared host),
send "$JUDGER_TOKEN $JUDGER_PLAYER_NAME", answer each "turn" line with
"<turn> <U|R|D|L>", stop at "end" or when the game closes the connection.
"""
import os
import random
import socket
import sys
import time

DIRS = "URDL"
DX = (0, 1, 0, -1)
DY = (-1, 0, 1, 0)
FLOOD_CAP = 400  # enough to tell a pocket from open space, cheap in Python


def connect():
    host = os.environ.get("JUDGER_GAME_HOST") or "game"
    port = int(os.environ.get("JUDGER_GAME_PORT") or "7000")
    for _ in range(100):  # the game may still be coming up: retry ~10 s
        try:
            sock = socket.create_connection((host, port), timeout=30)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError:
            time.sleep(0.1)
    sys.exit("py-bot: cannot connect to the game")


def flood(grid, w, h, x, y, cap):
    """Free cells reachable from (x, y), itself included, up to cap."""
    seen = {(x, y)}
    todo = [(x, y)]
    while todo and len(seen) < cap:
        cx, cy = todo.pop()
        for d in range(4):
            nx, ny = cx + DX[d], cy + DY[d]
            if 0 <= nx < w and 0 <= ny < h and (nx, ny) not in seen and grid[ny * w + nx] == ".":
                seen.add((nx, ny))
                todo.append((nx, ny))
    return len(seen)


def choose(rng, me, w, h, seats, grid):
    x, y, _, cur = seats[me]
    cur = DIRS.index(cur)
    options = []
    for d in range(4):
        if d == (cur + 2) % 4:
            continue
        nx, ny = x + DX[d], y + DY[d]
        if not (0 <= nx < w and 0 <= ny < h) or grid[ny * w + nx] != ".":
            continue
        risky = any(alive and s != me and abs(sx - nx) + abs(sy - ny) == 1
                    for s, (sx, sy, alive, _) in enumerate(seats))
        options.append((d, flood(grid, w, h, nx, ny, FLOOD_CAP), risky))
    if not options:
        return cur  # nothing is safe: go down with style
    best = max(room for _, room, _ in options)
    roomy = [o for o in options if o[1] * 2 >= best]
    calm = [o for o in roomy if not o[2]] or roomy
    weights = [4 if d == cur else 1 for d, _, _ in calm]
    return rng.choices([d for d, _, _ in calm], weights)[0]


def main():
    name = os.environ.get("JUDGER_PLAYER_NAME", "")
    rng = random.Random("py-bot/" + name)
    sock = connect()
    sock.sendall(f"{os.environ.get('JUDGER_TOKEN', '')} {name}\n".encode())
    stream = sock.makefile("r")
    me, w, h = 0, 0, 0
    for line in stream:
        f = line.split()
        if not f:
            continue
        if f[0] == "welcome":
            me = int(f[1])
        elif f[0] == "round":
            w, h = int(f[2]), int(f[3])
            print(f"py-bot: round {int(f[1]) + 1} ({w}x{h})", file=sys.stderr)
        elif f[0] == "turn":
            turn, n = int(f[1]), int(f[2])
            seats = [(int(f[3 + 4 * s]), int(f[4 + 4 * s]), f[5 + 4 * s] == "1", f[6 + 4 * s])
                     for s in range(n)]
            d = choose(rng, me, w, h, seats, f[3 + 4 * n])
            sock.sendall(f"{turn} {DIRS[d]}\n".encode())
        elif f[0] in ("round_end", "end"):
            print("py-bot:", line.strip(), file=sys.stderr)
            if f[0] == "end":
                break
    sock.close()


if __name__ == "__main__":
    main()
