#!/usr/bin/env python3
"""claims.py - docs/claims.md: the articles' numeric claims against the scenario rows.

usage: bench/report/claims.py [--results build/bench/results.json] [--machine build/bench/machine.json]
                         [--out docs/claims.md]

Reads one `make bench` run (the file `make report` reads), takes the median of
every counter over the repetitions, and writes one table: for every numeric
claim of SCENARIOS.md (C1, C3-C7), what the article says (quoted, with the
article), what the scenario/* row measured here (with the row), and a verdict:

    holds                     the measure is inside the claimed range, or within
                              the stated tolerance of the claimed value
    wrong by N x              outside it; N is how far (lower or higher)
    right in direction only   an ordering claim whose order holds while the
                              claimed magnitudes are wrong by more than 2x
    does not hold             an ordering or yes/no claim that fails
    not measured              the run has no such row (a filtered run, or a
                              row not registered on this machine)

Every measured number comes from the results file; the only numbers written
here are the articles' claims and their parameters (C1's schedule is
simulated from the parameters, not copied from anywhere).
"""
import argparse
import json
import math
import os
import re
import statistics
import sys

# The articles (SCENARIOS.md, seeds/): short names used in the table.
ARTICLES = {
    'A0': ('seeds/000', '深入解析多进程、多线程、协程与同步/异步编程模型'),
    'A1': ('seeds/001', '进程 / 线程 / 协程与服务并发模型'),
    'A2': ('seeds/002', 'Go语言协程与Python多线程的并发之争'),
    'A3': ('seeds/003', '多进程、多线程、协程 (基础概念篇 / 底层原理篇)'),
    'SC': ('SCENARIOS.md', 'the scenario table, where no article states the number itself'),
}


# ---- loading: the shared loader (bench/report/results.py) -------------------------

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results as resultslib  # noqa: E402


def load(path):
    r = resultslib.load(path)
    return r.context, r.med_by_row()


class Results:
    def __init__(self, med):
        self.med = med

    def get(self, row, threads, metric):
        return self.med.get((row, threads), {}).get(metric)

    def has(self, row, threads):
        return (row, threads) in self.med


# ---- formatting -----------------------------------------------------------------

def fmt_time_ns(v):
    if v is None:
        return '-'
    for div, unit in ((1e9, 's'), (1e6, 'ms'), (1e3, 'us')):
        if v >= div:
            return '%.3g %s' % (v / div, unit)
    return '%.3g ns' % v


def fmt_x(v):
    return ('%.0f' % v if v >= 100 else '%.1f' % v if v >= 10 else '%.3g' % v) + 'x'


def fmt_frac(v):
    return '%.1f%%' % (100 * v)


def cell(s):
    return str(s).replace('|', '\\|').replace('\n', ' ')


# ---- verdicts -------------------------------------------------------------------

def verdict_range(m, lo, hi):
    """m inside [lo, hi]: holds; else how many times outside."""
    if m is None:
        return 'not measured'
    if lo <= m <= hi:
        return '**holds**'
    if m < lo:
        return '**wrong by %s** (%s lower)' % (fmt_x(lo / m), 'measured')
    return '**wrong by %s** (%s higher)' % (fmt_x(m / hi), 'measured')


def verdict_about(m, x, tol):
    """'about x': holds within a factor tol either way."""
    if m is None:
        return 'not measured'
    return verdict_range(m, x / tol, x * tol)


# ---- C1: the article's schedule, simulated ---------------------------------------

def c1_schedule(producers, items_each, put_every_s, consumers, work_s, capacity):
    """Time until the last item is done (queue.join()), in seconds, for producers
    that put an item then sleep put_every_s, and consumers that take the oldest
    item as soon as they are free and work work_s on it.  Integer milliseconds:
    ties (an item put as a consumer frees up) resolve as 'available'."""
    ms = lambda s: int(round(s * 1000))  # noqa: E731
    put_at = [[ms(k * put_every_s) for k in range(items_each)] for _ in range(producers)]
    free_at = [0] * consumers
    queue, done_at, t = [], [], 0
    next_put = [0] * producers
    total = producers * items_each
    while len(done_at) < total:
        # producers put what is due (blocking on a full queue delays their schedule)
        for p in range(producers):
            while next_put[p] < items_each and put_at[p][next_put[p]] <= t and len(queue) < capacity:
                queue.append(t)
                next_put[p] += 1
                for k in range(next_put[p], items_each):  # the sleeps follow the put
                    put_at[p][k] = max(put_at[p][k], t + ms(put_every_s) * (k - next_put[p] + 1))
        for c in range(consumers):
            if free_at[c] <= t and queue:
                queue.pop(0)
                free_at[c] = t + ms(work_s)
                done_at.append(free_at[c])
        t += 1
    return max(done_at) / 1000.0


