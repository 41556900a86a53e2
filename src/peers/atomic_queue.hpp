// Peer: atomic_queue (Maxim Egorushkin, github.com/max0x7ba/atomic_queue,
// libatomic-queue-dev): bounded rings where a thread claims a position with one atomic
// increment (CAS in try_*) and then waits on that slot alone. AtomicQueue/AtomicQueueB
// hold atomic words, an empty slot being NIL (the default 0 is fine: ringlab's tags are
// never 0, see tag.hpp); AtomicQueue2/AtomicQueueB2 carry any T behind a state byte per
// slot. The B kinds take their size at run time, the others as a template argument.
// Used as in the author's benchmarks: default options (minimise contention, maximise
// throughput, no total order), the SPSC template argument for the .spsc variants.
// try_push/try_pop are the library's; `block` is its optimist push/pop, which claim a
// slot and busy-wait on it (the fastest form when the queue is seldom full or empty,
// the author says). That pop can only be ended by an item, so close() pushes a release
// item per consumer (release_on_close.hpp); for .spsc the closing thread is then a
// second producer, which is safe once the producer has stopped pushing, as it has when
// a run or a test closes at its normal end. A push waiting on a full queue that nobody
// drains cannot be released at all.
// Not lock-free: a thread stalled between claiming a slot and filling (emptying) it
// holds up whoever next claims that slot, in try_* too. Not FIFO with several producers
// or consumers: a slot has no lap number, so while one thread is stalled between
// claiming position i and using its slot, the thread that claims i + size one lap later
// can use the slot first and the two items trade places (each still arrives exactly
// once). Our stress test sees it, so does a 4x4 test of the bare library; the harness
// then allows --termination join only. The .spsc variants claim in order: FIFO.
// Capacity: AtomicQueue/AtomicQueue2 are built for 1024 and 65536 only (the one asked
// for is built; one predictable branch per operation picks it), which the library keeps
// exactly. The B kinds round up to a power of two and to at least 64 slots (AtomicQueueB)
// or 4096 (AtomicQueueB2: its shuffle of state bytes needs that), so their bound is
// approximate: at least capacity(), the rounded size on an empty queue.
#pragma once
#include <array>
#include <atomic_queue/atomic_queue.h>
#include <memory>
#include <type_traits>

#include <ringlab/queue.hpp>

#include "peers/adapter.hpp"
#include "peers/release_on_close.hpp"

namespace ringlab::peers {

// AtomicQueue, AtomicQueue2: one library object per size built in; the one asked for.
template <template <unsigned> class Library>
class aq_compile_time_sized {
 public:
  static constexpr std::array<std::size_t, 2> fixed_capacities{1024, 65536};
  static constexpr std::size_t max_capacity = 65536;
  static constexpr bool exact = true;  // powers of two: the library's rounding keeps them

 protected:
  explicit aq_compile_time_sized(std::size_t capacity) {
    if (capacity == 1024) small_ = std::make_unique<Library<1024>>();
    else if (capacity == 65536) large_ = std::make_unique<Library<65536>>();
    else reject_capacity("atomic_queue", capacity, "is not built (its size is a template argument): 1024 or 65536");
  }
  template <class F>
  decltype(auto) apply(F&& f) { return small_ ? f(*small_) : f(*large_); }

 private:
  std::unique_ptr<Library<1024>> small_;  // on the heap: at 65536 slots of a payload, megabytes
  std::unique_ptr<Library<65536>> large_;
};

// AtomicQueueB, AtomicQueueB2: the size is a constructor argument.
template <class Library>
class aq_run_time_sized {
 public:
  static constexpr std::size_t max_capacity = std::size_t{1} << 30;  // it compares 32-bit positions as int
  static constexpr bool exact = false;

 protected:
  explicit aq_run_time_sized(std::size_t capacity)
      : queue_(static_cast<unsigned>(checked_capacity("atomic_queue", capacity, max_capacity, "(2^30)"))) {}
  template <class F>
  decltype(auto) apply(F&& f) { return f(queue_); }

