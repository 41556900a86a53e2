// The queue contract: what the harness, the tests and every experiment may assume of
// a queue — ours, a peer's behind an adapter, or an ipc transport.
#pragma once
#include <concepts>
#include <cstdint>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace ringlab {

// What a queue promises; the harness reads these to decide what it may check
// (order), what it may run (spsc_only), and what it reports (`ringlab list`).
struct queue_properties {
  bool fifo = true;            // per-producer order is kept (every consumer sees each producer's items in order)
  bool linearizable = true;    // one total order: an item pushed after another was popped is popped after it
  bool bounded = true;         // try_push fails when capacity() items are inside
  bool exact_capacity = true;  // exactly capacity() pushes succeed on an empty queue
  bool lock_free = true;       // no thread can block another's progress by being descheduled
  bool spsc_only = false;      // one producer thread and one consumer thread at most
  bool single_consumer = false;  // any number of producers, one consumer (a stream's receiving end)
  bool blocks_natively = false;  // offers blocking push/pop/close of its own (wait strategy `block`)
  bool delays_visibility = false;  // an item may stay invisible until more follow or flush() (floors)
  bool park_works = true;  // a parked side is woken by the other side's next operation (not so when items
                           // reach the consumer through a receiving thread of the transport's own: tcp)
  bool block_only = false;  // waits only in its own blocking calls (a remote call returns when an item is there)
  bool pop_is_a_call = false;  // every pop is one remote call: its time is the row's round trip (rtt_*)
  bool stream_options = false;  // takes --tcp-nodelay and --batch (a network stream's options)
  bool push_waits_inside = false;  // try_push never fails: the library waits inside it while full (its own bound:
                                   // iceoryx's BLOCK_PRODUCER), so the producer's wait strategy never runs
  const char* refuses = nullptr;   // values try_push refuses (throws std::invalid_argument), if any
};

// try_push/try_pop never block (except a push_waits_inside queue's try_push, which waits in
// the library rather than fail); capacity() is the bound the experiment asked for.
template <class Q>
concept queue = requires(Q& q, const Q& cq, const typename Q::value_type& in, typename Q::value_type& out) {
  typename Q::value_type;
  { q.try_push(in) } -> std::same_as<bool>;
  { q.try_pop(out) } -> std::same_as<bool>;
  { cq.capacity() } -> std::convertible_to<std::size_t>;
  { Q::properties } -> std::convertible_to<queue_properties>;
};

// A thread's end of a queue. Libraries with per-thread tokens (moodycamel) return their
// own endpoint from q.producer()/q.consumer(); for the rest the endpoint is the queue.
// Each thread makes its own endpoint and uses it for every operation.
template <queue Q>
decltype(auto) producer_endpoint(Q& q) {
  if constexpr (requires { q.producer(); }) return q.producer();
  else return (q);
}
template <queue Q>
decltype(auto) consumer_endpoint(Q& q) {
  if constexpr (requires { q.consumer(); }) return q.consumer();
  else return (q);
}

// Publish what a producer endpoint holds back (queues with delays_visibility); a
// no-op for every other queue. Producers call it after their last push.
template <class Endpoint>
void flush(Endpoint& producer) {
  if constexpr (requires { producer.flush(); }) producer.flush();
}

// How many threads will use a queue. Most queues ignore it; libraries that pre-size
// per producer (moodycamel) take it as a second constructor argument.
struct thread_counts {
  unsigned producers = 1;
  unsigned consumers = 1;
};

template <queue Q>
Q make_queue(std::size_t capacity, thread_counts threads) {
  if constexpr (std::is_constructible_v<Q, std::size_t, thread_counts>) return Q(capacity, threads);
  else return Q(capacity);
}

// The most items a bounded queue holds at once with `producers` producers: capacity()
// where exact; a queue whose bound is approximate (blocks, lines, rounded sizes) says
// how far it goes with a member most_held(producers). The bound test holds it to that.
template <queue Q>
std::size_t most_held(const Q& q, unsigned producers) {
  if constexpr (requires { { q.most_held(producers) } -> std::convertible_to<std::size_t>; }) return q.most_held(producers);
  else return q.capacity();
}

// Queues that sleep by nature (mutex + condvars, semaphores, events): push blocks while
// full, pop while empty (on the endpoints, which may be the queue itself); close() wakes
// everyone, after which a push gives up rather than wait and pop fails once drained.
template <class Q>
concept blocking_queue = queue<Q> && requires(Q& q, const typename Q::value_type& in, typename Q::value_type& out) {
  { producer_endpoint(q).push(in) } -> std::same_as<bool>;
  { consumer_endpoint(q).pop(out) } -> std::same_as<bool>;
  q.close();
};

// An adapter alias maps an element type its library cannot carry to this (atomic_queue's
// AtomicQueue holds atomic words only), so the registry leaves that payload out instead
// of failing to compile. It is never constructed.
template <class T>
struct unsupported_queue {
  using value_type = T;
  static constexpr queue_properties properties{};
};
template <class Q>
inline constexpr bool is_unsupported = false;
template <class T>
inline constexpr bool is_unsupported<unsupported_queue<T>> = true;

// An item no producer ever sends. An adapter whose blocking pop can only be woken by an
// item (atomic_queue's optimist pop spins on its reserved slot) pushes one per consumer
// on close() and turns it into "closed, nothing popped". Specialised for the types
// ringlab moves: 64-bit tags here, payload items in the harness.
template <class T>
struct release_item;
template <>
struct release_item<std::uint64_t> {
  static constexpr std::uint64_t get() noexcept { return ~std::uint64_t{0}; }
  static constexpr bool is(std::uint64_t v) noexcept { return v == get(); }
};

// The one way a queue rejects a capacity: std::invalid_argument saying why.
[[noreturn]] inline void reject_capacity(const char* queue_name, std::size_t capacity, const std::string& why) {
  throw std::invalid_argument(std::string(queue_name) + ": capacity " + std::to_string(capacity) + " " + why);
}

}  // namespace ringlab
