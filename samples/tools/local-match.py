#!/usr/bin/env python3
"""Plays a match on this host without Docker: a stand-in for `judger run`
when writing a game logic or an AI (docs/writing-a-game.md).

It is the judger's side of docs/protocol.md, as the judger does it: makes the
two FIFOs and match.json ({match_id, config, players: [{ai, id, token}]}),
runs the game logic with JUDGER_CMD_PIPE, JUDGER_EVENT_PIPE,
JUDGER_MATCH_JSON, JUDGER_OUT_DIR, JUDGER_MATCH_ID and JUDGER_AI_COUNT, starts
an AI process for every start command (JSON or Hiper text form) with
JUDGER_TOKEN, JUDGER_AI_INDEX, JUDGER_PLAYER_NAME, JUDGER_GAME_HOST=game and
JUDGER_MATCH_ID, answers with started / exited / refused events, kills every
player at `end`, gives the game logic 3 s to exit, and writes result.json,
game_logic.log and player_<i>.log into --out.

Turn clocks (docs/protocol.md, "Turn clocks"): turn / turn_end in both
forms, answered by turn_ended and timeout events, with the spec's
limits.turn_ms, time_bank_ms, bank_increment_ms, on_timeout ("tle" kills
the player: verdict TLE; "freeze" stops it with SIGSTOP), freeze_idle and
exclusive_turns. Frames (docs/protocol.md, "Frames"): `frame` in both forms,
written as match.frame events to live.jsonl in --out (frames over the
spec's limits.frame_max_bytes or frames_per_sec dropped and counted in
result.json's "live", as the judger does; nothing is sent back). Without cgroups a turn is charged wall time, whatever
limits.clock says (the events say "clock": "wall"); result.json gives each
clocked instance's "turns" as the judger does.

The match runs in a private network namespace (`unshare --user --net
--mount`, util-linux) where `game` and the player names resolve to
127.0.0.1, so a game listens on its real port and several local matches can
run at once. Where unprivileged namespaces are not allowed (or with
--host-net) it runs on this host's network with JUDGER_GAME_HOST=127.0.0.1.
No limits, no isolation between programs: trusted code only.

  local-match.py --game ./tron --ai ./c-bot --ai "python3 bot.py" \\
                 --config '{"seed": 7}' --out /tmp/m
  local-match.py --spec samples/specs/tron-2p.json --game ./tron --ai ./c-bot --ai "python3 bot.py"
"""
import argparse
import hashlib
import hmac
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
NETNS_MARK = "LOCAL_MATCH_IN_NETNS"
END_GRACE_S = 3.0
MS_MAX = 3600000
# limits of the turn clock: key -> (default, check), as docs/match-spec.md.
TURN_LIMITS = {
    "clock": ("cpu", lambda v: v in ("cpu", "wall")),
    "turn_ms": (1000, lambda v: is_int(v) and 0 <= v <= MS_MAX),
    "time_bank_ms": (0, lambda v: is_int(v) and 0 <= v <= MS_MAX),
    "bank_increment_ms": (0, lambda v: is_int(v) and 0 <= v <= MS_MAX),
    "on_timeout": ("tle", lambda v: v in ("tle", "freeze")),
    "freeze_idle": (False, lambda v: isinstance(v, bool)),
    "exclusive_turns": (False, lambda v: isinstance(v, bool)),
    "turn_wall_factor": (5, lambda v: is_int(v) and 1 <= v <= 100),
}


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def frame_limits(spec):
    """limits.frame_max_bytes and frames_per_sec with their defaults."""
    limits = spec.get("limits") or {}
    size, rate = limits.get("frame_max_bytes", 8192), limits.get("frames_per_sec", 100)
    if not is_int(size) or not 16 <= size <= 1 << 20:
        raise ValueError(f"limits.frame_max_bytes: bad value {size!r}")
    if not is_int(rate) or not 1 <= rate <= 10000:
        raise ValueError(f"limits.frames_per_sec: bad value {rate!r}")
    return size, rate


