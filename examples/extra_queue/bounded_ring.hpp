// An out-of-tree queue for ringlab: a bounded ring guarded by one mutex. Build it into
// ringlab with `meson setup build -Dextra_queues=examples/extra_queue` (see README.md: Your own queue, out of tree).
// ringlab compiles this header after its registry.hpp, so the last line registers it.
#pragma once
#include <cstddef>
#include <mutex>
#include <vector>

#include <ringlab/queue.hpp>

namespace my {

template <class T>
class bounded_ring {
 public:
  using value_type = T;
  // What the harness may assume and check: locks (not lock-free), any number of
  // producers and consumers, FIFO, exactly capacity() items fit.
  static constexpr ringlab::queue_properties properties{.lock_free = false};

  // The bound the run asked for; 0 is refused with std::invalid_argument, as every
  // ringlab queue refuses a capacity it cannot honour.
  explicit bounded_ring(std::size_t capacity) : slots_(capacity == 0 ? 1 : capacity) {
    if (capacity == 0) ringlab::reject_capacity("my.bounded_ring", capacity, "must be at least 1");
  }
  std::size_t capacity() const noexcept { return slots_.size(); }

  // Never blocks: false when full. The harness's wait strategies (spin, yield, park)
  // retry and sleep around it.
  bool try_push(const T& item) {
    std::lock_guard lock(mutex_);
    if (size_ == slots_.size()) return false;
    slots_[(head_ + size_) % slots_.size()] = item;
    ++size_;
    return true;
  }
  // Never blocks: false when empty.
  bool try_pop(T& item) {
    std::lock_guard lock(mutex_);
    if (size_ == 0) return false;
    item = slots_[head_];
    head_ = (head_ + 1) % slots_.size();
    --size_;
    return true;
  }

 private:
  // Guards every member below; held only for one copy in or out.
  std::mutex mutex_;
  // The items, slots_[head_] the oldest; size_ of them are inside.
  std::vector<T> slots_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace my

// One line, as ringlab's own registrations (src/queue_list.hpp): the name `ringlab list`,
// `run --queue` and `check` use, the class template of the item type, a description.
RINGLAB_REGISTER("my.bounded_ring", ::my::bounded_ring, "example: ring + one std::mutex, try-only (examples/extra_queue)")
