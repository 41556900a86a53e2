// shm_semaphore: the seeds' bounded buffer (Dijkstra, EWD123) between processes. A ring
// of slots in the shared block guarded by three process-shared POSIX semaphores, exactly
// the seeds' three: `empty` counts free slots, `full` counts items, `mutex` (binary)
// guards the ring. The thread version is ringlab::semaphore_ring (futex semaphores, a
// mutex per side); here the kernel's sem_t (sem_init pshared=1) does all of it, as the
// seeds' multiprocessing.Semaphore did, and the one mutex is kept as they had it.
//
// Close: POSIX semaphores cannot be "closed", so close() sets a flag in the block and
// posts each counting semaphore once. A waiter that wakes and finds nothing behind its
// permit (no item for a pop, or the flag for a push) re-posts it, so the next waiter
// wakes too: one extra permit walks down the line of sleepers. Pops still drain what is
// left after close; pushes fail from then on.
//
// The binary-semaphore mutex is not robust: a side that dies holding it (between
// sem_wait(mutex) and sem_post(mutex), a few instructions) leaves every other side stuck
// in sem_wait. The harness stops a run whose side died, so that costs the run, not a
// hang; shm_condition is the robust variant.
#pragma once
#include <semaphore.h>

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

#include "transports/transport.hpp"

namespace ringlab::ipc {

template <class T>
class shm_semaphore {
  static_assert(std::is_trivially_copyable_v<T>, "items are copied through shared memory");

  // Everything lives here, in the shared block: no pointers, only indices.
  struct header {
    sem_t empty;  // free slots
    sem_t full;   // items (plus, after close, one permit that wakes the next sleeper)
    sem_t mutex;  // binary: guards head, count and the slots
    std::size_t capacity;
    std::size_t head;   // next slot to read
    std::size_t count;  // items in the ring: tail = (head + count) % capacity
    std::atomic<std::uint32_t> closed;
  };
  static constexpr std::size_t slots_offset = (sizeof(header) + alignof(T) - 1) / alignof(T) * alignof(T);
  static_assert(alignof(T) <= false_sharing_range);

 public:
  using value_type = T;
  // One ring under one lock, sides serialised by it: FIFO and linearizable; a side
  // stalled holding the mutex stalls everyone (not lock-free); sem_wait sleeps.
  static constexpr queue_properties properties{.lock_free = false, .blocks_natively = true};
  static constexpr std::size_t max_capacity = SEM_VALUE_MAX;

  static constexpr std::size_t block_bytes(std::size_t capacity) { return slots_offset + capacity * sizeof(T); }

  explicit shm_semaphore(std::size_t capacity)
      : own_memory_(static_cast<std::byte*>(
            ::operator new(block_bytes(checked(capacity)), std::align_val_t{false_sharing_range}))) {
    build(capacity, own_memory_.get());
  }
  shm_semaphore(std::size_t capacity, void* block) { build(checked(capacity), static_cast<std::byte*>(block)); }
  shm_semaphore(shm_semaphore&& other) noexcept
      : own_memory_(std::move(other.own_memory_)),
        block_(std::exchange(other.block_, nullptr)),
        initialised_(std::exchange(other.initialised_, false)) {}
  shm_semaphore& operator=(shm_semaphore&&) = delete;
  // Only the object that initialised the semaphores destroys them (the conductor's or the
  // threads' own); forked sides leave with _exit and a moved-from object holds nothing.
  ~shm_semaphore() {
    if (!initialised_) return;
    ::sem_destroy(&h().empty);
    ::sem_destroy(&h().full);
    ::sem_destroy(&h().mutex);
    h().~header();
  }

  std::size_t capacity() const noexcept { return h().capacity; }

