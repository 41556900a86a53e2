#include "harness/floor.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <ringlab/detail/platform.hpp>

#include "harness/pinning.hpp"

namespace ringlab::harness {
namespace {

double median(std::vector<double> values) {
  if (values.empty()) return NAN;
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

// now - stamp in ns, signed: two PUs' clocks may differ by a tick.
double since_ns(const clock_source& clock, std::uint64_t stamp) {
  return clock.to_ns(static_cast<double>(static_cast<std::int64_t>(clock.ticks() - stamp)));
}

// One null hand-off after another from PU a to PU b: a stores a stamp and the round's
// number, b notes now - stamp once it sees it and answers. `parked`: b sleeps in a futex
// and a wakes it, only once b has announced it is about to sleep and a moment has passed
// (else b would find the flag set and never sleep); otherwise b spins on the flag.
double handoff_median_ns(const topology& topo, int pu_a, int pu_b, int rounds, bool parked) {
  const auto& clock = calibrated_clock();
  alignas(128) std::atomic<std::uint32_t> flag{0};
  alignas(128) std::atomic<std::uint64_t> stamp{0};
  alignas(128) std::atomic<std::uint32_t> asleep{0};  // b: "about to wait for round i"
  alignas(128) std::atomic<std::uint32_t> seen{0};    // b: "round i arrived"
  std::vector<double> delays_ns;
  delays_ns.reserve(static_cast<std::size_t>(rounds));
  std::thread waiter([&] {
    bind_this_thread(topo, pu_b);
    for (std::uint32_t i = 1; i <= static_cast<std::uint32_t>(rounds); ++i) {
      asleep.store(i, std::memory_order_release);
      for (std::uint32_t f; (f = flag.load(std::memory_order_acquire)) != i;) {
        if (parked) detail::futex_wait(flag, f, false);
        else cpu_relax();
      }
      delays_ns.push_back(since_ns(clock, stamp.load(std::memory_order_relaxed)));
      seen.store(i, std::memory_order_release);
    }
  });
  std::thread waker([&] {
    bind_this_thread(topo, pu_a);
    for (std::uint32_t i = 1; i <= static_cast<std::uint32_t>(rounds); ++i) {
      while (asleep.load(std::memory_order_acquire) != i) cpu_relax();
      if (parked) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));  // b is in the futex by then
      } else {  // a moment, so that b's spinning read has the flag's line again
        for (const auto until = clock.ticks() + clock.from_ns(1000); clock.ticks() < until;) cpu_relax();
      }
      stamp.store(clock.ticks(), std::memory_order_relaxed);
      flag.store(i, std::memory_order_release);
      if (parked) detail::futex_wake(flag, 1, false);
      while (seen.load(std::memory_order_acquire) != i) cpu_relax();
    }
  });
  waker.join();
  waiter.join();
  return median(std::move(delays_ns));
}

}  // namespace

floor_figures hiccup_figures(const histogram& gaps, const clock_source& clock) {
  floor_figures f;
  if (!gaps.count()) return f;
  f.p50_ns = clock.to_ns(gaps.percentile(0.50));
  f.p99_ns = clock.to_ns(gaps.percentile(0.99));
  f.max_ns = clock.to_ns(static_cast<double>(gaps.max()));
  return f;
}

floor_figures measure_floor(const topology& topo, int pu_a, int pu_b, double seconds, int handoffs) {
  if (pu_a < 0 || pu_b < 0 || pu_a == pu_b || !(seconds > 0)) return {};
  const auto& clock = calibrated_clock();
  // A histogram is 58 KiB: on the heap, one per PU, merged after.
  auto gaps_a = std::make_unique<histogram>(), gaps_b = std::make_unique<histogram>();
  std::thread on_a([&] {
    bind_this_thread(topo, pu_a);
    record_gaps(clock, seconds, *gaps_a);
  });
  std::thread on_b([&] {
    bind_this_thread(topo, pu_b);
    record_gaps(clock, seconds, *gaps_b);
  });
  on_a.join();
  on_b.join();
  gaps_a->merge(*gaps_b);
  floor_figures f = hiccup_figures(*gaps_a, clock);
  f.wake_ns = handoff_median_ns(topo, pu_a, pu_b, handoffs, true);
  f.spin_ns = handoff_median_ns(topo, pu_a, pu_b, handoffs, false);
  return f;
}

}  // namespace ringlab::harness
