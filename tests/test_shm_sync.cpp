// The seeds' three blocking designs between processes (src/transports/shm/shm_semaphore.hpp,
// shm_condition.hpp, shm_event.hpp), outside the harness: each between two forked
// processes with its own blocking push/pop, 100000 items exactly once and in order;
// close() wakes a process asleep in pop (or push) at once; shm_condition survives a side
// killed while it holds the mutex (EOWNERDEAD) or sleeps in a condition. Each check has
// its negative control: a transport that drops or repeats an item, a hand-off whose
// futexes are private (no wake crosses processes) and a mutex that is not robust are
// all caught. Every forked process runs under a deadline, so a hang is a failure, not a
// stuck test.
#include <gtest/gtest.h>

#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "transports/shm/shm_condition.hpp"
#include "transports/shm/shm_event.hpp"
#include "transports/shm/shm_semaphore.hpp"
#include "transports/shm/shm_semaphore_robust.hpp"

namespace ringlab::ipc {
namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Anonymous shared memory, inherited by fork: what the run's segment is to a transport.
struct shared_memory {
  explicit shared_memory(std::size_t bytes) : bytes_(bytes) {
    data = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED) throw std::runtime_error("mmap failed");
  }
  ~shared_memory() { ::munmap(data, bytes_); }
  template <class T>
  T* at(std::size_t offset) const { return reinterpret_cast<T*>(static_cast<std::byte*>(data) + offset); }
  void* data;

 private:
  std::size_t bytes_;
};

// Fork `body` (its return value is the exit status; it leaves with _exit, no destructors).
pid_t spawn(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  if (pid < 0) throw std::runtime_error("fork failed");
  return pid;
}

// Wait for every child until the deadline: "" when all exited with 0, else what went
// wrong. On the deadline every child left is killed and reaped.
std::string wait_all(std::vector<pid_t> pids, std::chrono::milliseconds deadline) {
  const auto until = clock_type::now() + deadline;
  std::string problems;
  while (!pids.empty()) {
    for (auto it = pids.begin(); it != pids.end();) {
      int status = 0;
      if (::waitpid(*it, &status, WNOHANG) == *it) {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
          problems += "a child ended with status " + std::to_string(status) + "; ";
        it = pids.erase(it);
      } else {
        ++it;
      }
    }
    if (pids.empty()) break;
    if (clock_type::now() > until) {
      for (pid_t p : pids) ::kill(p, SIGKILL), ::waitpid(p, nullptr, 0);
      return problems + "timed out";
    }
    std::this_thread::sleep_for(1ms);
  }
  return problems;
}

// What the consumer saw, in shared memory.
struct tally {
  std::atomic<std::uint64_t> received{0}, out_of_order{0}, last{0};
};

// A producer process pushes 1..n (blocking) and closes; a consumer process pops
// (blocking) until pop says closed and drained. "" when every item arrived once, in order.
// With a delay the producer starts late, so the consumer is surely asleep in its first pop.
template <class Q>
std::string deliver(Q& q, std::uint64_t n, std::chrono::milliseconds deadline = 60s,
                    std::chrono::milliseconds producer_delay = 0ms) {
  shared_memory shared(sizeof(tally));
  auto* seen = ::new (shared.data) tally{};
  const pid_t producer = spawn([&] {
    std::this_thread::sleep_for(producer_delay);
    for (std::uint64_t i = 1; i <= n; ++i)
      if (!q.push(i)) return 2;
    q.close();
    return 0;
  });
  const pid_t consumer = spawn([&] {
    std::uint64_t item = 0, expected = 1;
    while (q.pop(item)) {
      if (item != expected) seen->out_of_order.fetch_add(1);
      expected = item + 1;
      seen->last.store(item);
      seen->received.fetch_add(1);
    }
    return 0;
  });
  std::string problems = wait_all({producer, consumer}, deadline);
  if (seen->received != n) problems += "received " + std::to_string(seen->received) + " of " + std::to_string(n) + "; ";
  if (seen->out_of_order != 0) problems += std::to_string(seen->out_of_order) + " out of order; ";
  if (seen->last != n) problems += "last item " + std::to_string(seen->last) + "; ";
  return problems;
}

