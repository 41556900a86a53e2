// shm_semaphore.robust: what the seeds' bounded buffer (shm_semaphore.hpp) needs to
// survive a side that dies. There, the binary semaphore that guards the ring has no
// owner, so a side killed holding it stops everyone for good; and the counting
// semaphores are the truth, so a side killed between taking a permit and moving the
// ring leaves counts and ring out of step for good. Here:
// - the guard is a robust process-shared pthread mutex: the next locker gets EOWNERDEAD,
//   marks it consistent, counts the death (recovered_owner_deaths) and goes on;
// - the truth is the ring: two monotonic counters, each moved by one store after its
//   slot (as in shm_condition), so it is consistent whenever a side may die, and every
//   decision (full? empty?) is taken from them under the mutex;
// - `empty` and `full` stay POSIX semaphores, but only as wake-ups: posted when a waiter
//   is registered, waited on for at most 2 ms. A wake-up that died with its side costs
//   one bounded wait, never a hang or a wrong count;
// - each bounded wait ends with a look at the other sides (side registry), so a survivor
//   learns of a death by itself.
#pragma once
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include <atomic>
#include <cerrno>
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
class shm_semaphore_robust {
  static_assert(std::is_trivially_copyable_v<T>, "items are copied through shared memory");

  struct header {
    pthread_mutex_t mutex;  // robust, process-shared
    sem_t empty;            // wake-ups for pushers: posted when one waits and a slot frees
    sem_t full;             // wake-ups for poppers
    std::uint32_t empty_waiters, full_waiters;  // under the mutex (a dead waiter: a wasted post)
    std::size_t capacity;
    std::atomic<std::uint64_t> pushed, popped;  // count = pushed - popped
    std::atomic<std::uint64_t> recovered_owner_deaths;
    std::atomic<std::uint32_t> closed;
  };
  static constexpr std::size_t slots_offset = (sizeof(header) + alignof(T) - 1) / alignof(T) * alignof(T);
  static_assert(alignof(T) <= false_sharing_range);
  static constexpr long recheck_ns = 2'000'000;

 public:
  using value_type = T;
  static constexpr queue_properties properties{.lock_free = false, .blocks_natively = true};
  static constexpr std::size_t max_capacity = std::size_t{1} << 40;
  static constexpr bool notices_dead_peers = true;  // ENOTRECOVERABLE, and the side registry
  static constexpr bool watches_peers = true;
  static constexpr crash_guarantee after_crash = published_items_once;  // the counters, stored after the slot

  static constexpr std::size_t block_bytes(std::size_t capacity) { return slots_offset + capacity * sizeof(T); }

  explicit shm_semaphore_robust(std::size_t capacity)
      : own_memory_(static_cast<std::byte*>(
            ::operator new(block_bytes(checked(capacity)), std::align_val_t{false_sharing_range}))) {
    build(capacity, own_memory_.get());
  }
  shm_semaphore_robust(std::size_t capacity, void* block) { build(checked(capacity), static_cast<std::byte*>(block)); }
  // A replacement's view of one built in `block` (mapped again, by name): it destroys nothing.
  static shm_semaphore_robust attach(void* block) {
    shm_semaphore_robust view;
    view.block_ = static_cast<std::byte*>(block);
    return view;
  }
  shm_semaphore_robust(shm_semaphore_robust&& other) noexcept
      : own_memory_(std::move(other.own_memory_)),
        block_(std::exchange(other.block_, nullptr)),
        initialised_(std::exchange(other.initialised_, false)) {}
  shm_semaphore_robust& operator=(shm_semaphore_robust&&) = delete;
  ~shm_semaphore_robust() {
    if (!initialised_) return;
    ::pthread_mutex_destroy(&h().mutex);
    ::sem_destroy(&h().empty);
    ::sem_destroy(&h().full);
    h().~header();
  }

  std::size_t capacity() const noexcept { return h().capacity; }
  std::uint64_t recovered_owner_deaths() const noexcept { return h().recovered_owner_deaths.load(); }

  bool try_push(const T& item) { return attempt_push(item, nullptr); }
  bool try_pop(T& item) { return attempt_pop(item, nullptr); }
  bool push(const T& item) {
    for (bool closed = false;;) {
      if (attempt_push(item, &closed)) return true;
      if (closed) return false;
      sleep_on(h().empty, h().empty_waiters);
    }
  }
  bool pop(T& item) {
    for (bool closed = false;;) {
      if (attempt_pop(item, &closed)) return true;
      if (closed) return false;  // closed and drained
      sleep_on(h().full, h().full_waiters);
    }
  }
  // A replacement for a side that died (scopes/processes/fault.hpp) finds it open again
  // (the run's stop closed it); the counters need no repair: each moved by one store.
  void adopt_producer() noexcept { h().closed.store(0, std::memory_order_seq_cst); }
  void adopt_consumer() noexcept { h().closed.store(0, std::memory_order_seq_cst); }
  void close() noexcept {
    h().closed.store(1, std::memory_order_seq_cst);
    ::sem_post(&h().empty);  // the sleepers wake within recheck_ns anyway; these make it at once
    ::sem_post(&h().full);
  }

