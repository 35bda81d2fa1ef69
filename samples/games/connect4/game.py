#!/usr/bin/env python3
"""connect4: the second sample game logic for judger (docs/samples.md).

Two AIs, several games of Connect Four (7 columns, 6 rows), the first move
alternating. Written from docs/writing-a-game.md alone: the pipe protocol of
docs/protocol.md, players over TCP on port 7000 with the `<token> <name>`
hello, replay.json in $JUDGER_OUT_DIR, scores with the end command.

To a player (one line each, see docs/samples.md):
  move <me> <board>   your move: me is 0 or 1, board is 42 characters, the
                      top row first, '.' empty, '0'/'1' a disc of that seat
  end <mine> <theirs> the match points; then the connection closes
The player answers a move with a column number, 0 to 6.

Live frames (docs/samples.md, "Live frames"): {"cmd":"frame","data":...} at
each game's start ("game": the players and the board's size), after each
move ("move": the column, appended to the game's replay "moves") and at its
end ("game_end": the game's replay record). config.frame_delay_ms (0..1000)
pauses after each move, for a watched showcase.
"""
import hmac
import json
import os
import select
import socket
import sys
import time

COLS, ROWS = 7, 6
PORT = 7000
HELLO_S = 5.0


def log(*a):
    print("connect4:", *a, file=sys.stderr, flush=True)


class Pipes:
    """The judger's pipes: events in (non-blocking), commands out."""

    def __init__(self):
        # Events first, without blocking, then commands: neither open waits.
        self.ev = os.open(os.environ["JUDGER_EVENT_PIPE"], os.O_RDONLY | os.O_NONBLOCK)
        self.cmd = open(os.environ["JUDGER_CMD_PIPE"], "w", buffering=1)
        self.buf = b""
        self.gone = set()  # AI indexes whose player exited or was cancelled

    def send(self, obj):
        self.cmd.write(json.dumps(obj) + "\n")

    def frame(self, data):
        """A frame for live viewers; the judger answers none (one over its
        limits is dropped there)."""
        self.send({"cmd": "frame", "data": data})

    def read_events(self):
        try:
            self.buf += os.read(self.ev, 65536)
        except BlockingIOError:
            return
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            ev = json.loads(line)
            if ev.get("event") in ("exited", "cancelled"):
                self.gone.add(ev["ai"])
            if ev.get("event") == "refused":
                log("refused:", ev.get("reason"))


class Seat:
    def __init__(self, ai, ident):
        self.ai, self.id, self.sock, self.buf = ai, ident, None, b""
        self.points, self.wins, self.faults = 0, 0, 0

    def send(self, line):
        if not self.sock:
            return
        try:
            self.sock.sendall((line + "\n").encode())
        except OSError:
            self.drop()

    def drop(self):
        if self.sock:
            self.sock.close()
        self.sock = None

    def ask(self, line, timeout):
        """Sends a move request; returns the answer line, or None."""
        if not self.sock:
            return None
        self.sock.setblocking(False)  # stale answers of an earlier turn are dropped
        try:
            while self.sock.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            return self.drop()
        self.buf = b""
        self.send(line)
        deadline = time.monotonic() + timeout
        while self.sock and b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            try:
                data = self.sock.recv(4096)
            except OSError:
                data = b""
            if not data or len(self.buf) > 512:
                return self.drop()
            self.buf += data
        if not self.sock:
            return None
        answer, self.buf = self.buf.split(b"\n", 1)
        return answer.decode("ascii", "replace").strip()


def connect_players(srv, pipes, seats, tokens, timeout):
    """Accepts connections until every seat has its player (or it is gone)."""
    deadline = time.monotonic() + timeout
    pending = []  # (socket, bytes so far, accepted at)
    while time.monotonic() < deadline:
        pipes.read_events()
        if all(s.sock or s.ai in pipes.gone for s in seats):
            break
        rl = [srv, pipes.ev] + [p[0] for p in pending]
        ready = select.select(rl, [], [], 0.2)[0]
        if srv in ready:
            c, _ = srv.accept()
            pending.append([c, b"", time.monotonic()])
        for p in list(pending):
            if p[0] in ready:
                data = p[0].recv(512)
                p[1] += data
                if not data or b"\n" in p[1] or len(p[1]) >= 512:
                    pending.remove(p)
                    hello = p[1].split(b"\n")[0].decode("ascii", "replace").split()
                    seat = next((s for s in seats if hello and
                                 hmac.compare_digest(hello[0], tokens[s.ai])), None)
                    if seat is None or seat.sock:
                        log("refused a connection: wrong token or seat taken")
                        p[0].close()
                    else:
                        p[0].setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        seat.sock = p[0]
                        log(f"seat {seat.ai} connected as {hello[1:] or '?'}")
            elif time.monotonic() - p[2] > HELLO_S:
                pending.remove(p)
                p[0].close()
    for p in pending:
        p[0].close()


