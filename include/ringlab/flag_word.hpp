// For rings whose slot is its own full/empty flag (FastForward): an item's first 64-bit
// word is never 0 in a real item, so 0 marks an empty slot. The flag word is written
// last (release) by the producer and cleared last by the consumer; the rest of the
// item is plain memory ordered by it. Specialised for 64-bit words here (ringlab's
// tags, which are never 0) and for the harness's payload items.
#pragma once
#include <cstdint>
#include <type_traits>

namespace ringlab {

template <class T>
struct flag_word;  // static std::uint64_t& of(T&): the item's never-zero first word

template <>
struct flag_word<std::uint64_t> {
  static std::uint64_t& of(std::uint64_t& v) noexcept { return v; }
};

template <class T>
concept has_flag_word = std::is_trivially_copyable_v<T> && requires(T& t) {
  { flag_word<T>::of(t) } -> std::same_as<std::uint64_t&>;
};

}  // namespace ringlab
