#!/usr/bin/env python3
"""The Tron viewer's live mode against a real daemon (docs/samples.md, "Live
mode"): a redis-server of the test's own, `judger daemon` with
metrics_listen 127.0.0.1:0 and a watch_key_file, a Tron match (the samples,
config.frame_delay_ms 40: about 18 s of play) submitted as a task.
Once the task's /live/ stream carries its first frame, headless Chromium
opens samples/viewer/index.html?live=<the stream's URL with the token of
`judger watch-token`> and is read over the DevTools protocol on a pipe
(--remote-debugging-pipe: --dump-dom cannot wait on a live stream):

- while the match runs the page says data-state="live" and its
  data-frames grows (two readings, with a screenshot);
- after the match the page has loaded the full replay the stream sent
  (data-state="replay", the board drawn) and its EventSource is closed for
  good: no watcher is left on the daemon's judger_live_watchers a few
  seconds later;
- the token is HMAC-SHA256(key, "judger-watch:" + task id); a wrong one is
  refused (403), none too (401);
- `judger watch-token` and samples/tools/watch-url.py make the same token
  from a key file ending in "\n", "\r\n" or nothing (checked first, with no
  engine: only the judger binary).

  viewer_live.py BUILD_DIR

Exit 0 passed, 1 failed, 77 skipped (no chromium, redis-server or engine;
each a failure under CI=true).
"""
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
S = os.path.join(ROOT, "samples")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--window-size=1280,900", "--enable-logging=stderr", "--v=0",
                  "--remote-debugging-pipe"]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def skip(why):
    print("viewer_live: " + why)
    sys.exit(1 if os.environ.get("CI") == "true" or failures else 77)


def token_checks(build):
    """judger watch-token and watch-url.py on key files ending in "\n",
    "\r\n" or nothing: the token of the key without its line end."""
    judger = os.path.join(build, "bin", "judger")
    key, task_id = secrets.token_hex(32).encode(), "t-token-check"
    mine = hmac.new(key, b"judger-watch:" + task_id.encode(), hashlib.sha256).hexdigest()
    with tempfile.TemporaryDirectory(prefix="viewer-live-token-") as tmp:
        for tail in (b"\n", b"\r\n", b""):
            path = os.path.join(tmp, "watch.key")
            with open(path, "wb") as f:
                f.write(key + tail)
            os.chmod(path, 0o600)
            token = subprocess.run([judger, "watch-token", task_id, "--watch-key-file", path],
                                   env=dict(os.environ, JUDGER_CONFIG=""), capture_output=True,
                                   text=True).stdout.strip()
            url = subprocess.run([sys.executable, os.path.join(S, "tools", "watch-url.py"),
                                  task_id, "--daemon", "http://127.0.0.1:1", "--key-file", path],
                                 capture_output=True, text=True).stdout
            check(token == mine and "token%3D" + mine in url,
                  f"a key file ending {tail!r}: judger watch-token and watch-url.py give "
                  f"the key's token ({token[:12]}...)")


