// One producer process and one consumer process running a 1P1C loop that is not the
// harness's stream (scope process): round trips (scopes/threads/pingpong.hpp: the pinger and the
// echoer, a second transport carrying the echoes) and the native loops (scopes/threads/native.hpp:
// a transport's bare push/pop, stream or ping-pong) that the harness's tax is measured
// against. The same loop code as between threads; the segment holds the control block,
// one wait state per direction and the transports' bytes, and is unlinked once built, as
// in run_processes.hpp, whose watcher, kill-on-loss and result records this reuses.
#pragma once
#include <fmt/core.h>

#include <memory>
#include <optional>

#include "scopes/threads/native.hpp"
#include "scopes/threads/pingpong.hpp"
#include "scopes/processes/run_processes.hpp"

namespace ringlab::ipc {

inline constexpr std::uint64_t native_record = 0x52'4c'4e'52, pinger_record = 0x52'4c'50'49,
                               echoer_record = 0x52'4c'45'43;  // "RLNR", "RLPI", "RLEC"

inline std::vector<std::uint64_t> image_of(const harness::native_side& s) {
  std::vector<std::uint64_t> out{native_record, s.done, s.at_measure, s.at_stop, s.sum, s.saw_measure, s.saw_stop};
  image::save(s.outcome, out);
  return out;
}
inline std::vector<std::uint64_t> image_of(const harness::pinger_state& s) {
  std::vector<std::uint64_t> out{pinger_record, s.rounds, s.rounds_at_measure, s.rounds_at_stop, s.mismatches};
  image::save(s.outcome, out);
  out.push_back(s.timed_ns.size());
  out.insert(out.end(), s.timed_ns.begin(), s.timed_ns.end());
  return out;
}
inline std::vector<std::uint64_t> echoer_image(const harness::thread_outcome& o) {
  std::vector<std::uint64_t> out{echoer_record};
  image::save(o, out);
  return out;
}

inline std::string load_image(const std::vector<std::uint64_t>& words, harness::native_side& s) {
  harness::word_reader in(words);
  if (auto e = error_in(in, native_record); !e.empty()) return e;
  s.done = in.next(), s.at_measure = in.next(), s.at_stop = in.next(), s.sum = in.next();
  s.saw_measure = in.next() != 0, s.saw_stop = in.next() != 0;
  image::load(s.outcome, in);
  return in.ok && in.at == in.end ? "" : "its results were cut short (it died before it finished)";
}
inline std::string load_image(const std::vector<std::uint64_t>& words, harness::pinger_state& s) {
  harness::word_reader in(words);
  if (auto e = error_in(in, pinger_record); !e.empty()) return e;
  s.rounds = in.next(), s.rounds_at_measure = in.next(), s.rounds_at_stop = in.next(), s.mismatches = in.next();
  image::load(s.outcome, in);
  const std::uint64_t timed = in.next();
  if (timed > harness::latency_log_entries) in.fail();
  s.timed_ns.clear();
  for (std::uint64_t i = 0; i < timed && in.ok; ++i) s.timed_ns.push_back(static_cast<std::uint32_t>(in.next()));
  return in.ok && in.at == in.end ? "" : "its results were cut short (it died before it finished)";
}
inline std::string load_echoer_image(const std::vector<std::uint64_t>& words, harness::thread_outcome& o) {
  harness::word_reader in(words);
  if (auto e = error_in(in, echoer_record); !e.empty()) return e;
  image::load(o, in);
  return in.ok && in.at == in.end ? "" : "its results were cut short (it died before it finished)";
}

// RoundTrip: cfg.shape is pingpong (8-byte items only, so only they compile it).
template <class Q, class W, class Item, bool RoundTrip>
harness::run_result run_pair_typed(const harness::run_config& cfg, const harness::run_context& ctx) {
  using namespace harness;
  using Transport = typename Q::transport;
  using SW = across_processes_t<W>;
  constexpr bool round_trip = RoundTrip;
  const pin_plan plan = plan_pinning(*ctx.topo, parse_pin(cfg.pin, *ctx.topo), 1, 1);

  // The segment: control block | wait state there | wait state back | side registry
  // (watched transports) | transport there | back.
  const std::size_t ws_bytes = round_up_lines(sizeof(wait_state<SW>));
  const std::size_t q_bytes = round_up_lines(Transport::block_bytes(cfg.capacity));
  const std::size_t at_ws = round_up_lines(sizeof(control_block)), at_registry = at_ws + 2 * ws_bytes;
  const std::size_t at_q = at_registry + round_up_lines(run_registry::bytes(watches_peers<Transport>, 2));
  remove_stale_segments();
  segment seg = segment::create(at_q + 2 * q_bytes);
  auto* base = static_cast<std::byte*>(seg.data());
  auto* ctl = ::new (base) control_block{};
  auto* there_ws = ::new (base + at_ws) wait_state<SW>{};
  auto* back_ws = ::new (base + at_ws + ws_bytes) wait_state<SW>{};
  const run_registry registry(watches_peers<Transport>, base + at_registry, 2);
  std::optional<Transport> there_q, back_q;
  Transport& there = build_transport(there_q, cfg.capacity, base + at_q, stream_options_of(cfg));
  if (round_trip) build_transport(back_q, cfg.capacity, base + at_q + q_bytes, stream_options_of(cfg));
  const net_sides net(parse_net_path(cfg.net));
  seg.mark_ready();
  seg.unlink();
  auto close_all = [&] {
    ringlab::close(there, *there_ws);
    if (back_q) ringlab::close(*back_q, *back_ws);
  };
  const Item prototype = cfg.native ? with_tag(Item{}, 0) : prototype_item<Item>();
  // Calibrated here, once for both sides (one machine): a stream's work per item.
  const std::uint64_t producer_work = work_iterations(cfg.producer_work_ns), consumer_work = work_iterations(cfg.work_ns);

  side_processes children;
  children.spawn("producer 0", [&]() -> std::vector<std::uint64_t> {
    bind_this_thread(*ctx.topo, plan.producer_pu[0]);
    enter_side_net(net.producers());
    enter(there, role::producer, 0);
    if (back_q) enter(*back_q, role::consumer, 0);
    auto&& to = producer_endpoint(there);
    std::vector<std::uint64_t> record;
    std::optional<side_membership> member(std::in_place, registry.get(), 0u, "producer 0");  // a death it sees: its error
    if (cfg.native) {
      native_side me;
      if constexpr (round_trip) {
        auto&& from = consumer_endpoint(*back_q);
        native_pinger<Item>(to, *there_ws, from, *back_ws, *ctl, me, *ctx.clock, prototype);
      } else {
        native_producer<Item>(to, *there_ws, *ctl, me, *ctx.clock, prototype, producer_work);
      }
      me.outcome.pu = current_pu(*ctx.topo);
      record = image_of(me);
    } else if constexpr (round_trip) {
      auto me = std::make_unique<pinger_state>();
      me->timed_ns.reserve(latency_log_entries);
      auto&& from = consumer_endpoint(*back_q);
      run_pinger<Item>(to, *there_ws, from, *back_ws, *ctl, *me, *ctx.clock, prototype);
      me->outcome.pu = current_pu(*ctx.topo);
      record = image_of(*me);
    }
    member.reset();
    // Each side leaves its consumer roles first: a serving side (rpc) waits in its producer
    // leave() for its callers to hang up, and here each side calls the other's server.
    if (back_q) leave(*back_q, role::consumer);
    leave(there, role::producer);
    stay_until_consumers_leave(*ctl, 1);  // a producer gone early is a dead one to a kernel transport
    return record;
  });
  children.spawn("consumer 0", [&]() -> std::vector<std::uint64_t> {
    bind_this_thread(*ctx.topo, plan.consumer_pu[0]);
    enter_side_net(net.consumers());
    enter(there, role::consumer, 0);
    if (back_q) enter(*back_q, role::producer, 0);
    auto&& from = consumer_endpoint(there);
    std::optional<side_membership> member(std::in_place, registry.get(), 1u, "consumer 0");
    auto done = [&] {  // the transports' end of this side (a network stream's end frame, its threads)
      member.reset();
      leave(there, role::consumer);
      if (back_q) leave(*back_q, role::producer);
    };
    if constexpr (round_trip) if (!cfg.native) {
      thread_outcome me;
      auto&& to = producer_endpoint(*back_q);
      run_echoer<Item>(from, *there_ws, to, *back_ws, *ctl, me, *ctx.clock);
      done();
      me.pu = current_pu(*ctx.topo);
      return echoer_image(me);
    }
    native_side me;
    if constexpr (round_trip) {
      auto&& to = producer_endpoint(*back_q);
      native_echo<Item>(from, *there_ws, to, *back_ws, *ctl, me, *ctx.clock);
    } else {
      native_consumer<Item>(from, *there_ws, *ctl, me, *ctx.clock, consumer_work);
    }
    done();
    me.outcome.pu = current_pu(*ctx.topo);
    return image_of(me);
  });
  auto stop_all = [&] {
    ctl->phase.store(stop, std::memory_order_release);
    close_all();
    wake_control_waiters(*ctl);
  };
  enter(there, role::conductor, 0);
  if (back_q) enter(*back_q, role::conductor, 0);
  children.watch([&](const side_processes::lost_side&) {
    ctl->side_lost.store(1, std::memory_order_release);
    stop_all();
  });

  conductor_times times;
  const std::string failure = conduct_sides(times, *ctl, cfg, ctx, close_all, stop_all, children);
  const auto records = children.collect(cfg.drain_timeout_s);
  const auto lost = children.lost();
  std::vector<std::string> problems;
  for (const auto& side : lost)
    if (!killed_outside(lost, side.who, nullptr))  // one killed outside is the row's message (note_killed_outside)
      problems.push_back(fmt::format("side process {} {}; the run was stopped", side.who, side.how));
  auto note = [&](const char* who, const std::string& e) {
    if (!e.empty() && !killed_outside(lost, who, nullptr)) problems.push_back(fmt::format("{}: {}", who, e));
  };
  native_side native_producer_side, native_consumer_side;
  pinger_state pinger;
  thread_outcome echoer;
  if (cfg.native) {
    note("producer 0", load_image(records[0], native_producer_side));
    note("consumer 0", load_image(records[1], native_consumer_side));
  } else if constexpr (round_trip) {
    note("producer 0", load_image(records[0], pinger));
    note("consumer 0", load_echoer_image(records[1], echoer));
  }
  if (!failure.empty() && times.t0 == 0) throw std::runtime_error(not_started(failure, problems));
  if (!problems.empty()) {
    times.timed_out = true;
    times.stop_reason = joined(problems);
  }
  run_config scoped = cfg;
  scoped.scope = scope_of<Transport>;
  run_result r = cfg.native || !round_trip
                     ? analyse_native(scoped, ctx, times, native_producer_side, native_consumer_side, plan)
                     : analyse_pingpong(scoped, ctx, times, pinger, echoer, plan);
  r.capacity_actual = there.capacity();
  note_killed_outside(r, lost, nullptr, {});
  return r;
}

}  // namespace ringlab::ipc
