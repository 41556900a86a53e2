// Noise guards. On these virtual machines the host moves virtual CPUs under us: a
// cross-PU round trip takes one time one minute and several times that the next,
// invisibly to the guest, and a throughput figure moves with it; any other process
// disturbs a run too. So around every run: (a) wait, up to a bound, until other
// processes are quiet; (b) probe the round trip between the run's PUs before and after;
// (c) measure the other processes' share of the CPUs and the steal share during the run.
// A probe before the run that is off the usual one means the machine is in another phase
// (these last seconds to tens of seconds): the guard waits for the usual phase, up to a
// bound, rather than measure one that would be left out anyway.
// A probe away from the usual one by more than the tolerance — slower or faster alike,
// since a fast phase inflates a figure as a slow one deflates it — or a load over its
// threshold marks the run disturbed=1: it is kept in the CSV, statistics leave it out,
// and the sweep runs the point again until it has its undisturbed repetitions.
// (d) Before a run that records latency, the machine's own latency floor on the same two
// PUs (floor.hpp), so that a latency figure can be read against what no queue can beat.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "harness/pinning.hpp"
#include "harness/result.hpp"

namespace ringlab::harness {

struct guard_options {
  bool enabled = true;
  double quiet_threshold = 0.10;    // others' busy share of all PUs we wait to fall below
  double quiet_wait_s = 2.0;        // ... for at most this long
  double probe_tolerance = 0.5;     // a probe may be this fraction above the usual (median), or below it by 1/(1+t)
  double foreign_threshold = 0.10;  // others' busy share of all PUs during the run
  double steal_threshold = 0.05;    // the hypervisor's steal share during the run
  double phase_wait_s = 20;         // before a run, wait up to this long for the usual round trip
  // The floor's window: < 0 the run's own duration, at most 0.25 s (the same as the run,
  // as the issue asks, would double every sweep); 0: no floor.
  double floor_s = -1;
};

// How long the floor before this run is measured: 0 when the run records no latency,
// the guards are off or floor_s is 0.
double floor_window_s(const guard_options& options, const run_config& cfg);

// The guards' memory across points: the usual round trip between two PUs is the median
// of every probe between them so far (a baseline of 8 at the start), which neither a
// fast nor a slow phase moves alone.
class noise_guard {
 public:
  noise_guard(const guard_options& options, const topology& topo);
  // Runs `run` under the guards and fills the result's noise columns.
  run_result run(const run_config& cfg, const std::function<run_result()>& run);
  const guard_options& options() const noexcept { return options_; }
  guard_options& options() noexcept { return options_; }  // later runs follow a change (a test's control)

 private:
  guard_options options_;
  static double reference_probe_ns(const std::vector<double>& probes);
  const topology* topo_;
  std::map<std::pair<int, int>, std::vector<double>> probes_ns_;  // by (PU a, PU b)
};

// Why one probe marks a run disturbed: slower than usual * (1 + tolerance) or faster than
// usual / (1 + tolerance) — symmetric, so a fast phase is left out as a slow one is.
// Empty when it is within, or when either figure is missing.
std::string probe_disturbance(double usual_ns, double probe_ns, double tolerance);

// One cross-PU round trip between two PUs, in ns (the median of several batches);
// NaN when the machine has a single PU.
double probe_round_trip_ns(const topology& topo, int pu_a, int pu_b);

}  // namespace ringlab::harness
