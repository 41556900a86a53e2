// mutex_ring — a bounded ring guarded by one std::mutex, with not-full and not-empty
// condition variables: the monitor solution to the bounded buffer (Hoare 1974; the
// seeds' "lock model" and Condition variants). Two refinements are template options
// so they can be ablated: signal only when someone waits, and spin briefly on the
// ring before sleeping on a condition variable.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>

#include <ringlab/detail/platform.hpp>
#include <ringlab/queue.hpp>

namespace ringlab {

struct mutex_options {
  bool signal_only_waiters = true;  // skip notify when no thread sleeps on that condition
  unsigned spin_before_sleep = 64;  // try_* attempts before sleeping (0: sleep at once)
};

template <class T, mutex_options Options = mutex_options{}>
class mutex_ring {
 public:
  using value_type = T;
  static constexpr queue_properties properties{.lock_free = false, .blocks_natively = true};
  static constexpr std::size_t max_capacity = std::size_t{1} << 32;

  explicit mutex_ring(std::size_t capacity) : capacity_(checked(capacity)), slots_(new T[capacity]) {}

  std::size_t capacity() const noexcept { return capacity_; }

  bool try_push(const T& item) {
    std::unique_lock lock(mutex_);
    if (count_ == capacity_) return false;
    put_locked(item, lock);
    return true;
  }

  bool try_pop(T& item) {
    std::unique_lock lock(mutex_);
    if (count_ == 0) return false;
    take_locked(item, lock);
    return true;
  }

  bool push(const T& item) {
    for (unsigned i = 0; i < Options.spin_before_sleep; ++i) {
      if (try_push(item)) return true;
      cpu_relax();
    }
    std::unique_lock lock(mutex_);
    ++sleeping_producers_;
    not_full_.wait(lock, [&] { return count_ < capacity_ || closed_; });
    --sleeping_producers_;
    if (count_ == capacity_) return false;  // closed while full
    put_locked(item, lock);
    return true;
  }

  bool pop(T& item) {
    for (unsigned i = 0; i < Options.spin_before_sleep; ++i) {
      if (try_pop(item)) return true;
      cpu_relax();
    }
    std::unique_lock lock(mutex_);
    ++sleeping_consumers_;
    not_empty_.wait(lock, [&] { return count_ > 0 || closed_; });
    --sleeping_consumers_;
    if (count_ == 0) return false;  // closed and drained
    take_locked(item, lock);
    return true;
  }

  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_full_.notify_all();
    not_empty_.notify_all();
  }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0) reject_capacity("mutex_ring", capacity, "is too small: a ring holds at least 1 item");
    if (capacity > max_capacity) reject_capacity("mutex_ring", capacity, "exceeds the maximum of 2^32 items");
    return capacity;
  }

  // Notify after unlocking, so the woken thread does not block on the mutex we hold.
  void put_locked(const T& item, std::unique_lock<std::mutex>& lock) {
    std::size_t tail = head_ + count_;
    if (tail >= capacity_) tail -= capacity_;
    slots_[tail] = item;
    ++count_;
    const bool wake = !Options.signal_only_waiters || sleeping_consumers_ > 0;
    lock.unlock();
    if (wake) not_empty_.notify_one();
  }

  void take_locked(T& item, std::unique_lock<std::mutex>& lock) {
    item = slots_[head_];
    if (++head_ == capacity_) head_ = 0;
    --count_;
    const bool wake = !Options.signal_only_waiters || sleeping_producers_ > 0;
    lock.unlock();
    if (wake) not_full_.notify_one();
  }

  const std::size_t capacity_;
  std::unique_ptr<T[]> slots_;
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::size_t head_ = 0;   // oldest item
  std::size_t count_ = 0;  // items inside
  unsigned sleeping_producers_ = 0;
  unsigned sleeping_consumers_ = 0;
  bool closed_ = false;
};

}  // namespace ringlab
