#!/usr/bin/env python3
"""verdict.py - the class verdicts of a benchmark run (stdlib only).

usage: bench/report/verdict.py --results build/bench/results.json [--md build/bench/verdict.md]
                               [--noisy-ok] [--B 2000]
       bench/report/verdict.py --agree RUN1.json RUN2.json      (verdict agreement of two runs)
       bench/report/verdict.py --ab BASE.json NEW.json [--md F] (A/B builds: per-row ratios)

For every weft primitive, every peer of the same semantics and every workload
class, the geometric-mean ratio of the paired rounds with a 95% bootstrap
interval (stats.py), win/tie/loss counts over the rows (a tie: the row's
interval contains 1) and the worst row.  Rows where an implementation
collapses (a thread never ran, or throughput fell more than COLLAPSE_DROP times
from its best at <= CPUs threads) are flags with their cause, not ratios.
Workloads whose metric is not throughput get tables of their own, in their
own units.  When the load average at the start of the run was above half the
CPUs, verdicts are withheld (printed as "withheld"; --noisy-ok prints them,
labelled NOISY).

Used by report.py (the leading sections of docs/benchmarks.md) and by
`make bench-compare` / `make bench-ab` (terminal and build/, no tracked file).
"""
import argparse
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results as resultslib  # noqa: E402
import stats  # noqa: E402

# The primitives: weft's implementation rows, per family.
PRIMITIVES = {
    'spin': ['weft_spin', 'weft_ticket', 'weft_mcs'],
    'mutex': ['weft_mutex', 'weft_mutex_pshared'],
    'rwlock': ['weft_rwlock', 'weft_brlock'],
    'cond': ['weft_cond'],
    'sem': ['weft_sem'],
    'counter': ['weft_counter', 'weft_scounter'],
    'mpmc': ['weft', 'weft_select'],
    'pool': ['weft_pool'],
    'once': ['weft_once'],
    'barrier': ['weft_barrier', 'weft_latch'],
}

# Rows written for the bench, not somebody's library: labelled baselines.
BASELINES = {
    ('mpmc', 'c2_pthread'): 'scenario C2 queue: sem_t + pthread mutex/cond (bench/c2_queue.h)',
    ('mpmc', 'c2_weft'): 'scenario C2 queue on weft_sem/mutex/cond (bench/c2_queue.h)',
    ('mpmc', 'poll_trypop'): 'one consumer polling the queues with weft_mpmc_try_pop in turn (bench/bench_mpmc.c)',
    ('barrier', 'pthread'): 'latch from a pthread mutex + condition variable (bench/bench_once_barrier.c)',
    ('pool', 'pthread'): 'free list under a pthread mutex (bench/bench_pool.c)',
    ('counter', 'pthread'): 'counter under a pthread mutex (bench/bench_counter.c)',
    ('counter', 'weft_mutex'): 'counter under a weft_mutex (bench/bench_counter.c)',
    ('rwlock', 'pthread_mutex'): 'a pthread mutex used as the rwlock (bench/bench_rwlock.c)',
    ('rwlock', 'weft_mutex'): 'a weft_mutex used as the rwlock (bench/bench_rwlock.c)',
    ('scenario', 'baseline_pthread'): 'the Go service without tokens: pthread mutex + condvar, a cancelled flag, '
                                      'broadcasts (bench/bench_scenario_go.c)',
}

# Semantics: a primitive is compared only with peers of the same tag.
SEMANTICS = {
    ('spin', 'weft_spin'): 'unfair', ('spin', 'ck_fas'): 'unfair', ('spin', 'tbb_spin'): 'unfair',
    ('spin', 'pthread_spin'): 'unfair',
    ('spin', 'weft_ticket'): 'fifo', ('spin', 'weft_mcs'): 'fifo', ('spin', 'ck_ticket'): 'fifo',
    ('spin', 'ck_mcs'): 'fifo', ('spin', 'tbb_queuing'): 'fifo',
    ('rwlock', 'urcu'): 'rcu (readers never wait for writers)',
    ('mutex', 'weft_mutex_pshared'): 'process-shared', ('mutex', 'pthread_pshared'): 'process-shared',
    ('mpmc', 'moodycamel_nonlinearizable'): 'not linearizable FIFO',
    ('mpmc', 'moodycamel_tokens'): 'not linearizable FIFO',
}

