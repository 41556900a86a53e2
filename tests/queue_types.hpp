// Every queue the suites run, as the types tests instantiate, with a readable name.
#pragma once
#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include <ringlab/tag.hpp>
#include <ringlab/queues/handoff_slot.hpp>
#include <ringlab/queues/mpmc_ring.hpp>
#include <ringlab/queues/mutex_ring.hpp>
#include <ringlab/queues/semaphore_ring.hpp>
#include <ringlab/queues/spsc_ring.hpp>
#if RINGLAB_HAVE_MOODYCAMEL
#include "peers/moodycamel.hpp"
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

template <class Q> struct queue_name;
#define RINGLAB_TEST_NAME(text, ...) \
  template <> struct queue_name<__VA_ARGS__> { static std::string get() { return text; } }
RINGLAB_TEST_NAME("mutex_ring", mutex_ring<item>);
RINGLAB_TEST_NAME("mutex_ring_plain", mutex_ring<item, mutex_options{false, 0}>);
RINGLAB_TEST_NAME("semaphore_ring", semaphore_ring<item>);
RINGLAB_TEST_NAME("handoff_slot", handoff_slot<item>);
RINGLAB_TEST_NAME("spsc_ring", spsc_ring<item>);
RINGLAB_TEST_NAME("spsc_ring_lamport", spsc_ring<item, spsc_options{false, false}>);
RINGLAB_TEST_NAME("spsc_ring_unpadded", spsc_ring<item, spsc_options{true, false}>);
RINGLAB_TEST_NAME("mpmc_ring", mpmc_ring<item>);
RINGLAB_TEST_NAME("mpmc_ring_padded", mpmc_ring<item, mpmc_options{true}>);
RINGLAB_TEST_NAME("mpmc_ring_wrap64", mpmc_ring_near_wrap<item, std::uint64_t>);
RINGLAB_TEST_NAME("mpmc_ring_wrap32", mpmc_ring_near_wrap<item, std::uint32_t>);
#if RINGLAB_HAVE_MOODYCAMEL
RINGLAB_TEST_NAME("moodycamel", peers::moodycamel_queue<item>);
RINGLAB_TEST_NAME("moodycamel_blocking", peers::moodycamel_blocking_queue<item>);
#endif

struct name_generator {
  template <class Q>
  static std::string GetName(int) { return queue_name<Q>::get(); }
};

using our_queues = ::testing::Types<
    mutex_ring<item>, mutex_ring<item, mutex_options{false, 0}>, semaphore_ring<item>, handoff_slot<item>,
    spsc_ring<item>, spsc_ring<item, spsc_options{false, false}>, spsc_ring<item, spsc_options{true, false}>,
    mpmc_ring<item>, mpmc_ring<item, mpmc_options{true}>, mpmc_ring_near_wrap<item, std::uint64_t>,
    mpmc_ring_near_wrap<item, std::uint32_t>
#if RINGLAB_HAVE_MOODYCAMEL
    , peers::moodycamel_queue<item>, peers::moodycamel_blocking_queue<item>
#endif
    >;

}  // namespace ringlab::testing
