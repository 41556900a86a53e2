// An item's identity, (producer, sequence), packed in one 64-bit word so that queues
// that only move atomic words (atomic_queue) can carry it. The producer field is
// stored +1, so no real tag is 0 (libraries that reserve 0 as "empty" stay usable).
#pragma once
#include <cstdint>

namespace ringlab {

using tag = std::uint64_t;

inline constexpr unsigned tag_sequence_bits = 48;
inline constexpr std::uint64_t tag_sequence_mask = (std::uint64_t{1} << tag_sequence_bits) - 1;
inline constexpr std::uint32_t max_producers = 0xfffe;  // producer field 0xffff marks control items
inline constexpr tag pill_tag = tag{0xffff} << tag_sequence_bits;  // the poison pill

constexpr tag make_tag(std::uint32_t producer, std::uint64_t sequence) noexcept {
  return (tag{producer + 1} << tag_sequence_bits) | (sequence & tag_sequence_mask);
}
constexpr std::uint32_t tag_producer(tag t) noexcept { return static_cast<std::uint32_t>(t >> tag_sequence_bits) - 1; }
constexpr std::uint64_t tag_sequence(tag t) noexcept { return t & tag_sequence_mask; }
constexpr bool is_pill(tag t) noexcept { return (t >> tag_sequence_bits) == 0xffff; }

}  // namespace ringlab
