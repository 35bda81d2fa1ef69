#!/usr/bin/env python3
"""relay.py: runs an ordinary stdin/stdout program as a judger player.

  python3 /app/relay.py PROGRAM [ARG...]

The contest's side of a player (docs/writing-a-bot.md): connects to the game
($JUDGER_GAME_HOST, port 7000, retrying while the game starts), says hello
("$JUDGER_TOKEN $JUDGER_PLAYER_NAME"), starts PROGRAM, and copies lines both
ways: the game's to PROGRAM's stdin, PROGRAM's stdout to the game. PROGRAM's
stderr goes to the player log untouched.

It never outlives PROGRAM: when PROGRAM exits (a crash, an OOM kill), the
relay closes the connection and exits with PROGRAM's exit code (128 + signal
after a signal), so the judger sees the verdict at once instead of a
player that hangs until its wall time. When the game closes the connection,
PROGRAM's stdin is closed and PROGRAM gets 2 s to exit before it is killed.
"""
import os
import socket
import subprocess
import sys
import threading
import time

PORT = 7000


def connect(host):
    deadline = time.monotonic() + 30
    while True:
        try:
            return socket.create_connection((host, PORT), timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"relay: cannot connect to {host}:{PORT}")
            time.sleep(0.1)


def game_to_program(sock, prog):
    """Copies the game's bytes to PROGRAM's stdin; at the game's end closes
    it, then kills PROGRAM if it does not exit by itself."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            prog.stdin.write(data)
            prog.stdin.flush()
    except OSError:
        pass  # the game went away, or PROGRAM closed its stdin
    try:
        prog.stdin.close()
    except OSError:
        pass
    try:
        prog.wait(timeout=2)
    except subprocess.TimeoutExpired:
        prog.kill()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sock = connect(os.environ.get("JUDGER_GAME_HOST", "game"))
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    hello = f"{os.environ.get('JUDGER_TOKEN', '')} {os.environ.get('JUDGER_PLAYER_NAME', '')}\n"
    sock.sendall(hello.encode())
    prog = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            bufsize=0)
    threading.Thread(target=game_to_program, args=(sock, prog), daemon=True).start()
    try:
        while True:
            data = os.read(prog.stdout.fileno(), 65536)
            if not data:
                break  # PROGRAM closed its stdout: it exited (or is about to)
            sock.sendall(data)
    except OSError:
        prog.kill()  # the game is gone while PROGRAM still talks
    code = prog.wait()
    sock.close()
    sys.exit(128 - code if code < 0 else code)


if __name__ == "__main__":
    main()
