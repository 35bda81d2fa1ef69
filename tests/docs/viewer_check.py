#!/usr/bin/env python3
"""Opens replay pages in headless Chromium (Debian's `chromium`) and checks
that each loaded its replay and drew it: the page's #status element says
"drawn" with at least 3 colours on the canvas, and the browser logged no
console message at all (the viewers log nothing when all is well; an
uncaught error or a console.error shows as a CONSOLE line).

  viewer_check.py PAGE.html...

Exit 0 all good, 1 a page failed, 77 no chromium (a failure under CI=true).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom"]
STATUS = re.compile(r'<output id="status" data-state="([a-z]+)"[^>]*>([^<]*)</output>')


def check(browser, page):
    with tempfile.TemporaryDirectory(prefix="viewer-check-") as profile:
        p = subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}",
                            "file://" + os.path.abspath(page)],
                           capture_output=True, text=True, timeout=120)
    console = [l for l in p.stderr.splitlines() if ":CONSOLE" in l]
    m = STATUS.search(p.stdout)
    colours = re.search(r"drawn: (\d+) colours", m.group(2)) if m else None
    problems = []
    if p.returncode != 0:
        problems.append(f"chromium exited {p.returncode}")
    if not m:
        problems.append("no #status element in the page's DOM")
    elif m.group(1) != "drawn" or not colours or int(colours.group(1)) < 3:
        problems.append(f"status {m.group(1)}: {m.group(2)}")
    problems += ["console: " + l for l in console]
    print(f"viewer_check: {page}: " + ("; ".join(problems) if problems else m.group(2)))
    return not problems


def main():
    browser = shutil.which("chromium")
    if not browser:
        print("viewer_check: chromium is not installed (images/setup-host.sh installs it)")
        return 1 if os.environ.get("CI") == "true" else 77
    ok = all([check(browser, page) for page in sys.argv[1:]])
    return 0 if ok and len(sys.argv) > 1 else 1


if __name__ == "__main__":
    sys.exit(main())
