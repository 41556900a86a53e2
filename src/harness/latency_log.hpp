// Latency samples, kept apart on each side and joined after the run, so the hot path
// writes nothing the other side reads. A producer logs the enqueue time of every k-th
// item of its own (by sequence); a consumer logs (tag, dequeue time) for the items
// whose sequence is a multiple of its own k. Nothing is logged during warm-up; when the
// measured window starts, each side picks k from its own rate so that its log (fixed,
// preallocated and touched before the run) stays half full. Should the rate grow, a
// full log keeps every other sample and doubles k: the samples stay spread evenly
// over the window and memory stays bounded (that compaction is the only pause).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "harness/words.hpp"

#include <ringlab/tag.hpp>

namespace ringlab::harness {

inline constexpr std::size_t latency_log_entries = std::size_t{1} << 18;  // per side
inline constexpr std::uint64_t latency_off_every = std::uint64_t{1} << 62;

// Sampling interval for the measured window: the power of two that keeps the expected
// samples within half a log, and at least `floor`.
inline std::uint64_t sampling_interval(double expected_items, std::uint64_t floor) {
  const double per_slot = expected_items / static_cast<double>(latency_log_entries / 2);
  std::uint64_t every = 1;
  while (static_cast<double>(every) < per_slot && every < latency_off_every / 2) every *= 2;
  return every < floor ? floor : every;
}

class producer_latency_log {
 public:
  producer_latency_log() : enqueue_ticks_(latency_log_entries, 0) {}
  // From `first_sequence` on, log every `every`-th item (by sequence).
  void start(std::uint64_t first_sequence, std::uint64_t every) noexcept {
    every_ = every;
    base_ = (first_sequence + every - 1) / every * every;
    size_ = 0;
  }
  bool wants(std::uint64_t sequence) const noexcept { return (sequence & (every_ - 1)) == 0 && sequence >= base_; }
  void record(std::uint64_t sequence, std::uint64_t ticks) noexcept {
    std::uint64_t slot = (sequence - base_) / every_;
    if (slot >= enqueue_ticks_.size()) [[unlikely]] {
      halve();
      slot = (sequence - base_) / every_;
    }
    enqueue_ticks_[slot] = ticks;
    size_ = slot + 1;
  }
  std::uint64_t every() const noexcept { return every_; }
  std::uint64_t first() const noexcept { return base_; }
  // Enqueue time of `sequence` (a multiple of every()), or 0 if not logged.
  std::uint64_t enqueue_ticks(std::uint64_t sequence) const noexcept {
    if (sequence < base_ || every_ == latency_off_every) return 0;
    const std::uint64_t slot = (sequence - base_) / every_;
    return slot < size_ ? enqueue_ticks_[slot] : 0;
  }
  // Write every page again: a forked side's copy is copy-on-write, and its first write
  // to each page would otherwise fault in the middle of the run.
  void touch() noexcept { std::fill(enqueue_ticks_.begin(), enqueue_ticks_.end(), 0); }
  // The log as plain words and back: how a side in another process hands it over.
  void save(std::vector<std::uint64_t>& out) const {
    out.insert(out.end(), {every_, base_, size_});
    out.insert(out.end(), enqueue_ticks_.begin(), enqueue_ticks_.begin() + static_cast<std::ptrdiff_t>(size_));
  }
  void load(word_reader& in) {
    every_ = in.next(), base_ = in.next(), size_ = in.next();
    if (size_ > enqueue_ticks_.size()) return in.fail();
    for (std::uint64_t i = 0; i < size_; ++i) enqueue_ticks_[i] = in.next();
  }

 private:
  // The fallback when the rate was underestimated: keep the multiples of 2 * every.
  void halve() noexcept {
    const std::uint64_t parity = (base_ / every_) & 1;  // index of the first multiple of 2 * every
    std::size_t kept = 0;
    for (std::size_t i = parity; i < size_; i += 2) enqueue_ticks_[kept++] = enqueue_ticks_[i];
    base_ += parity * every_;
    every_ *= 2;
    size_ = kept;
  }
  std::uint64_t every_ = latency_off_every;
  std::uint64_t base_ = 0;
  std::vector<std::uint64_t> enqueue_ticks_;
  std::uint64_t size_ = 0;
};

class consumer_latency_log {
 public:
  struct sample {
    tag id;
    std::uint64_t dequeue_ticks;
  };
  consumer_latency_log() : samples_(latency_log_entries, sample{0, 0}) {}
  void start(std::uint64_t every) noexcept { every_ = every; }
  bool wants(std::uint64_t sequence) const noexcept { return (sequence & (every_ - 1)) == 0; }
  void record(tag id, std::uint64_t ticks) noexcept {
    if (size_ == samples_.size()) [[unlikely]] halve();
    samples_[size_++] = sample{id, ticks};
  }
  std::uint64_t every() const noexcept { return every_; }
  const sample* begin() const noexcept { return samples_.data(); }
  const sample* end() const noexcept { return samples_.data() + size_; }
  void touch() noexcept { std::fill(samples_.begin(), samples_.end(), sample{0, 0}); }
  void save(std::vector<std::uint64_t>& out) const {
    out.insert(out.end(), {every_, size_});
    for (std::size_t i = 0; i < size_; ++i) out.insert(out.end(), {samples_[i].id, samples_[i].dequeue_ticks});
  }
  void load(word_reader& in) {
    every_ = in.next(), size_ = in.next();
    if (size_ > samples_.size()) return in.fail();
    for (std::size_t i = 0; i < size_; ++i) samples_[i].id = in.next(), samples_[i].dequeue_ticks = in.next();
  }

 private:
  void halve() noexcept {
    while (size_ == samples_.size()) {
      every_ *= 2;
      std::size_t kept = 0;
      for (std::size_t i = 0; i < size_; ++i)
        if ((tag_sequence(samples_[i].id) & (every_ - 1)) == 0) samples_[kept++] = samples_[i];
      size_ = kept;
    }
  }
  std::uint64_t every_ = latency_off_every;
  std::vector<sample> samples_;
  std::size_t size_ = 0;
};

}  // namespace ringlab::harness
