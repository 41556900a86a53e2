// What each side had done when it died, kept where its death cannot take it: in the run's
// shared memory (scope process, a kill armed, a transport that declares a crash guarantee).
// A producer stores how many of its pushes completed, after each one; a consumer, per
// producer, how many items it finished (took and tallied), after each one; the
// replacement that takes over after the kill (the probe) what it took out. The item a
// side holds at the instant of its death is in no count: a producer's may have been
// published (its push done, the count not yet stored), a consumer's was taken and never
// finished. Each side's words are on lines of their own (no false sharing between sides).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include "harness/validation.hpp"

namespace ringlab::harness {

class crash_ledger {
  using word = std::atomic<std::uint64_t>;
  static constexpr std::size_t line_words = 64 / sizeof(word);
  static constexpr std::size_t lines_for(std::size_t words) { return (words + line_words - 1) / line_words * line_words; }

 public:
  static std::size_t bytes(unsigned producers, unsigned consumers) {
    return sizeof(word) * (line_words * producers + lines_for(producers) * consumers + 2 * lines_for(producers));
  }
  // Built in `memory` (bytes(), 64-byte aligned), every count 0.
  crash_ledger(void* memory, unsigned producers, unsigned consumers)
      : words_(static_cast<word*>(memory)), producers_(producers), consumers_(consumers) {
    for (std::size_t i = 0; i < bytes(producers, consumers) / sizeof(word); ++i) ::new (&words_[i]) word(0);
  }

  // The ledger built in `memory` (mapped again, by name: the replacement's view); counts kept.
  static crash_ledger view(void* memory, unsigned producers, unsigned consumers) noexcept {
    return crash_ledger(static_cast<word*>(memory), producers, consumers);
  }

  word* published(unsigned p) const noexcept { return words_ + line_words * p; }  // one word
  word* finished(unsigned c) const noexcept {  // one word per producer
    return words_ + line_words * producers_ + lines_for(producers_) * c;
  }
  // What the replacement took out of the transport after the kill, per producer.
  word* drained_count() const noexcept { return finished(consumers_); }
  word* drained_mixed_sum() const noexcept { return drained_count() + lines_for(producers_); }

  void drained(unsigned p, std::uint64_t sequence) const noexcept {
    if (p >= producers_) return;
    drained_count()[p].fetch_add(1, std::memory_order_relaxed);
    drained_mixed_sum()[p].fetch_add(mix64(sequence), std::memory_order_relaxed);
  }
  // The replacement's take as a consumer's tally (count and mixed sum; order not kept).
  delivery_tally drained_tally() const {
    delivery_tally t(producers_);
    for (unsigned p = 0; p < producers_; ++p) {
      t.by_producer[p].count = drained_count()[p].load(std::memory_order_relaxed);
      t.by_producer[p].mixed_sum = drained_mixed_sum()[p].load(std::memory_order_relaxed);
    }
    return t;
  }

 private:
  crash_ledger(word* words, unsigned producers, unsigned consumers) noexcept
      : words_(words), producers_(producers), consumers_(consumers) {}
  word* words_;
  unsigned producers_, consumers_;
};

// What a kill left, per producer, once everything known is counted. published[p]: pushes
// that completed (a dead producer's from the ledger: its last one may be missing);
// arrived[p]: distinct items that came out (survivors, the dead consumer's finished ones,
// the replacement's). Lost: published and never out; doubled: out more often than in.
struct crash_count {
  std::uint64_t lost = 0, doubled = 0;
};
inline crash_count count_after_crash(const std::vector<std::uint64_t>& published, const std::vector<std::uint64_t>& arrived,
                                     int dead_producer) {
  crash_count n;
  for (std::size_t p = 0; p < published.size(); ++p) {
    const std::uint64_t may_arrive = published[p] + (static_cast<int>(p) == dead_producer ? 1 : 0);  // its uncounted last push
    if (arrived[p] < published[p]) n.lost += published[p] - arrived[p];
    if (arrived[p] > may_arrive) n.doubled += arrived[p] - may_arrive;
  }
  return n;
}

// A run whose replacement carried on: every item of each producer must have arrived once
// (validate_delivery, over the survivors' tallies and the replacement's), except the one
// in doubt, which may have arrived once or never: a dead producer's uncounted last push
// (the replacement went on after it), or the item a dead consumer held. Which of the two
// held is `doubt_arrived`; if neither, `problem` says what is wrong with the first.
struct carried_on_count {
  bool held = false, doubt_arrived = false;
  std::uint64_t lost = 0, doubled = 0;
  std::string problem;
};
inline carried_on_count count_carried_on(const std::vector<std::uint64_t>& pushed, std::vector<delivery_tally> tallies,
                                         unsigned doubt_producer, std::uint64_t doubt_sequence) {
  const validation_result all = validate_delivery(pushed, tallies);
  if (all.valid) return {true, true, 0, 0, ""};
  delivery_tally doubt(static_cast<unsigned>(pushed.size()));  // the world in which it never arrived
  delivery_tally::add(doubt.by_producer.at(doubt_producer), doubt_sequence, false);
  tallies.push_back(doubt);
  if (validate_delivery(pushed, tallies).valid) return {true, false, 1, 0, ""};
  return {false, false, all.missing, all.duplicated, all.problem};
}

}  // namespace ringlab::harness
