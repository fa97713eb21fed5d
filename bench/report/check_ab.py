#!/usr/bin/env python3
"""check_ab.py - ab.py's verdicts and its confirmation step on made-up runs.

usage: bench/report/check_ab.py   (make check-report; exits 1 on a failure)

Writes ab.sh's layout (base.<r>.<c>.json, new..., again...) for three rows
whose truth is known -- one where the new build is 30% slower, one where both
builds are the same, one where it is 30% faster, each with a few % of noise --
and checks that ab.py names only the slower row as slower beyond the noise,
that its --slower-out regex selects exactly that benchmark name, and that a
confirmation run (--confirms) of the same truth finds it again while one where
the row recovered does not.
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROUNDS = 8
ROWS = {  # benchmark name: new/base speed
    'mutex/contended_cs0_out0/weft_mutex/real_time/threads:4': 0.7,
    'mutex/uncontended/weft_mutex/real_time/threads:1': 1.0,
    'spin/contended_cs0_out0/weft_spin/real_time/threads:2': 1.3,
}
SLOWER = 'mutex/contended_cs0_out0/weft_mutex/real_time/threads:4'


def write_run(d, truth, seed):
    rng = random.Random(seed)
    for r in range(ROUNDS):
        for side in ('base', 'new', 'again'):
            benches = []
            for name, ratio in truth.items():
                speed = 1e6 * (1.0 if side == 'base' else ratio) * rng.uniform(0.97, 1.03)
                benches.append({'name': name, 'run_name': name, 'run_type': 'iteration', 'repetitions': 1,
                                'repetition_index': 0, 'threads': int(name.rsplit(':', 1)[1]),
                                'iterations': 1, 'real_time': 1e8, 'cpu_time': 1e8, 'time_unit': 'ns',
                                'items_per_second': speed})
            with open(os.path.join(d, '%s.%d.0.json' % (side, r)), 'w') as f:
                json.dump({'context': {'num_cpus': 2}, 'benchmarks': benches}, f)


def ab(d, *extra):
    out = subprocess.run([sys.executable, os.path.join(HERE, 'ab.py')] + list(extra) + [d],
                         check=True, capture_output=True, text=True)
    return out.stdout


def main():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        first, again_same, again_recovered = (os.path.join(tmp, n) for n in ('first', 'same', 'recovered'))
        for d in (first, again_same, again_recovered):
            os.mkdir(d)
        write_run(first, ROWS, 1)
        slower = os.path.join(tmp, 'slower')
        text = ab(first, '--slower-out', slower)
        with open(slower) as f:
            regexes = [line.strip() for line in f if line.strip()]
        picked = [n for n in ROWS if any(re.search(rx, n) for rx in regexes)]
        if picked != [SLOWER]:
            failures.append('--slower-out selects %s, expected [%s]' % (picked, SLOWER))
        if '1 rows slower beyond the noise' not in text:
            failures.append('the first run does not report 1 row slower beyond the noise')
        write_run(again_same, {SLOWER: 0.7}, 2)
        if 'finds 1 of them slower beyond the noise again' not in ab(again_same, '--confirms', slower):
            failures.append('a confirmation run of the same truth does not confirm the row')
        write_run(again_recovered, {SLOWER: 1.0}, 3)
        if 'finds 0 of them slower beyond the noise again' not in ab(again_recovered, '--confirms', slower):
            failures.append('a confirmation run where the row recovered still confirms it')
    for f in failures:
        print('check_ab: FAILED: ' + f)
    if failures:
        sys.exit(1)
    print('check_ab: ab.py names the slower row, its regex, and confirms it only when it stays slower')


if __name__ == '__main__':
    main()
