// The seed scenario (harness/seed_scenario.hpp) with its two producers and its consumer
// in separate processes, as the seeds' multiprocessing versions run it: the same side
// code, the shared flags, the wait state and the transport in one segment (unlinked once
// built), results sent back as records (scopes/processes/side_image.hpp). A side that dies stops the
// others and the row says so (invalid); nothing waits for it.
#pragma once
#include <fmt/core.h>

#include <chrono>
#include <optional>
#include <thread>

#include "harness/seed_scenario.hpp"
#include "scopes/processes/run_processes.hpp"

namespace ringlab::ipc {

inline constexpr std::uint64_t seed_producer_record = 0x52'4c'53'50, seed_consumer_record = 0x52'4c'53'43;  // "RLSP", "RLSC"

template <class Q, class W>
harness::run_result run_seed_processes(const harness::run_config& cfg, double tick_ms, std::uint64_t rng_seed,
                                       const harness::run_context& ctx) {
  using namespace harness;
  using Transport = typename Q::transport;
  using SW = across_processes_t<W>;
  if (interrupted()) throw run_interrupted();
  const pin_plan pins = plan_pinning(*ctx.topo, parse_pin(cfg.pin, *ctx.topo), 2, 1);

  // The segment: shared flags | wait state | the transport's bytes.
  struct shared_flags : seed_shared {
    std::atomic<bool> side_lost{false};
  };
  const std::size_t at_ws = round_up_lines(sizeof(shared_flags));
  const std::size_t at_q = at_ws + round_up_lines(sizeof(wait_state<SW>));
  remove_stale_segments();
  segment seg = segment::create(at_q + Transport::block_bytes(cfg.capacity));
  auto* base = static_cast<std::byte*>(seg.data());
  auto* shared = ::new (base) shared_flags{};
  auto* ws = ::new (base + at_ws) wait_state<SW>{};
  std::optional<Transport> transport;
  Transport& q = build_transport(transport, cfg.capacity, base + at_q, stream_options_of(cfg));
  const net_sides net(parse_net_path(cfg.net));
  seg.mark_ready();
  seg.unlink();
  // The first tick 20 ms from now: forking three sides takes a few of them.
  const seed_plan plan = make_seed_plan<Q>(cfg, tick_ms, rng_seed, ctx, 20);

  side_processes children;
  for (unsigned p = 0; p < 2; ++p)
    children.spawn(fmt::format("producer {}", p), [&, p]() -> std::vector<std::uint64_t> {
      bind_this_thread(*ctx.topo, pins.producer_pu[p]);
      enter_side_net(net.producers());
      enter(q, role::producer, p);
      auto&& end = producer_endpoint(q);
      seed_outcome out;
      seed_producer(p, end, *ws, *shared, plan, out);
      leave(q, role::producer);
      // A producer gone early is a dead one to a kernel transport (EOF): stay until the consumer has left.
      while (!shared->consumer_left.load(std::memory_order_acquire) && !shared->side_lost.load(std::memory_order_acquire))
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return {seed_producer_record, out.pushed[p], out.last_push[p]};
    });
  children.spawn("consumer 0", [&]() -> std::vector<std::uint64_t> {
    bind_this_thread(*ctx.topo, pins.consumer_pu[0]);
    enter_side_net(net.consumers());
    enter(q, role::consumer, 0);
    auto&& end = consumer_endpoint(q);
    seed_outcome out;
    seed_consumer(end, *ws, *shared, plan, out);
    leave(q, role::consumer);
    shared->consumer_left.store(1, std::memory_order_release);
    std::vector<std::uint64_t> record{seed_consumer_record, out.popped, out.target_ticks, out.last_exit};
    image::save(out.tally, record);
    return record;
  });
  enter(q, role::conductor, 0);
  children.watch([&](const side_processes::lost_side&) {
    shared->side_lost.store(true, std::memory_order_release);
    shared->stop.store(true, std::memory_order_release);
    ringlab::close(q, *ws);
  });
  // The consumer has 20 items after at most 20 ticks (it takes at least one a tick).
  const auto records = children.collect(0.02 + 25 * tick_ms / 1e3 + cfg.drain_timeout_s);

  seed_outcome out;
  std::vector<std::string> problems;
  for (const auto& lost : children.lost())
    problems.push_back(fmt::format("side process {} {}; the run was stopped", lost.who, lost.how));
  for (unsigned p = 0; p < 2; ++p) {
    word_reader in(records[p]);
    if (auto e = error_in(in, seed_producer_record); !e.empty()) {
      problems.push_back(fmt::format("producer {}: {}", p, e));
      continue;
    }
    out.pushed[p] = in.next(), out.last_push[p] = in.next();
    if (!in.ok || in.at != in.end) problems.push_back(fmt::format("producer {}: its results were cut short", p));
  }
  word_reader in(records[2]);
  if (auto e = error_in(in, seed_consumer_record); !e.empty()) {
    problems.push_back("consumer 0: " + e);
  } else {
    out.popped = in.next(), out.target_ticks = in.next(), out.last_exit = in.next();
    if (auto e = image::load(out.tally, in); !e.empty() || !in.ok || in.at != in.end)
      problems.push_back("consumer 0: its results were cut short or broken");
  }
  run_config scoped = cfg;
  scoped.scope = scope_of<Transport>;
  run_result r = seed_result(scoped, ctx, pins, out);
  r.capacity_actual = q.capacity();
  if (!problems.empty()) {
    r.valid = false;
    r.validation_error = joined(problems);
  }
  return r;
}

}  // namespace ringlab::ipc
