#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""apps/apps.py - real multithreaded programs from Debian's packages, run on
glibc's pthread locks and on weft's (libweft-preload.so through weft-run, each
mutex kind), interleaved and repeated, every run's output checked.

    apps/apps.py run   [--reps N] [--kinds mutex,spin,...] [--apps a,b] [--out build/apps/results.json]
    apps/apps.py smoke                       one small run of each app on glibc and on weft (default kind):
                                             outputs must be identical (make check)

Each repetition runs every variant once, in a shuffled order (a seeded
shuffle per repetition), so a variant and glibc are paired within one
repetition; the ratio variant/glibc of a repetition is one sample, and the
summary is the geometric mean of the samples with a 95% percentile-bootstrap
interval (B. Efron, R. Tibshirani, "An Introduction to the Bootstrap", 1993).
Lock calls per second come from weft-run's per-thread counters (calls served
by weft, init/destroy excluded) over the run's wall time.

The machine this runs on may be shared and small: intervals are wide, and
the numbers are a run's, not a publication's.
"""
import argparse
import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ["mutex", "spin", "ticket", "mcs", "mutex-nospin"]
# A variant is a mutex kind, or "mutex-nospin": weft_mutex_t with its spin
# before sleeping turned off (WEFT_PRELOAD_MUTEX_SPIN=0), to show what the
# spin does to a program.
VARIANT_ENV = {"mutex-nospin": ("mutex", {"WEFT_PRELOAD_MUTEX_SPIN": "0"})}


def variant_argv(weft_run, variant, stats_file):
    kind, env = VARIANT_ENV.get(variant, (variant, {}))
    return ["env"] + ["%s=%s" % kv for kv in env.items()] + [weft_run, "--mutex=" + kind, "--stats-file=" + stats_file, "--"]

# Each app: a shell command (run with sh -c, so pipelines and redirections
# work; under weft-run every process of it is preloaded), what is checked,
# and why it was chosen.
APPS = {
    "sysbench-mutex": {
        "cmd": "sysbench mutex --threads=4 --mutex-num=64 --mutex-locks={mutex_locks} --mutex-loops=20 run",
        "check": "lines",  # these output lines must be identical to glibc's
        "lines": ["total number of events:", "Threads started!"],
        "why": "sysbench's mutex test is almost nothing but pthread_mutex_lock/unlock on a small array of "
               "mutexes from 4 threads (2 cores: oversubscribed): the upper bound of what a lock can change.",
    },
    "sysbench-threads": {
        "cmd": "sysbench threads --threads=4 --thread-yields={yields} --thread-locks=2 --events={events} --time=0 run",
        "check": "lines",
        "lines": ["total number of events:", "Threads started!"],
        "why": "sysbench's threads test: each event locks one of 2 mutexes and yields the CPU under it, "
               "so lock handoff while the holder is descheduled dominates.",
    },
    "pigz": {
        "cmd": "pigz -p 2 -b 128 -c {input} > {tmp}/c.gz && pigz -p 2 -d -c {tmp}/c.gz > {tmp}/d",
        "check": "roundtrip",
        "compressed": "c.gz",
        "why": "pigz hands 128 KiB blocks between a reader, compressing threads and a writer through "
               "mutex+condvar 'locks' (its yarn.c): a handful of lock calls per block, a real pipeline.",
    },
    "zstd": {
        "cmd": "zstd -q -T2 -3 -c {input} > {tmp}/c.zst && zstd -q -T2 -d -c {tmp}/c.zst > {tmp}/d",
        "check": "roundtrip",
        "compressed": "c.zst",
        "why": "zstd -T runs jobs on its own thread pool (a mutex and condvars around a job queue): "
               "few, coarse lock calls, the common shape of a thread pool.",
    },
    "xz": {
        "cmd": "xz -T2 -1 --block-size=1MiB -c {input} > {tmp}/c.xz && xz -T2 -d -c {tmp}/c.xz > {tmp}/d",
        "check": "roundtrip",
        "compressed": "c.xz",
        "why": "xz -T splits the input into blocks for worker threads that report progress under a mutex "
               "and wait on condvars: coarse locking with longer critical sections than pigz's.",
    },
    "redis": {
        "server": "redis-server --port {port} --bind 127.0.0.1 --io-threads 2 --io-threads-do-reads yes "
                  "--save '' --appendonly no --daemonize no --logfile {tmp}/redis.log --dir {tmp}",
        "ready": "redis-cli -p {port} ping",
        "client": "redis-benchmark -h 127.0.0.1 -p {port} -n {redis_n} -c 32 -P 4 -t set,get,incr,lpush,lpop -q",
        "after": ["redis-cli -p {port} get counter:__rand_int__", "redis-cli -p {port} llen mylist:__rand_int__",
                  "redis-cli -p {port} dbsize"],
        "stop": "redis-cli -p {port} shutdown nosave",
        "check": "server",
        "why": "redis-server with 2 I/O threads on loopback, driven by redis-benchmark (not interposed, the "
               "same client for both): the server's I/O threads, its background threads and jemalloc's arena "
               "mutexes take pthread locks; the INCR counter and the list length afterwards check the server's "
               "answers.",
    },
}

FULL_PARAMS = {"mutex_locks": 3000000, "yields": 50, "events": 1500, "input_mb": 6, "redis_n": 20000}
SMOKE_PARAMS = {"mutex_locks": 2000, "yields": 10, "events": 300, "input_mb": 1, "redis_n": 2000}


def make_input(path, mb):
    """Deterministic, compressible text: words and numbers from a seeded PRNG."""
    if os.path.exists(path) and os.path.getsize(path) >= mb << 20:
        return
    rng = random.Random(18)
    words = ["weft", "warp", "lock", "mutex", "futex", "thread", "queue", "wake", "sleep", "spin",
             "barrier", "signal", "ticket", "node", "cache", "line", "core", "owner", "wait", "post"]
    out = []
    size = 0
    while size < mb << 20:
        line = " ".join(rng.choice(words) if rng.random() < 0.8 else str(rng.randrange(10 ** 6))
                        for _ in range(rng.randrange(4, 16))) + "\n"
        out.append(line)
        size += len(line)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("".join(out))


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_stats(path):
    served = 0
    seconds = 0.0
    ops = {}
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f:
            p = line.split()
            if p[0] == "pid":
                seconds = max(seconds, float(p[5]))
            elif p[0] == "op":
                ops[p[1]] = ops.get(p[1], 0) + int(p[3])
                if "init" not in p[1] and "destroy" not in p[1]:
                    served += int(p[3])
    return {"served": served, "ops": ops, "seconds": seconds}


def free_port():
    import socket
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def run_server(spec, variant, params, weft_run, tmp):
    """A server under the variant, a plain client against it on loopback."""
    port = free_port()
    fmt = dict(params, port=port, tmp=tmp)
    stats_file = os.path.join(tmp, "stats")
    argv = ["sh", "-c", "exec " + spec["server"].format(**fmt)]
    if variant != "glibc":
        argv = variant_argv(weft_run, variant, stats_file) + argv
    srv = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    res = {"rc": 0}
    try:
        deadline = time.time() + 20
        while subprocess.run(spec["ready"].format(**fmt), shell=True, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout.strip() != "PONG":
            if time.time() > deadline or srv.poll() is not None:
                res["rc"] = 97
                res["stderr"] = "server did not start"
                return res, stats_file
            time.sleep(0.05)
        t0 = time.perf_counter()
        p = subprocess.run(spec["client"].format(**fmt), shell=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        res["wall"] = time.perf_counter() - t0
        res["rc"] = p.returncode
        if p.returncode != 0:
            res["stderr"] = p.stderr[-2000:]
        res["signature"] = [subprocess.run(c.format(**fmt), shell=True, stdout=subprocess.PIPE,
                                           text=True).stdout.strip() for c in spec["after"]]
    finally:
        subprocess.run(spec["stop"].format(**fmt), shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            rc = srv.wait(timeout=30)
        except subprocess.TimeoutExpired:
            srv.kill()
            rc = srv.wait()
            res["rc"] = 98
            res["stderr"] = "server did not stop"
        if rc not in (0,) and res["rc"] == 0:
            res["rc"] = rc
            res["stderr"] = "server exit %d" % rc
    return res, stats_file


def run_once(app, variant, params, weft_run, input_path):
    spec = APPS[app]
    if spec["check"] == "server":
        tmp = tempfile.mkdtemp(prefix="weft-apps-")
        try:
            res, stats_file = run_server(spec, variant, params, weft_run, tmp)
            res.setdefault("wall", float("nan"))
            res.setdefault("signature", ["no output"])
            if variant != "glibc":
                st = parse_stats(stats_file)
                res["served"] = st["served"] if st else None
                res["ops"] = st["ops"] if st else {}
                res["served_seconds"] = st["seconds"] if st else None
            return res
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    tmp = tempfile.mkdtemp(prefix="weft-apps-")
    try:
        cmd = spec["cmd"].format(input=input_path, tmp=tmp, **params)
        stats_file = os.path.join(tmp, "stats")
        argv = ["sh", "-c", cmd]
        if variant != "glibc":
            argv = variant_argv(weft_run, variant, stats_file) + argv
        t0 = time.perf_counter()
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
        res = {"wall": wall, "rc": p.returncode}
        if spec["check"] == "lines":
            res["signature"] = [l.strip() for l in p.stdout.splitlines()
                                if any(l.strip().startswith(k) for k in spec["lines"])]
        else:
            d = os.path.join(tmp, "d")
            c = os.path.join(tmp, spec["compressed"])
            res["signature"] = [sha(c) if os.path.exists(c) else "missing",
                                "roundtrip-ok" if os.path.exists(d) and sha(d) == sha(input_path) else "roundtrip-BAD"]
        if p.returncode != 0:
            res["stderr"] = p.stderr[-2000:]
        if variant != "glibc":
            st = parse_stats(stats_file)
            res["served"] = st["served"] if st else None
            res["ops"] = st["ops"] if st else {}
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def geomean_ci(ratios, seed=18, B=4000):
    logs = [math.log(r) for r in ratios if r > 0]
    n = len(logs)
    if n == 0:
        return None
    mean = sum(logs) / n
    rng = random.Random(seed)
    boots = sorted(sum(rng.choice(logs) for _ in range(n)) / n for _ in range(B))
    lo, hi = boots[int(0.025 * B)], boots[min(B - 1, int(0.975 * B))]
    return {"ratio": math.exp(mean), "lo": math.exp(lo), "hi": math.exp(hi), "n": n}


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return None if n == 0 else (xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2]))


def machine():
    info = {"nproc": os.cpu_count()}
    try:
        with open("/proc/loadavg") as f:
            info["loadavg_start"] = f.read().split()[:3]
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        info["glibc"] = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        pass
    return info


def tool_version(app):
    exe = {"sysbench-mutex": "sysbench", "sysbench-threads": "sysbench", "redis": "redis-server"}.get(app, app)
    flag = "--version"
    try:
        out = subprocess.run([exe, flag], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
        return out.strip().splitlines()[0]
    except OSError:
        return "missing"


def cmd_run(args, smoke=False):
    weft_run = os.path.join(ROOT, args.build, "weft-run")
    params = SMOKE_PARAMS if smoke else FULL_PARAMS
    input_path = os.path.join(ROOT, args.build, "apps", "input-%dmb.txt" % params["input_mb"])
    make_input(input_path, params["input_mb"])
    kinds = args.kinds.split(",")
    variants = ["glibc"] + kinds
    apps = args.apps.split(",") if args.apps else list(APPS)
    reps = 1 if smoke else args.reps
    rng = random.Random(args.seed)
    runs = {a: {v: [] for v in variants} for a in apps}
    failures = []
    for rep in range(reps):
        for app in apps:
            order = variants[:]
            rng.shuffle(order)
            for v in order:
                r = run_once(app, v, params, weft_run, input_path)
                runs[app][v].append(r)
                if r["rc"] != 0:
                    failures.append("%s on %s: exit %d: %s" % (app, v, r["rc"], r.get("stderr", "")))
        if not smoke:
            print("apps: repetition %d/%d done" % (rep + 1, reps), file=sys.stderr)
    # every run's output must match glibc's first run
    for app in apps:
        ref = runs[app]["glibc"][0]["signature"]
        if any("BAD" in s or s == "missing" for s in ref):
            failures.append("%s on glibc: bad output %s" % (app, ref))
        for v in variants:
            for i, r in enumerate(runs[app][v]):
                if r["signature"] != ref:
                    failures.append("%s on %s (rep %d): output %s differs from glibc's %s" % (app, v, i, r["signature"], ref))
    results = {"machine": machine(), "reps": reps, "params": params, "apps": {}}
    for app in apps:
        spec = APPS[app]
        shown = spec["cmd"] if "cmd" in spec else spec["server"] + "  +  " + spec["client"]
        a = {"why": spec["why"], "cmd": shown.format(input="INPUT", tmp="TMP", port="PORT", **params),
             "version": tool_version(app), "check": APPS[app]["check"],
             "signature": runs[app]["glibc"][0]["signature"], "variants": {}}
        base = [r["wall"] for r in runs[app]["glibc"]]
        for v in variants:
            walls = [r["wall"] for r in runs[app][v]]
            e = {"wall": walls, "median_s": median(walls)}
            if v != "glibc":
                e["ci"] = geomean_ci([w / b for w, b in zip(walls, base)])
                # calls over the interposed process's life (a server's includes its start and stop)
                rates = [r["served"] / r.get("served_seconds", r["wall"]) for r in runs[app][v]
                         if r.get("served") is not None and r.get("served_seconds", r["wall"])]
                e["lock_calls_per_s"] = median(rates)
                e["ops"] = runs[app][v][0].get("ops", {})
            a["variants"][v] = e
        results["apps"][app] = a
    results["failures"] = failures
    if not smoke:
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    print_table(results, smoke)
    for msg in failures:
        print("apps: FAIL " + msg, file=sys.stderr)
    return 1 if failures else 0


def print_table(results, smoke):
    for app, a in results["apps"].items():
        g = a["variants"]["glibc"]["median_s"]
        if smoke:
            print("apps smoke: %-17s output identical on glibc and weft (%s): %s" % (app, ", ".join(v for v in a["variants"] if v != "glibc"), " ".join(s[:16] for s in a["signature"])))
            continue
        print("%s  (glibc median %.3f s; lower is better)" % (app, g))
        for v, e in a["variants"].items():
            if v == "glibc":
                continue
            ci = e["ci"]
            print("  weft %-6s  median %.3f s  ratio %.3f [%.3f, %.3f]  lock calls/s %s" % (
                v, e["median_s"], ci["ratio"], ci["lo"], ci["hi"],
                "%.0f" % e["lock_calls_per_s"] if e.get("lock_calls_per_s") is not None else "-"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("run", "smoke"):
        p = sub.add_parser(name)
        p.add_argument("--build", default=os.environ.get("BUILD", "build"))
        p.add_argument("--reps", type=int, default=6)
        p.add_argument("--kinds", default=",".join(KINDS))
        p.add_argument("--apps", default="")
        p.add_argument("--seed", type=int, default=18)
        p.add_argument("--out", default=os.path.join(ROOT, "build", "apps", "results.json"))
    args = ap.parse_args()
    sys.exit(cmd_run(args, smoke=(args.cmd == "smoke")))


if __name__ == "__main__":
    main()
