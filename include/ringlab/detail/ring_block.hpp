// The memory of a lock-free ring: one pointer-free block, a Control header followed by
// the slots. An in-process ring owns its block; an ipc ring places the same block in
// shared memory and each process attaches a view, so one code path serves both.
#pragma once
#include <cstddef>
#include <new>
#include <utility>

#include <ringlab/detail/platform.hpp>

namespace ringlab::detail {

template <class Control, class Slot>
class ring_block {
 public:
  static constexpr std::size_t slots_offset =
      (sizeof(Control) + false_sharing_range - 1) / false_sharing_range * false_sharing_range;

  // Bytes for `slot_count` slots; the tail pad keeps the last slot's line to ourselves.
  static constexpr std::size_t bytes(std::size_t slot_count) {
    return slots_offset + slot_count * sizeof(Slot) + false_sharing_range;
  }

  ring_block() = default;
  // A block of our own (owned) or a view of `memory` that someone else keeps alive.
  static ring_block allocate(std::size_t slot_count) {
    return ring_block(::operator new(bytes(slot_count), std::align_val_t{false_sharing_range}), true);
  }
  static ring_block view(void* memory) { return ring_block(memory, false); }

  ring_block(ring_block&& other) noexcept
      : memory_(std::exchange(other.memory_, nullptr)), owned_(std::exchange(other.owned_, false)) {}
  ring_block& operator=(ring_block&& other) noexcept {
    std::swap(memory_, other.memory_);
    std::swap(owned_, other.owned_);
    return *this;
  }
  ~ring_block() {
    if (owned_) ::operator delete(memory_, std::align_val_t{false_sharing_range});
  }

  Control* control() const noexcept { return static_cast<Control*>(memory_); }
  Slot* slots() const noexcept { return reinterpret_cast<Slot*>(static_cast<std::byte*>(memory_) + slots_offset); }
  bool owned() const noexcept { return owned_; }

 private:
  ring_block(void* memory, bool owned) : memory_(memory), owned_(owned) {}
  void* memory_ = nullptr;
  bool owned_ = false;
};

}  // namespace ringlab::detail
