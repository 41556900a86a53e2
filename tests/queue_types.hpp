// Every queue the suites run, as the types tests instantiate, with a readable name.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <ringlab/tag.hpp>
#include <ringlab/queues/floor_line_ring.hpp>
#include <ringlab/queues/floor_pingpong.hpp>
#include <ringlab/queues/handoff_slot.hpp>
#include <ringlab/queues/mpmc_ring.hpp>
#include <ringlab/queues/mutex_ring.hpp>
#include <ringlab/queues/semaphore_ring.hpp>
#include <ringlab/queues/two_lock_ring.hpp>
#include <ringlab/queues/spsc_ring.hpp>
#include <ringlab/queues/textbook_mutex_queue.hpp>
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

namespace ringlab::testing {

using item = std::uint64_t;

// mpmc_ring whose counters start a few laps below the limit of Index, so every stress
// run crosses the wrap-around.
template <class T, class Index>
class mpmc_ring_near_wrap : public mpmc_ring<T, mpmc_options{}, Index> {
 public:
  explicit mpmc_ring_near_wrap(std::size_t capacity)
      : mpmc_ring<T, mpmc_options{}, Index>(capacity, std::numeric_limits<Index>::max() - 1000) {}
};

// two_lock_ring's counters start 1000 items before they wrap.
template <class T>
class two_lock_ring_near_wrap : public two_lock_ring<T> {
 public:
  explicit two_lock_ring_near_wrap(std::size_t capacity)
      : two_lock_ring<T>(capacity, std::numeric_limits<std::size_t>::max() - 1000) {}
};

template <class Q> struct queue_name;
#define RINGLAB_TEST_NAME(text, ...) \
  template <> struct queue_name<__VA_ARGS__> { static std::string get() { return text; } }
RINGLAB_TEST_NAME("mutex_ring", mutex_ring<item>);
RINGLAB_TEST_NAME("mutex_ring_plain", mutex_ring<item, mutex_options{false, 0, false}>);
RINGLAB_TEST_NAME("mutex_ring_std", mutex_ring<item, mutex_options{true, 512, false}>);
RINGLAB_TEST_NAME("semaphore_ring", semaphore_ring<item>);
RINGLAB_TEST_NAME("two_lock_ring", two_lock_ring<item>);
RINGLAB_TEST_NAME("two_lock_ring_wrap", two_lock_ring_near_wrap<item>);
RINGLAB_TEST_NAME("handoff_slot", handoff_slot<item>);
RINGLAB_TEST_NAME("spsc_ring", spsc_ring<item>);
RINGLAB_TEST_NAME("spsc_ring_lamport", spsc_ring<item, spsc_options{false, false}>);
RINGLAB_TEST_NAME("spsc_ring_unpadded", spsc_ring<item, spsc_options{true, false}>);
RINGLAB_TEST_NAME("spsc_ring_rigtorp", spsc_ring<item, rigtorp_spsc>);
RINGLAB_TEST_NAME("spsc_ring_fastforward", spsc_ring<item, fastforward_spsc>);
RINGLAB_TEST_NAME("spsc_ring_gap3_batch5", spsc_ring<item, spsc_options{.slot_flag = true, .gap = 3, .batch = 5}>);
RINGLAB_TEST_NAME("floor_pingpong", floor_pingpong<item>);
RINGLAB_TEST_NAME("floor_line_ring", floor_line_ring<item>);
RINGLAB_TEST_NAME("mpmc_ring", mpmc_ring<item>);
RINGLAB_TEST_NAME("mpmc_ring_padded", mpmc_ring<item, mpmc_options{true}>);
RINGLAB_TEST_NAME("mpmc_ring_wrap64", mpmc_ring_near_wrap<item, std::uint64_t>);
RINGLAB_TEST_NAME("mpmc_ring_wrap32", mpmc_ring_near_wrap<item, std::uint32_t>);
#if RINGLAB_HAVE_MOODYCAMEL
RINGLAB_TEST_NAME("moodycamel", peers::moodycamel_queue<item>);
RINGLAB_TEST_NAME("moodycamel_blocking", peers::moodycamel_blocking_queue<item>);
#endif
RINGLAB_TEST_NAME("textbook_mutex_queue", textbook_mutex_queue<item>);
#if RINGLAB_HAVE_ATOMIC_QUEUE
RINGLAB_TEST_NAME("aq_AtomicQueue", peers::aq_AtomicQueue<item>);
RINGLAB_TEST_NAME("aq_AtomicQueue_spsc", peers::aq_AtomicQueue_spsc<item>);
RINGLAB_TEST_NAME("aq_AtomicQueueB", peers::aq_AtomicQueueB<item>);
RINGLAB_TEST_NAME("aq_AtomicQueueB_spsc", peers::aq_AtomicQueueB_spsc<item>);
RINGLAB_TEST_NAME("aq_AtomicQueue2", peers::aq_AtomicQueue2<item>);
RINGLAB_TEST_NAME("aq_AtomicQueue2_spsc", peers::aq_AtomicQueue2_spsc<item>);
RINGLAB_TEST_NAME("aq_AtomicQueueB2", peers::aq_AtomicQueueB2<item>);
RINGLAB_TEST_NAME("aq_AtomicQueueB2_spsc", peers::aq_AtomicQueueB2_spsc<item>);
#endif
#if RINGLAB_HAVE_BOOST_LOCKFREE
RINGLAB_TEST_NAME("boost_spsc_queue", peers::boost_spsc_queue<item>);
RINGLAB_TEST_NAME("boost_queue", peers::boost_queue<item>);
#endif
#if RINGLAB_HAVE_TBB
RINGLAB_TEST_NAME("tbb_concurrent_bounded_queue", peers::tbb_bounded_queue<item>);
#endif
#if RINGLAB_HAVE_READERWRITERQUEUE
RINGLAB_TEST_NAME("rwq_ReaderWriterQueue", peers::rwq_queue<item>);
RINGLAB_TEST_NAME("rwq_BlockingReaderWriterCircularBuffer", peers::rwq_circular_buffer<item>);
#endif

template <class Q>
inline constexpr bool single_slot = std::is_same_v<Q, handoff_slot<item>> || std::is_same_v<Q, floor_pingpong<item>>;

// The capacities a suite runs Q at: the suite's own list, except for queues that take
// only some, which are tested at those rather than skipped — libraries built for a few
// sizes (Q::fixed_capacities: atomic_queue's AtomicQueue), single slots (1), and the
// line floor (whole cache lines: the list's multiples of 8, at least 16).
template <class Q>
std::vector<std::size_t> capacities_or_fixed(std::vector<std::size_t> usual) {
  if constexpr (requires { Q::fixed_capacities; }) {
    return {std::begin(Q::fixed_capacities), std::end(Q::fixed_capacities)};
  } else if constexpr (single_slot<Q>) {
    return {1};
  } else if constexpr (std::is_same_v<Q, floor_line_ring<item>>) {
    std::vector<std::size_t> lines{16};
    for (auto c : usual)
      if (c > 16 && c % 8 == 0) lines.push_back(c);
    return lines;
  } else {
    return usual;
  }
}

struct name_generator {
  template <class Q>
  static std::string GetName(int) { return queue_name<Q>::get(); }
};

using our_queues = ::testing::Types<
    mutex_ring<item>, mutex_ring<item, mutex_options{false, 0, false}>, mutex_ring<item, mutex_options{true, 512, false}>,
    semaphore_ring<item>, two_lock_ring<item>, two_lock_ring_near_wrap<item>, handoff_slot<item>,
    spsc_ring<item>, spsc_ring<item, spsc_options{false, false}>, spsc_ring<item, spsc_options{true, false}>,
    spsc_ring<item, rigtorp_spsc>, spsc_ring<item, fastforward_spsc>,
    spsc_ring<item, spsc_options{.slot_flag = true, .gap = 3, .batch = 5}>, floor_pingpong<item>, floor_line_ring<item>,
    mpmc_ring<item>, mpmc_ring<item, mpmc_options{true}>, mpmc_ring_near_wrap<item, std::uint64_t>,
    mpmc_ring_near_wrap<item, std::uint32_t>
#if RINGLAB_HAVE_MOODYCAMEL
    , peers::moodycamel_queue<item>, peers::moodycamel_blocking_queue<item>
#endif
    , textbook_mutex_queue<item>
#if RINGLAB_HAVE_ATOMIC_QUEUE
    , peers::aq_AtomicQueue<item>, peers::aq_AtomicQueue_spsc<item>, peers::aq_AtomicQueueB<item>,
    peers::aq_AtomicQueueB_spsc<item>, peers::aq_AtomicQueue2<item>, peers::aq_AtomicQueue2_spsc<item>,
    peers::aq_AtomicQueueB2<item>, peers::aq_AtomicQueueB2_spsc<item>
#endif
#if RINGLAB_HAVE_BOOST_LOCKFREE
    , peers::boost_spsc_queue<item>, peers::boost_queue<item>
#endif
#if RINGLAB_HAVE_TBB
    , peers::tbb_bounded_queue<item>
#endif
#if RINGLAB_HAVE_READERWRITERQUEUE
    , peers::rwq_queue<item>, peers::rwq_circular_buffer<item>
#endif
    >;

}  // namespace ringlab::testing
