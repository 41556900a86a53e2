// shm_condition: the seeds' Condition (a monitor: one lock, not-full / not-empty
// conditions) between processes. One process-shared ROBUST pthread mutex and two
// conditions over a ring, all in the shared block. The thread version is
// ringlab::mutex_ring.
//
// A side that dies holding the mutex does not stop the others: the kernel hands the lock
// to the next locker with EOWNERDEAD, which marks it consistent, counts the death in the
// block (recovered_owner_deaths()) and goes on. The ring is kept consistent at every
// instant for that: its state is two monotonic counters, `pushed` and `popped`, each
// moved by one store after the slot is written or read, so a death mid-operation costs
// at most the item being moved (a push that dies before its store never happened; a pop
// that dies after its store took an item nobody will see). ENOTRECOVERABLE (someone
// unlocked without repairing) is reported as ipc::peer_lost, never as a hang.
//
// The conditions are futex sequence words, not pthread_cond_t: glibc's condvar keeps
// per-waiter counts (group references) that a waiter killed inside pthread_cond_wait
// never gives back, and then the next signal or broadcast that switches groups waits for
// it forever, holding the mutex (glibc 2.36; tests/test_shm_sync.cpp shows it). A futex
// word keeps nothing of its waiters: the kernel drops a dead one from its queue. A wait
// reads the word under the mutex, unlocks, sleeps while the word is unchanged and locks
// again; signal and broadcast bump it under the mutex, so no wake-up falls between a
// waiter's check and its sleep. Waits are still bounded (2 ms): the closed flag is read
// and the other sides are looked at (side registry) on every wake; close() broadcasts
// both conditions. A survivor so learns of a dead side within a few milliseconds.
#pragma once
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <ringlab/crash_point.hpp>
#include <ringlab/queue.hpp>

#include "transports/plumbing/robust_lock.hpp"
#include "transports/transport.hpp"

namespace ringlab::ipc {

template <class T>
class shm_condition {
  static_assert(std::is_trivially_copyable_v<T>, "items are copied through shared memory");

  // A condition: bumped by every signal; `sleepers` only spares a wake-up call when no one
  // waits (a waiter that died leaves it too high: a wasted call, nothing worse).
  struct condition {
    std::atomic<std::uint32_t> sequence;
    std::atomic<std::uint32_t> sleepers;
  };
  struct header {
    pthread_mutex_t mutex;  // robust, process-shared
    condition not_full;
    condition not_empty;
    std::size_t capacity;
    // Items ever pushed / popped; count = pushed - popped. Each moved by one release
    // store after its slot, so the ring is consistent whenever a side may die.
    std::atomic<std::uint64_t> pushed;
    std::atomic<std::uint64_t> popped;
    std::atomic<std::uint64_t> recovered_owner_deaths;
    std::atomic<std::uint32_t> closed;
  };
  static constexpr std::size_t slots_offset = (sizeof(header) + alignof(T) - 1) / alignof(T) * alignof(T);
  static_assert(alignof(T) <= false_sharing_range);
  static constexpr long recheck_ns = 2'000'000;  // a bounded wait: look again every 2 ms

 public:
  using value_type = T;
  static constexpr queue_properties properties{.lock_free = false, .blocks_natively = true};
  static constexpr bool notices_dead_peers = true;  // ENOTRECOVERABLE, and the side registry
  static constexpr bool watches_peers = true;  // each bounded wait ends with a look (peer_watch)
  static constexpr crash_guarantee after_crash = published_items_once;  // the counters, stored after the slot

  static constexpr std::size_t block_bytes(std::size_t capacity) { return slots_offset + capacity * sizeof(T); }

  explicit shm_condition(std::size_t capacity)
      : own_memory_(static_cast<std::byte*>(
            ::operator new(block_bytes(checked(capacity)), std::align_val_t{false_sharing_range}))) {
    build(capacity, own_memory_.get());
  }
  shm_condition(std::size_t capacity, void* block) { build(checked(capacity), static_cast<std::byte*>(block)); }
  // A replacement's view of one built in `block` (mapped again, by name): it destroys nothing.
  static shm_condition attach(void* block) {
    shm_condition view;
    view.block_ = static_cast<std::byte*>(block);
    return view;
  }
  shm_condition(shm_condition&& other) noexcept
      : own_memory_(std::move(other.own_memory_)),
        block_(std::exchange(other.block_, nullptr)),
        initialised_(std::exchange(other.initialised_, false)) {}
  shm_condition& operator=(shm_condition&&) = delete;
  // Only the object that initialised the mutex destroys it.
  ~shm_condition() {
    if (!initialised_) return;
    ::pthread_mutex_destroy(&h().mutex);
    h().~header();
  }

