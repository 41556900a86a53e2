// What the pinger of a round-trip run (scopes/threads/pingpong.hpp,
// scopes/processes/run_pair.hpp) records, and the analysis that turns it into a row
// (harness/analyse.cpp).
#pragma once
#include <cstdint>
#include <vector>

#include "harness/run.hpp"

namespace ringlab::harness {

struct alignas(false_sharing_range) pinger_state {
  std::uint64_t rounds = 0, rounds_at_measure = 0, rounds_at_stop = 0;
  std::uint64_t mismatches = 0;
  thread_outcome outcome;
  std::vector<std::uint32_t> timed_ns;  // sampled round trips in the measured window
};

run_result analyse_pingpong(const run_config& cfg, const run_context& ctx, const conductor_times& times,
                            const pinger_state& pinger, const thread_outcome& echoer, const pin_plan& plan);

}  // namespace ringlab::harness
