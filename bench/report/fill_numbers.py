#!/usr/bin/env python3
"""fill_numbers.py - fill a Markdown template with numbers from one bench run.

usage: bench/report/fill_numbers.py --results build/bench/results.json TEMPLATE OUT

Prose pages that argue from measurements (docs/choosing.md) are written as
templates (docs/choosing.md.in) whose numbers are placeholders, so that every
number on the page comes from the same run as docs/benchmarks.md and is
refreshed with it by `make report`.  Placeholders (ROW is
<family>/<workload>/<impl>, N the thread count, METRIC any counter of the row;
ns_per_op is 1e9 / items_per_second):

    {{v ROW@N:METRIC}}                       the median, formatted for its unit
    {{r ROW@N:METRIC / ROW@N:METRIC}}        the ratio of two medians, as "2.3x"
    {{verdict FAMILY/PRIM vs PEER:CLASS}}    the class verdict of verdict.py, e.g.
                                             "1.80x faster [1.52, 2.10] (win; rows won/tied/lost 12/3/0)";
                                             CLASS: uncontended, contended, oversubscribed,
                                             latency, cpu ("withheld" on a loaded run)
    {{verdicts FAMILY/PRIM}}                 the primitive's whole class-verdict table (every peer
                                             and class: ratio, interval, verdict, rows won/tied/lost,
                                             worst row), as the report's; for its docs page
    {{losses FAMILY/PRIM}}                   every row of that primitive's class verdicts whose
                                             interval lies wholly on the losing side, the worst 5
                                             ("none in this run" when there is none), so that a
                                             recommendation says where weft loses
    {{claim ROW@N:METRIC > ROW@N:METRIC}}    renders as nothing; checks that the
                                             prose beside it holds in this run
                                             (> or <; several right-hand sides
                                             may be joined with " , ")

A claim that does not hold is listed on stderr like a missing row, so a
sentence such as "the mutex beats every rwlock here" cannot silently outlive
the run it was written from.

A placeholder whose row is missing from the run becomes "n/a" and is listed
on stderr; the script then exits with status 1 so that `make report` says so.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402  (formatting and lookup)
import results as resultslib  # noqa: E402  (the shared loader)

PLACEHOLDER = re.compile(r'\{\{\s*(v|r|claim|verdicts|verdict|losses)\s+([^}]+?)\s*\}\}')


def fmt_value(metric, v):
    if metric in ('ns_per_op', 'cpu_ns_per_op') or metric.endswith('_ns'):
        return report.fmt_ns(v)
    if metric.endswith('_us'):
        return report.fmt_ns(v * 1e3)
    if metric.endswith('_per_second'):
        return report.fmt_num(v) + '/s'
    return '%.3g' % v


LOSSES_SHOWN = 5  # {{losses}} lists the worst rows; the report lists them all


def losses(cells, prim_path):
    """{{losses FAMILY/PRIM}}: the rows PRIM loses against peers and baselines of its
    semantics, worst first, one per (row, peer), as "`row` vs `peer`: 1.4x slower [1.2, 1.6]"."""
    import verdict as verdictlib
    fam, prim = prim_path.split('/', 1)
    if not any(k[0] == fam and k[1] == prim for k in cells):
        raise KeyError(prim_path)
    lost = [(e.ratio, '`%s` vs `%s`: %s %s' % (verdictlib.row_label(key), peer,
                                              verdictlib.fmt_x(e.ratio, *verdictlib.words(cls)),
                                              verdictlib.fmt_ci(e)))
            for key, _, peer, cls, e in verdictlib.lost_rows(cells, only=(fam, prim))]
    if not lost:
        return 'none in this run'
    lost.sort()
    shown = '; '.join(t for _, t in lost[:LOSSES_SHOWN])
    if len(lost) > LOSSES_SHOWN:
        shown += ('; and %d more rows (benchmarks.md, "Every row weft loses")' % (len(lost) - LOSSES_SHOWN))
    return shown


def fill(text, med, res=None):
    """res: the results.Results, needed by {{verdict ...}} (class verdicts, verdict.py)."""
    missing, failed = [], []
    cells = {}

    def one(m):
        kind, body = m.group(1), m.group(2)
        try:
            if kind in ('verdict', 'verdicts', 'losses'):
                import verdict as verdictlib
                if res is None:
                    raise KeyError(body)
                if not cells:
                    cells.update(verdictlib.compute(res))
            if kind == 'losses':
                return losses(cells, body.strip())
            if kind == 'verdicts':
                fam, prim = body.strip().split('/', 1)
                rows = verdictlib.verdict_rows(cells, bool(verdictlib.load_warning(res)), only=(fam, prim))
                if not rows:
                    raise KeyError(body)
                return verdictlib.table(verdictlib.VERDICT_HEADER, rows).rstrip('\n')
            if kind == 'verdict':
                # {{verdict FAMILY/PRIM vs PEER:CLASS}} -> "1.80x faster [1.52, 2.10] (win; rows 12/3/0)"
                lhs, cls = body.rsplit(':', 1)
                prim, peer = (x.strip() for x in lhs.split(' vs '))
                fam, prim = prim.split('/', 1)
                c = cells.get((fam, prim, peer, cls.strip()))
                if c is None or c.est is None:
                    raise KeyError(body)
                better, worse = verdictlib.words(c.cls)
                cnt = c.counts()
                return '%s %s (%s; rows won/tied/lost %d/%d/%d)' % (
                    verdictlib.fmt_x(c.est.ratio, better, worse), verdictlib.fmt_ci(c.est),
                    verdictlib.verdict_word(c, bool(verdictlib.load_warning(res))),
                    cnt['win'], cnt['tie'], cnt['loss'])
            if kind == 'v':
                v = report.lookup(med, body.strip())
                if v is None:
                    raise KeyError(body)
                return fmt_value(body.rsplit(':', 1)[1], v)
            if kind == 'claim':
                op = '>' if ' > ' in body else '<'
                lhs, rhs = (x.strip() for x in body.split(' %s ' % op))
                a = report.lookup(med, lhs)
                if a is None:
                    raise KeyError(body)
                for other in rhs.split(' , '):
                    b = report.lookup(med, other.strip())
                    if b is None:
                        raise KeyError(body)
                    if not (a > b if op == '>' else a < b):
                        failed.append('%s (%.4g vs %.4g)' % (m.group(0), a, b))
                return ''
            num, den = (s.strip() for s in body.split(' / '))
            a, b = report.lookup(med, num), report.lookup(med, den)
            if a is None or b is None or b == 0:
                raise KeyError(body)
            return report.fmt_ratio(a / b)
        except (KeyError, ValueError):
            missing.append(m.group(0))
            return 'n/a'

    return PLACEHOLDER.sub(one, text), missing, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--results', default='build/bench/results.json')
    ap.add_argument('template')
    ap.add_argument('out')
    a = ap.parse_args()
    res = resultslib.load(a.results)
    med = res.med
    with open(a.template) as f:
        text, missing, failed = fill(f.read(), med, res)
    note = ('<!-- Generated by bench/report/fill_numbers.py from %s and %s: edit the .in template, '
            'then run `make report`. -->\n' % (os.path.basename(a.template), os.path.basename(a.results)))
    with open(a.out, 'w') as f:
        f.write(note + text)
    for m in missing:
        print('fill_numbers: no data for %s' % m, file=sys.stderr)
    for c in failed:
        print('fill_numbers: claim does not hold in this run: %s' % c, file=sys.stderr)
    print('fill_numbers: wrote %s (%d placeholders without data, %d claims that do not hold)'
          % (a.out, len(missing), len(failed)))
    sys.exit(1 if missing or failed else 0)


if __name__ == '__main__':
    main()