# Peers that spin without ever yielding, by design (a collapse's cause).
NEVER_YIELDS = {'ck_fas', 'ck_ticket', 'ck_mcs', 'pthread_spin', 'ck_rwlock', 'ck_pflock', 'ck_brlock',
                'ck_ring_mpmc_spin'}

# Workloads whose metric is not throughput: their own tables, their own units.
# (family, workload) -> [(metric, unit, lower_is_better)]
OWN_TABLES = {
    ('rwlock', 'writer_wait'): [('writer_wait_p50_ns', 'ns', True), ('writer_wait_p99_ns', 'ns', True),
                                ('writer_wait_max_ns', 'ns', True), ('items_per_second', 'writes/s', False)],
    ('mpmc', 'slow_consumer'): [('items_per_second', 'items/s', False), ('cpu_ns_per_op', 'ns CPU/item', True),
                                ('stall_max_us', 'us', True)],
    ('mpmc', 'sparse'): [('items_per_second', 'items/s', False), ('cpu_ns_per_op', 'ns CPU/item', True),
                         ('stall_max_us', 'us', True)],
    ('scenario', 'c3_slow_io'): [('items_per_second', 'served/s', False), ('timeout_frac', 'fraction', True),
                                 ('timeouts', 'requests', True), ('worst_client_timeout_frac', 'fraction', True),
                                 ('starved_clients', 'clients', True), ('wait_p99_ns', 'ns', True),
                                 ('wait_max_ns', 'ns', True), ('client_wait_max_mean_ns', 'ns', True),
                                 ('fair_max_min', 'x', True)],
    ('scenario', 'go_order'): [('items_per_second', 'served/s', False), ('timeout_frac', 'fraction', True),
                               ('cancel_p50_ns', 'ns', True), ('cancel_p99_ns', 'ns', True),
                               ('cancel_max_ns', 'ns', True), ('cpu_ns_per_op', 'ns CPU/request', True)],
    ('scenario', 'go_fan_in'): [('items_per_second', 'items/s', False), ('cpu_ns_per_op', 'ns CPU/item', True)],
    ('scenario', 'c4_fanout'): [('items_per_second', 'items/s', False), ('elapsed_over_ideal', 'x ideal', True),
                                ('max_inside', 'threads', True)],
}

# Tuning sweeps: not comparisons.
SWEEP = re.compile(r'(_sweep_\d+|_spin\d+)$')

CLASSES = [
    ('uncontended', 'uncontended cost (1 thread)', 'items_per_second', False),
    ('contended', 'contended, threads <= CPUs', 'items_per_second', False),
    ('oversubscribed', 'oversubscribed, threads > CPUs', 'items_per_second', False),
    ('latency', 'latency: p99 wait (lower is better)', '*_p99_ns', True),
    ('cpu', 'CPU per operation (lower is better)', 'cpu_ns_per_op', True),
]

COLLAPSE_DROP = 20.0  # a fall of more than this from the best throughput at <= CPUs threads
CAP = 100.0           # ratios at or beyond this are displayed as ">= 100x"

# How each peer is built and set up, and where its authors say so.  Filled by
# the benchmark's adapters; report.py prints it.  (impl, family) -> (setup, source)
PEER_CONFIG = {}


def role(family, impl):
    if impl == 'limit':
        return 'limit'
    if impl.endswith('_aa'):
        return 'aa'
    if impl in PRIMITIVES.get(family, []):
        return 'weft'
    if (family, impl) in BASELINES:
        return 'baseline'
    return 'peer'


def semantics(family, impl):
    return SEMANTICS.get((family, impl), family)


def row_class(key, cpus):
    """The throughput class of a row, or None (own table, sweep, scenario)."""
    family, workload, impl, threads = key
    if family == 'scenario' or (family, workload) in OWN_TABLES or SWEEP.search(workload):
        return None
    if threads == 1:
        return 'uncontended'
    return 'contended' if threads <= cpus else 'oversubscribed'


def p99_metric(metrics):
    for m in sorted(metrics):
        if m.endswith('_p99_ns') and 'worst_thread' not in m:
            return m
    return None


# ---- collapse ---------------------------------------------------------------

