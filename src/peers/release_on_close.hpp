// close() for libraries whose blocking pop only an item can end: atomic_queue's optimist
// pop spins on the slot it reserved; TBB's abort() reaches only the waits already begun
// when it is called (each pop reads the abort counter as it starts), and the head
// counter its aborted pops give back races with pops that start meanwhile. So close()
// marks the queue closed and pushes one ringlab::release_item per consumer, an item
// like any other that ends one pop: the adapter's pop turns it into "closed, nothing
// popped"; a push or pop that starts after close() sees the flag and only tries.
// The release items go in with the library's try_push while consumers drain the
// queue; if it stays full for `patience`, nobody is popping (a consumer waiting in pop
// holds a slot, so the queue cannot look full), and close() calls `stuck` (TBB: abort()
// frees producers waiting for room) and gives up instead of hanging.
// A thread that has had a release item (from try_pop or pop) is released: its later pops
// take no other, or a consumer already waiting on its slot would wait for ever (a thread
// that mixes try_pop and pop took two, and a TSan stress run hung).
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <sched.h>

#include <ringlab/detail/platform.hpp>
#include <ringlab/queue.hpp>

namespace ringlab::peers {

class release_on_close {
 public:
  explicit release_on_close(unsigned consumers) : consumers_(consumers) {}

  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  // True when `item` is real; false when nothing was popped, or a release item (this
  // thread is then released).
  template <class T>
  bool real(bool popped, const T& item) noexcept {
    if (!popped) return false;
    if (!release_item<T>::is(item)) [[likely]] return true;
    released_by_this_thread_ = id_;
    return false;
  }
  // After close(): whether this thread has had its release item (its pops then only say closed).
  bool released_here() const noexcept { return released_by_this_thread_ == id_; }

  template <class T, class TryPush, class Stuck>
  void close(TryPush&& try_push, Stuck&& stuck, std::chrono::milliseconds patience = std::chrono::seconds(1)) {
    closed_.store(true, std::memory_order_seq_cst);
    const T release = release_item<T>::get();
    for (unsigned c = 0; c < consumers_; ++c) {
      const auto give_up = std::chrono::steady_clock::now() + patience;
      while (!try_push(release)) {
        if (std::chrono::steady_clock::now() > give_up) return stuck();
        ::sched_yield();
      }
    }
  }

 private:
  alignas(false_sharing_range) std::atomic<bool> closed_{false};  // read by every blocking call, written once
  unsigned consumers_;
  // This queue's number, and the one whose release item this thread last had.
  static inline std::atomic<std::uint64_t> queues_made_{0};
  static inline thread_local std::uint64_t released_by_this_thread_ = 0;
  const std::uint64_t id_ = queues_made_.fetch_add(1, std::memory_order_relaxed) + 1;
};

}  // namespace ringlab::peers