def wait_for(what, timeout, probe, every=0.1):
    """probe() until it returns a true value; fails the test after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = probe()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(every)


class Browser:
    """Chromium driven over the DevTools protocol on a pipe: it reads our
    commands on its fd 3 and writes its answers on fd 4, NUL-terminated JSON."""

    def __init__(self, url, workdir):
        os.makedirs(workdir, exist_ok=True)
        self.log_path = os.path.join(workdir, "chromium.log")
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()

        def child():
            a, b = os.dup(to_r), os.dup(from_w)  # out of the way of 3 and 4 first
            os.dup2(a, 3)
            os.dup2(b, 4)

        with open(self.log_path, "w") as log:
            self.p = subprocess.Popen(
                ["chromium", *CHROMIUM_FLAGS, "--user-data-dir=" + os.path.join(workdir, "profile"),
                 url], stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=child,
                # Kept open: the fds Python makes are close-on-exec, but for
                # 3 and 4 (close_fds would close them after preexec_fn).
                close_fds=False, start_new_session=True)
        os.close(to_r)
        os.close(from_w)
        self.w, self.r, self.buf, self.id = to_w, from_r, b"", 0
        pages = [t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page"]
        self.session = self.call("Target.attachToTarget", targetId=pages[0]["targetId"],
                                 flatten=True)["sessionId"]

    def call(self, method, session=None, timeout=30, **params):
        self.id += 1
        msg = {"id": self.id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                m = json.loads(raw)
                if m.get("id") == self.id:
                    if "error" in m:
                        raise RuntimeError(f"{method}: {m['error']}")
                    return m["result"]
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.r], [], [], left)[0]:
                raise TimeoutError("chromium did not answer " + method)
            data = os.read(self.r, 1 << 20)
            if not data:
                raise EOFError("chromium closed its pipe (see %s)" % self.log_path)
            self.buf += data

    def eval(self, expr):
        r = self.call("Runtime.evaluate", session=self.session, expression=expr,
                      returnByValue=True)
        return r["result"].get("value")

    def status(self):
        """#status as {state, frames, text}; None while the page loads."""
        return self.eval("(() => { const s = document.getElementById('status');"
                         " return s && {state: s.dataset.state, frames: +(s.dataset.frames || 0),"
                         " text: s.textContent}; })()")

    def screenshot(self, path):
        shot = self.call("Page.captureScreenshot", session=self.session)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))

    def console(self):
        with open(self.log_path, errors="replace") as f:
            return [line.strip() for line in f if ":CONSOLE" in line]

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except (OSError, RuntimeError, TimeoutError, EOFError):
            pass
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, 9)
            self.p.wait()
        os.close(self.w)
        os.close(self.r)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(tmp):
    port = free_port()
    p = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                          "--appendonly", "no", "--dir", tmp], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)

    def up():
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5) as c:
                c.sendall(b"PING\r\n")
                return c.recv(16).startswith(b"+PONG")
        except OSError:
            return False
    wait_for("redis-server answers", 10, up)
    return p, f"redis://127.0.0.1:{port}/0"


def http_status(url):
    """The status of a GET (the body is not read: an SSE stream never ends)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def first_frame(url):
    """True once the stream answers and has carried a match.frame."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                line = r.readline()
                if not line:
                    return False
                if line.startswith(b"data: ") and b'"match.frame"' in line:
                    return True
    except (OSError, urllib.error.HTTPError):
        pass
    return False


def metric(port, name):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            m = re.search(rf"^{name} (\S+)$", r.read().decode(), re.M)
            return float(m.group(1)) if m else None
    except OSError:
        return None


def task_json(task_id):
    with open(os.path.join(S, "specs", "tron-2p.json")) as f:
        spec = json.load(f)
    spec["id"] = task_id
    spec["game_logic"]["dir"] = os.path.join(S, "games", "tron")
    for p in spec["players"]:
        p["dir"] = os.path.join(S, "ais", p["id"])
    spec["config"].update(rounds=3, frame_delay_ms=40)
    return {"id": task_id, "type": "match", "match": spec, "max_attempts": 1}


def page_state(browser, more_than):
    """The page's status once it is live with more than more_than frames, or
    no longer live; None meanwhile."""
    s = browser.status()
    if not s:
        return None
    return s if s["state"] not in ("connecting", "live") or s["frames"] > more_than else None


def watch(browser, shots, port):
    """The page while the match runs, then after it."""
    a = wait_for("the page live with frames", 30, lambda: page_state(browser, 0))
    browser.screenshot(os.path.join(shots, "live.png"))
    b = wait_for("more frames", 30, lambda: page_state(browser, a["frames"] + 10), every=0.2)
    check(a["state"] == "live" and b["state"] == "live" and b["frames"] > a["frames"],
          f"the board advances while the match runs: {a} then {b}")
    turns = browser.eval("rp.rounds.reduce((n, r) => n + r.turns.length, 0)")
    check(turns > 1, f"the live board holds the turns so far ({turns})")
    end = wait_for("the replay after the match", 120, lambda: page_state(browser, 1 << 30),
                   every=0.3)
    browser.screenshot(os.path.join(shots, "replay.png"))
    colours = re.search(r"drawn: (\d+) colours", end["text"])
    check(end["state"] == "replay" and colours and int(colours.group(1)) >= 3,
          f"after the match: the full replay, drawn ({end})")
    check(browser.eval("rp.seed") == 7 and len(browser.eval("rp.rounds")) == 3,
          "the page holds the match's replay.json (seed 7, 3 rounds)")
    check(browser.eval("live.es.readyState") == 2, "the EventSource is closed after the end")
    # No reconnection: the daemon counts no watcher (3 s later).
    time.sleep(3)
    check(browser.eval("live.es.readyState") == 2 and metric(port, "judger_live_watchers") in (0, None),
          "no watcher reconnected: judger_live_watchers "
          f"{metric(port, 'judger_live_watchers')}")
    check(not browser.console(), f"no console message: {browser.console()}")


