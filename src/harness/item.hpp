// The item a run moves: B bytes, the first 8 the (producer, sequence) tag and the last 8
// the tag again, so a consumer notices a torn copy by one compare. For B = 8 the item is
// the bare tag, so queues of atomic words (atomic_queue) can carry it.
#pragma once
#include <cstddef>
#include <cstring>
#include <type_traits>

#include <ringlab/flag_word.hpp>
#include <ringlab/queue.hpp>
#include <ringlab/tag.hpp>

namespace ringlab::harness {

template <std::size_t Bytes>
struct payload_item {
  static_assert(Bytes > sizeof(tag));
  tag id;
  std::byte body[Bytes - sizeof(tag)];
};

template <std::size_t Bytes>
using item_of = std::conditional_t<Bytes == sizeof(tag), tag, payload_item<Bytes>>;

inline constexpr std::size_t payload_sizes[] = {8, 64, 256, 1024};

}  // namespace ringlab::harness

template <std::size_t B>
struct ringlab::flag_word<ringlab::harness::payload_item<B>> {
  static std::uint64_t& of(ringlab::harness::payload_item<B>& item) noexcept { return item.id; }
};

template <std::size_t B>
struct ringlab::release_item<ringlab::harness::payload_item<B>> {
  static ringlab::harness::payload_item<B> get() noexcept {
    ringlab::harness::payload_item<B> item{};
    item.id = release_item<std::uint64_t>::get();
    return item;
  }
  static bool is(const ringlab::harness::payload_item<B>& item) noexcept { return release_item<std::uint64_t>::is(item.id); }
};

namespace ringlab::harness {

inline tag tag_of(tag t) noexcept { return t; }
template <std::size_t B>
tag tag_of(const payload_item<B>& item) noexcept { return item.id; }

// An item with this tag and the body of `prototype` (the body is copied every time:
// moving the payload is part of what a run measures), its last word the tag again.
inline tag with_tag(const tag&, tag t) noexcept { return t; }
template <std::size_t B>
payload_item<B> with_tag(const payload_item<B>& prototype, tag t) noexcept {
  payload_item<B> item = prototype;
  item.id = t;
  std::memcpy(item.body + sizeof item.body - sizeof t, &t, sizeof t);
  return item;
}

// Whether a popped item's body ends with its own tag (always, for a bare tag).
inline bool body_intact(tag) noexcept { return true; }
template <std::size_t B>
bool body_intact(const payload_item<B>& item) noexcept {
  tag last;
  std::memcpy(&last, item.body + sizeof item.body - sizeof last, sizeof last);
  return last == item.id;
}

// Keep the compiler from dropping a popped item's body as unused.
template <class Item>
inline void consume_body(const Item& item) noexcept {
  if constexpr (!std::is_same_v<Item, tag>) asm volatile("" : : "r"(&item) : "memory");
}

}  // namespace ringlab::harness
