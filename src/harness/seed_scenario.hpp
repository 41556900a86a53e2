// The scenario ringlab grew from (../shared/seeds): two producers putting 1 and 2
// items per tick, one consumer taking a random batch of 1-5 items per tick (waiting
// when the buffer is empty), a buffer of `capacity` (5 in the original), and the
// figure the articles print: the time until the consumer has taken 20 items. The tick
// is a parameter (the articles sleep 1 s; 1 ms keeps a sweep short). After the 20th
// item everyone stops and the termination protocol drains the rest.
#pragma once
#include <fmt/core.h>
#include <sys/prctl.h>

#include <random>
#include <thread>

#include "harness/interrupt.hpp"
#include "harness/run.hpp"
#include "ipc/transport.hpp"

namespace ringlab::harness {

inline constexpr unsigned seed_target_items = 20;

struct seed_outcome {
  std::vector<std::uint64_t> pushed{0, 0}, last_push{0, 0};  // one slot per producer
  delivery_tally tally{2};
  std::uint64_t popped = 0, target_ticks = 0, last_exit = 0;
};

template <class Q, class W>
run_result run_seed_typed(const run_config& cfg, double tick_ms, std::uint64_t rng_seed, const run_context& ctx) {
  if (cfg.producers != 2 || cfg.consumers != 1)
    throw std::invalid_argument("the seed scenario has 2 producers and 1 consumer");
  if (interrupted()) throw run_interrupted();
  const clock_source& clock = *ctx.clock;
  const unsigned pills_needed = Q::properties.linearizable ? 1 : 2;  // as in run_producer
  const pin_plan plan = plan_pinning(*ctx.topo, parse_pin(cfg.pin, *ctx.topo), 2, 1);
  Q q = make_queue<Q>(cfg.capacity, thread_counts{2, 1});
  wait_state<W> ws;
  std::atomic<bool> stop{false};
  std::atomic<unsigned> producers_done{0};
  seed_outcome out;
  const std::uint64_t tick = clock.from_ns(tick_ms * 1e6);
  const std::uint64_t t0 = clock.ticks() + clock.from_ns(2e6);
  auto sleep_to = [&](std::uint64_t when) {
    const auto now = clock.ticks();
    if (now < when) std::this_thread::sleep_for(std::chrono::nanoseconds(static_cast<long>(clock.to_ns(double(when - now)))));
  };
  auto producer = [&](unsigned id) {
    leave_interrupts_to_the_conductor();
    prctl(PR_SET_TIMERSLACK, 1000UL);  // ticks on time, not 50 us late
    bind_this_thread(*ctx.topo, plan.producer_pu[id]);
    auto&& end = producer_endpoint(q);
    const unsigned per_tick = id + 1;  // the articles' speeds: 1 and 2
    std::uint64_t s = 0;
    for (std::uint64_t k = 0; !stop.load(std::memory_order_acquire); ++k) {
      sleep_to(t0 + k * tick);
      for (unsigned i = 0; i < per_tick && !stop.load(std::memory_order_relaxed); ++i)
        if (push(end, ws, make_tag(id, s))) ++s;
    }
    out.pushed[id] = s;
    out.last_push[id] = clock.ticks();
    const bool last = producers_done.fetch_add(1) + 1 == 2;
    if (cfg.ending == termination::sentinel && (last || pills_needed == 2)) push(end, ws, pill_tag);
  };
  auto consumer = [&] {
    leave_interrupts_to_the_conductor();
    prctl(PR_SET_TIMERSLACK, 1000UL);
    bind_this_thread(*ctx.topo, plan.consumer_pu[0]);
    auto&& end = consumer_endpoint(q);
    std::mt19937_64 rng(rng_seed);
    tag t = 0;
    auto take = [&](tag item) {
      out.tally.record(item, Q::properties.fifo);
      if (++out.popped == seed_target_items) {
        out.target_ticks = clock.ticks() - t0;
        stop.store(true, std::memory_order_release);
      }
    };
    for (std::uint64_t k = 0; out.popped < seed_target_items; ++k) {
      sleep_to(t0 + k * tick);
      if (!pop(end, ws, t)) break;  // waits while the buffer is empty
      take(t);
      for (auto batch = rng() % 5; batch > 0 && out.popped < seed_target_items && try_pop(end, ws, t); --batch) take(t);
    }
    // Drain: sentinel — until the pills; join — until both producers are done and the queue is empty.
    for (unsigned pills = 0;;) {
      if (cfg.ending == termination::sentinel) {
        if (!pop(end, ws, t) || (is_pill(t) && ++pills == pills_needed)) break;
        if (is_pill(t)) continue;
      } else if (!try_pop(end, ws, t)) {
        // Empty once both producers are done is empty for good; an item found by this
        // last look is counted below like any other.
        if (producers_done.load() < 2) continue;
        if (!try_pop(end, ws, t)) break;
      }
      out.tally.record(t, Q::properties.fifo);
      ++out.popped;
    }
    out.last_exit = clock.ticks();
  };
  std::thread p0(producer, 0), p1(producer, 1), c0(consumer);
  p0.join();
  p1.join();
  c0.join();
  run_result r;
  r.config = cfg;
  r.host = ctx.host;
  r.commit = ctx.commit;
  r.build_id = ctx.build_id;
  r.clock_name = clock.name();
  r.clock_read_ns = measure_read_ns(clock);
  r.oversubscribed = plan.oversubscribed;
  r.items_pushed = out.pushed[0] + out.pushed[1];
  r.items_popped = out.popped;
  const auto v = validate_delivery(out.pushed, {out.tally});
  r.valid = v.valid;
  r.validation_error = v.problem;
  r.measured_s = clock.to_ns(static_cast<double>(out.target_ticks)) / 1e9;
  r.throughput_items_per_s = seed_target_items / r.measured_s;
  const auto last_push = std::max(out.last_push[0], out.last_push[1]);
  r.drain_ns = clock.to_ns(static_cast<double>(out.last_exit - std::min(out.last_exit, last_push)));
  r.metrics = {{"consume_20_ms", fmt::format("{:.3f}", r.measured_s * 1e3)}};
  return r;
}

template <template <class> class Queue>
run_result run_seed_point(const run_config& cfg, double tick_ms, std::uint64_t rng_seed, const run_context& ctx) {
  using Q = Queue<tag>;
  if constexpr (ipc::is_process_transport<Q>) {
    throw std::invalid_argument("the seed scenario runs threads only; " + cfg.queue + " is a process transport");
  } else {
    if (cfg.wait == "spin") return run_seed_typed<Q, spin>(cfg, tick_ms, rng_seed, ctx);
    if (cfg.wait == "yield") return run_seed_typed<Q, yield>(cfg, tick_ms, rng_seed, ctx);
    if (cfg.wait == "park") return run_seed_typed<Q, park>(cfg, tick_ms, rng_seed, ctx);
    if constexpr (Q::properties.blocks_natively)
      if (cfg.wait == "block") return run_seed_typed<Q, block>(cfg, tick_ms, rng_seed, ctx);
  }
  throw std::invalid_argument("--wait " + cfg.wait + ": not available for queue " + cfg.queue);
}

}  // namespace ringlab::harness
