#!/usr/bin/env python3
"""straight-bot: the trivial Tron player (sample AI for judger).

Goes straight; when the next cell is blocked, turns to the first free
direction clockwise. No look-ahead at all: the baseline every AI should beat.
Protocol: docs/samples.md.
"""
import os
import socket
import sys
import time

DIRS = "URDL"
DX = (0, 1, 0, -1)
DY = (-1, 0, 1, 0)


def main():
    host = os.environ.get("JUDGER_GAME_HOST") or "game"
    port = int(os.environ.get("JUDGER_GAME_PORT") or "7000")
    for _ in range(100):
        try:
            sock = socket.create_connection((host, port), timeout=30)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit("straight-bot: cannot connect to the game")
    name = os.environ.get("JUDGER_PLAYER_NAME", "")
    sock.sendall(f"{os.environ.get('JUDGER_TOKEN', '')} {name}\n".encode())
    me, w, h = 0, 0, 0
    for line in sock.makefile("r"):
        f = line.split()
        if not f:
            continue
        if f[0] == "welcome":
            me = int(f[1])
        elif f[0] == "round":
            w, h = int(f[2]), int(f[3])
        elif f[0] == "turn":
            n = int(f[2])
            x, y, cur = int(f[3 + 4 * me]), int(f[4 + 4 * me]), DIRS.index(f[6 + 4 * me])
            grid = f[3 + 4 * n]
            move = cur
            for k in (0, 1, 3):  # straight, right, left
                d = (cur + k) % 4
                nx, ny = x + DX[d], y + DY[d]
                if 0 <= nx < w and 0 <= ny < h and grid[ny * w + nx] == ".":
                    move = d
                    break
            sock.sendall(f"{f[1]} {DIRS[move]}\n".encode())
        elif f[0] == "end":
            break
    sock.close()


if __name__ == "__main__":
    main()