  // Test hook: take the mutex and return holding it (a side dying in push would).
  void lock_for_test() { lock(); }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0) reject_capacity("shm_semaphore.robust", capacity, "is too small: a ring holds at least 1 item");
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
    if (e != 0) throw std::runtime_error(std::string("shm_semaphore.robust: pthread_mutex_init: ") + std::strerror(e));
    if (::sem_init(&hd->empty, 1, 0) != 0 || ::sem_init(&hd->full, 1, 0) != 0)
      throw std::runtime_error(std::string("shm_semaphore.robust: sem_init: ") + std::strerror(errno));
    initialised_ = true;
  }
  header& h() const noexcept { return *std::launder(reinterpret_cast<header*>(block_)); }
  T* slots() const noexcept { return reinterpret_cast<T*>(block_ + slots_offset); }

  void lock() {
    int e = lock_robust(h().mutex);  // never asleep for good (robust_lock.hpp)
    if (e == EOWNERDEAD) {  // died holding it: the ring is consistent by construction
      h().recovered_owner_deaths.fetch_add(1, std::memory_order_relaxed);
      e = ::pthread_mutex_consistent(&h().mutex);
    }
    if (e == ENOTRECOVERABLE) throw peer_lost("shm_semaphore.robust: the mutex is not recoverable (ENOTRECOVERABLE)");
    if (e != 0) throw std::runtime_error(std::string("shm_semaphore.robust: pthread_mutex_lock: ") + std::strerror(e));
  }
  void unlock() noexcept { ::pthread_mutex_unlock(&h().mutex); }

  // One look under the mutex; `closed` (blocking callers) says why it failed. A waiter
  // registers here, under the same lock, so that a post cannot fall before its sleep.
  bool attempt_push(const T& item, bool* closed) {
    lock();
    header& hd = h();
    const std::uint64_t n = hd.pushed.load(std::memory_order_relaxed);
    const bool is_closed = hd.closed.load(std::memory_order_seq_cst) != 0;
    if (is_closed || n - hd.popped.load(std::memory_order_relaxed) >= hd.capacity) {
      if (closed) *closed = is_closed, hd.empty_waiters += !is_closed;
      unlock();
      return false;
    }
    slots()[n % hd.capacity] = item;
    crash_point<T>::at(crash_site::push_written);  // a death here or below: EOWNERDEAD to the next locker
    hd.pushed.store(n + 1, std::memory_order_release);
    crash_point<T>::at(crash_site::push_published);
    const bool wake = hd.full_waiters != 0;
    unlock();
    if (wake) ::sem_post(&hd.full);
    return true;
  }
  bool attempt_pop(T& item, bool* closed) {
    lock();
    header& hd = h();
    const std::uint64_t n = hd.popped.load(std::memory_order_relaxed);
    if (hd.pushed.load(std::memory_order_relaxed) == n) {
      const bool is_closed = hd.closed.load(std::memory_order_seq_cst) != 0;
      if (closed) *closed = is_closed, hd.full_waiters += !is_closed;
      unlock();
      return false;
    }
    item = slots()[n % hd.capacity];
    crash_point<T>::at(crash_site::pop_read);
    hd.popped.store(n + 1, std::memory_order_release);
    crash_point<T>::at(crash_site::pop_released);
    const bool wake = hd.empty_waiters != 0;
    unlock();
    if (wake) ::sem_post(&hd.empty);
    return true;
  }

  // Registered by the failed attempt: sleep at most recheck_ns, deregister, and look at
  // the other sides. A post for a waiter that had already looked again stays in the
  // semaphore and wakes the next sleeper early once: a wasted look, never a lost one.
  void sleep_on(sem_t& s, std::uint32_t& waiters) {
    timespec until{};
    ::clock_gettime(CLOCK_REALTIME, &until);  // sem_timedwait's clock
    until.tv_nsec += recheck_ns;
    if (until.tv_nsec >= 1'000'000'000L) until.tv_sec += 1, until.tv_nsec -= 1'000'000'000L;
    while (::sem_timedwait(&s, &until) != 0 && errno == EINTR) {
    }
    lock();
    waiters -= waiters != 0;
    unlock();
    if (peer_watch::look_if_due()) throw peer_lost(peer_watch::obituary());
  }

  struct aligned_delete {
    void operator()(std::byte* p) const noexcept { ::operator delete(p, std::align_val_t{false_sharing_range}); }
  };
  std::unique_ptr<std::byte, aligned_delete> own_memory_;  // only when built from a capacity alone
  shm_semaphore_robust() = default;  // attach's
  std::byte* block_ = nullptr;
  bool initialised_ = false;
};

}  // namespace ringlab::ipc
