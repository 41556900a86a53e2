// two_lock_ring — a bounded ring with one lock per side: producers serialise on the tail
// lock, consumers on the head lock, and each side learns how full the ring is from the
// other side's index, through a private copy it re-reads only when the copy says
// full/empty. Michael & Scott's two-lock queue (PODC 1996; Java's LinkedBlockingQueue)
// applied to a ring, with MCRingBuffer's cached indices: between one producer and one
// consumer no lock's cache line ever moves. Sleepers wait on not-full / not-empty
// condition variables; a side signals only when the other has a sleeper, learnt by a
// Dekker handshake (publish the index, then read the sleeper count; both seq_cst).
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>

#include <ringlab/detail/adaptive_mutex.hpp>
#include <ringlab/detail/platform.hpp>
#include <ringlab/queue.hpp>

namespace ringlab {

template <class T, unsigned SpinBeforeSleep = 512>
class two_lock_ring {
  // One side's state: its own cache lines, touched by the other side only to read `next`
  // when its copy runs out, and `sleepers` (on a line of its own, rarely written).
  struct side {
    alignas(false_sharing_range) detail::adaptive_mutex lock;
    std::atomic<std::size_t> next{0};  // items pushed (tail side) / popped (head side) so far
    std::size_t slot = 0;              // next % capacity, kept to avoid a division
    std::size_t other_seen = 0;        // copy of the other side's `next`
    std::condition_variable_any wakeup;  // tail side: not-full; head side: not-empty
    alignas(false_sharing_range) std::atomic<unsigned> sleepers{0};
    bool closed = false;               // written under `lock`
  };

 public:
  using value_type = T;
  static constexpr queue_properties properties{.lock_free = false, .blocks_natively = true};

  static constexpr std::size_t max_capacity = std::size_t{1} << 32;

  // first_index: where the counters start, so a test can run them across the wrap.
  explicit two_lock_ring(std::size_t capacity, std::size_t first_index = 0)
      : capacity_(checked(capacity)), slots_(new T[capacity]) {
    for (side* s : {&tail_, &head_}) s->next.store(s->other_seen = first_index, std::memory_order_relaxed);
  }

  std::size_t capacity() const noexcept { return capacity_; }

  bool try_push(const T& item) {
    std::unique_lock lock(tail_.lock);
    return put_locked(item, lock);
  }

  bool try_pop(T& item) {
    std::unique_lock lock(head_.lock);
    return take_locked(item, lock);
  }

  // Try first: the pre-checks below read the other side's index, which try_* avoids.
  bool push(const T& item) {
    if (try_push(item)) return true;
    for (unsigned i = 0; i < SpinBeforeSleep; ++i) {
      if (room_seen() && try_push(item)) return true;
      cpu_relax();
    }
    std::unique_lock lock(tail_.lock);
    tail_.sleepers.fetch_add(1, std::memory_order_seq_cst);
    tail_.wakeup.wait(lock, [&] { return tail_.closed || room_seen(); });
    tail_.sleepers.fetch_sub(1, std::memory_order_relaxed);
    return put_locked(item, lock);  // false: closed while full
  }

  bool pop(T& item) {
    if (try_pop(item)) return true;
    for (unsigned i = 0; i < SpinBeforeSleep; ++i) {
      if (items_seen() && try_pop(item)) return true;
      cpu_relax();
    }
    std::unique_lock lock(head_.lock);
    head_.sleepers.fetch_add(1, std::memory_order_seq_cst);
    head_.wakeup.wait(lock, [&] { return head_.closed || items_seen(); });
    head_.sleepers.fetch_sub(1, std::memory_order_relaxed);
    return take_locked(item, lock);  // false: closed and drained
  }

  void close() {
    for (side* s : {&tail_, &head_}) {
      std::lock_guard lock(s->lock);
      s->closed = true;
      s->wakeup.notify_all();
    }
  }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0) reject_capacity("two_lock_ring", capacity, "is too small: a ring holds at least 1 item");
    if (capacity > max_capacity) reject_capacity("two_lock_ring", capacity, "exceeds the maximum of 2^32 items");
    return capacity;
  }

  // seq_cst loads: the sleeper's half of the handshake with a publishing side.
  bool room_seen() const { return tail_.next.load(std::memory_order_relaxed) - head_.next.load() < capacity_; }
  bool items_seen() const { return tail_.next.load() != head_.next.load(std::memory_order_relaxed); }

  bool put_locked(const T& item, std::unique_lock<detail::adaptive_mutex>& lock) {
    const std::size_t tail = tail_.next.load(std::memory_order_relaxed);
    if (tail - tail_.other_seen == capacity_) {
      tail_.other_seen = head_.next.load(std::memory_order_acquire);
      if (tail - tail_.other_seen == capacity_) return false;
    }
    slots_[tail_.slot] = item;
    if (++tail_.slot == capacity_) tail_.slot = 0;
    publish(tail_, tail + 1, head_, lock);
    return true;
  }

  bool take_locked(T& item, std::unique_lock<detail::adaptive_mutex>& lock) {
    const std::size_t head = head_.next.load(std::memory_order_relaxed);
    if (head == head_.other_seen) {
      head_.other_seen = tail_.next.load(std::memory_order_acquire);
      if (head == head_.other_seen) return false;
    }
    item = slots_[head_.slot];
    if (++head_.slot == capacity_) head_.slot = 0;
    publish(head_, head + 1, tail_, lock);
    return true;
  }

  // Publish the new index, then wake a sleeper of the other side if there is one. The
  // sleeper counts itself before testing the condition, all seq_cst: either it sees this
  // index or this load sees it. Its lock is held while notifying, so the notification
  // cannot fall between its test and its sleep.
  static void publish(side& own, std::size_t next, side& other, std::unique_lock<detail::adaptive_mutex>& lock) {
    own.next.store(next, std::memory_order_seq_cst);
    const bool wake = other.sleepers.load(std::memory_order_seq_cst) > 0;
    lock.unlock();
    if (wake) {
      std::lock_guard other_lock(other.lock);
      other.wakeup.notify_one();
    }
  }

  const std::size_t capacity_;
  std::unique_ptr<T[]> slots_;
  side tail_;
  side head_;
};

}  // namespace ringlab
