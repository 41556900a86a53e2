// Noise guards. On these virtual machines the host moves virtual CPUs under us: a
// cross-PU round trip takes ~100 ns one minute and ~400 ns the next, invisibly to the
// guest, and halves or doubles a throughput figure; any other process does too. So
// around every point: (a) wait, up to a bound, until other processes are quiet;
// (b) probe the round trip between the point's PUs before and after; (c) measure the
// other processes' share of the CPUs and the steal share during the run. A point
// over a threshold is run again (a bounded number of times) and, if still
// disturbed, kept with disturbed=1 so that statistics can leave it out.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "harness/pinning.hpp"
#include "harness/result.hpp"

namespace ringlab::harness {

struct guard_options {
  bool enabled = true;
  double quiet_threshold = 0.10;    // others' busy share of all PUs we wait to fall below
  double quiet_wait_s = 2.0;        // ... for at most this long
  double probe_tolerance = 0.5;     // a probe may exceed the usual (20th percentile) by this fraction
  double foreign_threshold = 0.10;  // others' busy share of all PUs during the run
  double steal_threshold = 0.05;    // the hypervisor's steal share during the run
  unsigned retries = 2;             // extra attempts for a disturbed point
};

// The guards' memory across points: the reference round trip is the 20th percentile of
// every probe so far (a baseline of 8 at the start), robust to a freak fast one.
class noise_guard {
 public:
  noise_guard(const guard_options& options, const topology& topo);
  // Runs `run` under the guards and fills the result's noise columns.
  run_result run(const run_config& cfg, const std::function<run_result()>& run);
  const guard_options& options() const noexcept { return options_; }

 private:
  guard_options options_;
  double reference_probe_ns();
  const topology* topo_;
  std::vector<double> probes_ns_;
};

// One cross-PU round trip between two PUs, in ns (the median of several batches);
// NaN when the machine has a single PU.
double probe_round_trip_ns(const topology& topo, int pu_a, int pu_b);

}  // namespace ringlab::harness
