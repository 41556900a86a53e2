#include "harness/validation.hpp"

#include <fmt/core.h>

namespace ringlab::harness {
namespace {

// The mixed sum of 0..n-1: a loop, once per producer after the run (about a nanosecond
// an item), since a mix has no closed form.
std::uint64_t expected_mixed_sum(std::uint64_t n) {
  std::uint64_t sum = 0;
  for (std::uint64_t s = 0; s < n; ++s) sum += mix64(s);
  return sum;
}

}  // namespace

validation_result validate_delivery(const std::vector<std::uint64_t>& pushed, const std::vector<delivery_tally>& consumers) {
  validation_result r;
  std::vector<std::string> problems;
  for (std::size_t p = 0; p < pushed.size(); ++p) {
    std::uint64_t count = 0, mixed = 0, disorder = 0, first_disorder = 0;
    for (const auto& c : consumers) {
      const auto& t = c.by_producer[p];
      count += t.count;
      mixed += t.mixed_sum;
      if (t.out_of_order && !disorder) first_disorder = t.first_out_of_order;
      disorder += t.out_of_order;
    }
    if (count < pushed[p]) {
      r.missing += pushed[p] - count;
      problems.push_back(fmt::format("producer {}: {} of {} items never arrived", p, pushed[p] - count, pushed[p]));
    } else if (count > pushed[p]) {
      r.duplicated += count - pushed[p];
      problems.push_back(fmt::format("producer {}: {} items arrived more than once", p, count - pushed[p]));
    } else if (mixed != expected_mixed_sum(pushed[p])) {
      r.missing += 1;
      r.duplicated += 1;
      problems.push_back(fmt::format("producer {}: right count but wrong items (some lost, others duplicated)", p));
    }
    if (disorder) {
      r.out_of_order += disorder;
      problems.push_back(fmt::format("producer {}: {} items out of order (first: sequence {} arrived late)", p,
                                     disorder, first_disorder));
    }
  }
  for (const auto& c : consumers) r.corrupt += c.corrupt, r.torn += c.torn;
  if (r.corrupt) problems.push_back(fmt::format("{} items carried no valid producer", r.corrupt));
  if (r.torn) problems.push_back(fmt::format("{} payload bodies did not end with their own tag (torn copies)", r.torn));
  r.valid = problems.empty();
  for (std::size_t i = 0; i < problems.size() && i < 4; ++i) r.problem += (i ? "; " : "") + problems[i];
  if (problems.size() > 4) r.problem += fmt::format("; and {} more", problems.size() - 4);
  return r;
}

validation_result validate_what_arrived(const std::vector<delivery_tally>& consumers, bool gaps_allowed) {
  const std::size_t producers = consumers.empty() ? 0 : consumers.front().by_producer.size();
  std::vector<std::uint64_t> arrived(producers, 0);
  for (const auto& c : consumers)
    for (std::size_t p = 0; p < producers; ++p) arrived[p] += c.by_producer[p].count;
  if (!gaps_allowed) return validate_delivery(arrived, consumers);
  // Order and integrity only: the same check with every producer's tallies counted as complete.
  std::vector<delivery_tally> ordered_only = consumers;
  for (auto& c : ordered_only)
    for (auto& t : c.by_producer) t.count = 0, t.mixed_sum = 0;
  return validate_delivery(std::vector<std::uint64_t>(producers, 0), ordered_only);
}

}  // namespace ringlab::harness
