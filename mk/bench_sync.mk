# mk/bench_sync.mk - bench/sync_cxx.cc (the std::barrier / std::latch peers of
# family `barrier`) needs C++20; the rest of the bench is C++17.  GCC and
# Clang take the last -std flag, so appending one overrides bench.mk's.
$(BENCH_BUILD)/sync_cxx.o: BENCH_CXXFLAGS += -std=gnu++20