def turn_limits(spec):
    """The spec's turn-clock limits with their defaults; ValueError names a bad one."""
    limits = spec.get("limits") or {}
    out = {}
    for key, (default, ok) in TURN_LIMITS.items():
        v = limits.get(key, default)
        if not ok(v):
            raise ValueError(f"limits.{key}: bad value {v!r}")
        out[key] = v
    return out


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--game", required=True, help="command of the game logic")
    ap.add_argument("--ai", action="append", required=True, help="command of an AI (in AI order)")
    ap.add_argument("--ai-id", action="append", default=[],
                    help="id of an AI, in AI order (players[].id; default: the spec's, else ai<i>)")
    ap.add_argument("--spec", help="a judger match spec: its id, config and players' ids")
    ap.add_argument("--config", help="the match's config (JSON; overrides the spec's)")
    ap.add_argument("--id", help="match id (default: the spec's, else 'local')")
    ap.add_argument("--out", help="output directory (default: a new temp dir)")
    ap.add_argument("--deadline", type=float, default=600, help="seconds for the whole match")
    ap.add_argument("-v", "--verbose", action="store_true", help="print progress commands")
    ap.add_argument("--host-net", action="store_true",
                    help="do not use a private network namespace")
    return ap.parse_args()


def bring_loopback_up():
    # SIOCSIFFLAGS on "lo" with IFF_UP | IFF_LOOPBACK | IFF_RUNNING: what
    # `ip link set lo up` does, without needing iproute2.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        import fcntl
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", 0x1 | 0x8 | 0x40))
    finally:
        s.close()


def enter_netns(args):
    """Re-runs this script in a private user+network+mount namespace.
    Returns its exit code, or None when namespaces are not available."""
    if args.host_net or os.environ.get(NETNS_MARK) or not shutil.which("unshare"):
        return None
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--net", "--mount", "true"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        print("local-match: no private network namespace here; using the host's network",
              file=sys.stderr)
        return None
    env = dict(os.environ, **{NETNS_MARK: "1"})
    cmd = ["unshare", "--user", "--map-root-user", "--net", "--mount", sys.executable,
           os.path.abspath(__file__)] + sys.argv[1:]
    return subprocess.run(cmd, env=env).returncode


class Hosts:
    """/etc/hosts of the namespace: `game` and every player name on 127.0.0.1
    (glibc reads the file at each lookup, so names added later resolve)."""

    def __init__(self, work):
        self.path = os.path.join(work, "hosts")
        self.names = ["localhost", "game"]
        self.write()
        subprocess.run(["mount", "--bind", self.path, "/etc/hosts"], check=True)

    def write(self):
        with open(self.path + ".new", "w") as f:
            f.write("127.0.0.1 " + " ".join(self.names) + "\n")
        # Rewritten in place: a bind mount follows the inode, not the name.
        with open(self.path + ".new") as src, open(self.path, "w") as dst:
            dst.write(src.read())
        os.unlink(self.path + ".new")

    def add(self, name):
        if name not in self.names:
            self.names.append(name)
            self.write()


def program_env():
    """This shell's environment without its JUDGER_* variables (a judger's
    own settings, such as JUDGER_STATE_DIR): a program sees only the
    JUDGER_* variables the judger gives it."""
    return {k: v for k, v in os.environ.items() if not k.startswith("JUDGER_")}


def printable(line):
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in line[:200])


