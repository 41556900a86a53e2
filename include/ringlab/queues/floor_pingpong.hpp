// floor_pingpong — the physical floor for a round trip: one 64-bit word alone on its
// cache-line pair, used as the slot and its own flag (0 = empty). A ping-pong through
// two of these is one cache-line transfer each way and nothing else: no queue of ours
// can hand an item over faster. Capacity 1, single producer and single consumer.
#pragma once
#include <atomic>
#include <cstdint>
#include <stdexcept>

#include <ringlab/detail/platform.hpp>
#include <ringlab/queue.hpp>

namespace ringlab {

template <class T>
class floor_pingpong {
  static_assert(sizeof(T) == sizeof(std::uint64_t) && std::is_trivially_copyable_v<T>, "one word, never 0");

 public:
  using value_type = T;
  static constexpr queue_properties properties{.spsc_only = true, .refuses = "0 (the empty marker)"};

  explicit floor_pingpong(std::size_t capacity) {
    if (capacity != 1) reject_capacity("floor.pingpong", capacity, "is not 1: the floor is a single word");
  }
  std::size_t capacity() const noexcept { return 1; }

  bool try_push(const T& item) {
    const auto w = std::bit_cast<std::uint64_t>(item);
    if (w == 0) [[unlikely]] throw std::invalid_argument("floor.pingpong: the item 0 is the empty marker and cannot be carried");
    if (word_.load(std::memory_order_relaxed) != 0) return false;
    word_.store(w, std::memory_order_release);
    return true;
  }
  bool try_pop(T& item) {
    const std::uint64_t w = word_.load(std::memory_order_acquire);
    if (w == 0) return false;
    item = std::bit_cast<T>(w);
    word_.store(0, std::memory_order_relaxed);
    return true;
  }

 private:
  alignas(false_sharing_range) std::atomic<std::uint64_t> word_{0};
  char pad_[false_sharing_range - sizeof(std::uint64_t)];
};

}  // namespace ringlab