def collapses(res):
    """{key: cause} for rows whose implementation collapsed: throughput more than
    COLLAPSE_DROP times below its best at <= CPUs threads (threads that never
    ran are added to the cause; alone they are starvation, see starved())."""
    out = {}
    best = {}
    for key, m in res.med.items():
        fam, w, impl, n = key
        if n <= res.cpus and m.get('items_per_second'):
            k = (fam, w, impl)
            best[k] = max(best.get(k, (0, 0)), (m['items_per_second'], n))
    for key, m in res.med.items():
        fam, w, impl, n = key
        if n < 2:
            continue
        ips = m.get('items_per_second')
        ref, ref_n = best.get((fam, w, impl), (0, 0))
        drop = ref / ips if ips and ref else None
        if drop and drop > COLLAPSE_DROP and n > ref_n:
            why = '%.0fx drop from %d to %d threads on %d CPUs' % (drop, ref_n, n, res.cpus)
            idle = m.get('idle_threads', 0) or 0
            if idle >= 1:
                why += '; %d of %d threads never ran in the window' % (round(idle), n)
            if impl in NEVER_YIELDS:
                why = 'never yields: ' + why
            out[key] = why
    return out


def starved(res):
    """[(key, idle threads, fair_max_min)] for rows where, in the median round, a thread never ran."""
    out = []
    for key, m in sorted(res.med.items()):
        idle = m.get('idle_threads', 0) or 0
        if idle >= 1:
            out.append((key, idle, m.get('fair_max_min')))
    return out


# ---- verdicts ---------------------------------------------------------------

class Cell:
    def __init__(self, prim, peer, cls):
        self.prim, self.peer, self.cls = prim, peer, cls
        self.rows = []      # (key_of_weft_row, Estimate)
        self.flags = []     # (key, cause)
        self.est = None

    def counts(self):
        c = {'win': 0, 'tie': 0, 'loss': 0, 'n/a': 0}
        for _, e in self.rows:
            c[e.verdict()] += 1
        return c

    def worst(self):
        return min(self.rows, key=lambda r: r[1].ratio) if self.rows else None


def metric_for(cls_metric, res, key):
    if cls_metric == '*_p99_ns':
        return p99_metric(res.med.get(key, {}))
    return cls_metric


def compute(res, B=stats.B_DEFAULT, prims=None):
    """{(family, prim, peer, cls): Cell}, over every primitive and peer in @res."""
    coll = collapses(res)
    by_row = {}
    for key in res.med:
        by_row.setdefault((key[0], key[1], key[3]), {})[key[2]] = key
    cells = {}
    for (fam, w, n), impls in sorted(by_row.items()):
        base_cls = row_class((fam, w, None, n), res.cpus)
        if base_cls is None:
            continue
        for prim, pkey in impls.items():
            r = role(fam, prim)
            if r not in ('weft',) or (prims and prim not in prims):
                continue
            for peer, qkey in impls.items():
                rr = role(fam, peer)
                if peer == prim:
                    continue
                aa = rr == 'aa' and peer == prim + '_aa'
                if not aa and (rr not in ('peer', 'baseline') or semantics(fam, peer) != semantics(fam, prim)):
                    continue
                for cls, _, cmetric, lower in CLASSES:
                    if cls in ('uncontended', 'contended', 'oversubscribed') and cls != base_cls:
                        continue
                    if cls in ('latency', 'cpu') and n < 2:
                        continue
                    metric = metric_for(cmetric, res, pkey)
                    if not metric:
                        continue
                    cell = cells.setdefault((fam, prim, peer, cls), Cell(prim, peer, cls))
                    cell.family = fam
                    if pkey in coll or qkey in coll:
                        for k in (pkey, qkey):
                            if k in coll and (k, coll[k]) not in cell.flags:
                                cell.flags.append((k, coll[k]))
                        continue
                    a = res.rounds.get(pkey, {}).get(metric, {})
                    b = res.rounds.get(qkey, {}).get(metric, {})
                    logs = stats.paired_logs(a, b, lower)
                    est = stats.row_estimate(logs, '%s|%s|%s|%s' % (pkey, qkey, metric, cls), B)
                    if est:
                        cell.rows.append((pkey, est))
    for cell in cells.values():
        cell.est = stats.cell_estimate([e for _, e in cell.rows])
    return cells


# ---- formatting -------------------------------------------------------------

