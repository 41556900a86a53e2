// Peer: moodycamel::ConcurrentQueue and BlockingConcurrentQueue (Cameron Desrochers,
// libconcurrentqueue-dev) — the baseline every result is compared with.
// Used as its author recommends for speed: pre-sized with the constructor that takes
// the number of explicit producers, one ProducerToken / ConsumerToken per thread, and
// try_enqueue, which never allocates. But blocks stay with the producer that filled
// them, so with try_enqueue alone one producer can hold every block and starve the
// others forever (upstream issues #193, #292, #324; our stress test hangs on it). So
// when try_enqueue fails while fewer than capacity() items are inside, we enqueue()
// (which may allocate a block once). The bound is therefore approximate: at least
// capacity(), plus whatever the pre-sized blocks hold. Order: per producer only.
// Blocking variant: its own semaphore-backed wait_dequeue; bounded enqueue cannot
// block in this library, so a full queue is retried with sched_yield.
#pragma once
#include <atomic>
#include <chrono>
// Under ThreadSanitizer GCC warns at every atomic_thread_fence this library inlines
// (-Wtsan): silenced for its headers alone (<atomic> comes first, outside the pragma, so
// a fence of ours still warns; GCC checks the pragma at each inlined call site).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#include <concurrentqueue/blockingconcurrentqueue.h>
#include <concurrentqueue/concurrentqueue.h>
#pragma GCC diagnostic pop
#include <sched.h>

#include <ringlab/queue.hpp>

namespace ringlab::peers {

template <class T, template <class...> class Library>
class moodycamel_adapter {
  using library_queue = Library<T>;
  static constexpr bool blocking = std::is_same_v<library_queue, moodycamel::BlockingConcurrentQueue<T>>;

 public:
  using value_type = T;
  static constexpr queue_properties properties{
      .linearizable = false, .exact_capacity = false, .blocks_natively = blocking};

  moodycamel_adapter(std::size_t capacity, thread_counts threads)
      : capacity_(checked(capacity)), queue_(capacity, threads.producers, 0) {}
  explicit moodycamel_adapter(std::size_t capacity) : moodycamel_adapter(capacity, thread_counts{}) {}

  std::size_t capacity() const noexcept { return capacity_; }

  // Token-less operations, for code that has no endpoint (tests of the contract).
  bool try_push(const T& item) { return queue_.try_enqueue(item) || (has_room() && queue_.enqueue(item)); }
  bool try_pop(T& item) { return queue_.try_dequeue(item); }

  class producer_end {
   public:
    explicit producer_end(moodycamel_adapter& q) : q_(&q), token_(q.queue_) {}
    bool try_push(const T& item) {
      return q_->queue_.try_enqueue(token_, item) || (q_->has_room() && q_->queue_.enqueue(token_, item));
    }
    bool push(const T& item) {
      while (!try_push(item)) {
        if (q_->closed_.load(std::memory_order_relaxed)) return false;
        ::sched_yield();
      }
      return true;
    }
   private:
    moodycamel_adapter* q_;
    moodycamel::ProducerToken token_;
  };

  class consumer_end {
   public:
    explicit consumer_end(moodycamel_adapter& q) : q_(&q), token_(q.queue_) {}
    bool try_pop(T& item) { return q_->queue_.try_dequeue(token_, item); }
    bool pop(T& item) requires blocking {
      // Sleep in the library's semaphore; wake now and then to notice close().
      while (!q_->queue_.wait_dequeue_timed(token_, item, std::chrono::milliseconds(2))) {
        if (q_->closed_.load(std::memory_order_acquire)) return try_pop(item);
      }
      return true;
    }
   private:
    moodycamel_adapter* q_;
    moodycamel::ConsumerToken token_;
  };

  producer_end producer() { return producer_end(*this); }
  consumer_end consumer() { return consumer_end(*this); }
  void close() requires blocking { closed_.store(true, std::memory_order_release); }

 private:
  // Only on the slow path: size_approx() reads every producer's counters.
  bool has_room() const { return queue_.size_approx() < capacity_; }
  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0) reject_capacity("moodycamel", capacity, "is too small: the queue must hold at least 1 item");
    return capacity;
  }
  std::size_t capacity_;
  library_queue queue_;
  std::atomic<bool> closed_{false};
};

template <class T>
using moodycamel_queue = moodycamel_adapter<T, moodycamel::ConcurrentQueue>;
template <class T>
using moodycamel_blocking_queue = moodycamel_adapter<T, moodycamel::BlockingConcurrentQueue>;

}  // namespace ringlab::peers