// The transport built in shared memory, as the conductor builds it.
template <class Q>
struct in_shared_memory {
  explicit in_shared_memory(std::size_t capacity) : memory(Q::block_bytes(capacity)), q(capacity, memory.data) {}
  shared_memory memory;
  Q q;
};

constexpr std::uint64_t many = 100000;

TEST(ShmSync, SemaphoreDeliversEveryItemOnceInOrderBetweenProcesses) {
  for (std::size_t capacity : {1, 3, 64}) {
    in_shared_memory<shm_semaphore<std::uint64_t>> t(capacity);
    EXPECT_EQ(deliver(t.q, many), "") << "capacity " << capacity;
  }
}
TEST(ShmSync, RobustSemaphoreDeliversEveryItemOnceInOrderBetweenProcesses) {
  for (std::size_t capacity : {1, 3, 64}) {
    in_shared_memory<shm_semaphore_robust<std::uint64_t>> t(capacity);
    EXPECT_EQ(deliver(t.q, many), "") << "capacity " << capacity;
    EXPECT_EQ(t.q.recovered_owner_deaths(), 0u);
  }
}
TEST(ShmSync, ConditionDeliversEveryItemOnceInOrderBetweenProcesses) {
  for (std::size_t capacity : {1, 3, 64}) {
    in_shared_memory<shm_condition<std::uint64_t>> t(capacity);
    EXPECT_EQ(deliver(t.q, many), "") << "capacity " << capacity;
    EXPECT_EQ(t.q.recovered_owner_deaths(), 0u);
  }
}
TEST(ShmSync, EventDeliversEveryItemOnceInOrderBetweenProcesses) {
  in_shared_memory<shm_event<std::uint64_t>> t(1);
  EXPECT_EQ(deliver(t.q, many), "");
}

// Negative controls: the same check catches a transport that drops or repeats items.
template <class Q>
struct dropping : Q {
  using Q::Q;
  bool push(const std::uint64_t& item) { return ++pushes % 997 == 0 ? true : Q::push(item); }
  std::uint64_t pushes = 0;
};
template <class Q>
struct repeating : Q {
  using Q::Q;
  bool push(const std::uint64_t& item) { return (++pushes % 997 == 0 && !Q::push(item)) ? false : Q::push(item); }
  std::uint64_t pushes = 0;
};
TEST(ShmSync, ADroppedOrRepeatedItemIsCaught) {
  {
    in_shared_memory<dropping<shm_semaphore<std::uint64_t>>> t(64);
    const std::string problems = deliver(t.q, many);
    EXPECT_NE(problems.find("received 99900 of 100000"), std::string::npos) << problems;
    EXPECT_NE(problems.find("out of order"), std::string::npos) << problems;
  }
  {
    in_shared_memory<repeating<shm_condition<std::uint64_t>>> t(64);
    const std::string problems = deliver(t.q, many);
    EXPECT_NE(problems.find("received 100100 of 100000"), std::string::npos) << problems;
  }
  {
    in_shared_memory<dropping<shm_event<std::uint64_t>>> t(1);
    EXPECT_NE(deliver(t.q, many), "");
  }
}

// Negative control for shm_event's process-shared futexes: the thread version of the
// same slot in shared memory, sleeping on private futexes, whose wakes never reach the
// other process: it hangs (caught by the deadline) where shm_event delivers.
TEST(ShmSync, AHandOffOnPrivateFutexesHangsBetweenProcesses) {
  shared_memory memory(sizeof(handoff_slot<std::uint64_t>));
  auto* slot = ::new (memory.data) handoff_slot<std::uint64_t>(1);
  const std::string problems = deliver(*slot, many, 3s, 200ms);
  EXPECT_NE(problems.find("timed out"), std::string::npos) << problems;
  in_shared_memory<shm_event<std::uint64_t>> t(1);
  EXPECT_EQ(deliver(t.q, many, 60s, 200ms), "") << "the same with process-shared futexes";
}

