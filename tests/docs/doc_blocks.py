#!/usr/bin/env python3
"""Runs the code blocks of author documentation, so the docs cannot drift.

  doc_blocks.py BUILD_DIR DOC.md...

Every fenced block of a document is one of:
  ```LANG file=PATH   a file of the example: written to WORK/PATH when reached
  ```sh test          a command: run by bash (-e -u -o pipefail) in WORK
  ```text / ```json   a shape or an output shown as is (json: data, not code)
A block in any other language (sh, python, js, Dockerfile...) without
`file=` or `test` is an error: a command or a program in these docs runs.
The documents share one WORK directory, in the order given (the bot guide
plays against the game guide's game). WORK holds links `samples`, `docs` and
`tests` to the repository's, as a checkout's root would; PATH starts with
BUILD_DIR/bin (the `judger` command) and JUDGER_STATE_DIR is
BUILD_DIR/samples-state (the images and artifacts the sample tests share).
"""
import os
import re
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```(\S*)(.*)$")
DATA_LANGS = {"text", "json", ""}


def blocks(path):
    """(line, lang, attrs, body) of every fenced block."""
    out, cur = [], None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if cur is None:
                m = FENCE.match(line.rstrip("\n"))
                if m:
                    cur = (n, m.group(1), m.group(2).split(), [])
            elif line.startswith("```"):
                out.append((cur[0], cur[1], cur[2], "".join(cur[3])))
                cur = None
            else:
                cur[3].append(line)
    if cur is not None:
        sys.exit(f"{path}:{cur[0]}: unterminated code block")
    return out


def main():
    build = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="doc-blocks-")
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    for part in ("samples", "docs", "tests"):
        os.symlink(os.path.join(root, part), os.path.join(work, part))
    env = dict(os.environ, PATH=os.path.join(build, "bin") + ":" + os.environ["PATH"],
               JUDGER_STATE_DIR=os.path.join(build, "samples-state"))
    ran = files = 0
    for doc in sys.argv[2:]:
        for line, lang, attrs, body in blocks(doc):
            where = f"{os.path.relpath(doc, root)}:{line}"
            target = [a[5:] for a in attrs if a.startswith("file=")]
            if target:
                path = os.path.join(work, target[0])
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(body)
                files += 1
            elif "test" in attrs:
                print(f"doc_blocks: {where}: running\n" +
                      "".join("  $ " + l + "\n" for l in body.rstrip().splitlines()), flush=True)
                p = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=work, env=env)
                if p.returncode != 0:
                    print(f"doc_blocks: {where}: the block exited {p.returncode} (work dir {work})")
                    return 1
                ran += 1
            elif lang not in DATA_LANGS:
                print(f"doc_blocks: {where}: a ```{lang} block that is neither file= nor test")
                return 1
    print(f"doc_blocks: {files} files written, {ran} command blocks passed")
    subprocess.run(["rm", "-rf", work])
    return 0 if ran else 1


if __name__ == "__main__":
    sys.exit(main())
