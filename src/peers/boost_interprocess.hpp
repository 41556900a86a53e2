// Peer transport: boost::interprocess::message_queue (Boost 1.74, Debian libboost-dev),
// driven as the Boost.Interprocess documentation's own example drives it (libs/
// interprocess/example/doc_message_queue.cpp: one process creates a named queue with
// create_only, max_num_msg and max_msg_size, the other sends and receives fixed-size
// messages at priority 0). The queue is a ring of message slots in a named POSIX
// shared-memory object guarded by one process-shared mutex and two condition variables
// (not full / not empty). Differences from the example, and why:
//  - `block` is the example's own way: send / receive sleeping on the queue's condition
//    variables, as timed_send / timed_receive with a 10 ms deadline (met at once while
//    items flow) so that a sleeper looks at close(), a flag in the run's segment, now and
//    then: message_queue has no close of its own. Every other wait strategy drives
//    try_send / try_receive (false when full / empty) and decides how a side waits.
//    Priority 0 always (equal priorities leave in FIFO order).
//  - the bound is exact: max_num_msg = capacity, max_msg_size = sizeof(item).
//  - no open_only in the sides: the conductor creates the queue (create_only, a unique
//    name) before the sides are forked, and the mapping, MAP_SHARED, is inherited by
//    fork, so every side already holds the same queue. The name is removed at once, in the
//    constructor, so /dev/shm holds nothing of a run under way, whatever then dies (the
//    run's own segment is handled the same way).
//  - one mutex for both ends: a total order (linearizable), not lock-free. It is not a
//    robust mutex: a side killed while holding it leaves it locked and the other sides
//    stuck in try_send/try_receive; the harness's watcher stops such a run (and kills the
//    sides) as soon as one dies.
#pragma once
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/interprocess/ipc/message_queue.hpp>

#include <atomic>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <ringlab/queue.hpp>

#include "transports/transport.hpp"
#include "peers/adapter.hpp"

namespace ringlab::peers {

template <class T>
class boost_mq_transport {
  static_assert(std::is_trivially_copyable_v<T>, "items travel as bytes");
  using library_queue = boost::interprocess::message_queue;

 public:
  using value_type = T;
  static constexpr queue_properties properties{.lock_free = false, .blocks_natively = true};
  // The queue lives in its own shared memory; the segment holds only the closed flag.
  static constexpr std::size_t block_bytes(std::size_t) { return sizeof(std::atomic<bool>); }

  explicit boost_mq_transport(std::size_t capacity) : boost_mq_transport(capacity, nullptr) {}
  boost_mq_transport(std::size_t capacity, void* block)
      : capacity_("boost.message_queue", capacity, SIZE_MAX / (sizeof(T) + 64), "(its shared memory would overflow)"),
        own_closed_(block ? nullptr : std::make_unique<std::atomic<bool>>(false)),
        closed_(block ? ::new (block) std::atomic<bool>(false) : own_closed_.get()) {
    static std::atomic<unsigned> queues{0};
    // Not under the segments' "ringlab-" prefix: those are the harness's (transports/plumbing/segment.hpp).
    const std::string name = "ringlab_mq." + std::to_string(::getpid()) + "." + std::to_string(queues.fetch_add(1));
    try {
      queue_ = std::make_unique<library_queue>(boost::interprocess::create_only, name.c_str(), capacity, sizeof(T));
    } catch (const boost::interprocess::interprocess_exception& e) {
      throw std::runtime_error("boost.message_queue: cannot create " + name + " for " + std::to_string(capacity) +
                               " items: " + e.what() + " (is /dev/shm full?)");
    }
    library_queue::remove(name.c_str());  // the mapping stays (and is inherited by fork); the name goes
  }
  boost_mq_transport(boost_mq_transport&&) noexcept = default;
  boost_mq_transport& operator=(boost_mq_transport&&) = delete;

  std::size_t capacity() const noexcept { return capacity_; }

  bool try_push(const T& item) { return queue_->try_send(&item, sizeof item, 0); }
  bool try_pop(T& item) {
    library_queue::size_type received = 0;
    unsigned int priority = 0;
    if (!queue_->try_receive(&item, sizeof item, received, priority)) return false;
    if (received != sizeof item)
      throw std::runtime_error("boost.message_queue: a message of " + std::to_string(received) + " bytes, not one item");
    return true;
  }

  // `block`: the library's sleeping send / receive, 10 ms at a time (see the top).
  bool push(const T& item) {
    while (!queue_->timed_send(&item, sizeof item, 0, deadline()))
      if (closed_->load(std::memory_order_acquire)) return false;
    return true;
  }
  bool pop(T& item) {
    library_queue::size_type received = 0;
    unsigned int priority = 0;
    while (!queue_->timed_receive(&item, sizeof item, received, priority, deadline()))
      if (closed_->load(std::memory_order_acquire)) return try_pop(item);  // closed: what is left
    if (received != sizeof item)
      throw std::runtime_error("boost.message_queue: a message of " + std::to_string(received) + " bytes, not one item");
    return true;
  }
  void close() noexcept { closed_->store(true, std::memory_order_release); }

 private:
  static boost::posix_time::ptime deadline() {
    return boost::posix_time::microsec_clock::universal_time() + boost::posix_time::milliseconds(10);
  }
  checked_capacity capacity_;
  std::unique_ptr<std::atomic<bool>> own_closed_;  // the flag when there is no segment (the registry's check)
  std::atomic<bool>* closed_;
  std::unique_ptr<library_queue> queue_;
};

template <class T>
using boost_message_queue = ipc::between_processes<boost_mq_transport<T>>;

}  // namespace ringlab::peers
