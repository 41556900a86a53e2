// clock/<source>: the cost of one timestamp, as a loop of back-to-back reads on the
// first PU (the reads are not serialised, so this is the cost a hot loop pays per read).
//   clock/rdtsc                     __rdtsc()                        (x86-64 only)
//   clock/clock_gettime_monotonic   clock_gettime(CLOCK_MONOTONIC)   (the vDSO)
//   clock/harness                   calibrated_clock().ticks(): what the harness reads
#include <ctime>
#include <string>

#include "bench/bench_util.hpp"
#include "harness/clock.hpp"

namespace ringlab::bench {
namespace {

template <class Read>
void clock_cost(benchmark::State& state, Read read, const std::string& label) {
  pinned_here pin(first_pu());
  if (!pin.ok()) return state.SkipWithError(pin.why().c_str());
  for (auto _ : state) benchmark::DoNotOptimize(read());
  state.SetLabel("pu " + std::to_string(first_pu()) + ", " + label);
}

}  // namespace

void register_clocks() {
#if defined(__x86_64__)
  benchmark::RegisterBenchmark("clock/rdtsc", [](benchmark::State& s) {
    clock_cost(s, [] { return __rdtsc(); }, "rdtsc");
  });
#endif
  benchmark::RegisterBenchmark("clock/clock_gettime_monotonic", [](benchmark::State& s) {
    clock_cost(s, [] {
      timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      return ts;
    }, "CLOCK_MONOTONIC");
  });
  benchmark::RegisterBenchmark("clock/harness", [](benchmark::State& s) {
    const harness::clock_source& clock = harness::calibrated_clock();  // calibrated before the loop
    clock_cost(s, [&clock] { return clock.ticks(); }, clock.name());
  });
}

}  // namespace ringlab::bench
