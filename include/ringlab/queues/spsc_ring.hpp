// spsc_ring — lock-free single-producer single-consumer ring: Lamport's queue (1983)
// and the published ideas that speed it up, each an option an experiment can switch off.
// Index mode (the slots' state is two shared indices):
//   cached_indices  each side keeps a private copy of the other side's index and re-reads
//                   the shared one only when the copy says full/empty (MCRingBuffer, Lee
//                   et al. 2010; Rigtorp's SPSCQueue);
//   padded          producer and consumer state on separate cache-line pairs.
// Slot-flag mode (no shared index at all): each slot carries a full/empty flag beside
// its item, so the sides only ever meet on the slots themselves (FastForward, Giacomoni
// et al. PPoPP 2008).
//   reserved_empty  FastForward as published: no flag of its own; an item whose first
//                   word is 0 marks an empty slot, so such an item is refused (throws);
//   gap             the ring has capacity + gap slots and the producer looks gap slots
//                   ahead, so it never writes in the lines the consumer is reading;
//   batch           it checks once for `batch` free slots and then writes that many
//                   unchecked (B-Queue, Wang et al. 2013).
// Looking gap + b - 1 slots ahead of the tail in a ring of capacity + gap slots finds a
// free slot exactly when b more items fit, so capacity() stays exact. The default
// (slot flags of their own, gap 32, batch 64) carries every value of T. State is a
// pointer-free block (see ring_block.hpp).
#pragma once
#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <cstddef>
#include <new>
#include <stdexcept>

#include <ringlab/crash_point.hpp>
#include <ringlab/detail/ring_block.hpp>
#include <ringlab/flag_word.hpp>
#include <ringlab/queue.hpp>

namespace ringlab {

struct spsc_options {
  bool cached_indices = true;
  bool padded = true;
  bool slot_flag = false;
  bool reserved_empty = false;  // slot_flag: the item's first word is the flag (0 = empty)
  unsigned gap = 0;
  unsigned batch = 1;
};

inline constexpr spsc_options rigtorp_spsc{};
inline constexpr spsc_options fastforward_spsc{.slot_flag = true, .reserved_empty = true};
inline constexpr spsc_options bqueue_spsc{.slot_flag = true, .gap = 32, .batch = 64};

namespace detail {
// The slots of a slot-flag ring, grouped so that a line carries its own flags. Reserved:
// one item per group, whose first word is the flag. Otherwise k items with k one-byte
// flags in front: 7 items of 8 bytes and their flags fill one 64-byte line, so the flags
// cost no line transfer of their own (an item over 28 bytes gets a group to itself).
// A side keeps its place in the ring: the slot, or for lines of 7 its place in the line
// (1..7; 0 is the flags), so that moving on is an increment, never a division.
template <class T, bool Reserved>
struct spsc_slots {
  static constexpr std::size_t per_group = [] {
    std::size_t k = 1;
    while ((k + 1 + alignof(T) - 1) / alignof(T) * alignof(T) + (k + 1) * sizeof(T) <= cache_line) ++k;
    return k;
  }();
  struct alignas(per_group > 1 ? cache_line : alignof(T)) group {
    std::uint8_t full[per_group] = {};  // 1: the item beside it holds a value
    T item[per_group] = {};
  };
  static constexpr bool by_line = per_group == 7 && sizeof(group) == cache_line && offsetof(group, item) == 8;
  static constexpr std::size_t place_of(std::size_t slot) noexcept {
    return by_line ? slot / 7 * 8 + 1 + slot % 7 : slot;
  }
  static constexpr std::size_t slot_at(std::size_t place) noexcept {
    return by_line ? (place >> 3) * 7 + (place & 7) - 1 : place;
  }
  // The place after `place`; `end` = place_of(slot count).
  static std::size_t next(std::size_t place, std::size_t end) noexcept {
    ++place;
    if constexpr (by_line) place += (place & 7) == 0;
    return place == end ? place_of(0) : place;
  }
  static std::atomic_ref<std::uint8_t> flag(group* g, std::size_t place) noexcept {
    if constexpr (by_line) return std::atomic_ref(g[place >> 3].full[(place & 7) - 1]);
    else return std::atomic_ref(g[place / per_group].full[place % per_group]);
  }
  static T& item(group* g, std::size_t place) noexcept {
    if constexpr (by_line) return g[place >> 3].item[(place & 7) - 1];
    else return g[place / per_group].item[place % per_group];
  }
};
template <class T>
struct spsc_slots<T, true> {
  static constexpr std::size_t per_group = 1;
  using group = T;
  static constexpr std::size_t place_of(std::size_t slot) noexcept { return slot; }
  static constexpr std::size_t slot_at(std::size_t place) noexcept { return place; }
  static std::size_t next(std::size_t place, std::size_t end) noexcept { return place + 1 == end ? 0 : place + 1; }
  static std::atomic_ref<std::uint64_t> flag(group* g, std::size_t place) noexcept {
    return std::atomic_ref(flag_word<T>::of(g[place]));
  }
  static T& item(group* g, std::size_t place) noexcept { return g[place]; }
};
template <class T>
struct index_slots {  // index mode: plain items
  static constexpr std::size_t per_group = 1;
  using group = T;
  static constexpr std::size_t place_of(std::size_t slot) noexcept { return slot; }
};
}  // namespace detail

template <std::default_initializable T, spsc_options Options = bqueue_spsc>
class spsc_ring {
  static_assert(!Options.reserved_empty || (Options.slot_flag && has_flag_word<T>),
                "reserved_empty is a slot-flag option and needs ringlab::flag_word<T>");
  static_assert(Options.batch >= 1 && (Options.slot_flag || (Options.gap == 0 && Options.batch == 1)),
                "gap and batch are slot-flag options");
  static constexpr std::size_t side_alignment = Options.padded ? false_sharing_range : alignof(std::size_t);
  static constexpr std::size_t spare_slots = Options.slot_flag ? Options.gap : 1;  // index mode: one stays empty
  using slots = std::conditional_t<Options.slot_flag, detail::spsc_slots<T, Options.reserved_empty>, detail::index_slots<T>>;
  using group = typename slots::group;
  static constexpr std::size_t groups_for(std::size_t slot_count) {
    return (slot_count + slots::per_group - 1) / slots::per_group;
  }

