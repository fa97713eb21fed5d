#!/usr/bin/env python3
"""report.py - docs/benchmarks.md from a Google Benchmark JSON run (stdlib only).

usage: bench/report/report.py [--results build/bench/results.json] [--machine build/bench/machine.json]
                              [--out docs/benchmarks.md] [--img docs/img] [--no-charts]

Reads the paired rounds of one `make bench` run (bench/report/results.py, the
loader shared with claims.py, fill_numbers.py and verdict.py) and writes: the
machine fingerprint; the noise floor (A/A row) and the class verdicts with
their bootstrap intervals, every row weft loses, collapse flags, starvation
and the workloads measured in their own units (verdict.py); the peers'
configuration and its sources; the targets of the issues (targets.py); per
family and workload, tables of medians, ratios of every weft_* row against
every other implementation at the same thread count, fairness and wait
percentiles, the other counters; charts drawn by gnuplot into docs/img/*.png
(weft's lines thick, one colour per line, min-max error bars over the
rounds, the machine in the title).

Row names: <family>/<workload>/<impl>/real_time/threads:N.  Workloads named
<prefix>_sweep_<N> or <prefix>_spin<N> are shown together as one sweep.
"""
import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targets import TARGETS  # noqa: E402
import peers  # noqa: E402
import results as resultslib  # noqa: E402
import verdict  # noqa: E402

FAMILY_ORDER = ['spin', 'mutex', 'rwlock', 'cond', 'sem', 'once', 'barrier', 'counter', 'mpmc', 'pool', 'scenario']
# Columns shown in their own tables; every other counter goes to "other counters".
KNOWN = {'items_per_second', 'ns_per_op', 'fair_max_min', 'fair_cv', 'cpu_ns_per_op'}
# Workloads that also get fairness and wait-percentile charts.
DETAIL_CHARTS = re.compile(r'^(contended_cs50_out50|contended_cs500_out50|reads99|writer_wait|pair|pingpong|'
                           r'broadcast8|c3_slow_io|inc|prodcons)$')
SWEEP = re.compile(r'^(.+?_(?:sweep|spin))_?(\d+)$')


# ---- loading ----------------------------------------------------------------

parse_name = resultslib.parse_name


def load(path):
    """(context, medians, spread, repetitions) through the shared loader."""
    r = resultslib.load(path)
    return r.context, r.med, r.spread, r.reps


# ---- formatting -------------------------------------------------------------

def fmt_num(v, unit=''):
    if v is None or (isinstance(v, float) and (math.isnan(v) or math.isinf(v))):
        return '-'
    a = abs(v)
    for div, suf in ((1e9, 'G'), (1e6, 'M'), (1e3, 'k')):
        if a >= div:
            return '%.3g%s%s' % (v / div, suf, unit)
    return '%.3g%s' % (v, unit)


def fmt_ns(v):
    if v is None:
        return '-'
    if v >= 1e9:
        return '%.3g s' % (v / 1e9)
    if v >= 1e6:
        return '%.3g ms' % (v / 1e6)
    if v >= 1e3:
        return '%.3g us' % (v / 1e3)
    return '%.3g ns' % v


def fmt_ratio(v):
    """A raw ratio (targets, templates), capped in display at 100x either way."""
    if v is None:
        return '-'
    if v >= verdict.CAP:
        return '>= %.0fx' % verdict.CAP
    if v <= 1.0 / verdict.CAP:
        return '<= %.2gx' % (1.0 / verdict.CAP)
    if v >= 10:
        return '%.1fx' % v
    return '%.2fx' % v


table = resultslib.table  # one markdown table writer for every page (results.py)


def impl_order(impls):
    def k(i):
        return (0 if i.startswith('weft_') else 2 if i == 'limit' else 1, i)
    return sorted(impls, key=k)


def workload_order(w):
    if w == 'uncontended':
        return (0, 0, 0, w)
    m = re.match(r'contended_cs(\d+)_out(\d+)$', w)
    if m:
        return (1, int(m.group(1)), int(m.group(2)), w)
    if w == 'handoff':
        return (2, 0, 0, w)
    return (3, 0, 0, w)


# ---- targets ----------------------------------------------------------------

