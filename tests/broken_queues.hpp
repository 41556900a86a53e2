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

  // Every Period-th push that succeeds is the broken one (a push refused because the ring
  // was full counts for nothing: otherwise a full ring could swallow every defect).
  bool try_push(const T& item) {
    if (held_ && Defect == defect::reorder) {
      if (!inner_.try_push(item)) return false;
      while (!inner_.try_push(held_item_)) {}  // the held item goes after: out of order
      held_ = false;
      return counted(true);
    }
    if (pushes_.load(std::memory_order_relaxed) % Period != Period - 1) return counted(inner_.try_push(item));
    switch (Defect) {
      case defect::drop: return counted(true);
      case defect::duplicate:
        if (!inner_.try_push(item)) return false;
        (void)inner_.try_push(item);
        return counted(true);
      case defect::reorder:
        held_item_ = item;
        held_ = true;
        return counted(true);
      case defect::corrupt_body:
        if constexpr (requires(T t) { t.body; }) {
          T bad = item;
          bad.body[sizeof bad.body - 1] ^= std::byte{0x5a};  // the last byte: the harness checks the last word
          return counted(inner_.try_push(bad));
        } else {
          return counted(inner_.try_push(item));
        }
    }
    return false;
  }
  bool try_pop(T& item) { return inner_.try_pop(item); }

 private:
  bool counted(bool pushed) {
    if (pushed) pushes_.fetch_add(1, std::memory_order_relaxed);
    return pushed;
  }
  mpmc_ring<T> inner_;
  std::atomic<std::uint64_t> pushes_{0};  // pushes that succeeded
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
