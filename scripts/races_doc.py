#!/usr/bin/env python3
"""races_doc.py - assemble docs/races.md from the race lab's chapters, with real output.

`make races-doc` runs it after building every race program (normal and TSan
builds).  Input: docs/races/chapters/00_intro.md, then every rNN*.md in name
order, then 99_results.md.  Each of these lines, alone on its line, is replaced:

  <!-- run: PROG FLAGS... -->
      by a fenced block: the command line and its real output (stdout and
      stderr) from BIN/PROG, the normal (gcc -O2) build.
  <!-- tsan: PROG FLAGS... -->
      by a fenced block: the first ThreadSanitizer report that BIN/tsan/PROG
      (the -fsanitize=thread build) prints when run with FLAGS (up to 3 tries),
      trimmed for a
      student: pids, thread ids, addresses, build ids and absolute paths
      removed; each stack cut after its first frame in the race program itself
      (the frames below are the lab's harness and main()).
  <!-- picture: NAME [x=steps] PROG FLAGS... -->
      by a timeline picture: BIN/PROG FLAGS --trace-data writes the window
      of a real run (docs/races/img/NAME.tsv), scripts/races_plot.gp draws it
      (docs/races/img/NAME.png), and docs/races/img/NAME.sha256 records the
      hashes of the data, the plot script and the picture, so that
      `races_doc.py --check-pictures` (make races-check) finds a picture that
      is missing or was not made from the data beside it.
  <!-- counts -->
      by the table `make races-count` wrote (--counts FILE), or a note saying
      to run it.
  <!-- machine -->
      by one line: when and where the output was produced (CPU, cores, load).

PROG is a program's name (docs/races/PROG.c).  The marker stays in the output
as an HTML comment above its block, so the chapter text remains the only
source: edit the chapters, never docs/races.md.
"""

import argparse
import datetime
import os
import re
import shlex
import subprocess
import sys

MARKER = re.compile(r"^<!--\s*(run|tsan|counts|machine|picture)\s*:?\s*(.*?)\s*-->\s*$")
IMG_DIR = "docs/races/img"
PLOT = "scripts/races_plot.gp"
import hashlib


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def picture_stamp(name):
    tsv, png = os.path.join(IMG_DIR, name + ".tsv"), os.path.join(IMG_DIR, name + ".png")
    return "%s  %s\n%s  %s\n%s  %s\n" % (sha(tsv), tsv, sha(PLOT), PLOT, sha(png), png)


def make_picture(name, binary, args, title, xs="time"):
    os.makedirs(IMG_DIR, exist_ok=True)
    tsv, png = os.path.join(IMG_DIR, name + ".tsv"), os.path.join(IMG_DIR, name + ".png")
    for _ in range(3):  # a run whose window shows no mark is retried
        status, text = run_program(binary, args + ["--runs", "1", "--quiet", "--trace-data", tsv])
        if status is None:
            sys.exit("races-doc: %s timed out" % binary)
        with open(tsv) as f:
            if any(l.split("\t")[5] == "1" for l in f if not l.startswith("#")):
                break
    title = title.replace("'", "")
    subprocess.run(["gnuplot", "-e", "data='%s'; out='%s'; ttl='%s'; xs='%s'" % (tsv, png, title, xs), PLOT],
                   check=True)
    with open(os.path.join(IMG_DIR, name + ".sha256"), "w") as f:
        f.write(picture_stamp(name))
    return png


def check_pictures(chapters):
    """Every picture marker's files exist and match their recorded hashes."""
    bad = 0
    for name in sorted(os.listdir(chapters)):
        if not name.endswith(".md"):
            continue
        with open(os.path.join(chapters, name)) as f:
            for line in f:
                m = MARKER.match(line)
                if not m or m.group(1) != "picture":
                    continue
                pic = shlex.split(m.group(2))[0]
                stamp = os.path.join(IMG_DIR, pic + ".sha256")
                try:
                    with open(stamp) as s:
                        recorded = s.read()
                    fresh = picture_stamp(pic)
                except OSError as e:
                    print("  FAIL  picture %s: %s" % (pic, e))
                    bad += 1
                    continue
                if recorded != fresh:
                    print("  FAIL  picture %s: its data, the plot script or the picture changed since "
                          "make races-doc drew it (%s)" % (pic, stamp))
                    bad += 1
                else:
                    print("  ok    picture %s: drawn by make races-doc from %s/%s.tsv" % (pic, IMG_DIR, pic))
    return bad
TIMEOUT_S = 120
TSAN_ATTEMPTS = 3
FAILURES = []


def fence(command, text):
    body = text.rstrip("\n")
    return "```\n$ %s\n%s\n```\n" % (command, body)


def run_program(path, args, env=None):
    try:
        proc = subprocess.run([path] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env=env, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return None, "(timed out after %d s)" % TIMEOUT_S
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def clean_tsan_line(line):
    line = re.sub(r" \(pid=\d+\)", "", line)
    line = re.sub(r"\(tid=\d+, ", "(", line)
    line = re.sub(r" \(BuildId: [0-9a-f]+\)", "", line)
    line = re.sub(r" \([^()\s]+\+0x[0-9a-f]+\)", "", line)      # (prog+0x1234)
    line = re.sub(r" \(zero \(deleted\)\+0x[0-9a-f]+\)", "", line)  # anonymous shared mapping
    line = re.sub(r" at 0x[0-9a-f]+", "", line)                    # addresses
    line = re.sub(r"\S*/((?:docs|include|src|stress|tests)/)", r"\1", line)  # absolute paths
    return line


def trim_tsan(stderr_text):
    """The first TSan report, cleaned and with stacks cut short."""
    lines = stderr_text.splitlines()
    start = next((i for i, l in enumerate(lines) if "WARNING: ThreadSanitizer" in l), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("==================")),
               len(lines))
    out, cutting = [], False
    for raw in lines[start:end]:
        line = clean_tsan_line(raw)
        frame = re.match(r"\s+#\d+ ", line)
        if not frame:
            cutting = False
            out.append(line)
            continue
        if cutting:
            continue
        out.append(line)
        # Stop the stack at the first frame inside the race program (docs/races/rNN_*.c).
        if re.search(r"docs/races/r\d+\w*\.c:", line):
            cutting = True
    # Collapse runs of blank lines.
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(out).strip("\n"))
    return text