def fmt_x(r, better='faster', worse='slower'):
    """A ratio (> 1: weft better) as words; losses shown the same way as wins."""
    if r is None:
        return '-'
    if r >= 1:
        return ('>= %.0fx %s' % (CAP, better)) if r >= CAP else '%.2fx %s' % (r, better)
    inv = 1.0 / r
    return ('>= %.0fx %s' % (CAP, worse)) if inv >= CAP else '%.2fx %s' % (inv, worse)


def fmt_ci(e):
    if e is None or e.lo is None:
        return '-'
    def f(v):
        if v >= CAP:
            return '>=%.0f' % CAP
        if v <= 1.0 / CAP:
            return '<=%.2g' % (1.0 / CAP)
        return '%.2f' % v
    return '[%s, %s]' % (f(e.lo), f(e.hi))


def words(cls):
    if cls in ('latency',):
        return 'lower p99', 'higher p99'
    if cls == 'cpu':
        return 'less CPU', 'more CPU'
    return 'faster', 'slower'


def row_label(key):
    fam, w, impl, n = key
    return '%s/%s @%d' % (fam, w, n)


table = resultslib.table  # one markdown table writer for every page (results.py)


def load_warning(res):
    try:
        load = float(res.load_at_start)
    except (TypeError, ValueError):
        return None
    if load > res.cpus / 2.0:
        return ('**Verdicts withheld:** the %s was %.2f on %d CPUs when the run started '
                '(more than half the CPUs were busy with other work), so wins, ties and losses '
                'would measure the neighbours.  Re-run on a quiet machine.'
                % (res.load_measure, load, res.cpus))
    return None


def verdict_word(cell, withheld):
    if cell.est is None:
        return 'collapse' if cell.flags else 'n/a'
    v = cell.est.verdict()
    if withheld:
        return 'withheld' if withheld is True else 'NOISY ' + v
    return v


def lost_rows(cells, only=None):
    """[(key, prim, peer, cls, Estimate)] of every row weft loses (its whole interval on the
    losing side), in cell order; @only: a (family, primitive).  The report's "Every row weft
    loses" and fill_numbers' {{losses}}."""
    out = []
    for (fam, prim, peer, cls), c in sorted(cells.items()):
        if peer == prim + '_aa' or (only and (fam, prim) != only):
            continue
        out.extend((key, prim, peer, cls, e) for key, e in c.rows if e.verdict() == 'loss')
    return out


VERDICT_HEADER = ['primitive', 'peer', 'class', 'rows', 'geomean', '95% interval', 'verdict', 'W/T/L',
                  'worst row', 'flags']


def verdict_rows(cells, withheld, only=None):
    """The rows of the class-verdict table (VERDICT_HEADER), by primitive, peer and class;
    @only: a (family, primitive) to keep only that primitive's cells (a docs page's table)."""
    rows = []
    order = [x[0] for x in CLASSES]
    for (fam, prim, peer, cls), c in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2],
                                                                        order.index(kv[0][3]))):
        if peer == prim + '_aa' or (c.est is None and not c.flags) or (only and (fam, prim) != only):
            continue
        better, worse = words(cls)
        cnt = c.counts()
        w = c.worst()
        peer_label = '`%s`%s' % (peer, ' (baseline)' if role(fam, peer) == 'baseline' else '')
        rows.append(['`%s`' % prim, peer_label, cls, len(c.rows),
                     fmt_x(c.est.ratio, better, worse) if c.est else '-', fmt_ci(c.est),
                     verdict_word(c, withheld),
                     '-' if withheld is True else '%d/%d/%d' % (cnt['win'], cnt['tie'], cnt['loss']),
                     ('%s: %s' % (row_label(w[0]), fmt_x(w[1].ratio, better, worse))) if w else '-',
                     len(c.flags)])
    return rows


