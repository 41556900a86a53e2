// Peer: atomic_queue (Maxim Egorushkin, github.com/max0x7ba/atomic_queue; Debian's
// libatomic-queue-dev is commit 83774a2). Bounded rings where a thread claims a position
// with one atomic increment (CAS in try_*) and then waits on that slot alone.
// AtomicQueue/AtomicQueueB hold atomic words, an empty slot being NIL = 0 (so an item 0
// is refused at the call; ringlab's tags are never 0); AtomicQueue2/AtomicQueueB2 carry
// any T behind a state byte per slot.
// Options as in the author's benchmark, src/benchmarks.cc at 83774a2 (lines 170-187,
// 374-375): "For SPSC: SPSC=true, MINIMIZE_CONTENTION=false, MAXIMIZE_THROUGHPUT=false.
// For MPMC: SPSC=false, MINIMIZE_CONTENTION=true, MAXIMIZE_THROUGHPUT=true." So the
// .spsc kinds keep consecutive items on one line; `aq.AtomicQueue.spsc.shuffled` keeps
// the MPMC options for comparison. (The B kinds of this version always shuffle.)
// Driven as there: `spin` = its RetryDecorator (try_push/try_pop + pause); `block` = its
// optimist push/pop on both sides, which claim a slot and busy-wait on it. That pop can
// only be ended by an item, so close() pushes a release item (~0, refused from users)
// per consumer (release_on_close.hpp); for .spsc the closing thread is then a second
// producer, which is safe once the producer has stopped pushing, as it has when a run
// or a test closes at its normal end. A push waiting on a full queue that nobody drains
// cannot be released at all.
// Not lock-free: a thread stalled between claiming a slot and filling (emptying) it
// holds up whoever next claims that slot, in try_* too. Not FIFO with several producers
// or consumers: a slot has no lap number, so while one thread is stalled between
// claiming position i and using its slot, the thread that claims i + size one lap later
// can use the slot first and the two items trade places (each still arrives exactly
// once); the harness then allows --termination join only. The .spsc kinds claim in order.
// Capacity: AtomicQueue/AtomicQueue2 are built for 1024 and 65536 (adapter.hpp), kept
// exactly; a run gets the one of its size (of_capacity), no choice per call. The B kinds round up to a power of two and to at least 64 slots
// (AtomicQueueB) or 4096 (AtomicQueueB2), so their bound is approximate.
#pragma once
#include <atomic_queue/atomic_queue.h>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>

#include <ringlab/queue.hpp>

#include "peers/adapter.hpp"
#include "peers/release_on_close.hpp"

namespace ringlab::peers {

// AtomicQueueB, AtomicQueueB2: the size is a constructor argument.
template <class Library>
class aq_run_time_sized {
 public:
  static constexpr std::size_t max_capacity = std::size_t{1} << 30;  // it compares 32-bit positions as int
  static constexpr bool exact = false;
  std::size_t most_held(unsigned) const noexcept { return queue_.capacity(); }  // rounded up by the library

 protected:
  aq_run_time_sized(const char* name, std::size_t capacity)
      : queue_(static_cast<unsigned>(checked_capacity(name, capacity, max_capacity, "(2^30)"))) {}
  template <class F>
  decltype(auto) apply(F&& f) { return f(queue_); }

 private:
  Library queue_;
};

template <class T, class Sized, bool Spsc, bool NilIsZero>
class atomic_queue_adapter : public Sized {
 public:
  using value_type = T;
  static constexpr queue_properties properties{.fifo = Spsc, .linearizable = Spsc, .exact_capacity = Sized::exact,
                                               .lock_free = false, .spsc_only = Spsc, .blocks_natively = true,
                                               .refuses = NilIsZero ? "0 (its NIL) and ~0 (close marker)" : "~0 (close marker)"};
  // Its own push/pop wait by spinning on the slot (spin_loop_pause), never asleep: no
  // wake-up to lose, so the stress test's bursts, which look for lost ones, skip it.
  static constexpr bool native_block_never_sleeps = true;

  // The harness's form of a compile-time-sized kind: one size, chosen once per run (adapter.hpp).
  template <std::size_t N>
    requires has_one_size<Sized, N>
  using of_capacity = atomic_queue_adapter<T, typename one_size_of<Sized, N>::type, Spsc, NilIsZero>;

  atomic_queue_adapter(std::size_t capacity, thread_counts threads)
      : Sized("atomic_queue", capacity), capacity_(capacity), release_(threads.consumers) {}
  explicit atomic_queue_adapter(std::size_t capacity) : atomic_queue_adapter(capacity, thread_counts{}) {}

  std::size_t capacity() const noexcept { return capacity_; }

  bool try_push(const T& item) {
    refuse(item);
    return this->apply([&](auto& q) { return q.try_push(item); });
  }
  bool try_pop(T& item) {
    return release_.real(this->apply([&](auto& q) { return q.try_pop(item); }), item);
  }

