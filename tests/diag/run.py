#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make check-diagnostics (mk/cxx.mk): the compiler checks of issue 17.

right.c / right.cpp must compile without a warning under -Wall -Wextra
-Werror with gcc and clang (clang also -Wthread-safety).  wrong.c /
wrong.cpp must draw, from each compiler, exactly the warnings their
"expect <compilers>: <regex>" comments announce, on those lines, and no
other: clang's thread-safety analysis (an unlock of a lock not held, the
pthread trylock idiom inverted, a lock held at return, the wrong side of a
rwlock, a condition wait without its mutex) and, from both compilers, an
ignored result that reports failure.

Usage: tests/diag/run.py [CC CXX CLANG CLANGXX]
"""
import os
import re
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
cc, cxx, clang, clangxx = (sys.argv[1:5] + ["gcc", "g++", "clang", "clang++"][len(sys.argv[1:5]):])
compilers = [  # (family, command, language flags, files)
    ("gcc", cc, ["-std=c11"], "c"),
    ("clang", clang, ["-std=c11", "-Wthread-safety"], "c"),
    ("gcc", cxx, ["-std=c++17"], "cpp"),
    ("clang", clangxx, ["-std=c++17", "-Wthread-safety"], "cpp"),
]
common = ["-I" + os.path.join(root, "include"), "-Wall", "-Wextra", "-c", "-o", os.devnull]
expect_rx = re.compile(r"(?://|/\*)\s*expect ([a-z ]+):\s*(.*?)\s*(?:\*/)?$")
diag_rx = re.compile(r"^([^:\s]+):(\d+):\d+: (?:warning|error): (.*)$")
failures = 0
checked = 0


def fail(msg):
    global failures
    failures += 1
    print("check-diagnostics: " + msg)


for family, cmd, flags, ext in compilers:
    right = os.path.join(here, "right." + ext)
    wrong = os.path.join(here, "wrong." + ext)
    r = subprocess.run([cmd] + flags + common + ["-Werror", right], capture_output=True, text=True)
    checked += 1
    if r.returncode != 0:
        fail("%s: right.%s does not compile clean:\n%s" % (cmd, ext, r.stderr))
    r = subprocess.run([cmd] + flags + common + [wrong], capture_output=True, text=True)
    got = {}
    for line in r.stderr.splitlines():
        m = diag_rx.match(line)
        if m and os.path.basename(m.group(1)) == "wrong." + ext:
            got.setdefault(int(m.group(2)), []).append(m.group(3))
    want = {}
    with open(wrong) as f:
        for n, text in enumerate(f, 1):
            m = expect_rx.search(text.rstrip("\n"))
            if m and family in m.group(1).split():
                want[n] = m.group(2)
    for n, rx in sorted(want.items()):
        checked += 1
        if not any(re.search(rx, d) for d in got.get(n, [])):
            fail("%s: wrong.%s:%d: expected a warning matching /%s/, got %s" % (cmd, ext, n, rx, got.get(n, "none")))
    for n, ds in sorted(got.items()):
        if n not in want:
            fail("%s: wrong.%s:%d: unexpected: %s" % (cmd, ext, n, "; ".join(ds)))
    print("check-diagnostics: %-8s wrong.%-3s %d expected warnings, %d lines warned" % (cmd, ext, len(want), len(got)))

print("check-diagnostics: %d checks, %d failed" % (checked, failures))
sys.exit(1 if failures else 0)
