#!/usr/bin/env python3
"""Both viewers' live mode without the engine (docs/samples.md, "Live
mode"): a Tron and a Connect Four match under local-match.py give their
frames (live.jsonl) and replays; a stand-in of the daemon's /live/ stream
(the SSE of docs: `id:`/`data:` entries, then `event: replay`, `event: end`)
serves them a few milliseconds apart, with hostile frames mixed in, to
headless Chromium (DevTools over a pipe, as tests/docs/viewer_live.py):

- the page waits while the stream is missing (two 404s, then the stream);
- data-state "live" and data-frames growing while frames come; the hostile
  frames (wrong types, sizes past the bounds, seats out of range, markup in
  names, non-JSON data) change nothing, inject no element, raise no error;
- after the stream: the replay loaded (data-state "replay", drawn) and no
  further request (the EventSource is not reconnected);
- a stream that ends without a replay leaves "ended"; one that says
  "lagged" leaves "lagged"; neither reconnects;
- a hostile replay.json (markup in names, moves, points, scores and causes,
  an object with a string "length" where an array goes, "__proto__" and
  "constructor" keys), as the stream's `replay` event, embedded in the page
  (replay-html.py) and picked with the page's file input: its bad parts are
  dropped and the markup shows as text, or (no array of rounds or games) it
  is refused with a visible message; never an element of its own, a global
  set by an onerror, a polluted prototype or an error;
- watch-url.py makes judger's token from a key file ending in "\n", "\r\n"
  or "\r", as judger reads it (judger/common/watch_token.c).

  viewer_live_local.py   (exit 77 without chromium; a failure under CI=true)
"""
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from viewer_live import Browser, check, failures, wait_for  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
S = os.path.join(ROOT, "samples")
HOSTILE = [
    42, None, "frame", [1, 2], {"kind": "turn"}, {"kind": "nope", "round": 0},
    {"kind": "round", "round": 0, "width": 10 ** 9, "height": 5, "seats": [{}]},
    {"kind": "round", "round": -1, "width": 10, "height": 10, "seats": [{}]},
    {"kind": "turn", "round": 0, "turn": {"t": 3, "pos": "x"}},
    {"kind": "turn", "round": 0, "turn": {"t": 3, "pos": [[1e300, 2], [3, 4]]}},
    {"kind": "turn", "round": 10 ** 6, "turn": {"t": 3, "pos": [[1, 2], [3, 4]]}},
    {"kind": "obstacles", "round": 0, "y": 10 ** 6, "rows": ["#"]},
    {"kind": "round_end", "round": 0, "points": ["<img src=x onerror=window.pwned=1>", 1]},
    {"kind": "move", "game": 0, "col": 99}, {"kind": "move", "game": 10 ** 6, "col": 1},
    {"kind": "game", "game": 0, "cols": 10 ** 6, "rows": 6, "players": [{}, {}]},
    {"kind": "game_end", "game": 0, "record": {"first": "<b>", "moves": "x"}},
]


class Stream:
    """The stand-in /live/<id> server: entries (raw JSON texts) `delay` s
    apart, then the tail (SSE text). The first `missing` requests get 404."""

    def __init__(self, entries, tail, delay, missing=0):
        self.entries, self.tail, self.delay, self.missing, self.requests = \
            entries, tail, delay, missing, 0
        stream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                stream.requests += 1
                if stream.requests <= stream.missing:
                    self.send_response(404)
                    self.send_header("Access-Control-Allow-Origin", "*")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                for k, v in (("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"),
                             ("Access-Control-Allow-Origin", "*")):
                    self.send_header(k, v)
                self.end_headers()
                try:
                    for i, e in enumerate(stream.entries):
                        self.wfile.write(f"id: {i + 1}\ndata: {e}\n\n".encode())
                        self.wfile.flush()
                        time.sleep(stream.delay)
                    self.wfile.write(stream.tail.encode())
                    self.wfile.flush()
                except OSError:
                    pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/live/t-1?token=" + "ab" * 32

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def frame_entry(data, seq):
    return json.dumps({"event": "match.frame", "match_id": "m", "elapsed_ms": seq, "seq": seq,
                       "data": data}, separators=(",", ":"))


def entries_of(live_jsonl):
    """The match's frames, the hostile ones mixed in after the first."""
    with open(live_jsonl) as f:
        real = [line.strip() for line in f if line.strip()]
    out = real[:1]
    for i, h in enumerate(HOSTILE):
        out.append(frame_entry(h, 10000 + i))
    out.append("not json {")
    out.append('{"event":"player.start","seq":1}')
    return out + real[1:], len(real)


