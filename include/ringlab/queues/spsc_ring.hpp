// spsc_ring — lock-free single-producer single-consumer ring: Lamport's queue (1983)
// with its known refinements as options, so an experiment can switch each one off:
//   cached_indices  each side keeps a private copy of the other side's index and
//                   re-reads the shared one only when the copy says full/empty
//                   (MCRingBuffer, Lee et al. 2010; Rigtorp's SPSCQueue);
//   padded          producer and consumer state on separate cache-line pairs.
// capacity + 1 slots, one always empty, so "full" and "empty" need no shared counter;
// indices wrap at the slot count, so they never overflow. State is a pointer-free
// block (see ring_block.hpp).
#pragma once
#include <atomic>
#include <concepts>
#include <cstddef>
#include <new>

#include <ringlab/detail/ring_block.hpp>
#include <ringlab/queue.hpp>

namespace ringlab {

struct spsc_options {
  bool cached_indices = true;
  bool padded = true;
};

template <std::default_initializable T, spsc_options Options = spsc_options{}>
class spsc_ring {
  static constexpr std::size_t side_alignment = Options.padded ? false_sharing_range : alignof(std::size_t);

  struct control {
    // Producer side: written only by the producer (tail) or private to it.
    alignas(side_alignment) std::atomic<std::size_t> tail{0};  // next slot to fill
    std::size_t head_seen = 0;                                   // producer's copy of head
    std::size_t producer_slot_count;                             // read-only copy, on the producer's line
    // Consumer side.
    alignas(side_alignment) std::atomic<std::size_t> head{0};  // next slot to read
    std::size_t tail_seen = 0;                                   // consumer's copy of tail
    std::size_t consumer_slot_count;
    explicit control(std::size_t slot_count) : producer_slot_count(slot_count), consumer_slot_count(slot_count) {}
  };
  using block = detail::ring_block<control, T>;

 public:
  using value_type = T;
  static constexpr queue_properties properties{.spsc_only = true};
  static constexpr std::size_t max_capacity = std::size_t{1} << 40;

  static constexpr std::size_t block_bytes(std::size_t capacity) { return block::bytes(capacity + 1); }

  explicit spsc_ring(std::size_t capacity) : block_(block::allocate(checked(capacity) + 1)) { build(capacity); }
  // Build the ring inside `memory` (block_bytes(capacity), 128-byte aligned), e.g. shared memory.
  spsc_ring(std::size_t capacity, void* memory) : block_(block::view(memory)) { build(checked(capacity)); }
  // Another process's view of a ring built in `memory`.
  static spsc_ring attach(void* memory) { return spsc_ring(block::view(memory)); }

  spsc_ring(spsc_ring&&) noexcept = default;
  ~spsc_ring() {
    if (!block_.owned()) return;
    for (std::size_t i = 0; i < ctl_->producer_slot_count; ++i) slots_[i].~T();
    ctl_->~control();
  }

  std::size_t capacity() const noexcept { return ctl_->producer_slot_count - 1; }

  bool try_push(const T& item) {
    control& c = *ctl_;
    const std::size_t tail = c.tail.load(std::memory_order_relaxed);
    std::size_t next = tail + 1;
    if (next == c.producer_slot_count) next = 0;
    if constexpr (Options.cached_indices) {
      if (next == c.head_seen) {
        c.head_seen = c.head.load(std::memory_order_acquire);
        if (next == c.head_seen) return false;
      }
    } else {
      if (next == c.head.load(std::memory_order_acquire)) return false;
    }
    slots_[tail] = item;
    c.tail.store(next, std::memory_order_release);
    return true;
  }

  bool try_pop(T& item) {
    control& c = *ctl_;
    const std::size_t head = c.head.load(std::memory_order_relaxed);
    if constexpr (Options.cached_indices) {
      if (head == c.tail_seen) {
        c.tail_seen = c.tail.load(std::memory_order_acquire);
        if (head == c.tail_seen) return false;
      }
    } else {
      if (head == c.tail.load(std::memory_order_acquire)) return false;
    }
    item = slots_[head];
    std::size_t next = head + 1;
    if (next == c.consumer_slot_count) next = 0;
    c.head.store(next, std::memory_order_release);
    return true;
  }

 private:
  explicit spsc_ring(block&& b) : block_(std::move(b)), ctl_(block_.control()), slots_(block_.slots()) {}

  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0) reject_capacity("spsc_ring", capacity, "is too small: a ring holds at least 1 item");
    if (capacity > max_capacity) reject_capacity("spsc_ring", capacity, "exceeds the maximum of 2^40 items");
    return capacity;
  }
  void build(std::size_t capacity) {
    ctl_ = ::new (block_.control()) control(capacity + 1);
    slots_ = block_.slots();
    for (std::size_t i = 0; i < capacity + 1; ++i) ::new (&slots_[i]) T();
  }

  block block_;
  control* ctl_ = nullptr;
  T* slots_ = nullptr;
};

}  // namespace ringlab
