// mpmc_ring — lock-free bounded multi-producer multi-consumer ring with a sequence
// number per slot (Vyukov's bounded MPMC queue, 1024cores.net, 2010). A producer at
// position p may fill slot p's cell when its sequence equals p, then publishes p + 1;
// a consumer empties it and hands the cell to the next lap. Positions are claimed by
// CAS, so try_push/try_pop never block and fail exactly when full/empty.
// Any capacity: a position encodes (lap, slot) as lap * 2^k + slot with 2^k >= capacity,
// so finding the slot is a mask, never a division. Index is the counter type (a narrow
// one lets a test force wrap-around); options.padded_slots gives each cell its own
// cache line (no false sharing between neighbours, 8x the memory for 8-byte items).
#pragma once
#include <algorithm>
#include <atomic>
#include <bit>
#include <concepts>
#include <cstddef>
#include <limits>
#include <new>
#include <type_traits>
#include <vector>

#include <ringlab/crash_point.hpp>
#include <ringlab/detail/ring_block.hpp>
#include <ringlab/queue.hpp>

namespace ringlab {

struct mpmc_ring_test_access;

struct mpmc_options {
  bool padded_slots = false;
};

template <std::default_initializable T, mpmc_options Options = mpmc_options{}, std::unsigned_integral Index = std::uint64_t>
class mpmc_ring {
  using signed_index = std::make_signed_t<Index>;

  struct cell {
    alignas(Options.padded_slots ? cache_line : alignof(std::atomic<Index>)) std::atomic<Index> sequence;
    T value;
  };
  struct control {
    alignas(false_sharing_range) std::atomic<Index> tail;  // next position to fill (producers)
    alignas(false_sharing_range) std::atomic<Index> head;  // next position to read (consumers)
    alignas(false_sharing_range) Index capacity;
    Index slot_mask;  // 2^k - 1
  };
  using block = detail::ring_block<control, cell>;

 public:
  using value_type = T;
  static constexpr queue_properties properties{};
  // Sequence differences must stay far from the signed limit of Index.
  static constexpr std::size_t max_capacity =
      std::min<std::size_t>(std::size_t{1} << 40, std::size_t{1} << (std::numeric_limits<Index>::digits - 3));

  static constexpr std::size_t block_bytes(std::size_t capacity) { return block::bytes(capacity); }

  // first_position: where the counters start (rounded down to a lap); tests put it
  // just below the Index limit to force wrap-around.
  explicit mpmc_ring(std::size_t capacity, Index first_position = 0)
      : block_(block::allocate(checked(capacity))) {
    build(capacity, first_position);
  }
  mpmc_ring(std::size_t capacity, void* memory) : block_(block::view(memory)) { build(checked(capacity), 0); }
  static mpmc_ring attach(void* memory) { return mpmc_ring(block::view(memory)); }

  mpmc_ring(mpmc_ring&&) noexcept = default;
  ~mpmc_ring() {
    if (!block_.owned()) return;
    for (std::size_t i = 0; i < ctl_->capacity; ++i) cells_[i].~cell();
    ctl_->~control();
  }

  std::size_t capacity() const noexcept { return ctl_->capacity; }

  bool try_push(const T& item) {
    control& c = *ctl_;
    Index position = c.tail.load(std::memory_order_relaxed);
    for (;;) {
      cell& slot = cells_[position & c.slot_mask];
      const Index sequence = slot.sequence.load(std::memory_order_acquire);
      const auto lag = static_cast<signed_index>(static_cast<Index>(sequence - position));
      if (lag == 0) {
        if (c.tail.compare_exchange_weak(position, next(position), std::memory_order_relaxed)) {
          slot.value = item;
          crash_point<T>::at(crash_site::push_written);  // claimed, unpublished: the cell blocks its readers
          slot.sequence.store(static_cast<Index>(position + 1), std::memory_order_release);
          crash_point<T>::at(crash_site::push_published);
          return true;
        }
      } else if (lag < 0) {
        return false;  // the cell still holds last lap's item: full
      } else {
        position = c.tail.load(std::memory_order_relaxed);  // another producer took it
      }
    }
  }