def four_from(board, col, row):
    """The four cells in a row through (col, row), or None."""
    me = board[row][col]
    for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
        cells = [(col, row)]
        for sign in (1, -1):
            c, r = col + sign * dc, row + sign * dr
            while 0 <= c < COLS and 0 <= r < ROWS and board[r][c] == me:
                cells.append((c, r))
                c, r = c + sign * dc, r + sign * dr
        if len(cells) >= 4:
            return sorted(cells)[:4]  # sorted by column (then row): contiguous
    return None


def play_game(seats, first, timeout, on_move=lambda n, col: None):
    """One game; returns its replay record. on_move(n, col) after each move."""
    board = [["."] * COLS for _ in range(ROWS)]
    game = {"first": first, "moves": [], "winner": None, "reason": "draw", "line": None}
    turn = first
    for _ in range(COLS * ROWS):
        seat = seats[turn]
        text = "".join("".join(r) for r in board)
        answer = seat.ask(f"move {turn} {text}", timeout)
        col = int(answer) if answer and answer.isdigit() else -1
        if not 0 <= col < COLS or board[0][col] != ".":
            seat.faults += 1
            reason = "absent" if not seat.sock else "timeout" if answer is None else "illegal"
            game.update(winner=1 - turn, reason=reason, fault=answer)
            return game
        row = max(r for r in range(ROWS) if board[r][col] == ".")
        board[row][col] = str(turn)
        game["moves"].append(col)
        on_move(len(game["moves"]), col)
        line = four_from(board, col, row)
        if line:
            game.update(winner=turn, reason="four", line=[list(c) for c in line])
            return game
        turn = 1 - turn
    return game


def main():
    with open(os.environ.get("JUDGER_MATCH_JSON", "/judger/match.json")) as f:
        match = json.load(f)
    config = match.get("config") or {}
    games = config.get("games", 2)
    timeout = config.get("move_timeout_ms", 2000) / 1000
    delay = config.get("frame_delay_ms", 0)
    if len(match["players"]) != 2 or not isinstance(games, int) or not 1 <= games <= 100:
        sys.exit("connect4: needs 2 AIs and config.games in 1..100")
    if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= 1000:
        sys.exit("connect4: config.frame_delay_ms must be an integer in 0..1000")
    seats = [Seat(p["ai"], p["id"]) for p in match["players"]]
    tokens = [p["token"] for p in match["players"]]

    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", PORT))  # listen before any player is started
    srv.listen(8)
    pipes = Pipes()
    for s in seats:
        pipes.send({"cmd": "start", "name": f"p{s.ai}", "ai": s.ai})
    connect_players(srv, pipes, seats, tokens, config.get("connect_timeout_ms", 30000) / 1000)

    replay = {"game": "connect4", "version": 1, "match_id": match["match_id"],
              "cols": COLS, "rows": ROWS,
              "players": [{"ai": s.ai, "id": s.id} for s in seats], "games": []}
    def on_move(g):
        def moved(n, col):
            pipes.frame({"kind": "move", "game": g, "n": n, "col": col})
            time.sleep(delay / 1000)
        return moved

    for g in range(games):
        pipes.frame({"kind": "game", "game": g, "games": games, "first": g % 2,
                     "match_id": match["match_id"], "cols": COLS, "rows": ROWS,
                     "players": replay["players"]})
        rec = play_game(seats, g % 2, timeout, on_move(g))
        pipes.frame({"kind": "game_end", "game": g, "record": rec})
        replay["games"].append(rec)
        for s in seats:
            s.points += 1 if rec["winner"] is None else 2 if rec["winner"] == s.ai else 0
        if rec["winner"] is not None:
            seats[rec["winner"]].wins += 1
        log(f"game {g}: {rec['reason']}, winner {rec['winner']}, {len(rec['moves'])} moves")
        pipes.send({"cmd": "progress", "game": g + 1, "games": games})
    scores = [s.points for s in seats]
    replay["scores"] = scores
    for s in seats:
        s.send(f"end {s.points} {seats[1 - s.ai].points}")
        s.drop()
    out = os.environ.get("JUDGER_OUT_DIR", "/judger/out")
    with open(os.path.join(out, "replay.json"), "w") as f:
        json.dump(replay, f)
    pipes.send({"cmd": "end", "scores": scores,
                "messages": [f"{s.wins} wins, {s.faults} faults" for s in seats]})
    log("scores:", scores)


if __name__ == "__main__":
    main()
