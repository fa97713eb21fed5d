#!/usr/bin/env python3
"""ab.py - per-row ratios of two builds run alternately (`make bench-ab`, ab.sh).

usage: bench/report/ab.py [--base-label L] [--out F] [--slower-out F] [--confirms F] DIR

DIR holds base.<r>.<c>.json and new.<r>.<c>.json, one Google Benchmark run
of chunk c of the rows per build and round r (or base.<r>.json, a whole
round), and with AB_AA=1 again.<r>.<c>.json, the new build run a second time
(its A/A ratios are each row's noise).  Each build's rounds are merged into one results set
(round r = repetition r) and verdict.ab_table() pairs them by round.

--slower-out F writes the rows slower beyond the noise to F, one anchored
benchmark-filter regex each (ab.sh runs them again with AB_CONFIRM).
--confirms F says that DIR is that second run and F the first run's list: the
text then ends with how many of the first run's rows are slower beyond the
noise again.
"""
import argparse
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results as resultslib  # noqa: E402
import verdict  # noqa: E402


def round_of(path):
    """<side>.<round>.json, or <side>.<round>.<chunk>.json (ab.sh)."""
    return int(re.search(r'\.(\d+)(?:\.\d+)?\.json$', path).group(1))


def merge(paths):
    out = {'context': {}, 'benchmarks': []}
    rounds = len({round_of(p) for p in paths})
    for p in paths:
        r = round_of(p)
        with open(p) as f:
            data = json.load(f)
        out['context'] = out['context'] or data.get('context', {})
        for b in data.get('benchmarks', []):
            if b.get('run_type', 'iteration') != 'iteration':
                continue
            b = dict(b)
            b['repetition_index'] = r
            b['repetitions'] = rounds
            out['benchmarks'].append(b)
    return resultslib.Results(out)


def row_regex(key):
    """The benchmark-filter regex of the row (family, workload, impl, threads)."""
    family, workload, impl, threads = key
    name = re.escape('%s/%s/%s' % (family, workload, impl))
    return '^%s(/real_time)?%s$' % (name, '/threads:%d' % threads if threads > 1 else '(/threads:1)?')


def confirmation(first, again_keys):
    """The closing lines of a confirmation run: @first, the first run's regexes."""
    again = {row_regex(k) for k in again_keys}
    kept = [r for r in first if r in again]
    text = ('\n## Confirmation\n\nThe first run found %d rows slower beyond the noise; this second, '
            'independent run of those rows alone (its own A/A) finds %d of them slower beyond the noise '
            'again' % (len(first), len(kept)))
    return text + (':\n\n' + ''.join('- `%s`\n' % r for r in kept) if kept else '.\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--base-label', default='base')
    ap.add_argument('--out', default=None)
    ap.add_argument('--slower-out', default=None)
    ap.add_argument('--confirms', default=None)
    ap.add_argument('dir')
    a = ap.parse_args()
    base = merge(sorted(glob.glob(os.path.join(a.dir, 'base.*.json'))))
    new = merge(sorted(glob.glob(os.path.join(a.dir, 'new.*.json'))))
    text = 'Base: %s; new: the working tree; %d rounds, alternating which build runs first.\n\n' % (
        a.base_label, new.reps)
    w = verdict.load_warning(new)
    if w:
        text += w.replace('Verdicts withheld', 'Load warning') + '\n\n'
    again_paths = sorted(glob.glob(os.path.join(a.dir, 'again.*.json')))
    again = merge(again_paths) if again_paths else None
    slower = []
    text += verdict.ab_table(base, new, verdict.stats.B_DEFAULT, again=again, slower_keys=slower)
    if a.slower_out:
        with open(a.slower_out, 'w') as f:
            f.write(''.join(row_regex(k) + '\n' for k in slower))
    if a.confirms:
        with open(a.confirms) as f:
            text += confirmation([line.strip() for line in f if line.strip()], slower)
    sys.stdout.write(text)
    if a.out:
        with open(a.out, 'w') as f:
            f.write(text)
        print('bench-ab: wrote %s' % a.out, file=sys.stderr)


if __name__ == '__main__':
    main()
