// handoff_slot — one slot passed back and forth by two events (the seeds' Event
// variant: a pool of one). A producer claims the empty slot, fills it and sets the
// "filled" event; a consumer claims the full slot, empties it and sets the "emptied"
// event. Claims are one CAS on the slot's state word, so several producers and
// consumers may share it. The events are futex event counts: setting one wakes a
// single sleeper, and only when someone sleeps. Every successful operation, try_* too,
// sets its event, so callers may mix try_* and the blocking forms. Wait is how a side
// sleeps: park, or a park on process-shared futexes when the slot lives in shared memory
// (transports/shm/shm_event.hpp).
#pragma once
#include <atomic>
#include <cstdint>

#include <ringlab/crash_point.hpp>
#include <ringlab/queue.hpp>
#include <ringlab/wait.hpp>

namespace ringlab {

template <class T, class Wait = park>
class handoff_slot {
 public:
  using value_type = T;
  static constexpr queue_properties properties{.blocks_natively = true};

  explicit handoff_slot(std::size_t capacity) {
    if (capacity != 1) reject_capacity("handoff_slot", capacity, "is not 1: a hand-off slot holds exactly one item");
  }

  std::size_t capacity() const noexcept { return 1; }

  bool try_push(const T& item) {
    if (!fill(item)) return false;
    Wait::notify(events_.not_empty);
    return true;
  }
  bool try_pop(T& item) {
    if (!drain(item)) return false;
    Wait::notify(events_.not_full);
    return true;
  }

  bool push(const T& item) {
    if (!Wait::until(events_.not_full, [&] { return fill(item); }, [&] { return events_.is_closed(); })) return false;
    Wait::notify(events_.not_empty);
    return true;
  }
  bool pop(T& item) {
    if (!Wait::until(events_.not_empty, [&] { return drain(item); }, [&] { return events_.is_closed(); })) return false;
    Wait::notify(events_.not_full);
    return true;
  }
  void close() { ringlab::close(*this, events_); }

  // Taking over from a side that died holding the slot, no other side inside meanwhile: a
  // claim it left is let go, the slot empty again. Writing: the item was half-written, and
  // is dropped; reading: the item went with the reader.
  void release_dead_claim() noexcept {
    const std::uint32_t s = state_.load(std::memory_order_acquire);
    if (s == writing || s == reading) state_.store(empty, std::memory_order_release);
  }

 private:
  bool fill(const T& item) {
    std::uint32_t expected = empty;
    if (!state_.compare_exchange_strong(expected, writing, std::memory_order_acquire, std::memory_order_relaxed))
      return false;
    value_ = item;
    crash_point<T>::at(crash_site::push_written);  // the slot claimed for writing: release_dead_claim
    state_.store(full, std::memory_order_release);
    crash_point<T>::at(crash_site::push_published);
    return true;
  }

  bool drain(T& item) {
    std::uint32_t expected = full;
    if (!state_.compare_exchange_strong(expected, reading, std::memory_order_acquire, std::memory_order_relaxed))
      return false;
    item = value_;
    crash_point<T>::at(crash_site::pop_read);  // the slot claimed for reading: release_dead_claim
    state_.store(empty, std::memory_order_release);
    crash_point<T>::at(crash_site::pop_released);
    return true;
  }

  enum : std::uint32_t { empty, writing, full, reading };
  alignas(false_sharing_range) std::atomic<std::uint32_t> state_{empty};
  T value_{};
  // events_.not_empty is the "filled" event, events_.not_full the "emptied" one.
  wait_state<Wait> events_;
};

}  // namespace ringlab