  bool try_pop(T& item) {
    control& c = *ctl_;
    Index position = c.head.load(std::memory_order_relaxed);
    for (;;) {
      cell& slot = cells_[position & c.slot_mask];
      const Index sequence = slot.sequence.load(std::memory_order_acquire);
      const auto lag = static_cast<signed_index>(static_cast<Index>(sequence - static_cast<Index>(position + 1)));
      if (lag == 0) {
        if (c.head.compare_exchange_weak(position, next(position), std::memory_order_relaxed)) {
          item = slot.value;
          crash_point<T>::at(crash_site::pop_read);  // claimed, not handed on: the cell blocks its writers
          // Hand the cell to the next lap: its position there is this one plus 2^k.
          slot.sequence.store(static_cast<Index>(position + c.slot_mask + 1), std::memory_order_release);
          crash_point<T>::at(crash_site::pop_released);
          return true;
        }
      } else if (lag < 0) {
        return false;  // not filled yet: empty
      } else {
        position = c.head.load(std::memory_order_relaxed);
      }
    }
  }

  // Taking over from a side that died, no other side inside meanwhile. A producer killed
  // between claiming a position and publishing it leaves a cell that consumers wait at for
  // ever (its item half-written); a consumer killed between claiming and handing the cell
  // on leaves one that producers wait at on the next lap (its item went with it). Either
  // way: keep the published items, in order, from the head of a fresh lap; drop the rest.
  // Returns how many half-written items were dropped.
  std::size_t adopt_producer() { return repair(); }
  std::size_t adopt_consumer() { return repair(); }

 private:
  friend struct mpmc_ring_test_access;  // tests: a side that dies between claiming and finishing

  std::size_t repair() {
    control& c = *ctl_;
    const Index head = c.head.load(std::memory_order_acquire), tail = c.tail.load(std::memory_order_acquire);
    std::vector<T> published;
    std::size_t dropped = 0;
    for (Index p = head; p != tail; p = next(p)) {
      const cell& slot = cells_[p & c.slot_mask];
      if (slot.sequence.load(std::memory_order_acquire) == static_cast<Index>(p + 1)) published.push_back(slot.value);
      else ++dropped;
    }
    const Index start = static_cast<Index>((tail | c.slot_mask) + 1);  // a fresh lap: no cell's old sequence matches
    for (std::size_t i = 0; i < c.capacity; ++i) cells_[i].sequence.store(static_cast<Index>(start + i), std::memory_order_relaxed);
    c.head.store(start, std::memory_order_relaxed);
    c.tail.store(start, std::memory_order_release);
    for (const T& item : published) try_push(item);
    return dropped;
  }

  explicit mpmc_ring(block&& b) : block_(std::move(b)), ctl_(block_.control()), cells_(block_.slots()) {}

  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0) reject_capacity("mpmc_ring", capacity, "is too small: a ring holds at least 1 item");
    if (capacity > max_capacity)
      reject_capacity("mpmc_ring", capacity,
                      "exceeds the maximum of " + std::to_string(max_capacity) + " items for this index type");
    return capacity;
  }

  // The position after p: the next slot, or slot 0 of the next lap.
  Index next(Index p) const noexcept {
    return (p & ctl_->slot_mask) + 1 == ctl_->capacity ? static_cast<Index>((p | ctl_->slot_mask) + 1)
                                                        : static_cast<Index>(p + 1);
  }

  void build(std::size_t capacity, Index first_position) {
    // 2^k >= 2 even for capacity 1: "filled at p" (p + 1) must differ from the next lap's p + 2^k.
    const Index lap = static_cast<Index>(std::bit_ceil(std::max<std::size_t>(capacity, 2)));
    const Index start = static_cast<Index>(first_position & ~static_cast<Index>(lap - 1));
    ctl_ = ::new (block_.control()) control{};
    ctl_->capacity = static_cast<Index>(capacity);
    ctl_->slot_mask = static_cast<Index>(lap - 1);
    ctl_->tail.store(start, std::memory_order_relaxed);
    ctl_->head.store(start, std::memory_order_relaxed);
    cells_ = block_.slots();
    for (std::size_t i = 0; i < capacity; ++i) {
      ::new (&cells_[i]) cell{};
      cells_[i].sequence.store(static_cast<Index>(start + i), std::memory_order_relaxed);
    }
  }

  block block_;
  control* ctl_ = nullptr;
  cell* cells_ = nullptr;
};

}  // namespace ringlab