  bool try_push(const T& item) {
    if (!try_wait(h().empty)) return false;
    return put(item);
  }
  bool try_pop(T& item) {
    if (!try_wait(h().full)) return false;
    return take(item);
  }
  bool push(const T& item) {
    if (is_closed()) return false;
    wait(h().empty);
    return put(item);
  }
  bool pop(T& item) {
    wait(h().full);
    return take(item);
  }
  // Through the shared block, so the conductor's copy closes the sides' transport.
  void close() noexcept {
    if (h().closed.exchange(1, std::memory_order_seq_cst) != 0) return;
    ::sem_post(&h().empty);
    ::sem_post(&h().full);
  }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0) reject_capacity("shm_semaphore", capacity, "is too small: a ring holds at least 1 item");
    if (capacity > max_capacity)
      reject_capacity("shm_semaphore", capacity, "exceeds SEM_VALUE_MAX (" + std::to_string(SEM_VALUE_MAX) + "): use fewer slots");
    return capacity;
  }
  void build(std::size_t capacity, std::byte* block) {
    block_ = block;
    auto* hd = ::new (block_) header{};
    hd->capacity = capacity;
    if (::sem_init(&hd->empty, 1, static_cast<unsigned>(capacity)) != 0 || ::sem_init(&hd->full, 1, 0) != 0 ||
        ::sem_init(&hd->mutex, 1, 1) != 0)
      throw std::runtime_error(std::string("shm_semaphore: sem_init: ") + std::strerror(errno));
    initialised_ = true;
  }

  header& h() const noexcept { return *std::launder(reinterpret_cast<header*>(block_)); }
  T* slots() const noexcept { return reinterpret_cast<T*>(block_ + slots_offset); }
  bool is_closed() const noexcept { return h().closed.load(std::memory_order_seq_cst) != 0; }

  static bool try_wait(sem_t& s) {
    for (;;) {
      if (::sem_trywait(&s) == 0) return true;
      if (errno == EAGAIN) return false;
      if (errno != EINTR) throw std::runtime_error(std::string("shm_semaphore: sem_trywait: ") + std::strerror(errno));
    }
  }
  static void wait(sem_t& s) {
    while (::sem_wait(&s) != 0)
      if (errno != EINTR) throw std::runtime_error(std::string("shm_semaphore: sem_wait: ") + std::strerror(errno));
  }

  // We hold an `empty` permit. Once closed, it may be close()'s extra one (no free slot
  // behind it): pass it on and fail.
  bool put(const T& item) {
    if (is_closed()) {
      ::sem_post(&h().empty);
      return false;
    }
    wait(h().mutex);
    header& hd = h();
    std::size_t tail = hd.head + hd.count;
    if (tail >= hd.capacity) tail -= hd.capacity;
    slots()[tail] = item;
    crash_point<T>::at(crash_site::push_written);  // a death here or below leaves the mutex taken
    ++hd.count;
    crash_point<T>::at(crash_site::push_published);
    ::sem_post(&hd.mutex);
    ::sem_post(&hd.full);
    return true;
  }
  // We hold a `full` permit. Before close there is an item behind every permit; after,
  // an empty ring means the permit was close()'s: pass it on and fail (drained).
  bool take(T& item) {
    wait(h().mutex);
    header& hd = h();
    if (hd.count == 0) {
      ::sem_post(&hd.mutex);
      ::sem_post(&hd.full);  // close()'s permit: wake the next sleeper
      return false;
    }
    item = slots()[hd.head];
    crash_point<T>::at(crash_site::pop_read);
    if (++hd.head == hd.capacity) hd.head = 0;
    --hd.count;
    crash_point<T>::at(crash_site::pop_released);
    ::sem_post(&hd.mutex);
    ::sem_post(&hd.empty);
    return true;
  }

  struct aligned_delete {
    void operator()(std::byte* p) const noexcept { ::operator delete(p, std::align_val_t{false_sharing_range}); }
  };
  std::unique_ptr<std::byte, aligned_delete> own_memory_;  // only when built from a capacity alone
  std::byte* block_ = nullptr;
  bool initialised_ = false;
};

}  // namespace ringlab::ipc
