// What one side of a native loop (scopes/threads/native.hpp, scopes/processes/run_pair.hpp)
// records, and the analysis that turns the two sides' records into a row (harness/analyse.cpp).
#pragma once
#include <cstdint>

#include "harness/run.hpp"

namespace ringlab::harness {

struct alignas(false_sharing_range) native_side {
  std::uint64_t done = 0, at_measure = 0, at_stop = 0;  // items (rounds) and where the window began/ended
  std::uint64_t sum = 0;                                   // consumer: sum of the tags popped
  std::uint64_t first_push_ticks = 0, last_pop_ticks = 0;  // the author's loop: what it times
  bool saw_measure = false, saw_stop = false;
  thread_outcome outcome;
};

run_result analyse_native(const run_config& cfg, const run_context& ctx, const conductor_times& times,
                          const native_side& producer, const native_side& consumer, const pin_plan& plan);

}  // namespace ringlab::harness