  struct control {
    // Producer side: written only by the producer (tail) or private to it. In slot-flag
    // mode tail and head are places (see spsc_slots), private to their side.
    alignas(side_alignment) std::atomic<std::size_t> tail{0};  // next slot to fill
    std::size_t head_seen = 0;    // index mode: producer's copy of head
    std::size_t known_free = 0;   // slot-flag mode: slots from tail on known to be free
    std::size_t producer_slot_count;
    std::size_t producer_end;     // slot-flag mode: place_of(slot count)
    // Consumer side.
    alignas(side_alignment) std::atomic<std::size_t> head{0};  // next slot to read
    std::size_t tail_seen = 0;    // index mode: consumer's copy of tail
    std::size_t consumer_slot_count;
    std::size_t consumer_end;
    explicit control(std::size_t slot_count)
        : tail(slots::place_of(0)), producer_slot_count(slot_count), producer_end(slots::place_of(slot_count)),
          head(slots::place_of(0)), consumer_slot_count(slot_count), consumer_end(slots::place_of(slot_count)) {}
  };
  using block = detail::ring_block<control, group>;

 public:
  using value_type = T;
  static constexpr queue_properties properties{
      .spsc_only = true, .refuses = Options.reserved_empty ? "an item whose first word is 0 (the empty marker)" : nullptr};
  static constexpr std::size_t max_capacity = std::size_t{1} << 40;

  static constexpr std::size_t block_bytes(std::size_t capacity) { return block::bytes(groups_for(capacity + spare_slots)); }

  explicit spsc_ring(std::size_t capacity) : block_(block::allocate(groups_for(checked(capacity) + spare_slots))) {
    build(capacity);
  }
  // Build the ring inside `memory` (block_bytes(capacity), 128-byte aligned), e.g. shared memory.
  spsc_ring(std::size_t capacity, void* memory) : block_(block::view(memory)) { build(checked(capacity)); }
  // Another process's view of a ring built in `memory`.
  static spsc_ring attach(void* memory) { return spsc_ring(block::view(memory)); }

  spsc_ring(spsc_ring&&) noexcept = default;
  ~spsc_ring() {
    if (!block_.owned()) return;
    for (std::size_t i = 0; i < groups_for(ctl_->producer_slot_count); ++i) slots_[i].~group();
    ctl_->~control();
  }

  std::size_t capacity() const noexcept { return ctl_->producer_slot_count - spare_slots; }

  bool try_push(const T& item) {
    if constexpr (Options.slot_flag) return push_into_slot(item);
    else return push_at_index(item);
  }
  bool try_pop(T& item) {
    if constexpr (Options.slot_flag) return pop_from_slot(item);
    else return pop_at_index(item);
  }

  // Taking over from a side that died, the other side idle meanwhile. In slot-flag mode a
  // side publishes the slot's flag before it moves its own place, so one killed between
  // the two leaves its place a slot behind: a new producer would write its first item
  // where the consumer has already been, a new consumer would wait on a slot already
  // emptied. Each re-derives its place from the flags. (In index mode the place is the
  // publication: nothing to repair.)
  void adopt_producer() noexcept {
    if constexpr (Options.slot_flag) {
      control& c = *ctl_;
      std::size_t place = c.head.load(std::memory_order_acquire);
      for (std::size_t i = 0; i < c.producer_slot_count && slots::flag(slots_, place).load(std::memory_order_acquire) != 0; ++i)
        place = slots::next(place, c.producer_end);  // past the items published, its last one included
      c.tail.store(place, std::memory_order_relaxed);
      c.known_free = 0;
    }
  }
  void adopt_consumer() noexcept {
    if constexpr (Options.slot_flag) {
      control& c = *ctl_;
      const std::size_t tail = c.tail.load(std::memory_order_acquire);
      std::size_t place = c.head.load(std::memory_order_relaxed);
      for (std::size_t i = 0; i < c.consumer_slot_count && place != tail &&
                              slots::flag(slots_, place).load(std::memory_order_acquire) == 0; ++i)
        place = slots::next(place, c.consumer_end);  // past a slot it emptied before it died
      c.head.store(place, std::memory_order_relaxed);
    }
  }

