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
#pragma once
#include <atomic>
#include <chrono>
#include <sched.h>

#include <ringlab/detail/platform.hpp>
#include <ringlab/queue.hpp>

namespace ringlab::peers {

class release_on_close {
 public:
  explicit release_on_close(unsigned consumers) : consumers_(consumers) {}

  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  // True when `item` is real; false when it is a release item (or nothing was popped).
  template <class T>
  static bool real(bool popped, const T& item) noexcept {
    return popped && !release_item<T>::is(item);
  }

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
};

}  // namespace ringlab::peers
