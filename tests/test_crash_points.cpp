// Kills at a chosen step of a push or a pop (ringlab/crash_point.hpp), for each of our
// shared-memory transports, 1P1C and (where it takes them) 2P2C: the victim dies on its
// (n+1)-th pass of the site. The survivors learn of it by themselves (side registry) and
// wait, idle, or finish. A new process takes the dead side's place, repairs (adopt_*),
// and carries on its part of the run. Checked per run, against what the site means:
//   producer died at push_written: that item never arrives; at push_published: it
//   arrives once. Either way the replacement goes on from the next item, and every other
//   item arrives exactly once, in order.
//   consumer died at pop_released: that item is lost, and it alone; at pop_read: lost
//   where the claim took it out (mpmc_ring, the hand-off), redelivered once where the
//   slot still held it (spsc_ring, the robust locks' rings). With two consumers only the
//   count can be checked (one item, or none, never arrives): which item the dead one
//   held, nobody knows.
// Controls: the victim died at the site, on the pass chosen; and for the transports whose
// repair is their own code (not the kernel's EOWNERDEAD), the same kills without adopt_*
// leave a run that fails. Seeded: RINGLAB_TEST_SEED replays one.
#include <gtest/gtest.h>

#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include <ringlab/crash_point.hpp>
#include <ringlab/queues/mpmc_ring.hpp>
#include <ringlab/queues/spsc_ring.hpp>

namespace {
struct crash_item {  // this test's own item type: only its operations can die at a site
  std::uint64_t tag = 0;  // its producer in the high half, its sequence in the low one
};
struct armed_site {  // per process: armed in the victim after fork
  bool on = false;
  ringlab::crash_site site{};
  std::uint64_t passes_left = 0;
  std::atomic<int>* died_here = nullptr;
};
armed_site armed;
}  // namespace

template <>
struct ringlab::crash_point<crash_item> {
  static void at(crash_site site) noexcept {
    if (!armed.on || site != armed.site || armed.passes_left-- != 0) return;
    armed.died_here->store(1);
    ::raise(SIGKILL);
  }
};

#include "transports/plumbing/side_registry.hpp"
#include "transports/shm/shm_condition.hpp"
#include "transports/shm/shm_event.hpp"
#include "transports/shm/shm_semaphore.hpp"
#include "transports/shm/shm_semaphore_robust.hpp"

