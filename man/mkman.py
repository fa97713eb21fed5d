#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mkman.py - manual pages (section 3) from the kernel-doc comments of weft's headers.

    man/mkman.py -o OUTDIR [--check] include/weft/*.h

Writes OUTDIR/<function>.3 for every public function: every function a
header declares or defines whose name starts with weft_ (not weft__) and does
not end in _slow (the out-of-line halves of inline calls).  Each page is made
from the /** ... */ comment that names the function ("name() - summary"), in
the kernel-doc form STYLE.md asks for:

    /**
     * weft_x_y() - one-line summary.
     * @arg: what it is.
     *
     * Paragraphs (an indented block is kept as is).
     *
     * Context: ...     Ordering: ...     Return: ...
     */

NAME, SYNOPSIS (the #include and the prototype, as the header spells it,
less weft's attribute macros), DESCRIPTION (the arguments, then the
paragraphs), CONTEXT, ORDERING, RETURN VALUE, SEE ALSO (the other functions
of the same header, and weft(7)-style pointers to docs/).  A public function
without such a comment is reported; with --check (make check-man) it is an
error (exit 1): every public function must have a page.
"""
import argparse
import os
import re
import sys

VERSION_RX = re.compile(r'#define WEFT_VERSION_STRING "([^"]+)"')
DOC_RX = re.compile(r"/\*\*\n(.*?)\*/", re.S)
HEAD_RX = re.compile(r"^\s*(weft_\w+)\(\)\s*-\s*(.*)$")
SECTION_RX = re.compile(r"^(Context|Ordering|Return|Returns|Note|Notes|Example|Errors):\s*(.*)$")
PARAM_RX = re.compile(r"^@(\w+|\.\.\.):\s*(.*)$")
# weft's attribute macros, dropped from the synopsis
ATTR_RX = re.compile(r"\b(WEFT_NODISCARD|WEFT_NOINLINE|WEFT_COLD|WEFT_NOIPA|static inline|inline)\s+")
TSA_RX = re.compile(r"\s*\bWEFT_{1,2}[A-Z_]+\((?:[^()]|\([^()]*\))*\)")
FUNC_DEF_RX = re.compile(r"^(?:[A-Za-z_][\w \*]*?[ \*])?(weft_[a-z]\w*)\(", re.M)

SKIP_HEADERS = {"lockhooks.h", "tsan.h", "chaos.h", "rwlock_bias.h", "weft.h", "config.h"}


def public(name):
    return name.startswith("weft_") and not name.startswith("weft__") and not name.endswith("_slow")


def declarations(text):
    """{name: prototype} for every function declared or defined at file scope."""
    out = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if (line and not line[0].isspace() and not line.startswith(("#", "/*", " *", "}", "typedef", "extern __thread"))
                and not (line.startswith("struct") and "(" not in line)):
            m = FUNC_DEF_RX.match(line)
            if m and "(" in line and not line.rstrip().endswith("\\"):
                j = i
                proto = line
                while not (proto.rstrip().endswith(";") or proto.rstrip().endswith(")")) and j + 1 < len(lines):
                    j += 1
                    proto += "\n" + lines[j]
                if proto.rstrip().endswith(")") or proto.rstrip().endswith(";"):
                    p = proto.strip().rstrip(";").strip()
                    p = TSA_RX.sub("", p)
                    p = ATTR_RX.sub("", p)
                    p = re.sub(r"\s*\n\s*", " ", p)
                    out.setdefault(m.group(1), p + ";")
                i = j
        i += 1
    return out


def parse_doc(body):
    """The kernel-doc comment's parts."""
    lines = []
    for l in body.split("\n"):
        l = re.sub(r"^\s?\*( ?)", "", l.rstrip())
        lines.append(l)
    while lines and not lines[-1].strip():
        lines.pop()
    m = HEAD_RX.match(lines[0]) if lines else None
    if not m:
        return None
    name, summary = m.group(1), m.group(2)
    i = 1
    # the summary may continue until a blank line or the first @param
    while i < len(lines) and lines[i].strip() and not lines[i].startswith("@"):
        summary += " " + lines[i].strip()
        i += 1
    params = []
    while i < len(lines) and lines[i].startswith("@"):
        pm = PARAM_RX.match(lines[i])
        if pm:
            params.append([pm.group(1), pm.group(2)])
        elif params:
            params[-1][1] += " " + lines[i]
        i += 1
        while i < len(lines) and lines[i].strip() and not lines[i].startswith("@") and params:
            if SECTION_RX.match(lines[i]):
                break
            params[-1][1] += " " + lines[i].strip()
            i += 1
    # paragraphs, and the named sections
    sections = {"": []}
    current = ""
    for l in lines[i:]:
        sm = SECTION_RX.match(l)
        if sm:
            current = sm.group(1)
            if current == "Returns":
                current = "Return"
            sections.setdefault(current, [])
            if sections[current]:
                sections[current].append("")
            sections[current].append(sm.group(2))
        else:
            sections.setdefault(current, []).append(l)
    return name, summary, params, sections


