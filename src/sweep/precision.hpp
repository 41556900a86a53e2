// Adaptive repetitions: past its promised repetitions a point runs again, interleaved
// with the others still short, until the 95% confidence interval of each target
// column's median is within its relative half-width, or the point has its cap of runs.
// The interval is distribution-free (order statistics: the binomial ranks around the
// median), so the sweep needs no resampling; under 6 values no 95% interval exists.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "sweep/experiment.hpp"

namespace ringlab::sweep {

// Whether the experiment repeats points adaptively, and the runs a point may have.
inline bool is_adaptive(const experiment& e) { return e.max_repetitions > e.repetitions && !e.precision.empty(); }
// What a Slurm array runs a point: its cap when adaptive, since an array's tasks cannot
// wait on each other's results to decide whether a point needs another run.
inline unsigned runs_per_point(const experiment& e) { return is_adaptive(e) ? e.max_repetitions : e.repetitions; }

// The relative half-width of the 95% CI of the median of `values` (NaN: too few values,
// or a median of 0).
inline double median_ci_half_width(std::vector<double> values) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }), values.end());
  const std::size_t n = values.size();
  if (n < 6) return NAN;
  std::sort(values.begin(), values.end());
  // The largest j with P(Binomial(n, 1/2) < j) <= 2.5%: [x_j, x_(n+1-j)] (1-based) covers the median.
  double below = 0, term = std::pow(0.5, static_cast<double>(n));  // P(B = 0)
  std::size_t j = 0;
  for (std::size_t k = 0; k < n && below + term <= 0.025; ++k) {
    below += term;
    term *= static_cast<double>(n - k) / static_cast<double>(k + 1);
    j = k + 1;
  }
  if (j == 0) return NAN;
  const double median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  return median == 0 ? NAN : (values[n - j] - values[j - 1]) / 2 / std::fabs(median);
}

// The first target a point's values miss ("" when every target is met). A column with no
// finite value in the point (no latency recorded) sets no target for it.
inline std::string first_missed(const std::vector<std::pair<std::string, double>>& targets,
                                const std::vector<std::vector<double>>& values_per_target) {
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (i >= values_per_target.size()) return targets[i].first;  // no valid row yet
    const auto& v = values_per_target[i];
    if (std::none_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); })) continue;
    const double half = median_ci_half_width(v);
    if (!(half <= targets[i].second)) return targets[i].first;
  }
  return "";
}

}  // namespace ringlab::sweep