def open_page(page, stream, tmp):
    url = "file://" + os.path.join(S, "viewer", page) + "?live=" + \
        urllib.parse.quote(stream.url, safe="")
    return Browser(url, tmp + "-browser")


def page_state(browser, frames_over):
    s = browser.status()
    return s if s and (s["state"] not in ("connecting", "live") or s["frames"] > frames_over) \
        else None


def watch_full(name, page, out, tmp):
    entries, nreal = entries_of(os.path.join(out, "live.jsonl"))
    with open(os.path.join(out, "replay.json")) as f:
        replay = f.read().strip()
    stream = Stream(entries, f"event: replay\ndata: {replay}\n\nevent: end\ndata: {{}}\n\n",
                    0.01, missing=2)
    b = open_page(page, stream, os.path.join(tmp, name))
    try:
        a = wait_for("live with frames", 60, lambda: page_state(b, 0), every=0.05)
        later = wait_for("more frames", 60, lambda: page_state(b, a["frames"] + 5), every=0.05)
        check(a["state"] == later["state"] == "live" and later["frames"] > a["frames"],
              f"{name}: live after two 404s, frames growing ({a['frames']} then "
              f"{later['frames']})")
        end = wait_for("the replay", 60, lambda: page_state(b, 1 << 30), every=0.1)
        check(end["state"] == "replay" and "drawn:" in end["text"],
              f"{name}: the replay after the stream ({end})")
        check(end["frames"] == nreal, f"{name}: every real frame drawn, no hostile one "
              f"({end['frames']} of {nreal})")
        requests = stream.requests
        time.sleep(3)
        check(stream.requests == requests == 3, f"{name}: no request after the end "
              f"({stream.requests}: two 404s and the stream)")
        check(b.eval("document.querySelectorAll('img, b').length === 0 && !window.pwned"),
              f"{name}: no markup from a frame in the page")
        check(not b.console(), f"{name}: no console message: {b.console()}")
    finally:
        b.close()
        stream.close()


def watch_cut(name, page, out, tmp, tail, want):
    """A stream that stops without a replay (end, or lagged)."""
    entries, _ = entries_of(os.path.join(out, "live.jsonl"))
    stream = Stream(entries[:30], tail, 0.005)
    b = open_page(page, stream, os.path.join(tmp, name))
    try:
        end = wait_for(want, 60, lambda: page_state(b, 1 << 30), every=0.1)
        time.sleep(3)
        check(end["state"] == want and stream.requests == 1,
              f"{name}: {want}, not reconnected ({end}, {stream.requests} request)")
    finally:
        b.close()
        stream.close()


def inject(k):
    return f"<img src=x onerror=window.pwned={k}>"


PROTO = {"__proto__": {"polluted": inject(90)}, "constructor": {"prototype": {"polluted": 1}}}


def hostile_tron(replay):
    """The Tron replay with markup and wrong types in every field drawn as
    text; a round whose turns are an object with a string length."""
    r = json.loads(json.dumps(replay))
    r.update(PROTO, match_id=inject(1), scores=[inject(2), {"toString": 1}])
    r["seats"][0].update(PROTO, name=inject(3), ai_id=inject(4), clock=inject(5))
    r["seats"][1].update(name={"toString": "x"}, points=inject(6), ai_id=["<b>"])
    r0 = r["rounds"][0]
    r0.update(PROTO, points=[inject(7), inject(8)], fate=[inject(9), {}])
    r0["turns"][1].update(moves=[inject(10), inject(11)], t=inject(12))
    r0["turns"][2].update(moves=inject(13), crashes=[{"seat": 0, "cause": inject(14)},
                                                      {"seat": "__proto__", "cause": {}}])
    r0["turns"].append({"t": 9999, "pos": {"length": inject(15)}})
    r["rounds"].append({"turns": {"length": inject(16)}, "points": inject(17)})
    return r


def hostile_c4(replay):
    r = json.loads(json.dumps(replay))
    r.update(PROTO, match_id=inject(21), scores=[inject(22), {"length": inject(23)}])
    r["players"][0].update(PROTO, id=inject(24))
    r["players"][1]["id"] = {"toString": inject(25)}
    r["games"][0].update(PROTO, moves={"length": inject(26)}, reason=inject(27),
                         winner=inject(28), line=[[inject(29), 0]])
    r["games"].append({"first": inject(30), "moves": [1, 2], "reason": inject(31)})
    return r


