// One run with its sides in separate processes (scope process): the same producer and
// consumer code, control block, schedule, latency sampling and validation as threads
// (harness/sides.hpp, run.cpp), with the control block, the wait state and (for our
// rings) the transport in one shared-memory segment. The segment is unlinked as soon as
// it is built: the sides inherit the mapping by fork, so /dev/shm holds nothing of a run
// that is under way, whatever then dies. (In a crash run of a transport whose sides
// watch each other it keeps its name until the dead side's replacement has attached by
// it; if the conductor dies first, the next run or `ringlab clean` removes it.) A side
// that dies stops the run at once; the row says which side, how it died and that the run
// is invalid.
#pragma once
#include <fmt/core.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <new>
#include <optional>

#include "harness/run.hpp"
#include "scopes/processes/carry_on.hpp"
#include "scopes/processes/fault.hpp"
#include "transports/plumbing/net_path.hpp"
#include "transports/plumbing/segment.hpp"
#include "transports/transport.hpp"
#include "scopes/processes/side_image.hpp"
#include "scopes/processes/side_processes.hpp"

namespace ringlab::ipc {

inline constexpr std::size_t round_up_lines(std::size_t bytes) {
  return (bytes + false_sharing_range - 1) / false_sharing_range * false_sharing_range;
}

// A producer whose work is done stays until the consumers have left (or a side is lost):
// to a kernel transport a producer that had gone would look like a dead one (EOF).
inline void stay_until_consumers_leave(const harness::control_block& ctl, unsigned consumers) {
  for (;;) {
    const std::uint32_t left = ctl.consumers_exited.load(std::memory_order_acquire);
    // Not at the stop phase: consumers drain after it, and would read our exit as EOF.
    if (left >= consumers || ctl.side_lost.load(std::memory_order_acquire)) return;
    timespec ts{0, 10'000'000};  // side_lost is woken, not this word: look again every 10 ms
    ::syscall(SYS_futex, const_cast<std::uint32_t*>(reinterpret_cast<const std::uint32_t*>(&ctl.consumers_exited)),
              FUTEX_WAIT, left, &ts, nullptr, 0);
  }
}

template <class Transport>
inline constexpr const char* scope_of = over_network<Transport> ? "host" : "process";

inline stream_options stream_options_of(const harness::run_config& cfg) {
  return stream_options{cfg.producers, cfg.tcp_nodelay, cfg.batch, cfg.port, cfg.consumers};
}

inline std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

// Why a run's sides did not all start: what the sides said first (a bind error), then how
// they ended; the conductor's own words only when the sides said nothing.
inline std::string not_started(const std::string& conductor_said, std::vector<std::string> problems) {
  std::stable_partition(problems.begin(), problems.end(), [](const std::string& p) { return p.rfind("side process", 0) != 0; });
  return "the sides did not all start: " + (problems.empty() ? conductor_said : joined(problems));
}

// The conductor's part when the sides are processes: conduct the run; on Ctrl-C stop and
// reap the sides and rethrow; when the sides did not all start, stop them and return why
// (times.t0 is then 0). "" when it ran.
inline std::string conduct_sides(harness::conductor_times& times, harness::control_block& ctl,
                                 const harness::run_config& cfg, const harness::run_context& ctx,
                                 const std::function<void()>& close_queues, const std::function<void()>& stop_all,
                                 side_processes& children) {
  try {
    times = harness::conduct(ctl, cfg, ctx, close_queues);
  } catch (const harness::run_interrupted&) {
    stop_all();
    children.collect(5);
    throw;
  } catch (const std::runtime_error& e) {  // the sides did not all start
    stop_all();
    return e.what();
  }
  return "";
}

// How the conductor forks the sides of one run, and stops them: the one-host run below
// and the split run (run_split.hpp) alike. A side enters its network (`net`), runs its
// loop and sends its results back; a producer stays until `consumers` have left.
template <class Transport, class SW, class Item>
struct side_wiring {
  Transport& q;
  wait_state<SW>& ws;
  harness::control_block& ctl;
  std::vector<harness::producer_state>& producers;
  std::vector<harness::consumer_state>& consumers;
  const harness::side_plan& sides;
  const harness::run_context& ctx;
  const harness::pin_plan& plan;
  const Item& prototype;
  side_registry* registry = nullptr;  // where the sides watch each other (watches_peers), else none
  bool carry_on = false;              // a replacement carries on after the kill (can_carry_on transports only)