 private:
  Library queue_;
};

template <class T, class Sized, bool Spsc>
class atomic_queue_adapter : public Sized {
 public:
  using value_type = T;
  static constexpr queue_properties properties{.fifo = Spsc, .linearizable = Spsc, .exact_capacity = Sized::exact,
                                               .lock_free = false, .spsc_only = Spsc, .blocks_natively = true};

  atomic_queue_adapter(std::size_t capacity, thread_counts threads)
      : Sized(capacity), capacity_(capacity), release_(threads.consumers) {}
  explicit atomic_queue_adapter(std::size_t capacity) : atomic_queue_adapter(capacity, thread_counts{}) {}

  std::size_t capacity() const noexcept { return capacity_; }

  bool try_push(const T& item) {
    return this->apply([&](auto& q) { return q.try_push(item); });
  }
  bool try_pop(T& item) {
    return release_.real(this->apply([&](auto& q) { return q.try_pop(item); }), item);
  }

  // The optimist forms. After close() they only try.
  bool push(const T& item) {
    if (release_.closed()) return try_push(item);
    this->apply([&](auto& q) { q.push(item); });
    return true;
  }
  bool pop(T& item) {
    if (release_.closed()) return try_pop(item);
    item = this->apply([](auto& q) { return q.pop(); });
    return release_.real(true, item);
  }
  void close() {
    release_.close<T>([this](const T& item) { return try_push(item); }, [] {});
  }

 private:
  std::size_t capacity_;
  release_on_close release_;
};

namespace aq {
template <class T>
inline constexpr bool atomic_word = std::is_scalar_v<T> && sizeof(T) == sizeof(std::uint64_t);

template <class T, bool Spsc>
struct library {
  template <unsigned N> using fixed = atomic_queue::AtomicQueue<T, N, T{}, true, true, false, Spsc>;
  template <unsigned N> using fixed2 = atomic_queue::AtomicQueue2<T, N, true, true, false, Spsc>;
  using sized = atomic_queue::AtomicQueueB<T, std::allocator<T>, T{}, true, false, Spsc>;
  using sized2 = atomic_queue::AtomicQueueB2<T, std::allocator<T>, true, false, Spsc>;
};

// The queues of atomic words leave other element types to unsupported_queue.
template <class T, bool Spsc, bool = atomic_word<T>>
struct words_only {
  using fixed = unsupported_queue<T>;
  using sized = unsupported_queue<T>;
};
template <class T, bool Spsc>
struct words_only<T, Spsc, true> {
  using fixed = atomic_queue_adapter<T, aq_compile_time_sized<library<T, Spsc>::template fixed>, Spsc>;
  using sized = atomic_queue_adapter<T, aq_run_time_sized<typename library<T, Spsc>::sized>, Spsc>;
};

template <class T, bool Spsc>
using any_fixed = atomic_queue_adapter<T, aq_compile_time_sized<library<T, Spsc>::template fixed2>, Spsc>;
template <class T, bool Spsc>
using any_sized = atomic_queue_adapter<T, aq_run_time_sized<typename library<T, Spsc>::sized2>, Spsc>;
}  // namespace aq

template <class T> using aq_AtomicQueue = typename aq::words_only<T, false>::fixed;
template <class T> using aq_AtomicQueue_spsc = typename aq::words_only<T, true>::fixed;
template <class T> using aq_AtomicQueueB = typename aq::words_only<T, false>::sized;
template <class T> using aq_AtomicQueueB_spsc = typename aq::words_only<T, true>::sized;
template <class T> using aq_AtomicQueue2 = aq::any_fixed<T, false>;
template <class T> using aq_AtomicQueue2_spsc = aq::any_fixed<T, true>;
template <class T> using aq_AtomicQueueB2 = aq::any_sized<T, false>;
template <class T> using aq_AtomicQueueB2_spsc = aq::any_sized<T, true>;

}  // namespace ringlab::peers
