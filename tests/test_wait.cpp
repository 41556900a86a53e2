// Wait strategies and the semaphore: sleepers are woken, exactly the ones that can go.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <ringlab/detail/semaphore.hpp>
#include <ringlab/queues/spsc_ring.hpp>
#include <ringlab/wait.hpp>

namespace ringlab::testing {
namespace {

using namespace std::chrono_literals;

TEST(Park, ASleepingConsumerIsWokenByAPush) {
  spsc_ring<std::uint64_t> q(4);
  wait_state<park> ws;
  std::atomic<bool> got{false};
  std::thread consumer([&] {
    std::uint64_t v;
    got = pop(q, ws, v) && v == 99;
  });
  std::this_thread::sleep_for(50ms);  // long enough to be asleep on the futex
  EXPECT_EQ(ws.not_empty.sleepers.load(), 1u) << "the consumer should be parked";
  ASSERT_TRUE(push(q, ws, std::uint64_t{99}));
  consumer.join();
  EXPECT_TRUE(got);
}

TEST(Park, NotifyWakesOneSleeperNotAll) {
  wait_state<park> ws;
  std::atomic<int> permits{0}, woken{0};
  auto take = [&] {
    int p = permits.load();
    while (p > 0)
      if (permits.compare_exchange_weak(p, p - 1)) return true;
    return false;
  };
  std::vector<std::thread> sleepers;
  for (int i = 0; i < 3; ++i)
    sleepers.emplace_back([&] {
      if (park::until(ws.not_empty, take, [&] { return ws.is_closed(); })) ++woken;
    });
  while (ws.not_empty.sleepers.load() != 3) std::this_thread::sleep_for(1ms);
  const auto epoch_before = ws.not_empty.epoch.load();
  permits = 1;
  park::notify(ws.not_empty);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(woken.load(), 1);
  EXPECT_EQ(ws.not_empty.epoch.load(), epoch_before + 1) << "one wake for one permit";
  ws.closed = true;
  park::notify_all(ws.not_empty);
  for (auto& t : sleepers) t.join();
  EXPECT_EQ(woken.load(), 1);
}

TEST(Park, NotifyWithoutSleepersMakesNoWake) {
  wait_state<park> ws;
  park::notify(ws.not_empty);
  EXPECT_EQ(ws.not_empty.epoch.load(), 0u);
}

TEST(Semaphore, ReleaseWakesASleeperAndCloseWakesTheRest) {
  detail::semaphore sem(0);
  std::atomic<int> acquired{0}, refused{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i)
    waiters.emplace_back([&] { sem.acquire() ? ++acquired : ++refused; });
  std::this_thread::sleep_for(50ms);
  sem.release();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(acquired.load(), 1);
  sem.close();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(acquired.load(), 1);
  EXPECT_EQ(refused.load(), 2);
}

TEST(Semaphore, PermitsLeftAfterCloseAreStillHandedOut) {
  detail::semaphore sem(2);
  sem.close();
  EXPECT_TRUE(sem.acquire());
  EXPECT_TRUE(sem.acquire());
  EXPECT_FALSE(sem.acquire());
}

TEST(Semaphore, ManyThreadsBalance) {
  detail::semaphore sem(0);
  constexpr int per_thread = 20000;
  std::atomic<long> taken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&] { for (int k = 0; k < per_thread; ++k) sem.release(); });
    threads.emplace_back([&] { for (int k = 0; k < per_thread; ++k) if (sem.acquire()) ++taken; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(taken.load(), 2 * per_thread);
  EXPECT_EQ(sem.permits(), 0u);
}

}  // namespace
}  // namespace ringlab::testing
