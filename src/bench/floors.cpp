// floor/*: the physical yardsticks, with no queue contract around them. Two threads on
// the two PUs of two_pus() (the benchmark's own on PU a, a partner started and pinned
// before the timed loop on PU b), waiting by spinning with cpu_relax as the lock-free
// queues do.
//   floor/line_stream        PU a fills whole 64-byte lines (7 plain words, then the 8th,
//                            the flag, with release) of a 128-line ring; PU b reads a line
//                            with acquire, copies its 8 words and frees it (flag = 0). The
//                            producer takes a line only when the line 4 ahead is free too,
//                            so the two sides never poll the same line (as floor.line_ring).
//                            One iteration = one line = 8 items; items_per_s counts words:
//                            how many 8-byte items two cores move through line hand-offs.
//   floor/one_line_pingpong  one word each way, each alone on its own line pair: PU a stores
//                            n into `ping` and spins until `pong` == n; PU b echoes. One
//                            iteration = one round trip (rtt_ns): two line transfers.
#include <memory>

#include <ringlab/tag.hpp>

#include "bench/bench_util.hpp"

namespace ringlab::bench {
namespace {

constexpr unsigned words_per_line = cache_line / sizeof(std::uint64_t);  // 8
constexpr std::size_t ring_lines = 128, gap_lines = 4;

struct alignas(cache_line) line {
  std::uint64_t word[words_per_line - 1];
  std::atomic<std::uint64_t> flag{0};  // 0: free; else the 8th item
};
struct alignas(false_sharing_range) line_ring {
  line lines[ring_lines];
};

void line_stream(benchmark::State& state) {
  const auto pus = two_pus();
  if (!pus) return state.SkipWithError("floor/line_stream needs two PUs");
  pinned_here pin(pus->a);
  if (!pin.ok()) return state.SkipWithError(pin.why().c_str());
  auto ring = std::make_unique<line_ring>();
  partner consumer(pus->b, [r = ring.get()] {
    std::uint64_t sum = 0;
    for (std::size_t i = 0;; i = i + 1 == ring_lines ? 0 : i + 1) {
      line& l = r->lines[i];
      std::uint64_t last;
      while ((last = l.flag.load(std::memory_order_acquire)) == 0) cpu_relax();
      if (last == pill_tag) break;
      std::uint64_t copy[words_per_line];
      for (unsigned k = 0; k < words_per_line - 1; ++k) copy[k] = l.word[k];
      copy[words_per_line - 1] = last;
      l.flag.store(0, std::memory_order_release);
      for (std::uint64_t w : copy) sum += w;
    }
    benchmark::DoNotOptimize(sum);
  });
  if (!consumer.ok()) return state.SkipWithError(consumer.why().c_str());
  std::size_t next = 0;
  std::uint64_t sequence = 0;
  auto send = [&](std::uint64_t last) {
    const std::size_t ahead = next + gap_lines < ring_lines ? next + gap_lines : next + gap_lines - ring_lines;
    while (ring->lines[ahead].flag.load(std::memory_order_acquire) != 0) cpu_relax();
    line& l = ring->lines[next];
    for (unsigned k = 0; k < words_per_line - 1; ++k) l.word[k] = sequence + k;
    l.flag.store(last, std::memory_order_release);
    next = next + 1 == ring_lines ? 0 : next + 1;
  };
  const std::int64_t start = wall_ns();
  for (auto _ : state) send(make_tag(0, sequence += words_per_line));
  const std::int64_t elapsed = wall_ns() - start;
  send(pill_tag);
  consumer.join();
  report_items_per_s(state, static_cast<double>(state.iterations()) * words_per_line, elapsed);
  state.SetLabel(pus->label() + ", 8 items per iteration");
}

struct alignas(false_sharing_range) word_line {
  std::atomic<std::uint64_t> value{0};
};
struct ping_pong_words {
  word_line ping, pong;
};

void one_line_pingpong(benchmark::State& state) {
  constexpr std::uint64_t stop = ~std::uint64_t{0};
  const auto pus = two_pus();
  if (!pus) return state.SkipWithError("floor/one_line_pingpong needs two PUs");
  pinned_here pin(pus->a);
  if (!pin.ok()) return state.SkipWithError(pin.why().c_str());
  auto w = std::make_unique<ping_pong_words>();
  partner echo(pus->b, [w = w.get()] {
    for (std::uint64_t seen = 0;;) {
      std::uint64_t v;
      while ((v = w->ping.value.load(std::memory_order_acquire)) == seen) cpu_relax();
      if (v == stop) break;
      w->pong.value.store(v, std::memory_order_release);
      seen = v;
    }
  });
  if (!echo.ok()) return state.SkipWithError(echo.why().c_str());
  std::uint64_t n = 0;
  auto once = [&] {
    w->ping.value.store(++n, std::memory_order_release);
    while (w->pong.value.load(std::memory_order_acquire) != n) cpu_relax();
  };
  for (int i = 0; i < 1000; ++i) once();  // untimed warm-up
  const std::int64_t start = wall_ns();
  for (auto _ : state) once();
  const std::int64_t elapsed = wall_ns() - start;
  w->ping.value.store(stop, std::memory_order_release);
  echo.join();
  report_rtt_ns(state, elapsed);
  state.SetLabel(pus->label());
}

}  // namespace

void register_floors() {
  benchmark::RegisterBenchmark("floor/line_stream", line_stream);
  benchmark::RegisterBenchmark("floor/one_line_pingpong", one_line_pingpong);
}

}  // namespace ringlab::bench
