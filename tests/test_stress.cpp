// The templated stress test on every queue (see stress.hpp), and the proof that it
// fails on queues that drop, duplicate or reorder.
#include <gtest/gtest.h>

#include "broken_queues.hpp"
#include "queue_types.hpp"
#include "stress.hpp"

namespace ringlab::testing {
namespace {

struct shape {
  unsigned producers, consumers;
};

template <class Q>
std::vector<shape> shapes_for() {
  if (Q::properties.spsc_only) return {{1, 1}};
  if constexpr (std::is_same_v<Q, handoff_slot<item>>) return {{1, 1}, {2, 2}};
  return {{1, 1}, {2, 2}, {4, 4}};
}

template <class Q>
std::vector<std::size_t> capacities_for() {
  return capacities_or_fixed<Q>({1, 2, 3, 64, 1024});
}

template <class Q>
class Stress : public ::testing::Test {};
TYPED_TEST_SUITE(Stress, our_queues, name_generator);

TYPED_TEST(Stress, TryPushTryPopEveryShapeAndCapacity) {
  for (auto [p, c] : shapes_for<TypeParam>())
    for (auto capacity : capacities_for<TypeParam>()) {
      stress_config cfg{p, c, capacity, stress_items(), stress_seed()};
      const auto report = stress_try<TypeParam>(cfg);
      ASSERT_TRUE(report.ok) << report.failure;
    }
}

template <class Q, class W>
void blocking_matrix() {
  for (auto [p, c] : shapes_for<Q>())
    for (std::size_t capacity : capacities_or_fixed<Q>({1, 64})) {
      stress_config cfg{p, c, capacity, stress_items() / 4, stress_seed()};
      const auto report = stress_blocking<Q, W>(cfg);
      ASSERT_TRUE(report.ok) << W::name << ": " << report.failure;
    }
}

TYPED_TEST(Stress, BlockingWithPark) { blocking_matrix<TypeParam, park>(); }
TYPED_TEST(Stress, BlockingWithYield) { blocking_matrix<TypeParam, yield>(); }
TYPED_TEST(Stress, BlockingNatively) {
  if constexpr (TypeParam::properties.blocks_natively) blocking_matrix<TypeParam, block>();
  else GTEST_SKIP() << "no blocking push/pop of its own";
}

// Spinning is only sane with one thread per core: 1x1 on this 2-core machine.
TYPED_TEST(Stress, BlockingWithSpinOneToOne) {
  stress_config cfg{1, 1, capacities_for<TypeParam>().back(), stress_items() / 4, stress_seed()};
  const auto report = stress_blocking<TypeParam, spin>(cfg);
  ASSERT_TRUE(report.ok) << report.failure;
}

// A stress test that cannot fail proves nothing: each defect must be reported.
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

}  // namespace
}  // namespace ringlab::testing
