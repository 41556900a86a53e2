// What every run shares, whatever its scope: the conductor's part (`conduct`: phases and
// the termination protocol), the analysis of what the sides recorded (`analyse`), what
// each side is told (`plan_sides`) and the item producers copy. How the sides are started
// (threads, processes, two hosts) is the scopes' (src/scopes/); this layer includes none.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <ringlab/queue.hpp>
#include <ringlab/wait.hpp>

#include "harness/clock.hpp"
#include "harness/config.hpp"
#include "harness/item.hpp"
#include "harness/pinning.hpp"
#include "harness/result.hpp"
#include "harness/sides.hpp"
#include "harness/work.hpp"

namespace ringlab::ipc {
class remote_link;  // src/scopes/hosts/remote_link.hpp: only named here, never included
}

namespace ringlab::harness {

// What every run on this machine shares.
struct run_context {
  const clock_source* clock = nullptr;
  const topology* topo = nullptr;
  std::string host, commit, build_id;
  ipc::remote_link* remote = nullptr;  // a run split across hosts: the link to the other (scopes/hosts/run_split.hpp)
};

// Thrown when a run was stopped by Ctrl-C: nothing of it is kept.
struct run_interrupted : std::runtime_error {
  run_interrupted() : std::runtime_error("interrupted") {}
};

struct conductor_times {
  std::uint64_t t0 = 0, measure_start = 0, stop = 0;  // ticks
  double clock_read_ns = 0;  // measured by the conductor before t0
  bool timed_out = false;
  std::string stop_reason;  // why the run was cut short, if it was
};

// The calling thread's part: start everyone, move through warm-up / measure / stop,
// carry out the termination protocol, release or abort through `close_queue`.
conductor_times conduct(control_block& ctl, const run_config& cfg, const run_context& ctx,
                        const std::function<void()>& close_queue);

run_result analyse(const run_config& cfg, const run_context& ctx, const control_block& ctl, const conductor_times& times,
                   const std::vector<producer_state>& producers, const std::vector<consumer_state>& consumers,
                   const pin_plan& plan);

// What every side of a run on a queue with Q's properties is told.
template <class Q>
side_plan plan_sides(const run_config& cfg, const run_context& ctx) {
  const double ticks_per_s = 1e9 / ctx.clock->ns_per_tick;
  return side_plan{cfg.producers, cfg.consumers, cfg.ending, Q::properties.linearizable, Q::properties.fifo,
                   cfg.items / cfg.producers, static_cast<unsigned>(cfg.items % cfg.producers), cfg.record_latency,
                   std::max<std::uint64_t>(1, cfg.latency_sample_every), cfg.items ? 0 : cfg.duration_s * ticks_per_s,
                   cfg.offered_rate / ticks_per_s, static_cast<std::uint64_t>(cfg.service_ns / ctx.clock->ns_per_tick),
                   work_iterations(cfg.work_ns), work_iterations(cfg.producer_work_ns)};
}

// The item producers copy and tag: a payload's body is a known pattern, so a torn or
// corrupted copy shows.
template <class Item>
Item prototype_item() {
  Item prototype{};
  if constexpr (!std::is_same_v<Item, tag>)
    for (std::size_t i = 0; i < sizeof prototype.body; ++i) prototype.body[i] = static_cast<std::byte>(i * 131 + 7);
  return prototype;
}

}  // namespace ringlab::harness
