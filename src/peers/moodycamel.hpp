// Peer: moodycamel::ConcurrentQueue and BlockingConcurrentQueue (Cameron Desrochers,
// libconcurrentqueue-dev 1.0.3) — the baseline every result is compared with. Driven as
// its benchmarks/benchmarks.cpp at v1.0.3 drives it (bench_mpsc, lines 1350-1410): one
// ProducerToken / ConsumerToken per thread, enqueue / try_dequeue with the token.
// The library has no bound; ours is the cheapest we found that holds, in blocks of 32:
// - one producer: the pool is pre-sized to ceil(capacity/32) blocks and try_enqueue never
//   allocates, so a full pool is a full queue at no cost per item; a producer whose blocks
//   are all in use while fewer than capacity() are inside adds one with enqueue() (the
//   consumer is part-way through the oldest block). At most round_up(capacity, 32) + 32.
// - several producers: blocks stay with the producer that took them, so one could keep
//   every block and starve the rest (upstream issues #193, #292, #324); each push first
//   asks size_approx() (every producer's two indices), then takes a block if it must.
//   At most capacity() + one item per producer racing past the check, + a block's rounding.
// moodycamel.unbounded: enqueue() always and blocks of 64, as the author's benchmark runs it
// (no bound: a producer faster than its consumer grows it; short runs only).
// Order: per producer only. Blocking variant: its own semaphore-backed wait_dequeue;
// bounded enqueue cannot block in this library, so a full queue is retried with sched_yield.
#pragma once
#include <atomic>
#include <algorithm>
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

template <class T, template <class...> class Library, bool Bounded = true>
class moodycamel_adapter {
  using library_queue = Library<T>;
  static constexpr bool blocking = std::is_same_v<library_queue, moodycamel::BlockingConcurrentQueue<T>>;
  static constexpr std::size_t block = library_queue::BLOCK_SIZE;

 public:
  using value_type = T;
  static constexpr queue_properties properties{
      .linearizable = false, .bounded = Bounded, .exact_capacity = false, .blocks_natively = blocking};

  // The pool: ceil(capacity / 32) blocks (the one-argument constructor), none per producer.
  moodycamel_adapter(std::size_t capacity, thread_counts threads)
      : capacity_(checked(capacity)), one_producer_(threads.producers <= 1), queue_(capacity) {}
  explicit moodycamel_adapter(std::size_t capacity) : moodycamel_adapter(capacity, thread_counts{}) {}

  std::size_t capacity() const noexcept { return capacity_; }
  // The most items inside at once (header comment): the bound test holds it to this.
  std::size_t most_held(unsigned producers) const noexcept {
    const std::size_t pooled = ((capacity_ + block - 1) / block + 1) * block;
    return producers <= 1 ? pooled : std::max(pooled, capacity_ + producers + block);
  }

  // Token-less operations, for code that has no endpoint (tests of the contract).
  bool try_push(const T& item) {
    if constexpr (!Bounded) return queue_.enqueue(item);
    else if (one_producer_) return queue_.try_enqueue(item) || (has_room() && queue_.enqueue(item));
    else return has_room() && queue_.enqueue(item);
  }
  bool try_pop(T& item) { return queue_.try_dequeue(item); }

  class producer_end {
   public:
    explicit producer_end(moodycamel_adapter& q) : q_(&q), token_(q.queue_) {}
    bool try_push(const T& item) {
      if constexpr (!Bounded) return q_->queue_.enqueue(token_, item);
      else if (q_->one_producer_) return q_->queue_.try_enqueue(token_, item) || (q_->has_room() && q_->queue_.enqueue(token_, item));
      else return q_->has_room() && q_->queue_.enqueue(token_, item);
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
  // size_approx() reads every producer's two indices: one producer asks only when its pool is spent.
  bool has_room() const { return queue_.size_approx() < capacity_; }
  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0) reject_capacity("moodycamel", capacity, "is too small: the queue must hold at least 1 item");
    return capacity;
  }
  std::size_t capacity_;
  bool one_producer_;  // the pool alone bounds it
  library_queue queue_;
  std::atomic<bool> closed_{false};
};

template <class T>
using moodycamel_queue = moodycamel_adapter<T, moodycamel::ConcurrentQueue>;
template <class T>
using moodycamel_blocking_queue = moodycamel_adapter<T, moodycamel::BlockingConcurrentQueue>;
// The author's benchmark runs its queues with blocks of 64 items, not the library's 32
// (benchmarks.cpp at v1.0.3, struct Traits, lines 256-263: "a bigger block size will
// improve throughput"); the unbounded variant, his configuration, takes them too.
struct author_traits : moodycamel::ConcurrentQueueDefaultTraits {
  static const std::size_t BLOCK_SIZE = 64;
};
template <class T>
using author_concurrent_queue = moodycamel::ConcurrentQueue<T, author_traits>;
template <class T>
using moodycamel_unbounded_queue = moodycamel_adapter<T, author_concurrent_queue, false>;

}  // namespace ringlab::peers
