// The harness end to end on real threads: the schedule, latency without coordinated
// omission, validation catching broken queues, both termination protocols for many
// shapes, payload sizes, and the delivery arithmetic on its own.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <ringlab/queues/mpmc_ring.hpp>
#include <ringlab/queues/mutex_ring.hpp>
#include <ringlab/queues/spsc_ring.hpp>

#include "broken_queues.hpp"
#include "harness/run.hpp"
#include "harness/seed_scenario.hpp"
#if RINGLAB_HAVE_MOODYCAMEL
#include "peers/moodycamel.hpp"
#endif

namespace ringlab::harness {
namespace {

using namespace std::chrono_literals;

const run_context& context() {
  static const topology topo = topology::this_machine();
  static const run_context ctx{&calibrated_clock(), &topo, "test-host", "test"};
  return ctx;
}

run_config quick(std::string queue, double duration = 0.2) {
  run_config c;
  c.queue = std::move(queue);
  c.duration_s = duration;
  c.warmup_s = 0.05;
  c.wait = "yield";  // safe on 2 cores whatever the shape
  c.drain_timeout_s = 5;
  return c;
}

TEST(Schedule, ProducersInterleaveEvenlyAndKeepTheirSchedule) {
  schedule s{1000, 10.0, 3};  // 3 producers, one item every 10 ticks overall
  EXPECT_EQ(s.due(0, 0), 1000u);
  EXPECT_EQ(s.due(1, 0), 1010u);
  EXPECT_EQ(s.due(2, 0), 1020u);
  EXPECT_EQ(s.due(0, 1), 1030u);
  EXPECT_EQ(s.due(2, 1000), 1000u + (1000 * 3 + 2) * 10);
  EXPECT_FALSE(schedule{}.open_loop());
}

TEST(Schedule, WaitUntilNeverReturnsEarly) {
  const auto& clock = calibrated_clock();
  for (double ahead_ns : {0.0, 500.0, 50e3, 300e3, 2e6}) {
    const auto due = clock.ticks() + clock.from_ns(ahead_ns);
    const auto t = wait_until(clock, due, clock.ticks());
    EXPECT_GE(t, due);
    EXPECT_LT(clock.to_ns(static_cast<double>(t - due)), 1e6) << "woke more than 1 ms late for " << ahead_ns;
  }
}

TEST(OpenLoop, AchievesTheOfferedRate) {
  auto c = quick("mpmc_ring", 0.5);
  c.offered_rate = 50000;
  const auto r = run_typed<mpmc_ring<tag>, yield, tag>(c, context());
  ASSERT_TRUE(r.valid) << r.validation_error;
  EXPECT_NEAR(r.throughput_items_per_s, 50000, 1500);
  EXPECT_GT(r.latency.samples, 20000u) << "every item sampled at this rate";
}

// A consumer that stops for 100 ms once, in the middle of the measured window.
template <class T>
class stalling_queue : public mpmc_ring<T> {
 public:
  using mpmc_ring<T>::mpmc_ring;
  bool try_pop(T& item) {
    if (!mpmc_ring<T>::try_pop(item)) return false;
    if (++delivered_ == 6000) std::this_thread::sleep_for(100ms);
    return true;
  }

 private:
  std::uint64_t delivered_ = 0;
};

// The stall holds ~2000 items back. They wait in the producer, not in the 4-slot
// queue, so service time (from enqueue) barely sees it; latency from the due time must.
TEST(OpenLoop, AStalledConsumerShowsAsLatencyNotAsSilence) {
  auto c = quick("stalling", 1.0);
  c.offered_rate = 20000;
  c.capacity = 4;
  c.warmup_s = 0.1;
  const auto r = run_typed<stalling_queue<tag>, yield, tag>(c, context());
  ASSERT_TRUE(r.valid) << r.validation_error;
  EXPECT_GT(r.latency.max, 90e6);
  EXPECT_GT(r.latency.p99, 50e6) << "the delayed items are 10% of the run";
  EXPECT_LT(r.service.p99, 10e6) << "service time does not see what the producer was kept from sending";
}

TEST(ClosedLoop, ThroughputAndLatencyAreMeasured) {
  const auto r = run_typed<spsc_ring<tag>, yield, tag>(quick("spsc_ring"), context());
  ASSERT_TRUE(r.valid) << r.validation_error;
  EXPECT_GT(r.throughput_items_per_s, 1e5);
  EXPECT_GT(r.latency.samples, 1000u);
  EXPECT_EQ(r.items_pushed, r.items_popped);
  EXPECT_GT(r.consumer_cpu_ns_per_item, 0);
  EXPECT_NEAR(r.measured_s, 0.2, 0.02);
}

TEST(ClosedLoop, LatencyCanBeSwitchedOff) {
  auto c = quick("spsc_ring");
  c.record_latency = false;
  const auto r = run_typed<spsc_ring<tag>, yield, tag>(c, context());
  ASSERT_TRUE(r.valid);
  EXPECT_EQ(r.latency.samples, 0u);
}

TEST(ItemsMode, RunsExactlyTheItemsAskedFor) {
  auto c = quick("mpmc_ring");
  c.items = 100001;
  c.warmup_s = 0;
  c.producers = 3;
  c.consumers = 2;
  const auto r = run_typed<mpmc_ring<tag>, yield, tag>(c, context());
  ASSERT_TRUE(r.valid) << r.validation_error;
  EXPECT_EQ(r.items_pushed, 100001u);
  EXPECT_EQ(r.items_popped, 100001u);
  EXPECT_GT(r.throughput_items_per_s, 0);
  c.warmup_s = 10;  // a warm-up longer than the run leaves nothing to measure: no figure, not 0
  const auto none = run_typed<mpmc_ring<tag>, yield, tag>(c, context());
  EXPECT_TRUE(none.valid);
  EXPECT_TRUE(std::isnan(none.throughput_items_per_s));
}

template <testing::defect D>
using broken = testing::broken_queue<tag, D, 997>;

TEST(Validation, DroppedItemsMakeTheRunInvalid) {
  auto c = quick("dropping");
  c.drain_timeout_s = 1;
  c.ending = termination::join;  // sentinel would also work; join must notice the count is short
  const auto r = run_typed<broken<testing::defect::drop>, yield, tag>(c, context());
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.validation_error.find("never arrived"), std::string::npos) << r.validation_error;
}

TEST(Validation, DuplicatedItemsMakeTheRunInvalid) {
  const auto r = run_typed<broken<testing::defect::duplicate>, yield, tag>(quick("duplicating"), context());
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.validation_error.find("more than once"), std::string::npos) << r.validation_error;
}