# ---- the claims -------------------------------------------------------------------

def claims(r):
    """Yield rows: (scenario, claim, article, says, measured, row, verdict)."""
    out = []

    def add(scn, what, art, says, measured, row, verdict):
        out.append((scn, what, art, says, measured, row, verdict))

    # C1 ---------------------------------------------------------------------------
    for cons, label in ((3, '2p3c'), (2, '2p2c')):
        expect = c1_schedule(2, 5, 0.1, cons, 0.2, 10)
        for impl in ('weft_cond_sem', 'pthread'):
            row = 'scenario/c1_sleep_%s/%s' % (label, impl)
            n = 2 + cons
            m = r.get(row, n, 'round_s')
            scale = r.get(row, n, 'time_scale')
            says = ('Queue(maxsize=10), 2 producers × 5 items, time.sleep(0.1) after each put, %d consumers '
                    'time.sleep(0.2) per item (no total given; the schedule predicts %.2f s until queue.join())'
                    % (cons, expect))
            if m is not None and scale is not None and scale != 1:
                add('C1', 'total time, 2 producers / %d consumers' % cons, 'A3', says,
                    'run with time_scale %g (the smoke run)' % scale, row + '@%d' % n, 'not measured')
                continue
            add('C1', 'total time, 2 producers / %d consumers' % cons, 'A3', says,
                '%.3f s' % m if m is not None else '-', row + '@%d:round_s' % n,
                verdict_about(m, expect, 1.1) + (' (within 10%% of %.2f s)' % expect if m is not None else ''))

    # C3 ---------------------------------------------------------------------------
    for impl in ('weft_mutex', 'pthread'):
        row = 'scenario/c3_slow_io/%s' % impl
        for n in (8, 64):
            served = r.get(row, n, 'items_per_second')
            io_us = r.get(row, n, 'io_us')
            if served is None:
                add('C3', 'served per second, %d clients' % n, 'SC', '50 ms of I/O under one lock: at most 20 requests per second',
                    '-', row + '@%d' % n, 'not measured')
                continue
            if io_us is None:
                add('C3', 'served per second, %d clients' % n, 'SC', '50 ms of I/O under one lock: at most 20 requests per second',
                    '%.0f /s (the run has no io_us counter: scale unknown)' % served, row + '@%d' % n, 'not measured')
                continue
            scale = 50000.0 / io_us  # the article's 50 ms over the row's I/O time
            at_article = served / scale
            bound = 1e6 / io_us
            add('C3', 'served per second, %d clients' % n, 'SC',
                '50 ms of I/O under one lock: at most 20 requests per second',
                '%.1f /s at the article\'s scale (%.0f /s with %.0f us of I/O)' % (at_article, served, io_us),
                row + '@%d:items_per_second' % n,
                '**holds**' if served <= bound * 1.001 else '**does not hold** (%.3g > %.3g)' % (served, bound))
        f8, f64 = r.get(row, 8, 'timeout_frac'), r.get(row, 64, 'timeout_frac')
        tmo = r.get(row, 64, 'timeout_us')
        io = r.get(row, 64, 'io_us')
        depth = '%.0f' % (tmo / io) if tmo and io else '40'
        if f8 is None or f64 is None:
            v, meas = 'not measured', '-'
        else:
            ok = f8 < 0.001 and f64 > 0.0
            v = '**holds**' if ok else ('**does not hold** (requests time out with 8 clients, fewer than 40)'
                                        if f8 >= 0.001 else '**does not hold** (no timeouts with 64 clients)')
            meas = '%s timed out with 8 clients, %s with 64' % (fmt_frac(f8), fmt_frac(f64))
        add('C3', 'timeouts past ~40 queued', 'SC',
            'requests give up after 2 s (= %s I/O times): past about 40 queued requests the rest time out' % depth,
            meas, row + '@8,64:timeout_frac', v)

    # C4 ---------------------------------------------------------------------------
    for impl in ('weft_sem', 'sem_t'):
        row = 'scenario/c4_fanout/%s' % impl
        for n in (20, 25):
            m = r.get(row, n, 'elapsed_over_ideal')
            waves = r.get(row, n, 'waves')
            says = ('Semaphore(10), n tasks of 100 ms take ceil(n/10) × 100 ms' if n == 25 else
                    '20 tasks of 0.5 s on 10 workers take 1 s (2 waves)')
            add('C4', '%d tasks on K = 10' % n, 'SC' if n == 25 else 'A3', says,
                ('%.2f × the ideal %.0f waves (tasks of 1 ms, the row\'s scale)' % (m, waves or math.ceil(n / 10)))
                if m is not None else '-',
                row + '@%d:elapsed_over_ideal' % n,
                verdict_range(m, 1.0, 1.25) + (' (within 25%)' if m is not None and m <= 1.25 else ''))

    # C5 ---------------------------------------------------------------------------
    c5 = [('glibc', 'direct creation (直接新建)', 12.4), ('tls_cache', 'thread-local cache (TLS缓存)', 3.1),
          ('pthread', 'object pool (对象池), locked', 1.8), ('weft_pool', 'object pool (对象池), weft_pool', 1.8)]
    measured = {}
    for impl, what, art in c5:
        row = 'scenario/c5_object_creation/%s' % impl
        m = r.get(row, 1, 'us_per_obj')
        measured[impl] = m
        add('C5', what, 'A2', '平均创建时间 %.1f μs per object' % art,
            '%s per object' % fmt_time_ns(m * 1000) if m is not None else '-', row + '@1:us_per_obj',
            verdict_about(m, art, 1.5))
    if all(measured.get(i) is not None for i in ('glibc', 'tls_cache', 'weft_pool', 'pthread')):
        pool = min(measured['weft_pool'], measured['pthread'])
        order_ok = measured['glibc'] > measured['tls_cache'] > pool
        off = max(max(a / m, m / a) for (i, _, a), m in ((c, measured[c[0]]) for c in c5))
        if not order_ok:
            v = '**does not hold**'
        elif off > 2:
            v = '**right in direction only** (magnitudes off by up to %s)' % fmt_x(off)
        else:
            v = '**holds**'
        add('C5', 'the order direct > TLS cache > pool', 'A2', '12.4 > 3.1 > 1.8 μs: a pool is the cheapest',
            'glibc %s, TLS cache %s, best pool %s' % (fmt_time_ns(measured['glibc'] * 1e3),
                                                      fmt_time_ns(measured['tls_cache'] * 1e3),
                                                      fmt_time_ns(pool * 1e3)),
            'scenario/c5_object_creation/*@1:us_per_obj', v)
    else:
        add('C5', 'the order direct > TLS cache > pool', 'A2', '12.4 > 3.1 > 1.8 μs', '-', '-', 'not measured')

    # C6 ---------------------------------------------------------------------------
    for impl in ('weft_mutex', 'pthread', 'limit'):
        row = 'scenario/c6_gil/%s' % impl
        r1, r2 = r.get(row, 1, 'runs_per_second'), r.get(row, 2, 'runs_per_second')
        ratio = r1 / r2 if r1 and r2 else None
        lock = 'a global lock (%s) around every 100 increments' % impl if impl != 'limit' else 'no lock at all'
        if impl == 'limit':
            says = '(not a claim: the same work without the lock, for comparison; 2 CPUs)'
            v = ('no lock: %s as long' % fmt_x(ratio)) if ratio else 'not measured'
        else:
            says = '双线程耗时接近单线程的两倍: 2 threads × 10^7 increments take about twice one thread\'s time'
            v = verdict_range(ratio, 1.5, 2.5) + (' (within 25% of 2x)' if ratio and 1.5 <= ratio <= 2.5 else '')
            if ratio and ratio > 2.5:
                v += ' (right in direction: no speedup, worse than serial)'
        add('C6', 'time of 2 threads / 1 thread, %s' % lock, 'A2', says,
            ('%s (1 thread %s, 2 threads %s, %s per increment)' % (
                fmt_x(ratio), fmt_time_ns(1e9 / r1), fmt_time_ns(1e9 / r2),
                fmt_time_ns(r.get(row, 2, 'ns_per_op')))) if ratio else '-',
            row + '@1,2:runs_per_second', v)
    for impl in ('weft_mutex', 'pthread'):
        row = 'scenario/c6_gil/%s' % impl
        i1, i2 = r.get(row, 1, 'items_per_second'), r.get(row, 2, 'items_per_second')
        if i1 and i2:
            v = '**holds**' if i2 < i1 else '**does not hold**'
            meas = '%s per increment with 2 threads, %s with 1' % (fmt_time_ns(1e9 / i2), fmt_time_ns(1e9 / i1))
        else:
            v, meas = 'not measured', '-'
        add('C6', 'two threads slower than one (%s)' % impl, 'A3',
            '多线程在CPU密集型任务上甚至比单线程更慢: threads are even slower than one thread on CPU-bound work',
            meas, row + '@1,2:items_per_second', v)

    # C7 ---------------------------------------------------------------------------
    def ns(row):
        return r.get(row, 1, 'ns_per_op')

    thr1, thr2 = 'scenario/c7_thread_switch_same_core/futex', 'scenario/c7_thread_switch_two_cores/futex'
    pf1, pp1 = 'scenario/c7_process_switch_same_core/futex_shm', 'scenario/c7_process_switch_same_core/pipe'
    pf2, pp2 = 'scenario/c7_process_switch_two_cores/futex_shm', 'scenario/c7_process_switch_two_cores/pipe'
    swc, asm = 'scenario/c7_coroutine_switch/swapcontext', 'scenario/c7_coroutine_switch/asm_switch'
    tcr = 'scenario/c7_thread_create/pthread'
    fk, fke = 'scenario/c7_process_create/fork_wait', 'scenario/c7_process_create/fork_exec_wait'
    US, MS = 1e3, 1e6

    def c7(what, art, says, row, lo, hi, about=None):
        m = ns(row)
        v = verdict_about(m, about, 2.0) if about else verdict_range(m, lo, hi)
        if about and m is not None and 'holds' in v:
            v += ' (within 2x)'
        add('C7', what, art, says, fmt_time_ns(m) if m is not None else '-', row + '@1:ns_per_op', v)

    for row, where in ((thr1, 'one core'), (thr2, 'two cores')):
        c7('thread switch, %s' % where, 'A0', '多线程 上下文切换成本 中(1-100μs)', row, 1 * US, 100 * US)
        c7('thread switch, %s' % where, 'A1', '线程切换约 1-10μs', row, 1 * US, 10 * US)
        c7('thread switch, %s' % where, 'A2', '线程 平均开销 2000 – 8000 纳秒', row, 2 * US, 8 * US)
        c7('thread switch, %s' % where, 'A3', '开销:约5-10微秒', row, 5 * US, 10 * US)
    for row, where in ((pf1, 'one core, futex in shared memory'), (pp1, 'one core, pipe'),
                       (pf2, 'two cores, futex in shared memory'), (pp2, 'two cores, pipe')):
        c7('process switch, %s' % where, 'A0', '多进程 上下文切换成本 高(1-10ms)', row, 1 * MS, 10 * MS)
        c7('process switch, %s' % where, 'A3', '进程切换约20-100微秒', row, 20 * US, 100 * US)
    c7('process creation, fork + wait', 'A1', '进程 创建/切换需要操作系统介入,耗时约 1-10ms', fk, 1 * MS, 10 * MS)
    c7('process creation, fork + exec + wait', 'A1', '进程 创建/切换需要操作系统介入,耗时约 1-10ms', fke, 1 * MS, 10 * MS)
    c7('thread creation, create + join', 'A1', '线程 创建:~10μs', tcr, None, None, about=10 * US)
    for row, how in ((swc, 'swapcontext'), (asm, 'hand-written switch')):
        c7('coroutine switch, %s' % how, 'A0', '协程 上下文切换成本 低(1-10μs)', row, 1 * US, 10 * US)
        c7('coroutine switch, %s' % how, 'A1', '协程切换约 100ns', row, None, None, about=100)
        c7('coroutine switch, %s' % how, 'A2', '协程 平均开销 50 – 200 纳秒', row, 50, 200)
        c7('coroutine switch, %s' % how, 'A3', '协程切换 开销极小:约0.1-0.5微秒', row, 100, 500)

    def rel(what, art, says, num, den, claim):
        a, b = ns(num), ns(den)
        if a is None or b is None:
            add('C7', what, art, says, '-', '%s / %s' % (num, den), 'not measured')
            return
        ratio = a / b
        v = verdict_about(ratio, claim, 2.0)
        if 'wrong' in v and ratio > 1:
            v += ' (right in direction)'
        add('C7', what, art, says, '%s (%s / %s)' % (fmt_x(ratio), fmt_time_ns(a), fmt_time_ns(b)),
            '%s / %s (ns_per_op)' % (num.split('scenario/')[1], den.split('scenario/')[1]), v)

    rel('thread vs process switch, one core', 'A1', '线程切换 比进程快 1000 倍', pf1, thr1, 1000)
    rel('coroutine vs thread switch, one core', 'A1', '协程切换 比线程快 100 倍', thr1, asm, 100)
    return out


