// The conductor's part of a run (harness/run.hpp): start everyone, move through warm-up /
// measure / stop on the clock, carry out the termination protocol, and stop at once when
// a side is lost or Ctrl-C comes. The same for every scope: sides are threads, processes
// or another host's, all on one control block.
#include "harness/run.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>

#include "harness/interrupt.hpp"

namespace ringlab::harness {
namespace {

using mono = std::chrono::steady_clock;

// Sleep on a futex word until pred(value) holds, the deadline passes or a side was lost
// (false), or Ctrl-C (throws run_interrupted after `on_interrupt`). Ctrl-C interrupts
// the futex wait (workers block the signal), so the conductor wakes only when something
// happened; so does the watcher of side processes when one dies (side_lost).
template <class Pred>
bool wait_on(const control_block& ctl, std::atomic<std::uint32_t>& word, Pred pred, mono::time_point deadline,
             const std::function<void()>& on_interrupt) {
  for (;;) {
    const std::uint32_t seen = word.load(std::memory_order_acquire);
    if (pred(seen)) return true;
    if (ctl.side_lost.load(std::memory_order_acquire)) return false;
    if (interrupted()) {
      on_interrupt();
      throw run_interrupted();
    }
    const auto now = mono::now();
    if (now >= deadline) return false;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now).count();
    timespec ts{ns / 1000000000, ns % 1000000000};
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, seen, &ts, nullptr, 0);
  }
}

// Sleep until the clock reads `ticks` (one futex wait on side_lost, which Ctrl-C or a
// lost side cuts short), then spin the last 100 us so the phase changes on time.
void sleep_until_ticks(control_block& ctl, const clock_source& clock, std::uint64_t ticks,
                       const std::function<void()>& on_interrupt) {
  for (std::uint64_t now = clock.ticks(); now < ticks; now = clock.ticks()) {
    if (interrupted()) {
      on_interrupt();
      throw run_interrupted();
    }
    if (ctl.side_lost.load(std::memory_order_acquire)) return;
    const double ns = clock.to_ns(static_cast<double>(ticks - now));
    if (ns > 200e3) {
      const auto sleep_ns = static_cast<long>(ns - 100e3);
      timespec ts{sleep_ns / 1000000000L, sleep_ns % 1000000000L};
      ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&ctl.side_lost), FUTEX_WAIT, 0u, &ts, nullptr, 0);
    } else {
      cpu_relax();
    }
  }
}

}  // namespace

conductor_times conduct(control_block& ctl, const run_config& cfg, const run_context& ctx,
                        const std::function<void()>& close_queue) {
  const clock_source& clock = *ctx.clock;
  conductor_times times;
  const unsigned threads = cfg.producers + cfg.consumers;
  bool closed = false;
  auto close_once = [&] {
    if (!closed) closed = true, close_queue();
  };
  auto stop_everyone = [&] {
    ctl.phase.store(stop, std::memory_order_release);
    detail::futex_wake(ctl.phase, detail::wake_everyone, shared_futex);
    close_once();
  };
  // On Ctrl-C: stop, let every thread leave, then report the interruption.
  auto on_interrupt = [&] {
    stop_everyone();
    wait_on(ctl, ctl.consumers_exited, [&](std::uint32_t v) { return v == cfg.consumers; },
            mono::now() + std::chrono::seconds(5), [] {});
  };
  if (!wait_on(ctl, ctl.ready, [&](std::uint32_t v) { return v == threads; }, mono::now() + std::chrono::seconds(30),
               on_interrupt))
    throw std::runtime_error("threads did not start within 30 s");

  times.clock_read_ns = measure_read_ns(clock);  // the workers are asleep until t0
  const double ticks_per_ns = 1.0 / clock.ns_per_tick;
  times.t0 = clock.ticks() + static_cast<std::uint64_t>(2e6 * ticks_per_ns);  // 2 ms for everyone to wake
  ctl.plan = schedule{times.t0, cfg.offered_rate > 0 ? 1e9 / cfg.offered_rate * ticks_per_ns : 0.0, cfg.producers};
  const double warmup_s = cfg.effective_warmup_s();
  ctl.phase.store(warmup_s > 0 ? warmup : measure, std::memory_order_release);
  detail::futex_wake(ctl.phase, detail::wake_everyone, shared_futex);

  times.measure_start = times.t0 + static_cast<std::uint64_t>(warmup_s * 1e9 * ticks_per_ns);
  if (warmup_s > 0) {
    if (cfg.items) {  // a short items run may be over before its warm-up is
      const auto left = clock.to_ns(static_cast<double>(times.measure_start - std::min(times.measure_start, clock.ticks())));
      wait_on(ctl, ctl.producers_finished, [&](std::uint32_t v) { return v == cfg.producers; },
              mono::now() + std::chrono::nanoseconds(static_cast<long>(left)), on_interrupt);
    } else {
      sleep_until_ticks(ctl, clock, times.measure_start, on_interrupt);
    }
    ctl.phase.store(measure, std::memory_order_release);
  }
  const auto drain_deadline = [&] {
    return mono::now() + std::chrono::duration_cast<mono::duration>(std::chrono::duration<double>(cfg.drain_timeout_s));
  };
  if (cfg.items == 0) {
    times.stop = times.measure_start + static_cast<std::uint64_t>(cfg.duration_s * 1e9 * ticks_per_ns);
    sleep_until_ticks(ctl, clock, times.stop, on_interrupt);
    ctl.phase.store(stop, std::memory_order_release);
  }
  // Items mode: the run lasts as long as the items take (generous bound: 1 h).
  const mono::time_point producers_deadline = cfg.items ? mono::now() + std::chrono::hours(1) : drain_deadline();
  bool finished = wait_on(ctl, ctl.producers_finished, [&](std::uint32_t v) { return v == cfg.producers; },
                          producers_deadline, on_interrupt);
  if (finished && cfg.ending == termination::join) {
    // join(): wait until every pushed item was task_done, then release the consumers. A
    // consumer in the queue's own blocking pop (`block`) cannot stop to publish its
    // count, so there the release comes first: every producer is done, so the consumers
    // drain the queue, publish what they did as they leave, and the join counts it.
    if (cfg.wait == "block") close_once();
    finished = wait_on(ctl, ctl.join_reached,
                       [&](std::uint32_t) {
                         return ctl.done_total.load(std::memory_order_acquire) ==
                                ctl.pushed_total.load(std::memory_order_acquire);
                       },
                       drain_deadline(), on_interrupt);
    if (finished) close_once();
  }
  if (finished)
    finished = wait_on(ctl, ctl.consumers_exited, [&](std::uint32_t v) { return v == cfg.consumers; }, drain_deadline(),
                       on_interrupt);
  if (!finished && ctl.side_lost.load()) {
    times.timed_out = true;
    times.stop_reason = "a side process died";  // the runner names it
    stop_everyone();
    return times;
  }
  if (!finished) {
    times.timed_out = true;
    times.stop_reason = fmt::format("the run did not finish within {} s of its end (items lost or a side stuck); stopped",
                                    cfg.drain_timeout_s);
    stop_everyone();
    if (!wait_on(ctl, ctl.consumers_exited, [&](std::uint32_t v) { return v == cfg.consumers; },
                 mono::now() + std::chrono::seconds(10), on_interrupt)) {
      fmt::print(stderr, "ringlab: error: {} {} threads are stuck even after close; giving up\n", cfg.queue, cfg.wait);
      std::_Exit(1);
    }
  }
  return times;
}

}  // namespace ringlab::harness
