#!/usr/bin/env python3
"""The style and size gate: what the house style promises, checked.

  gate.py            fail (exit 1) on any breach, one line each
  gate.py --report   the figures only (for notes and docs), exit 0

What it checks, over the C sources of libdockerapi (dockerapi/, include/)
and the judger (judger/):
  - clang-format: every file as `.clang-format` would write it;
  - functions: no function body over MAX_FUNCTION lines, counted from the
    line that opens the definition to its closing brace, blank and comment
    lines included (what a reader scrolls through);
  - files: no file over MAX_FILE lines of code, counted without blank and
    comment-only lines (a header's long contract comment is not code).
  - the error convention (judger/common/error.h): no int function of the
    judger returns something other than 0 and -1: a literal such as -2 or
    1, a named code (DK_*, JD_REDIS_*...), or the code of a libdockerapi
    call handed back as it came (`return dk_x(...)`, `rc = dk_x(...)` then
    `return rc`) from a function other parts call. Static helpers inside
    the module that calls the engine may pass engine codes among
    themselves (rule 5: the codes stop at the part's edge). A heuristic
    over the text: EXEMPT lists what it would flag wrongly, with why.

Tests, samples and generated files are not gated: tests may hold long
tables of cases.
"""
import os
import re
import subprocess
import sys

MAX_FUNCTION = 80
MAX_FILE = 600
ROOTS = ("dockerapi", "include", "judger")

# Functions the convention check would flag, and why they are right as they are.
EXEMPT = {
    "judger/daemon/disk.c:jd_disk_inodes_pct": "a percentage of free inodes; it cannot fail",
    "judger/match/hold/": "judger-hold is its own static program (the game logic's PID 1): its "
                          "steps return the exit status a shell would give, which main returns",
}

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def sources():
    out = []
    for top in ROOTS:
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    out.append(os.path.join(d, f))
    return sorted(out)


def strip_comments(text):
    """The text with comments and string contents blanked, lines kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + (c if j < n else ""))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


DEF_START = re.compile(r"^[A-Za-z_][^;=]*\)\s*(__attribute__\(\(.*\)\)\s*)?\{\s*$")


def functions(path, code):
    """(name, first line, line count) of every function definition."""
    lines = code.split("\n")
    found, i = [], 0
    while i < len(lines):
        line = lines[i]
        start = i
        # A definition opens at column 0; its signature may span lines.
        if line and not line[0].isspace() and line[0] not in "#}" and "(" in line:
            j = i
            while j < len(lines) and not lines[j].rstrip().endswith(("{", ";")) and j - i < 12:
                j += 1
            sig = " ".join(l.strip() for l in lines[i : j + 1])
            if j < len(lines) and lines[j].rstrip().endswith("{") and DEF_START.match(sig) \
                    and not re.match(r"^(struct|enum|union|typedef)\b", sig):
                k = j + 1
                while k < len(lines) and lines[k] != "}":
                    k += 1
                name = re.search(r"([A-Za-z_]\w*)\s*\(", sig)
                found.append((name.group(1) if name else "?", start + 1, k - start + 1))
                i = k + 1
                continue
        i += 1
    return found


def code_lines(code):
    return sum(1 for l in code.split("\n") if l.strip())


INT_DEF = re.compile(r"^(static\s+)?(?:inline\s+)?int\s+\**([a-z_]\w*)\s*\(", re.M)


def off_convention(code):
    """Names of int functions returning a value other than 0 / -1 / jd_fail()."""
    off = []
    lines = code.split("\n")
    for m in INT_DEF.finditer(code):
        name = m.group(2)
        start = code.count("\n", 0, m.start())
        k = start
        while k < len(lines) and lines[k] != "}":
            k += 1
        body = "\n".join(lines[start:k])
        if not body.rstrip().endswith("{") and "{" not in body:
            continue  # a prototype
        public = not m.group(1)
        engine_vars = set(re.findall(r"\b(\w+)\s*=\s*dk_\w+\(", body))
        engine_vars -= set(re.findall(r"\b(\w+)\s*=\s*jd_\w*fail\w*\(", body))  # converted
        for r in re.findall(r"\breturn\s+([^;]+);", body):
            r = r.strip()
            if re.fullmatch(r"-?\d+", r) and r not in ("0", "-1"):
                off.append(name)
                break
            if re.match(r"(DK_|JD_REDIS_|JD_SRC_|JD_Q_)", r) and not r.startswith("JD_EXIT"):
                off.append(name)
                break
            if public and (re.match(r"dk_\w+\(", r) or r in engine_vars):
                off.append(name)
                break
    return off


def clang_format_unformatted(paths):
    """The paths clang-format would write otherwise, from one process for
    all of them (a process per file took 30 s of the gate's 31)."""
    try:
        p = subprocess.run(["clang-format", "--style=file", "--dry-run", "-Werror", *paths],
                           cwd=ROOT, capture_output=True, text=True, errors="replace")
    except OSError as e:
        return {path: "clang-format failed: %s" % e for path in paths}
    found = {}
    for line in p.stderr.splitlines():
        m = re.match(r"(.+?):\d+:\d+: (?:error|warning): code should be clang-formatted", line)
        if m and m.group(1) in paths:
            found[m.group(1)] = True
    if p.returncode != 0 and not found:
        return {path: "clang-format failed: %s" % p.stderr.strip()[:300] for path in paths}
    return found


def main():
    report = "--report" in sys.argv[1:]
    breaches, long60, long80, big500, big600, off, unformatted = [], 0, 0, 0, 0, [], []
    paths = sources()
    differ = clang_format_unformatted(paths)
    for path in paths:
        rel = os.path.relpath(path, ROOT)
        with open(path, encoding="utf-8", errors="replace") as f:
            code = strip_comments(f.read())
        n = code_lines(code)
        big500 += n > 500
        big600 += n > MAX_FILE
        if n > MAX_FILE:
            breaches.append("%s: %d lines of code (at most %d)" % (rel, n, MAX_FILE))
        for name, line, count in functions(path, code):
            long60 += count > 60
            long80 += count > MAX_FUNCTION
            if count > MAX_FUNCTION:
                breaches.append("%s:%d: %s is %d lines (at most %d)" % (rel, line, name, count,
                                                                       MAX_FUNCTION))
        if rel.startswith("judger/") and rel.endswith(".c"):
            for o in off_convention(code):
                where = "%s:%s" % (rel, o)
                if where in EXEMPT or any(rel.startswith(e) for e in EXEMPT if e.endswith("/")):
                    continue
                off.append(where)
                breaches.append("%s: %s returns other than 0/-1 (judger/common/error.h)" % (rel, o))
        d = differ.get(path)
        if d:
            unformatted.append(rel)
            breaches.append("%s: not as clang-format writes it (run clang-format -i %s)%s" %
                            (rel, rel, "" if d is True else ": " + d))
    print("files: %d; over 500 lines of code: %d, over %d: %d" %
          (len(sources()), big500, MAX_FILE, big600))
    print("functions over 60 lines: %d, over %d: %d" % (long60, MAX_FUNCTION, long80))
    print("clang-format differs: %d" % len(unformatted))
    print("int functions returning other than 0/-1: %d" % len(off))
    if report:
        for o in off:
            print("  off convention: " + o)
        for b in breaches:
            print("  " + b)
        return 0
    for b in breaches:
        print("gate: " + b, file=sys.stderr)
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
