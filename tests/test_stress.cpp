// The templated stress test on every queue (see stress.hpp), and the proof that it
// fails on queues that drop, duplicate, reorder or corrupt, and on a wait strategy that
// loses a wake-up.
#include <gtest/gtest.h>

#include <time.h>

#include "broken_queues.hpp"
#include "check/conformance.hpp"
#include "queue_types.hpp"
#include "stress.hpp"

namespace ringlab::testing {
namespace {

using harness::payload_item;

struct shape {
  unsigned producers, consumers;
};

template <class Q>
std::vector<shape> shapes_for() {
  if (Q::properties.spsc_only) return {{1, 1}};
  if constexpr (single_slot<Q>) return {{1, 1}, {2, 2}};
  return {{1, 1}, {2, 2}, {4, 4}};
}

template <class Q>
std::vector<std::size_t> capacities_for() {
  return capacities_or_fixed<Q>({1, 2, 3, 64, 1024});
}

// The family's queue of 8-byte tags, then of 64- and 1024-byte payload items where its
// library carries them; fewer items for bigger ones (the copies dominate). Under TSan,
// whose every copy is instrumented byte by byte, the 1024-byte items are left to the
// debug build: the races TSan looks for do not depend on the size.
template <class F, class Body>
void for_each_payload(Body&& body) {
  body.template operator()<typename F::template of<tag>>(1);
  using of64 = typename F::template of<payload_item<64>>;
  if constexpr (!is_unsupported<of64>) body.template operator()<of64>(4);
#if !defined(__SANITIZE_THREAD__)
  using of1024 = typename F::template of<payload_item<1024>>;
  if constexpr (!is_unsupported<of1024>) body.template operator()<of1024>(16);
#endif
}

template <class F>
class Stress : public ::testing::Test {};
TYPED_TEST_SUITE(Stress, our_families, name_generator);

TYPED_TEST(Stress, TryPushTryPopEveryShapeCapacityAndPayload) {
  for_each_payload<TypeParam>([]<class Q>(unsigned fewer) {
    for (auto [p, c] : shapes_for<Q>())
      for (auto capacity : capacities_for<Q>()) {
        stress_config cfg{p, c, capacity, stress_items() / fewer, stress_seed()};
        const auto report = stress_try<Q>(cfg);
        ASSERT_TRUE(report.ok) << report.failure;
      }
  });
}

// Steady streams; and, for the strategies that sleep (park, a queue's own blocking),
// bursts after which the queue drains and the consumers go to sleep, so the first item
// of the next burst must wake them (up to 2x2: a lost wake-up needs no more threads).
// A queue whose own blocking only spins (atomic_queue) has no wake-up to lose; its four
// spinning threads on two CPUs once starved each other for 3 s there, so it has none.
template <class Q, class W>
void blocking_matrix(unsigned fewer = 1) {
  constexpr bool never_sleeps = std::is_same_v<W, block> && requires { requires Q::native_block_never_sleeps; };
  constexpr bool sleeps = !std::is_same_v<W, yield> && !std::is_same_v<W, spin> && !never_sleeps;
  for (bool bursts : {false, true}) {
    if (bursts && !sleeps) continue;
    for (auto [p, c] : shapes_for<Q>()) {
      if (bursts && p > 2) continue;
      for (std::size_t capacity : capacities_or_fixed<Q>({1, 64})) {
        stress_config cfg{p, c, capacity, stress_items() / 4 / fewer / (bursts ? 4 : 1), stress_seed(), bursts};
        const auto report = stress_blocking<Q, W>(cfg);
        ASSERT_TRUE(report.ok) << W::name << (bursts ? " (bursts)" : "") << ": " << report.failure;
      }
    }
  }
}

template <class F>
using tags_of = typename F::template of<tag>;

TYPED_TEST(Stress, BlockingWithPark) {
  blocking_matrix<tags_of<TypeParam>, park>();
#if !defined(__SANITIZE_THREAD__)
  using big = typename TypeParam::template of<payload_item<1024>>;
  if constexpr (!is_unsupported<big>) blocking_matrix<big, park>(16);
#endif
}
TYPED_TEST(Stress, BlockingWithYield) { blocking_matrix<tags_of<TypeParam>, yield>(); }
TYPED_TEST(Stress, BlockingNatively) {
  if constexpr (tags_of<TypeParam>::properties.blocks_natively) blocking_matrix<tags_of<TypeParam>, block>();
  else GTEST_SKIP() << "no blocking push/pop of its own";
}

// Spinning is only sane with one thread per core: 1x1 on this 2-core machine.
TYPED_TEST(Stress, BlockingWithSpinOneToOne) {
  using Q = tags_of<TypeParam>;
  stress_config cfg{1, 1, capacities_for<Q>().back(), stress_items() / 4, stress_seed()};
  const auto report = stress_blocking<Q, spin>(cfg);
  ASSERT_TRUE(report.ok) << report.failure;
}

// The bound under load: never more items inside than the queue says it holds (its
// capacity, or most_held() where the bound is approximate), on every shape and capacity.
TYPED_TEST(Stress, HoldsNoMoreThanItsBound) {
  using Q = tags_of<TypeParam>;
  if constexpr (!Q::properties.bounded) {
    GTEST_SKIP() << "no bound claimed";
  } else {
    for (auto [p, c] : shapes_for<Q>())
      for (auto capacity : capacities_for<Q>()) {
        stress_config cfg{p, c, capacity, stress_items() / 5, stress_seed()};
        const auto report = stress_bound<Q>(cfg);
        ASSERT_TRUE(report.ok) << report.failure;
      }
  }
}

// A stress test that cannot fail proves nothing: each defect must be reported.
TEST(StressCatches, AQueueAboveItsBound) {
  for (std::size_t capacity : {4, 64}) {  // twice 1 is within the slack of one uncounted pop
    stress_config cfg{1, 1, capacity, 20000, stress_seed()};
    const auto report = stress_bound<oversized_queue<item>>(cfg);
    EXPECT_FALSE(report.ok) << "capacity " << capacity;
    EXPECT_NE(report.failure.find("items inside at once"), std::string::npos) << report.failure;
    const std::string filled = check::honours_capacity<oversized_queue<item>>(capacity);
    EXPECT_NE(filled.find("above the most it says it holds"), std::string::npos) << filled;
  }
}

TEST(StressCatches, DroppedItem) {
  stress_config cfg{2, 2, 64, 20000, stress_seed()};
  const auto report = stress_try<broken_queue<item, defect::drop>>(cfg);
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.failure.find("missing"), std::string::npos) << report.failure;
  EXPECT_NE(report.failure.find("RINGLAB_SEED="), std::string::npos) << report.failure;
}

TEST(StressCatches, DuplicatedItem) {
  stress_config cfg{2, 2, 64, 20000, stress_seed()};
  const auto report = stress_try<broken_queue<item, defect::duplicate>>(cfg);
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.failure.find("popped twice"), std::string::npos) << report.failure;
}

