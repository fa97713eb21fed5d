#!/usr/bin/env python3
"""bench_machine.py - the machine fingerprint of a benchmark run, as JSON.

CPU model, cores, caches, kernel, compilers, glibc, the peer libraries'
package versions, the load average when the run started, weft's commit and the date.

usage: bench/report/machine.py [--cc CC] [--cxx CXX] [--reps N] [--min-time S] [--filter RE] [-o FILE]
"""
import argparse
import datetime
import json
import os
import platform
import subprocess


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ''


def first_line(text):
    return text.splitlines()[0] if text else ''


def lscpu():
    info = {}
    for line in run(['lscpu']).splitlines():
        if ':' in line:
            k, v = line.split(':', 1)
            info[k.strip()] = v.strip()
    return info


PEERS = ['libbenchmark-dev', 'libck-dev', 'liburcu-dev', 'libconcurrentqueue-dev', 'libboost-dev',
         'libtbb-dev', 'libabsl-dev', 'libmimalloc-dev', 'libjemalloc-dev', 'libc6', 'gnuplot-nox']


def packages():
    out = {}
    for p in PEERS:
        v = run(['dpkg-query', '-W', '-f=${Version}', p])
        if v:
            out[p] = v
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cc', default='cc')
    ap.add_argument('--cxx', default='c++')
    ap.add_argument('--reps', default='')
    ap.add_argument('--min-time', default='')
    ap.add_argument('--filter', default='')
    ap.add_argument('-o', '--out')
    a = ap.parse_args()
    cpu = lscpu()
    m = {
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'hostname': platform.node(),
        'cpu_model': cpu.get('Model name', platform.processor()),
        'cpus_online': os.cpu_count(),
        'threads_per_core': cpu.get('Thread(s) per core', ''),
        'cores_per_socket': cpu.get('Core(s) per socket', ''),
        'sockets': cpu.get('Socket(s)', ''),
        'hypervisor': cpu.get('Hypervisor vendor', ''),
        'l1d': cpu.get('L1d cache', ''),
        'l2': cpu.get('L2 cache', ''),
        'l3': cpu.get('L3 cache', ''),
        'kernel': platform.release(),
        'os': first_line(run(['sh', '-c', '. /etc/os-release && echo "$PRETTY_NAME"'])),
        'glibc': ' '.join(os.confstr('CS_GNU_LIBC_VERSION').split()[1:]) if hasattr(os, 'confstr') else '',
        'cc': first_line(run([a.cc, '--version'])),
        'cxx': first_line(run([a.cxx, '--version'])),
        'loadavg_at_start': ' '.join(open('/proc/loadavg').read().split()[:3]) if os.path.exists('/proc/loadavg') else '',
        'weft_commit': first_line(run(['git', 'describe', '--always', '--dirty'])),
        'packages': packages(),
        'bench_reps': a.reps,
        'bench_min_time': a.min_time,
        'bench_filter': a.filter or '(all rows)',
    }
    text = json.dumps(m, indent=2) + '\n'
    if a.out:
        os.makedirs(os.path.dirname(a.out) or '.', exist_ok=True)
        with open(a.out, 'w') as f:
            f.write(text)
    else:
        print(text, end='')


if __name__ == '__main__':
    main()
