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

namespace ringlab::harness {

inline constexpr unsigned seed_target_items = 20;

// What the sides share: plain atomics, on the heap between threads, in the run's
// segment between processes.
struct seed_shared {
  std::atomic<bool> stop{false};
  std::atomic<unsigned> producers_done{0};
  std::atomic<std::uint64_t> pushed_total{0};  // written before producers_done: what join must see taken
  std::atomic<unsigned> consumer_left{0};  // processes: producers stay until then (see stay_until_consumers_leave)
};

struct seed_outcome {
  std::vector<std::uint64_t> pushed{0, 0}, last_push{0, 0};  // one slot per producer
  delivery_tally tally{2};
  std::uint64_t popped = 0, target_ticks = 0, last_exit = 0;
};

// The schedule and rules every side follows.
struct seed_plan {
  const clock_source* clock;
  std::uint64_t t0, tick;  // ticks
  bool sentinel, fifo;
  unsigned pills_needed;   // as in run_producer: 1 for a total order, else one per producer
  std::uint64_t rng_seed;

  void sleep_to(std::uint64_t when) const {
    const auto now = clock->ticks();
    if (now < when) std::this_thread::sleep_for(std::chrono::nanoseconds(static_cast<long>(clock->to_ns(double(when - now)))));
  }
};

// Producer `id` puts id + 1 items per tick (the articles' speeds: 1 and 2) until told to stop.
template <class Endpoint, class W>
void seed_producer(unsigned id, Endpoint& end, wait_state<W>& ws, seed_shared& shared, const seed_plan& plan,
                   seed_outcome& out) {
  prctl(PR_SET_TIMERSLACK, 1000UL);  // ticks on time, not 50 us late
  const unsigned per_tick = id + 1;
  std::uint64_t s = 0;
  for (std::uint64_t k = 0; !shared.stop.load(std::memory_order_acquire); ++k) {
    plan.sleep_to(plan.t0 + k * plan.tick);
    for (unsigned i = 0; i < per_tick && !shared.stop.load(std::memory_order_relaxed); ++i)
      if (push(end, ws, make_tag(id, s))) ++s;
  }
  out.pushed[id] = s;
  out.last_push[id] = plan.clock->ticks();
  shared.pushed_total.fetch_add(s);
  const bool last = shared.producers_done.fetch_add(1) + 1 == 2;
  if (plan.sentinel && (last || plan.pills_needed == 2)) push(end, ws, pill_tag);
}

// The consumer takes 1 + a random 0-4 items per tick (waiting while the buffer is empty)
// until it has 20, then drains by the termination protocol.
template <class Endpoint, class W>
void seed_consumer(Endpoint& end, wait_state<W>& ws, seed_shared& shared, const seed_plan& plan, seed_outcome& out) {
  prctl(PR_SET_TIMERSLACK, 1000UL);
  std::mt19937_64 rng(plan.rng_seed);
  tag t = 0;
  auto take = [&](tag item) {
    out.tally.record(item, plan.fifo);
    if (++out.popped == seed_target_items) {
      out.target_ticks = plan.clock->ticks() - plan.t0;
      shared.stop.store(true, std::memory_order_release);
    }
  };
  for (std::uint64_t k = 0; out.popped < seed_target_items; ++k) {
    plan.sleep_to(plan.t0 + k * plan.tick);
    if (!pop(end, ws, t)) break;  // waits while the buffer is empty
    take(t);
    for (auto batch = rng() % 5; batch > 0 && out.popped < seed_target_items && try_pop(end, ws, t); --batch) take(t);
  }
  // Drain: sentinel — until the pills; join — until both producers are done and the queue is empty.
  // Join: done once both producers are done and every item they pushed was taken. An item
  // can still be on its way after its push returned (a network stream's socket, its
  // receiving thread): wait for it, but for a second at most — one that never comes is a
  // loss, and the validation names it.
  const std::uint64_t grace = plan.clock->from_ns(1e9);
  std::uint64_t owed_since = 0;
  for (unsigned pills = 0;;) {
    if (plan.sentinel) {
      if (!pop(end, ws, t) || (is_pill(t) && ++pills == plan.pills_needed)) break;
      if (is_pill(t)) continue;
    } else if (!try_pop(end, ws, t)) {
      if (shared.producers_done.load() < 2) continue;
      if (out.popped >= shared.pushed_total.load()) break;
      const std::uint64_t now = plan.clock->ticks();
      if (!owed_since) owed_since = now;
      else if (now - owed_since > grace) break;
      continue;
    }
    out.tally.record(t, plan.fifo);
    ++out.popped;
  }
  out.last_exit = plan.clock->ticks();
}

template <class Q>
seed_plan make_seed_plan(const run_config& cfg, double tick_ms, std::uint64_t rng_seed, const run_context& ctx,
                         double start_in_ms) {
  const clock_source& clock = *ctx.clock;
  return seed_plan{&clock, clock.ticks() + clock.from_ns(start_in_ms * 1e6), clock.from_ns(tick_ms * 1e6),
                   cfg.ending == termination::sentinel, Q::properties.fifo, Q::properties.linearizable ? 1u : 2u, rng_seed};
}

run_result seed_result(const run_config& cfg, const run_context& ctx, const pin_plan& plan, const seed_outcome& out);

template <class Q, class W>
run_result run_seed_typed(const run_config& cfg, double tick_ms, std::uint64_t rng_seed, const run_context& ctx) {
  if (interrupted()) throw run_interrupted();
  const pin_plan pins = plan_pinning(*ctx.topo, parse_pin(cfg.pin, *ctx.topo), 2, 1);
  Q q = make_queue<Q>(cfg.capacity, thread_counts{2, 1});
  wait_state<W> ws;
  seed_shared shared;
  seed_outcome out;
  const seed_plan plan = make_seed_plan<Q>(cfg, tick_ms, rng_seed, ctx, 2);
  auto producer = [&](unsigned id) {
    leave_interrupts_to_the_conductor();
    bind_this_thread(*ctx.topo, pins.producer_pu[id]);
    auto&& end = producer_endpoint(q);
    seed_producer(id, end, ws, shared, plan, out);
  };
  std::thread p0(producer, 0), p1(producer, 1), c0([&] {
    leave_interrupts_to_the_conductor();
    bind_this_thread(*ctx.topo, pins.consumer_pu[0]);
    auto&& end = consumer_endpoint(q);
    seed_consumer(end, ws, shared, plan, out);
  });
  p0.join();
  p1.join();
  c0.join();
  return seed_result(cfg, ctx, pins, out);
}

}  // namespace ringlab::harness

