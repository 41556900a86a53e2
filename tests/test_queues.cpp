// Single-threaded contract tests on every queue: capacity honoured, FIFO, wrap-around,
// and invalid capacities refused with a message. The checks shared with `ringlab check`
// (extra queues) are in src/check/conformance.hpp: each returns "" or its counterexample.
#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "check/conformance.hpp"
#include "queue_types.hpp"

namespace ringlab::testing {
namespace {

template <class Q>
std::vector<std::size_t> capacities() {
  return capacities_or_fixed<Q>({1, 2, 3, 7, 64, 1000, 1024});
}

template <class Q>
class Contract : public ::testing::Test {};
TYPED_TEST_SUITE(Contract, our_queues, name_generator);

TYPED_TEST(Contract, SatisfiesTheConcept) {
  static_assert(ringlab::queue<TypeParam>);
  if constexpr (TypeParam::properties.blocks_natively) static_assert(ringlab::blocking_queue<TypeParam>);
}

TYPED_TEST(Contract, ExactlyCapacityPushesSucceedOnAnEmptyQueue) {
  for (auto capacity : capacities<TypeParam>()) EXPECT_EQ(check::honours_capacity<TypeParam>(capacity), "");
}

TYPED_TEST(Contract, EmptyQueuePopsNothing) {
  TypeParam q = make_queue<TypeParam>(capacities<TypeParam>().back(), {});
  auto&& consumer = consumer_endpoint(q);
  item out = 42;
  EXPECT_FALSE(consumer.try_pop(out));
  EXPECT_EQ(out, 42u);
}

// Fill to capacity and drain, many times: order kept, indices wrap many laps.
TYPED_TEST(Contract, FifoAcrossManyWrapArounds) {
  for (auto capacity : capacities<TypeParam>()) EXPECT_EQ(check::keeps_order_across_wraps<TypeParam>(capacity), "");
}

TYPED_TEST(Contract, CapacityZeroIsRefusedWithAMessage) {
  try {
    TypeParam q(0);
    FAIL() << "capacity 0 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("capacity 0"), std::string::npos) << e.what();
  }
}

TYPED_TEST(Contract, CapacityAboveTheMaximumIsRefused) {
  if constexpr (requires { TypeParam::max_capacity; }) {
    EXPECT_THROW(TypeParam q(TypeParam::max_capacity + 1), std::invalid_argument);
  } else if constexpr (single_slot<TypeParam>) {
    EXPECT_THROW(TypeParam q(2), std::invalid_argument);
  } else {
    GTEST_SKIP() << "no maximum capacity";
  }
}

// Every value of T arrives as it was sent, or is refused at the call with an exception —
// and then the queue says so in properties.refuses (`ringlab list` prints it). A silent
// loss (try_push true, nothing popped) fails.
TYPED_TEST(Contract, EveryValueArrivesOrIsRefusedAtTheCall) {
  EXPECT_EQ(check::carries_every_value<TypeParam>(capacities<TypeParam>().back()), "");
}

// After close(), a blocked pop returns false instead of sleeping forever; items already
// inside are still delivered.
TYPED_TEST(Contract, CloseWakesABlockedConsumerAfterDraining) {
  if constexpr (TypeParam::properties.blocks_natively) {
    TypeParam q = make_queue<TypeParam>(capacities<TypeParam>().front(), {});
    auto&& producer = producer_endpoint(q);
    ASSERT_TRUE(producer.try_push(make_tag(0, 0)));
    std::atomic<int> popped{0};
    std::thread consumer([&] {
      auto&& end = consumer_endpoint(q);
      item out;
      while (end.pop(out)) ++popped;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    q.close();
    consumer.join();
    EXPECT_EQ(popped.load(), 1);
  } else {
    GTEST_SKIP() << "blocks only through a wait strategy (tested in the stress suite)";
  }
}

#if RINGLAB_HAVE_ATOMIC_QUEUE
// close() releases each consumer with one release item (release_on_close.hpp). A consumer
// that takes one with try_pop and then calls pop must not take a second: a consumer that
// claimed its slot in the library's own pop before close() would wait on it for ever (a
// TSan stress run hung so). Here that consumer claims its slot after the other's calls.
TEST(ReleaseOnClose, AConsumerTakesOneReleaseItemOnly) {
  using Q = peers::aq_AtomicQueueB<item>;
  struct exposed : Q {
    using Q::Q;
    using Q::apply;  // the library's own pop, which no close() flag stops
  };
  exposed q(64, thread_counts{1, 2});
  q.close();
  std::thread other([&] {
    item out;
    EXPECT_FALSE(q.try_pop(out));  // its release item
    EXPECT_FALSE(q.pop(out));      // closed: it must leave the second one
  });
  other.join();
  std::atomic<bool> released{false};
  std::thread waiting([&] {
    const item got = q.apply([](auto& library) { return library.pop(); });
    EXPECT_TRUE(release_item<item>::is(got));
    released = true;
  });
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!released && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const bool in_time = released;
  if (!in_time) q.apply([](auto& library) { return library.try_push(release_item<item>::get()); });  // let it go
  waiting.join();
  EXPECT_TRUE(in_time) << "the second consumer's release item was taken: it waited on its slot for 2 s";
}
#endif

// The counters really do wrap: a narrow index type, many laps, order kept.
TEST(MpmcRingWrap, SixteenBitIndexWrapsManyTimes) {
  for (std::size_t capacity : {1u, 3u, 100u, 4096u}) {
    mpmc_ring<item, mpmc_options{}, std::uint16_t> q(capacity);
    std::uint64_t in = 0, out_seq = 0;
    for (int round = 0; round < 300000 / static_cast<int>(capacity) + 50; ++round) {
      while (q.try_push(make_tag(0, in))) ++in;
      item out;
      while (q.try_pop(out)) ASSERT_EQ(tag_sequence(out), out_seq++);
    }
    EXPECT_GT(in, 3u * 65536u) << "must cross the 16-bit limit several times";
  }
}

TEST(MpmcRingWrap, StartsJustBelowTheSixtyFourBitLimit) {
  mpmc_ring<item> q(5, ~std::uint64_t{0} - 20);
  for (std::uint64_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(q.try_push(make_tag(0, i)));
    item out;
    ASSERT_TRUE(q.try_pop(out));
    ASSERT_EQ(tag_sequence(out), i);
  }
}

TEST(MpmcRing, RefusesACapacityItsIndexCannotCount) {
  using narrow = mpmc_ring<item, mpmc_options{}, std::uint16_t>;
  EXPECT_NO_THROW(narrow q(8192));
  EXPECT_THROW(narrow q(8193), std::invalid_argument);
}

}  // namespace
}  // namespace ringlab::testing

// A side that dies between claiming a position and finishing with it, made by hand.
struct ringlab::mpmc_ring_test_access {
  template <class Ring>
  static void claim_push_and_die(Ring& r) {  // the position is taken; the cell never published
    auto& c = *r.ctl_;
    c.tail.store(r.next(c.tail.load()));
  }
  template <class Ring>
  static void claim_pop_and_die(Ring& r) {  // the position is taken; the cell never handed on
    auto& c = *r.ctl_;
    c.head.store(r.next(c.head.load()));
  }
};

namespace ringlab::testing {
namespace {

// The blocked slots of the crash suite, each with its control: without adopt_*, the
// cell a dead side left blocks the ring; with it, the published items come out in order.
TEST(MpmcRing, AReplacementRepairsTheCellADeadSideLeftMidOperation) {
  using access = mpmc_ring_test_access;
  item out = 0;
  mpmc_ring<item> q(4);
  ASSERT_TRUE(q.try_push(1));
  access::claim_push_and_die(q);
  ASSERT_TRUE(q.try_push(3));
  ASSERT_TRUE(q.try_pop(out));
  EXPECT_EQ(out, 1u);
  EXPECT_FALSE(q.try_pop(out)) << "the control: the half-written cell blocks the item behind it";
  EXPECT_EQ(q.adopt_producer(), 1u) << "one half-written item dropped";
  ASSERT_TRUE(q.try_pop(out));
  EXPECT_EQ(out, 3u);
  EXPECT_FALSE(q.try_pop(out));

  mpmc_ring<item> r(2);
  ASSERT_TRUE(r.try_push(1));
  ASSERT_TRUE(r.try_push(2));
  access::claim_pop_and_die(r);  // item 1 went with the dead consumer
  ASSERT_TRUE(r.try_pop(out));
  EXPECT_EQ(out, 2u);
  EXPECT_FALSE(r.try_push(3)) << "the control: the cell the dead consumer held is full for ever";
  EXPECT_EQ(r.adopt_consumer(), 0u);
  for (item v : {3u, 4u}) ASSERT_TRUE(r.try_push(v)) << v;
  for (item v : {3u, 4u}) {
    ASSERT_TRUE(r.try_pop(out));
    EXPECT_EQ(out, v);
  }
}

TEST(SpscRing, TheDefaultCarriesZeroAndAllOnes) {
  spsc_ring<item> q(3);
  for (item v : {item{0}, ~item{0}, item{0}}) ASSERT_TRUE(q.try_push(v));
  for (item v : {item{0}, ~item{0}, item{0}}) {
    item out = 42;
    ASSERT_TRUE(q.try_pop(out));
    EXPECT_EQ(out, v);
  }
  static_assert(spsc_ring<item>::properties.refuses == nullptr);
}

TEST(SpscRing, TheReservedVariantRefusesZeroAtTheCall) {
  spsc_ring<item, spsc_options{.slot_flag = true, .reserved_empty = true}> q(3);
  EXPECT_THROW((void)q.try_push(0), std::invalid_argument);
  item out;
  EXPECT_FALSE(q.try_pop(out)) << "nothing may be left behind by the refused push";
}

TEST(SpscRing, LivesInForeignMemoryAndAttaches) {
  using ring = spsc_ring<item>;
  std::vector<std::byte> storage(ring::block_bytes(10) + false_sharing_range);
  void* aligned = reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(storage.data()) + 127) & ~std::uintptr_t{127});
  ring creator(10, aligned);
  ring viewer = ring::attach(aligned);
  ASSERT_TRUE(creator.try_push(make_tag(0, 7)));
  item out;
  ASSERT_TRUE(viewer.try_pop(out));
  EXPECT_EQ(tag_sequence(out), 7u);
  EXPECT_EQ(viewer.capacity(), 10u);
}

}  // namespace
}  // namespace ringlab::testing