def sections(res, B=stats.B_DEFAULT, noisy_ok=False, cells=None, title_level='##'):
    """The leading sections of the report, as markdown."""
    if cells is None:
        cells = compute(res, B)
    warn = load_warning(res)
    withheld = (('noisy' if noisy_ok else True) if warn else False)
    h = title_level
    out = []
    if warn:
        out.append(warn + ('  (Shown anyway, labelled NOISY, because --noisy-ok was given.)' if noisy_ok else '')
                   + '\n')
    if res.reps < 10:
        out.append('**Note:** %d paired round(s) per row; the design asks for at least 10 before a verdict '
                   'means anything.\n' % res.reps)
    # the noise floor: A/A rows
    aa = [c for (fam, prim, peer, cls), c in sorted(cells.items()) if peer == prim + '_aa']
    out.append('%s Noise floor (A/A)\n' % h)
    if aa:
        out.append('The same implementation registered twice under two names and run paired like any '
                   'other pair; its interval should contain 1.0 in every class.  Ratios inside this spread '
                   'are not differences.\n')
        rows = []
        for c in aa:
            cnt = c.counts()
            rows.append(['`%s` vs `%s`' % (c.prim, c.peer), c.cls, len(c.rows),
                         ('%.3f' % c.est.ratio) if c.est else '-', fmt_ci(c.est),
                         'yes' if c.est and c.est.lo is not None and c.est.lo <= 1 <= c.est.hi else 'NO',
                         '%d/%d/%d' % (cnt['win'], cnt['tie'], cnt['loss'])])
        out.append(table(['pair', 'class', 'rows', 'ratio', '95% interval', 'contains 1', 'W/T/L'], rows))
    else:
        out.append('No A/A row in this run (mutex/*/weft_mutex_aa with mutex/*/weft_mutex).\n')

    out.append('%s Verdicts by class\n' % h)
    out.append('Per weft primitive, peer of the same semantics and workload class: the geometric mean of '
               'the rows\' paired ratios (> 1 means weft is better), its 95%% bootstrap interval '
               '(stratified by row, B = %d), the rows won/tied/lost (a tie: the row\'s interval contains 1) '
               'and the worst row.  Baselines are rows written for the bench, not libraries.  Collapsed '
               'rows are flags below, not ratios.\n' % B)
    rows = verdict_rows(cells, withheld)
    out.append(table(VERDICT_HEADER, rows) if rows else 'No comparable rows in this run.\n')

    # every row weft loses
    losses = [[row_label(key), '`%s`' % prim, '`%s`' % peer, cls, fmt_x(e.ratio, *words(cls)), fmt_ci(e)]
              for key, prim, peer, cls, e in lost_rows(cells)]
    out.append('%s Every row weft loses\n' % h)
    out.append(table(['row', 'weft', 'peer', 'class', 'ratio', '95% interval'], losses) if losses
               else 'None in this run.\n')

    # collapse flags
    flags = {}
    for c in cells.values():
        for key, why in c.flags:
            flags[key] = why
    out.append('%s Collapses (flags, not ratios)\n' % h)
    if flags:
        out.append(table(['row', 'implementation', 'cause'],
                         [[row_label(k), '`%s`' % k[2], why] for k, why in sorted(flags.items())]))
    else:
        out.append('None in this run.\n')
    st = starved(res)
    out.append('%s Starvation\n' % h)
    if st:
        out.append('Rows where, in the median round, some threads completed no operation in the whole window '
                   '(an unfair lock, or more threads than the scheduler ran): fairness ratios are meaningless there.\n')
        out.append(table(['row', 'implementation', 'threads that never ran'],
                         [[row_label(k), '`%s`' % k[2], '%g of %d' % (idle, k[3])] for k, idle, _ in st]))
    else:
        out.append('None in this run.\n')
    out.append(fairness_table(res, h))
    out.append(own_tables(res, h))
    return '\n'.join(out)


def fairness_rows(res):
    """[(key, {metric: median})] of the rows with 2+ threads that report fairness or a longest wait."""
    keep = ('fair_max_min', 'fair_cv', 'longest_wait_ns', 'longest_wait_runq_ns')
    return [(k, res.med[k]) for k in sorted(res.med)
            if k[3] >= 2 and any(m in res.med[k] for m in keep)]


def fairness_table(res, h='##'):
    """Per contended row: the spread of per-thread operations over the fixed window and the longest wait."""
    rows = fairness_rows(res)
    out = ['%s Fairness and longest waits\n' % h]
    if not rows:
        out.append('None in this run.\n')
        return '\n'.join(out)
    out.append('Every row with more than one thread, medians over the rounds.  The window is fixed (the '
               'runner\'s timer closes it at start + window for every thread, whatever thread 0 is doing), '
               'so the spread is over a window in which all threads ran: `fair_max_min` is the largest '
               'per-thread operation count over the smallest (a thread with none counts as 1), `fair_cv` '
               'their coefficient of variation.  The longest wait is the longest time one thread spent on '
               'one operation (its wait plus the operation\'s own work; every operation timed, not '
               'sampled), of the worst thread; beside it, that thread\'s run-queue delay over the whole '
               'window (time it was runnable but not running: an upper bound on the part of the wait the '
               'scheduler, not the primitive, explains).  \'-\': not recorded by this row.\n')
    def v(m, k, unit=''):
        x = m.get(k)
        if x is None:
            return '-'
        return fmt_val(x, unit) if unit else '%.3g' % x
    out.append(table(['row', 'implementation', 'fair_max_min', 'fair_cv', 'longest wait (worst thread)',
                      'its run-queue delay'],
                     [[row_label(k), '`%s`' % k[2], v(m, 'fair_max_min'), v(m, 'fair_cv'),
                       v(m, 'longest_wait_ns', 'ns'), v(m, 'longest_wait_runq_ns', 'ns')] for k, m in rows]))
    return '\n'.join(out)


