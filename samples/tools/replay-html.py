#!/usr/bin/env python3
"""Writes a self-contained HTML page that plays a replay: the viewer of its
game (samples/viewer/index.html for tron, connect4.html for connect4, by the
replay's "game" key) with the replay embedded. Open it in any browser,
no server and no network needed.

  replay-html.py OUT/replay.json OUT/replay.html
"""
import json
import os
import sys

MARK = '<script id="replay-data" type="application/json"></script>'


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        replay = json.load(f)
    page_of = {"tron": "index.html", "connect4": "connect4.html"}
    if replay.get("game") not in page_of:
        sys.exit(f"replay-html: no viewer for game {replay.get('game')!r}")
    viewer = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "viewer",
                          page_of[replay["game"]])
    with open(viewer) as f:
        page = f.read()
    if MARK not in page:
        sys.exit("replay-html: the viewer has no replay-data element")
    # "</" never appears inside the script element: JSON allows "\/".
    data = json.dumps(replay, separators=(",", ":")).replace("</", "<\\/")
    page = page.replace(MARK, MARK.replace("></script>", ">" + data + "</script>"), 1)
    with open(sys.argv[2], "w") as f:
        f.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
