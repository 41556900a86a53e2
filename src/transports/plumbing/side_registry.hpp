// Who is alive among a run's sides, kept in its shared segment, so that a survivor learns
// of a death by itself, with no conductor involved. Each side holds a life lock, a
// robust process-shared mutex, from joining until it leaves; the kernel hands a lock
// whose holder died to the next locker with EOWNERDEAD. A look is a trylock per other
// side: no system call, no descriptor per peer, and no pid to be recycled (the kernel
// tracks the holding thread itself). pid and start time are recorded to name the dead.
// peer_watch is a side process's own watcher: the waits across processes call look_if_due()
// on their failed attempts (transport.hpp's watched<W>), so the hot path never looks.
#pragma once
#include <pthread.h>
#include <time.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string>

namespace ringlab::ipc {

class side_registry {
 public:
  static constexpr std::size_t name_bytes = 24;
  // Bytes for a registry of `sides` entries (placement in the segment).
  static std::size_t bytes(unsigned sides);
  // The conductor builds it in `memory` before forking; destroyed by the conductor too.
  static side_registry* build(void* memory, unsigned sides);
  // The registry built in `memory` (mapped again, by name: a replacement's view).
  static side_registry& at(void* memory) noexcept { return *std::launder(static_cast<side_registry*>(memory)); }
  void destroy() noexcept;

  // In a side's process (the thread that runs it): hold entry `index`'s life lock, as
  // `who` ("producer 0"). A lock left by a dead holder is taken over (a replacement).
  void join(unsigned index, const std::string& who);
  // A replacement, as `who`: take entry `index`'s place only if the side there died (its
  // life lock abandoned, or found so by a survivor). Throws std::runtime_error with one
  // line, taking nothing, when there is no such side, it never joined, it left, or it
  // lives (its lock is held: whatever its recorded pid now names, the lock is the truth).
  void take_over(unsigned index, const std::string& who);
  // Its work done: the others will not take its absence for a death.
  void leave(unsigned index) noexcept;
  // "" while every other joined side lives (or left); otherwise who died and how it showed.
  std::string dead_other_than(unsigned index) noexcept;
  unsigned sides() const noexcept { return sides_; }

  // A run whose replacement carries on (--carry-on): the survivors wait, idle (outside
  // any operation on the transport), while the replacement repairs it; then they go on.
  // The survivor's part: false if no repair came within `patience_ns`, or `stopped()`.
  template <class Stopped>
  bool await_repair(Stopped&& stopped, std::uint64_t patience_ns);
  // The replacement's: take `index`'s place once a survivor has found that side dead
  // (taken); `alive` until then (or until it joins); `gone` if it left (nothing to carry on).
  enum class vacancy { taken, alive, gone };
  vacancy take_over_if_dead(unsigned index, const std::string& who);
  // Every side but `index` waits in await_repair or has left: the transport is still.
  bool others_idle(unsigned index) const noexcept;
  // Every side but `index` has left, its work done: nobody will find `index` dead now.
  bool others_left(unsigned index) const noexcept;
  void repaired() noexcept { repairs_.fetch_add(1, std::memory_order_acq_rel); }
  std::uint32_t repairs() const noexcept { return repairs_.load(std::memory_order_acquire); }

 private:
  enum state : std::uint32_t { empty, alive, left, dead };
  struct entry {
    pthread_mutex_t life;  // robust, process-shared; held by the side while it is alive
    std::atomic<std::uint32_t> state;
    std::int64_t pid;
    std::uint64_t start_time;  // /proc/<pid>/stat: with the pid, names this very process
    char who[name_bytes];
  };
  static constexpr std::size_t entries_offset = 64;
  entry* entries() noexcept { return reinterpret_cast<entry*>(reinterpret_cast<std::byte*>(this) + entries_offset); }
  const entry* entries() const noexcept { return const_cast<side_registry*>(this)->entries(); }
  std::string obituary(const entry& e, const char* how) const;
  static void claim(entry& e, const std::string& who) noexcept;  // its lock held: record this process as `who`
  unsigned sides_ = 0;
  std::atomic<std::uint32_t> idle_{0};     // survivors in await_repair
  std::atomic<std::uint32_t> repairs_{0};  // repairs done by replacements that carry on
};

template <class Stopped>
bool side_registry::await_repair(Stopped&& stopped, std::uint64_t patience_ns) {
  const std::uint32_t seen = repairs();
  idle_.fetch_add(1, std::memory_order_acq_rel);
  timespec start{}, now{};
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  bool came = false;
  for (;;) {  // a poll every 0.1 ms: a survivor waits here once per death, not per item
    if ((came = repairs() != seen) || stopped()) break;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const auto waited = static_cast<std::uint64_t>((now.tv_sec - start.tv_sec) * 1'000'000'000ll + (now.tv_nsec - start.tv_nsec));
    if (waited > patience_ns) break;
    const timespec tick{0, 100'000};
    ::nanosleep(&tick, nullptr);
  }
  idle_.fetch_sub(1, std::memory_order_acq_rel);
  return came;
}

// The conductor's registry for one run: built in the run's segment when its transport
// watches its peers (else none), destroyed with the run.
class run_registry {
 public:
  static std::size_t bytes(bool watched, unsigned sides) { return watched ? side_registry::bytes(sides) : 0; }
  run_registry(bool watched, void* memory, unsigned sides)
      : registry_(watched ? side_registry::build(memory, sides) : nullptr) {}
  ~run_registry() {
    if (registry_) registry_->destroy();
  }
  run_registry(const run_registry&) = delete;
  run_registry& operator=(const run_registry&) = delete;
  side_registry* get() const noexcept { return registry_; }

 private:
  side_registry* registry_;
};

// This process's watcher. Unarmed (the conductor, unwatched transports) a look is one
// load and a branch.
class peer_watch {
 public:
  static constexpr long look_every_ns = 250'000;  // the most often a waiting side looks
  static void arm(side_registry& registry, unsigned me) noexcept;
  static void disarm() noexcept;
  static bool armed() noexcept { return registry_ != nullptr; }
  // For a wait's failed attempts (every 8th: transport.hpp's watched<W>) and after a
  // bounded sleep: a look if look_every_ns have passed since the last. True once a side
  // was found dead (obituary() says who and how).
  static bool look_if_due();
  static const std::string& obituary() noexcept { return obituary_; }

 private:
  static inline side_registry* registry_ = nullptr;  // set before the side's threads start
  static inline unsigned me_ = 0;
  static inline thread_local std::uint64_t last_look_ns_ = 0;
  static inline thread_local std::string obituary_;
};

// A side's membership for the length of a scope: joined and armed, then left and disarmed
// however the scope ends (an exception included). No registry: nothing.
class side_membership {
 public:
  side_membership(side_registry* registry, unsigned index, const std::string& who);
  ~side_membership();
  side_membership(const side_membership&) = delete;
  side_membership& operator=(const side_membership&) = delete;

 private:
  side_registry* registry_;
  unsigned index_;
};

}  // namespace ringlab::ipc