def fmt_val(v, unit):
    if v is None:
        return '-'
    if unit == 'ns':
        for div, suf in ((1e9, 's'), (1e6, 'ms'), (1e3, 'us')):
            if v >= div:
                return '%.3g %s' % (v / div, suf)
        return '%.3g ns' % v
    v = float('%.3g' % v)  # three digits, so that 999.7k shows as 1M, not 1e+03k
    for div, suf in ((1e9, 'G'), (1e6, 'M'), (1e3, 'k')):
        if abs(v) >= div:
            return '%.3g%s' % (v / div, suf)
    return '%.3g' % v


def own_tables(res, h='##'):
    out = ['%s Workloads measured in their own units\n' % h,
           'Not throughput comparisons: each table shows the median over the rounds and, in brackets, '
           'the smallest and largest round.\n']
    any_ = False
    for (fam, w), metrics in OWN_TABLES.items():
        keys = sorted(k for k in res.med if k[0] == fam and k[1] == w)
        if not keys:
            continue
        any_ = True
        present = [(m, u, lo) for m, u, lo in metrics if any(m in res.med[k] for k in keys)]
        rows = []
        for k in keys:
            cells = ['`%s`%s' % (k[2], ' (baseline)' if role(fam, k[2]) == 'baseline' else ''), k[3]]
            for m, u, _ in present:
                vals = res.samples.get(k, {}).get(m, [])
                med = res.med[k].get(m)
                cells.append('%s (%s-%s)' % (fmt_val(med, u), fmt_val(min(vals), u), fmt_val(max(vals), u))
                             if len(vals) > 1 else fmt_val(med, u))
            rows.append(cells)
        out.append('%s# `%s/%s`\n' % (h, fam, w))
        out.append(table(['impl', 'threads'] + ['%s (%s%s)' % (m, u, ', lower is better' if lo else '')
                                                for m, u, lo in present], rows))
    if not any_:
        out.append('None in this run.\n')
    return '\n'.join(out)


# ---- agreement of two runs, A/B builds --------------------------------------

def agreement(res1, res2, B):
    c1, c2 = compute(res1, B), compute(res2, B)
    common = [k for k in c1 if k in c2 and c1[k].est and c2[k].est and not k[2].endswith('_aa')]
    same = [k for k in common if c1[k].est.verdict() == c2[k].est.verdict()]
    lines = ['Verdict agreement of two runs: %d of %d (primitive, peer, class) cells agree (%.0f%%; target >= 90%%).'
             % (len(same), len(common), 100.0 * len(same) / max(1, len(common)))]
    for k in sorted(set(common) - set(same)):
        lines.append('  differs: %s vs %s, %s: %s (%s) / %s (%s)' % (k[1], k[2], k[3], c1[k].est.verdict(),
                     fmt_ci(c1[k].est), c2[k].est.verdict(), fmt_ci(c2[k].est)))
    return '\n'.join(lines) + '\n'


