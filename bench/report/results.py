"""results.py - the one loader of benchmark results, shared by report.py,
claims.py, fill_numbers.py and verdict.py (stdlib only).

Reads Google Benchmark JSON, either from Google Benchmark's own loop
(--benchmark_repetitions, with or without its aggregates) or from weft's
paired rounds (--wb_rounds: one "iteration" entry per row and round, with
wb_round, wb_slot and wb_per_thread).  Row names are
<family>/<workload>/<impl>[/real_time][/threads:N]; the key of a row is
(family, workload, impl, threads).

    r = results.load('build/bench/results.json')
    r.context             the run's context (wb_load_at_start, num_cpus, ...)
    r.samples[key][m]     the values of metric m, one per repetition/round
    r.rounds[key][m]      {round: value} (paired runs; repetition_index otherwise)
    r.med[key][m]         medians over the repetitions (the aggregate if no repetition)
    r.spread[key]         coefficient of variation of items_per_second
    r.per_thread[key]     [{'ops': [...], ...} per round] (paired runs)
    r.reps                repetitions (rounds) per row
    r.load_at_start, r.cpus
"""
import json
import os
import re
import statistics
import sys

# Fields of an entry that are not metrics.
SKIP_KEYS = {'name', 'family_index', 'per_family_instance_index', 'run_name', 'run_type', 'repetitions',
             'repetition_index', 'threads', 'iterations', 'real_time', 'cpu_time', 'time_unit',
             'aggregate_name', 'aggregate_unit', 'error_occurred', 'error_message', 'label',
             'wb_round', 'wb_slot', 'wb_per_thread'}


def parse_name(run_name):
    """'<family>/<workload>/<impl>/real_time/threads:N' -> (family, workload, impl, N) or None."""
    parts = [p for p in run_name.split('/') if p not in ('real_time', 'manual_time') and ':' not in p]
    m = re.search(r'/threads:(\d+)', run_name)
    threads = int(m.group(1)) if m else 1
    if len(parts) < 3:
        return None
    return parts[0], '/'.join(parts[1:-1]), parts[-1], threads


class Results:
    def __init__(self, data):
        self.context = data.get('context', {})
        self.samples, self.rounds, self.per_thread = {}, {}, {}
        aggs = {}
        self.reps = 1
        self.paired = bool(self.context.get('wb_paired'))
        for b in data.get('benchmarks', []):
            if b.get('error_occurred'):
                continue
            key = parse_name(b.get('run_name', b['name']))
            if not key:
                continue
            if b.get('run_type') == 'aggregate':
                if b.get('aggregate_name') != 'median':
                    continue
                target = aggs
            else:
                target = self.samples
            self.reps = max(self.reps, int(b.get('repetitions', 1)))
            rnd = b.get('wb_round', b.get('repetition_index', 0))
            d = target.setdefault(key, {})
            vals = {k: float(v) for k, v in b.items()
                    if k not in SKIP_KEYS and isinstance(v, (int, float)) and not isinstance(v, bool)}
            if vals.get('items_per_second'):
                vals['ns_per_op'] = 1e9 / vals['items_per_second']
            for k, v in vals.items():
                d.setdefault(k, []).append(v)
                if target is self.samples:
                    self.rounds.setdefault(key, {}).setdefault(k, {})[rnd] = v
            if target is self.samples and isinstance(b.get('wb_per_thread'), dict):
                self.per_thread.setdefault(key, []).append(b['wb_per_thread'])
        self.med, self.spread = {}, {}
        for key in set(self.samples) | set(aggs):
            src = self.samples.get(key) or aggs.get(key)
            self.med[key] = {k: statistics.median(v) for k, v in src.items()}
            vals = self.samples.get(key, {}).get('items_per_second', [])
            if len(vals) > 1 and statistics.mean(vals) > 0:
                self.spread[key] = statistics.pstdev(vals) / statistics.mean(vals)
        try:
            self.cpus = int(self.context.get('num_cpus') or 1)
        except (TypeError, ValueError):
            self.cpus = 1
        # what competed for the CPUs when the run started: the other runnable
        # threads sampled just before the first row (wb_runnable_at_start, runs
        # since 2026-12-07), else the 1-minute load average (older runs; raised
        # by a bench run that ended shortly before)
        self.load_measure = 'other runnable threads'
        self.load_at_start = self.context.get('wb_runnable_at_start')
        if self.load_at_start is None:
            self.load_measure = 'load average'
            self.load_at_start = self.context.get('wb_load_at_start')
        if self.load_at_start is None and self.context.get('load_avg'):
            self.load_at_start = self.context['load_avg'][0]

    def med_by_row(self):
        """{('<family>/<workload>/<impl>', threads): {metric: median}} (claims.py's view)."""
        return {('%s/%s/%s' % k[:3], k[3]): v for k, v in self.med.items()}

    def is_filtered(self):
        f = self.context.get('wb_filter')
        return bool(f) and f not in ('.', 'all')


def load(path):
    """The run at @path (results.json, or results.json.xz as the committed reference runs are kept)."""
    if path.endswith('.xz'):
        import lzma
        with lzma.open(path, 'rt') as f:
            return Results(json.load(f))
    with open(path) as f:
        return Results(json.load(f))


def filtered_run(path):
    """True if the run at @path ran a subset of the rows (its context, or machine.json beside it)."""
    if load(path).is_filtered():
        return True
    mpath = os.path.join(os.path.dirname(path), 'machine.json')
    if os.path.exists(mpath):
        with open(mpath) as f:
            bf = json.load(f).get('bench_filter', '')
        return bool(bf) and bf not in ('(all rows)', '.', 'all')
    return False


def table(header, rows):
    """A markdown table: one header row, then @rows; '|' in a cell is escaped.
    The one table writer of report.py, verdict.py and the pages they fill."""
    def cell(c):
        return str(c).replace('|', '\\|')
    out = ['| ' + ' | '.join(cell(h) for h in header) + ' |', '|' + '|'.join('---' for _ in header) + '|']
    for r in rows:
        out.append('| ' + ' | '.join(cell(c) for c in r) + ' |')
    return '\n'.join(out) + '\n'


if __name__ == '__main__':
    # results.py --filtered FILE: exit 0 if FILE is a filtered run, 1 if a full one
    if len(sys.argv) == 3 and sys.argv[1] == '--filtered':
        sys.exit(0 if filtered_run(sys.argv[2]) else 1)
    sys.exit('usage: results.py --filtered RESULTS.json')