TEST(Validation, ReorderedItemsMakeTheRunInvalid) {
  const auto r = run_typed<broken<testing::defect::reorder>, yield, tag>(quick("reordering"), context());
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.validation_error.find("out of order"), std::string::npos) << r.validation_error;
}

TEST(Validation, ArithmeticCatchesASwapOfOneItemForAnother) {
  delivery_tally one(1);
  for (std::uint64_t s = 0; s < 10; ++s) one.record(make_tag(0, s == 4 ? 7 : s), false);  // 4 lost, 7 twice
  const auto v = validate_delivery({10}, {one});
  EXPECT_FALSE(v.valid);
  EXPECT_NE(v.problem.find("wrong items"), std::string::npos) << v.problem;
  delivery_tally good(1);
  for (std::uint64_t s = 0; s < 10; ++s) good.record(make_tag(0, s), true);
  EXPECT_TRUE(validate_delivery({10}, {good}).valid);
  delivery_tally corrupt(1);
  corrupt.record(make_tag(5, 0), true);
  EXPECT_NE(validate_delivery({0}, {corrupt}).problem.find("no valid producer"), std::string::npos);
}

struct shape {
  unsigned producers, consumers;
};

class Termination : public ::testing::TestWithParam<std::tuple<termination, shape>> {};

TEST_P(Termination, LosesNothingAndTimesTheDrain) {
  auto [ending, s] = GetParam();
  auto c = quick("mpmc_ring", 0.15);
  c.ending = ending;
  c.producers = s.producers;
  c.consumers = s.consumers;
  const auto r = run_typed<mpmc_ring<tag>, park, tag>(c, context());
  ASSERT_TRUE(r.valid) << r.validation_error;
  EXPECT_EQ(r.items_pushed, r.items_popped);
  EXPECT_GT(r.drain_ns, 0);
  EXPECT_LT(r.drain_ns, 1e9);
#if RINGLAB_HAVE_MOODYCAMEL
  // Per-producer order only: every producer sends its own pills.
  const auto m = run_typed<peers::moodycamel_queue<tag>, yield, tag>(c, context());
  ASSERT_TRUE(m.valid) << m.validation_error;
  EXPECT_EQ(m.items_pushed, m.items_popped);
#endif
}

INSTANTIATE_TEST_SUITE_P(Shapes, Termination,
                         ::testing::Combine(::testing::Values(termination::sentinel, termination::join),
                                            ::testing::Values(shape{1, 1}, shape{1, 4}, shape{4, 1}, shape{3, 2})));

// The seed scenario's drain races the producers' last pushes, so it runs many short
// rounds each way: every item pushed is consumed, whichever look finds it.
TEST(SeedScenario, ConsumesTwentyAndLosesNothing) {
  for (termination ending : {termination::sentinel, termination::join}) {
    for (std::uint64_t round = 0; round < 40; ++round) {
      auto c = quick("mpmc_ring");
      c.producers = 2;
      c.consumers = 1;
      c.capacity = 5;
      c.pin = "none";
      c.ending = ending;
      const auto r = run_seed_typed<mpmc_ring<tag>, park>(c, 0.02, round, context());
      ASSERT_TRUE(r.valid) << "round " << round << ": " << r.validation_error;
      EXPECT_GE(r.items_popped, seed_target_items);
      EXPECT_EQ(r.items_pushed, r.items_popped);
    }
  }
}

TEST(Payload, EverySizeIsCarriedAndChecked) {
  auto c = quick("mutex_ring", 0.1);
  c.wait = "block";
  c.payload_bytes = 1024;
  const auto r = run_typed<mutex_ring<item_of<1024>>, block, item_of<1024>>(c, context());
  ASSERT_TRUE(r.valid) << r.validation_error;
  EXPECT_GT(r.items_popped, 0u);
  c.payload_bytes = 64;
  const auto small = run_typed<spsc_ring<item_of<64>>, yield, item_of<64>>(c, context());
  ASSERT_TRUE(small.valid) << small.validation_error;
}

}  // namespace
}  // namespace ringlab::harness