  std::size_t capacity() const noexcept { return h().capacity; }
  // Owners that died holding the mutex and whose lock was recovered (EOWNERDEAD).
  std::uint64_t recovered_owner_deaths() const noexcept { return h().recovered_owner_deaths.load(); }

  bool try_push(const T& item) {
    locked lock(*this);
    if (is_closed() || full()) return false;
    put(item);
    return true;
  }
  bool try_pop(T& item) {
    locked lock(*this);
    if (empty()) return false;
    take(item);
    return true;
  }
  bool push(const T& item) {
    locked lock(*this);
    while (!is_closed() && full()) lock.wait(h().not_full), watch();
    if (is_closed()) return false;
    put(item);
    return true;
  }
  bool pop(T& item) {
    locked lock(*this);
    while (!is_closed() && empty()) lock.wait(h().not_empty), watch();
    if (empty()) return false;  // closed and drained
    take(item);
    return true;
  }
  // A replacement for a side that died (scopes/processes/fault.hpp) finds it open again
  // (the run's stop closed it); the counters need no repair: each moved by one store.
  void adopt_producer() noexcept { h().closed.store(0, std::memory_order_seq_cst); }
  void adopt_consumer() noexcept { h().closed.store(0, std::memory_order_seq_cst); }
  // Never throws, never waits long: the flag alone ends every wait within recheck_ns; the
  // broadcasts make it at once (under the lock when we get it within 50 ms, so that no
  // waiter is between its check and its sleep; a side stopped holding it cannot hang us).
  void close() noexcept {
    h().closed.store(1, std::memory_order_seq_cst);
    // trylock in 1-ms steps rather than pthread_mutex_clocklock, which TSan does not
    // intercept (it then reports our unlock as one of an unlocked mutex).
    bool held = false;
    for (int tries = 0; tries < 50 && !held; ++tries) {
      held = recovered(::pthread_mutex_trylock(&h().mutex), h()) == 0;
      if (!held) ::usleep(1000);
    }
    broadcast(h().not_full);
    broadcast(h().not_empty);
    if (held) ::pthread_mutex_unlock(&h().mutex);
  }

