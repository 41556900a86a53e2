// Scope thread: build the queue, start P producer and C consumer threads pinned by the
// plan, let the conductor (the calling thread) drive the phases and the termination
// protocol, then analyse what the sides recorded (harness/run.hpp). Only the wiring is
// a template; everything that is not about the queue's type lives in the harness.
#pragma once
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <ringlab/queue.hpp>
#include <ringlab/wait.hpp>

#include "harness/interrupt.hpp"
#include "harness/run.hpp"

namespace ringlab::harness {

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

}  // namespace ringlab::harness