def parse_command(line):
    """A command line in either form -> dict, or raises ValueError(reason)."""
    line = line.rstrip("\r\n").strip()
    if line.startswith("{"):
        try:
            c = json.loads(line)
        except ValueError:
            raise ValueError("not valid JSON")
        if not isinstance(c, dict) or not isinstance(c.get("cmd"), str):
            raise ValueError("missing or mistyped field: cmd")
        if c["cmd"] == "frame" and "data" not in c:
            raise ValueError("missing field: data")
        return c
    word, _, rest = line.partition(" ")
    if word == "create_player":
        f = rest.split()
        if len(f) != 2 or not f[1].isdigit():
            raise ValueError("create_player takes NAME INDEX")
        return {"cmd": "start", "name": f[0], "ai": int(f[1])}
    if word == "remove_player":
        return {"cmd": "stop", "name": rest.strip()}
    if word in ("turn", "turn_end"):
        f = rest.split()
        if not (len(f) == 1 if word == "turn_end" else len(f) in (1, 2)):
            raise ValueError(f"{word} takes NAME" + (" [BUDGET_MS]" if word == "turn" else ""))
        c = {"cmd": word, "name": f[0]}
        if len(f) == 2:
            if not f[1].isdigit() or not f[1].isascii():
                raise ValueError("budget_ms must be an integer from 0 to 3600000")
            c["budget_ms"] = int(f[1])
        return c
    if word == "frame":
        try:
            return {"cmd": "frame", "data": json.loads(rest)}
        except ValueError:
            raise ValueError("not valid JSON")
    if word == "end_match":
        try:
            v = json.loads(rest)
        except ValueError:
            raise ValueError("not valid JSON")
        return dict(v, cmd="end") if isinstance(v, dict) else {"cmd": "end", "scores": v}
    raise ValueError("unknown command: " + printable(word))


