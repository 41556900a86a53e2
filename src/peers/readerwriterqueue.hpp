// Peer: moodycamel's single-producer single-consumer queues (Cameron Desrochers,
// github.com/cameron314/readerwriterqueue; libreaderwriterqueue-dev 1.0.6).
// rwq.ReaderWriterQueue: a linked ring of blocks, each a circular buffer that keeps one
// slot free. Its author's benchmarks/bench.cpp (v1.0.6, "Heavy concurrent", lines 392-414)
// sizes the queue for every item of the run and calls enqueue / try_dequeue; here it is
// sized to the capacity and try_enqueue refuses when full (enqueue would add a block). Pre-sized with the constructor that reserves room for capacity items and
// used with try_enqueue, which never allocates (enqueue adds a block when full: no
// bound). The bound is block-based, hence approximate: never below capacity(); on an
// empty queue, below 1024 one block of 2^k - 1 slots (2^k the power of two above
// capacity: 64 asked -> 127 pushes succeed), from 1024 blocks of 511 plus a spare one
// (1024 -> 2044).
// rwq.BlockingReaderWriterCircularBuffer: one circular buffer and two lightweight
// semaphores (free slots, items): exact. `block` is its own wait_enqueue/wait_dequeue,
// in the timed forms (2 ms) so that close(), which the library lacks, is noticed, as in
// moodycamel.hpp; a timed wait spins, then sleeps on the same semaphore.
#pragma once
#include <atomic>
#include <chrono>
// Under ThreadSanitizer GCC warns at every atomic_thread_fence this library inlines
// (-Wtsan): silenced for its headers alone (<atomic> comes first, outside the pragma, so
// a fence of ours still warns; GCC checks the pragma at each inlined call site).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#include <readerwriterqueue/readerwritercircularbuffer.h>
#include <readerwriterqueue/readerwriterqueue.h>
#pragma GCC diagnostic pop

#include <ringlab/queue.hpp>

#include "peers/adapter.hpp"

namespace ringlab::peers {

template <class T>
class rwq_queue {
 public:
  using value_type = T;
  static constexpr queue_properties properties{.exact_capacity = false, .spsc_only = true};

  explicit rwq_queue(std::size_t capacity) : capacity_("rwq.ReaderWriterQueue", capacity), queue_(capacity) {}

  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t most_held(unsigned) const { return queue_.max_capacity(); }  // its blocks' slots (try_enqueue adds none)
  bool try_push(const T& item) { return queue_.try_enqueue(item); }
  bool try_pop(T& item) { return queue_.try_dequeue(item); }

 private:
  checked_capacity capacity_;
  moodycamel::ReaderWriterQueue<T> queue_;
};

template <class T>
class rwq_circular_buffer {
  static constexpr std::chrono::milliseconds close_check{2};

 public:
  using value_type = T;
  static constexpr queue_properties properties{.spsc_only = true, .blocks_natively = true};

  explicit rwq_circular_buffer(std::size_t capacity)
      : capacity_("rwq.BlockingReaderWriterCircularBuffer", capacity), queue_(capacity) {}

  std::size_t capacity() const noexcept { return capacity_; }
  bool try_push(const T& item) { return queue_.try_enqueue(item); }
  bool try_pop(T& item) { return queue_.try_dequeue(item); }

  bool push(const T& item) {
    while (!queue_.wait_enqueue_timed(item, close_check))
      if (closed_.load(std::memory_order_acquire)) return try_push(item);
    return true;
  }
  bool pop(T& item) {
    while (!queue_.wait_dequeue_timed(item, close_check))
      if (closed_.load(std::memory_order_acquire)) return try_pop(item);
    return true;
  }
  void close() { closed_.store(true, std::memory_order_release); }

 private:
  checked_capacity capacity_;
  moodycamel::BlockingReaderWriterCircularBuffer<T> queue_;
  std::atomic<bool> closed_{false};
};

}  // namespace ringlab::peers
