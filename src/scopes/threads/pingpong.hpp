// The round-trip pattern: one thread sends an item through a queue, the other sends it
// back through a second queue of the same kind, and the first waits for it before the
// next. The mean round trip is the measured window over the round trips made in it
// (no clock read per round); percentiles come from every 16th round, timed.
#pragma once
#include "harness/pingpong_side.hpp"
#include "harness/run.hpp"

namespace ringlab::harness {


template <class Item, class Out, class Back, class W>
void run_pinger(Out& out, wait_state<W>& out_ws, Back& back, wait_state<W>& back_ws, control_block& ctl,
                pinger_state& me, const clock_source& clock, const Item& prototype) {
  constexpr std::uint64_t timed_every = 16;
  wait_for_start(ctl, clock, me.outcome);
  Item echo{};
  std::uint32_t seen = ctl.phase.load(std::memory_order_relaxed);  // measure already: counts from 0
  std::uint64_t s = 0;
  for (;; ++s) {
    const bool timed = (s % timed_every) == 0;
    if (timed) {
      const std::uint32_t now_phase = ctl.phase.load(std::memory_order_relaxed);
      if (now_phase >= measure && seen < measure) me.rounds_at_measure = s;
      seen = now_phase;
      if (now_phase >= stop) break;
    }
    const std::uint64_t start = timed ? clock.ticks() : 0;
    if (!push(out, out_ws, with_tag(prototype, make_tag(0, s)))) break;
    if (!pop(back, back_ws, echo)) break;
    if (timed && seen == measure && me.timed_ns.size() < me.timed_ns.capacity())
      me.timed_ns.push_back(static_cast<std::uint32_t>(std::min(4e9, clock.to_ns(static_cast<double>(clock.ticks() - start)))));
    me.mismatches += tag_of(echo) != make_tag(0, s);
  }
  me.rounds = me.rounds_at_stop = s;
  push(out, out_ws, with_tag(prototype, pill_tag));
  ctl.producers_finished.fetch_add(1, std::memory_order_acq_rel);
  detail::futex_wake(ctl.producers_finished, detail::wake_everyone, shared_futex);
  me.outcome.end_ticks = clock.ticks();
  me.outcome.finish_costs();
}

template <class Item, class In, class Back, class W>
void run_echoer(In& in, wait_state<W>& in_ws, Back& back, wait_state<W>& back_ws, control_block& ctl,
                thread_outcome& me, const clock_source& clock) {
  wait_for_start(ctl, clock, me);
  Item item{};
  while (pop(in, in_ws, item) && !is_pill(tag_of(item)))
    if (!push(back, back_ws, item)) break;
  me.end_ticks = clock.ticks();
  me.finish_costs();
  ctl.consumers_exited.fetch_add(1, std::memory_order_acq_rel);
  detail::futex_wake(ctl.consumers_exited, 1, shared_futex);
}


template <class Q, class W, class Item>
run_result run_pingpong_typed(const run_config& cfg, const run_context& ctx) {
  const pin_plan plan = plan_pinning(*ctx.topo, parse_pin(cfg.pin, *ctx.topo), 1, 1);
  Q out = make_queue<Q>(cfg.capacity, thread_counts{1, 1});
  Q back = make_queue<Q>(cfg.capacity, thread_counts{1, 1});
  auto out_ws = std::make_unique<wait_state<W>>();
  auto back_ws = std::make_unique<wait_state<W>>();
  auto ctl = std::make_unique<control_block>();
  auto pinger = std::make_unique<pinger_state>();
  pinger->timed_ns.reserve(latency_log_entries);
  thread_outcome echoer;
  const Item prototype{};
  std::thread a([&] {
    leave_interrupts_to_the_conductor();
    bind_this_thread(*ctx.topo, plan.producer_pu[0]);
    auto&& to = producer_endpoint(out);
    auto&& from = consumer_endpoint(back);
    run_pinger<Item>(to, *out_ws, from, *back_ws, *ctl, *pinger, *ctx.clock, prototype);
    pinger->outcome.pu = current_pu(*ctx.topo);
  });
  std::thread b([&] {
    leave_interrupts_to_the_conductor();
    bind_this_thread(*ctx.topo, plan.consumer_pu[0]);
    auto&& from = consumer_endpoint(out);
    auto&& to = producer_endpoint(back);
    run_echoer<Item>(from, *out_ws, to, *back_ws, *ctl, echoer, *ctx.clock);
    echoer.pu = current_pu(*ctx.topo);
  });
  conductor_times times;
  try {
    times = conduct(*ctl, cfg, ctx, [&] {
      ringlab::close(out, *out_ws);
      ringlab::close(back, *back_ws);
    });
  } catch (...) {
    a.join();
    b.join();
    throw;
  }
  a.join();
  b.join();
  return analyse_pingpong(cfg, ctx, times, *pinger, echoer, plan);
}

}  // namespace ringlab::harness