# ---- the page --------------------------------------------------------------------

def machine_lines(machine, context):
    lines = []
    if machine:
        for k in ('date', 'cpu_model', 'cpus_online', 'kernel', 'loadavg_at_start', 'bench_reps', 'bench_filter'):
            if machine.get(k) not in (None, ''):
                lines.append('%s: %s' % (k, machine[k]))
    elif context:
        lines.append('%s CPUs, load %s' % (context.get('num_cpus', '?'),
                                           ' '.join('%.2f' % x for x in context.get('load_avg', []))))
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--results', default='build/bench/results.json')
    ap.add_argument('--machine', default=None)
    ap.add_argument('--out', default='docs/claims.md')
    a = ap.parse_args()
    if not os.path.exists(a.results):
        sys.exit('claims: %s not found; run `make bench` first' % a.results)
    context, med = load(a.results)
    mpath = a.machine or os.path.join(os.path.dirname(a.results), 'machine.json')
    machine = json.load(open(mpath)) if os.path.exists(mpath) else None
    r = Results(med)
    rows = claims(r)

    counts = {}
    for row in rows:
        v = row[6]
        k = ('holds' if v.startswith('**holds') else 'wrong' if v.startswith('**wrong') else
             'direction' if 'direction only' in v else 'not measured' if v == 'not measured' else 'fails')
        counts[k] = counts.get(k, 0) + 1

    text = ['<!-- Generated by bench/report/claims.py from %s: do not edit; run `make claims` '
            'or `make report`. -->\n' % os.path.basename(a.results),
            '# Claims: the articles against this machine\n',
            'Generated by `make claims` (`bench/report/claims.py`) from the `scenario/*` rows of the last `make bench` '
            'run (`build/bench/results.json`, the run `make report` reads). The articles of `SCENARIOS.md` '
            '(in `seeds/`, in Chinese) state costs and times for processes, threads, coroutines, locks and '
            'object creation; each claim below is set against the row that measures it here. No number in '
            'the "measured here" column is written by hand.\n']
    ml = machine_lines(machine, context)
    if ml:
        text.append('The run: ' + '; '.join(ml) + '.\n')
    try:
        load1 = float(str((machine or {}).get('loadavg_at_start', '')).split()[0])
        cpus = int((machine or {}).get('cpus_online') or 1)
        if load1 > 0.5 * cpus:
            text.append('**Provisional:** the load average was %.2f on %d CPUs when the run started: other '
                        'processes competed for the CPUs, which inflates every wake-up, switch and creation '
                        'time below.\n' % (load1, cpus))
    except (ValueError, IndexError):
        pass
    text.append('Verdicts: %s.\n' % ', '.join('%d %s' % (n, k) for k, n in sorted(counts.items())))
    text.append('The articles: ' + '; '.join('**%s** %s (%s)' % (k, v[1], v[0]) for k, v in ARTICLES.items()) + '.\n')
    hdr = ['', 'claim', 'article', 'the article says', 'measured here', 'row', 'holds?']
    text.append('| ' + ' | '.join(hdr) + ' |')
    text.append('|' + '|'.join('---' for _ in hdr) + '|')
    for scn, what, art, says, meas, row, v in rows:
        text.append('| ' + ' | '.join(cell(c) for c in (scn, what, art, says, meas, '`%s`' % row, v)) + ' |')
    text.append('')
    two_cores = r.has('scenario/c7_thread_switch_two_cores/futex', 1)
    notes = [
        '## How each scenario is measured\n',
        '- **C1** (`bench/bench_scenario_c1_sleep.c`): the article\'s program with its sleeps, one round per '
        'iteration, from the start of all threads to the tenth item done (`queue.join()`). The article prints '
        'no total; the expected time is the schedule its parameters imply (puts at 0, 0.1, ... 0.4 s from each '
        'producer, each free consumer takes the oldest item), simulated by `bench/report/claims.py`. The smoke run '
        'shortens the sleeps 100x and the table then says so instead of using it. The scaled-up version '
        'without sleeps is `scenario/c1_2p3c` in docs/benchmarks.md.',
        '- **C3** (`bench/bench_scenario_c3.c`): every client thread sends requests back to back through one '
        'lock held across a sleep standing for the I/O, each request giving up after 40 I/O times; the row runs '
        '100x faster than the article (its `io_us` counter), and the served rate is scaled back. The bound '
        'of one request per I/O time cannot be beaten by any lock; the check is that no lock loses much of it. '
        'The article\'s "past about 40 queued the rest time out" is read as: with fewer clients than 40 none '
        'time out, with more some do.',
        '- **C4** (`bench/bench_scenario_queue.c`): one task per thread, a semaphore of 10 permits, tasks of '
        '1 ms (the articles\' 100 ms and 0.5 s scaled down), the elapsed time of a round over the ideal '
        'ceil(n/10) task times; the fixed cost of waking 10 threads weighs 100-500x more at this scale than '
        'at the articles\'.',
        '- **C5** (`bench/bench_pool.c`): get, construct (memset 256 bytes), put, one thread; the article\'s '
        'numbers come from a garbage-collected runtime, C pays no collector.',
        '- **C6** (`bench/bench_scenario_c6.c`): every thread increments a local counter 10^7 times in slices '
        'of 100 under one global lock, released and re-taken between slices as in A3\'s model of the '
        'interpreter loop; the time of one run at 2 threads over the time at 1 thread. A C increment costs '
        'about a cycle (a Python one tens of ns), so the lock\'s own cost and its cache line moving between '
        'the CPUs weigh more than under CPython.',
        '- **C7** (`bench/bench_scenario_c7.c`): a switch is one handoff of a futex ping-pong (or a pipe '
        'ping-pong between processes), both sides pinned with `sched_setaffinity` to one CPU (every handoff is '
        'a context switch) or to two (a wake-up on the other CPU, which leaves its idle loop); creation is '
        'create + join (or fork + waitpid) of a thread or process that does nothing; the coroutine switches '
        'run on one thread, `swapcontext` (which also makes a `sigprocmask` system call) and '
        '`bench/coswitch.h` (callee-saved registers only; x86-64 and aarch64).' +
        ('' if two_cores else ' **Only one CPU was available to the run: the two-core rows were not '
                               'registered.**'),
        '',
        'Verdict rules: a range claim holds if the measure lies in it; "about x" (or "~x") holds within the '
        'stated factor; otherwise the verdict says by how many times the claim is off. Where an article gives '
        'a number for a language runtime (Python, Go), the C measure is the cost the operating system and the '
        'hardware impose, which the runtime can only add to.',
    ]
    text += notes
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, 'w') as f:
        f.write('\n'.join(text) + '\n')
    print('claims: wrote %s (%d claims: %s)' % (a.out, len(rows),
                                                 ', '.join('%d %s' % (n, k) for k, n in sorted(counts.items()))))


if __name__ == '__main__':
    main()
