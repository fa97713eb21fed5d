"""targets.py - the benchmark targets of the issues, as data.

bench/report/report.py evaluates every entry on the paired rounds of one run:
the ratio's geometric mean over the rounds with its 95% bootstrap interval
(stats.py), and "met" only when the whole interval satisfies the bound,
"missed" when none of it does, "undecided" when the interval straddles the
bound.  Add your issue's targets here; a target that was missed is not
replaced by an easier reading of the same thing (issue 13 removed six such
re-readings of issue 5's targets: the stall less its run-queue wait, and the
3x over C2 read on the plain producer/consumer rows).

An entry:
    issue   the issue number
    text    what the issue asks, in words
    num     "<row>@<threads>:<metric>"    e.g. "mutex/uncontended/weft_mutex@1:ns_per_op"
    den     the same for the denominator, or None to compare num itself
    op      "<=" or ">="
    bound   the number the ratio (or value) must satisfy

Metrics: any counter of the row (items_per_second, fair_max_min, fair_cv,
wait_p99_ns, cpu_ns_per_op, ...) and ns_per_op = 1e9 / items_per_second
(aggregate time per operation: for one thread, the cost of one operation).
Ratios of ns_per_op compare costs (lower is better); ratios of
items_per_second compare throughput (higher is better).

The "short critical section" of issue 2 is the contended counter with ~50 ns
inside and ~50 ns outside the lock (contended_cs50_out50); the report's tables
show every other cell of the grid too.
"""

SHORT = 'contended_cs50_out50'


def _t(issue, text, num, den, op, bound):
    return {'issue': issue, 'text': text, 'num': num, 'den': den, 'op': op, 'bound': bound}


