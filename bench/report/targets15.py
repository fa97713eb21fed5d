#!/usr/bin/env python3
"""targets15.py - issue 15's targets from one interleaved run (`make bench-targets-15`).

usage: bench/report/targets15.py [--base-label L] [--out F] [--bound-ns N] DIR

DIR holds base.<r>.json and new.<r>.json (targets15.sh): one paired round of
the runner per build and round.  Prints, with 95% bootstrap intervals over the
rounds (stats.py):

 1. scenario C3 at 8 clients: timeouts of weft_mutex (target 0) and pthread,
    summed over the rounds; p99 wait, weft against pthread (target: weft's <=
    pthread's); each client's longest wait (median round);
 2. mutex/contended_cs50_out50 at 4 and 8 threads: the longest wait of the
    worst thread (every operation timed), weft against pthread (target: below
    pthread's) and against the documented bound plus that thread's run-queue
    delay (target: within it, in every round);
 3. contended throughput at 2, 4 and 8 threads, the new build against the base
    build (target: >= 0.9x, the geometric mean over the rows of each thread count).
"""
import argparse
import glob
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results as resultslib  # noqa: E402
import stats  # noqa: E402
from verdict import fmt_val, fmt_ci, table  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def merge(paths):
    """One Results from one paired round per file (round r = the file's number)."""
    out = {'context': {}, 'benchmarks': []}
    loads = []
    for p in paths:
        r = int(re.search(r'\.(\d+)\.json$', p).group(1))
        with open(p) as f:
            data = json.load(f)
        ctx = data.get('context', {})
        out['context'] = out['context'] or dict(ctx)
        loads.append(ctx.get('wb_load_at_start'))
        for b in data.get('benchmarks', []):
            b = dict(b)
            b['wb_round'] = b['repetition_index'] = r
            b['repetitions'] = len(paths)
            out['benchmarks'].append(b)
    res = resultslib.Results(out)
    res.loads = loads
    return res


def documented_bound_ns(override):
    """The mutex's fairness bound: --bound-ns, else WEFT_MUTEX_FAIR_BOUND_NS_DEFAULT in include/weft/mutex.h."""
    if override:
        return float(override), '--bound-ns'
    path = os.path.join(ROOT, 'include', 'weft', 'mutex.h')
    try:
        text = open(path).read()
    except OSError:
        return None, None
    m = re.search(r'#define\s+WEFT_MUTEX_FAIR_BOUND_NS_DEFAULT\s+(.+)', text)
    if not m:
        return None, None
    expr = re.sub(r'(\d+)(?:u|ull|ul|ULL|UL|U)\b', r'\1', m.group(1).split('/*')[0]).strip()
    try:
        return float(eval(expr, {'__builtins__': {}})), 'WEFT_MUTEX_FAIR_BOUND_NS_DEFAULT'
    except Exception:
        return None, None


def vals(res, key, metric):
    return res.rounds.get(key, {}).get(metric, {})


def judge(e, strict):
    """met / tie / missed for a weft-better estimate (> 1: weft better)."""
    if e is None or e.lo is None:
        return 'n/a'
    v = e.verdict()
    if v == 'win':
        return 'MET'
    if v == 'loss':
        return 'MISSED'
    return 'NOT SHOWN (tie: the interval contains 1)' if strict else 'MET (tie: within the noise)'


