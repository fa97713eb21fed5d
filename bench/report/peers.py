"""peers.py - how each peer of the benchmark is built and set up, and the
source of that choice (printed by report.py under "How the peers are built").

CONFIG[(family, impl)] = (kind, configuration, source).  kind is "peer" (a
library, set up as its authors recommend) or "baseline" (written for the bench).
"""

CONFIG = {
    ('mutex', 'absl'): (
        'peer', 'absl::Mutex Lock/Unlock; absl::SetMutexDeadlockDetectionMode(kIgnore) at start; '
        'Debian libabsl-dev 20220623 release build',
        'absl/synchronization/mutex.h (SetMutexDeadlockDetectionMode: "When set to \'kIgnore\', tracking of '
        'lock ordering is disabled"); the cost measured in issue 13: 40.8 ns -> 12.9 ns uncontended'),
    ('mutex', 'pthread'): ('peer', 'pthread_mutex_t, PTHREAD_MUTEX_NORMAL (glibc)', 'POSIX; glibc nptl'),
    ('mutex', 'pthread_pshared'): ('peer', 'pthread_mutex_t with PTHREAD_PROCESS_SHARED (compared with '
                                   'weft_mutex_pshared, WEFT_PSHARED, only)', 'POSIX pthread_mutexattr_setpshared'),
    ('mutex', 'pthread_adaptive'): ('peer', 'pthread_mutex_t, PTHREAD_MUTEX_ADAPTIVE_NP (glibc spins before it sleeps)',
                                    'glibc nptl (pthread_mutexattr_settype)'),
    ('spin', 'ck_fas'): ('peer', 'ck_spinlock_fas: test-and-set, spins with ck_pr_stall, never yields (by design)',
                         'Concurrency Kit include/spinlock/fas.h'),
    ('spin', 'ck_ticket'): ('peer', 'ck_spinlock_ticket: FIFO ticket lock, never yields (by design)',
                            'Concurrency Kit include/spinlock/ticket.h'),
    ('spin', 'ck_mcs'): ('peer', 'ck_spinlock_mcs with a per-thread node, never yields (by design)',
                         'Concurrency Kit include/spinlock/mcs.h'),
    ('spin', 'pthread_spin'): ('peer', 'pthread_spinlock_t, PTHREAD_PROCESS_PRIVATE', 'POSIX; glibc nptl'),
    ('spin', 'tbb_spin'): ('peer', 'tbb::spin_mutex lock/unlock (backs off, then yields)', 'oneTBB spin_mutex.h'),
    ('spin', 'tbb_queuing'): ('peer', 'tbb::queuing_mutex, its scoped_lock as the per-thread node',
                              'oneTBB queuing_mutex.h'),
    ('mpmc', 'moodycamel_nonlinearizable'): (
        'peer', 'moodycamel::ConcurrentQueue<void*>, try_enqueue/try_dequeue without tokens; NOT a linearizable '
        'FIFO (FIFO per producer only): listed apart, not compared with weft',
        'concurrentqueue.h (1.0.3)'),
    ('mpmc', 'moodycamel_tokens'): (
        'peer', 'the same with one ProducerToken and one ConsumerToken per thread (enqueue(token), which '
        'allocates blocks as needed, so not bounded; try_dequeue(token)); NOT a linearizable FIFO',
        'concurrentqueue.h: "create a token and use that with the single-item methods ... ideally ... a maximum '
        'of one token per thread (of each kind)"'),
    ('mpmc', 'urcu_wfcq'): (
        'peer', 'cds_wfcq: wait-free enqueue; __cds_wfcq_dequeue_nonblocking under cds_wfcq_dequeue_lock, '
        'CDS_WFCQ_WOULDBLOCK retried outside the lock; unbounded',
        'urcu/wfcqueue.h synchronization table: dequeue needs mutual exclusion, "ensured by holding '
        'cds_wfcq_dequeue_lock()"; the non-blocking dequeue returns CDS_WFCQ_WOULDBLOCK instead of waiting'),
    ('mpmc', 'urcu_lfq'): ('peer', 'cds_lfq (RCU lock-free queue), urcu-memb flavour, nodes freed with call_rcu; '
                           'unbounded', 'urcu/rculfqueue.h'),
    ('mpmc', 'ck_ring_mpmc'): ('peer', 'ck_ring MPMC mode (try only; the bench retries with pause then yield)',
                               'Concurrency Kit include/ck_ring.h'),
    ('mpmc', 'ck_fifo_mpmc'): ('peer', 'ck_fifo_mpmc (Michael-Scott, generation counters); unbounded',
                               'Concurrency Kit include/ck_fifo.h'),
    ('mpmc', 'boost'): ('peer', 'boost::lockfree::queue<void*> with a fixed pool (bounded_push)',
                        'Boost.Lockfree 1.74 documentation'),
    ('mpmc', 'tbb_bounded'): ('peer', 'tbb::concurrent_bounded_queue with set_capacity, blocking push/pop',
                              'oneTBB concurrent_queue.h'),
    ('rwlock', 'pthread'): ('peer', 'pthread_rwlock_t, default (reader-preferring in glibc)', 'glibc nptl'),
    ('rwlock', 'pthread_wpref'): ('peer', 'pthread_rwlock_t, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP',
                                  'glibc pthread_rwlockattr_setkind_np'),
    ('rwlock', 'ck_rwlock'): ('peer', 'ck_rwlock, never yields', 'Concurrency Kit include/ck_rwlock.h'),
    ('rwlock', 'ck_pflock'): ('peer', 'ck_pflock (phase-fair), never yields', 'Concurrency Kit include/ck_pflock.h'),
    ('rwlock', 'ck_brlock'): ('peer', 'ck_brlock (per-reader slots), never yields', 'Concurrency Kit include/ck_brlock.h'),
    ('rwlock', 'urcu'): ('peer', 'userspace RCU (urcu-memb): readers never wait for writers; other semantics, '
                         'not compared with weft', 'liburcu'),
    ('sem', 'sem_t'): ('peer', 'POSIX sem_t (glibc)', 'POSIX'),
    ('cond', 'pthread'): ('peer', 'pthread_cond_t with pthread_mutex_t', 'POSIX'),
    ('once', 'pthread_once'): ('peer', 'pthread_once', 'POSIX'),
    ('barrier', 'pthread_barrier'): ('peer', 'pthread_barrier_t', 'POSIX'),
    ('barrier', 'std_barrier'): ('peer', 'std::barrier (libstdc++, C++20)', 'ISO C++20'),
    ('barrier', 'std_latch'): ('peer', 'std::latch (libstdc++, C++20)', 'ISO C++20'),
    ('counter', 'ck_pr_faa'): ('peer', 'ck_pr_faa_64', 'Concurrency Kit include/ck_pr.h'),
    ('pool', 'glibc'): ('peer', 'malloc/free (glibc)', 'glibc'),
    ('pool', 'mimalloc'): ('peer', 'mimalloc mi_malloc/mi_free (Debian libmimalloc)', 'mimalloc'),
    ('pool', 'jemalloc'): ('peer', 'jemalloc malloc/free (Debian libjemalloc)', 'jemalloc'),
    ('pool', 'ck_stack'): ('peer', 'ck_stack as a free list', 'Concurrency Kit include/ck_stack.h'),
    ('mpmc', 'c2_pthread'): ('baseline', 'scenario C2 queue: sem_t + pthread mutex/cond', 'bench/c2_queue.h'),
    ('mpmc', 'c2_weft'): ('baseline', 'scenario C2 queue on weft_sem/mutex/cond', 'bench/c2_queue.h'),
    ('barrier', 'pthread'): ('baseline', 'latch from a pthread mutex + condition variable', 'bench/bench_once_barrier.c'),
    ('pool', 'pthread'): ('baseline', 'free list under a pthread mutex', 'bench/bench_pool.c'),
    ('counter', 'pthread'): ('baseline', 'counter under a pthread mutex', 'bench/bench_counter.c'),
    ('rwlock', 'pthread_mutex'): ('baseline', 'a pthread mutex used as the rwlock', 'bench/bench_rwlock.c'),
}
