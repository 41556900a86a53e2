// spsc_ring — lock-free single-producer single-consumer ring: Lamport's queue (1983)
// and the published ideas that speed it up, each an option an experiment can switch off.
// Index mode (the slots' state is two shared indices):
//   cached_indices  each side keeps a private copy of the other side's index and re-reads
//                   the shared one only when the copy says full/empty (MCRingBuffer, Lee
//                   et al. 2010; Rigtorp's SPSCQueue);
//   padded          producer and consumer state on separate cache-line pairs.
// Slot-flag mode (no shared index at all): a slot is its own flag — an item's first word
// is never 0, and 0 marks a free slot (FastForward, Giacomoni et al. PPoPP 2008).
//   gap             the ring has capacity + gap slots and the producer looks gap slots
//                   ahead, so it never writes in the lines the consumer is reading;
//   batch           it checks once for `batch` free slots and then writes that many
//                   unchecked (B-Queue, Wang et al. 2013).
// Looking gap + b - 1 slots ahead of the tail in a ring of capacity + gap slots finds a
// free slot exactly when b more items fit, so capacity() stays exact. State is a
// pointer-free block (see ring_block.hpp).
#pragma once
#include <atomic>
#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <new>

#include <ringlab/detail/ring_block.hpp>
#include <ringlab/flag_word.hpp>
#include <ringlab/queue.hpp>

namespace ringlab {

struct spsc_options {
  bool cached_indices = true;
  bool padded = true;
  bool slot_flag = false;
  unsigned gap = 0;
  unsigned batch = 1;
};

inline constexpr spsc_options rigtorp_spsc{};
inline constexpr spsc_options fastforward_spsc{.slot_flag = true};
inline constexpr spsc_options bqueue_spsc{.slot_flag = true, .gap = 32, .batch = 64};

// The best variant for the item type: slot flags need items with a never-zero first word.
template <class T>
consteval spsc_options default_spsc_options() {
  return has_flag_word<T> ? bqueue_spsc : rigtorp_spsc;
}

template <std::default_initializable T, spsc_options Options = default_spsc_options<T>()>
class spsc_ring {
  static_assert(!Options.slot_flag || has_flag_word<T>, "slot_flag needs ringlab::flag_word<T>");
  static_assert(Options.batch >= 1 && (Options.slot_flag || (Options.gap == 0 && Options.batch == 1)),
                "gap and batch are slot-flag options");
  static constexpr std::size_t side_alignment = Options.padded ? false_sharing_range : alignof(std::size_t);
  static constexpr std::size_t spare_slots = Options.slot_flag ? Options.gap : 1;  // index mode: one stays empty

  struct control {
    // Producer side: written only by the producer (tail) or private to it.
    alignas(side_alignment) std::atomic<std::size_t> tail{0};  // next slot to fill
    std::size_t head_seen = 0;    // index mode: producer's copy of head
    std::size_t known_free = 0;   // slot-flag mode: slots from tail on known to be free
    std::size_t producer_slot_count;
    // Consumer side.
    alignas(side_alignment) std::atomic<std::size_t> head{0};  // next slot to read
    std::size_t tail_seen = 0;    // index mode: consumer's copy of tail
    std::size_t consumer_slot_count;
    explicit control(std::size_t slot_count) : producer_slot_count(slot_count), consumer_slot_count(slot_count) {}
  };
  using block = detail::ring_block<control, T>;

 public:
  using value_type = T;
  static constexpr queue_properties properties{.spsc_only = true};
  static constexpr std::size_t max_capacity = std::size_t{1} << 40;

  static constexpr std::size_t block_bytes(std::size_t capacity) { return block::bytes(capacity + spare_slots); }

  explicit spsc_ring(std::size_t capacity) : block_(block::allocate(checked(capacity) + spare_slots)) { build(capacity); }
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

  std::size_t capacity() const noexcept { return ctl_->producer_slot_count - spare_slots; }

