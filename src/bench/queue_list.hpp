// Every registered queue (src/queues.cpp, src/peers/*.cpp) as the type the benchmarks
// instantiate, under its command-line name, with the capacity it is measured at.
// Our variants come from src/queue_variants.hpp, the registry's own aliases.
#pragma once
#include <cstddef>
#include <type_traits>

#include <ringlab/tag.hpp>

#include "queue_variants.hpp"
#if RINGLAB_HAVE_MOODYCAMEL
#include "peers/moodycamel.hpp"
#endif
#if RINGLAB_HAVE_ATOMIC_QUEUE
#include "peers/atomic_queue.hpp"
#endif
#if RINGLAB_HAVE_BOOST_LOCKFREE
#include "peers/boost_lockfree.hpp"
#endif
#if RINGLAB_HAVE_TBB
#include "peers/tbb.hpp"
#endif
#if RINGLAB_HAVE_READERWRITERQUEUE
#include "peers/readerwriterqueue.hpp"
#endif

namespace ringlab::bench {

using item = ringlab::tag;  // 64-bit (producer, sequence), never 0

// The capacity every queue is measured at, unless it takes only other ones.
inline constexpr std::size_t default_capacity = 1024;

// Calls add.template operator()<Q>(name, capacity) for each queue this build has.
template <class Add>
void for_each_queue(Add&& add) {
  using namespace ringlab;
  constexpr std::size_t c = default_capacity;
  add.template operator()<variants::mutex_ring<item>>("mutex_ring", c);
  add.template operator()<variants::mutex_ring_std<item>>("mutex_ring.std", c);
  add.template operator()<variants::mutex_ring_plain<item>>("mutex_ring.plain", c);
  add.template operator()<textbook_mutex_queue<item>>("textbook_mutex_queue", c);
  add.template operator()<variants::two_lock_ring<item>>("two_lock_ring", c);
  add.template operator()<semaphore_ring<item>>("semaphore_ring", c);
  add.template operator()<handoff_slot<item>>("handoff_slot", 1);
  add.template operator()<variants::spsc_ring<item>>("spsc_ring", c);
  add.template operator()<variants::spsc_ring_rigtorp<item>>("spsc_ring.rigtorp", c);
  add.template operator()<variants::spsc_ring_fastforward<item>>("spsc_ring.fastforward", c);
  add.template operator()<variants::spsc_ring_gap<item>>("spsc_ring.gap", c);
  add.template operator()<variants::spsc_ring_lamport<item>>("spsc_ring.lamport", c);
  add.template operator()<variants::spsc_ring_uncached<item>>("spsc_ring.uncached", c);
  add.template operator()<variants::spsc_ring_unpadded<item>>("spsc_ring.unpadded", c);
  add.template operator()<variants::mpmc_ring<item>>("mpmc_ring", c);
  add.template operator()<variants::mpmc_ring_padded<item>>("mpmc_ring.padded", c);
  add.template operator()<variants::floor_pingpong<item>>("floor.pingpong", 1);
  add.template operator()<variants::floor_line_ring<item>>("floor.line_ring", c);
#if RINGLAB_HAVE_MOODYCAMEL
  add.template operator()<peers::moodycamel_queue<item>>("moodycamel", c);
  add.template operator()<peers::moodycamel_blocking_queue<item>>("moodycamel.blocking", c);
#endif
#if RINGLAB_HAVE_ATOMIC_QUEUE
  // AtomicQueue/AtomicQueue2 are built for 1024 and 65536 only; the B kinds round up.
  add.template operator()<peers::aq_AtomicQueue<item>>("aq.AtomicQueue", c);
  add.template operator()<peers::aq_AtomicQueue_spsc<item>>("aq.AtomicQueue.spsc", c);
  add.template operator()<peers::aq_AtomicQueueB<item>>("aq.AtomicQueueB", c);
  add.template operator()<peers::aq_AtomicQueueB_spsc<item>>("aq.AtomicQueueB.spsc", c);
  add.template operator()<peers::aq_AtomicQueue2<item>>("aq.AtomicQueue2", c);
  add.template operator()<peers::aq_AtomicQueue2_spsc<item>>("aq.AtomicQueue2.spsc", c);
  add.template operator()<peers::aq_AtomicQueueB2<item>>("aq.AtomicQueueB2", c);
  add.template operator()<peers::aq_AtomicQueueB2_spsc<item>>("aq.AtomicQueueB2.spsc", c);
#endif
#if RINGLAB_HAVE_BOOST_LOCKFREE
  add.template operator()<peers::boost_spsc_queue<item>>("boost.spsc_queue", c);
  add.template operator()<peers::boost_queue<item>>("boost.queue", c);
#endif
#if RINGLAB_HAVE_TBB
  add.template operator()<peers::tbb_bounded_queue<item>>("tbb.concurrent_bounded_queue", c);
#endif
#if RINGLAB_HAVE_READERWRITERQUEUE
  add.template operator()<peers::rwq_queue<item>>("rwq.ReaderWriterQueue", c);
  add.template operator()<peers::rwq_circular_buffer<item>>("rwq.BlockingReaderWriterCircularBuffer", c);
#endif
}

// A queue on the heap, on its own lines, built the way the harness builds it for one
// producer and one consumer (make_queue; the queue need not be movable).
template <class Q>
struct alignas(false_sharing_range) queue_box {
  explicit queue_box(std::size_t capacity) : q(make_queue<Q>(capacity, thread_counts{1, 1})) {}
  Q q;
};

}  // namespace ringlab::bench
