// One run split across two hosts: this host's half of run_processes_typed. `ringlab run
// --connect` (half consumers) forks the consumers, conducts and writes the row; `ringlab
// serve` (half producers) forks the producers and follows the conductor's phases. Each
// host has a segment of its own; the remote link (scopes/hosts/remote_link.hpp) keeps the two
// control blocks in step and brings the producers' records to the conductor, so the
// analysis is the one every run gets. Each side binds or dials the address its host has
// on the control connection. Clocks: when the hosts differ (boot ids), no latency is
// computed from two clocks: a call per item reports half its round trip (on the
// consumer's clock), other transports none, and the drain (last push to last exit) is
// left out. A failure of the other host ends the run with one line and no row.
#pragma once
#include <fmt/core.h>

#include "harness/interrupt.hpp"
#include "scopes/hosts/remote_link.hpp"
#include "scopes/processes/run_processes.hpp"

namespace ringlab::ipc {

// Half the round trip of each call, when one clock cannot time an item end to end.
inline harness::latency_summary halved(harness::latency_summary s) {
  for (double* v : {&s.p50, &s.p90, &s.p99, &s.p999, &s.p9999, &s.max, &s.mean}) *v /= 2;
  return s;
}

// Serve: wait until the conductor's consumers have left (or a side, or the link, was lost).
inline void follow_to_the_end(const harness::control_block& ctl, unsigned consumers, const std::function<void()>& on_interrupt) {
  while (ctl.consumers_exited.load(std::memory_order_acquire) < consumers && !ctl.side_lost.load(std::memory_order_acquire)) {
    if (harness::interrupted()) on_interrupt();
    const std::uint32_t left = ctl.consumers_exited.load(std::memory_order_acquire);
    timespec ts{0, 10'000'000};  // the link wakes this word; Ctrl-C is looked at every 10 ms
    ::syscall(SYS_futex, const_cast<std::uint32_t*>(reinterpret_cast<const std::uint32_t*>(&ctl.consumers_exited)),
              FUTEX_WAIT, left, &ts, nullptr, 0);
  }
}

template <class Q, class W, class Item>
harness::run_result run_split_typed(const harness::run_config& cfg, const harness::run_context& ctx) {
  using namespace harness;
  using Transport = typename Q::transport;
  using SW = across_processes_t<W>;
  remote_link& link = *ctx.remote;
  const bool conductor = link.here() == remote_link::half::consumers;
  if (conductor) link.offer(cfg);  // the serve builds its half, or says why not

  const pin_plan plan = plan_pinning(*ctx.topo, parse_pin(cfg.pin, *ctx.topo), cfg.producers, cfg.consumers);
  const std::size_t at_ws = round_up_lines(sizeof(control_block));
  const std::size_t at_ring = at_ws + round_up_lines(sizeof(wait_state<SW>));
  remove_stale_segments();
  segment seg = segment::create(at_ring + Transport::block_bytes(cfg.capacity));
  auto* base = static_cast<std::byte*>(seg.data());
  auto* ctl = ::new (base) control_block{};
  auto* ws = ::new (base + at_ws) wait_state<SW>{};
  std::optional<Transport> transport;
  Transport& q = build_transport(transport, cfg.capacity, base + at_ring, stream_options_of(cfg));
  seg.mark_ready();
  seg.unlink();

  std::vector<producer_state> producers;
  std::vector<consumer_state> consumers;
  for (unsigned p = 0; p < cfg.producers; ++p) producers.emplace_back(p);
  for (unsigned c = 0; c < cfg.consumers; ++c) consumers.emplace_back(c, cfg.producers);
  const side_plan sides = plan_sides<Transport>(cfg, ctx);
  const Item prototype = prototype_item<Item>();
  if (!conductor) link.accept();

  side_processes children;
  side_wiring<Transport, SW, Item> wiring{q, *ws, *ctl, producers, consumers, sides, ctx, plan, prototype};
  const side_net here{"", link.local_address()};  // each side listens or dials as this host
  if (!conductor)
    for (unsigned p = 0; p < cfg.producers; ++p) wiring.spawn_producer(children, p, here, cfg.consumers);
  else
    for (unsigned c = 0; c < cfg.consumers; ++c) wiring.spawn_consumer(children, c, here);
  auto stop_all = [&] { wiring.stop_all(); };
  enter(q, role::conductor, 0);
  children.watch([&](const side_processes::lost_side& lost) {
    ctl->side_lost.store(1, std::memory_order_release);
    stop_all();
    if (conductor) link.report_lost(fmt::format("{} on {} {}", lost.who, link.local_address(), lost.how));
  });
  split_hooks hooks{[&] { return q.published(); }, [&](const std::string& at) { q.meet(at); },
                    [&] { ringlab::close(q, *ws); },
                    [&](unsigned n) {
                      if constexpr (requires { q.others_left(n); }) q.others_left(n);
                    },
                    stop_all};
  link.follow(*ctl, cfg, hooks);

  // Each host's sides' records, and what went wrong with them.
  std::vector<std::string> problems;
  auto load = [&](const std::string& who, const auto& record, auto& state) {
    if (auto e = load_image(record, state); !e.empty()) problems.push_back(fmt::format("{}: {}", who, e));
  };
  if (!conductor) {
    follow_to_the_end(*ctl, cfg.consumers, [&] {
      stop_all();
      link.report_lost("serve was interrupted (Ctrl-C)");
      children.collect(5);
      throw run_interrupted();
    });
    const auto records = children.collect(cfg.drain_timeout_s);
    for (unsigned p = 0; p < cfg.producers; ++p) load(fmt::format("producer {}", p), records[p], producers[p]);
    for (const auto& lost : children.lost()) problems.push_back(fmt::format("side process {} {}", lost.who, lost.how));
    // This half's own reason goes even when the conductor's loss came first: a side here
    // failed (a listener), its side there then stopped, and the conductor waits for why.
    if (problems.empty() && link.lost().empty()) link.send_records(records);
    else if (!problems.empty()) link.report_lost(joined(problems));
    link.stop_following();
    if (!link.lost().empty()) throw std::runtime_error(link.lost());
    if (!problems.empty()) throw std::runtime_error(joined(problems));
    return run_result{};  // the row is the conductor's
  }

  conductor_times times;
  const std::string failure = conduct_sides(times, *ctl, cfg, ctx, [&] { ringlab::close(q, *ws); link.closed(); },
                                            [&] { stop_all(), link.closed(); }, children);
  const auto records = children.collect(cfg.drain_timeout_s);
  for (unsigned c = 0; c < cfg.consumers; ++c) load(fmt::format("consumer {}", c), records[c], consumers[c]);
  for (const auto& lost : children.lost())
    problems.insert(problems.begin(), fmt::format("side process {} {}; the run was stopped", lost.who, lost.how));
  // A side here failed: the serve was told and stops; its records are not waited for long,
  // unless the failure here came from there (its listener failed): then its reason is.
  const bool failed_here = !failure.empty() || !problems.empty();
  const double records_within_s = failed_here && !link.their_listener_failed() ? 2 : cfg.drain_timeout_s + 10;
  const auto remote = link.lost().empty() ? link.remote_records(records_within_s) : decltype(records){};
  link.stop_following();
  // The other host failed (or went away), or this one's sides did not start or lost the
  // producers' results: one line (both hosts' reasons), no row.
  std::vector<std::string> why;
  if (!link.lost().empty()) why.push_back(fmt::format("serve at {}: {}", link.peer(), link.lost()));
  if (failed_here) why.push_back(times.t0 == 0 ? not_started(failure, problems) : joined(problems));
  if (remote.size() != cfg.producers && why.empty())
    why.push_back(fmt::format("serve at {} sent no results within {} s of the run's end", link.peer(), records_within_s));
  if (!link.lost().empty() || times.t0 == 0 || remote.size() != cfg.producers) throw std::runtime_error(joined(why));
  for (unsigned p = 0; p < cfg.producers; ++p) load(fmt::format("producer {} (at {})", p, link.peer()), remote[p], producers[p]);
  if (!problems.empty()) times.timed_out = true, times.stop_reason = joined(problems);

  run_config scoped = cfg;
  scoped.scope = "host";
  if (!link.one_clock()) scoped.record_latency = false;  // the items' stamps are the other host's clock
  run_result r = analyse(scoped, ctx, *ctl, times, producers, consumers, plan);
  r.config.record_latency = cfg.record_latency;
  r.capacity_actual = q.capacity();
  if (link.one_clock()) r.same_machine_cpu_s = link.remote_cpu_s();  // the noise guard's own, not others' load
  if (!link.one_clock() && cfg.record_latency) {
    const bool calls = r.rtt.samples > 0;
    r.latency_method = calls ? "round_trip_half" : "none_two_clocks";
    if (calls) r.latency = halved(r.rtt);
    r.drain_ns = NAN;
  }
  return r;
}

}  // namespace ringlab::ipc