def run(build, tmp):
    judger = os.path.join(build, "bin", "judger")
    env = dict(os.environ, JUDGER_CONFIG="", JUDGER_STATE_DIR=os.path.join(build, "samples-state"))
    subprocess.run([judger, "build", "--base-image", "--quiet"], env=env, check=True)
    redis, url = start_redis(tmp)
    daemon = None
    try:
        key_file = os.path.join(tmp, "watch.key")
        key = secrets.token_hex(32).encode()
        with open(key_file, "wb") as f:
            f.write(key + b"\n")
        os.chmod(key_file, 0o600)  # a key readable by others may be refused
        os.chmod(key_file, 0o600)  # a key readable by others is refused
        log_path = os.path.join(tmp, "daemon.log")
        host = f"viewer-live-{os.getpid()}"
        with open(log_path, "w") as log:
            daemon = subprocess.Popen(
                [judger, "daemon", "--redis", url, "--host-id", host, "--state-dir",
                 os.path.join(tmp, "state"), "--slots", "1", "--log-json", "true",
                 "--metrics-listen", "127.0.0.1:0", "--watch-key-file", key_file,
                 "--program-roots", f"{ROOT},/tmp"], env=env, stdout=log, stderr=log,
                start_new_session=True)

        def port_logged():
            with open(log_path) as f:
                m = re.search(r'"metrics.listen".*?\(port (\d+)\)', f.read())
            if daemon.poll() is not None:
                raise RuntimeError("the daemon exited: " + open(log_path).read()[-2000:])
            return int(m.group(1)) if m else None
        port = wait_for("the daemon's metrics port in its log", 30, port_logged)
        task_id = f"viewer-live-{os.getpid()}-{int(time.time())}"
        task = os.path.join(tmp, "task.json")
        with open(task, "w") as f:
            json.dump(task_json(task_id), f)
        subprocess.run([judger, "submit", "--redis", url, task], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        token = subprocess.run([judger, "watch-token", task_id, "--watch-key-file", key_file],
                               env=env, check=True, capture_output=True, text=True).stdout.strip()
        mine = hmac.new(key, b"judger-watch:" + task_id.encode(), hashlib.sha256).hexdigest()
        check(token == mine, "judger watch-token is HMAC-SHA256(key, 'judger-watch:' + task id)")
        base = f"http://127.0.0.1:{port}/live/{task_id}"
        stream = f"{base}?token={token}"
        # The match builds its images first: the stream carries frames later.
        wait_for("the task's first frame on /live/", 600, lambda: first_frame(stream), every=0.5)
        check(http_status(f"{base}?token={'0' * 64}") == 403, "a wrong token: 403")
        check(http_status(base) == 401, "no token: 401")
        page = "file://" + os.path.join(S, "viewer", "index.html") + "?live=" + \
            urllib.parse.quote(stream, safe="")
        browser = Browser(page, tmp)
        shots = os.path.join(build, "viewer-live")
        os.makedirs(shots, exist_ok=True)
        try:
            watch(browser, shots, port)
        finally:
            browser.close()
        print(f"viewer_live: screenshots in {shots} (live.png, replay.png)")
    finally:
        if daemon:
            daemon.terminate()
            try:
                daemon.wait(60)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        redis.terminate()
        redis.wait()


def main():
    token_checks(os.path.abspath(sys.argv[1]))
    if not shutil.which("chromium"):
        skip("chromium is not installed (images/setup-host.sh installs it)")
    if not shutil.which("redis-server"):
        skip("redis-server is not installed (images/setup-host.sh installs it)")
    if http_status_unix("/var/run/docker.sock") != 200:
        skip("no Docker engine answers on /var/run/docker.sock")
    tmp = tempfile.mkdtemp(prefix="viewer-live-")
    try:
        run(os.path.abspath(sys.argv[1]), tmp)
    except (TimeoutError, RuntimeError, EOFError, subprocess.CalledProcessError) as e:
        check(False, f"{type(e).__name__}: {e} (files in {tmp})")
    if failures:
        print(f"viewer_live: {len(failures)} failed; the daemon's log, chromium's and the "
              f"screenshots are in {tmp}")
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def http_status_unix(sock):
    try:
        with socket.socket(socket.AF_UNIX) as c:
            c.settimeout(5)
            c.connect(sock)
            c.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
            return int(c.recv(64).split()[1])
    except (OSError, ValueError, IndexError):
        return 0


if __name__ == "__main__":
    sys.exit(main())
