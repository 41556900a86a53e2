// shm_event: the seeds' Event hand-off between processes: one slot and a state word
// (empty / being written / full / being read) in the shared block, claimed by a
// compare-exchange; push and pop sleep on process-shared futexes ("filled", "emptied").
// It is ringlab::handoff_slot itself, placed in the block and run with the park that
// waits on process-shared futex words (FUTEX_WAIT without FUTEX_PRIVATE_FLAG: a private
// futex never wakes another process); this class only places it and checks the capacity.
//
// Any number of sides may use it: a producer's push ends only once its item is in the
// slot, and the slot holds one item, so each producer's items enter, and are taken, in
// its own order (fifo); the state word orders every hand-off (linearizable). It is not
// lock-free: a side stalled between its claim and its release (or dead there) stops
// everyone, and a side that dies there leaves the slot claimed until a replacement lets
// the claim go (adopt_producer / adopt_consumer). The sides watch each other through the
// run's side registry: a survivor waiting on the slot learns of a death within a few
// milliseconds.
#pragma once
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include <ringlab/queue.hpp>
#include <ringlab/queues/handoff_slot.hpp>
#include <ringlab/wait.hpp>

#include "transports/transport.hpp"

namespace ringlab::ipc {

template <class T>
class shm_event {
  static_assert(std::is_trivially_copyable_v<T>, "items are copied through shared memory");
  using slot = handoff_slot<T, across_processes_t<park>>;

 public:
  using value_type = T;
  static constexpr queue_properties properties{.lock_free = false, .blocks_natively = true};
  static constexpr std::size_t max_capacity = 1;
  // Its park is watched (transport.hpp): a survivor learns of a dead side in its waits.
  static constexpr bool watches_peers = true;
  static constexpr bool notices_dead_peers = true;
  static constexpr crash_guarantee after_crash = published_items_once;  // a dead side's claim: adopt_*

  static constexpr std::size_t block_bytes(std::size_t) { return sizeof(slot); }

  explicit shm_event(std::size_t capacity)
      : own_memory_(static_cast<std::byte*>(::operator new(block_bytes(checked(capacity)), std::align_val_t{alignof(slot)}))) {
    slot_ = ::new (own_memory_.get()) slot(1);
  }
  shm_event(std::size_t capacity, void* block) : slot_(::new (block) slot(checked(capacity))) {}
  // A replacement's view of one built in `block` (mapped again, by name).
  static shm_event attach(void* block) {
    shm_event view;
    view.slot_ = std::launder(static_cast<slot*>(block));
    return view;
  }
  shm_event(shm_event&& other) noexcept
      : own_memory_(std::move(other.own_memory_)), slot_(std::exchange(other.slot_, nullptr)) {}
  shm_event& operator=(shm_event&&) = delete;
  ~shm_event() {
    if (own_memory_) slot_->~slot();  // in the segment it is plain words, left to the segment
  }

  std::size_t capacity() const noexcept { return 1; }
  bool try_push(const T& item) { return slot_->try_push(item); }
  bool try_pop(T& item) { return slot_->try_pop(item); }
  bool push(const T& item) { return slot_->push(item); }
  bool pop(T& item) { return slot_->pop(item); }
  void close() { slot_->close(); }
  // A replacement for a side that died (scopes/processes/fault.hpp): its claim is let go.
  void adopt_producer() noexcept { slot_->release_dead_claim(); }
  void adopt_consumer() noexcept { slot_->release_dead_claim(); }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity != 1) reject_capacity("shm_event", capacity, "is not 1: the event hand-off holds exactly one item (use --capacity 1)");
    return capacity;
  }
  struct aligned_delete {
    void operator()(std::byte* p) const noexcept { ::operator delete(p, std::align_val_t{alignof(slot)}); }
  };
  std::unique_ptr<std::byte, aligned_delete> own_memory_;  // only when built from a capacity alone
  shm_event() = default;  // attach's
  slot* slot_ = nullptr;
};

}  // namespace ringlab::ipc