// Built from a capacity alone, each owns its block and works between threads.
template <class Q>
void between_threads(std::size_t capacity) {
  Q q(capacity);
  constexpr std::uint64_t n = 20000;
  std::thread producer([&] {
    for (std::uint64_t i = 1; i <= n; ++i) ASSERT_TRUE(q.push(i));
  });
  std::uint64_t item = 0;
  for (std::uint64_t i = 1; i <= n; ++i) {
    ASSERT_TRUE(q.pop(item));
    ASSERT_EQ(item, i);
  }
  producer.join();
  q.close();
  EXPECT_FALSE(q.pop(item)) << "closed and drained";
  // The event's push, like handoff_slot's, gives up rather than wait once closed, but
  // still fills an empty slot; the rings refuse every push.
  if (q.capacity() > 1) {
    EXPECT_FALSE(q.push(1)) << "closed";
  }
}
TEST(ShmSync, EachWorksBetweenThreadsFromACapacityAlone) {
  between_threads<shm_semaphore<std::uint64_t>>(4);
  between_threads<shm_condition<std::uint64_t>>(4);
  between_threads<shm_semaphore_robust<std::uint64_t>>(4);
  between_threads<shm_event<std::uint64_t>>(1);
}

template <class Q>
void exact_capacity_then_empty(Q& q, std::size_t capacity) {
  for (std::uint64_t i = 0; i < capacity; ++i) EXPECT_TRUE(q.try_push(i + 1));
  EXPECT_FALSE(q.try_push(99)) << "full at capacity " << capacity;
  std::uint64_t item = 0;
  for (std::uint64_t i = 0; i < capacity; ++i) {
    EXPECT_TRUE(q.try_pop(item));
    EXPECT_EQ(item, i + 1);
  }
  EXPECT_FALSE(q.try_pop(item));
}
TEST(ShmSync, CapacitiesAreExactAndBadOnesAreRejectedWithAReason) {
  {
    shm_semaphore<std::uint64_t> q(5);
    exact_capacity_then_empty(q, 5);
    shm_condition<std::uint64_t> c(5);
    exact_capacity_then_empty(c, 5);
    shm_semaphore_robust<std::uint64_t> r(5);
    exact_capacity_then_empty(r, 5);
    shm_event<std::uint64_t> e(1);
    exact_capacity_then_empty(e, 1);
  }
  auto message = [](auto make) {
    try {
      make();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message([] { shm_event<std::uint64_t> q(2); }).find("shm_event: capacity 2 is not 1"), std::string::npos);
  EXPECT_NE(message([] { shm_semaphore<std::uint64_t> q(0); }).find("shm_semaphore: capacity 0"), std::string::npos);
  EXPECT_NE(message([] { shm_semaphore<std::uint64_t> q(std::size_t{SEM_VALUE_MAX} + 1); }).find("SEM_VALUE_MAX"),
            std::string::npos);
  EXPECT_NE(message([] { shm_condition<std::uint64_t> q(0); }).find("shm_condition: capacity 0"), std::string::npos);
}

TEST(ShmSync, AMovedFromObjectLeavesTheTransportWorking) {
  shm_semaphore<std::uint64_t> a(2);
  { shm_semaphore<std::uint64_t> b(std::move(a)); exact_capacity_then_empty(b, 2); }
  shm_condition<std::uint64_t> c(2);
  shm_condition<std::uint64_t> d(std::move(c));
  { shm_condition<std::uint64_t> gone(std::move(c)); }  // a moved-from object destroys nothing
  exact_capacity_then_empty(d, 2);
}

// (c) close() wakes processes asleep in pop (an empty transport) or in push (a full one)
// within a bounded time. Control: before close they are still asleep, so pop does block.
enum class side { popper, pusher };
template <class Q>
void close_wakes(side who, std::size_t capacity) {
  in_shared_memory<Q> t(capacity);
  if (who == side::pusher) {
    for (std::uint64_t i = 0; i < capacity; ++i) ASSERT_TRUE(t.q.try_push(i + 1));
  }
  std::vector<pid_t> sleepers;
  for (int i = 0; i < 3; ++i)
    sleepers.push_back(spawn([&] {
      std::uint64_t item = 0;
      // pop: false once closed and drained; push: false once closed.
      return (who == side::popper ? t.q.pop(item) : t.q.push(7)) ? 3 : 0;
    }));
  std::this_thread::sleep_for(200ms);
  for (pid_t p : sleepers) EXPECT_EQ(::waitpid(p, nullptr, WNOHANG), 0) << "did not block before close";
  const auto closed_at = clock_type::now();
  t.q.close();
  EXPECT_EQ(wait_all(sleepers, 2s), "") << "close did not wake them (each must return false)";
  EXPECT_LT(clock_type::now() - closed_at, 1s);
}
TEST(ShmSync, CloseWakesProcessesAsleepInPopAndInPush) {
  close_wakes<shm_semaphore<std::uint64_t>>(side::popper, 4);
  close_wakes<shm_semaphore<std::uint64_t>>(side::pusher, 4);
  close_wakes<shm_condition<std::uint64_t>>(side::popper, 4);
  close_wakes<shm_condition<std::uint64_t>>(side::pusher, 4);
  close_wakes<shm_semaphore_robust<std::uint64_t>>(side::popper, 4);
  close_wakes<shm_semaphore_robust<std::uint64_t>>(side::pusher, 4);
  close_wakes<shm_event<std::uint64_t>>(side::popper, 1);
  close_wakes<shm_event<std::uint64_t>>(side::pusher, 1);
}
TEST(ShmSync, PopDrainsWhatIsLeftAfterClose) {
  in_shared_memory<shm_semaphore<std::uint64_t>> s(4);
  in_shared_memory<shm_condition<std::uint64_t>> c(4);
  in_shared_memory<shm_semaphore_robust<std::uint64_t>> r(4);
  auto check = [](auto& q) {
    ASSERT_TRUE(q.push(1));
    ASSERT_TRUE(q.push(2));
    q.close();
    std::uint64_t item = 0;
    EXPECT_FALSE(q.push(3));
    EXPECT_FALSE(q.try_push(3));
    EXPECT_TRUE(q.pop(item) && item == 1);
    EXPECT_TRUE(q.try_pop(item) && item == 2);
    EXPECT_FALSE(q.pop(item));
    EXPECT_FALSE(q.try_pop(item));
    EXPECT_FALSE(q.pop(item)) << "close's wake-up is passed on, not used up";
  };
  check(s.q);
  check(c.q);
  check(r.q);
}

// (b) A side killed while it holds shm_condition's mutex: the next locker recovers it
// (EOWNERDEAD), counts the death, and the ring is as it was.
template <class Q>
std::string kill_while_holding(Q& q) {
  int ready[2];
  if (::pipe(ready) != 0) return "pipe failed";
  const pid_t holder = spawn([&] {
    q.lock_for_test();
    (void)!::write(ready[1], "L", 1);
    ::pause();  // holds the mutex until killed
    return 0;
  });
  char c = 0;
  const bool locked = ::read(ready[0], &c, 1) == 1;
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  ::close(ready[0]), ::close(ready[1]);
  return locked ? "" : "the holder never locked";
}

TEST(ShmSync, ConditionRecoversFromASideKilledHoldingTheMutex) {
  in_shared_memory<shm_condition<std::uint64_t>> t(4);
  ASSERT_TRUE(t.q.try_push(11));
  ASSERT_TRUE(t.q.try_push(12));
  ASSERT_EQ(kill_while_holding(t.q), "");
  // The survivor's operations, in a process under a deadline: a hang is a failure.
  const auto start = clock_type::now();
  const pid_t survivor = spawn([&] {
    std::uint64_t item = 0;
    if (!t.q.try_pop(item) || item != 11) return 4;
    if (!t.q.try_push(13)) return 5;
    if (!t.q.pop(item) || item != 12) return 6;
    if (!t.q.pop(item) || item != 13) return 7;
    return t.q.try_pop(item) ? 8 : 0;
  });
  ASSERT_EQ(wait_all({survivor}, 2s), "") << "the survivor did not get the lock back";
  EXPECT_LT(clock_type::now() - start, 1s);
  EXPECT_EQ(t.q.recovered_owner_deaths(), 1u);
  // A second death is recovered too, and counted.
  ASSERT_EQ(kill_while_holding(t.q), "");
  std::uint64_t item = 0;
  EXPECT_FALSE(t.q.try_pop(item));
  EXPECT_TRUE(t.q.try_push(14));
  EXPECT_EQ(t.q.recovered_owner_deaths(), 2u);
}

// The same for shm_semaphore.robust, whose seeds' version (a binary semaphore as the
// mutex) would hang here for good (the control: WithoutARobustMutexTheDeadHoldersLock...).
TEST(ShmSync, RobustSemaphoreRecoversFromASideKilledHoldingTheMutex) {
  in_shared_memory<shm_semaphore_robust<std::uint64_t>> t(4);
  ASSERT_TRUE(t.q.try_push(11));
  ASSERT_TRUE(t.q.try_push(12));
  ASSERT_EQ(kill_while_holding(t.q), "");
  const pid_t survivor = spawn([&] {
    std::uint64_t item = 0;
    if (!t.q.try_pop(item) || item != 11) return 4;
    if (!t.q.push(13)) return 5;
    if (!t.q.pop(item) || item != 12) return 6;
    if (!t.q.pop(item) || item != 13) return 7;
    return t.q.try_pop(item) ? 8 : 0;
  });
  ASSERT_EQ(wait_all({survivor}, 2s), "") << "the survivor did not get the lock back";
  EXPECT_EQ(t.q.recovered_owner_deaths(), 1u);
}

// A side killed while asleep in the condition (a consumer in pop): the others go on.
TEST(ShmSync, ConditionGoesOnAfterASideKilledWhileWaiting) {
  in_shared_memory<shm_condition<std::uint64_t>> t(2);
  const pid_t sleeper = spawn([&] {
    std::uint64_t item = 0;
    return t.q.pop(item) ? 0 : 1;
  });
  std::this_thread::sleep_for(100ms);
  ::kill(sleeper, SIGKILL);
  ::waitpid(sleeper, nullptr, 0);
  const pid_t consumer = spawn([&] {
    std::uint64_t item = 0;
    return t.q.pop(item) && item == 21 ? 0 : 1;
  });
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(t.q.push(21));
  EXPECT_EQ(wait_all({consumer}, 2s), "");
  std::uint64_t item = 0;
  EXPECT_FALSE(t.q.try_pop(item));
}

// Why shm_condition's conditions are futex words: with glibc's process-shared condvar,
// a waiter killed inside pthread_cond_timedwait keeps its group reference, and once a
// live waiter has come after it, the second signal waits for that reference forever,
// holding the mutex. Shown in a process under a deadline; shm_condition, in the same
// scenario (ConditionGoesOnAfterASideKilledWhileWaiting), goes on.
TEST(ShmSync, AGlibcCondvarHangsOnceAWaiterWasKilledInside) {
  struct monitor {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
  };
  shared_memory memory(sizeof(monitor));
  auto* m = memory.at<monitor>(0);
  pthread_mutexattr_t ma;
  ::pthread_mutexattr_init(&ma);
  ::pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  ::pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  pthread_condattr_t ca;
  ::pthread_condattr_init(&ca);
  ::pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
  ::pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  ::pthread_mutex_init(&m->mutex, &ma);
  ::pthread_cond_init(&m->cond, &ca);
  auto waiter = [&] {
    ::pthread_mutex_lock(&m->mutex);
    for (;;) {  // a bounded wait, again and again, as a careful waiter would
      timespec t;
      ::clock_gettime(CLOCK_MONOTONIC, &t);
      t.tv_nsec += 20'000'000;
      if (t.tv_nsec >= 1'000'000'000) t.tv_sec += 1, t.tv_nsec -= 1'000'000'000;
      ::pthread_cond_timedwait(&m->cond, &m->mutex, &t);
    }
    return 0;
  };
  const pid_t dead = spawn(waiter);
  std::this_thread::sleep_for(200ms);
  ::kill(dead, SIGKILL);
  ::waitpid(dead, nullptr, 0);
  const pid_t live = spawn(waiter);
  std::this_thread::sleep_for(200ms);
  const pid_t signaller = spawn([&] {
    for (int i = 0; i < 4; ++i) {
      ::pthread_mutex_lock(&m->mutex);
      ::pthread_cond_signal(&m->cond);
      ::pthread_mutex_unlock(&m->mutex);
      std::this_thread::sleep_for(50ms);
    }
    return 0;
  });
  EXPECT_EQ(wait_all({signaller}, 3s), "timed out") << "glibc's condvar no longer hangs here: revisit shm_condition";
  ::kill(live, SIGKILL);
  ::waitpid(live, nullptr, 0);
}

// Negative control: with a mutex that is NOT robust, the same death leaves the lock held
// for good. Shown with a timed lock (ETIMEDOUT) instead of a real hang; the robust one
// answers EOWNERDEAD to the same timed lock.
int timed_lock_after_holder_died(bool robust) {
  shared_memory memory(sizeof(pthread_mutex_t));
  auto* m = memory.at<pthread_mutex_t>(0);
  pthread_mutexattr_t attr;
  ::pthread_mutexattr_init(&attr);
  ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  if (robust) ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  ::pthread_mutex_init(m, &attr);
  ::pthread_mutexattr_destroy(&attr);
  int ready[2];
  if (::pipe(ready) != 0) return -1;
  const pid_t holder = spawn([&] {
    ::pthread_mutex_lock(m);
    (void)!::write(ready[1], "L", 1);
    ::pause();
    return 0;
  });
  char c = 0;
  if (::read(ready[0], &c, 1) != 1) return -1;
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  ::close(ready[0]), ::close(ready[1]);
  // 200 ms of trylock, not pthread_mutex_timedlock: TSan's timedlock does not take
  // EOWNERDEAD as a lock and would report our unlock as one of an unlocked mutex.
  int e = EBUSY;
  for (int tries = 0; tries < 200 && e == EBUSY; ++tries)
    if ((e = ::pthread_mutex_trylock(m)) == EBUSY) ::usleep(1000);
  if (e == EBUSY) e = ETIMEDOUT;
  if (e == EOWNERDEAD) ::pthread_mutex_consistent(m);
  if (e == 0 || e == EOWNERDEAD) ::pthread_mutex_unlock(m);
  return e;
}
TEST(ShmSync, WithoutARobustMutexTheDeadHoldersLockIsNeverReleased) {
  EXPECT_EQ(timed_lock_after_holder_died(false), ETIMEDOUT);
  EXPECT_EQ(timed_lock_after_holder_died(true), EOWNERDEAD);
}

// The state the kill campaign left a shm_condition consumer in, rebuilt: a side asleep in
// the lock (its "waiters" bit set) while the lock is let go with no wake-up for it, as when
// the one an unlock woke is killed before it takes the lock and another side comes and
// goes on the fast path. Here the holder's word is cleared by hand (glibc's own field:
// what those two unlocks leave). pthread_mutex_lock sleeps on for good (the control, in a
// process under a deadline); lock_robust takes the lock within a slice or so.
bool takes_a_lock_whose_wake_up_was_lost(int (*lock)(pthread_mutex_t&)) {
  shared_memory shared(sizeof(pthread_mutex_t));
  auto* m = shared.at<pthread_mutex_t>(0);
  pthread_mutexattr_t ma;
  ::pthread_mutexattr_init(&ma);
  ::pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  ::pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  ::pthread_mutex_init(m, &ma);
  ::pthread_mutexattr_destroy(&ma);
  auto* word = reinterpret_cast<std::atomic<unsigned>*>(&m->__data.__lock);
  const pid_t holder = spawn([&] {
    ::pthread_mutex_lock(m);
    ::pause();
    return 0;
  });
  while (word->load() == 0) std::this_thread::sleep_for(1ms);
  const pid_t sleeper = spawn([&] {
    const int e = lock(*m);
    if (e == 0) ::pthread_mutex_unlock(m);
    return e;
  });
  while ((word->load() & FUTEX_WAITERS) == 0) std::this_thread::sleep_for(1ms);  // it is going to sleep
  std::this_thread::sleep_for(50ms);                                              // and is asleep
  word->store(0);  // let go, and no one wakes it
  const bool took = wait_all({sleeper}, 1s).empty();
  ::kill(holder, SIGKILL), ::waitpid(holder, nullptr, 0);
  return took;
}
TEST(ShmSync, ALockWhoseWakeUpWasLostIsTakenWithinASlice) {
  EXPECT_FALSE(takes_a_lock_whose_wake_up_was_lost([](pthread_mutex_t& m) { return ::pthread_mutex_lock(&m); }));
  EXPECT_TRUE(takes_a_lock_whose_wake_up_was_lost([](pthread_mutex_t& m) { return lock_robust(m); }));
}

}  // namespace
}  // namespace ringlab::ipc