TARGETS = [
    # ---- issue 2: spinlocks and mutex ----
    _t(2, 'weft_mutex uncontended lock+unlock cost vs pthread_mutex',
       'mutex/uncontended/weft_mutex@1:ns_per_op', 'mutex/uncontended/pthread@1:ns_per_op', '<=', 0.9),
    _t(2, 'weft_mutex uncontended lock+unlock cost vs limit (CAS + exchange)',
       'mutex/uncontended/weft_mutex@1:ns_per_op', 'mutex/uncontended/limit@1:ns_per_op', '<=', 1.15),
    _t(2, 'weft_mutex throughput vs pthread_mutex, 2 threads, short critical section',
       'mutex/%s/weft_mutex@2:items_per_second' % SHORT, 'mutex/%s/pthread@2:items_per_second' % SHORT,
       '>=', 1.3),
    _t(2, 'weft_mutex throughput vs pthread_mutex, 4 threads on 2 cores',
       'mutex/%s/weft_mutex@4:items_per_second' % SHORT, 'mutex/%s/pthread@4:items_per_second' % SHORT,
       '>=', 1.2),
    _t(2, 'weft_mutex throughput vs pthread_mutex, 8 threads on 2 cores',
       'mutex/%s/weft_mutex@8:items_per_second' % SHORT, 'mutex/%s/pthread@8:items_per_second' % SHORT,
       '>=', 1.2),
    _t(2, 'weft_mutex 4-thread throughput vs its own 2-thread throughput (no collapse)',
       'mutex/%s/weft_mutex@4:items_per_second' % SHORT, 'mutex/%s/weft_mutex@2:items_per_second' % SHORT,
       '>=', 0.8),
    _t(2, 'weft_spin uncontended lock+unlock cost vs ck_fas',
       'spin/uncontended/weft_spin@1:ns_per_op', 'spin/uncontended/ck_fas@1:ns_per_op', '<=', 1.05),
    _t(2, 'weft_spin throughput vs ck_ticket, 4 threads on 2 cores',
       'spin/%s/weft_spin@4:items_per_second' % SHORT, 'spin/%s/ck_ticket@4:items_per_second' % SHORT,
       '>=', 50),
    _t(2, 'weft_spin throughput vs ck_ticket, 8 threads on 2 cores',
       'spin/%s/weft_spin@8:items_per_second' % SHORT, 'spin/%s/ck_ticket@8:items_per_second' % SHORT,
       '>=', 50),
    _t(2, 'weft_spin throughput vs pthread_spin, 4 threads on 2 cores',
       'spin/%s/weft_spin@4:items_per_second' % SHORT, 'spin/%s/pthread_spin@4:items_per_second' % SHORT,
       '>=', 1.0),
    _t(2, 'weft_spin throughput vs pthread_spin, 8 threads on 2 cores',
       'spin/%s/weft_spin@8:items_per_second' % SHORT, 'spin/%s/pthread_spin@8:items_per_second' % SHORT,
       '>=', 1.0),
    _t(2, 'weft_ticket per-thread max/min operations, 2 threads',
       'spin/%s/weft_ticket@2:fair_max_min' % SHORT, None, '<=', 1.2),
    _t(2, 'weft_mcs per-thread max/min operations, 2 threads',
       'spin/%s/weft_mcs@2:fair_max_min' % SHORT, None, '<=', 1.2),
    _t(2, 'weft_ticket throughput vs ck_ticket, 4 threads on 2 cores',
       'spin/%s/weft_ticket@4:items_per_second' % SHORT, 'spin/%s/ck_ticket@4:items_per_second' % SHORT,
       '>=', 10),
    _t(2, 'weft_mcs throughput vs ck_ticket, 4 threads on 2 cores',
       'spin/%s/weft_mcs@4:items_per_second' % SHORT, 'spin/%s/ck_ticket@4:items_per_second' % SHORT,
       '>=', 10),
    # ---- issue 3: reader-writer locks ----
    _t(3, 'weft_rwlock uncontended read lock+unlock cost vs pthread_rwlock',
       'rwlock/uncontended_read/weft_rwlock@1:ns_per_op', 'rwlock/uncontended_read/pthread@1:ns_per_op', '<=', 0.5),
    _t(3, 'weft_brlock 100% reads: 2-thread throughput vs its own 1-thread throughput',
       'rwlock/reads100/weft_brlock@2:items_per_second', 'rwlock/reads100/weft_brlock@1:items_per_second',
       '>=', 1.7),
    _t(3, 'weft_rwlock 99/1 reads/writes, 2 threads, vs pthread_rwlock (either weft lock may meet it)',
       'rwlock/reads99/weft_rwlock@2:items_per_second', 'rwlock/reads99/pthread@2:items_per_second', '>=', 3),
    _t(3, 'weft_brlock 99/1 reads/writes, 2 threads, vs pthread_rwlock (either weft lock may meet it)',
       'rwlock/reads99/weft_brlock@2:items_per_second', 'rwlock/reads99/pthread@2:items_per_second', '>=', 3),
    _t(3, 'weft_rwlock 100% writes vs pthread_mutex, 2 threads',
       'rwlock/writes100/weft_rwlock@2:items_per_second', 'rwlock/writes100/pthread_mutex@2:items_per_second',
       '>=', 0.9),
    # read on the p99 of every round (a paired interval), not on one run's maximum
    _t(3, 'weft_rwlock writer wait (p99) under continuous readers vs pthread_rwlock writer-preferring, 4 threads',
       'rwlock/writer_wait/weft_rwlock@4:writer_wait_p99_ns', 'rwlock/writer_wait/pthread_wpref@4:writer_wait_p99_ns',
       '<=', 1.0),
    # ---- issue 3: condition variable and semaphore ----
    _t(3, 'weft_cond_signal with no waiter vs pthread_cond_signal',
       'cond/signal_nowaiter/weft_cond@1:ns_per_op', 'cond/signal_nowaiter/pthread@1:ns_per_op', '<=', 1.0),
    _t(3, 'weft_sem post+wait uncontended vs sem_t',
       'sem/post_wait/weft_sem@1:ns_per_op', 'sem/post_wait/sem_t@1:ns_per_op', '<=', 1.0),
    _t(3, 'ping-pong through weft_sem vs sem_t (round trips per second)',
       'sem/pingpong/weft_sem@2:items_per_second', 'sem/pingpong/sem_t@2:items_per_second', '>=', 2),
    _t(3, 'ping-pong through weft_cond vs pthread_cond (round trips per second)',
       'cond/pingpong/weft_cond@2:items_per_second', 'cond/pingpong/pthread@2:items_per_second', '>=', 2),
    _t(3, 'broadcast to 8 sleeping waiters until all re-acquired the mutex (median) vs pthread_cond_broadcast',
       'cond/broadcast8/weft_cond@9:wakeall_p50_ns', 'cond/broadcast8/pthread@9:wakeall_p50_ns', '<=', 0.5),
    # ---- issue 4: counters and pool ----
    _t(4, 'weft_scounter increments, 2 threads, vs a single shared atomic add (aggregate throughput)',
       'counter/inc/weft_scounter@2:items_per_second', 'counter/inc/limit@2:items_per_second', '>=', 4),
    _t(4, 'weft_scounter uncontended increment cost vs a single atomic add',
       'counter/inc/weft_scounter@1:ns_per_op', 'counter/inc/limit@1:ns_per_op', '<=', 1.0),
    _t(4, 'weft_pool get+put on one thread vs glibc malloc+free (64 bytes)',
       'pool/pair/weft_pool@1:ns_per_op', 'pool/pair/glibc@1:ns_per_op', '<=', 0.5),
    _t(4, 'weft_pool producer/consumer across threads vs the ck_stack free list, 2 threads',
       'pool/prodcons/weft_pool@2:items_per_second', 'pool/prodcons/ck_stack@2:items_per_second', '>=', 3),
    _t(4, 'weft_pool producer/consumer across threads vs glibc malloc/free, 2 threads',
       'pool/prodcons/weft_pool@2:items_per_second', 'pool/prodcons/glibc@2:items_per_second', '>=', 1.0),
    _t(4, 'weft_pool producer/consumer across threads vs mimalloc, 2 threads',
       'pool/prodcons/weft_pool@2:items_per_second', 'pool/prodcons/mimalloc@2:items_per_second', '>=', 1.0),
    # ---- issue 5: bounded MPMC queue ----
    _t(5, 'weft_mpmc enqueue+dequeue pair on one thread vs ck_ring (MPMC)',
       'mpmc/pair/weft@1:ns_per_op', 'mpmc/pair/ck_ring_mpmc@1:ns_per_op', '<=', 1.1),
] + [
    # "the best linearizable peer": at least 1.2x each of them
    _t(5, 'weft_mpmc pairs at 2 threads vs %s' % peer,
       'mpmc/pair/weft@2:items_per_second', 'mpmc/pair/%s@2:items_per_second' % peer, '>=', 1.2)
    for peer in ('ck_ring_mpmc', 'ck_fifo_mpmc', 'urcu_wfcq', 'urcu_lfq', 'boost', 'tbb_bounded',
                 'c2_weft', 'c2_pthread')
] + [
    _t(5, 'weft_mpmc pairs at %d threads on 2 cores vs the C2 queue (%s)' % (n, c2),
       'mpmc/pair/weft@%d:items_per_second' % n, 'mpmc/pair/%s@%d:items_per_second' % (c2, n), '>=', 1.0)
    for n in (4, 8) for c2 in ('c2_weft', 'c2_pthread')
] + [
    _t(5, 'weft_mpmc pairs at %d threads: worst stall of any thread (us; includes time descheduled)' % n,
       'mpmc/pair/weft@%d:stall_max_us' % n, None, '<=', 10000)
    for n in (4, 8)
] + [
    _t(5, 'weft_mpmc blocking producers, slow consumer (%d threads) vs the C2 queue (%s)' % (n, c2),
       'mpmc/slow_consumer/weft@%d:items_per_second' % n,
       'mpmc/slow_consumer/%s@%d:items_per_second' % (c2, n), '>=', 3)
    for n in (2, 4) for c2 in ('c2_weft', 'c2_pthread')
]
