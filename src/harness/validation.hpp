// Delivery checks every run makes, cheap enough for the hot path: per producer, each
// consumer counts the items it got and sums their sequence numbers and squares (no
// lock, no allocation, no shared write). Afterwards the sums must equal those of
// 0..n-1 for the n items the producer pushed: a missing or repeated item changes the
// count, a drop and a duplicate together change the sums. FIFO queues are also checked
// for order: each consumer must see each producer's sequence numbers increase.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ringlab/tag.hpp>

namespace ringlab::harness {

struct producer_tally {
  std::uint64_t count = 0;
  std::uint64_t sequence_sum = 0;     // mod 2^64
  std::uint64_t sequence_squares = 0; // mod 2^64
  std::int64_t last_sequence = -1;
  std::uint64_t out_of_order = 0;
  std::uint64_t first_out_of_order = 0;  // the sequence that arrived late
};

// One consumer's tallies, one per producer, plus tags that name no producer.
struct delivery_tally {
  std::vector<producer_tally> by_producer;
  std::uint64_t corrupt = 0;

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
    tally.sequence_sum += s;
    tally.sequence_squares += s * s;
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
  std::uint64_t missing = 0, duplicated = 0, out_of_order = 0, corrupt = 0;
};

// pushed[p]: how many items producer p pushed (sequences 0..pushed[p]-1).
validation_result validate_delivery(const std::vector<std::uint64_t>& pushed, const std::vector<delivery_tally>& consumers);

}  // namespace ringlab::harness