def esc(text):
    """Plain text for groff: backslashes, and a leading dot or quote."""
    text = text.replace("\\", "\\e")
    text = text.replace("\t", "        ")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def inline(text):
    """Kernel-doc inline markup: @arg in italics, name() in bold."""
    text = esc(text)
    text = re.sub(r"@(\w+)", r"\\fI\1\\fP", text)
    text = re.sub(r"\b(weft_\w+)\(\)", r"\\fB\1\\fP()", text)
    return text


def paragraphs(lines):
    """Paragraphs (blank-line separated); indented lines are kept as is."""
    out = []
    block = []
    verbatim = []

    def flush():
        if block:
            out.append(".PP")
            out.extend(inline(b.strip()) for b in block)
            block.clear()
        if verbatim:
            out.append(".PP")
            out.append(".nf")
            out.append(".RS 4")
            out.extend(esc(v) if v.strip() else "" for v in verbatim)
            out.append(".RE")
            out.append(".fi")
            verbatim.clear()

    for l in lines:
        if not l.strip():
            flush()
        elif l.startswith(("  ", "\t")):
            if block:
                flush()
            verbatim.append(l)
        else:
            if verbatim:
                flush()
            block.append(l)
    flush()
    # an empty .nf line inside a block is fine; drop a leading .PP
    if out and out[0] == ".PP":
        out = out[1:]
    return out


def page(name, summary, params, sections, proto, header, siblings, version, date):
    out = []
    out.append('.\\" Generated by man/mkman.py from include/weft/%s; do not edit.' % header)
    out.append('.TH %s 3 "" "weft %s" "weft manual"' % (name.upper(), version))
    out.append(".nh")  # no hyphenation: function names stay whole
    out.append(".SH NAME")
    out.append("%s \\- %s" % (name.replace("_", "_"), inline(summary.rstrip("."))))
    out.append(".SH SYNOPSIS")
    out.append(".nf")
    out.append(".B #include <weft/%s>" % header)
    out.append(".PP")
    out.append(esc(proto))
    out.append(".fi")
    out.append(".PP")
    out.append("Link with \\fI\\-lweft \\-pthread\\fP (or use \\fIpkg\\-config weft\\fP).")
    out.append(".SH DESCRIPTION")
    if params:
        for p, d in params:
            out.append(".TP")
            out.append(".I %s" % p)
            out.append(inline(d.strip()))
        if sections.get("", []) and any(s.strip() for s in sections[""]):
            out.append(".PP")
    body = paragraphs(sections.get("", []))
    if body:
        out.extend(body)
    elif not params:
        out.append(inline(summary))
    for key, title in (("Context", "CONTEXT"), ("Ordering", "MEMORY ORDERING"), ("Return", "RETURN VALUE"),
                       ("Note", "NOTES"), ("Notes", "NOTES"), ("Errors", "ERRORS"), ("Example", "EXAMPLE")):
        if key in sections:
            out.append(".SH %s" % title)
            out.extend(paragraphs(sections[key]))
    out.append(".SH SEE ALSO")
    refs = ["\\fB%s\\fP(3)" % s for s in siblings if s != name]
    out.append(", ".join(refs) + ("." if refs else ""))
    out.append(".PP")
    out.append("The weft documentation, docs/ in the source tree: getting-started.md and one page per primitive.")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--outdir", required=True)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("headers", nargs="+")
    args = ap.parse_args()
    version = "?"
    for h in args.headers:
        if os.path.basename(h) == "config.h":
            m = VERSION_RX.search(open(h).read())
            if m:
                version = m.group(1)
    date = None  # no date on the pages: the same bytes from every build
    os.makedirs(args.outdir, exist_ok=True)
    missing = []
    written = []
    decls = {}  # name -> {header: prototype}
    docs = {}   # name -> (header, parsed comment)
    for h in sorted(args.headers):
        base = os.path.basename(h)
        if base in SKIP_HEADERS or not base.endswith(".h"):
            continue
        text = open(h).read()
        for n, p in declarations(text).items():
            if public(n):
                decls.setdefault(n, {})[base] = p
        for m in DOC_RX.finditer(text):
            d = parse_doc(m.group(1))
            if d and public(d[0]):
                docs.setdefault(d[0], (base, d))
    # a function declared in several headers (brlock.h repeats rwlock.h's
    # weft_rwlock_set_spin()) gets one page, under the header that documents it
    home = {}
    for n, where in decls.items():
        if n in docs and docs[n][0] in where:
            home[n] = docs[n][0]
        else:
            home[n] = sorted(where)[0]
    by_header = {}
    for n, h in home.items():
        by_header.setdefault(h, []).append(n)
    for n in sorted(decls):
        h = home[n]
        if n not in docs:
            missing.append("include/weft/%s: %s()" % (h, n))
            continue
        name, summary, params, sections = docs[n][1]
        with open(os.path.join(args.outdir, n + ".3"), "w") as f:
            f.write(page(name, summary, params, sections, decls[n][h], h, sorted(by_header[h]), version, date))
        written.append(n)
    for m in missing:
        print("mkman: no kernel-doc comment for %s" % m, file=sys.stderr)
    if args.check or missing:
        print("mkman: %d pages written, %d public functions without a comment" % (len(written), len(missing)))
    return 1 if missing and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
