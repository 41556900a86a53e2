// The seed scenario of a registered queue (harness/seed_scenario.hpp): its wait strategy
// chosen once, then its scope runs it: threads here (run_seed_typed), processes in
// scopes/processes/run_seed_processes.hpp. The registry stores run_seed_point<Queue>.
#pragma once
#include <stdexcept>
#include <string>

#include <ringlab/wait.hpp>

#include "harness/seed_scenario.hpp"
#include "scopes/processes/run_seed_processes.hpp"
#include "transports/transport.hpp"

namespace ringlab::harness {

template <template <class> class Queue>
run_result run_seed_point(const run_config& cfg, double tick_ms, std::uint64_t rng_seed, const run_context& ctx) {
  using Q = Queue<tag>;
  if (cfg.producers != 2 || cfg.consumers != 1) throw std::invalid_argument("the seed scenario has 2 producers and 1 consumer");
  if constexpr (Q::properties.spsc_only) {
    throw std::invalid_argument("the seed scenario has 2 producers; " + cfg.queue + " takes one");
  } else {
    auto run = [&]<class W>() {
      if constexpr (ipc::is_process_transport<Q>) return ipc::run_seed_processes<Q, W>(cfg, tick_ms, rng_seed, ctx);
      else return run_seed_typed<Q, W>(cfg, tick_ms, rng_seed, ctx);
    };
    if (cfg.wait == "spin") return run.template operator()<spin>();
    if (cfg.wait == "yield") return run.template operator()<yield>();
    if (cfg.wait == "park") return run.template operator()<park>();
    if constexpr (Q::properties.blocks_natively)
      if (cfg.wait == "block") return run.template operator()<block>();
  }
  throw std::invalid_argument("--wait " + cfg.wait + ": not available for queue " + cfg.queue);
}

}  // namespace ringlab::harness