def lookup(med, spec):
    m = re.match(r'^(.+)@(\d+):(\w+)$', spec)
    if not m:
        raise ValueError('bad target spec: ' + spec)
    key = parse_name(m.group(1) + '/threads:' + m.group(2))
    return med.get(key, {}).get(m.group(3))


def targets_section(med, res=None):
    """Each target on the paired rounds: geometric-mean ratio, 95% interval, met/undecided/missed."""
    import stats
    rows = []
    counts = {'met': 0, 'undecided': 0, 'missed': 0, 'no data': 0}
    for t in TARGETS:
        num = lookup(med, t['num'])
        den = lookup(med, t['den']) if t['den'] else 1.0
        if num is None or den is None or den == 0:
            rows.append([str(t['issue']), t['text'], '-', '-', '%s %g' % (t['op'], t['bound']), 'no data'])
            counts['no data'] += 1
            continue
        lo = hi = None
        if res is not None:
            def rounds(spec):
                m = re.match(r'^(.+)@(\d+):(\w+)$', spec)
                return res.rounds.get(parse_name(m.group(1) + '/threads:' + m.group(2)), {}).get(m.group(3), {})
            a = rounds(t['num'])
            b = rounds(t['den']) if t['den'] else {r: 1.0 for r in a}
            est = stats.row_estimate(stats.paired_logs(a, b), 'target|%s|%s' % (t['num'], t['den']))
            if est and est.n >= 2:
                v, lo, hi = est.ratio, est.lo, est.hi
            else:
                v = num / den
        else:
            v = num / den
        if lo is None:
            ok = v <= t['bound'] if t['op'] == '<=' else v >= t['bound']
            verdict = 'met' if ok else 'missed'
        elif t['op'] == '<=':
            verdict = 'met' if hi <= t['bound'] else 'missed' if lo > t['bound'] else 'undecided'
        else:
            verdict = 'met' if lo >= t['bound'] else 'missed' if hi < t['bound'] else 'undecided'
        counts[verdict] += 1
        fmt = fmt_ratio if t['den'] else (lambda x: '%.3g' % x)
        rows.append([str(t['issue']), t['text'], fmt(v), '[%s, %s]' % (fmt(lo), fmt(hi)) if lo is not None else '-',
                     '%s %g' % (t['op'], t['bound']), '**%s**' % verdict])
    out = ['## Targets\n',
           'Each target of the issues (listed in `bench/report/targets.py`), read on the paired rounds of this '
           'run: the geometric mean of the ratio over the rounds and its 95%% bootstrap interval; **met** only '
           'when the whole interval satisfies the bound, **missed** when none of it does, **undecided** '
           'otherwise: %d met, %d undecided, %d missed, %d without data. Costs compare `ns_per_op` (lower is '
           'better), throughputs `items_per_second` (higher is better).\n'
           % (counts['met'], counts['undecided'], counts['missed'], counts['no data']),
           table(['issue', 'target', 'measured', '95% interval', 'required', ''], rows)]
    return '\n'.join(out)


# ---- summary ------------------------------------------------------------------

def primitive_name(family, impl):
    """The weft primitive a row measures, or None for a peer or a limit row."""
    if impl == 'weft':          # the mpmc family names its only weft row plainly
        return 'weft_mpmc'
    if impl.startswith('weft_'):
        return impl
    return None


def target_impl(t):
    m = re.match(r'^[^/]+/[^@]+/([^@/]+)@', t['num'])
    return primitive_name('', m.group(1)) if m else None


