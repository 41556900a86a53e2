// mutex_ring — a bounded ring guarded by one mutex, with not-full and not-empty
// condition variables: the monitor solution to the bounded buffer (Hoare 1974; the
// seeds' "lock model" and Condition variants). The known improvements are options, so
// each can be switched off in an ablation:
//   signal_only_waiters  notify a condition variable only when a thread sleeps on it;
//   spin_before_sleep    before sleeping, watch the item count (an atomic copy, read
//                        without the lock) for this many pauses — about what a sleep
//                        and wake-up costs, so spinning loses at most 2x (Karlin et al.,
//                        competitive spinning, SOSP 1991);
//   adaptive_lock        glibc's adaptive mutex, which spins briefly on contention
//                        instead of sleeping at once as std::mutex does;
//   push_hysteresis      a producer spinning on a full ring waits for a burst of room
//                        (a quarter of the ring, at most 64 slots) for the first half of
//                        its spin, so the two sides take turns in bursts and the lock's
//                        line stays on one core between them. try_push stays exact.
#pragma once
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <type_traits>

#include <ringlab/detail/adaptive_mutex.hpp>
#include <ringlab/detail/platform.hpp>
#include <ringlab/queue.hpp>

namespace ringlab {

struct mutex_options {
  bool signal_only_waiters = true;
  unsigned spin_before_sleep = 512;
  bool adaptive_lock = true;
  bool push_hysteresis = true;
};

template <class T, mutex_options Options = mutex_options{}>
class mutex_ring {
  using lock_type = std::conditional_t<Options.adaptive_lock, detail::adaptive_mutex, std::mutex>;
  using condition = std::conditional_t<Options.adaptive_lock, std::condition_variable_any, std::condition_variable>;

 public:
  using value_type = T;
  static constexpr queue_properties properties{.lock_free = false, .blocks_natively = true};
  static constexpr std::size_t max_capacity = std::size_t{1} << 32;

  explicit mutex_ring(std::size_t capacity) : capacity_(checked(capacity)), slots_(new T[capacity]) {}

  std::size_t capacity() const noexcept { return capacity_; }

  bool try_push(const T& item) {
    std::unique_lock lock(mutex_);
    if (count_.load(std::memory_order_relaxed) == capacity_) return false;
    put_locked(item, lock);
    return true;
  }

  bool try_pop(T& item) {
    std::unique_lock lock(mutex_);
    if (count_.load(std::memory_order_relaxed) == 0) return false;
    take_locked(item, lock);
    return true;
  }

  bool push(const T& item) {
    const std::size_t burst = Options.push_hysteresis ? std::min<std::size_t>(capacity_ / 4, 64) : 0;
    for (unsigned i = 0; i < Options.spin_before_sleep; ++i) {
      const std::size_t room_wanted = i < Options.spin_before_sleep / 2 ? burst : 0;
      if (count_.load(std::memory_order_relaxed) + room_wanted < capacity_ && try_push(item)) return true;
      cpu_relax();
    }
    std::unique_lock lock(mutex_);
    ++sleeping_producers_;
    not_full_.wait(lock, [&] { return count_.load(std::memory_order_relaxed) < capacity_ || closed_; });
    --sleeping_producers_;
    if (count_.load(std::memory_order_relaxed) == capacity_) return false;  // closed while full
    put_locked(item, lock);
    return true;
  }

  bool pop(T& item) {
    for (unsigned i = 0; i < Options.spin_before_sleep; ++i) {
      if (count_.load(std::memory_order_relaxed) > 0 && try_pop(item)) return true;
      cpu_relax();
    }
    std::unique_lock lock(mutex_);
    ++sleeping_consumers_;
    not_empty_.wait(lock, [&] { return count_.load(std::memory_order_relaxed) > 0 || closed_; });
    --sleeping_consumers_;
    if (count_.load(std::memory_order_relaxed) == 0) return false;  // closed and drained
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
  void put_locked(const T& item, std::unique_lock<lock_type>& lock) {
    const std::size_t count = count_.load(std::memory_order_relaxed);
    std::size_t tail = head_ + count;
    if (tail >= capacity_) tail -= capacity_;
    slots_[tail] = item;
    count_.store(count + 1, std::memory_order_relaxed);
    const bool wake = !Options.signal_only_waiters || sleeping_consumers_ > 0;
    lock.unlock();
    if (wake) not_empty_.notify_one();
  }

  void take_locked(T& item, std::unique_lock<lock_type>& lock) {
    item = slots_[head_];
    if (++head_ == capacity_) head_ = 0;
    count_.store(count_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    const bool wake = !Options.signal_only_waiters || sleeping_producers_ > 0;
    lock.unlock();
    if (wake) not_full_.notify_one();
  }

  const std::size_t capacity_;
  std::unique_ptr<T[]> slots_;
  lock_type mutex_;
  condition not_full_;
  condition not_empty_;
  std::size_t head_ = 0;                 // oldest item
  std::atomic<std::size_t> count_{0};    // items inside; written under the lock, peeked at without it
  unsigned sleeping_producers_ = 0;
  unsigned sleeping_consumers_ = 0;
  bool closed_ = false;
};

}  // namespace ringlab