  // The optimist forms. After close() they only try (a pop by a released thread not even that).
  bool push(const T& item) {
    if (release_.closed()) return try_push(item);
    refuse(item);
    this->apply([&](auto& q) { q.push(item); });
    return true;
  }
  bool pop(T& item) {
    if (release_.closed()) return !release_.released_here() && try_pop(item);
    item = this->apply([](auto& q) { return q.pop(); });
    return release_.real(true, item);
  }
  void close() {
    release_.close<T>([this](const T& item) { return this->apply([&](auto& q) { return q.try_push(item); }); }, [] {});
  }

 private:
  static void refuse(const T& item) {
    if constexpr (NilIsZero)
      refuse_reserved(item, [](const T& v) { return v == T{}; }, "atomic_queue: the item 0 is its NIL (empty slot) and cannot be carried");
    refuse_reserved(item, [](const T& v) { return release_item<T>::is(v); },
                    "atomic_queue adapter: the item ~0 is the close marker and cannot be carried");
  }
  std::size_t capacity_;
  release_on_close release_;
};

namespace aq {
// The B kinds' buffers as the author's benchmark allocates them (its HugePageAllocator:
// page-aligned memory of their own, huge pages where the machine has them): std::allocator
// would start the ring wherever malloc puts it, sharing its first and last cache lines
// with whatever else is on the heap.
template <class T>
struct page_allocator {
  using value_type = T;
  static constexpr std::size_t page = 4096;
  page_allocator() = default;
  template <class U>
  page_allocator(const page_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    void* p = std::aligned_alloc(page, (n * sizeof(T) + page - 1) / page * page);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) noexcept { std::free(p); }
  friend bool operator==(page_allocator, page_allocator) noexcept { return true; }
};

template <class T>
inline constexpr bool atomic_word = std::is_scalar_v<T> && sizeof(T) == sizeof(std::uint64_t);

// The library types with the author's options for SPSC or MPMC (see the top).
template <class T, bool Spsc, bool MinimizeContention = !Spsc, bool MaximizeThroughput = !Spsc>
struct library {
  template <std::size_t N>
  using fixed = atomic_queue::AtomicQueue<T, N, T{}, MinimizeContention, MaximizeThroughput, false, Spsc>;
  template <std::size_t N>
  using fixed2 = atomic_queue::AtomicQueue2<T, N, MinimizeContention, MaximizeThroughput, false, Spsc>;
  using sized = atomic_queue::AtomicQueueB<T, page_allocator<T>, T{}, MaximizeThroughput, false, Spsc>;
  using sized2 = atomic_queue::AtomicQueueB2<T, page_allocator<T>, MaximizeThroughput, false, Spsc>;
};

template <template <std::size_t> class Fixed>
using built_sizes = compile_time_sized<Fixed, 1024, 65536>;

// The queues of atomic words leave other element types to unsupported_queue.
template <class T, bool Spsc, class Lib = library<T, Spsc>, bool = atomic_word<T>>
struct words_only {
  using fixed = unsupported_queue<T>;
  using sized = unsupported_queue<T>;
};
template <class T, bool Spsc, class Lib>
struct words_only<T, Spsc, Lib, true> {
  using fixed = atomic_queue_adapter<T, built_sizes<Lib::template fixed>, Spsc, true>;
  using sized = atomic_queue_adapter<T, aq_run_time_sized<typename Lib::sized>, Spsc, true>;
};

template <class T, bool Spsc>
using any_fixed = atomic_queue_adapter<T, built_sizes<library<T, Spsc>::template fixed2>, Spsc, false>;
template <class T, bool Spsc>
using any_sized = atomic_queue_adapter<T, aq_run_time_sized<typename library<T, Spsc>::sized2>, Spsc, false>;
}  // namespace aq

template <class T> using aq_AtomicQueue = typename aq::words_only<T, false>::fixed;
template <class T> using aq_AtomicQueue_spsc = typename aq::words_only<T, true>::fixed;
template <class T> using aq_AtomicQueue_spsc_shuffled = typename aq::words_only<T, true, aq::library<T, true, true, true>>::fixed;
template <class T> using aq_AtomicQueueB = typename aq::words_only<T, false>::sized;
template <class T> using aq_AtomicQueueB_spsc = typename aq::words_only<T, true>::sized;
template <class T> using aq_AtomicQueue2 = aq::any_fixed<T, false>;
template <class T> using aq_AtomicQueue2_spsc = aq::any_fixed<T, true>;
template <class T> using aq_AtomicQueueB2 = aq::any_sized<T, false>;
template <class T> using aq_AtomicQueueB2_spsc = aq::any_sized<T, true>;

}  // namespace ringlab::peers