def ab_table(base, new, B, metric='items_per_second', again=None, slower_keys=None):
    """Per row: new build against base build, paired by round (> 1: the new build is faster).

    @again: the new build run a second time in the same rounds (ab.sh with
    AB_AA=1), or None.  Its A/A ratio (again/new) is the noise of each row: a
    row is "slower beyond the noise" when the whole A/B interval lies below 1
    and below the whole A/A interval of the same row, i.e. the new build lost
    to the base by more than it differed from itself.  @slower_keys: a list
    that receives the keys of those rows (ab.sh's confirmation run), or None.
    """
    rows, slower = [], []
    counts = {'win': 0, 'tie': 0, 'loss': 0, 'n/a': 0}
    aa_counts = {'win': 0, 'tie': 0, 'loss': 0, 'n/a': 0}
    for key in sorted(set(base.rounds) & set(new.rounds)):
        a = new.rounds[key].get(metric, {})
        b = base.rounds[key].get(metric, {})
        e = stats.row_estimate(stats.paired_logs(a, b), 'ab|%s' % (key,), B)
        if not e:
            continue
        v = e.verdict()
        counts[v] += 1
        label = '%s/%s/%s @%d' % key
        cells = [label, fmt_val(base.med[key].get(metric), ''), fmt_val(new.med[key].get(metric), ''),
                 fmt_x(e.ratio), fmt_ci(e)]
        word = {'win': 'new faster', 'loss': 'new slower', 'tie': 'tie', 'n/a': 'n/a'}[v]
        if again is not None:
            aa = stats.row_estimate(stats.paired_logs(again.rounds.get(key, {}).get(metric, {}), a),
                                    'aa|%s' % (key,), B)
            cells.append(fmt_ci(aa))
            if aa:
                aa_counts[aa.verdict()] += 1
            if v == 'loss' and aa and aa.lo is not None and e.hi < aa.lo:
                word = 'new slower, beyond the noise'
                slower.append((e.ratio, label, fmt_x(e.ratio), fmt_ci(e), fmt_ci(aa)))
                if slower_keys is not None:
                    slower_keys.append(key)
        rows.append(cells + [word])
    text = ('A/B: the new build against the base build, rounds interleaved, %s (ratio new/base, > 1: '
            'the new build is faster; 95%% bootstrap interval over the paired rounds).\n\n' % metric)
    head = ['row', 'base', 'new', 'new vs base', '95% interval']
    if again is not None:
        head.append('A/A interval')
        text += ('The A/A interval is the new build against itself (run twice in every round): the noise of '
                 'the row.  Of %d rows, the A/A interval excludes 1 in %d (%d "faster", %d "slower"): the '
                 'number of verdicts the noise alone makes.\n\n'
                 % (sum(aa_counts.values()), aa_counts['win'] + aa_counts['loss'], aa_counts['win'],
                    aa_counts['loss']))
        text += '%d rows slower beyond the noise (A/B interval below 1 and below the A/A interval)' % len(slower)
        text += (':\n\n' + table(['row', 'new vs base', '95% interval', 'A/A interval'],
                                   [list(r[1:]) for r in sorted(slower)]) if slower else '.\n') + '\n'
    text += table(head + ['verdict'], rows)
    text += '\n%d faster, %d tie, %d slower.\n' % (counts['win'], counts['tie'], counts['loss'])
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--results', default='build/bench/results.json')
    ap.add_argument('--md', default=None, help='also write the tables here (markdown)')
    ap.add_argument('--noisy-ok', action='store_true', help='print verdicts despite the load, labelled NOISY')
    ap.add_argument('--B', type=int, default=stats.B_DEFAULT, help='bootstrap replicates')
    ap.add_argument('--agree', nargs=2, metavar=('RUN1', 'RUN2'))
    ap.add_argument('--ab', nargs=2, metavar=('BASE', 'NEW'))
    a = ap.parse_args()
    if a.agree:
        text = agreement(resultslib.load(a.agree[0]), resultslib.load(a.agree[1]), a.B)
    elif a.ab:
        text = ab_table(resultslib.load(a.ab[0]), resultslib.load(a.ab[1]), a.B)
    else:
        if not os.path.exists(a.results):
            sys.exit('verdict: %s not found; run `make bench-compare` (or `make bench`) first' % a.results)
        res = resultslib.load(a.results)
        ctx = res.context
        text = ('Run: %s, %d round(s), filter %s, %s at start %s on %d CPUs\n\n'
                % (ctx.get('date', '?'), res.reps, ctx.get('wb_filter') or '(all rows)', res.load_measure,
                   res.load_at_start, res.cpus))
        text += sections(res, a.B, a.noisy_ok)
    sys.stdout.write(text)
    if a.md:
        os.makedirs(os.path.dirname(os.path.abspath(a.md)), exist_ok=True)
        with open(a.md, 'w') as f:
            f.write(text)
        print('verdict: wrote %s' % a.md, file=sys.stderr)


if __name__ == '__main__':
    main()
