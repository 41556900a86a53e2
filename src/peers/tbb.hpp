// Peer: oneTBB's concurrent_bounded_queue (Intel, now UXL Foundation; github.com/
// uxlfoundation/oneTBB; libtbb-dev 2021.8). Positions are tickets taken with one atomic
// increment (CAS in try_*) and spread over 8 micro-queues of pages that are allocated as
// they fill (TBB has no pre-sizing); a blocked push or pop sleeps in one of the queue's
// concurrent_monitors. Bounded exactly by set_capacity(capacity). try_push/try_pop for
// the try modes; `block` is its own blocking push/pop. Not lock-free: a thread stalled
// between taking its ticket and filling (emptying) the slot holds up that micro-queue.
// close(): abort() reaches only the waits already begun (each pop reads the abort count
// as it starts: a pop begun just after abort() sleeps until an item comes), and the
// tickets its aborted pops hand back (head_counter--) race with pops starting meanwhile.
// So close() ends pops with one release item per consumer (release_on_close.hpp), as
// pushes end them, and calls abort() only when the queue stays full (nobody is popping)
// to free producers waiting for room; their tbb::user_abort becomes "closed, not pushed".
#pragma once
#include <oneapi/tbb/concurrent_queue.h>

#include <memory>

#include <ringlab/queue.hpp>

#include "peers/adapter.hpp"
#include "peers/release_on_close.hpp"

namespace ringlab::peers {

// TBB takes its pages from libtbbmalloc, which TSan does not instrument: it never sees a
// page freed and handed out again, and reports the reuse as a race. Under TSan only, the
// pages come from malloc, which it follows; everywhere else TBB's own allocator.
#ifdef __SANITIZE_THREAD__
template <class T>
using tbb_page_allocator = std::allocator<T>;
#else
template <class T>
using tbb_page_allocator = oneapi::tbb::cache_aligned_allocator<T>;
#endif

template <class T>
class tbb_bounded_queue {
 public:
  using value_type = T;
  static constexpr queue_properties properties{.lock_free = false, .blocks_natively = true, .refuses = "~0 (close marker)"};

  tbb_bounded_queue(std::size_t capacity, thread_counts threads)
      : capacity_("tbb.concurrent_bounded_queue", capacity, PTRDIFF_MAX), release_(threads.consumers) {
    queue_.set_capacity(static_cast<std::ptrdiff_t>(capacity));
  }
  explicit tbb_bounded_queue(std::size_t capacity) : tbb_bounded_queue(capacity, thread_counts{}) {}

  std::size_t capacity() const noexcept { return capacity_; }
  bool try_push(const T& item) {
    refuse(item);
    return queue_.try_push(item);
  }
  bool try_pop(T& item) { return release_.real(queue_.try_pop(item), item); }

  bool push(const T& item) {
    if (release_.closed()) return try_push(item);
    refuse(item);
    try {
      queue_.push(item);
      return true;
    } catch (const tbb::user_abort&) {
      return false;
    }
  }
  bool pop(T& item) {
    if (release_.closed()) return !release_.released_here() && try_pop(item);
    try {
      queue_.pop(item);
    } catch (const tbb::user_abort&) {  // close() aborts only when no pop waits, but to be safe
      return false;
    }
    return release_.real(true, item);
  }
  void close() {
    release_.close<T>([this](const T& item) { return queue_.try_push(item); }, [this] { queue_.abort(); });
  }

 private:
  static void refuse(const T& item) {
    refuse_reserved(item, [](const T& v) { return release_item<T>::is(v); },
                    "tbb adapter: the item ~0 is the close marker and cannot be carried");
  }
  checked_capacity capacity_;
  oneapi::tbb::concurrent_bounded_queue<T, tbb_page_allocator<T>> queue_;
  release_on_close release_;
};

}  // namespace ringlab::peers
