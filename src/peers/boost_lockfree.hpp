// Peer: Boost.Lockfree (Tim Blechmann, boost.org/libs/lockfree; libboost-dev 1.74).
// boost.spsc_queue: boost::lockfree::spsc_queue<T> sized at run time — a wait-free ring
// of capacity + 1 slots (one is kept free to tell full from empty), so the bound is
// exact; push/pop as the library offers them.
// boost.queue: boost::lockfree::queue<T, fixed_sized<true>> — Michael & Scott's linked
// queue over a pool of capacity + 1 nodes allocated at construction (one is the dummy
// head), used as the documentation recommends for real-time use: bounded_push never
// allocates, so the bound is exact and nothing is allocated while a run is measured.
// Nodes are named by 16-bit indices (tagged against ABA) and the pool holds at most
// 65535 of them, so capacity <= 65534. T must be trivially copyable (the library
// asserts it; every item ringlab moves is). No blocking of their own: both compose
// with ringlab's wait strategies.
#pragma once
#include <boost/lockfree/queue.hpp>
#include <boost/lockfree/spsc_queue.hpp>

#include <ringlab/queue.hpp>

#include "peers/adapter.hpp"

namespace ringlab::peers {

template <class T>
class boost_spsc_queue {
 public:
  using value_type = T;
  static constexpr queue_properties properties{.spsc_only = true};

  explicit boost_spsc_queue(std::size_t capacity) : capacity_("boost.spsc_queue", capacity), queue_(capacity) {}

  std::size_t capacity() const noexcept { return capacity_; }
  bool try_push(const T& item) { return queue_.push(item); }
  bool try_pop(T& item) { return queue_.pop(item); }

 private:
  checked_capacity capacity_;
  boost::lockfree::spsc_queue<T> queue_;
};

template <class T>
class boost_queue {
 public:
  using value_type = T;
  static constexpr queue_properties properties{};
  static constexpr std::size_t max_capacity = 65534;  // + the dummy = the pool's 65535 nodes

  explicit boost_queue(std::size_t capacity)
      : capacity_("boost.queue", capacity, max_capacity, "(its node pool is indexed by 16 bits)"), queue_(capacity) {}

  std::size_t capacity() const noexcept { return capacity_; }
  bool try_push(const T& item) { return queue_.bounded_push(item); }
  bool try_pop(T& item) { return queue_.pop(item); }

 private:
  checked_capacity capacity_;
  boost::lockfree::queue<T, boost::lockfree::fixed_sized<true>> queue_;
};

}  // namespace ringlab::peers
