// semaphore_ring — Dijkstra's bounded buffer (EWD123, 1965; the seeds' semaphore
// variant): counting semaphores `empty` (free slots) and `full` (items), and a mutex
// around the ring. The semaphores already keep producers and consumers on different
// slots, so each side has its own mutex (the two-lock refinement) — a producer never
// waits for a consumer's critical section.
#pragma once
#include <cstddef>
#include <memory>
#include <mutex>

#include <ringlab/detail/semaphore.hpp>
#include <ringlab/queue.hpp>

namespace ringlab {

template <class T>
class semaphore_ring {
 public:
  using value_type = T;
  static constexpr queue_properties properties{.lock_free = false, .blocks_natively = true};
  static constexpr std::size_t max_capacity = detail::semaphore::max_permits;

  explicit semaphore_ring(std::size_t capacity)
      : capacity_(checked(capacity)), slots_(new T[capacity]), empty_(static_cast<std::uint32_t>(capacity)), full_(0) {}

  std::size_t capacity() const noexcept { return capacity_; }

  bool try_push(const T& item) {
    if (!empty_.try_acquire()) return false;
    put(item);
    return true;
  }
  bool try_pop(T& item) {
    if (!full_.try_acquire()) return false;
    take(item);
    return true;
  }
  bool push(const T& item) {
    if (!empty_.acquire()) return false;
    put(item);
    return true;
  }
  bool pop(T& item) {
    if (!full_.acquire()) return false;
    take(item);
    return true;
  }
  void close() {
    empty_.close();
    full_.close();
  }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0) reject_capacity("semaphore_ring", capacity, "is too small: a ring holds at least 1 item");
    if (capacity > max_capacity)
      reject_capacity("semaphore_ring", capacity, "exceeds the semaphore's maximum of 1048575 permits");
    return capacity;
  }
  void put(const T& item) {
    {
      std::lock_guard lock(producer_mutex_);
      slots_[tail_] = item;
      if (++tail_ == capacity_) tail_ = 0;
    }
    full_.release();
  }
  void take(T& item) {
    {
      std::lock_guard lock(consumer_mutex_);
      item = slots_[head_];
      if (++head_ == capacity_) head_ = 0;
    }
    empty_.release();
  }

  const std::size_t capacity_;
  std::unique_ptr<T[]> slots_;
  alignas(false_sharing_range) detail::semaphore empty_;  // free slots
  alignas(false_sharing_range) detail::semaphore full_;   // items ready
  alignas(false_sharing_range) std::mutex producer_mutex_;
  std::size_t tail_ = 0;  // next slot to fill
  alignas(false_sharing_range) std::mutex consumer_mutex_;
  std::size_t head_ = 0;  // next slot to read
};

}  // namespace ringlab
