// The open-loop schedule. With a total offered rate R and P producers, producer p's
// item s is due at t0 + (s * P + p) / R: producers interleave evenly, and a producer
// that falls behind keeps its schedule (it never slows the clock down), so a stalled
// queue shows up as latency against the due time instead of vanishing from the
// measurement (no coordinated omission). Closed loop (R = 0) has no schedule.
#pragma once
#include <cstdint>
#include <ctime>

#include "harness/clock.hpp"

namespace ringlab::harness {

struct schedule {
  std::uint64_t t0_ticks = 0;
  double ticks_per_item = 0;  // across all producers; 0 = closed loop
  unsigned producers = 1;

  bool open_loop() const noexcept { return ticks_per_item > 0; }
  std::uint64_t due(unsigned producer, std::uint64_t sequence) const noexcept {
    return t0_ticks + static_cast<std::uint64_t>(static_cast<double>(sequence * producers + producer) * ticks_per_item);
  }
};

// Sleep-then-spin until the clock reaches `due_ticks`; returns the clock then. Sleeps
// only when the wait is long enough for the kernel's wake-up to be early, and spins
// the rest, so items leave on time without burning a core at low rates.
inline std::uint64_t wait_until(const clock_source& clock, std::uint64_t due_ticks, std::uint64_t now) {
  constexpr double sleep_margin_ns = 80'000;  // a nanosleep can overshoot by ~60 us
  while (now < due_ticks) {
    const double ahead_ns = clock.to_ns(static_cast<double>(due_ticks - now));
    if (ahead_ns > 2 * sleep_margin_ns) {
      const auto ns = static_cast<long>(ahead_ns - sleep_margin_ns);
      timespec ts{ns / 1000000000L, ns % 1000000000L};
      nanosleep(&ts, nullptr);
    }
    now = clock.ticks();
  }
  return now;
}

}  // namespace ringlab::harness
