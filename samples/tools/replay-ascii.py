#!/usr/bin/env python3
"""Prints a Tron replay (replay.json of the sample game) as text, turn by turn.

  replay-ascii.py replay.json                  # summary + last turn of each round
  replay-ascii.py replay.json --last 3         # the last 3 turns of each round
  replay-ascii.py replay.json --round 2 --all  # every turn of round 2
  replay-ascii.py replay.json --play           # animate in the terminal

Legend: '#' obstacle, '.' free, a/b/c... trails of seats 0/1/2..., A/B/C...
their heads, '*' a crash. Each turn's heading line gives every seat's move and
the time it was charged on the judger's turn clock ("ms" of the replay;
older replays have none). The replay format is described in docs/samples.md.
"""
import argparse
import json
import sys
import time

COLORS = ["31", "34", "32", "33", "35", "36", "91", "94"]


def frames(rnd, nseats, width, height):
    """Yields (turn, grid rows as lists, alive flags, crashes) for each turn."""
    grid = [list(row) for row in rnd["obstacles"]]
    alive = [True] * nseats
    for t in rnd["turns"]:
        crashes = {c["seat"]: c["cause"] for c in t.get("crashes", [])}
        for s, (x, y) in enumerate(t["pos"]):
            if s in crashes:
                alive[s] = False
            if 0 <= x < width and 0 <= y < height and alive[s]:
                grid[y][x] = chr(ord("a") + s)
        yield t["t"], grid, list(alive), crashes, t


def fmt_ms(v):
    """A time of the replay: a number of ms, or '-' (null: not clocked)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return "-"
    return f"{v:.1f} ms" if v >= 10 else f"{v:.2f} ms"


def move_line(seats, turn):
    """'moves: p0 R 0.12 ms, p1 L 1.50 ms' for a turn with moves."""
    moves, ms = turn.get("moves"), turn.get("ms")
    if not isinstance(moves, str):
        return ""
    ms = ms if isinstance(ms, list) else []
    parts = []
    for s, seat in enumerate(seats):
        m = moves[s] if s < len(moves) else " "
        if m == " ":
            continue
        t = f" {fmt_ms(ms[s])}" if s < len(ms) and ms[s] is not None else ""
        parts.append(f"{seat['name']} {m}{t}")
    return "  moves: " + ", ".join(parts) if parts else ""


def render(grid, turn, alive, crashes, color):
    rows = [list(r) for r in grid]
    for s, (x, y) in enumerate(turn["pos"]):
        rows[y][x] = "*" if s in crashes else (chr(ord("A") + s) if alive[s] else rows[y][x])
    out = []
    for row in rows:
        line = ""
        for ch in row:
            if color and ch.isalpha():
                line += f"\x1b[{COLORS[(ord(ch.lower()) - ord('a')) % 8]}m{ch}\x1b[0m"
            elif color and ch == "*":
                line += "\x1b[1;97m*\x1b[0m"
            else:
                line += ch
        out.append(line)
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description="Text rendering of a Tron replay.")
    ap.add_argument("replay")
    ap.add_argument("--round", type=int, help="only this round (1-based)")
    ap.add_argument("--last", type=int, default=1, help="show the last N turns of each round")
    ap.add_argument("--all", action="store_true", help="show every turn")
    ap.add_argument("--play", action="store_true", help="animate (ANSI terminal)")
    ap.add_argument("--delay", type=float, default=0.05, help="seconds per turn with --play")
    ap.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    a = ap.parse_args()

    with open(a.replay) as f:
        rp = json.load(f)
    color = a.color == "always" or (a.color == "auto" and sys.stdout.isatty())
    seats = rp["seats"]
    w, h = rp["width"], rp["height"]
    print(f"Tron {rp.get('match_id', '')}: {w}x{h}, seed {rp.get('seed')}, "
          f"{len(rp['rounds'])} rounds, scores by AI {rp.get('scores')}")
    for s, seat in enumerate(seats):
        clock = ""
        if seat.get("clocked_moves"):
            clock = (f", {seat['clocked_moves']} moves clocked ({seat.get('clock', '?')}):"
                     f" {fmt_ms(seat.get('ms_total'))} in all, longest {fmt_ms(seat.get('ms_max'))}"
                     f", {seat.get('clock_timeouts', 0)} ran out")
        print(f"  {chr(ord('A') + s)} = {seat['name']} (AI {seat['ai']}): {seat.get('points')} points,"
              f" {seat.get('timeouts', 0)} timeouts{clock}")
    for rnd in rp["rounds"]:
        rn = rnd["round"] + 1
        if a.round and rn != a.round:
            continue
        n = len(rnd["turns"])
        first = 0 if (a.all or a.play) else max(0, n - a.last)
        for i, (t, grid, alive, crashes, turn) in enumerate(frames(rnd, len(seats), w, h)):
            if i < first:
                continue
            text = render(grid, turn, alive, crashes, color)
            head = f"round {rn}, turn {t}/{n - 1}" + move_line(seats, turn)
            if crashes:
                head += "  crash: " + ", ".join(f"{seats[s]['name']} ({c})" for s, c in crashes.items())
            if a.play:
                sys.stdout.write("\x1b[H\x1b[2J" + head + "\n" + text + "\n")
                sys.stdout.flush()
                time.sleep(a.delay)
            else:
                print(head)
                print(text)
        pts = ", ".join(f"{seats[s]['name']} {p}" for s, p in enumerate(rnd["points"]))
        print(f"round {rn} points: {pts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
