// The machine's own latency floor on a run's two PUs, measured just before the run: what
// no queue can beat there, so a latency figure can be read against it (issue 23).
// (a) Hiccups: a do-nothing loop pinned on each PU reads the clock as fast as it can and
//     records every gap between two reads (as jHiccup does): the median is the loop's own
//     cost, the tail is the machine taking the PU away (ticks, interrupts, the hypervisor).
// (b) Null hand-offs between the two PUs: one thread stores a stamp and a flag, the other
//     notes now - stamp when it sees the flag; parked in a futex (wake) or spinning on
//     the flag (spin). A hand-off that really sleeps is no faster than wake; one that
//     spins, than spin (a park queue whose consumer spins a while first can beat wake).
#pragma once
#include <cmath>
#include <cstdint>

#include "harness/clock.hpp"
#include "harness/histogram.hpp"

namespace ringlab::harness {

class topology;

struct floor_figures {
  double p50_ns = NAN, p99_ns = NAN, max_ns = NAN;  // gaps in a do-nothing loop's progress, both PUs
  double wake_ns = NAN, spin_ns = NAN;              // medians of null hand-offs, parked and spinning
};

// The gaps between consecutive clock reads of one tight loop, for `seconds`, in ticks.
// `each(i)` runs after the i-th read: a test puts a disturbance there; the measurement
// passes nothing, and the empty call compiles away.
template <class Each>
void record_gaps(const clock_source& clock, double seconds, histogram& gaps, Each each) {
  const std::uint64_t end = clock.ticks() + clock.from_ns(seconds * 1e9);
  std::uint64_t last = clock.ticks();
  for (std::uint64_t i = 0;; ++i) {
    const std::uint64_t now = clock.ticks();
    gaps.record(now - last);
    if (now >= end) return;
    last = now;
    each(i);
  }
}
inline void record_gaps(const clock_source& clock, double seconds, histogram& gaps) {
  record_gaps(clock, seconds, gaps, [](std::uint64_t) {});
}

// The hiccup figures of recorded gaps (in ticks of `clock`): p50, p99, max in ns.
floor_figures hiccup_figures(const histogram& gaps, const clock_source& clock);

// Hiccups on both PUs at once for `seconds`, then `handoffs` null hand-offs each way of
// waiting (PU a wakes, PU b waits). All NaN when the PUs are not two distinct ones or
// `seconds` is not > 0.
floor_figures measure_floor(const topology& topo, int pu_a, int pu_b, double seconds, int handoffs = 256);

}  // namespace ringlab::harness