namespace ringlab::ipc {
namespace {

using clock_type = std::chrono::steady_clock;
constexpr unsigned max_items = 512, max_sides = 4;

crash_item item_of(unsigned producer, std::uint64_t seq) { return {std::uint64_t{producer} << 32 | seq}; }

// What the sides share besides the transport: counts, each item's arrivals, the hand-shakes.
// Side indices (and registry entries): producers first, then consumers.
struct board {
  std::atomic<std::uint64_t> completed[max_sides];  // each side's pushes or pops that returned, stored after each
  std::atomic<std::uint32_t> arrivals[2][max_items];
  std::atomic<int> out_of_order;  // items that came before one already seen, or were no item of the run
  std::atomic<int> died_here, idle, finished, repaired, producers_done;
};

enum exit_code { ok = 0, stuck = 3, no_replacement = 4, refused = 5 };

// Waits until `op` succeeds: a failed attempt yields, and (a survivor, before the repair)
// looks at the registry. A death found: idle until the replacement has repaired.
template <class Op>
bool until(board& b, bool survivor, std::chrono::milliseconds patience, Op&& op) {
  auto last_progress = clock_type::now();
  while (!op()) {
    if (survivor && !b.repaired.load() && peer_watch::look_if_due()) {  // once: it waits here until the repair
      b.idle.fetch_add(1);
      for (auto t0 = clock_type::now(); !b.repaired.load(); std::this_thread::sleep_for(std::chrono::microseconds(50)))
        if (clock_type::now() - t0 > std::chrono::seconds(5)) ::_exit(no_replacement);
      last_progress = clock_type::now();
    }
    if (clock_type::now() - last_progress > patience) return false;
    ::sched_yield();
  }
  return true;
}

// Producer `side` pushes its items from..items-1, then counts itself done.
template <class Q>
void produce(Q& q, board& b, unsigned side, std::uint64_t from, std::uint64_t items, bool survivor,
             std::chrono::milliseconds patience) {
  for (std::uint64_t seq = from; seq < items; ++seq) {
    if (!until(b, survivor, patience, [&] { return q.try_push(item_of(side, seq)); })) ::_exit(stuck);
    b.completed[side].store(seq + 1);
  }
  b.producers_done.fetch_add(1);
}

// Pops until every producer is done and the ring empty; each consumer process checks its
// own order, per producer.
template <class Q>
void consume(Q& q, board& b, unsigned side, unsigned producers, bool survivor, std::chrono::milliseconds patience) {
  std::uint64_t last[2] = {};
  bool any[2] = {};
  auto take = [&](crash_item& item) {
    if (!q.try_pop(item)) return false;
    const std::uint64_t p = item.tag >> 32, seq = item.tag & 0xffffffffu;
    if (p >= producers || seq >= max_items || (any[p] && seq <= last[p])) b.out_of_order.fetch_add(1);
    else b.arrivals[p][seq].fetch_add(1), last[p] = seq, any[p] = true;
    b.completed[side].store(b.completed[side].load() + 1);
    return true;
  };
  auto all_done = [&] { return b.producers_done.load() == static_cast<int>(producers); };
  for (crash_item item;;) {
    const bool done = all_done();  // before the attempt: a failed one after it means empty
    if (take(item)) continue;
    if (done) return;
    if (!until(b, survivor, patience, [&] { return take(item) || all_done(); })) ::_exit(stuck);
  }
}

bool is_push(crash_site s) { return s == crash_site::push_written || s == crash_site::push_published; }
const char* name_of(crash_site s) {
  switch (s) {
    case crash_site::push_written: return "push_written";
    case crash_site::push_published: return "push_published";
    case crash_site::pop_read: return "pop_read";
    case crash_site::pop_released: return "pop_released";
  }
  return "?";
}

// Waits for `pid` until `deadline`; SIGKILLs it past that. Its wait status, or -1 if it had to be killed.
int reap(pid_t pid, clock_type::time_point deadline) {
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (clock_type::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return status;
}

std::string exited(const char* who, int status) {
  if (status == -1) return std::string(who) + " hung (killed after the deadline)";
  if (WIFEXITED(status) && WEXITSTATUS(status) == ok) return "";
  if (WIFEXITED(status) && WEXITSTATUS(status) == stuck) return std::string(who) + " stuck: no progress for its patience";
  if (WIFEXITED(status) && WEXITSTATUS(status) == no_replacement) return std::string(who) + " waited 5 s for a replacement";
  if (WIFEXITED(status) && WEXITSTATUS(status) == refused) return std::string(who) + ": the registry refused it the dead side's place";
  return std::string(who) + " ended with status " + std::to_string(status);
}

// A process's view of the transport: attached, as a process from outside would, where the
// transport can be (the seeds' shm_semaphore cannot: its forked sides use their copy).
template <class Q>
Q& view(std::optional<Q>& attached, Q& built, void* ring) {
  if constexpr (requires { Q::attach(ring); }) return attached.emplace(Q::attach(ring));
  else return built;
}

template <class Q>
struct killed_run {
  std::size_t capacity;
  crash_site site;
  std::uint64_t passes;     // the victim (producer 0 or consumer 0) dies on pass passes + 1 of the site
  bool repair = true;       // the replacement calls adopt_* (false: the control)
  bool pop_read_loses = false;
  std::chrono::milliseconds patience{5000};
  unsigned producers = 1, consumers = 1;

  // "" when every check held; else the first that did not.
  std::string operator()() const {
    const std::uint64_t items = 3 * capacity + 40;
    constexpr std::size_t page = 4096, at_registry = (sizeof(board) + page - 1) / page * page, at_ring = at_registry + page;
    static_assert(sizeof(side_registry) <= page);  // and its entries: checked below
    if (side_registry::bytes(producers + consumers) > page) return "the registry does not fit its page";
    const std::size_t bytes = at_ring + Q::block_bytes(capacity);
    void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return "mmap failed";
    auto* base = static_cast<std::byte*>(memory);
    board& b = *::new (base) board{};
    side_registry& registry = *side_registry::build(base + at_registry, producers + consumers);
    std::string failure = run(b, registry, base + at_ring, items);
    registry.destroy();
    ::munmap(memory, bytes);
    return failure;
  }

 private:
  std::string run(board& b, side_registry& registry, void* ring, std::uint64_t items) const {
    Q built(capacity, ring);
    const unsigned sides = producers + consumers, victim = is_push(site) ? 0 : producers;
    auto play = [&](Q& q, unsigned side, std::uint64_t from, bool survivor) {
      if (side < producers) produce(q, b, side, from, items, survivor, patience);
      else consume(q, b, side, producers, survivor, patience);
    };
    pid_t pids[max_sides];
    for (unsigned side = 0; side < sides; ++side) {
      pids[side] = ::fork();
      if (pids[side] != 0) continue;
      {
        side_membership member(&registry, side, (side < producers ? "producer " : "consumer ") + std::to_string(side));
        if (side == victim) armed = {true, site, passes, &b.died_here};
        // The other consumers start once a dead consumer has died: else they could take
        // every item before it came to its fatal pass.
        if (victim >= producers && side >= producers && side != victim)
          for (auto t0 = clock_type::now(); !b.died_here.load() && clock_type::now() - t0 < patience;)
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        std::optional<Q> attached;
        play(view(attached, built, ring), side, 0, side != victim);
        if (side != victim) b.finished.fetch_add(1);
      }
      ::_exit(ok);
    }
    const int victim_status = reap(pids[victim], clock_type::now() + patience + std::chrono::seconds(1));
    std::string failure;
    if (!(victim_status != -1 && WIFSIGNALED(victim_status) && WTERMSIG(victim_status) == SIGKILL && b.died_here.load()))
      failure = "the victim did not die at the site";
    else if (b.completed[victim].load() != passes)
      failure = "the victim died after " + std::to_string(b.completed[victim].load()) + " operations, not " +
                std::to_string(passes);
    // The repair needs the transport quiet: every survivor idle (it learnt of the death) or done.
    for (auto t0 = clock_type::now(); failure.empty() && b.idle.load() + b.finished.load() < static_cast<int>(sides - 1);
         std::this_thread::sleep_for(std::chrono::microseconds(100)))
      if (clock_type::now() - t0 > patience)
        failure = "the survivors did not all learn of the death by themselves (stuck in the transport?)";
    pid_t replacement = -1;
    if (failure.empty()) {
      replacement = ::fork();
      if (replacement == 0) {
        try {
          registry.take_over(victim, "replacement");
        } catch (...) {
          ::_exit(refused);
        }
        std::optional<Q> attached;
        Q& q = view(attached, built, ring);
        if constexpr (requires { q.adopt_producer(); }) {
          if (repair && victim < producers) q.adopt_producer();
          if (repair && victim >= producers) q.adopt_consumer();
        }
        b.repaired.store(1);
        play(q, victim, passes + 1, false);  // a producer: the item in doubt is not pushed again
        registry.leave(victim);
        ::_exit(ok);
      }
    }
    const auto deadline = clock_type::now() + 2 * patience + std::chrono::seconds(1);
    std::string ended;
    for (unsigned side = 0; side < sides; ++side)
      if (side != victim)
        if (auto e = exited(((side < producers ? "producer " : "consumer ") + std::to_string(side) + " (survivor)").c_str(),
                            reap(pids[side], deadline));
            ended.empty())
          ended = e;
    if (replacement > 0)
      if (auto e = exited("the replacement", reap(replacement, deadline)); ended.empty()) ended = e;
    if (!failure.empty()) return failure;
    if (!ended.empty()) return ended;
    if (b.out_of_order.load()) return std::to_string(b.out_of_order.load()) + " items out of order";
    return arrivals_as_the_site_says(b, items);
  }

  // The victim's item (producer 0's item `passes`; a consumer's: the one it held, which one
  // only a single consumer of a single producer can name) arrived once or never, as its
  // site says; every other item exactly once.
  std::string arrivals_as_the_site_says(board& b, std::uint64_t items) const {
    const bool in_doubt_arrives = site == crash_site::push_published || (site == crash_site::pop_read && !pop_read_loses);
    const bool named = is_push(site) || (producers == 1 && consumers == 1);
    unsigned missing = 0;
    for (unsigned p = 0; p < producers; ++p)
      for (std::uint64_t seq = 0; seq < items; ++seq) {
        const bool the_victims = p == 0 && seq == passes && named;
        const std::uint32_t got = b.arrivals[p][seq].load();
        missing += got == 0;
        const std::uint32_t want = the_victims && !in_doubt_arrives ? 0 : 1;
        if (got > 1 || (named && got != want))
          return "item " + std::to_string(seq) + " of producer " + std::to_string(p) + " arrived " + std::to_string(got) +
                 " times, not " + std::to_string(want) + (the_victims ? " (the victim's)" : "");
      }
    if (!named && missing != (in_doubt_arrives ? 0u : 1u))
      return std::to_string(missing) + " items never arrived, not " + (in_doubt_arrives ? "0" : "1") +
             " (the one the dead consumer held)";
    return "";
  }
};

std::uint64_t test_seed() {
  if (const char* s = std::getenv("RINGLAB_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

constexpr crash_site every_site[] = {crash_site::push_written, crash_site::push_published, crash_site::pop_read,
                                     crash_site::pop_released};

// Every site, capacity and a few passes, 1P1C and (where the transport takes them) 2P2C:
// each run's checks hold.
template <class Q>
void every_site_holds(const char* name, std::initializer_list<std::size_t> capacities, bool pop_read_loses,
                      bool many = false) {
  const std::uint64_t seed = test_seed();
  SCOPED_TRACE(std::string(name) + ", RINGLAB_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (const unsigned sides_each : {1u, 2u}) {
    if (sides_each == 2 && !many) break;
    for (const crash_site site : every_site)
      for (const std::size_t capacity : capacities)
        for (int repetition = 0; repetition < 3; ++repetition) {
          const std::uint64_t passes = rng() % ((3 * capacity + 40) / 2);
          killed_run<Q> run{capacity, site, passes};
          run.pop_read_loses = pop_read_loses;
          run.producers = run.consumers = sides_each;
          EXPECT_EQ(run(), "") << name_of(site) << ", " << sides_each << "P" << sides_each << "C, capacity " << capacity
                               << ", died on pass " << passes + 1;
        }
  }
}

// The control: the same kills with no repair leave a run that fails (a blocked cell, a
// claim never let go, a place a slot behind), at some site.
template <class Q>
void fails_without_repair(const char* name, std::size_t capacity, bool pop_read_loses) {
  std::string failures;
  for (const crash_site site : every_site) {
    killed_run<Q> run{capacity, site, 5, false, pop_read_loses, std::chrono::milliseconds(300)};
    if (const std::string e = run(); !e.empty()) failures += std::string(name_of(site)) + ": " + e + "; ";
  }
  EXPECT_NE(failures, "") << name << ": without adopt_* every kill still held (the test would prove nothing)";
  ::testing::Test::RecordProperty(std::string(name) + "_without_repair", failures);
}

#if !defined(__SANITIZE_THREAD__)  // forks and kills: about states a death leaves, not races
TEST(CrashPoints, SpscRingInSharedMemoryCarriesOnAfterADeathAtEachStep) {
  every_site_holds<spsc_ring<crash_item>>("spsc_ring", {1, 2, 3, 64}, false);
  fails_without_repair<spsc_ring<crash_item>>("spsc_ring", 64, false);
}
// Index mode (Lamport's, as rigtorp's): a side's place is its publication, so there is
// nothing to repair, and the same outcomes hold with adopt_* doing nothing.
TEST(CrashPoints, SpscRingInIndexModeNeedsNoRepair) {
  every_site_holds<spsc_ring<crash_item, rigtorp_spsc>>("spsc_ring (index mode)", {1, 2, 3, 64}, false);
}
TEST(CrashPoints, MpmcRingInSharedMemoryCarriesOnAfterADeathAtEachStep) {
  every_site_holds<mpmc_ring<crash_item>>("mpmc_ring", {1, 2, 3, 64}, true, true);
  fails_without_repair<mpmc_ring<crash_item>>("mpmc_ring", 64, true);
}
TEST(CrashPoints, ShmEventCarriesOnAfterADeathAtEachStep) {
  every_site_holds<shm_event<crash_item>>("shm_event", {1}, true, true);
  fails_without_repair<shm_event<crash_item>>("shm_event", 1, true);
}
// Their repair is the kernel's: a lock whose owner died comes back EOWNERDEAD, and the
// counts are stored after the slot (ShmSync's tests hold the lock's recovery to a control).
TEST(CrashPoints, TheRobustLocksCarryOnAfterADeathAtEachStep) {
  every_site_holds<shm_condition<crash_item>>("shm_condition", {1, 2, 3, 64}, false, true);
  every_site_holds<shm_semaphore_robust<crash_item>>("shm_semaphore.robust", {1, 2, 3, 64}, false, true);
}
// The seeds' design, kept as it is (shm_semaphore): its mutex is a binary semaphore, which
// has no owner to recover. A death at any step inside leaves it taken, and whoever comes
// next blocks in sem_wait for good: the survivor (it never gets to look at the registry)
// or, where the survivor was waiting outside, the replacement. The same kills that the
// robust variant (shm_semaphore.robust, above) carries on from.
TEST(CrashPoints, TheSeedsSemaphoreRingBlocksWhoeverComesNextAfterADeathInside) {
  for (const crash_site site : every_site) {
    killed_run<shm_semaphore<crash_item>> run{8, site, 5, false, false, std::chrono::milliseconds(300)};
    const std::string failure = run();
    EXPECT_TRUE(failure.find("hung") != std::string::npos || failure.find("did not all learn") != std::string::npos)
        << name_of(site) << ": " << (failure.empty() ? "every check held" : failure);
    ::testing::Test::RecordProperty(name_of(site), failure);
  }
}
#endif

}  // namespace
}  // namespace ringlab::ipc
