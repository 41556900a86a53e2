// Deliberately broken queues: each must be caught by the stress test and by the
// harness's validation, or those checks prove nothing.
#pragma once
#include <atomic>
#include <cstdint>

#include <ringlab/queues/mpmc_ring.hpp>

namespace ringlab::testing {

enum class defect { drop, duplicate, reorder, corrupt_body };

// mpmc_ring that, on every `period`-th push, drops the item, pushes it twice, (reorder)
// holds it back and pushes it after the next one, or (corrupt_body, payload items) flips
// a byte of its body.
template <class T, defect Defect, unsigned Period = 2999>
class broken_queue {
 public:
  using value_type = T;
  static constexpr queue_properties properties{};
  explicit broken_queue(std::size_t capacity) : inner_(capacity < 2 ? 2 : capacity) {}
  std::size_t capacity() const noexcept { return inner_.capacity(); }

  // Every Period-th push is the broken one; one the full ring refused hands its defect on
  // to the next push (otherwise a full ring could swallow every defect).
  bool try_push(const T& item) {
    if (held_ && Defect == defect::reorder) {
      if (!inner_.try_push(item)) return false;
      while (!inner_.try_push(held_item_)) {}  // the held item goes after: out of order
      held_ = false;
      return true;
    }
    const bool broken = pending_.exchange(false) || pushes_.fetch_add(1, std::memory_order_relaxed) % Period == Period - 1;
    if (!broken) return inner_.try_push(item);
    bool done = false;
    switch (Defect) {
      case defect::drop: done = true; break;
      case defect::duplicate:
        if ((done = inner_.try_push(item))) (void)inner_.try_push(item);
        break;
      case defect::reorder:
        held_item_ = item;
        held_ = done = true;
        break;
      case defect::corrupt_body:
        if constexpr (requires(T t) { t.body; }) {
          T bad = item;
          bad.body[sizeof bad.body - 1] ^= std::byte{0x5a};  // the last byte: the harness checks the last word
          done = inner_.try_push(bad);
        } else {
          done = inner_.try_push(item);
        }
        break;
    }
    if (!done) pending_.store(true);
    return done;
  }
  bool try_pop(T& item) { return inner_.try_pop(item); }

 private:
  mpmc_ring<T> inner_;
  std::atomic<std::uint64_t> pushes_{0};
  std::atomic<bool> pending_{false};  // a defect whose push the full ring refused
  // Only meaningful with one producer (the reorder defect is tested 1x1).
  bool held_ = false;
  T held_item_{};
};

// An approximate queue that holds twice the capacity() it reports and declares no
// most_held(): the bound checks (an empty queue filled, and under load) must catch it.
template <class T>
class oversized_queue {
 public:
  using value_type = T;
  static constexpr queue_properties properties{.exact_capacity = false};
  explicit oversized_queue(std::size_t capacity) : capacity_(capacity), inner_(2 * capacity) {}
  std::size_t capacity() const noexcept { return capacity_; }
  bool try_push(const T& item) { return inner_.try_push(item); }
  bool try_pop(T& item) { return inner_.try_pop(item); }

 private:
  std::size_t capacity_;
  mpmc_ring<T> inner_;
};

}  // namespace ringlab::testing
