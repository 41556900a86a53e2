// One run: build the queue, start P producer and C consumer threads pinned by the plan,
// let the conductor (the calling thread) drive the phases and the termination
// protocol, then turn what the sides recorded into a run_result. The template part is
// only the wiring; everything that is not about the queue's type lives in run.cpp.
#pragma once
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <ringlab/queue.hpp>
#include <ringlab/wait.hpp>

#include "harness/clock.hpp"
#include "harness/config.hpp"
#include "harness/item.hpp"
#include "harness/pinning.hpp"
#include "harness/result.hpp"
#include "harness/sides.hpp"

namespace ringlab::ipc {
class remote_link;
}

namespace ringlab::harness {

// What every run on this machine shares.
struct run_context {
  const clock_source* clock = nullptr;
  const topology* topo = nullptr;
  std::string host, commit, build_id;
  ipc::remote_link* remote = nullptr;  // a run split across hosts: the link to the other (ipc/run_split.hpp)
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
                   cfg.offered_rate / ticks_per_s, static_cast<std::uint64_t>(cfg.service_ns / ctx.clock->ns_per_tick)};
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

// Wiring for one queue type, wait strategy and item type.
template <class Q, class W, class Item>
run_result run_typed(const run_config& cfg, const run_context& ctx) {
  const pin_plan plan = plan_pinning(*ctx.topo, parse_pin(cfg.pin, *ctx.topo), cfg.producers, cfg.consumers);
  Q q = make_queue<Q>(cfg.capacity, thread_counts{cfg.producers, cfg.consumers});
  auto ws = std::make_unique<wait_state<W>>();
  auto ctl = std::make_unique<control_block>();
  std::vector<producer_state> producers;
  std::vector<consumer_state> consumers;
  producers.reserve(cfg.producers);
  consumers.reserve(cfg.consumers);
  for (unsigned p = 0; p < cfg.producers; ++p) producers.emplace_back(p);
  for (unsigned c = 0; c < cfg.consumers; ++c) consumers.emplace_back(c, cfg.producers);

  const side_plan sides = plan_sides<Q>(cfg, ctx);
  const Item prototype = prototype_item<Item>();

  std::vector<std::string> bind_errors(cfg.producers + cfg.consumers);
  auto bind = [&](int pu, std::size_t slot) {
    try {
      bind_this_thread(*ctx.topo, pu);
    } catch (const std::exception& e) {
      bind_errors[slot] = e.what();
    }
  };
  std::vector<std::thread> threads;
  for (unsigned p = 0; p < cfg.producers; ++p)
    threads.emplace_back([&, p] {
      leave_interrupts_to_the_conductor();
      bind(plan.producer_pu[p], p);
      auto&& end = producer_endpoint(q);
      run_producer<Item>(end, *ws, *ctl, producers[p], sides, *ctx.clock, prototype);
      producers[p].outcome.pu = current_pu(*ctx.topo);
    });
  for (unsigned c = 0; c < cfg.consumers; ++c)
    threads.emplace_back([&, c] {
      leave_interrupts_to_the_conductor();
      bind(plan.consumer_pu[c], cfg.producers + c);
      auto&& end = consumer_endpoint(q);
      run_consumer<Item>(end, *ws, *ctl, consumers[c], sides, *ctx.clock);
      consumers[c].outcome.pu = current_pu(*ctx.topo);
    });
  conductor_times times;
  try {
    times = conduct(*ctl, cfg, ctx, [&] { ringlab::close(q, *ws); });
  } catch (...) {  // Ctrl-C: the conductor has stopped everyone; let them leave first
    for (auto& t : threads) t.join();
    throw;
  }
  for (auto& t : threads) t.join();
  for (const auto& e : bind_errors)
    if (!e.empty()) throw std::runtime_error(e);
  return analyse(cfg, ctx, *ctl, times, producers, consumers, plan);
}

template <class Q, class W, class Item>
run_result run_pattern(const run_config& cfg, const run_context& ctx);  // below: stream or pingpong

template <class Q, class Item>
run_result run_with_supported_wait(const run_config& cfg, const run_context& ctx) {
  if (cfg.wait == "spin") return run_pattern<Q, spin, Item>(cfg, ctx);
  if (cfg.wait == "yield") return run_pattern<Q, yield, Item>(cfg, ctx);
  if (cfg.wait == "park") return run_pattern<Q, park, Item>(cfg, ctx);
  if constexpr (Q::properties.blocks_natively)
    if (cfg.wait == "block") return run_pattern<Q, block, Item>(cfg, ctx);
  throw std::invalid_argument("--wait " + cfg.wait + ": not available for queue " + cfg.queue);
}

// Queues whose library cannot carry this item type (see unsupported_queue) refuse it.
template <class Q, class Item>
run_result run_with_wait(const run_config& cfg, const run_context& ctx) {
  if constexpr (is_unsupported<Q>)
    throw std::invalid_argument("--payload " + std::to_string(cfg.payload_bytes) + ": " + cfg.queue +
                                " cannot carry items of this size");
  else return run_with_supported_wait<Q, Item>(cfg, ctx);
}

// The entry point a registered queue family gets: dispatch on payload size.
template <template <class> class Queue>
run_result run_point(const run_config& cfg, const run_context& ctx) {
  switch (cfg.payload_bytes) {
    case 8: return run_with_wait<Queue<item_of<8>>, item_of<8>>(cfg, ctx);
    case 64: return run_with_wait<Queue<item_of<64>>, item_of<64>>(cfg, ctx);
    case 256: return run_with_wait<Queue<item_of<256>>, item_of<256>>(cfg, ctx);
    case 1024: return run_with_wait<Queue<item_of<1024>>, item_of<1024>>(cfg, ctx);
  }
  throw std::invalid_argument("--payload " + std::to_string(cfg.payload_bytes) + ": not one of 8, 64, 256, 1024");
}

}  // namespace ringlab::harness

#include "harness/native.hpp"
#include "harness/pingpong.hpp"
#include "ipc/run_pair.hpp"
#include "ipc/run_processes.hpp"
#include "ipc/run_split.hpp"

namespace ringlab::harness {
// Round trips carry 8-byte items only (validate() says so), which halves what gets compiled;
// so do the native loops between processes (their only use: the harness tax at 8 bytes).
template <class Q, class W, class Item>
run_result run_pattern(const run_config& cfg, const run_context& ctx) {
  if constexpr (ipc::is_process_transport<Q>) {
    if (ctx.remote) {
      if constexpr (ipc::splits_across_hosts<typename Q::transport>) return ipc::run_split_typed<Q, W, Item>(cfg, ctx);
      throw std::invalid_argument(cfg.queue + ": its sides cannot be split across two hosts");
    }
    if (cfg.shape == pattern::pingpong) {
      if constexpr (std::is_same_v<Item, tag>) return ipc::run_pair_typed<Q, W, Item, true>(cfg, ctx);
    } else if (cfg.native) {
      if constexpr (std::is_same_v<Item, tag>) return ipc::run_pair_typed<Q, W, Item, false>(cfg, ctx);
    }
    return ipc::run_processes_typed<Q, W, Item>(cfg, ctx);
  } else {
    if (cfg.native) return run_native_typed<Q, W, Item>(cfg, ctx);
    if constexpr (std::is_same_v<Item, tag>)
      if (cfg.shape == pattern::pingpong) return run_pingpong_typed<Q, W, Item>(cfg, ctx);
    return run_typed<Q, W, Item>(cfg, ctx);
  }
}
}  // namespace ringlab::harness
