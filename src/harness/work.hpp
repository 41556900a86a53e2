// Work per item (--work-ns, --producer-work-ns): a calibrated busy loop, as queue papers
// evaluate a queue "with work" (FastForward, B-Queue). Not a clock wait: reading the TSC
// costs ~10 ns itself, too coarse for the 0-50 ns steps that decide which side of an SPSC
// pair is the bottleneck. One iteration is one dependent add the compiler cannot remove;
// how many make a nanosecond is measured once per process: the best of several timings in
// the thread's own CPU time, so that a busy machine preempting the calibration does not
// make every later item's work short.
#pragma once
#include <time.h>

#include <algorithm>
#include <cstdint>

namespace ringlab::harness {

inline void spin_iterations(std::uint64_t n) noexcept {
  for (std::uint64_t i = 0; i < n; ++i) asm volatile("" : "+r"(i));  // i lives in a register: one add per turn
}

inline double work_clock_ns() noexcept {  // this thread's CPU time
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

inline double iterations_per_ns() {
  static const double measured = [] {
    constexpr std::uint64_t turns = 2'000'000;
    double best_ns = 1e30;
    for (int attempt = 0; attempt < 7; ++attempt) {
      const double t0 = work_clock_ns();
      spin_iterations(turns);
      best_ns = std::min(best_ns, work_clock_ns() - t0);
    }
    return static_cast<double>(turns) / best_ns;
  }();
  return measured;
}

// The number of turns for `ns` of work on this machine (0 for none).
inline std::uint64_t work_iterations(std::uint64_t ns) {
  return ns == 0 ? 0 : static_cast<std::uint64_t>(static_cast<double>(ns) * iterations_per_ns() + 0.5);
}

}  // namespace ringlab::harness
