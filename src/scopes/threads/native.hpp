// Mode native: the queue in a bare two-thread loop of its own API, as its authors'
// benchmarks drive it (atomic_queue's src/benchmarks.cc: a producer pushing numbers, a
// consumer popping and summing them) — no latency samples, no tallies, no task_done
// counting; just the item, through the same wait strategy as the harness run it is
// compared with (`block`: the library's own push/pop). Both threads look at the phase as
// the harness's sides do (phase_looks: every 1024 items when fast, every item when slow)
// to know the measured window. harness / native per queue
// is the harness's tax (harness_efficiency); it must be alike across queues.
// Stream: one producer pushes tags 0, 1, 2, ... then a pill; the consumer counts and sums
// them (a cheap end check that each arrived once); --work-ns / --producer-work-ns add a
// calibrated loop per item on either side (work.hpp), as queue papers measure "with work".
// Ping-pong: one round trip at a time through two queues, counted by the sender.
#pragma once
#include "harness/native_side.hpp"
#include "harness/run.hpp"
#include "harness/work.hpp"

namespace ringlab::harness {

// Note the window's ends from the phase.
inline void native_phase(const control_block& ctl, native_side& me, std::uint64_t done) noexcept {
  const std::uint32_t p = ctl.phase.load(std::memory_order_relaxed);
  if (p >= measure && !me.saw_measure) me.saw_measure = true, me.at_measure = done;
  if (p >= stop && !me.saw_stop) me.saw_stop = true, me.at_stop = done;
}

template <class Item, class Endpoint, class W>
void native_producer(Endpoint& q, wait_state<W>& ws, control_block& ctl, native_side& me, const clock_source& clock,
                     const Item& prototype, std::uint64_t work = 0) {
  wait_for_start(ctl, clock, me.outcome);
  phase_looks looks(clock, false);
  std::uint64_t until_look = 1;
  std::uint64_t s = 0;
  for (;; ++s) {
    if (--until_look == 0 && ((until_look = looks.looked()), ctl.phase.load(std::memory_order_relaxed) >= stop)) break;
    if (work) spin_iterations(work);
    if (!push(q, ws, with_tag(prototype, make_tag(0, s)))) break;
  }
  push(q, ws, with_tag(prototype, pill_tag));
  flush(q, ws);  // publish the last batch (pipe.batch, floors) and wake a consumer parked before it
  me.done = s;
  ctl.producers_finished.fetch_add(1, std::memory_order_acq_rel);
  detail::futex_wake(ctl.producers_finished, detail::wake_everyone, shared_futex);
  me.outcome.end_ticks = clock.ticks();
  me.outcome.finish_costs();
}

template <class Item, class Endpoint, class W>
void native_consumer(Endpoint& q, wait_state<W>& ws, control_block& ctl, native_side& me, const clock_source& clock,
                     std::uint64_t work = 0) {
  wait_for_start(ctl, clock, me.outcome);
  phase_looks looks(clock, false);
  std::uint64_t until_look = 1;
  std::uint64_t n = 0, sum = 0;
  Item item{};
  while (pop(q, ws, item)) {
    const tag t = tag_of(item);
    if (is_pill(t)) break;
    sum += t;
    ++n;
    if (work) spin_iterations(work);
    if (--until_look == 0) [[unlikely]] until_look = looks.looked(), native_phase(ctl, me, n);
  }
  native_phase(ctl, me, n);
  me.done = n;
  me.sum = sum;
  me.outcome.end_ticks = clock.ticks();
  me.outcome.finish_costs();
  ctl.consumers_exited.fetch_add(1, std::memory_order_acq_rel);
  detail::futex_wake(ctl.consumers_exited, detail::wake_everyone, shared_futex);  // the conductor and, in processes, the producers
}

// The author's loop (--loop author), as atomic_queue's src/benchmarks.cc at 83774a2 times a
// queue (throughput_producer / throughput_consumer_impl, lines 192-226): the producer pushes
// 1..N+1, the consumer pops and sums until N+1; the figure is N over the ticks from the first
// push to the last pop. No tag, no phase, nothing else per item: what that program measures.
template <class Item, class Endpoint, class W>
void author_producer(Endpoint& q, wait_state<W>& ws, control_block& ctl, native_side& me, const clock_source& clock,
                     const Item& prototype, std::uint64_t n) {
  wait_for_start(ctl, clock, me.outcome);
  me.first_push_ticks = clock.ticks();
  for (std::uint64_t v = 1, last = n + 1; v <= last; ++v)
    if (!push(q, ws, with_tag(prototype, v))) break;
  flush(q, ws);
  me.done = n;
  ctl.producers_finished.fetch_add(1, std::memory_order_acq_rel);
  detail::futex_wake(ctl.producers_finished, detail::wake_everyone, shared_futex);
  me.outcome.end_ticks = clock.ticks();
  me.outcome.finish_costs();
}

template <class Item, class Endpoint, class W>
void author_consumer(Endpoint& q, wait_state<W>& ws, control_block& ctl, native_side& me, const clock_source& clock,
                     std::uint64_t n) {
  wait_for_start(ctl, clock, me.outcome);
  std::uint64_t sum = 0, popped = 0;
  Item item{};
  while (pop(q, ws, item)) {
    const tag v = tag_of(item);
    if (v == n + 1) break;
    sum += v;
    ++popped;
  }
  me.last_pop_ticks = clock.ticks();
  me.done = popped, me.sum = sum, me.at_measure = 0, me.at_stop = popped;
  me.outcome.end_ticks = me.last_pop_ticks;
  me.outcome.finish_costs();
  ctl.consumers_exited.fetch_add(1, std::memory_order_acq_rel);
  detail::futex_wake(ctl.consumers_exited, detail::wake_everyone, shared_futex);  // the conductor and, in processes, the producers
}

template <class Item, class Out, class Back, class W>
void native_pinger(Out& out, wait_state<W>& out_ws, Back& back, wait_state<W>& back_ws, control_block& ctl,
                   native_side& me, const clock_source& clock, const Item& prototype) {
  wait_for_start(ctl, clock, me.outcome);
  Item echo{};
  phase_looks looks(clock, false);
  std::uint64_t until_look = 1;
  std::uint64_t s = 0, mismatches = 0;
  for (;; ++s) {
    if (--until_look == 0) {
      until_look = looks.looked();
      native_phase(ctl, me, s);
      if (me.saw_stop) break;
    }
    if (!push(out, out_ws, with_tag(prototype, make_tag(0, s)))) break;
    if (!pop(back, back_ws, echo)) break;
    mismatches += tag_of(echo) != make_tag(0, s);
  }
  push(out, out_ws, with_tag(prototype, pill_tag));
  me.done = s;
  me.sum = mismatches;
  ctl.producers_finished.fetch_add(1, std::memory_order_acq_rel);
  detail::futex_wake(ctl.producers_finished, detail::wake_everyone, shared_futex);
  me.outcome.end_ticks = clock.ticks();
  me.outcome.finish_costs();
}

// The echo of the ping-pong: pop, push back, until the pill.
template <class Item, class In, class Back, class W>
void native_echo(In& in, wait_state<W>& in_ws, Back& back, wait_state<W>& back_ws, control_block& ctl, native_side& me,
                 const clock_source& clock) {
  wait_for_start(ctl, clock, me.outcome);
  Item item{};
  while (pop(in, in_ws, item) && !is_pill(tag_of(item)))
    if (!push(back, back_ws, item)) break;
  me.outcome.end_ticks = clock.ticks();
  me.outcome.finish_costs();
  ctl.consumers_exited.fetch_add(1, std::memory_order_acq_rel);
  detail::futex_wake(ctl.consumers_exited, detail::wake_everyone, shared_futex);  // the conductor and, in processes, the producers
}

// Start both sides pinned as the harness pins them, conduct, join, analyse.
template <class ProducerSide, class ConsumerSide>
run_result run_native_sides(const run_config& cfg, const run_context& ctx, ProducerSide&& producer_side,
                            ConsumerSide&& consumer_side, const std::function<void()>& close_queues,
                            control_block& ctl) {
  const pin_plan plan = plan_pinning(*ctx.topo, parse_pin(cfg.pin, *ctx.topo), 1, 1);
  auto producer = std::make_unique<native_side>();
  auto consumer = std::make_unique<native_side>();
  std::thread a([&] {
    leave_interrupts_to_the_conductor();
    bind_this_thread(*ctx.topo, plan.producer_pu[0]);
    producer_side(*producer);
    producer->outcome.pu = current_pu(*ctx.topo);
  });
  std::thread b([&] {
    leave_interrupts_to_the_conductor();
    bind_this_thread(*ctx.topo, plan.consumer_pu[0]);
    consumer_side(*consumer);
    consumer->outcome.pu = current_pu(*ctx.topo);
  });
  conductor_times times;
  try {
    times = conduct(ctl, cfg, ctx, close_queues);
  } catch (...) {
    a.join();
    b.join();
    throw;
  }
  a.join();
  b.join();
  if (cfg.author_loop) times.measure_start = producer->first_push_ticks, times.stop = consumer->last_pop_ticks;
  return analyse_native(cfg, ctx, times, *producer, *consumer, plan);
}

template <class Q, class W, class Item>
run_result run_native_typed(const run_config& cfg, const run_context& ctx) {
  const Item prototype = with_tag(Item{}, 0);
  auto ctl = std::make_unique<control_block>();
  Q there = make_queue<Q>(cfg.capacity, thread_counts{1, 1});
  auto there_ws = std::make_unique<wait_state<W>>();
  const std::uint64_t producer_work = work_iterations(cfg.producer_work_ns), consumer_work = work_iterations(cfg.work_ns);
  if (cfg.author_loop)
    return run_native_sides(
        cfg, ctx,
        [&](native_side& me) {
          auto&& end = producer_endpoint(there);
          author_producer<Item>(end, *there_ws, *ctl, me, *ctx.clock, prototype, cfg.items);
        },
        [&](native_side& me) {
          auto&& end = consumer_endpoint(there);
          author_consumer<Item>(end, *there_ws, *ctl, me, *ctx.clock, cfg.items);
        },
        [&] { ringlab::close(there, *there_ws); }, *ctl);
  if (cfg.shape == pattern::stream)
    return run_native_sides(
        cfg, ctx,
        [&](native_side& me) {
          auto&& end = producer_endpoint(there);
          native_producer<Item>(end, *there_ws, *ctl, me, *ctx.clock, prototype, producer_work);
        },
        [&](native_side& me) {
          auto&& end = consumer_endpoint(there);
          native_consumer<Item>(end, *there_ws, *ctl, me, *ctx.clock, consumer_work);
        },
        [&] { ringlab::close(there, *there_ws); }, *ctl);
  Q back = make_queue<Q>(cfg.capacity, thread_counts{1, 1});
  auto back_ws = std::make_unique<wait_state<W>>();
  return run_native_sides(
      cfg, ctx,
      [&](native_side& me) {
        auto&& to = producer_endpoint(there);
        auto&& from = consumer_endpoint(back);
        native_pinger<Item>(to, *there_ws, from, *back_ws, *ctl, me, *ctx.clock, prototype);
      },
      [&](native_side& me) {
        auto&& from = consumer_endpoint(there);
        auto&& to = producer_endpoint(back);
        native_echo<Item>(from, *there_ws, to, *back_ws, *ctl, me, *ctx.clock);
      },
      [&] {
        ringlab::close(there, *there_ws);
        ringlab::close(back, *back_ws);
      },
      *ctl);
}

}  // namespace ringlab::harness
