// The latency histogram against a sorted reference: every percentile within 1%.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "harness/histogram.hpp"

namespace ringlab::harness {
namespace {

double exact_percentile(const std::vector<std::uint64_t>& sorted, double q) {
  const auto rank = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size()))));
  return static_cast<double>(sorted[rank - 1]);
}

void expect_within_one_percent(std::vector<std::uint64_t> values) {
  histogram h;
  for (auto v : values) h.record(v);
  std::sort(values.begin(), values.end());
  for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
    const double exact = exact_percentile(values, q);
    EXPECT_LE(std::fabs(h.percentile(q) - exact), 0.01 * exact + 0.5) << "q=" << q << " exact=" << exact;
  }
  EXPECT_EQ(h.count(), values.size());
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.min(), values.front());
}

TEST(Histogram, UniformOverSixDecades) {
  std::mt19937_64 rng(1);
  std::vector<std::uint64_t> v(200000);
  for (auto& x : v) x = static_cast<std::uint64_t>(std::exp(std::uniform_real_distribution<double>(0, 14)(rng)));
  expect_within_one_percent(v);
}

TEST(Histogram, HeavyTail) {
  std::mt19937_64 rng(2);
  std::lognormal_distribution<double> lat(8, 1.5);  // ~3 us median, long tail
  std::vector<std::uint64_t> v(200000);
  for (auto& x : v) x = static_cast<std::uint64_t>(lat(rng));
  expect_within_one_percent(v);
}

TEST(Histogram, SmallAndHugeValues) {
  expect_within_one_percent({0, 1, 2, 3, 255, 256, 257, 1000, std::uint64_t{1} << 40, (std::uint64_t{1} << 63) + 12345});
}

TEST(Histogram, BucketsAreContiguousAndNarrow) {
  for (std::size_t i = 0; i + 1 < histogram::buckets; ++i) {
    ASSERT_EQ(histogram::lower_bound_of(i) + histogram::width_of(i), histogram::lower_bound_of(i + 1)) << i;
    ASSERT_EQ(histogram::index_of(histogram::lower_bound_of(i)), i);
    ASSERT_LE(static_cast<double>(histogram::width_of(i)), histogram::lower_bound_of(i) / 128.0 + 1) << i;
  }
}

TEST(Histogram, MergingEqualsRecordingTogether) {
  std::mt19937_64 rng(3);
  histogram a, b, both;
  for (int i = 0; i < 10000; ++i) {
    const auto x = rng() % 1000000;
    (i % 3 ? a : b).record(x);
    both.record(x);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), both.count());
  for (double q : {0.5, 0.99, 0.9999}) EXPECT_EQ(a.percentile(q), both.percentile(q));
  EXPECT_DOUBLE_EQ(a.mean(), both.mean());
}

TEST(Histogram, EmptyHasNoPercentiles) { EXPECT_TRUE(std::isnan(histogram{}.percentile(0.5))); }

}  // namespace
}  // namespace ringlab::harness