def markup(replay):
    """Markup strings only (no value that would stop a viewer first): where a
    viewer put moves, points, scores or a length in its HTML unescaped."""
    r = json.loads(json.dumps(replay))
    if r.get("game") == "tron":
        r0 = r["rounds"][-1]
        r0["points"] = [inject(51), inject(52)]
        for t in r0["turns"][1:]:
            t["moves"] = [inject(53), inject(54)]
    else:
        r["scores"] = [inject(55), inject(56)]
        r["games"][-1]["moves"] = {"length": inject(57)}
    return r


def refused(replay):
    """No array of rounds (games): an object whose length is a string."""
    r = json.loads(json.dumps(replay))
    r.update(PROTO, rounds={"length": inject(41)}, games={"length": inject(42)})
    return r


def clean_page(b, name, want, text):
    """No element, global or prototype of the replay's; want: the final
    data-state; text: what the page shows (the markup as text, or the
    refusal)."""
    end = wait_for(name, 60, lambda: (lambda s: s if s and s["state"] not in
                                      ("connecting", "live", "empty") else None)(b.status()),
                   every=0.1)
    check(end["state"] == want, f"{name}: data-state {want} ({end})")
    # To the last round (game) and its last turn (move): every panel drawn
    # (an element innerHTML makes is there at once).
    b.eval("for (const key of ['ArrowDown', 'ArrowDown', 'ArrowDown', 'End'])"
           " document.dispatchEvent(new KeyboardEvent('keydown', {key}))")
    check(b.eval("document.querySelectorAll('img, :not(#drop) > b').length === 0 && !window.pwned && "
                 "({}).polluted === undefined && Object.prototype.polluted === undefined"),
          f"{name}: no element, global or prototype from the replay")
    shown = b.eval("document.body.innerText + document.getElementById('status').textContent")
    check(text in shown, f"{name}: the page shows {text!r}")
    check(not b.console(), f"{name}: no console message: {b.console()}")


def hostile_replays(tmp, tron, c4):
    cases = []
    for game, page, out, bad in (("tron", "index.html", tron, hostile_tron),
                                 ("connect4", "connect4.html", c4, hostile_c4)):
        with open(os.path.join(out, "replay.json")) as f:
            replay = json.load(f)
        entries, _ = entries_of(os.path.join(out, "live.jsonl"))
        cases += [(game, page, entries[:1] + entries[1 + len(HOSTILE) + 2:][:40], r, want, text)
                  for r, want, text in ((bad(replay), "replay", inject(3 if game == "tron" else 24)),
                                        (markup(replay), "replay", "drawn"),
                                        (refused(replay), "refused", "cannot read this replay"))]
    for i, (game, page, entries, r, want, text) in enumerate(cases):
        data = json.dumps(r, separators=(",", ":"))
        name = f"{game}-hostile-replay-{i}-{want}"
        # The stream's replay event.
        stream = Stream(entries, f"event: replay\ndata: {data}\n\nevent: end\ndata: {{}}\n\n",
                        0.002)
        b = open_page(page, stream, os.path.join(tmp, name + "-live"))
        try:
            clean_page(b, name + " (live)", want, text)
        finally:
            b.close()
            stream.close()
        # Embedded in the page (replay-html.py).
        src, html = os.path.join(tmp, name + ".json"), os.path.join(tmp, name + ".html")
        with open(src, "w") as f:
            f.write(data)
        subprocess.run([sys.executable, os.path.join(S, "tools", "replay-html.py"), src, html],
                       check=True)
        b = Browser("file://" + html, os.path.join(tmp, name + "-embedded"))
        try:
            clean_page(b, name + " (embedded)", "drawn" if want == "replay" else want, text)
        finally:
            b.close()
        # Picked with the file input.
        b = Browser("file://" + os.path.join(S, "viewer", page), os.path.join(tmp, name + "-file"))
        try:
            wait_for("the page", 30, b.status)
            doc = b.call("DOM.getDocument", session=b.session)["root"]["nodeId"]
            node = b.call("DOM.querySelector", session=b.session, nodeId=doc,
                          selector="#file")["nodeId"]
            b.call("DOM.setFileInputFiles", session=b.session, nodeId=node, files=[src])
            clean_page(b, name + " (file input)", "drawn" if want == "replay" else want, text)
        finally:
            b.close()


