# mk/portability.mk - the sanitizer/compiler matrix and the aarch64 build.
#
#   make check-matrix        every cell (table of pass/fail and seconds at the end)
#   make check-matrix-quick  the subset `make check` runs
#   make check-aarch64       cross-built unit tests under qemu-aarch64
#   make matrix-cell CELL_CC=gcc CELL_SAN=asan CELL_STD=c11 CELL_OPT=O3
#                            one cell (what the three above call)
#
# A cell builds the library, the unit tests and the stress programs with one
# compiler, one sanitizer set, one -std for the library and one -O level, with
# warnings as errors, in its own directory $(BUILD)/matrix/<cell>/, then runs
# the unit suite and the stress suite there.  The -std axis applies to the
# library (src/*.c and every public header it includes): weft itself must build
# as strict ISO C11 and as GNU C11.  Tests and stress programs always build as
# gnu11, because they use POSIX/GNU interfaces (fork, mmap, getopt, syscall).
#
# Sanitizer sets: asan = ASan + UBSan together (-fno-sanitize-recover: the first
# report fails the run), tsan = ThreadSanitizer, none = no sanitizer.

CELL_CC     ?= gcc
CELL_SAN    ?= none
CELL_STD    ?= c11
CELL_OPT    ?= O2
CELL_DEFS   ?=
CELL_TAG    ?=
# What the cell runs: unit, stress, or both.
CELL_PARTS  ?= unit stress
# A command the test programs run under (qemu-aarch64 for a cross build).
CELL_RUNNER ?=
CELL_NAME   := $(subst aarch64-linux-gnu-gcc,aarch64-gcc,$(CELL_CC))-$(CELL_SAN)-$(CELL_STD)-$(CELL_OPT)$(CELL_TAG)
CELL_DIR    := $(BUILD)/matrix/$(CELL_NAME)

# The stress suite in a cell: shorter than `make stress`, same thread counts.
MATRIX_STRESS_SECONDS ?= 1
MATRIX_STRESS_THREADS ?= 2 4 16

CELL_SAN_FLAGS_asan := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CELL_SAN_FLAGS_tsan := -fsanitize=thread
CELL_SAN_FLAGS_none :=
CELL_FLAGS := -$(CELL_OPT) -g $(CELL_SAN_FLAGS_$(CELL_SAN)) $(CELL_DEFS)

# Unit tests a sanitizer cannot run, as "test_name:reason" words (the reason
# with '_' for spaces).  run_tests.sh prints each skip and its reason; the
# programs print "SKIP name"; none is silent.
MATRIX_UNIT_SKIP_asan :=
MATRIX_UNIT_SKIP_none :=
# TSan keeps its lock state per process: a child forked while the parent holds
# the rwlock inherits "this thread holds it for writing", reports a false
# "read lock of a write locked mutex" on its first rdlock, then fails a TSan
# CHECK and dies holding the lock, and the parent waits forever.  (The other
# fork tests do not hold a lock across the fork and run under TSan.)
# test_badinput's test_enomem and test_lockorder's test_env need what TSan
# does not give: malloc returning NULL, and an ABBA inversion nobody reports.
MATRIX_TSAN_FORK_REASON := TSan_cannot_model_a_lock_held_by_another_process_across_fork()_(false_report,_then_a_TSan_CHECK_failure_in_the_child)
# test_fork's children make annotated lock calls right after a fork() while a
# hammer thread was making them in the parent: TSan's deadlock detector keeps
# one spin mutex for all of them (sanitizer_deadlock_detector1.cpp), the fork
# can copy it held, and the child then spins for ever in
# __sanitizer::DD::MutexAfterLock (seen with gdb: 1 run in 4 of the gcc TSan
# cell).  The uninstrumented builds run test_fork (150 forks per lock).
MATRIX_TSAN_DD_FORK_REASON := TSan_deadlock_detector_spin_mutex_copied_held_by_fork()_hangs_the_child_in_DD::MutexAfterLock;_uninstrumented_builds_run_it
MATRIX_UNIT_SKIP_tsan := \
	test_fork_scounter:$(MATRIX_TSAN_DD_FORK_REASON) \
	test_fork_pool:$(MATRIX_TSAN_DD_FORK_REASON) \
	test_fork_wait:$(MATRIX_TSAN_DD_FORK_REASON) \
	test_fork_sleeper:$(MATRIX_TSAN_DD_FORK_REASON) \
	test_fork_lockdep:$(MATRIX_TSAN_DD_FORK_REASON) \
	test_rw_pshared_fork:$(MATRIX_TSAN_FORK_REASON) \
	test_br_pshared_fork:$(MATRIX_TSAN_FORK_REASON) \
	test_enomem:TSan_aborts_on_an_allocation_it_cannot_serve_instead_of_returning_NULL,_and_the_test_caps_the_address_space_TSan_shadow_needs_(it_skips_itself_under_ASan_likewise) \
	test_env:its_ABBA_with_WEFT_LOCKDEP=off_must_not_be_reported,_but_TSan_deadlock_detector_reports_it_(correctly)
# Under qemu-user: qemu ignores the guest's setrlimit(RLIMIT_AS) (it would
# limit qemu itself), so test_enomem's capped address space never runs out.
MATRIX_UNIT_SKIP_qemu := \
	test_enomem:qemu-user_ignores_the_guest_setrlimit(RLIMIT_AS),_so_the_capped_address_space_never_runs_out
