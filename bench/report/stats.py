"""stats.py - the statistics of the benchmark report, written out (stdlib only).

Paired ratios.  Rows that are compared ran in the same rounds (bench/main.cc,
--wb_rounds): in round r, A and B ran one after the other.  The paired
observation is the log of their ratio, d_r = log(A_r / B_r), oriented so that
d > 0 means "weft better" (higher throughput, or lower time).  A row's ratio is
the geometric mean exp(mean_r d_r); a cell (primitive, peer, class) is the
geometric mean over its rows of the rows' ratios (each row weighs the same,
whatever its number of rounds).

Intervals.  A 95% percentile bootstrap interval (Efron & Tibshirani, "An
Introduction to the Bootstrap", Chapman & Hall 1993, ch. 6 and 13): resample
the rounds of each row with replacement, recompute the statistic, B times; the
interval is the 2.5th and 97.5th percentiles of the B values.  For a cell the
resampling is stratified by row (each row's rounds resampled on their own,
Davison & Hinkley, "Bootstrap Methods and their Application", CUP 1997, sec. 3.7),
since rows are different experiments.  The random generator is seeded from
the row's name, so the same results file always gives the same page.

A verdict is a win when the whole interval is above 1, a loss when it is
below 1, and a tie when it contains 1.
"""
import math
import random
import zlib

B_DEFAULT = 2000


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def paired_logs(a_rounds, b_rounds, lower_is_better=False):
    """Log-ratios log(a/b) over the rounds both rows ran (a, b: {round: value})."""
    out = []
    for r in sorted(set(a_rounds) & set(b_rounds)):
        a, b = a_rounds[r], b_rounds[r]
        if a and b and a > 0 and b > 0:
            d = math.log(a) - math.log(b)
            out.append(-d if lower_is_better else d)
    return out


def boot_means(logs, seed_text, B=B_DEFAULT):
    """B bootstrap replicates of the mean of @logs (resampled with replacement)."""
    n = len(logs)
    if n == 0:
        return []
    rng = random.Random(zlib.crc32(seed_text.encode()))
    draws = rng.choices(logs, k=n * B)
    return [sum(draws[i * n:(i + 1) * n]) / n for i in range(B)]


def percentile_interval(reps, alpha=0.05):
    """The percentile interval of bootstrap replicates (E&T 1993, sec. 13.3)."""
    if not reps:
        return None, None
    s = sorted(reps)
    B = len(s)
    lo = s[max(0, math.ceil(B * alpha / 2) - 1)]
    hi = s[min(B - 1, math.ceil(B * (1 - alpha / 2)) - 1)]
    return lo, hi


class Estimate:
    """A ratio (> 1: weft better) with its 95% interval and bootstrap replicates (log scale)."""

    def __init__(self, logs_mean, reps, n):
        self.log = logs_mean
        self.reps = reps
        self.n = n  # paired observations (rounds) behind it
        lo, hi = percentile_interval(reps)
        self.lo = math.exp(lo) if lo is not None else None
        self.hi = math.exp(hi) if hi is not None else None

    @property
    def ratio(self):
        return math.exp(self.log)

    def verdict(self):
        if self.lo is None or self.n < 2:
            return 'n/a'
        if self.lo > 1.0:
            return 'win'
        if self.hi < 1.0:
            return 'loss'
        return 'tie'


def row_estimate(logs, seed_text, B=B_DEFAULT):
    if not logs:
        return None
    return Estimate(sum(logs) / len(logs), boot_means(logs, seed_text, B), len(logs))


def cell_estimate(row_estimates):
    """Geometric mean over rows; replicates averaged row by row (stratified bootstrap)."""
    rows = [e for e in row_estimates if e is not None and e.reps]
    if not rows:
        return None
    point = sum(e.log for e in rows) / len(rows)
    reps = [sum(col) / len(rows) for col in zip(*(e.reps for e in rows))]
    return Estimate(point, reps, min(e.n for e in rows))
