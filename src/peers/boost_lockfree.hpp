// Peer: Boost.Lockfree (Tim Blechmann, boost.org/libs/lockfree; libboost-dev 1.74).
// boost.spsc_queue: boost::lockfree::spsc_queue<T, capacity<N>> — a wait-free ring of
// N + 1 slots (one is kept free to tell full from empty), so the bound is exact; sized at
// compile time as its authors' examples and atomic_queue's benchmark (src/benchmarks.cc)
// use it, for the capacities ringlab's experiments and tests take; a run gets the one of
// its size, with no choice per call (adapter.hpp, one_size). The
// run-time-sized form (boost.spsc_queue.runtime) keeps its size and buffer pointer on
// the consumer index's line, so every pop reads them there: a named variant.
// boost.queue: boost::lockfree::queue<T, capacity<N>> — Michael & Scott's linked queue
// over a pool of N + 1 nodes inside the object (one is the dummy head), as atomic_queue's
// benchmark uses it; bounded_push never allocates, so the bound is exact and nothing is
// allocated while a run is measured. boost.queue.runtime: the same with fixed_sized<true>
// and the pool allocated at run time (each node is reached through the pool's base
// pointer). Nodes are named by 16-bit indices (tagged against ABA) and a pool holds at
// most 65535 of them, so capacity <= 65534. T must be trivially copyable (the library
// asserts it; every item ringlab moves is). No blocking of their own: both compose
// with ringlab's wait strategies.
#pragma once
#include <boost/lockfree/queue.hpp>
#include <boost/lockfree/spsc_queue.hpp>

#include <ringlab/queue.hpp>

#include "peers/adapter.hpp"

namespace ringlab::peers {

namespace boost_sized {
template <class T>
struct spsc {
  template <std::size_t N>
  using of = boost::lockfree::spsc_queue<T, boost::lockfree::capacity<N>>;
};
}  // namespace boost_sized

// Sized: compile_time_sized (every size, chosen per call) or one_size (a run's, adapter.hpp).
template <class T, class Sized>
class boost_spsc_sized : public Sized {
 public:
  using value_type = T;
  static constexpr queue_properties properties{.spsc_only = true};
  template <std::size_t N>
    requires has_one_size<Sized, N>
  using of_capacity = boost_spsc_sized<T, typename one_size_of<Sized, N>::type>;

  explicit boost_spsc_sized(std::size_t capacity) : Sized("boost.spsc_queue", capacity), capacity_(capacity) {}

  std::size_t capacity() const noexcept { return capacity_; }
  bool try_push(const T& item) {
    return this->apply([&](auto& q) { return q.push(item); });
  }
  bool try_pop(T& item) {
    return this->apply([&](auto& q) { return q.pop(item); });
  }

 private:
  std::size_t capacity_;
};
template <class T>
using boost_spsc_queue =
    boost_spsc_sized<T, compile_time_sized<boost_sized::spsc<T>::template of, 1, 2, 3, 4, 5, 16, 64, 256, 1024, 4096, 16384, 65536>>;

template <class T>
class boost_spsc_queue_runtime {
 public:
  using value_type = T;
  static constexpr queue_properties properties{.spsc_only = true};

  explicit boost_spsc_queue_runtime(std::size_t capacity)
      : capacity_("boost.spsc_queue.runtime", capacity), queue_(capacity) {}

  std::size_t capacity() const noexcept { return capacity_; }
  bool try_push(const T& item) { return queue_.push(item); }
  bool try_pop(T& item) { return queue_.pop(item); }

 private:
  checked_capacity capacity_;
  boost::lockfree::spsc_queue<T> queue_;
};

namespace boost_sized {
template <class T>
struct queue {
  template <std::size_t N>
  using of = boost::lockfree::queue<T, boost::lockfree::capacity<N>>;
};
}  // namespace boost_sized

template <class T, class Sized>
class boost_queue_sized : public Sized {
 public:
  using value_type = T;
  static constexpr queue_properties properties{};
  template <std::size_t N>
    requires has_one_size<Sized, N>
  using of_capacity = boost_queue_sized<T, typename one_size_of<Sized, N>::type>;

  explicit boost_queue_sized(std::size_t capacity) : Sized("boost.queue", capacity), capacity_(capacity) {}

  std::size_t capacity() const noexcept { return capacity_; }
  bool try_push(const T& item) {
    return this->apply([&](auto& q) { return q.bounded_push(item); });
  }
  bool try_pop(T& item) {
    return this->apply([&](auto& q) { return q.pop(item); });
  }

 private:
  std::size_t capacity_;
};
template <class T>
using boost_queue =
    boost_queue_sized<T, compile_time_sized<boost_sized::queue<T>::template of, 1, 2, 3, 4, 5, 16, 64, 256, 1024, 4096, 16384>>;

template <class T>
class boost_queue_runtime {
 public:
  using value_type = T;
  static constexpr queue_properties properties{};
  static constexpr std::size_t max_capacity = 65534;  // + the dummy = the pool's 65535 nodes

  explicit boost_queue_runtime(std::size_t capacity)
      : capacity_("boost.queue.runtime", capacity, max_capacity, "(its node pool is indexed by 16 bits)"), queue_(capacity) {}

  std::size_t capacity() const noexcept { return capacity_; }
  bool try_push(const T& item) { return queue_.bounded_push(item); }
  bool try_pop(T& item) { return queue_.pop(item); }

 private:
  checked_capacity capacity_;
  boost::lockfree::queue<T, boost::lockfree::fixed_sized<true>> queue_;
};

}  // namespace ringlab::peers
