// Delivery checks every run makes, cheap enough for the hot path: per producer, each
// consumer counts the items it got and sums a 64-bit mix of their sequence numbers (no
// lock, no allocation, no shared write). Afterwards the count and the sum must equal
// those of 0..n-1 for the n items the producer pushed: a missing or repeated item changes
// the count, and a different multiset of the same size changes the mixed sum except with
// a negligible chance (plain moments do not: losing {1,5,6} while {2,3,7} arrive twice
// keeps the count, the sum and the sum of squares). FIFO queues are
// also checked for order: each consumer must see each producer's sequence numbers increase.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ringlab/tag.hpp>

namespace ringlab::harness {

// A bijective 64-bit mix, one multiply and one xor-shift (the hot path pays it per item):
// the shift makes it non-linear, so its sums over different sets of the same size and
// the same plain sum differ.
constexpr std::uint64_t mix64(std::uint64_t s) noexcept {
  const std::uint64_t x = (s + 1) * 0x9e3779b97f4a7c15ull;  // odd: a bijection
  return x ^ (x >> 29);
}

struct producer_tally {
  std::uint64_t count = 0;
  std::uint64_t mixed_sum = 0;     // sum of mix64(sequence), mod 2^64
  std::int64_t last_sequence = -1;
  std::uint64_t out_of_order = 0;
  std::uint64_t first_out_of_order = 0;  // the sequence that arrived late
};

// One consumer's tallies, one per producer, plus tags that name no producer and payload
// bodies that do not end with their own tag (a torn copy).
struct delivery_tally {
  std::vector<producer_tally> by_producer;
  std::uint64_t corrupt = 0;
  std::uint64_t torn = 0;

  explicit delivery_tally(unsigned producers = 0) : by_producer(producers) {}

  void record(tag t, bool check_order) noexcept {
    const std::uint32_t p = tag_producer(t);
    if (p >= by_producer.size()) [[unlikely]] {
      ++corrupt;
      return;
    }
    add(by_producer[p], tag_sequence(t), check_order);
  }

  static void add(producer_tally& tally, std::uint64_t s, bool check_order) noexcept {
    ++tally.count;
    tally.mixed_sum += mix64(s);
    if (check_order) {
      if (static_cast<std::int64_t>(s) <= tally.last_sequence) [[unlikely]] {
        if (tally.out_of_order++ == 0) tally.first_out_of_order = s;
      } else {
        tally.last_sequence = static_cast<std::int64_t>(s);
      }
    }
  }
};

struct validation_result {
  bool valid = true;
  std::string problem;  // empty when valid; else the first problems, in words
  std::uint64_t missing = 0, duplicated = 0, out_of_order = 0, corrupt = 0, torn = 0;
};

// pushed[p]: how many items producer p pushed (sequences 0..pushed[p]-1).
validation_result validate_delivery(const std::vector<std::uint64_t>& pushed, const std::vector<delivery_tally>& consumers);

// After a side was killed (the crash suite), when how many items a producer pushed is not
// known: what arrived from each producer must be its first n items, each once (a killed
// producer or a stopped run leaves only a tail behind), in order where kept, and intact.
// With `gaps_allowed` (a consumer was killed: what it had taken died with it) only order
// and integrity are checked.
validation_result validate_what_arrived(const std::vector<delivery_tally>& consumers, bool gaps_allowed);

}  // namespace ringlab::harness
