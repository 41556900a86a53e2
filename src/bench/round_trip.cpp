// round_trip/<queue>: one item there and back between two pinned PUs. The benchmark's
// thread (PU a) pushes a tag into queue 1 and waits for it to come back on queue 2; a
// partner thread (PU b), started and pinned before the timed loop, echoes it. One
// iteration is one round trip; rtt_ns is wall time over round trips. Waiting is what the
// harness does with each queue: lock-free queues spin (ringlab::spin, cpu_relax) around
// try_push/try_pop; queues that block natively use their own push/pop (ringlab::block).
// Queues that delay visibility (floor.line_ring) cannot ping-pong and are left out.
#include <memory>
#include <string>

#include <ringlab/wait.hpp>

#include "bench/bench_util.hpp"
#include "bench/each_queue.hpp"

namespace ringlab::bench {
namespace {

template <class Q>
using wait_for = std::conditional_t<Q::properties.blocks_natively, ringlab::block, ringlab::spin>;

template <class Q>
struct round_trip_state {
  using W = wait_for<Q>;
  explicit round_trip_state(std::size_t capacity) : there(capacity), back(capacity) {}
  queue_box<Q> there, back;
  wait_state<W> there_ws, back_ws;
};

template <class Q>
void round_trip(benchmark::State& state, std::size_t capacity) {
  using W = wait_for<Q>;
  static_assert(!std::is_same_v<W, ringlab::block> || blocking_queue<Q>, "blocks_natively needs push/pop");
  const auto pus = two_pus();
  if (!pus) return state.SkipWithError("round_trip needs two PUs");
  pinned_here pin(pus->a);
  if (!pin.ok()) return state.SkipWithError(pin.why().c_str());
  auto s = std::make_unique<round_trip_state<Q>>(capacity);

  partner echo(pus->b, [&s] {
    auto&& in = consumer_endpoint(s->there.q);
    auto&& out = producer_endpoint(s->back.q);
    item x{};
    while (pop(in, s->there_ws, x) && !is_pill(x))
      if (!push(out, s->back_ws, x)) break;
  });
  if (!echo.ok()) return state.SkipWithError(echo.why().c_str());

  auto&& out = producer_endpoint(s->there.q);
  auto&& in = consumer_endpoint(s->back.q);
  std::uint64_t sequence = 0, mismatches = 0;
  item x{};
  auto once = [&] {
    const item sent = make_tag(0, sequence++);
    push(out, s->there_ws, sent);
    pop(in, s->back_ws, x);
    benchmark::DoNotOptimize(x);
    mismatches += x != sent;
  };
  for (int i = 0; i < 1000; ++i) once();  // warm the lines and the wake-up paths, untimed
  const std::int64_t start = wall_ns();
  for (auto _ : state) once();
  const std::int64_t elapsed = wall_ns() - start;
  push(out, s->there_ws, pill_tag);  // the echo ends on the pill
  echo.join();
  if (mismatches) return state.SkipWithError(("round_trip: " + std::to_string(mismatches) + " wrong echoes").c_str());
  report_rtt_ns(state, elapsed);
  state.SetLabel(pus->label() + ", capacity " + std::to_string(capacity) + ", wait " + W::name);
}

}  // namespace

void register_round_trip() {
  for_each_queue([]<class Q>(const char* name, std::size_t capacity) {
    if constexpr (!Q::properties.delays_visibility)
      benchmark::RegisterBenchmark((std::string("round_trip/") + name).c_str(),
                                   [capacity](benchmark::State& s) { round_trip<Q>(s, capacity); });
  });
}

}  // namespace ringlab::bench
