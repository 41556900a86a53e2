#include "harness/clock.hpp"

#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

namespace ringlab::harness {
namespace {

bool cpu_has_flags(std::initializer_list<const char*> wanted) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::string w;
    unsigned found = 0;
    while (words >> w)
      for (const char* f : wanted) found += (w == f);
    return found == wanted.size();
  }
  return false;
}

std::string read_line(const char* path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s.empty() ? "unknown" : s;
}

template <class F>
double cost_per_call_ns(F&& read) {
  constexpr int calls = 200000;
  std::uint64_t sink = 0;
  const auto start = clock_source::monotonic_ns();
  for (int i = 0; i < calls; ++i) sink += read();
  const auto elapsed = clock_source::monotonic_ns() - start;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  return static_cast<double>(elapsed + (sink & 0)) / calls;
}

#if defined(__x86_64__)
// TSC ticks per ns over `window`, bracketing each end between two monotonic reads; of
// several brackets the tightest is kept, so a preemption between reads (a busy
// machine) does not skew the rate.
double tsc_per_ns(std::chrono::milliseconds window) {
  auto sample = [] {
    std::pair<double, double> best{0, 0};
    double best_width = 1e300;
    for (int i = 0; i < 20; ++i) {
      const auto m0 = clock_source::monotonic_ns();
      const auto t = __rdtsc();
      const auto m1 = clock_source::monotonic_ns();
      if (static_cast<double>(m1 - m0) < best_width)
        best_width = static_cast<double>(m1 - m0), best = {(m0 + m1) / 2.0, static_cast<double>(t)};
    }
    return best;
  };
  const auto [m_start, t_start] = sample();
  std::this_thread::sleep_for(window);
  const auto [m_end, t_end] = sample();
  return (t_end - t_start) / (m_end - m_start);
}

// Two threads hand a TSC reading back and forth; a reading that goes backwards across
// PUs means the TSCs are not synchronised and latencies across threads would lie.
bool tsc_monotonic_across_threads() {
  std::atomic<std::uint64_t> baton{0};
  std::atomic<bool> ok{true};
  constexpr int rounds = 2000;
  std::thread other([&] {
    for (int i = 0; i < rounds; ++i) {
      std::uint64_t seen;
      while (((seen = baton.load(std::memory_order_acquire)) & 1) == 0) {}
      if (__rdtsc() < (seen >> 1)) ok = false;
      baton.store(__rdtsc() << 1, std::memory_order_release);
    }
  });
  for (int i = 0; i < rounds; ++i) {
    baton.store((__rdtsc() << 1) | 1, std::memory_order_release);
    std::uint64_t seen;
    while (((seen = baton.load(std::memory_order_acquire)) & 1) != 0) {}
    if (__rdtsc() < (seen >> 1)) ok = false;
  }
  other.join();
  return ok;
}
#endif

clock_source calibrate() {
  clock_source c;
  c.kernel_clocksource = read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  c.monotonic_read_ns = cost_per_call_ns([] { return clock_source::monotonic_ns(); });
#if defined(__x86_64__)
  c.tsc_invariant = cpu_has_flags({"constant_tsc", "nonstop_tsc"});
  c.tsc_read_ns = cost_per_call_ns([] { return __rdtsc(); });
  const double first = tsc_per_ns(std::chrono::milliseconds(25));
  const double second = tsc_per_ns(std::chrono::milliseconds(25));
  c.tsc_ghz = (first + second) / 2;
  c.tsc_consistent = std::fabs(first - second) / c.tsc_ghz < 1e-3 && tsc_monotonic_across_threads();
  c.use_tsc = c.tsc_invariant && c.tsc_consistent && c.tsc_read_ns <= c.monotonic_read_ns * 1.5;
  if (c.use_tsc) c.ns_per_tick = 1.0 / c.tsc_ghz;
#endif
  return c;
}

}  // namespace

std::string clock_source::describe() const {
  return fmt::format("{} ({:.1f} ns per read; tsc {} GHz invariant={} consistent={}, rdtsc {:.1f} ns, "
                     "clock_gettime {:.1f} ns, kernel clocksource {})",
                     name(), read_ns(), tsc_ghz > 0 ? fmt::format("{:.4f}", tsc_ghz) : "n/a", tsc_invariant,
                     tsc_consistent, tsc_read_ns, monotonic_read_ns, kernel_clocksource);
}

double measure_read_ns(const clock_source& clock) {
  constexpr int reads = 20000;
  std::uint64_t sink = 0;
  const auto start = clock_source::monotonic_ns();
  for (int i = 0; i < reads; ++i) sink += clock.ticks();
  const auto elapsed = clock_source::monotonic_ns() - start;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  return static_cast<double>(elapsed + (sink & 0)) / reads;
}

const clock_source& calibrated_clock() {
  static const clock_source the_clock = calibrate();
  return the_clock;
}

}  // namespace ringlab::harness
