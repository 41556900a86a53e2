// Log-linear latency histogram in the manner of HdrHistogram: values below 256 are
// exact; above, each power of two is split into 128 equal buckets, so a bucket is at
// most 1/128 of its value wide and its midpoint is within 0.4% of any value in it.
// Recording is a count-leading-zeros and an increment; merging adds arrays.
#pragma once
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace ringlab::harness {

class histogram {
 public:
  static constexpr unsigned sub_bucket_bits = 7;
  static constexpr std::size_t sub_buckets = std::size_t{1} << sub_bucket_bits;  // per power of two
  static constexpr std::size_t buckets = (64 - sub_bucket_bits + 1) * sub_buckets;

  void record(std::uint64_t value) noexcept {
    ++counts_[index_of(value)];
    ++count_;
    sum_ += static_cast<double>(value);
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }

  void merge(const histogram& other) noexcept {
    for (std::size_t i = 0; i < buckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return count_ ? max_ : 0; }
  std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  double mean() const noexcept { return count_ ? sum_ / static_cast<double>(count_) : NAN; }

  // The value at rank ceil(q * count) (q in [0, 1]): its bucket's midpoint, clamped to
  // the exact min and max. NaN when empty.
  double percentile(double q) const noexcept {
    if (count_ == 0) return NAN;
    const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const double mid = static_cast<double>(lower_bound_of(i)) + static_cast<double>(width_of(i) - 1) / 2;
        return std::clamp(mid, static_cast<double>(min_), static_cast<double>(max_));
      }
    }
    return static_cast<double>(max_);
  }

  static constexpr std::size_t index_of(std::uint64_t value) noexcept {
    if (value < 2 * sub_buckets) return static_cast<std::size_t>(value);
    const unsigned shift = static_cast<unsigned>(std::bit_width(value)) - 1 - sub_bucket_bits;
    return (shift + 1) * sub_buckets + static_cast<std::size_t>((value >> shift) - sub_buckets);
  }
  static constexpr std::uint64_t lower_bound_of(std::size_t index) noexcept {
    if (index < 2 * sub_buckets) return index;
    const std::size_t shift = index / sub_buckets - 1;
    return (std::uint64_t{index % sub_buckets} + sub_buckets) << shift;
  }
  static constexpr std::uint64_t width_of(std::size_t index) noexcept {
    return index < 2 * sub_buckets ? 1 : std::uint64_t{1} << (index / sub_buckets - 1);
  }
  std::uint64_t count_at(std::size_t index) const noexcept { return counts_[index]; }

 private:
  std::array<std::uint64_t, buckets> counts_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_ = 0;
};

}  // namespace ringlab::harness