def machine_line():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return ("Output produced by `make races-doc` on %s: %s, %d CPUs, load average %.1f when it "
            "started.\n" % (when, cpu, os.cpu_count() or 0, load))


def expand(path, bindir, counts):
    out = []
    with open(path) as f:
        for line in f:
            m = MARKER.match(line)
            if not m:
                out.append(line)
                continue
            kind, rest = m.group(1), m.group(2)
            out.append(line if line.endswith("\n") else line + "\n")
            if kind == "machine":
                out.append(machine_line())
                continue
            if kind == "picture":
                words = shlex.split(rest)
                name, xs = words[0], "time"
                if words[1].startswith("x="):  # x=steps: the x axis is the steps' order
                    xs, words = words[1][2:], words[1:]
                prog, args = words[1], words[2:]
                binary = os.path.join(bindir, prog)
                png = make_picture(name, binary, args, "%s %s" % (prog, " ".join(args)), xs)
                out.append("\n![%s: a timeline of a real run](%s)\n" % (name, os.path.relpath(png, "docs")))
                continue
            if kind == "counts":
                if counts and os.path.exists(counts):
                    with open(counts) as c:
                        out.append(c.read())
                else:
                    out.append("*(no counts yet: run `make races-count`, then `make races-doc`)*\n")
                continue
            words = shlex.split(rest)
            if not words:
                sys.exit("%s: empty %s marker" % (path, kind))
            prog, args = words[0], words[1:]
            binary = os.path.join(bindir, prog) if kind == "run" else os.path.join(bindir, "tsan", prog)
            if not os.path.exists(binary):
                print("races-doc: %s: %s is not built" % (path, binary), file=sys.stderr)
                FAILURES.append(path)
                out.append("*(%s was not built when this page was generated)*\n" % prog)
                continue
            if kind == "run":
                status, text = run_program(binary, args)
                if status is None:
                    sys.exit("%s: %s %s timed out" % (path, prog, rest))
                cmd = " ".join([prog] + args)
                if status != 0:
                    text += "(exit status %d%s)\n" % (status, ": a wrong result was seen" if status == 1 else "")
                out.append(fence(cmd, text))
            else:
                env = dict(os.environ)
                env["TSAN_OPTIONS"] = "exitcode=66 halt_on_error=0 die_after_fork=0 " + env.get("TSAN_OPTIONS", "")
                # A race that needs an unlucky interleaving may not happen in every
                # run, and TSan only reports what happened: try a few times.
                report = None
                for _ in range(TSAN_ATTEMPTS):
                    status, text = run_program(binary, args, env)
                    report = trim_tsan(text or "")
                    if report is not None:
                        break
                if report is None:
                    print("races-doc: %s: tsan/%s %s: no report in %d runs" % (path, prog, " ".join(args), TSAN_ATTEMPTS),
                          file=sys.stderr)
                    FAILURES.append(path)
                    report = "(no ThreadSanitizer report in %d runs)" % TSAN_ATTEMPTS
                cmd = "tsan/%s %s   # the -fsanitize=thread build" % (prog, " ".join(args))
                out.append(fence(cmd, report))
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/races", help="directory of the built race programs (tsan/ below it)")
    ap.add_argument("--chapters", default="docs/races/chapters")
    ap.add_argument("--counts", default=None, help="markdown table written by make races-count")
    ap.add_argument("-o", "--output", default="docs/races.md")
    ap.add_argument("--check-pictures", action="store_true",
                    help="only check that every picture exists and matches its data")
    opts = ap.parse_args()
    if opts.check_pictures:
        sys.exit(1 if check_pictures(opts.chapters) else 0)

    names = sorted(n for n in os.listdir(opts.chapters) if n.endswith(".md"))
    intro = [n for n in names if n.startswith("00")]
    races = [n for n in names if re.match(r"r\d+", n)]
    outro = [n for n in names if n.startswith("99")]  # the results, after the chapters
    parts = ["<!-- Generated by scripts/races_doc.py (make races-doc) from docs/races/chapters/. "
             "Do not edit: edit the chapters. -->\n\n"]
    for name in intro + races + outro:
        print("races-doc: %s" % name, flush=True)
        parts.append(expand(os.path.join(opts.chapters, name), opts.bin, opts.counts).rstrip("\n") + "\n\n")
    text = "".join(parts).rstrip("\n") + "\n"
    with open(opts.output, "w") as f:
        f.write(text)
    print("races-doc: wrote %s (%d chapters)" % (opts.output, len(intro) + len(races) + len(outro)))
    if FAILURES:
        sys.exit("races-doc: %d marker(s) failed (program not built, or no TSan report): %s"
                 % (len(FAILURES), ", ".join(FAILURES)))


if __name__ == "__main__":
    main()
