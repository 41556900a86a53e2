// The harness's clock: the invariant TSC when the CPU has one and it proves consistent,
// else CLOCK_MONOTONIC. Both are measured at start-up; the choice, the TSC rate and
// the cost of a read go into every row. Hot loops read `ticks()`; conversion to ns
// happens after the run.
#pragma once
#include <cstdint>
#include <ctime>
#include <string>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace ringlab::harness {

struct clock_source {
  bool use_tsc = false;
  double ns_per_tick = 1.0;      // 1 for CLOCK_MONOTONIC (ticks are ns)
  double tsc_ghz = 0;            // measured TSC rate (0: no TSC)
  double tsc_read_ns = 0;        // cost of one rdtsc
  double monotonic_read_ns = 0;  // cost of one clock_gettime(CLOCK_MONOTONIC)
  bool tsc_invariant = false;    // constant_tsc + nonstop_tsc in /proc/cpuinfo
  bool tsc_consistent = false;   // two calibrations agree and cross-PU reads never go backwards
  std::string kernel_clocksource;  // /sys/.../current_clocksource

  static std::uint64_t monotonic_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
  }
  std::uint64_t ticks() const noexcept {
#if defined(__x86_64__)
    if (use_tsc) return __rdtsc();
#endif
    return monotonic_ns();
  }
  double to_ns(double ticks) const noexcept { return ticks * ns_per_tick; }
  std::uint64_t from_ns(double ns) const noexcept { return static_cast<std::uint64_t>(ns / ns_per_tick); }
  const char* name() const noexcept { return use_tsc ? "tsc" : "clock_monotonic"; }
  double read_ns() const noexcept { return use_tsc ? tsc_read_ns : monotonic_read_ns; }
  std::string describe() const;
};

// Measures both clocks (about 60 ms) and chooses. Cached: the first call calibrates.
const clock_source& calibrated_clock();

// What one read of `clock` costs now, in ns (20000 reads, about 0.2 ms): each run
// measures it afresh, since a VM's clock cost can change under it.
double measure_read_ns(const clock_source& clock);

}  // namespace ringlab::harness