TEST(StressCatches, ReorderedItem) {
  stress_config cfg{1, 1, 64, 20000, stress_seed()};
  const auto report = stress_try<broken_queue<item, defect::reorder>>(cfg);
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.failure.find("out of order"), std::string::npos) << report.failure;
}

TEST(StressCatches, CorruptedBody) {
  stress_config cfg{2, 2, 64, 5000, stress_seed()};
  const auto report = stress_try<broken_queue<payload_item<1024>, defect::corrupt_body>>(cfg);
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.failure.find("wrong body"), std::string::npos) << report.failure;
  EXPECT_EQ(report.failure.find("missing"), std::string::npos) << "only bodies were harmed: " << report.failure;
}

// A park that registers as a sleeper without looking at the queue again loses the wake-up
// of an item pushed between its last look and its registering; a pause in that window
// (as a preemption would make) lets the test hit it. The bursts must catch it, and the
// real park, with the same pause, must pass.
struct sleep_in_window {
  static void pass() noexcept {
    timespec ts{0, 1000000};  // 1 ms: far longer than a preemption, so a loaded machine hits it too
    nanosleep(&ts, nullptr);
  }
};
using park_without_recheck = basic_park<128, 8, false, /*Recheck=*/false, sleep_in_window>;
using park_with_recheck = basic_park<128, 8, false, /*Recheck=*/true, sleep_in_window>;

// Bursts of 1-3 items, each after a pause of up to 2 ms: the next push often falls in the
// consumer's window.
TEST(StressCatches, LostWakeUpOfAParkWithoutTheRecheck) {
  stress_config cfg{1, 1, 1, 2000, stress_seed(), /*bursts=*/true, /*burst_pause_us=*/2000};
  const auto report = stress_blocking<mpmc_ring<item>, park_without_recheck>(cfg);
  EXPECT_FALSE(report.ok) << "a park without its re-check passed the bursts";
  EXPECT_NE(report.failure.find("lost wake-up"), std::string::npos) << report.failure;
}

TEST(StressCatches, NothingWhenTheParkRechecksDespiteTheSameWindow) {
  stress_config cfg{1, 1, 1, 2000, stress_seed(), /*bursts=*/true, /*burst_pause_us=*/2000};
  const auto report = stress_blocking<mpmc_ring<item>, park_with_recheck>(cfg);
  EXPECT_TRUE(report.ok) << report.failure;
}

}  // namespace
}  // namespace ringlab::testing
