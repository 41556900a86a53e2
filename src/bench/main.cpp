// ringlab-microbench: Google Benchmark micro-costs of the queues, the clocks and the
// physical floors. Families, in the order they are registered (each file says what it
// measures and how):
//   clock/<source>       clocks.cpp       floor/<yardstick>    floors.cpp
//   push_pop/<queue>     push_pop.cpp     round_trip/<queue>   round_trip.cpp
// where <queue> is the name `ringlab list` prints. Names carry no Google Benchmark
// suffixes (no UseRealTime/MinTime), so `--benchmark_filter='round_trip/mpmc_ring$'`
// works; every family reports wall time per iteration as real_time, plus its own
// wall-clock counters (items_per_s, rtt_ns). Any Google Benchmark flag works.
// scripts/microbench runs it and turns the JSON into results/<host>/microbench.csv.
#include <cstdio>
#include <stdexcept>

#include "bench/bench_util.hpp"
#include "harness/clock.hpp"
#include "harness/output.hpp"

namespace ringlab::bench {

const harness::topology& machine() {
  static const harness::topology topo = harness::topology::this_machine();
  return topo;
}

std::optional<pu_pair> two_pus() {
  if (machine().pus().size() < 2) return std::nullopt;
  const auto plan = harness::plan_pinning(machine(), harness::pin_request{}, 1, 1);  // compact
  if (plan.producer_pu[0] == plan.consumer_pu[0]) return std::nullopt;
  return pu_pair{plan.producer_pu[0], plan.consumer_pu[0]};
}

int first_pu() {
  return machine().pus().empty() ? -1 : static_cast<int>(machine().pus().front().os_index);
}

pinned_here::pinned_here(int pu) {
  restore_ = sched_getaffinity(0, sizeof saved_, &saved_) == 0;
  try {
    harness::bind_this_thread(machine(), pu);
  } catch (const std::exception& e) {
    error_ = e.what();
  }
}

pinned_here::~pinned_here() {
  if (restore_) sched_setaffinity(0, sizeof saved_, &saved_);
}

}  // namespace ringlab::bench

int main(int argc, char** argv) {
  using namespace ringlab;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {
    // Topology and clock calibration (about 60 ms) happen here, never in a timed run.
    const auto& clock = harness::calibrated_clock();
    const auto pus = bench::two_pus();
    benchmark::AddCustomContext("ringlab_host", harness::machine_host_id(bench::machine()));
    benchmark::AddCustomContext("ringlab_topology", bench::machine().summary());
    benchmark::AddCustomContext("ringlab_pus", pus ? pus->label() : "one PU: two-thread benchmarks skipped");
    benchmark::AddCustomContext("ringlab_clock", clock.describe());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringlab-microbench: %s\n", e.what());
    return 1;
  }
  bench::register_clocks();
  bench::register_floors();
  bench::register_push_pop();
  bench::register_round_trip();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