  void spawn_producer(side_processes& children, unsigned p, const side_net& net, unsigned consumers_to_wait_for) {
    children.spawn(fmt::format("producer {}", p), [&, p] {
      harness::bind_this_thread(*ctx.topo, plan.producer_pu[p]);
      producers[p].log.touch();  // its own copy now, not at the first sample
      enter_side_net(net);
      enter(q, role::producer, p);
      auto&& end = producer_endpoint(q);
      {
        side_membership member(registry, p, fmt::format("producer {}", p));
        // A ledger exists only for a transport that declares a crash guarantee: only it compiles the ledgered loop.
        if (carry_on) {
          if constexpr (can_carry_on<Transport>) {
            carrying_on<std::remove_reference_t<decltype(end)>> on{end, *registry, p, producers[p].outcome};
            harness::run_producer<Item, true>(on, ws, ctl, producers[p], sides, *ctx.clock, prototype);
          }
        } else if (producers[p].published_ledger)
          harness::run_producer<Item, keeps_crash_ledger<Transport>>(end, ws, ctl, producers[p], sides, *ctx.clock, prototype);
        else
          harness::run_producer<Item>(end, ws, ctl, producers[p], sides, *ctx.clock, prototype);
      }
      leave(q, role::producer);
      producers[p].outcome.pu = harness::current_pu(*ctx.topo);
      stay_until_consumers_leave(ctl, consumers_to_wait_for);
      return image_of(producers[p]);
    });
  }
  void spawn_consumer(side_processes& children, unsigned c, const side_net& net) {
    children.spawn(fmt::format("consumer {}", c), [&, c] {
      harness::bind_this_thread(*ctx.topo, plan.consumer_pu[c]);
      consumers[c].log.touch();
      enter_side_net(net);
      enter(q, role::consumer, c);
      auto&& end = consumer_endpoint(q);
      {
        side_membership member(registry, static_cast<unsigned>(producers.size()) + c, fmt::format("consumer {}", c));
        if (carry_on) {
          if constexpr (can_carry_on<Transport>) {
            const unsigned me = static_cast<unsigned>(producers.size()) + c;
            carrying_on<std::remove_reference_t<decltype(end)>> on{end, *registry, me, consumers[c].outcome};
            harness::run_consumer<Item, true>(on, ws, ctl, consumers[c], sides, *ctx.clock);
          }
        } else if (consumers[c].finished_ledger)
          harness::run_consumer<Item, keeps_crash_ledger<Transport>>(end, ws, ctl, consumers[c], sides, *ctx.clock);
        else
          harness::run_consumer<Item>(end, ws, ctl, consumers[c], sides, *ctx.clock);
      }
      leave(q, role::consumer);
      consumers[c].outcome.pu = harness::current_pu(*ctx.topo);
      return image_of(consumers[c]);
    });
  }
  // A carry-on run (--carry-on): a standby, forked with the sides, takes the killed side's
  // place once a survivor has found it dead and waits idle (side_registry), repairs the
  // transport (adopt_*), and runs that side's loop from where it stopped: a producer from
  // the item after the one in doubt (its ledger's count + 1), a consumer with the dead
  // one's tally rebuilt from its ledger (one consumer: the items it finished are a prefix).
  // Its record is the dead side's; empty if there was nothing to take over.
  void spawn_replacement(side_processes& children, unsigned victim, const side_net& net, const harness::crash_ledger& ledger,
                         unsigned consumers_to_wait_for) {
    const bool producer_died = victim < producers.size();
    const unsigned index = producer_died ? victim : victim - static_cast<unsigned>(producers.size());
    children.spawn("replacement", [&, victim, producer_died, index]() -> std::vector<std::uint64_t> {
      const std::string who = fmt::format("{} {} (replacement)", producer_died ? "producer" : "consumer", index);
      for (;;) {  // until a survivor finds the victim dead, or the run ends without that
        const auto v = registry->take_over_if_dead(victim, who);
        if (v == side_registry::vacancy::taken) break;
        if (v == side_registry::vacancy::gone || registry->others_left(victim) || ws.is_closed() ||
            ctl.side_lost.load(std::memory_order_acquire))
          return {};
        ::usleep(100);
      }
      while (!registry->others_idle(victim))  // the survivors wait outside the transport: it is still
        if (ws.is_closed()) return registry->leave(victim), std::vector<std::uint64_t>{};
        else ::usleep(50);
      harness::bind_this_thread(*ctx.topo, producer_died ? plan.producer_pu[index] : plan.consumer_pu[index]);
      enter_side_net(net);
      enter(q, producer_died ? role::producer : role::consumer, index);
      if constexpr (requires { q.adopt_producer(); q.adopt_consumer(); })
        producer_died ? (void)q.adopt_producer() : (void)q.adopt_consumer();
      peer_watch::arm(*registry, victim);
      std::atomic<std::uint64_t> own_count{0};
      std::vector<std::atomic<std::uint64_t>> own_counts(producers.size());
      std::vector<std::uint64_t> record;
      if (producer_died) {
        auto& me = producers[index];
        me.log.touch();
        me.first_sequence = ledger.published(index)->load(std::memory_order_acquire) + 1;  // past the one in doubt
        me.published_ledger = &own_count;  // the run's ledger keeps the dead one's count, for the row
        registry->repaired();
        auto&& end = producer_endpoint(q);
        carrying_on<std::remove_reference_t<decltype(end)>> on{end, *registry, victim, me.outcome};
        harness::run_producer<Item, true>(on, ws, ctl, me, sides, *ctx.clock, prototype);
        leave(q, role::producer);
        me.outcome.pu = harness::current_pu(*ctx.topo);
        record = image_of(me);
      } else {
        auto& me = consumers[index];
        me.log.touch();
        for (unsigned p = 0; p < producers.size(); ++p) {  // what the dead one finished: 0..n-1 of each producer
          const std::uint64_t n = ledger.finished(index)[p].load(std::memory_order_acquire);
          harness::producer_tally& t = me.tally.by_producer[p];
          t.count = n, t.mixed_sum = 0, t.last_sequence = static_cast<std::int64_t>(n) - 1;
          for (std::uint64_t seq = 0; seq < n; ++seq) t.mixed_sum += harness::mix64(seq);
        }
        me.finished_ledger = own_counts.data();
        registry->repaired();
        auto&& end = consumer_endpoint(q);
        carrying_on<std::remove_reference_t<decltype(end)>> on{end, *registry, victim, me.outcome};
        harness::run_consumer<Item, true>(on, ws, ctl, me, sides, *ctx.clock);
        leave(q, role::consumer);
        me.outcome.pu = harness::current_pu(*ctx.topo);
        record = image_of(me);
      }
      peer_watch::disarm();
      registry->leave(victim);
      if (producer_died) stay_until_consumers_leave(ctl, consumers_to_wait_for);
      return record;
    });
  }
  void stop_all() {
    ctl.phase.store(harness::stop, std::memory_order_release);
    ringlab::close(q, ws);
    harness::wake_control_waiters(ctl);
  }
};

template <class Q, class W, class Item>
harness::run_result run_processes_typed(const harness::run_config& cfg, const harness::run_context& ctx) {
  using namespace harness;
  using Transport = typename Q::transport;
  using SW = across_processes_t<W>;
  const pin_plan plan = plan_pinning(*ctx.topo, parse_pin(cfg.pin, *ctx.topo), cfg.producers, cfg.consumers);

  // The segment: control block | wait state | side registry (watched transports) | crash
  // ledger (a crash run of a transport that declares a guarantee) | the transport's bytes,
  // each on its own lines.
  const unsigned side_count = cfg.producers + cfg.consumers;
  const bool ledgered = keeps_crash_ledger<Transport> && cfg.fault != "none";
  const std::size_t at_ws = round_up_lines(sizeof(control_block));
  const std::size_t at_registry = at_ws + round_up_lines(sizeof(wait_state<SW>));
  const std::size_t at_ledger = at_registry + round_up_lines(run_registry::bytes(watches_peers<Transport>, side_count));
  const std::size_t at_ring =
      at_ledger + (ledgered ? round_up_lines(crash_ledger::bytes(cfg.producers, cfg.consumers)) : 0);
  remove_stale_segments();
  const auto shm_before = cfg.fault != "none" ? shm_names() : std::set<std::string>{};
  segment seg = segment::create(at_ring + Transport::block_bytes(cfg.capacity));
  auto* base = static_cast<std::byte*>(seg.data());
  auto* ctl = ::new (base) control_block{};
  auto* ws = ::new (base + at_ws) wait_state<SW>{};
  const run_registry registry(watches_peers<Transport>, base + at_registry, side_count);
  std::optional<crash_ledger> ledger;
  if (ledgered) ledger.emplace(base + at_ledger, cfg.producers, cfg.consumers);
  std::optional<Transport> transport;  // ended before the fault report looks at /dev/shm (a peer's daemon)
  Transport& q = build_transport(transport, cfg.capacity, base + at_ring, stream_options_of(cfg));
  const net_sides net(parse_net_path(cfg.net));
  seg.mark_ready();
  // In a crash run of a transport whose sides watch each other, the dead side's
  // replacement attaches by name (probe_after_fault): the name stays until it has.
  const bool named_until_probe = ledgered && watches_peers<Transport> && requires(void* m) { Transport::attach(m); };
  if (!named_until_probe) seg.unlink();

  std::vector<producer_state> producers;
  std::vector<consumer_state> consumers;
  for (unsigned p = 0; p < cfg.producers; ++p) producers.emplace_back(p);
  for (unsigned c = 0; c < cfg.consumers; ++c) consumers.emplace_back(c, cfg.producers);
  if (ledger) {
    for (unsigned p = 0; p < cfg.producers; ++p) producers[p].published_ledger = ledger->published(p);
    for (unsigned c = 0; c < cfg.consumers; ++c) consumers[c].finished_ledger = ledger->finished(c);
  }
  const side_plan sides = plan_sides<Transport>(cfg, ctx);
  const Item prototype = prototype_item<Item>();

  side_processes children;
  side_wiring<Transport, SW, Item> wiring{q, *ws, *ctl, producers, consumers, sides, ctx, plan, prototype, registry.get()};
  const bool carry_on = can_carry_on<Transport> && ledgered && cfg.carries_on();  // validate() refused the others
  wiring.carry_on = carry_on;
  for (unsigned p = 0; p < cfg.producers; ++p) wiring.spawn_producer(children, p, net.producers(), cfg.consumers);
  for (unsigned c = 0; c < cfg.consumers; ++c) wiring.spawn_consumer(children, c, net.consumers());
  if constexpr (can_carry_on<Transport>)
    if (carry_on) {
      const unsigned victim = cfg.kills_consumer() ? cfg.producers : 0;
      wiring.spawn_replacement(children, victim, victim ? net.consumers() : net.producers(), *ledger, cfg.consumers);
    }
  auto stop_all = [&] { wiring.stop_all(); };
  enter(q, role::conductor, 0);
  fault_injector fault(cfg, children, [&] {
    if (carry_on && registry.get()->repairs() > 0) return;  // the survivors noticed, and the run goes on
    ctl->side_lost.store(1, std::memory_order_release);
    stop_all();
  });
  children.watch([&](const side_processes::lost_side& lost) {
    if (lost.who == fault.victim() && fault.killed_ns()) return;  // our kill: the survivors may notice first
    ctl->side_lost.store(1, std::memory_order_release);
    stop_all();
  });
  fault.start([&] { return ctl->phase.load(std::memory_order_acquire) != waiting; });

  conductor_times times;
  const std::string failure = conduct_sides(times, *ctl, cfg, ctx, [&] { ringlab::close(q, *ws); }, stop_all, children);
  fault.finish();
  const auto records = children.collect(cfg.drain_timeout_s);
  const bool killed = fault.killed_ns() != 0;
  std::vector<std::string> problems;
  unsigned survivors_without_results = 0;
  const auto lost = children.lost();
  auto load = [&](const std::string& who, const auto& record, auto& state) {
    if (killed && who == fault.victim()) return;    // its results died with it
    if (killed_outside(lost, who, &fault)) return;  // likewise
    if (auto e = load_image(record, state); !e.empty()) {
      problems.push_back(fmt::format("{}: {}", who, e));
      survivors_without_results += record.empty();
    }
  };
  for (unsigned p = 0; p < cfg.producers; ++p) load(fmt::format("producer {}", p), records[p], producers[p]);
  for (unsigned c = 0; c < cfg.consumers; ++c) load(fmt::format("consumer {}", c), records[cfg.producers + c], consumers[c]);
  // The replacement's record is the dead side's (empty: it had nothing to take over).
  std::string replacement_failed;
  const bool took_over = carry_on && killed && records.size() > side_count && !records[side_count].empty();
  if (took_over)
    replacement_failed = fault.victim_index() < cfg.producers ? load_image(records[side_count], producers[0])
                                                              : load_image(records[side_count], consumers[0]);
  const bool carried_on = took_over && replacement_failed.empty();
  for (const auto& side : lost)
    if (!(killed && side.who == fault.victim()) && !killed_outside(lost, side.who, &fault))
      problems.insert(problems.begin(), fmt::format("side process {} {}; the run was stopped", side.who, side.how));
  if (!failure.empty() && times.t0 == 0)  // nothing ran: like a thread that could not start, an error
    throw std::runtime_error(not_started(failure, problems));
  if (!problems.empty()) {
    times.timed_out = true;
    times.stop_reason = joined(problems);
  }
  run_config scoped = cfg;
  scoped.scope = scope_of<Transport>;
  run_result r = analyse(scoped, ctx, *ctl, times, producers, consumers, plan);
  r.capacity_actual = q.capacity();
  note_killed_outside(r, lost, &fault, consumers);
  if (fault.armed()) {
    const crash_ledger* kept = ledger ? &*ledger : nullptr;
    fault_report report{fault, children.lost(), survivors_without_results, "not probed", {}, kept, crash_guarantee_of<Transport>()};
    const run_by_name by_name{&seg, seg.name(), at_registry, at_ledger, at_ring, cfg.producers, cfg.consumers,
                              killed ? fault.victim_index() : 0, ledgered};
    if (carried_on) report.probe = "";  // the run itself went on through it
    else if (killed)
      report.probe = probe_after_fault(q, prototype, fault.victim().rfind("producer", 0) == 0, kept,
                                       named_until_probe ? &by_name : nullptr);
    report.by_name = killed && named_until_probe && !carried_on;
    report.carried_on = carried_on;
    report.replacement_failed = replacement_failed;
    seg.unlink();
    transport.reset();
    report.left_in_shm = shm_names_left(shm_before);
    report.fill(r, producers, consumers);
  }
  return r;
}

}  // namespace ringlab::ipc
