// textbook_mutex_queue — the bounded buffer every tutorial shows: a std::deque guarded
// by one std::mutex, with a "not full" and a "not empty" std::condition_variable;
// every push and pop signals the other side with notify_one while holding the lock,
// whether anyone sleeps or not, and a waiter sleeps at once, without spinning.
// Naive on purpose: it is the strawman, the queue people write first. mutex_ring is the
// same monitor done with care (a ring instead of a deque, signals only to sleepers and
// after unlocking, a short spin before sleeping), so the two measure what care buys.
// Bounded exactly at capacity; push/pop block, close() wakes everyone.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>

#include <ringlab/queue.hpp>

namespace ringlab {

template <class T>
class textbook_mutex_queue {
 public:
  using value_type = T;
  static constexpr queue_properties properties{.lock_free = false, .blocks_natively = true};

  explicit textbook_mutex_queue(std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0)
      reject_capacity("textbook_mutex_queue", capacity, "is too small: the queue must hold at least 1 item");
  }

  std::size_t capacity() const noexcept { return capacity_; }

  bool try_push(const T& item) {
    std::lock_guard lock(mutex_);
    return items_.size() < capacity_ && put(item);
  }

  bool try_pop(T& item) {
    std::lock_guard lock(mutex_);
    return !items_.empty() && take(item);
  }

  bool push(const T& item) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_ || closed_; });
    return items_.size() < capacity_ && put(item);  // full here: closed
  }

  bool pop(T& item) {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    return !items_.empty() && take(item);  // empty here: closed and drained
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

 private:
  // With the lock held.
  bool put(const T& item) {
    items_.push_back(item);
    not_empty_.notify_one();
    return true;
  }
  bool take(T& item) {
    item = items_.front();
    items_.pop_front();
    not_full_.notify_one();
    return true;
  }

  const std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace ringlab