def per_thread_median(res, key, field):
    """The per-thread values of @field in the round whose worst value is the median one."""
    rounds = [pt for pt in res.per_thread.get(key, []) if isinstance(pt.get(field), list) and pt[field]]
    if not rounds:
        return None
    rounds.sort(key=lambda pt: max(pt[field]))
    return rounds[len(rounds) // 2][field]


def c3_section(new, B):
    out = ['## 1. Scenario C3, 8 clients (a lock held across slow I/O, timed acquires)\n']
    w, p = ('scenario', 'c3_slow_io', 'weft_mutex', 8), ('scenario', 'c3_slow_io', 'pthread', 8)
    if w not in new.rounds or p not in new.rounds:
        return '\n'.join(out + ['Not in this run.\n'])
    tw = vals(new, w, 'timeouts')
    tp = vals(new, p, 'timeouts')
    rows = []
    for k, t in ((w, tw), (p, tp)):
        m = new.med[k]
        cl = per_thread_median(new, k, 'wait_max_ns')
        rows.append(['`%s`' % k[2], '%d' % sum(t.values()), ' '.join('%d' % t[r] for r in sorted(t)),
                     fmt_val(m.get('wait_p99_ns'), 'ns'), fmt_val(m.get('wait_max_ns'), 'ns'),
                     ', '.join(fmt_val(x, 'ns') for x in cl) if cl else '-'])
    out.append(table(['impl', 'timeouts (all rounds)', 'per round', 'p99 wait (median)', 'longest wait (median)',
                      'each client\'s longest wait (median round)'], rows))
    e = stats.row_estimate(stats.paired_logs(vals(new, w, 'wait_p99_ns'), vals(new, p, 'wait_p99_ns'), True),
                           'c3|p99', B)
    out.append('- 0 timeouts for weft_mutex: **%s** (%d in %d rounds)' % (
        'MET' if sum(tw.values()) == 0 else 'MISSED', sum(tw.values()), len(tw)))
    out.append('- p99 wait <= pthread\'s: pthread/weft = %s %s: **%s**\n' % (
        '%.2f' % e.ratio if e else '-', fmt_ci(e), judge(e, strict=False)))
    return '\n'.join(out)


def fairness_section(new, B, bound, bound_src):
    out = ['## 2. Longest wait, mutex/contended_cs50_out50 at 4 and 8 threads\n',
           'The longest time one thread spent on one lock operation (wait included; every operation '
           'timed), of the worst thread, and that thread\'s run-queue delay over the window (schedstat: an '
           'upper bound on the part of the wait the scheduler explains).  Bound: %s.\n'
           % ('%s (%s)' % (fmt_val(bound, 'ns'), bound_src) if bound else
              'unknown (no WEFT_MUTEX_FAIR_BOUND_NS_DEFAULT in include/weft/mutex.h; give --bound-ns)')]
    rows, lines = [], []
    for n in (4, 8):
        w = ('mutex', 'contended_cs50_out50', 'weft_mutex', n)
        p = ('mutex', 'contended_cs50_out50', 'pthread', n)
        if w not in new.rounds or p not in new.rounds:
            lines.append('- @%d: not in this run' % n)
            continue
        lw, lp = vals(new, w, 'longest_wait_ns'), vals(new, p, 'longest_wait_ns')
        rq = vals(new, w, 'longest_wait_runq_ns')
        e = stats.row_estimate(stats.paired_logs(lw, lp, True), 'fair|%d' % n, B)
        within = [r for r in lw if bound is not None and lw[r] <= bound + rq.get(r, 0)]
        rows.append(['@%d' % n, fmt_val(statistics.median(lw.values()), 'ns'),
                     fmt_val(statistics.median(rq.values()), 'ns') if rq else '-',
                     fmt_val(statistics.median(lp.values()), 'ns'),
                     '%.2f %s' % (e.ratio, fmt_ci(e)) if e else '-',
                     '%d of %d' % (len(within), len(lw)) if bound is not None else '-'])
        lines.append('- @%d below pthread\'s: **%s**; within the bound + run-queue delay in every round: **%s**'
                     % (n, judge(e, strict=True),
                        'n/a (bound unknown)' if bound is None else
                        'MET' if len(within) == len(lw) else 'MISSED (%d of %d rounds)' % (len(within), len(lw))))
    out.append(table(['threads', 'weft longest wait (median)', 'its run-queue delay (median)',
                      'pthread longest wait (median)', 'pthread/weft [95%]', 'rounds within bound + runq'], rows))
    out.append('\n'.join(lines) + '\n')
    return '\n'.join(out)


def throughput_section(base, new, B):
    out = ['## 3. Contended throughput, new build against the base build (target >= 0.9x)\n']
    by_n = {}
    rows = []
    for key in sorted(set(base.rounds) & set(new.rounds)):
        if key[0] != 'mutex' or key[2] != 'weft_mutex':
            continue
        e = stats.row_estimate(stats.paired_logs(vals(new, key, 'items_per_second'),
                                                 vals(base, key, 'items_per_second')), 'tput|%s' % (key,), B)
        if not e:
            continue
        by_n.setdefault(key[3], []).append(e)
        rows.append(['%s @%d' % (key[1], key[3]), fmt_val(base.med[key].get('items_per_second'), ''),
                     fmt_val(new.med[key].get('items_per_second'), ''), '%.3f' % e.ratio, fmt_ci(e)])
    out.append(table(['row', 'base ops/s', 'new ops/s', 'new/base', '95% interval'], rows))
    for n in sorted(by_n):
        c = stats.cell_estimate(by_n[n])
        if c is None:
            continue
        v = 'MET' if c.lo >= 0.9 else 'MISSED' if c.hi < 0.9 else 'UNCLEAR (the interval contains 0.9)'
        out.append('- @%d threads: geometric mean over %d rows %.3f %s: **%s**' % (n, len(by_n[n]), c.ratio,
                                                                                   fmt_ci(c), v))
    return '\n'.join(out) + '\n'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--base-label', default='base')
    ap.add_argument('--out', default=None)
    ap.add_argument('--bound-ns', default=os.environ.get('TARGETS15_BOUND_NS'))
    ap.add_argument('--B', type=int, default=stats.B_DEFAULT)
    ap.add_argument('dir')
    a = ap.parse_args()
    base = merge(sorted(glob.glob(os.path.join(a.dir, 'base.*.json'))))
    new = merge(sorted(glob.glob(os.path.join(a.dir, 'new.*.json'))))
    bound, src = documented_bound_ns(a.bound_ns)
    loads = [x for x in new.loads + base.loads if x is not None]
    text = ('# Issue 15 targets\n\nOne interleaved run: %d rounds (base and new alternate which runs first); '
            'base: %s; new: the working tree.  Load average at the start of each run: %s on %d CPUs%s.\n\n'
            % (new.reps, a.base_label, ' '.join('%.2f' % float(x) for x in loads) or '?', new.cpus,
               ' -- MORE THAN HALF THE CPUS BUSY: the numbers measure the neighbours too'
               if loads and max(float(x) for x in loads) > new.cpus / 2.0 else ''))
    text += c3_section(new, a.B) + '\n' + fairness_section(new, a.B, bound, src) + '\n' + \
        throughput_section(base, new, a.B)
    sys.stdout.write(text)
    if a.out:
        with open(a.out, 'w') as f:
            f.write(text)
        print('bench-targets-15: wrote %s' % a.out, file=sys.stderr)


if __name__ == '__main__':
    main()
