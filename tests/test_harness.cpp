// The harness end to end on real threads: the schedule, latency without coordinated
// omission, validation catching broken queues, both termination protocols for many
// shapes, payload sizes, and the delivery arithmetic on its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <ringlab/queues/mpmc_ring.hpp>
#include <ringlab/queues/mutex_ring.hpp>
#include <ringlab/queues/spsc_ring.hpp>

#include "broken_queues.hpp"
#include "harness/floor.hpp"
#include "harness/noise.hpp"
#include "harness/run.hpp"
#include "harness/seed_scenario.hpp"
#include "scopes/run_point.hpp"
#include "scopes/seed_point.hpp"
#if RINGLAB_HAVE_MOODYCAMEL
#include "peers/moodycamel.hpp"
#endif
#if RINGLAB_HAVE_ATOMIC_QUEUE
#include "peers/atomic_queue.hpp"
#endif

namespace ringlab::harness {
namespace {

using namespace std::chrono_literals;

const run_context& context() {
  static const topology topo = topology::this_machine();
  static const run_context ctx{&calibrated_clock(), &topo, "test-host", "test", "test-build"};
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

// A queue that shows its items only at flush(), and is slow to: a consumer that parked
// before the last batch must be woken by the native producer's flush (without it, pipe.batch's
// native runs hung now and then, the pill flushed but its wake-up never sent).
template <class T>
class late_flush_queue {
 public:
  using value_type = T;
  static constexpr queue_properties properties{.spsc_only = true, .delays_visibility = true};
  explicit late_flush_queue(std::size_t) {}
  std::size_t capacity() const noexcept { return std::size_t{1} << 20; }
  bool try_push(const T& item) { return held_.push_back(item), true; }
  bool try_pop(T& item) {
    std::lock_guard lock(mutex_);
    if (shown_.empty()) return false;
    item = shown_.front();
    shown_.pop_front();
    return true;
  }
  void flush() {
    std::this_thread::sleep_for(20ms);  // the consumer goes back to sleep meanwhile
    std::lock_guard lock(mutex_);
    shown_.insert(shown_.end(), held_.begin(), held_.end());
    held_.clear();
  }

 private:
  std::vector<T> held_;  // the producer's alone
  std::mutex mutex_;
  std::deque<T> shown_;
};

TEST(Native, TheLastFlushWakesAParkedConsumer) {
  late_flush_queue<std::uint64_t> q(0);
  wait_state<park> ws;
  control_block ctl;
  ctl.plan.t0_ticks = 0;
  ctl.phase.store(stop);  // the producer pushes a few items, the pill, and flushes
  native_side producer_side, consumer_side;
  const clock_source& clock = *context().clock;
  std::thread consumer([&] { native_consumer<std::uint64_t>(q, ws, ctl, consumer_side, clock); });
  std::this_thread::sleep_for(20ms);  // asleep on the empty queue
  native_producer<std::uint64_t>(q, ws, ctl, producer_side, clock, std::uint64_t{0});
  for (int i = 0; i < 300 && ctl.consumers_exited.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  const bool woken = ctl.consumers_exited.load() == 1;
  ringlab::close(q, ws);  // a consumer still asleep leaves now
  consumer.join();
  EXPECT_TRUE(woken) << "the consumer slept through the flush that published the pill";
  EXPECT_EQ(consumer_side.done, producer_side.done);
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

// How late a waiter wakes for a wait `ahead_ns` away: the best of five tries, since a
// loaded CI machine can preempt any one of them by milliseconds. Never early, on any try.
template <class Waiter>
double best_lateness_ns(const clock_source& clock, double ahead_ns, Waiter wait) {
  double best = 1e18;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const auto due = clock.ticks() + clock.from_ns(ahead_ns);
    const auto t = wait(due);
    EXPECT_GE(t, due) << "woke early for " << ahead_ns;
    best = std::min(best, clock.to_ns(static_cast<double>(t - due)));
  }
  return best;
}

TEST(Schedule, WaitUntilNeverReturnsEarlyNorLate) {
  const auto& clock = calibrated_clock();
  for (double ahead_ns : {0.0, 500.0, 50e3, 300e3, 2e6}) {
    const double late = best_lateness_ns(clock, ahead_ns, [&](std::uint64_t due) { return wait_until(clock, due, clock.ticks()); });
    EXPECT_LT(late, 1e6) << "woke more than 1 ms late for " << ahead_ns << " on every try";
  }
  // Control: a waiter that oversleeps by 2 ms is judged late.
  const double late = best_lateness_ns(clock, 300e3, [&](std::uint64_t) {
    std::this_thread::sleep_for(2300us);  // the 300 us asked for, and 2 ms more
    return clock.ticks();
  });
  EXPECT_GE(late, 1e6) << "the check would not see a waiter that wakes 2 ms late";
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

// A slow closed loop (250 us of work per item, a 4-slot queue: at most 4,000 items/s)
// must still see its 150 ms window: sides that looked at the phase every 1024 items
// (256 ms here) saw warm-up and stop at once, and the run had no window at all.
TEST(ClosedLoop, ASlowSideStillSeesItsWindow) {
  auto c = quick("mpmc_ring", 0.15);
  c.capacity = 4;
  c.service_ns = 250000;
  const auto r = run_typed<mpmc_ring<tag>, yield, tag>(c, context());
  ASSERT_TRUE(r.valid) << r.validation_error;
  EXPECT_GT(r.latency.samples, 100u);
  EXPECT_GT(r.throughput_items_per_s, 500);
  EXPECT_LT(r.throughput_items_per_s, 4100);
}

// Offered far beyond what the queue takes, the producer falls further behind its
// schedule every moment: latency from the due time grows with the run, while the queue's
// own service time stays short. Items due but never sent count too (as lower bounds);
// without them (the coordinated-omission ablation) the window would have no samples.
TEST(OpenLoop, OverloadShowsAsLatencyThatGrowsWithTheRun) {
  auto c = quick("mutex_ring", 0.3);
  c.wait = "block";
  c.capacity = 16;
  c.offered_rate = 2e8;
  const auto short_run = run_typed<mutex_ring<tag>, block, tag>(c, context());
  ASSERT_TRUE(short_run.valid) << short_run.validation_error;
  EXPECT_GT(short_run.latency.samples, 1000u);
  EXPECT_GT(short_run.latency_censored, 0u);
  EXPECT_GE(short_run.latency.p99, 10 * short_run.service.p99);
  c.duration_s = 0.9;
  const auto long_run = run_typed<mutex_ring<tag>, block, tag>(c, context());
  ASSERT_TRUE(long_run.valid) << long_run.validation_error;
  EXPECT_GT(long_run.latency.p99, 2 * short_run.latency.p99) << "p99 grows with the run's duration";
  c.duration_s = 0.3;
  c.count_unsent = false;  // the negative control: what the harness used to do
  const auto omitted = run_typed<mutex_ring<tag>, block, tag>(c, context());
  EXPECT_FALSE(omitted.valid && omitted.latency.p99 >= 10 * omitted.service.p99)
      << "without the unsent items the overload hides; p99 " << omitted.latency.p99 << " service p99 " << omitted.service.p99;
}

// A probe far from the usual one marks the run disturbed whichever way it is off: a fast
// phase inflates a figure as a slow one deflates it.
TEST(NoiseGuard, ProbesTooFastAndTooSlowAreTreatedAlike) {
  EXPECT_NE(probe_disturbance(100, 160, 0.5), "") << "slow";
  EXPECT_NE(probe_disturbance(100, 60, 0.5), "") << "fast: 60 < 100 / 1.5";
  EXPECT_NE(probe_disturbance(100, 60, 0.5).find("< 67"), std::string::npos);
  EXPECT_EQ(probe_disturbance(100, 140, 0.5), "") << "within";
  EXPECT_EQ(probe_disturbance(100, 70, 0.5), "") << "within";
  EXPECT_EQ(probe_disturbance(NAN, 70, 0.5), "") << "no usual probe yet (one PU)";
}

TEST(ClosedLoop, ThroughputAndLatencyAreMeasured) {
  const auto r = run_typed<spsc_ring<tag>, yield, tag>(quick("spsc_ring"), context());
  ASSERT_TRUE(r.valid) << r.validation_error;
  EXPECT_GT(r.throughput_items_per_s, 1e5);
  EXPECT_GT(r.latency.samples, 1000u);
  EXPECT_EQ(r.items_pushed, r.items_popped);
  EXPECT_GT(r.consumer_cpu_ns_per_item, 0);
  EXPECT_NEAR(r.measured_s, 0.2, 0.02);
  EXPECT_GT(r.clock_read_ns, 0) << "measured by every run";
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
  EXPECT_TRUE(std::isnan(none.throughput_items_per_s));
  EXPECT_FALSE(none.valid) << "a row without latency samples says why and is invalid";
  EXPECT_NE(none.validation_error.find("no latency samples"), std::string::npos) << none.validation_error;
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

// Losing {1, 5, 6} while {2, 3, 7} arrive twice keeps the count, the sum and the sum of
// squares of 0..7; the mixed sum must still see it (and the sum of squares would not).
TEST(Validation, TheMixedSumCatchesWhatMomentsMiss) {
  delivery_tally swapped(1);
  std::uint64_t squares = 0, sum = 0;
  for (std::uint64_t s : {0, 2, 2, 3, 3, 4, 7, 7}) swapped.record(make_tag(0, s), false), squares += s * s, sum += s;
  ASSERT_EQ(sum, 28u);
  ASSERT_EQ(squares, 140u) << "the same moments as 0..7: the old check would have passed";
  const auto v = validate_delivery({8}, {swapped});
  EXPECT_FALSE(v.valid);
  EXPECT_NE(v.problem.find("wrong items"), std::string::npos) << v.problem;
}

TEST(Validation, ATornBodyMakesTheRunInvalid) {
  auto c = quick("tearing");
  c.payload_bytes = 64;
  const auto r = run_typed<testing::broken_queue<item_of<64>, testing::defect::corrupt_body, 997>, yield, item_of<64>>(c, context());
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.validation_error.find("torn"), std::string::npos) << r.validation_error;
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

// With the queue's own blocking pop on both sides, join ends by closing the queue once the
// producers are done (a consumer asleep in pop cannot publish its count): nothing lost.
TEST(Termination, JoinWithTheQueuesOwnBlockingEndsByClose) {
  for (auto [p, q] : {std::pair{1u, 1u}, {2u, 2u}, {1u, 3u}}) {
    auto c = quick("mutex_ring", 0.15);
    c.wait = "block";
    c.ending = termination::join;
    c.producers = p;
    c.consumers = q;
    const auto r = run_typed<mutex_ring<tag>, block, tag>(c, context());
    ASSERT_TRUE(r.valid) << p << "x" << q << ": " << r.validation_error;
    EXPECT_EQ(r.items_pushed, r.items_popped);
  }
#if RINGLAB_HAVE_ATOMIC_QUEUE
  auto c = quick("aq.AtomicQueue.spsc", 0.15);
  c.wait = "block";
  c.ending = termination::join;
  const auto r = run_typed<peers::aq_AtomicQueue_spsc<tag>, block, tag>(c, context());
  ASSERT_TRUE(r.valid) << r.validation_error;
  EXPECT_EQ(r.items_pushed, r.items_popped);
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

// Mode native: the queue's own loop, counted and summed; a dropped item is noticed.
TEST(Native, StreamAndRoundTripsAreCountedAndChecked) {
  auto c = quick("spsc_ring");
  c.native = true;
  c.record_latency = false;
  c.wait = "spin";
  const auto stream = run_native_typed<spsc_ring<tag>, spin, tag>(c, context());
  ASSERT_TRUE(stream.valid) << stream.validation_error;
  EXPECT_GT(stream.throughput_items_per_s, 1e5);
  EXPECT_EQ(stream.items_pushed, stream.items_popped);
  EXPECT_EQ(stream.latency.samples, 0u);
  c.shape = pattern::pingpong;
  const auto rtt = run_native_typed<spsc_ring<tag>, spin, tag>(c, context());
  ASSERT_TRUE(rtt.valid) << rtt.validation_error;
  EXPECT_GT(rtt.rtt_mean_ns, 0);
  c.shape = pattern::stream;
  c.wait = "yield";
  const auto lossy = run_native_typed<broken<testing::defect::drop>, yield, tag>(c, context());
  EXPECT_FALSE(lossy.valid) << "the native loop's end check must notice a lost item";
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

// Which side held the other up: work on one side makes the other wait on it, and the
// row names the side with the work (each case is the other's negative control). 20 us
// of work, so that the other side keeps up even sharing its PU (2 us did not, under load).
TEST(Regimes, TheSideWithTheWorkIsNamedTheBottleneck) {
  auto c = quick("spsc_ring");
  c.capacity = 64;
  c.work_ns = 20000;
  const auto slow_consumer = run_typed<spsc_ring<tag>, yield, tag>(c, context());
  ASSERT_TRUE(slow_consumer.valid) << slow_consumer.validation_error;
  EXPECT_EQ(slow_consumer.bottleneck, "consumer") << describe(slow_consumer);
  c.work_ns = 0;
  c.producer_work_ns = 20000;
  const auto slow_producer = run_typed<spsc_ring<tag>, yield, tag>(c, context());
  ASSERT_TRUE(slow_producer.valid) << slow_producer.validation_error;
  EXPECT_EQ(slow_producer.bottleneck, "producer") << describe(slow_producer);
  c.wait = "block";  // the queue's own blocking calls: nothing tries first, nothing known
  const auto blocking = run_typed<mutex_ring<tag>, block, tag>(c, context());
  EXPECT_EQ(blocking.bottleneck, "");
  EXPECT_TRUE(std::isnan(blocking.producer_waits_per_item));
}

// spsc_ring whose consumer busy-waits 20 us more per item once the run is past the middle
// of its window: the same queue at two speeds within one run. Busy, not asleep: a sleep
// takes ~70 us, too few items for the consumer's slice marks (one look per 1024 items).
template <class T>
class slows_down_halfway {
 public:
  using value_type = T;
  static constexpr queue_properties properties = spsc_ring<T>::properties;
  explicit slows_down_halfway(std::size_t capacity) : inner_(capacity) {}
  std::size_t capacity() const noexcept { return inner_.capacity(); }
  bool try_push(const T& item) { return inner_.try_push(item); }
  bool try_pop(T& item) {
    const auto now = std::chrono::steady_clock::now();
    if (first_ == std::chrono::steady_clock::time_point{}) first_ = now;
    if (now - first_ > slow_after)
      while (std::chrono::steady_clock::now() < now + 20us) {
      }
    return inner_.try_pop(item);
  }
  static constexpr auto slow_after = 250ms;  // 50 ms warm-up, then half of a 0.4 s window

 private:
  spsc_ring<T> inner_;
  std::chrono::steady_clock::time_point first_{};  // the consumer's alone
};

// A run whose speed changes mid-window spreads its slices' throughput far past the row's
// flag (1.5); the same run without the change stays well under what the change gives
// (the negative control). Not under the flag itself: on a 2-vCPU VM a steady run's
// slices spread up to 1.7x (a fresh-clone run), and the flag says "not one steady
// regime", whatever the cause. A machine busy with other work spreads them more: this
// test runs alone (meson).
TEST(Regimes, ARunThatChangesSpeedMidWindowIsFlagged) {
  auto c = quick("spsc_ring", 0.4);
  c.capacity = 64;
  c.work_ns = 1000;  // steady and consumer-bound, so the change is the consumer's
  const auto changed = run_typed<slows_down_halfway<tag>, yield, tag>(c, context());
  ASSERT_TRUE(changed.valid) << changed.validation_error;
  EXPECT_GT(changed.slice_rate_spread, 5) << describe(changed);
  EXPECT_GT(changed.slice_rate_spread, run_result::regime_change_spread);
  // Noise only ever spreads a run's slices, never evens them: the steadiest of up to three
  // runs is the control (CI spread one 2.67x, its clock stolen mid-window).
  run_result steady;
  for (int attempt = 0; attempt < 3 && !(steady.slice_rate_spread < 2.5); ++attempt) {
    steady = run_typed<spsc_ring<tag>, yield, tag>(c, context());
    ASSERT_TRUE(steady.valid) << steady.validation_error;
  }
  EXPECT_LT(steady.slice_rate_spread, 2.5) << describe(steady);
  c.items = 10000;  // items mode has no timed window to slice: nothing claimed
  const auto counted = run_typed<spsc_ring<tag>, yield, tag>(c, context());
  EXPECT_TRUE(std::isnan(counted.slice_rate_spread));
}

// The machine's floor beside a guarded latency run: the five columns filled, the gaps'
// percentiles in order (no ordering of wake and spin: timings may cross on a busy VM);
// floor_s = 0, the negative control, leaves them empty. One guard for both runs: its
// baseline of probes takes 2 s once.
TEST(MachineFloor, AGuardedLatencyRunHasItsFloorAndFloorZeroHasNone) {
  guard_options options;
  options.quiet_wait_s = 0.1;
  options.phase_wait_s = 0;
  noise_guard guard(options, *context().topo);
  const auto c = quick("spsc_ring", 0.1);
  auto run = [&] { return run_typed<spsc_ring<tag>, yield, tag>(c, context()); };
  auto column = [](const run_result& r, const std::string& name) {
    const auto header = csv_header(r);
    const auto at = std::find(header.begin(), header.end(), name);
    return at == header.end() ? std::string("(no column)") : csv_values(r)[static_cast<std::size_t>(at - header.begin())];
  };
  const std::vector<std::string> columns = {"floor_p50_ns", "floor_p99_ns", "floor_max_ns", "floor_wake_ns", "floor_spin_ns"};
  const auto r = guard.run(c, run);
  ASSERT_TRUE(r.valid) << r.validation_error;
  for (double v : {r.floor_p50_ns, r.floor_p99_ns, r.floor_max_ns, r.floor_wake_ns, r.floor_spin_ns})
    EXPECT_TRUE(std::isfinite(v) && v >= 0) << describe(r);
  EXPECT_LE(r.floor_p50_ns, r.floor_p99_ns);
  EXPECT_LE(r.floor_p99_ns, r.floor_max_ns);
  for (const auto& name : columns) EXPECT_NE(column(r, name), "") << name;
  EXPECT_NE(describe(r).find("machine floor"), std::string::npos) << describe(r);

  guard.options().floor_s = 0;
  const auto none = guard.run(c, run);
  ASSERT_TRUE(none.valid) << none.validation_error;
  for (double v : {none.floor_p50_ns, none.floor_p99_ns, none.floor_max_ns, none.floor_wake_ns, none.floor_spin_ns})
    EXPECT_TRUE(std::isnan(v)) << describe(none);
  for (const auto& name : columns) EXPECT_EQ(column(none, name), "") << name;
  EXPECT_EQ(describe(none).find("machine floor"), std::string::npos);

  // The window: the run's duration up to 0.25 s; none without latency or without guards.
  auto no_latency = c;
  no_latency.record_latency = false;
  auto counted = c;
  counted.items = 1000;
  guard_options defaults, off;
  off.enabled = false;
  EXPECT_DOUBLE_EQ(floor_window_s(defaults, c), 0.1);
  EXPECT_DOUBLE_EQ(floor_window_s(defaults, quick("spsc_ring", 2)), 0.25);
  EXPECT_DOUBLE_EQ(floor_window_s(defaults, counted), 0.25);
  EXPECT_EQ(floor_window_s(defaults, no_latency), 0);
  EXPECT_EQ(floor_window_s(off, c), 0);
}

// The hiccup recorder sees a stall in its loop: one deliberate 2 ms sleep is its longest
// gap. Without it (the control) the longest gap need not reach 2 ms, nor stay under it on
// a VM the host preempts; the median gap of a do-nothing loop stays far below either.
TEST(MachineFloor, AStallInTheLoopShowsAsTheLongestGap) {
  const clock_source& clock = *context().clock;
  auto stalled = std::make_unique<histogram>(), plain = std::make_unique<histogram>();
  record_gaps(clock, 0.02, *stalled, [](std::uint64_t i) {
    if (i == 1000) std::this_thread::sleep_for(2ms);
  });
  record_gaps(clock, 0.02, *plain);
  const auto with_stall = hiccup_figures(*stalled, clock), without = hiccup_figures(*plain, clock);
  EXPECT_GE(with_stall.max_ns, 2e6);
  EXPECT_LT(with_stall.p50_ns, 1e5);
  EXPECT_LT(without.p50_ns, 1e5);
  EXPECT_LE(without.p50_ns, without.p99_ns);
  EXPECT_LE(without.p99_ns, without.max_ns);
  std::printf("gaps without the stall: p50 %.0f p99 %.0f max %.0f ns; with: max %.0f ns\n", without.p50_ns, without.p99_ns,
              without.max_ns, with_stall.max_ns);
}

}  // namespace
}  // namespace ringlab::harness