CELL_UNIT_SKIP := $(MATRIX_UNIT_SKIP_$(CELL_SAN)) $(if $(filter aarch64-%,$(CELL_CC)),$(MATRIX_UNIT_SKIP_qemu))

CELL_TEST_BINS   := $(TEST_SRCS:tests/%.c=$(CELL_DIR)/tests/%)
CELL_STRESS_BINS := $(STRESS_SRCS:stress/%.c=$(CELL_DIR)/stress/%)

# The cross build's archive needs the cross ar for its symbol index.
CELL_AR := $(if $(filter aarch64-%,$(CELL_CC)),aarch64-linux-gnu-ar,ar)

# The cell's library (its -std last, so it replaces the library's c11), unit
# tests and stress programs (always gnu11), warnings as errors.
$(eval $(call weft_lib_variant,cell,$(CELL_DIR),$(CELL_CC),-Werror $(CELL_FLAGS) -std=$(CELL_STD),$(CELL_AR)))
$(eval $(call weft_programs,cell,tests,$(CELL_DIR)/tests,$(CELL_TEST_BINS)))
$(eval $(call weft_programs,cell,stress,$(CELL_DIR)/stress,$(CELL_STRESS_BINS)))

.PHONY: matrix-cell matrix-cell-build check-matrix check-matrix-quick check-aarch64

matrix-cell-build: $(if $(filter unit,$(CELL_PARTS)),$(CELL_TEST_BINS)) \
                   $(if $(filter stress,$(CELL_PARTS)),$(CELL_STRESS_BINS))

matrix-cell: matrix-cell-build
ifneq ($(filter aarch64-%,$(CELL_CC)),)
	$(Q)scripts/check_aarch64_disasm.sh $(CELL_DIR)/libweft.a
endif
ifneq ($(filter unit,$(CELL_PARTS)),)
	$(Q)WEFT_RUNNER="$(CELL_RUNNER)" WEFT_SKIP="$(CELL_UNIT_SKIP)" scripts/run_tests.sh $(CELL_TEST_BINS)
endif
ifneq ($(filter stress,$(CELL_PARTS)),)
	$(Q)WEFT_RUNNER="$(CELL_RUNNER)" STRESS_SECONDS=$(MATRIX_STRESS_SECONDS) \
		STRESS_THREADS="$(MATRIX_STRESS_THREADS)" scripts/run_stress.sh $(CELL_STRESS_BINS)
endif

# Cells are "cc:san:std:opt[:parts[:defs[:tag]]]" (parts: unit, stress or
# unit+stress, the default; defs: extra flags; tag: a name suffix).  See
# scripts/run_matrix.sh.
MATRIX_CELLS := \
	$(foreach cc,gcc clang,$(foreach san,asan tsan,$(foreach std,c11 gnu11,$(foreach opt,O0 O3,\
		$(cc):$(san):$(std):$(opt))))) \
	gcc:none:c11:O3 clang:none:gnu11:O3 \
	clang:tsan:c11:O1:unit+stress:-DWEFT_WAIT_PORTABLE:-portable \
	gcc:tsan:gnu11:O3:unit+stress:-DWEFT_WAIT_PORTABLE:-portable \
	gcc:asan:c11:O3:unit+stress:-DWEFT_DEBUG:-debug \
	clang:tsan:c11:O1:unit+stress:-DWEFT_DEBUG:-debug \
	aarch64-linux-gnu-gcc:none:c11:O2:unit+stress \
	aarch64-linux-gnu-gcc:none:gnu11:O3:unit:-mno-outline-atomics:-llsc \
	aarch64-linux-gnu-gcc:none:c11:O2:unit:-DWEFT_WAIT_PORTABLE:-portable

# The subset `make check` runs (see README, "Portability and sanitizer matrix").
MATRIX_QUICK_CELLS := \
	gcc:asan:c11:O3 \
	gcc:tsan:gnu11:O0 \
	clang:tsan:c11:O1:stress:-DWEFT_WAIT_PORTABLE:-portable

AARCH64_CELLS := aarch64-linux-gnu-gcc:none:c11:O2:unit::-unit

QEMU_AARCH64 ?= qemu-aarch64 -L /usr/aarch64-linux-gnu

check-matrix:
	$(Q)MAKE="$(MAKE)" BUILD=$(BUILD) QEMU_AARCH64="$(QEMU_AARCH64)" scripts/run_matrix.sh $(MATRIX_CELLS)

check-matrix-quick:
	$(Q)MAKE="$(MAKE)" BUILD=$(BUILD) QEMU_AARCH64="$(QEMU_AARCH64)" scripts/run_matrix.sh $(MATRIX_QUICK_CELLS)

check-aarch64:
	$(Q)MAKE="$(MAKE)" BUILD=$(BUILD) QEMU_AARCH64="$(QEMU_AARCH64)" scripts/run_matrix.sh $(AARCH64_CELLS)

CHECK_STEPS += check-matrix-quick check-aarch64
HELP_LINES  += "make check-matrix  unit+stress under ASan+UBSan/TSan x gcc/clang x c11/gnu11 x -O0/-O3, aarch64 (qemu)" \
               "make check-aarch64 aarch64 cross build, unit tests under qemu-aarch64"

