// A closable counting semaphore on one futex word. Permits, sleepers and the closed
// bit share the word, so release() learns whether anyone sleeps from the same
// read-modify-write that adds the permit: no fence, no lost wake-up, and no syscall
// when nobody waits. close() wakes every sleeper; acquire() then fails once the
// permits are gone. (std::counting_semaphore cannot be closed; POSIX sem_t needs a
// syscall-free fast path we would have to trust blindly.)
#pragma once
#include <atomic>
#include <cstdint>

#include <ringlab/detail/platform.hpp>

namespace ringlab::detail {

template <bool ProcessShared = false>
class basic_semaphore {
 public:
  static constexpr std::uint32_t max_permits = (1u << 20) - 1;

  explicit basic_semaphore(std::uint32_t initial_permits) noexcept : word_(initial_permits) {}

  bool try_acquire() noexcept {
    std::uint32_t w = word_.load(std::memory_order_relaxed);
    while ((w & permit_mask) != 0) {
      if (word_.compare_exchange_weak(w, w - 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
    }
    return false;
  }

  // Spin a little (watching the count without writing it, so the releasing side keeps
  // its line), then sleep. False only when closed with no permit left.
  bool acquire() noexcept {
    for (unsigned i = 0; i < spin_iterations; ++i) {
      if (permits() != 0 && try_acquire()) return true;
      cpu_relax();
    }
    std::uint32_t w = word_.load(std::memory_order_relaxed);
    for (;;) {
      if ((w & permit_mask) != 0) {
        if (word_.compare_exchange_weak(w, w - 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
        continue;
      }
      if (w & closed_bit) return false;
      // Register as a sleeper only if there is still no permit, in one step.
      if (!word_.compare_exchange_weak(w, w + sleeper_one, std::memory_order_acq_rel, std::memory_order_relaxed))
        continue;
      futex_wait(word_, w + sleeper_one, ProcessShared);
      w = word_.fetch_sub(sleeper_one, std::memory_order_acquire) - sleeper_one;
    }
  }

  void release(std::uint32_t permits = 1) noexcept {
    const std::uint32_t before = word_.fetch_add(permits, std::memory_order_release);
    const std::uint32_t sleepers = (before & sleeper_mask) / sleeper_one;
    if (sleepers != 0) futex_wake(word_, static_cast<int>(sleepers < permits ? sleepers : permits), ProcessShared);
  }

  void close() noexcept {
    word_.fetch_or(closed_bit, std::memory_order_release);
    futex_wake(word_, wake_everyone, ProcessShared);
  }

  std::uint32_t permits() const noexcept { return word_.load(std::memory_order_relaxed) & permit_mask; }

 private:
  static constexpr unsigned spin_iterations = 512;  // about one sleep + wake-up
  static constexpr std::uint32_t permit_mask = max_permits;      // bits 0-19
  static constexpr std::uint32_t sleeper_one = 1u << 20;          // bits 20-30
  static constexpr std::uint32_t sleeper_mask = 0x7ffu << 20;
  static constexpr std::uint32_t closed_bit = 1u << 31;
  std::atomic<std::uint32_t> word_;
};

using semaphore = basic_semaphore<>;

}  // namespace ringlab::detail
