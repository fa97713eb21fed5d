#!/usr/bin/env python3
"""bench_check_calls.py - no indirect call inside a measured loop.

Disassembles the benchmark objects (objdump -d) and, in every function, finds
the instructions that lie on a cycle of its control-flow graph (its loops,
reducible or not).  An indirect call ("call *...") on a cycle fails the check.
Indirect calls outside loops (a body's setup, the runner calling a body once)
are fine.  A function whose name contains "unmeasured" is skipped: teardown
code that runs a library's own loops (a C++ destructor calling virtual
destructors) and is never timed says so in its name.

usage: bench/check_calls.py OBJ...      exit 1 if any loop calls through a pointer
"""
import re
import subprocess
import sys

FUNC = re.compile(r'^[0-9a-f]+ <(.+)>:$')
TARGET = re.compile(r'^([0-9a-f]+) <')

# The runner (shim.cc, main.cc) calls each body once through a pointer; it is
# not a measured loop.
SKIP_OBJS = ('shim.o', 'main.o')


def functions(obj):
    out = subprocess.run(['objdump', '-d', '--no-show-raw-insn', obj], check=True,
                         capture_output=True, text=True).stdout
    name, insns = None, []
    for line in out.splitlines():
        m = FUNC.match(line)
        if m:
            if name:
                yield name, insns
            name, insns = m.group(1), []
            continue
        m = re.match(r'^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$', line)
        if m and name:
            insns.append((int(m.group(1), 16), m.group(2), m.group(3)))
    if name:
        yield name, insns


def loop_members(insns):
    """Addresses of the instructions that lie on a cycle of the function's
    control-flow graph (the nontrivial strongly connected components: an
    instruction that can execute again without leaving the function)."""
    index = {a: i for i, (a, _, _) in enumerate(insns)}
    succs = {a: [] for a, _, _ in insns}
    for i, (addr, op, args) in enumerate(insns):
        t = TARGET.match(args.strip()) if op.startswith('j') else None
        if t and int(t.group(1), 16) in index:
            succs[addr].append(int(t.group(1), 16))
        falls = not (op.startswith('jmp') or op.startswith('ret') or op.startswith('ud2'))
        if falls and i + 1 < len(insns):
            succs[addr].append(insns[i + 1][0])
    # Tarjan's strongly connected components, iteratively
    num, low, on, stack, members = {}, {}, set(), [], set()
    counter = 0
    for root, _, _ in insns:
        if root in num:
            continue
        work = [(root, iter(succs[root]))]
        num[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in num:
                    num[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(succs[nxt])))
                elif nxt in on:
                    low[node] = min(low[node], num[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == num[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1 or node in succs[node]:
                    members.update(comp)
    return members


def check(obj):
    bad = []
    for name, insns in functions(obj):
        if 'unmeasured' in name:
            continue
        members = None
        for addr, op, args in insns:
            if op.startswith('call') and args.strip().startswith('*'):
                if members is None:
                    members = loop_members(insns)
                if addr in members:
                    bad.append('%s: %s+0x%x: %s %s' % (obj, name, addr, op, args.strip()))
    return bad


def main(argv):
    objs = [o for o in argv[1:] if not o.endswith(SKIP_OBJS)]
    bad = []
    for o in objs:
        bad += check(o)
    for b in bad:
        print('indirect call in a loop:', b)
    if bad:
        print('bench_check_calls: %d indirect call(s) inside loops of benchmark bodies' % len(bad))
        return 1
    print('bench_check_calls: %d objects, no indirect call inside a loop' % len(objs))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