class Charts:
    def __init__(self, img_dir, enabled):
        self.img_dir = img_dir
        self.jobs = []  # (file, title, xlabel, ylabel, logx, series: [(label, [(x, y)])])
        self.enabled = enabled and shutil.which('gnuplot') is not None
        self.terminal = None
        if self.enabled:
            for term in ('pngcairo noenhanced size 800,480 font "sans,10"', 'png noenhanced size 800,480'):
                r = subprocess.run(['gnuplot', '-e', 'set terminal %s' % term], capture_output=True, text=True)
                if r.returncode == 0 and not r.stderr.strip():
                    self.terminal = term
                    break
            self.enabled = self.terminal is not None

    # One colour per line, never repeated within a chart (16 > the most
    # implementations of any family); weft's lines are thicker, with filled points.
    PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
               '#bcbd22', '#17becf', '#000000', '#aec7e8', '#ffbb78', '#98df8a', '#c5b0d5', '#c49c94']
    machine = ''   # "cpu model, N CPUs, date": on every chart
    samples = {}   # results.Results.samples: the rounds behind each point (error bars)

    def add(self, name, title, xlabel, ylabel, series, logx=False, bars=None, lower_is_better=False):
        """bars=(family, workload, metric): min-max over the rounds at each point."""
        if not self.enabled or not series:
            return None
        fname = re.sub(r'[^A-Za-z0-9_.-]+', '_', name) + '.png'
        if bars:
            fam, w, metric = bars
            series = [(label, [(x, y) + self.minmax(fam, w, label, x, metric, y) for x, y in pts])
                      for label, pts in series]
        ylabel += ' (lower is better)' if lower_is_better else ''
        self.jobs.append((fname, title, xlabel, ylabel, logx, series))
        return fname

    def minmax(self, fam, w, impl, n, metric, y):
        vals = self.samples.get((fam, w, impl, n), {}).get(metric, [])
        return (min(vals), max(vals)) if len(vals) > 1 else (y, y)

    def render(self):
        if not self.enabled or not self.jobs:
            return
        os.makedirs(self.img_dir, exist_ok=True)
        script = ['set terminal %s' % self.terminal, 'set key outside right top', 'set grid',
                  'set logscale y', 'set format y "%.0s%c"']
        for n, (fname, title, xlabel, ylabel, logx, series) in enumerate(self.jobs):
            blocks, plots = [], []
            if len(series) > len(self.PALETTE):
                sys.stderr.write('report: %s has %d lines, more than %d colours\n' % (fname, len(series),
                                                                                     len(self.PALETTE)))
            for i, (label, pts) in enumerate(series):
                blocks.append('$d%d_%d << EOD' % (n, i))
                blocks += [' '.join('%g' % v for v in p) for p in pts if p[1] and p[1] > 0]
                blocks.append('EOD')
                weft = str(label).startswith('weft')
                style = 'lw 4 pt 7 ps 1.2' if weft else 'lw 1.5 pt %d ps 0.8 dt 2' % (1 + i % 6)
                colour = self.PALETTE[i % len(self.PALETTE)]
                kind = 'yerrorlines' if pts and len(pts[0]) == 4 else 'linespoints'
                cols = '1:2:3:4' if kind == 'yerrorlines' else '1:2'
                plots.append('$d%d_%d using %s with %s lc rgb "%s" %s title "%s"'
                             % (n, i, cols, kind, colour, style, label))
            script += blocks
            script.append('set output "%s"' % os.path.join(self.img_dir, fname).replace('"', ''))
            script.append('set title "%s%s"' % (title.replace('"', "'"),
                                                ('\\n' + self.machine.replace('"', "'")) if self.machine else ''))
            script.append('set xlabel "%s"; set ylabel "%s"' % (xlabel, ylabel))
            script.append('set logscale x 2' if logx else 'unset logscale x')
            xs = sorted({p[0] for _, pts in series for p in pts})
            if xs and not logx:
                script.append('set xtics (%s)' % ', '.join('"%g" %g' % (x, x) for x in xs))
            elif xs:
                script.append('set xtics (%s)' % ', '.join('"%g" %g' % (x, x) for x in xs if x > 0))
            script.append('plot ' + ', '.join(plots))
            script.append('unset output')
        r = subprocess.run(['gnuplot'], input='\n'.join(script) + '\n', capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write('report: gnuplot failed:\n' + r.stderr)
        # drop charts of earlier runs that this one did not redraw
        keep = {j[0] for j in self.jobs}
        for f in os.listdir(self.img_dir):
            if f.endswith('.png') and f not in keep:
                os.remove(os.path.join(self.img_dir, f))


# ---- family sections --------------------------------------------------------

def section_for(family, med, spread, charts, img_rel):
    keys = [k for k in med if k[0] == family]
    workloads = sorted({k[1] for k in keys}, key=workload_order)
    out = ['## Family `%s`\n' % family]
    impls_all = impl_order({k[2] for k in keys})
    out.append('Implementations: %s.\n' % ', '.join('`%s`' % i for i in impls_all))

    sweeps = {}
    for w in workloads:
        m = SWEEP.match(w)
        if m:
            sweeps.setdefault(m.group(1), []).append((int(m.group(2)), w))
    done = set()
    for w in workloads:
        m = SWEEP.match(w)
        if m:
            if m.group(1) in done:
                continue
            done.add(m.group(1))
            out.append(sweep_section(family, m.group(1), sorted(sweeps[m.group(1)]), med, charts, img_rel))
            continue
        out.append(workload_section(family, w, med, spread, charts, img_rel))
    return '\n'.join(out)


def workload_section(family, w, med, spread, charts, img_rel):
    keys = [k for k in med if k[0] == family and k[1] == w]
    impls = impl_order({k[2] for k in keys})
    threads = sorted({k[3] for k in keys})
    weft = [i for i in impls if i.startswith('weft_')]
    out = ['### %s/%s\n' % (family, w)]

    def get(i, n, metric):
        return med.get((family, w, i, n), {}).get(metric)

    one_thread = threads == [1]
    if one_thread:
        rows = []
        for i in impls:
            rows.append(['`%s`' % i, fmt_ns(get(i, 1, 'ns_per_op')), fmt_num(get(i, 1, 'items_per_second'), '/s')]
                        + ['%s' % verdict.fmt_x(get(i, 1, 'ns_per_op') / get(p, 1, 'ns_per_op'))
                           if get(i, 1, 'ns_per_op') and get(p, 1, 'ns_per_op') and p != i else '-'
                           for p in weft])
        out.append('Cost of one operation (median over the rounds), and how each weft row compares with '
                   'this row (medians; the paired intervals are in the verdict tables above):\n')
        out.append(table(['impl', 'time/op', 'ops/s'] + ['`%s` vs row' % p for p in weft], rows))
    else:
        rows = []
        for i in impls:
            cells = []
            for n in threads:
                v = get(i, n, 'items_per_second')
                s = spread.get((family, w, i, n))
                cells.append(fmt_num(v) + (' (±%.0f%%)' % (100 * s) if v is not None and s is not None else ''))
            rows.append(['`%s`' % i] + cells)
        out.append('Throughput, operations per second summed over threads (median; ± the coefficient of '
                   'variation over the rounds):\n')
        out.append(table(['impl'] + ['%d thr' % n for n in threads], rows))
        # ratios: every weft row against every other impl
        peers = [i for i in impls if not i.startswith('weft_')]
        rrows = []
        for a in weft:
            for b in peers:
                cells = []
                for n in threads:
                    x, y = get(a, n, 'items_per_second'), get(b, n, 'items_per_second')
                    cells.append(verdict.fmt_x(x / y) if x and y else '-')
                if any(c != '-' for c in cells):
                    rrows.append(['`%s` / `%s`' % (a, b)] + cells)
        if rrows:
            out.append('Throughput of each weft row against each other row (medians; losses shown as '
                       '"N x slower", ratios capped at 100x; the paired intervals are in the verdict tables):\n')
            out.append(table(['ratio'] + ['%d thr' % n for n in threads], rrows))
        # fairness, waits and CPU
        has = lambda m: any(get(i, n, m) is not None for i in impls for n in threads)  # noqa: E731
        lat = sorted({m[:-7] for k in keys for m in med[k] if m.endswith('_p99_ns')})
        if has('fair_max_min') or lat or has('cpu_ns_per_op'):
            frows = []
            for i in impls:
                cells = []
                for n in threads:
                    parts = []
                    if get(i, n, 'fair_max_min') is not None and n > 1:
                        parts.append('%.3g / %.2f' % (get(i, n, 'fair_max_min'), get(i, n, 'fair_cv') or 0))
                    for l in lat:
                        if get(i, n, l + '_p99_ns') is not None:
                            parts.append('p99 ' + fmt_ns(get(i, n, l + '_p99_ns')))
                    if get(i, n, 'cpu_ns_per_op') is not None:
                        parts.append('cpu ' + fmt_ns(get(i, n, 'cpu_ns_per_op')))
                    cells.append('<br>'.join(parts) if parts else '-')
                frows.append(['`%s`' % i] + cells)
            what = []
            if has('fair_max_min'):
                what.append('per-thread operations max/min / coefficient of variation')
            if lat:
                what.append('p99 of the sampled %s time' % ', '.join(lat))
            if has('cpu_ns_per_op'):
                what.append('CPU time per operation (all threads)')
            out.append('Fairness and waiting: %s:\n' % '; '.join(what))
            out.append(table(['impl'] + ['%d thr' % n for n in threads], frows))
        if len(threads) > 1:
            series = [(i, [(n, get(i, n, 'items_per_second')) for n in threads
                           if get(i, n, 'items_per_second')]) for i in impls]
            f = charts.add('%s_%s' % (family, w), '%s/%s: throughput' % (family, w), 'threads',
                           'operations per second', series, bars=(family, w, 'items_per_second'))
            if f:
                out.append('![%s/%s throughput against threads](%s/%s)\n' % (family, w, img_rel, f))
            # Fairness and wait percentiles for the headline workloads (every
            # workload's numbers are in the tables above).
            if DETAIL_CHARTS.match(w):
                series = [(i, [(n, get(i, n, 'fair_max_min')) for n in threads
                               if n > 1 and get(i, n, 'fair_max_min')]) for i in impls]
                series = [x for x in series if x[1]]
                f = charts.add('%s_%s_fairness' % (family, w), '%s/%s: fairness' % (family, w), 'threads',
                               'per-thread operations, max/min', series, bars=(family, w, 'fair_max_min'),
                               lower_is_better=True) if series else None
                if f:
                    out.append('![%s/%s fairness against threads](%s/%s)\n' % (family, w, img_rel, f))
                for l in lat:
                    series = [(i, [(n, get(i, n, '%s_p99_ns' % l)) for n in threads
                                   if get(i, n, '%s_p99_ns' % l)]) for i in impls]
                    series = [x for x in series if x[1]]
                    f = charts.add('%s_%s_%s_p99' % (family, w, l),
                                   '%s/%s: p99 of the sampled %s time' % (family, w, l), 'threads',
                                   'nanoseconds', series, bars=(family, w, '%s_p99_ns' % l),
                                   lower_is_better=True) if series else None
                    if f:
                        out.append('![%s/%s %s percentiles against threads](%s/%s)\n'
                                   % (family, w, l, img_rel, f))
    # any other counter
    others = sorted({m for k in keys for m in med[k]} - KNOWN
                    - {m for m in {m for k in keys for m in med[k]} if re.search(r'_p(50|99)_ns$|_max_ns$', m)})
    lat_all = sorted({m for k in keys for m in med[k] if re.search(r'_p50_ns$', m)})
    if others or (lat_all and one_thread):
        orows = []
        for i in impls:
            for n in threads:
                d = med.get((family, w, i, n))
                if not d:
                    continue
                cells = [fmt_num(d.get(m)) if d.get(m) is not None else '-' for m in others]
                for l in lat_all:
                    base = l[:-7]
                    cells.append('%s / %s' % (fmt_ns(d.get(base + '_p50_ns')), fmt_ns(d.get(base + '_p99_ns'))))
                orows.append(['`%s`' % i, str(n)] + cells)
        out.append('Other counters (medians):\n')
        out.append(table(['impl', 'threads'] + others + ['%s p50 / p99' % l[:-7] for l in lat_all], orows))
    return '\n'.join(out)


def sweep_section(family, prefix, variants, med, charts, img_rel):
    impls = impl_order({k[2] for k in med if k[0] == family and k[1] in {w for _, w in variants}})
    out = []
    for impl in impls:
        threads = sorted({k[3] for k in med if k[0] == family and k[2] == impl and k[1] in {w for _, w in variants}})
        out.append('### %s/%s_<N>/%s\n' % (family, prefix, impl))
        out.append('Throughput (median operations per second) for each value of N; fairness max/min and p99 '
                   'wait below each:\n')
        rows = []
        best = {}
        for n in threads:
            vals = [(med.get((family, w, impl, n), {}).get('items_per_second'), x) for x, w in variants]
            vals = [(v, x) for v, x in vals if v]
            if vals:
                best[n] = max(vals)[1]
        for x, w in variants:
            cells = []
            for n in threads:
                d = med.get((family, w, impl, n), {})
                v = d.get('items_per_second')
                c = fmt_num(v) if v else '-'
                if best.get(n) == x:
                    c = '**' + c + '**'
                extra = []
                if d.get('fair_max_min') is not None:
                    extra.append('max/min %.3g' % d['fair_max_min'])
                if d.get('wait_p99_ns') is not None:
                    extra.append('p99 ' + fmt_ns(d['wait_p99_ns']))
                cells.append(c + ('<br>' + ', '.join(extra) if extra else ''))
            rows.append([str(x)] + cells)
        out.append(table(['N'] + ['%d thr' % n for n in threads], rows))
        out.append('Best N per thread count (bold above): %s.\n' %
                   ', '.join('%d threads: %d' % (n, best[n]) for n in threads if n in best))
        series = [('%d threads' % n, [(max(x, 1), med.get((family, w, impl, n), {}).get('items_per_second'))
                                      for x, w in variants
                                      if med.get((family, w, impl, n), {}).get('items_per_second')])
                  for n in threads]
        f = charts.add('%s_%s_%s' % (family, prefix, impl), '%s/%s_N/%s' % (family, prefix, impl),
                       'N (0 drawn at 1)', 'operations per second', series, logx=True)
        if f:
            out.append('![%s/%s sweep](%s/%s)\n' % (family, prefix, img_rel, f))
    return '\n'.join(out)


# ---- the page -----------------------------------------------------------------

def machine_section(machine, context, reps, nrows):
    rows = []
    if machine:
        for k in ('date', 'cpu_model', 'cpus_online', 'cores_per_socket', 'threads_per_core', 'hypervisor',
                  'l1d', 'l2', 'l3', 'kernel', 'os', 'glibc', 'cc', 'cxx', 'loadavg_at_start', 'weft_commit',
                  'bench_reps', 'bench_min_time', 'bench_filter'):
            if machine.get(k) not in (None, ''):
                rows.append([k, str(machine[k])])
        pk = machine.get('packages', {})
        if pk:
            rows.append(['packages', ', '.join('%s %s' % (p, v) for p, v in sorted(pk.items()))])
    else:
        rows.append(['note', 'no machine.json next to the results'])
    if context:
        # only what the run recorded (a paired run has no MHz or load triple)
        said = ['date %s' % context.get('date', '?'), '%s CPUs' % context.get('num_cpus', '?')]
        if context.get('mhz_per_cpu'):
            said.append('%s MHz' % context['mhz_per_cpu'])
        if context.get('load_avg'):
            said.append('load %s' % ' '.join('%.2f' % x for x in context['load_avg']))
        for key, what in (('wb_load_at_start', 'load average at start %s'),
                          ('wb_runnable_at_start', 'other runnable threads at start %s'),
                          ('wb_elapsed_s', 'elapsed %.0f s')):
            if context.get(key) is not None:
                said.append(what % context[key])
        rows.append(['runner', ', '.join(said)])
    rows.append(['run', '%d rows, %d paired rounds each (compared rows run one after the other, fresh random order per round)' % (nrows, reps)])
    text = '## Machine\n\n' + table(['', ''], rows)
    # the run's own measure of what competed at its start (results.py), else machine.json's load average
    measure, load1 = 'load average', None
    if context and context.get('wb_runnable_at_start') is not None:
        measure, load1 = 'number of other runnable threads', context.get('wb_runnable_at_start')
    try:
        if load1 is None:
            load1 = float(str((machine or {}).get('loadavg_at_start', '')).split()[0])
        load1 = float(load1)
        cpus = int((machine or {}).get('cpus_online') or 1)
    except (TypeError, ValueError, IndexError):
        load1, cpus = 0.0, 1
    if load1 > 0.5 * cpus:
        text += ('\n**Warning:** the %s was %.2f on %d CPUs when the run started: other '
                 'processes competed for the CPUs, so contended and oversubscribed rows are noisy.\n'
                 % (measure, load1, cpus))
    return text


def peers_section():
    rows = [[('`%s`' % impl), fam, kind, setup, src] for (fam, impl), (kind, setup, src) in sorted(peers.CONFIG.items())]
    return ('## How the peers are built and set up\n\n'
            'Each peer as its authors recommend, with the source of the recommendation.  The bench files, where '
            'the header-inline parts of the peers are compiled, are built with `-DNDEBUG`; the libraries are '
            'Debian\'s release builds.  Baselines are '
            'written for the bench, not somebody\'s library.\n\n'
            + table(['impl', 'family', 'kind', 'configuration', 'source'], rows))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--results', default='build/bench/results.json')
    ap.add_argument('--machine', default=None)
    ap.add_argument('--out', default='docs/benchmarks.md')
    ap.add_argument('--img', default='docs/img')
    ap.add_argument('--no-charts', action='store_true')
    ap.add_argument('--B', type=int, default=verdict.stats.B_DEFAULT)
    ap.add_argument('--previous', default=None,
                    help='an earlier full run on the same machine: the page shows how many verdicts agree')
    a = ap.parse_args()
    if not os.path.exists(a.results):
        sys.exit('report: %s not found; run `make bench` first' % a.results)
    res = resultslib.load(a.results)
    context, med, spread, reps = res.context, res.med, res.spread, res.reps
    mpath = a.machine or os.path.join(os.path.dirname(a.results), 'machine.json')
    machine = json.load(open(mpath)) if os.path.exists(mpath) else None

    out_dir = os.path.dirname(os.path.abspath(a.out))
    img_rel = os.path.relpath(os.path.abspath(a.img), out_dir)
    charts = Charts(a.img, not a.no_charts)
    charts.samples = res.samples
    if machine:
        charts.machine = '%s, %s CPUs, %s' % (machine.get('cpu_model', '?'), machine.get('cpus_online', '?'),
                                              str(machine.get('date', '?'))[:10])

    families = sorted({k[0] for k in med}, key=lambda f: (FAMILY_ORDER.index(f) if f in FAMILY_ORDER else 99, f))
    parts = ['<!-- Generated by bench/report/report.py from %s: do not edit; run `make bench` and '
             '`make report`. -->\n' % os.path.basename(a.results),
             '# Benchmarks\n',
             'Generated by `make bench` (Google Benchmark through weft\'s C shim, `bench/`) and `make report` '
             '(`bench/report/report.py`). The rows that are compared (one workload at one thread count, every '
             'implementation) run one after the other in each of %d rounds, in a fresh random order per round; '
             'ratios are paired by round and carry a 95%% bootstrap interval. Every thread measures the same '
             'window from one start stamp to one stop stamp; an operation in flight at the stop is not '
             'counted. Row names: `<family>/<workload>/<impl>`, at 1, 2, 4 and 8 threads on the machine below; '
             'with 2 cores, 4 and 8 threads are oversubscribed (their windows are longer). `limit` rows are the '
             'bare atomic operations the primitive cannot avoid. Waits are sampled on one operation in 64 '
             '(rdtsc, less the cost of reading it), percentiles kept per thread.\n' % reps,
             machine_section(machine, context, reps, len({k for k in med})),
             verdict.sections(res, a.B),
             ('## Agreement with the previous run\n\n' + verdict.agreement(resultslib.load(a.previous), res, a.B)
              .replace('\n  ', '\n- ') + '\n') if a.previous else '',
             peers_section(),
             targets_section(med, res)]
    parts = [p for p in parts if p]
    for f in families:
        parts.append(section_for(f, med, spread, charts, img_rel))
    charts.render()
    if not charts.enabled and not a.no_charts:
        parts.append('\n(No charts: gnuplot with a png terminal was not found.)\n')
    text = '\n'.join(parts)
    os.makedirs(out_dir, exist_ok=True)
    with open(a.out, 'w') as f:
        f.write(text)
    print('report: wrote %s (%d rows, %d charts)' % (a.out, len(med), len(charts.jobs) if charts.enabled else 0))


if __name__ == '__main__':
    main()