def watch_url_keys(tmp):
    """watch-url.py's token for key files ending as judger drops them: one
    "\n", then one "\r" (watch_token.c jd_watch_key_read)."""
    key = b"k" * 40
    want = hmac.new(key, b"judger-watch:t-1", hashlib.sha256).hexdigest()
    for tail, same in ((b"", True), (b"\n", True), (b"\r\n", True), (b"\r", True),
                       (b"\n\n", False), (b"\n\r", False), (b"\r\n\n", False)):
        path = os.path.join(tmp, "watch.key")
        with open(path, "wb") as f:
            f.write(key + tail)
        url = subprocess.run([sys.executable, os.path.join(S, "tools", "watch-url.py"), "t-1",
                              "--daemon", "http://127.0.0.1:1", "--key-file", path],
                             check=True, capture_output=True, text=True).stdout
        check(("token%3D" + want in url) == same,
              f"watch-url.py: a key file ending {tail!r}: {'the' if same else 'not the'} "
              "token of the key")
    with open(path, "wb") as f:
        f.write(b"k" * 4096 + b"\r\n")
    p = subprocess.run([sys.executable, os.path.join(S, "tools", "watch-url.py"), "t-1",
                        "--daemon", "http://127.0.0.1:1", "--key-file", path],
                       capture_output=True, text=True)
    check(p.returncode == 0, "watch-url.py: a 4096-byte key and CRLF is a key")


def local_match(out, *args):
    subprocess.run([sys.executable, os.path.join(S, "tools", "local-match.py"), "--out", out,
                    *args], check=True, stdout=subprocess.DEVNULL)


def unthrottled_spec(tmp, name):
    """A copy of samples/specs/<name> at the highest frame rate (10000/s).
    The rate is measured where local-match.py reads the frames, so on a
    loaded machine a stalled reader took a burst of queued frames past the
    default 100/s (4 dropped in stop 34's CI) although the game wrote them at
    its pace. These tests are about the viewer; the judger's rate limit is
    tested in tests/judger/match/match_live.c."""
    with open(os.path.join(S, "specs", name)) as f:
        spec = json.load(f)
    for part in [spec["game_logic"], *spec["players"]]:
        part["dir"] = os.path.normpath(os.path.join(S, "specs", part["dir"]))
    spec.setdefault("limits", {})["frames_per_sec"] = 10000
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


def main():
    if not shutil.which("chromium"):
        print("viewer_live_local: chromium is not installed (images/setup-host.sh installs it)")
        return 1 if os.environ.get("CI") == "true" else 77
    tmp = tempfile.mkdtemp(prefix="viewer-live-local-")
    watch_url_keys(tmp)
    bin_dir = os.path.join(tmp, "bin")
    os.makedirs(bin_dir)
    for script in ("games/tron/build.sh", "ais/c-bot/build.sh"):
        subprocess.run(["sh", os.path.join(S, script)], env=dict(os.environ, OUT=bin_dir),
                       check=True, stderr=subprocess.DEVNULL)
    tron, c4 = os.path.join(tmp, "tron"), os.path.join(tmp, "c4")
    local_match(tron, "--spec", unthrottled_spec(tmp, "tron-2p.json"), "--game",
                os.path.join(bin_dir, "tron"), "--ai", os.path.join(bin_dir, "c-bot"),
                "--ai", f"python3 {S}/ais/py-bot/bot.py",
                "--config", '{"seed": 7, "rounds": 2, "width": 30, "height": 20, "obstacles": 6,'
                            ' "frame_delay_ms": 5}')
    local_match(c4, "--spec", unthrottled_spec(tmp, "connect4.json"),
                "--game", f"python3 {S}/games/connect4/game.py",
                "--ai", f"python3 {S}/ais/c4-py/relay.py python3 {S}/ais/c4-py/bot.py",
                "--ai", f"python3 {S}/ais/c4-js/relay.py node {S}/ais/c4-js/bot.js")
    for out in (tron, c4):
        with open(os.path.join(out, "result.json")) as f:
            live = json.load(f)["live"]
        check(live["frames"] > 10 and live["dropped_rate"] == live["dropped_size"] == 0,
              f"local-match.py took the game's frames: {live}")
    try:
        watch_full("tron", "index.html", tron, tmp)
        watch_full("connect4", "connect4.html", c4, tmp)
        watch_cut("tron-ended", "index.html", tron, tmp, "event: end\ndata: {}\n\n", "ended")
        watch_cut("connect4-lagged", "connect4.html", c4, tmp, "event: lagged\ndata: {}\n\n",
                  "lagged")
        hostile_replays(tmp, tron, c4)
    except (TimeoutError, RuntimeError, EOFError) as e:
        check(False, f"{type(e).__name__}: {e} (files in {tmp})")
    if failures:
        print(f"viewer_live_local: {len(failures)} failed (files in {tmp})")
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
