#!/usr/bin/env python3
"""Prints the URL that opens a sample viewer in live mode on a task's match
(docs/samples.md, "Live mode"):

  watch-url.py TASK_ID --daemon http://HOST:PORT [--token HEX | --key-file PATH]
               [--viewer tron|connect4] [--viewer-base URL]

--daemon is the daemon's metrics_listen address (it serves GET /live/<task>).
The token is --token (what `judger watch-token TASK_ID` prints), or made here
from --key-file (the daemon's watch_key_file: HMAC-SHA256 of
"judger-watch:TASK_ID", as judger makes it). The viewer is this checkout's
samples/viewer page (file://) unless --viewer-base names where the pages are
served. The token is in the URL: hand it only to whom may watch that task.
"""
import argparse
import hashlib
import hmac
import os
import re
import sys
import urllib.parse

PAGES = {"tron": "index.html", "connect4": "connect4.html"}
TASK_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def key_of(path):
    """The key as judger reads it (judger/common/watch_token.c,
    jd_watch_key_read): 16..4096 bytes once one trailing "\n" and then one
    trailing "\r" are dropped ("\r\n", "\n" or "\r")."""
    with open(path, "rb") as f:
        key = f.read(4096 + 3)  # the largest key, "\r\n" and a byte to see it is too big
    if key.endswith(b"\n"):
        key = key[:-1]
    if key.endswith(b"\r"):
        key = key[:-1]
    if not 16 <= len(key) <= 4096:
        sys.exit(f"watch-url: {path}: a key is 16 to 4096 bytes")
    return key


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("task_id")
    ap.add_argument("--daemon", required=True, help="http://HOST:PORT of the daemon's metrics_listen")
    ap.add_argument("--token", help="the watch token (judger watch-token TASK_ID)")
    ap.add_argument("--key-file", help="the daemon's watch_key_file, to make the token here")
    ap.add_argument("--viewer", choices=sorted(PAGES), default="tron")
    ap.add_argument("--viewer-base", help="URL of a folder serving samples/viewer/ (default: file://)")
    a = ap.parse_args()
    if not TASK_RE.match(a.task_id):
        sys.exit("watch-url: not a task id")
    if bool(a.token) == bool(a.key_file):
        sys.exit("watch-url: give --token or --key-file")
    token = a.token or hmac.new(key_of(a.key_file), b"judger-watch:" + a.task_id.encode(),
                                hashlib.sha256).hexdigest()
    if not re.fullmatch(r"[0-9a-f]{64}", token):
        sys.exit("watch-url: a token is 64 hex digits")
    daemon = urllib.parse.urlsplit(a.daemon)
    if daemon.scheme not in ("http", "https") or not daemon.netloc:
        sys.exit("watch-url: --daemon is http(s)://HOST:PORT")
    stream = f"{daemon.scheme}://{daemon.netloc}/live/{a.task_id}?token={token}"
    base = a.viewer_base.rstrip("/") if a.viewer_base else "file://" + os.path.abspath(
        os.path.join(os.path.dirname(__file__), "..", "viewer"))
    print(f"{base}/{PAGES[a.viewer]}?live=" + urllib.parse.quote(stream, safe=""))


if __name__ == "__main__":
    main()
