// push_pop/<queue>: the uncontended cost of one try_push + try_pop pair on one thread
// (pinned to the first PU), through the endpoints the harness uses. Each iteration pushes
// a fresh tag and pops it back, so the queue holds at most one item and every access
// hits this core's cache: the floor of a queue's own bookkeeping, with no transfer.
// floor.line_ring is included with a flush() after each push (its items only become
// visible a line at a time): its number is the cost of publishing a whole line per item.
#include <memory>
#include <string>

#include "bench/bench_util.hpp"
#include "bench/each_queue.hpp"

namespace ringlab::bench {
namespace {

template <class Q>
void push_pop(benchmark::State& state, std::size_t capacity) {
  pinned_here pin(first_pu());
  if (!pin.ok()) return state.SkipWithError(pin.why().c_str());
  auto box = std::make_unique<queue_box<Q>>(capacity);
  auto&& producer = producer_endpoint(box->q);
  auto&& consumer = consumer_endpoint(box->q);
  std::uint64_t sequence = 0, failures = 0, mismatches = 0;
  item out{};
  const std::int64_t start = wall_ns();
  for (auto _ : state) {
    const item in = make_tag(0, sequence++);
    failures += !producer.try_push(in);
    if constexpr (Q::properties.delays_visibility) flush(producer);
    failures += !consumer.try_pop(out);
    benchmark::DoNotOptimize(out);
    mismatches += out != in;
  }
  const std::int64_t elapsed = wall_ns() - start;
  if (failures || mismatches)
    return state.SkipWithError(("push_pop: " + std::to_string(failures) + " failed operations, " +
                                std::to_string(mismatches) + " wrong items")
                                   .c_str());
  report_items_per_s(state, static_cast<double>(state.iterations()), elapsed);
  state.SetLabel("pu " + std::to_string(first_pu()) + ", capacity " + std::to_string(capacity));
}

}  // namespace

void register_push_pop() {
  for_each_queue([]<class Q>(const char* name, std::size_t capacity) {
    benchmark::RegisterBenchmark((std::string("push_pop/") + name).c_str(),
                                 [capacity](benchmark::State& s) { push_pop<Q>(s, capacity); });
  });
}

}  // namespace ringlab::bench
