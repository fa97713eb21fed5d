# Probes run by hand (tests/probes/): they measure time, so they assert nothing
# and are not part of `make check`.  (The other probes of tests/probes/ are
# compiled by check-chaos-free, check-lockdep and lockdep-cost.)
#
#   make probe-deadline   how long every timed call takes with a passed deadline,
#                         with a busy loop pinned to the same CPU (PROBE_CALLS
#                         calls each, default 1000; docs/errors.md: under 50 us)

#   make probe-cancel     how long a sleeping cancellable wait takes to return
#                         after weft_cancel(): futex_waitv path, fallback,
#                         process-shared naps (PROBE_CALLS trials each; issue
#                         16's target: p99 <= 100 us on the first two)

#   tests/probes/fastpath_diff.sh REV_A REV_B   (a script, no target): whether
#                         the inline fast paths compile to the same instructions
#                         with the headers of two revisions

PROBES_BUILD   := $(BUILD)/probes
PROBE_DEADLINE := $(PROBES_BUILD)/probe_deadline
PROBE_CALLS    ?= 1000

PROBE_CANCEL   := $(PROBES_BUILD)/probe_cancel_latency
PROBE_FAIR     := $(PROBES_BUILD)/probe_fair_bound
PROBE_ROUNDS   ?= 3

$(eval $(call weft_programs,main,tests/probes,$(PROBES_BUILD),$(PROBE_DEADLINE) $(PROBE_CANCEL) $(PROBE_FAIR)))

.PHONY: probe-deadline
probe-deadline: $(PROBE_DEADLINE)
	$(Q)taskset -c 0 sh -c 'while :; do :; done' & hog=$$!; \
	taskset -c 0 $(PROBE_DEADLINE) $(PROBE_CALLS); rc=$$?; kill $$hog; exit $$rc

HELP_LINES += "make probe-deadline  past-deadline latency of every timed call, CPU hog on the same CPU"

.PHONY: probe-cancel
probe-cancel: $(PROBE_CANCEL)
	$(Q)$(PROBE_CANCEL) $(PROBE_CALLS)

HELP_LINES += "make probe-cancel   cancel-to-return latency of a sleeping waiter (waitv, fallback, pshared naps)"

#   make probe-fair-bound the sweep of weft_mutex_t's fairness bound: C3 at 8
#                         clients (timeouts, p99 wait) and contended throughput
#                         per bound, PROBE_ROUNDS interleaved rounds (docs/mutex.md)
.PHONY: probe-fair-bound
probe-fair-bound: $(PROBE_FAIR)
	$(Q)$(PROBE_FAIR) $(PROBE_ROUNDS)

HELP_LINES += "make probe-fair-bound  the fairness-bound sweep of weft_mutex_t (C3 timeouts, contended throughput)"