 private:
  // Index mode: the shared tail and head say which slots are full.
  bool push_at_index(const T& item) {
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
    crash_point<T>::at(crash_site::push_written);
    c.tail.store(next, std::memory_order_release);
    crash_point<T>::at(crash_site::push_published);
    return true;
  }

  bool pop_at_index(T& item) {
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
    crash_point<T>::at(crash_site::pop_read);
    std::size_t next = head + 1;
    if (next == c.consumer_slot_count) next = 0;
    c.head.store(next, std::memory_order_release);
    crash_point<T>::at(crash_site::pop_released);
    return true;
  }

  // The slot `ahead` slots after `from`, wrapping.
  static std::size_t after(std::size_t from, std::size_t ahead, std::size_t slot_count) noexcept {
    const std::size_t i = from + ahead;
    return i >= slot_count ? i - slot_count : i;
  }

  // Slot-flag push: find (or remember) room for a batch, then fill the item and publish
  // the flag last. A free slot gap + b - 1 ahead means b more items fit; halving b down
  // to 1 makes "full" exact.
  bool push_into_slot(const T& item) {
    control& c = *ctl_;
    const std::size_t tail = c.tail.load(std::memory_order_relaxed);
    if constexpr (Options.reserved_empty)
      if (flag_word<T>::of(const_cast<T&>(item)) == 0) [[unlikely]]
        throw std::invalid_argument("spsc_ring (reserved_empty): an item whose first word is 0 is the empty marker "
                                    "and cannot be carried");
    if (c.known_free == 0) {
      const std::size_t n = c.producer_slot_count, slot = slots::slot_at(tail);
      std::size_t b = std::min<std::size_t>(Options.batch, capacity());
      while (slots::flag(slots_, slots::place_of(after(slot, Options.gap + b - 1, n))).load(std::memory_order_acquire) != 0)
        if ((b /= 2) == 0) return false;
      c.known_free = b;
    }
    --c.known_free;
    T& into = slots::item(slots_, tail);
    if constexpr (Options.reserved_empty) {
      if constexpr (sizeof(T) > sizeof(std::uint64_t))
        std::memcpy(reinterpret_cast<std::byte*>(&into) + sizeof(std::uint64_t),
                    reinterpret_cast<const std::byte*>(&item) + sizeof(std::uint64_t), sizeof(T) - sizeof(std::uint64_t));
      slots::flag(slots_, tail).store(flag_word<T>::of(const_cast<T&>(item)), std::memory_order_release);
    } else {
      into = item;
      crash_point<T>::at(crash_site::push_written);
      slots::flag(slots_, tail).store(1, std::memory_order_release);
    }
    crash_point<T>::at(crash_site::push_published);  // its place not yet moved on: adopt_producer
    c.tail.store(slots::next(tail, c.producer_end), std::memory_order_relaxed);
    return true;
  }

  bool pop_from_slot(T& item) {
    control& c = *ctl_;
    const std::size_t head = c.head.load(std::memory_order_relaxed);
    const auto flag = slots::flag(slots_, head);
    const std::uint64_t full = flag.load(std::memory_order_acquire);
    if (full == 0) return false;
    const T& from = slots::item(slots_, head);
    if constexpr (Options.reserved_empty) {
      if constexpr (sizeof(T) > sizeof(std::uint64_t))
        std::memcpy(reinterpret_cast<std::byte*>(&item) + sizeof(std::uint64_t),
                    reinterpret_cast<const std::byte*>(&from) + sizeof(std::uint64_t), sizeof(T) - sizeof(std::uint64_t));
      flag_word<T>::of(item) = full;
    } else {
      item = from;
    }
    crash_point<T>::at(crash_site::pop_read);
    flag.store(0, std::memory_order_release);  // the slot goes back to the producer
    crash_point<T>::at(crash_site::pop_released);  // its place not yet moved on: adopt_consumer
    c.head.store(slots::next(head, c.consumer_end), std::memory_order_relaxed);
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
    for (std::size_t i = 0; i < groups_for(capacity + spare_slots); ++i) ::new (&slots_[i]) group();  // flags 0: free
    if constexpr (Options.reserved_empty) {
      T probe{};
      if (reinterpret_cast<void*>(&flag_word<T>::of(probe)) != reinterpret_cast<void*>(&probe))
        throw std::logic_error("spsc_ring (reserved_empty): flag_word<T> must be the item's first word");
    }
  }

  block block_;
  control* ctl_ = nullptr;
  group* slots_ = nullptr;  // groups of slots (one slot each but in slot-flag mode)
};

}  // namespace ringlab
