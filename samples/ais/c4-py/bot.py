#!/usr/bin/env python3
"""c4-py: a Connect Four player in Python, an ordinary stdin/stdout program
(sample AI for judger; relay.py connects it to the game, docs/samples.md).

Reads "move <me> <board>" lines, answers each with a column: a winning move
if there is one, else a move that blocks the opponent's win, else the
playable column nearest the centre that does not hand the opponent a win
on top of it. Deterministic. Stops at "end" or at the end of its input.
"""
import sys

COLS, ROWS = 7, 6


def drop(board, col):
    """The row a disc dropped in col lands on, or -1."""
    for row in range(ROWS - 1, -1, -1):
        if board[row * COLS + col] == ".":
            return row
    return -1


def wins(board, col, row, who):
    for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
        n = 1
        for sign in (1, -1):
            c, r = col + sign * dc, row + sign * dr
            while 0 <= c < COLS and 0 <= r < ROWS and board[r * COLS + c] == who:
                n += 1
                c, r = c + sign * dc, r + sign * dr
        if n >= 4:
            return True
    return False


def choose(me, board):
    other = "1" if me == "0" else "0"
    free = [c for c in range(COLS) if drop(board, c) >= 0]
    for who in (me, other):  # win, else block
        for c in free:
            if wins(board, c, drop(board, c), who):
                return c
    by_centre = sorted(free, key=lambda c: abs(c - COLS // 2))
    for c in by_centre:
        row = drop(board, c)
        above = list(board)
        above[row * COLS + c] = me
        if row == 0 or not wins(above, c, row - 1, other):
            return c
    return by_centre[0]


def main():
    for line in sys.stdin:
        f = line.split()
        if f and f[0] == "move":
            # flush: stdout is a pipe here, and Python buffers pipes.
            print(choose(f[1], f[2]), flush=True)
        elif f and f[0] == "end":
            print(f"c4-py: match points {f[1]} to {f[2]}", file=sys.stderr)
            break


if __name__ == "__main__":
    main()