class TurnClock:
    """One player instance's turn clock on wall time: the rules of
    judger/match/turn_clock.h (budget, bank, increment, timeouts)."""

    def __init__(self, bank_ms, increment_ms):
        self.bank, self.increment = bank_ms, increment_ms
        self.open = self.timed_out = self.frozen = self.closed = False
        self.start, self.budget, self.turn, self.ran_out = 0.0, 0, 0, 0.0
        self.used, self.overruns, self.timeouts = [], 0, 0

    def used_ms(self, now):
        return (now - self.start) * 1000.0

    def left_ms(self, now):
        """Time left before the open turn runs out (<= 0: out); None when none is open."""
        if not self.open or self.timed_out:
            return None
        return self.budget + self.bank - self.used_ms(now)

    def begin(self, budget, now):
        self.open, self.timed_out, self.budget, self.start = True, False, budget, now
        self.turn += 1

    def outcome(self, used, overrun):
        return {"turn": self.turn, "used_ms": round(used, 3), "budget_ms": self.budget,
                "bank_ms": round(self.bank, 3), "overrun_ms": round(overrun, 3), "clock": "wall"}

    def timeout(self, now):
        """The open turn ran out: bank 0, a timeout and an overrun; it stays open."""
        used = self.ran_out = self.used_ms(now)
        self.timed_out, self.bank = True, 0
        self.timeouts += 1
        self.overruns += 1
        self.used.append(used)
        return self.outcome(used, used - self.budget)

    def end(self, now):
        """Ends the open turn: (outcome, ran_out_now). A turn past budget + bank
        that the watch had not seen yet is a timeout all the same."""
        if self.timed_out:  # charged when it ran out
            self.open = False
            return self.outcome(self.ran_out, self.ran_out - self.budget), False
        if self.left_ms(now) < 0:
            out = self.timeout(now)
            self.open = False
            return out, True
        used = self.used_ms(now)
        overrun = max(0.0, used - self.budget)
        if overrun > 0:
            self.overruns += 1
            self.bank -= overrun
        self.bank += self.increment
        self.used.append(used)
        self.open = False
        return self.outcome(used, overrun), False

    def stats(self):
        """result.json's "turns" (nearest-rank median and p95)."""
        used = sorted(self.used)
        n = len(used)

        def rank(p):
            return used[max(1, -(-p * n // 100)) - 1] if n else 0

        return {"clock": "wall", "count": n, "timeouts": self.timeouts,
                "overruns": self.overruns, "max_ms": round(used[-1] if n else 0, 3),
                "median_ms": round(rank(50), 3), "p95_ms": round(rank(95), 3),
                "bank_ms": round(self.bank, 3)}


class Match:
    def __init__(self, args, spec):
        self.args = args
        self.mid = args.id or spec.get("id") or "local"
        if args.config is not None:
            self.config = json.loads(args.config)
        else:
            self.config = spec.get("config")
        n = len(args.ai)
        spec_ids = [p.get("id") for p in spec.get("players", [])]
        self.ids = [args.ai_id[i] if i < len(args.ai_id) else
                    spec_ids[i] if i < len(spec_ids) else f"ai{i}" for i in range(n)]
        self.out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="local-match-"))
        os.makedirs(self.out, exist_ok=True)
        self.work = tempfile.mkdtemp(prefix="local-match-work-")
        key = secrets.token_bytes(32)
        self.tokens = [hmac.new(key, f"{self.mid}:{i}".encode(), hashlib.sha256).hexdigest()
                       for i in range(n)]
        self.lock = threading.Lock()
        self.running = {}  # name -> Popen
        self.players = [{"ai": i, "id": self.ids[i], "verdict": "OK", "exit_code": None,
                         "instances": 0, "killed": False} for i in range(n)]
        self.logs = [open(os.path.join(self.out, f"player_{i}.log"), "wb") for i in range(n)]
        self.hosts = None
        self.limits = turn_limits(spec)
        self.frame_max, self.frame_rate = frame_limits(spec)
        self.live = {"frames": 0, "dropped_size": 0, "dropped_rate": 0, "dropped_file": 0}
        self.live_file, self.seq, self.t0 = None, 0, time.monotonic()
        self.bucket, self.bucket_at = float(self.frame_rate), self.t0
        self.instances = []  # per start: name, ai, verdict, exit_code, killed, clock

    def send(self, ev):
        with self.lock:
            try:
                self.events.write(json.dumps(ev) + "\n")
            except OSError:
                pass

    def refuse(self, line, reason):
        print(f"local-match: refused: {reason}", file=sys.stderr)
        self.send({"event": "refused", "line": printable(line), "reason": reason})

    def watch(self, p, name, ai, killed):
        code = p.wait()
        # As the judger reports it (docs/match-spec.md, result.json): a player
        # our kill ended (a `stop`, the end of the match) died of that SIGKILL
        # and reads "the match ended": exit 0, killed, OK. One that exited by
        # itself keeps its own exit, even as the match ends (a crash is RE).
        by_us = killed.is_set() and code == -signal.SIGKILL
        if by_us and p.tle:  # a kill for a fault keeps its signal death
            code, verdict = 128 + signal.SIGKILL, "TLE"
        else:
            code = 0 if by_us else 128 - code if code < 0 else code
            verdict = "OK" if code == 0 else "RE"
        with self.lock:
            self.running.pop(name, None)
            p.inst.update(verdict=verdict, exit_code=code, killed=by_us)
            p.clock.closed = True
            rec = self.players[ai]
            if rec["verdict"] == "OK":  # else it keeps its first failing instance's
                rec["exit_code"] = code
                rec["killed"] = by_us
                rec["verdict"] = verdict
        self.send({"event": "exited", "name": name, "ai": ai, "exit_code": code,
                   "verdict": verdict})

    def start(self, line, c):
        name, ai = c.get("name"), c.get("ai")
        if not isinstance(name, str) or not NAME_RE.match(name) or name == "game":
            return self.refuse(line, "bad name")
        if not isinstance(ai, int) or isinstance(ai, bool):
            return self.refuse(line, "missing or mistyped field: ai")
        if not 0 <= ai < len(self.ids):
            return self.refuse(line, f"AI index out of range: {ai} "
                                     f"(the match has {len(self.ids)} AIs)")
        with self.lock:
            if name in self.running:
                return self.refuse(line, f"duplicate name: {name}")
        if self.hosts:
            self.hosts.add(name)
        env = dict(program_env(), JUDGER_TOKEN=self.tokens[ai], JUDGER_AI_INDEX=str(ai),
                   JUDGER_PLAYER_NAME=name, JUDGER_MATCH_ID=self.mid,
                   JUDGER_GAME_HOST="game" if self.hosts else "127.0.0.1")
        env.pop(NETNS_MARK, None)
        rec = self.players[ai]
        rec["instances"] += 1
        log = self.logs[ai]
        log.write(f"===== local-match: instance {name} of AI {ai} "
                  f"(#{rec['instances']}) =====\n".encode())
        log.flush()
        p = subprocess.Popen(shlex.split(self.args.ai[ai]), env=env, stdin=subprocess.DEVNULL,
                             stdout=log, stderr=log, start_new_session=True)
        killed = threading.Event()
        p.killed = killed
        p.tle = False
        p.clock = TurnClock(self.limits["time_bank_ms"], self.limits["bank_increment_ms"])
        p.inst = {"name": name, "ai": ai, "verdict": "OK", "exit_code": None, "killed": False}
        with self.lock:
            self.running[name] = p
            self.instances.append((p.inst, p.clock))
        self.send({"event": "started", "name": name, "ai": ai})
        threading.Thread(target=self.watch, args=(p, name, ai, killed), daemon=True).start()

    def kill(self, p, tle=False):
        p.tle = p.tle or tle
        p.clock.closed = True  # no more turns
        p.killed.set()
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def kill_all(self):
        with self.lock:
            procs = list(self.running.values())
        for p in procs:
            self.kill(p)
        for p in procs:
            p.wait()

    # ---- turn clocks (docs/protocol.md, "Turn clocks") ----

    def send_signal(self, p, sig):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        p.clock.frozen = sig == signal.SIGSTOP

    def clock_event(self, event, p, out, action=None):
        ev = {"event": event, "name": p.inst["name"], "ai": p.inst["ai"], **out}
        if action:
            ev["action"] = action
        self.send(ev)

    def time_out(self, p, out):
        """Tells a turn that ran out and acts as limits.on_timeout says."""
        action = self.limits["on_timeout"]
        self.clock_event("timeout", p, out, action)
        print(f"local-match: {p.inst['name']} ran out of time on turn {out['turn']} "
              f"({out['used_ms']} ms)", file=sys.stderr)
        if action == "tle":
            self.kill(p, tle=True)
        else:
            self.send_signal(p, signal.SIGSTOP)

    def turn_player(self, c):
        """The running instance a turn command names, or raises ValueError(reason)."""
        name, ai = c.get("name"), c.get("ai")
        if (name is None) == (ai is None):
            raise ValueError("a turn command names its player by exactly one of name and ai")
        with self.lock:
            if name is not None:
                if not isinstance(name, str) or not NAME_RE.match(name):
                    raise ValueError("bad name")
                p = self.running.get(name)
                if p is None or p.clock.closed:
                    raise ValueError(f"player {name} is not running (not started, or exited)")
                return p
            if not is_int(ai) or not 0 <= ai < len(self.ids):
                raise ValueError("missing or mistyped field: ai")
            mine = [p for p in self.running.values() if p.inst["ai"] == ai and not p.clock.closed]
        if len(mine) != 1:
            raise ValueError(f"AI {ai} has {len(mine)} running instances "
                             f"(a turn by \"ai\" needs exactly one)")
        return mine[0]

    def turn_command(self, line, c):
        try:
            p = self.turn_player(c)
        except ValueError as e:
            return self.refuse(line, str(e))
        clock, name, now = p.clock, p.inst["name"], time.monotonic()
        if c["cmd"] == "turn_end":
            if not clock.open:
                return self.refuse(line, f"player {name} has no open turn")
            out, ran_out = clock.end(now)
            if ran_out:
                self.time_out(p, out)
                if self.limits["on_timeout"] == "tle":
                    return None
            self.clock_event("turn_ended", p, out)
            if self.limits["freeze_idle"]:
                self.send_signal(p, signal.SIGSTOP)
            elif clock.frozen:
                self.send_signal(p, signal.SIGCONT)
            return None
        budget = c.get("budget_ms", self.limits["turn_ms"])
        if not is_int(budget) or not 0 <= budget <= MS_MAX:
            return self.refuse(line, "budget_ms must be an integer from 0 to 3600000")
        if clock.open and not clock.timed_out:
            return self.refuse(line, f"player {name} is in a turn already (turn_end it first)")
        if self.limits["exclusive_turns"]:
            with self.lock:
                others = [q for q in self.running.values() if q is not p and q.clock.open]
            if others:
                return self.refuse(line, f"player {name} cannot have a turn while another "
                                         f"player's is open (exclusive_turns)")
        if clock.open:  # ran out and frozen: it ends with this one
            self.clock_event("turn_ended", p, clock.end(now)[0])
        if clock.frozen:
            self.send_signal(p, signal.SIGCONT)
        clock.begin(budget, time.monotonic())
        return None

    def watch_clocks(self):
        """Times out every open turn past budget + bank; returns the seconds
        until the next one could run out (at most 0.1)."""
        now, wait = time.monotonic(), 0.1
        with self.lock:
            procs = list(self.running.values())
        for p in procs:
            left = p.clock.left_ms(now)
            if left is None or p.clock.closed:
                continue
            if left < 0:
                self.time_out(p, p.clock.timeout(now))
            else:
                wait = min(wait, left / 1000.0 + 0.0005)
        return wait

    def command(self, line, ended):
        if not line.strip():
            return None
        if ended:
            return self.refuse(line, "the match has ended")
        try:
            c = parse_command(line)
        except ValueError as e:
            return self.refuse(line, str(e))
        if c["cmd"] == "start":
            self.start(line, c)
        elif c["cmd"] == "stop":
            with self.lock:
                p = self.running.get(c.get("name"))
            if p is None:
                return self.refuse(line, "no running player of that name")
            # Frozen on a turn that ran out: its last turn did not finish.
            self.kill(p, tle=p.clock.open and p.clock.timed_out)
        elif c["cmd"] in ("turn", "turn_end"):
            self.turn_command(line, c)
        elif c["cmd"] == "frame":
            self.frame(c["data"])
        elif c["cmd"] == "progress":
            if self.args.verbose:
                print("local-match: progress " + json.dumps(c), file=sys.stderr)
        elif c["cmd"] == "end":
            scores = c.get("scores")
            if not isinstance(scores, list) or len(scores) != len(self.ids) or not all(
                    isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores):
                return self.refuse(line, f"wrong number of scores (the match has "
                                         f"{len(self.ids)} AIs)")
            return c
        else:
            self.refuse(line, "unknown command: " + printable(c["cmd"]))
        return None

    def frame(self, data):
        """A frame: size and rate (a token bucket, burst = the rate) checked,
        then one match.frame line in live.jsonl."""
        compact = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        now = time.monotonic()
        self.bucket = min(self.frame_rate, self.bucket + (now - self.bucket_at) * self.frame_rate)
        self.bucket_at = now
        if len(compact.encode()) > self.frame_max:
            self.live["dropped_size"] += 1
            return
        if self.bucket < 1:
            self.live["dropped_rate"] += 1
            return
        self.bucket -= 1
        self.live["frames"] += 1
        self.seq += 1
        if self.live_file is None:
            self.live_file = open(os.path.join(self.out, "live.jsonl"), "w", buffering=1)
        self.live_file.write('{"event":"match.frame","match_id":%s,"elapsed_ms":%d,"seq":%d,'
                             '"data":%s}\n' % (json.dumps(self.mid), (now - self.t0) * 1000,
                                               self.seq, compact))
        if self.args.verbose:
            print("local-match: frame " + compact[:200], file=sys.stderr)

    def run(self):
        if os.environ.get(NETNS_MARK):
            bring_loopback_up()
            try:
                self.hosts = Hosts(self.work)
            except (OSError, subprocess.CalledProcessError):
                print("local-match: cannot bind a hosts file; players get "
                      "JUDGER_GAME_HOST=127.0.0.1", file=sys.stderr)
        match_json = os.path.join(self.work, "match.json")
        with open(match_json, "w") as f:
            json.dump({"match_id": self.mid, "config": self.config,
                       "players": [{"ai": i, "id": self.ids[i], "token": t}
                                   for i, t in enumerate(self.tokens)]}, f, indent=2)
        cmd_pipe, ev_pipe = os.path.join(self.work, "cmd"), os.path.join(self.work, "events")
        os.mkfifo(cmd_pipe)
        os.mkfifo(ev_pipe)
        # Both FIFOs held open read+write first, as the judger does: the game
        # logic's opens never block, and it may close and reopen them.
        cmd_fd = os.open(cmd_pipe, os.O_RDWR)
        self.events = os.fdopen(os.open(ev_pipe, os.O_RDWR), "w", buffering=1)
        env = dict(program_env(), JUDGER_CMD_PIPE=cmd_pipe, JUDGER_EVENT_PIPE=ev_pipe,
                   JUDGER_MATCH_JSON=match_json, JUDGER_OUT_DIR=self.out,
                   JUDGER_MATCH_ID=self.mid, JUDGER_AI_COUNT=str(len(self.ids)))
        env.pop(NETNS_MARK, None)
        glog = open(os.path.join(self.out, "game_logic.log"), "wb")
        t0 = self.t0 = self.bucket_at = time.monotonic()
        game = subprocess.Popen(shlex.split(self.args.game), env=env, stdin=subprocess.DEVNULL,
                                stdout=glog, stderr=glog, start_new_session=True)
        end, status = self.serve(game, cmd_fd, t0)
        self.kill_all()
        try:
            game_code = game.wait(timeout=END_GRACE_S if end else 0.1)
        except subprocess.TimeoutExpired:
            os.killpg(game.pid, signal.SIGKILL)
            game_code = game.wait()
            if not end:
                status = "failed"
        os.close(cmd_fd)
        self.events.close()
        if self.live_file:
            self.live_file.close()
        shutil.rmtree(self.work)
        return self.result(end, status, game_code, time.monotonic() - t0)

    def serve(self, game, cmd_fd, t0):
        """Reads commands until `end`, the game's exit or the deadline."""
        buf = b""
        import select
        while True:
            if time.monotonic() - t0 > self.args.deadline:
                print("local-match: the match passed its deadline", file=sys.stderr)
                return None, "failed"
            ready, _, _ = select.select([cmd_fd], [], [], self.watch_clocks())
            if ready:
                buf += os.read(cmd_fd, 65536)
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    end = self.command(raw.decode("utf-8", "replace"), False)
                    if end:
                        return end, "finished"
            elif game.poll() is not None:
                print(f"local-match: the game logic exited ({game.returncode}) without "
                      f"ending the match", file=sys.stderr)
                return None, "failed"

    def result(self, end, status, game_code, secs):
        scores = end.get("scores") if end else None
        messages = (end or {}).get("messages") or []
        for i, rec in enumerate(self.players):
            rec["score"] = scores[i] if scores else None
            rec["message"] = messages[i] if i < len(messages) else ""
        files = sorted(os.path.relpath(os.path.join(d, f), self.out)
                       for d, _, fs in os.walk(self.out) for f in fs)
        instances = []
        for inst, clock in self.instances:
            instances.append(dict(inst, **({"turns": clock.stats()} if clock.turn else {})))
        res = {"match_id": self.mid, "status": status, "local": True,
               "game_logic": {"exit_code": game_code}, "players": self.players,
               "instances": instances, "files": files, "live": self.live,
               "seconds": round(secs, 3)}
        with open(os.path.join(self.out, "result.json"), "w") as f:
            json.dump(res, f, indent=2)
        for log in self.logs:
            log.close()
        print(f"local-match: {self.mid} {status} in {secs:.1f} s, outputs in {self.out}")
        for rec in self.players:
            how = ("killed: TLE" if rec["verdict"] == "TLE" else "killed at the end") \
                if rec["killed"] else "exited"
            code = "-" if rec["exit_code"] is None else rec["exit_code"]
            print(f"  AI {rec['ai']} {rec['id']:<16} score {rec['score']}  {rec['verdict']}"
                  f"  exit {code} ({how})  x{rec['instances']}  {rec['message']}")
        for inst in instances:
            t = inst.get("turns")
            if t:
                print(f"  {inst['name']}: {t['count']} turns on the wall clock, max "
                      f"{t['max_ms']} ms, median {t['median_ms']} ms, {t['timeouts']} timeouts, "
                      f"bank {t['bank_ms']} ms")
        return 0 if status == "finished" else 1


def main():
    args = parse_args()
    code = enter_netns(args)
    if code is not None:
        return code
    spec = {}
    if args.spec:
        with open(args.spec) as f:
            spec = json.load(f)
    try:
        match = Match(args, spec)
    except ValueError as e:
        print(f"local-match: {e}", file=sys.stderr)
        return 2
    return match.run()


if __name__ == "__main__":
    sys.exit(main())