  // Test hook: take the mutex and return holding it, so that a test can kill the
  // process (SIGKILL) while it owns the lock, as a side dying in push would.
  void lock_for_test() { lock(); }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0) reject_capacity("shm_condition", capacity, "is too small: a ring holds at least 1 item");
    return capacity;
  }
  void build(std::size_t capacity, std::byte* block) {
    block_ = block;
    auto* hd = ::new (block_) header{};
    hd->capacity = capacity;
    pthread_mutexattr_t ma;
    ::pthread_mutexattr_init(&ma);
    ::pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    ::pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    const int e = ::pthread_mutex_init(&hd->mutex, &ma);
    ::pthread_mutexattr_destroy(&ma);
    if (e != 0) throw std::runtime_error(std::string("shm_condition: pthread_mutex_init: ") + std::strerror(e));
    initialised_ = true;
  }

  // After a wait, under the mutex: a side found dead ends the call (the lock is let go
  // on the way out).
  static void watch() {
    if (peer_watch::look_if_due()) throw peer_lost(peer_watch::obituary());
  }

  header& h() const noexcept { return *std::launder(reinterpret_cast<header*>(block_)); }
  T* slots() const noexcept { return reinterpret_cast<T*>(block_ + slots_offset); }
  bool is_closed() const noexcept { return h().closed.load(std::memory_order_seq_cst) != 0; }
  std::uint64_t count() const noexcept {
    return h().pushed.load(std::memory_order_relaxed) - h().popped.load(std::memory_order_relaxed);
  }
  bool full() const noexcept { return count() >= h().capacity; }
  bool empty() const noexcept { return count() == 0; }

  // Under the lock. The slot first, then the counter that publishes it (release: neither
  // the compiler nor the CPU moves the slot's bytes after it).
  void put(const T& item) {
    header& hd = h();
    const std::uint64_t n = hd.pushed.load(std::memory_order_relaxed);
    slots()[n % hd.capacity] = item;
    crash_point<T>::at(crash_site::push_written);  // a death here or below: EOWNERDEAD to the next locker
    hd.pushed.store(n + 1, std::memory_order_release);
    crash_point<T>::at(crash_site::push_published);
    signal(hd.not_empty);
  }
  void take(T& item) {
    header& hd = h();
    const std::uint64_t n = hd.popped.load(std::memory_order_relaxed);
    item = slots()[n % hd.capacity];
    crash_point<T>::at(crash_site::pop_read);
    hd.popped.store(n + 1, std::memory_order_release);
    crash_point<T>::at(crash_site::pop_released);
    signal(hd.not_full);
  }

  // Under the mutex (close: when it got it), so `sleepers` is exact but for the dead.
  static void signal(condition& c) noexcept {
    c.sequence.fetch_add(1, std::memory_order_seq_cst);
    if (c.sleepers.load(std::memory_order_relaxed) != 0) wake(c, 1);
  }
  static void broadcast(condition& c) noexcept {
    c.sequence.fetch_add(1, std::memory_order_seq_cst);
    wake(c, INT_MAX);
  }
  static void wake(condition& c, int how_many) noexcept {
    // FUTEX_WAKE without FUTEX_PRIVATE_FLAG: the sleepers are in other processes.
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&c.sequence), FUTEX_WAKE, how_many, nullptr, nullptr, 0);
  }

  // Lock (or re-take after a wait) the robust mutex: 0, or ENOTRECOVERABLE / another error.
  // EOWNERDEAD: the previous owner died holding it; the ring is consistent by
  // construction, so mark the mutex consistent, count the death and carry on.
  static int recovered(int e, header& hd) noexcept {
    if (e != EOWNERDEAD) return e;
    hd.recovered_owner_deaths.fetch_add(1, std::memory_order_relaxed);
    return ::pthread_mutex_consistent(&hd.mutex);
  }
  // Never asleep for good in the lock (robust_lock.hpp: a woken side killed before it
  // took the lock can leave the others asleep).
  static int acquire(pthread_mutex_t& m, header& hd) noexcept { return recovered(lock_robust(m), hd); }
  [[noreturn]] static void lost(int e) {
    if (e == ENOTRECOVERABLE)
      throw peer_lost("shm_condition: the mutex is not recoverable (ENOTRECOVERABLE): a side died holding it and "
                      "it was released unrepaired; rebuild the transport");
    throw std::runtime_error(std::string("shm_condition: pthread_mutex_lock: ") + std::strerror(e));
  }
  void lock() {
    if (const int e = acquire(h().mutex, h()); e != 0) lost(e);
  }

  class locked {
   public:
    explicit locked(shm_condition& q) : q_(q) { q_.lock(); }
    ~locked() {
      if (!released_) ::pthread_mutex_unlock(&q_.h().mutex);
    }
    locked(const locked&) = delete;
    locked& operator=(const locked&) = delete;
    // One bounded wait, the mutex released meanwhile; the caller's loop re-checks its
    // condition and the closed flag.
    void wait(condition& c) {
      const std::uint32_t seen = c.sequence.load(std::memory_order_relaxed);  // under the mutex
      c.sleepers.fetch_add(1, std::memory_order_relaxed);
      ::pthread_mutex_unlock(&q_.h().mutex);
      const timespec timeout{0, recheck_ns};
      // FUTEX_WAIT without FUTEX_PRIVATE_FLAG: the word is shared by processes.
      ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&c.sequence), FUTEX_WAIT, seen, &timeout, nullptr, 0);
      c.sleepers.fetch_sub(1, std::memory_order_relaxed);
      if (const int e = acquire(q_.h().mutex, q_.h()); e != 0) {
        released_ = true;  // the mutex is not ours: do not unlock it on the way out
        lost(e);
      }
    }

   private:
    shm_condition& q_;
    bool released_ = false;
  };

  struct aligned_delete {
    void operator()(std::byte* p) const noexcept { ::operator delete(p, std::align_val_t{false_sharing_range}); }
  };
  std::unique_ptr<std::byte, aligned_delete> own_memory_;  // only when built from a capacity alone
  shm_condition() = default;  // attach's
  std::byte* block_ = nullptr;
  bool initialised_ = false;
};

}  // namespace ringlab::ipc
