// Platform primitives shared by every queue: cache-line geometry, the spin-loop
// hint, and futex wait/wake (the only way a sleeping thread is woken here).
#pragma once
#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace ringlab {

// One cache line, and the distance that keeps two writers from sharing one: x86's
// adjacent-line prefetcher moves lines in pairs, so independent state is 128 apart.
inline constexpr std::size_t cache_line = 64;
inline constexpr std::size_t false_sharing_range = 128;

// Tell the core we are spinning (frees the SMT sibling, saves power, avoids the
// memory-order machine clear when the awaited line changes).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

namespace detail {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
              std::atomic<std::uint32_t>::is_always_lock_free, "futex words must be plain 32-bit atomics");

// Sleep while *word == expected (at most `limit_ns`, if not 0). Private futexes are
// cheaper; process-shared ones are needed when the word lives in memory mapped by
// several processes.
inline void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, bool process_shared,
                       long limit_ns = 0) noexcept {
  const timespec limit{limit_ns / 1'000'000'000L, limit_ns % 1'000'000'000L};
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), process_shared ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE,
            expected, limit_ns ? &limit : nullptr, nullptr, 0);
}

inline void futex_wake(std::atomic<std::uint32_t>& word, int how_many, bool process_shared) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word),
            process_shared ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE, how_many, nullptr, nullptr, 0);
}

inline constexpr int wake_everyone = INT_MAX;

}  // namespace detail
}  // namespace ringlab