  bool try_push(const T& item) {
    if constexpr (Options.slot_flag) return push_into_slot(item);
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
    if constexpr (Options.slot_flag) return pop_from_slot(item);
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
  static std::atomic_ref<std::uint64_t> flag_of(T& slot) noexcept { return std::atomic_ref(flag_word<T>::of(slot)); }

  // The slot `ahead` slots after `from`, wrapping.
  std::size_t after(std::size_t from, std::size_t ahead, std::size_t slot_count) const noexcept {
    const std::size_t i = from + ahead;
    return i >= slot_count ? i - slot_count : i;
  }

  // Slot-flag push: find (or remember) room for a batch, then fill the body and publish
  // the flag word last. A free slot gap + b - 1 ahead means b more items fit; halving b
  // down to 1 makes "full" exact.
  bool push_into_slot(const T& item) {
    control& c = *ctl_;
    const std::size_t n = c.producer_slot_count;
    const std::size_t tail = c.tail.load(std::memory_order_relaxed);
    if (c.known_free == 0) {
      std::size_t b = std::min<std::size_t>(Options.batch, capacity());
      while (flag_of(slots_[after(tail, Options.gap + b - 1, n)]).load(std::memory_order_acquire) != 0)
        if ((b /= 2) == 0) return false;
      c.known_free = b;
    }
    --c.known_free;
    T& slot = slots_[tail];
    const std::uint64_t flag = flag_word<T>::of(const_cast<T&>(item));
    assert(flag != 0 && "slot-flag rings cannot carry an item whose flag word is 0");
    if constexpr (sizeof(T) > sizeof(std::uint64_t))
      std::memcpy(reinterpret_cast<std::byte*>(&slot) + sizeof(std::uint64_t),
                  reinterpret_cast<const std::byte*>(&item) + sizeof(std::uint64_t), sizeof(T) - sizeof(std::uint64_t));
    flag_of(slot).store(flag, std::memory_order_release);
    c.tail.store(tail + 1 == n ? 0 : tail + 1, std::memory_order_relaxed);
    return true;
  }

  bool pop_from_slot(T& item) {
    control& c = *ctl_;
    const std::size_t head = c.head.load(std::memory_order_relaxed);
    T& slot = slots_[head];
    const std::uint64_t flag = flag_of(slot).load(std::memory_order_acquire);
    if (flag == 0) return false;
    if constexpr (sizeof(T) > sizeof(std::uint64_t))
      std::memcpy(reinterpret_cast<std::byte*>(&item) + sizeof(std::uint64_t),
                  reinterpret_cast<const std::byte*>(&slot) + sizeof(std::uint64_t), sizeof(T) - sizeof(std::uint64_t));
    flag_word<T>::of(item) = flag;
    flag_of(slot).store(0, std::memory_order_release);  // the slot goes back to the producer
    c.head.store(head + 1 == c.consumer_slot_count ? 0 : head + 1, std::memory_order_relaxed);
    return true;
  }

  explicit spsc_ring(block&& b) : block_(std::move(b)), ctl_(block_.control()), slots_(block_.slots()) {}

  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0) reject_capacity("spsc_ring", capacity, "is too small: a ring holds at least 1 item");
    if (capacity > max_capacity) reject_capacity("spsc_ring", capacity, "exceeds the maximum of 2^40 items");
    return capacity;
  }
  void build(std::size_t capacity) {
    ctl_ = ::new (block_.control()) control(capacity + spare_slots);
    slots_ = block_.slots();
    for (std::size_t i = 0; i < capacity + spare_slots; ++i) ::new (&slots_[i]) T();  // flag word 0: free
    if constexpr (Options.slot_flag) {
      [[maybe_unused]] T probe{};
      assert(reinterpret_cast<void*>(&flag_word<T>::of(probe)) == reinterpret_cast<void*>(&probe) &&
             "the flag word must be the item's first word");
    }
  }

  block block_;
  control* ctl_ = nullptr;
  T* slots_ = nullptr;
};

}  // namespace ringlab
