// What a producer and a consumer do in a run, apart from how they are started. Each
// side's state is a plain struct on its own cache lines; the only things both sides
// touch are the queue (and its wait state) and the control block, which is written
// rarely (phase changes, one count per producer at its end, join flushes).
#pragma once
#include <atomic>
#include <cstdint>
#include <algorithm>
#include <csignal>
#include <ctime>
#include <sys/resource.h>
#include <string>
#include <type_traits>
#include <vector>

#include <ringlab/peer_lost.hpp>
#include <ringlab/tag.hpp>
#include <ringlab/wait.hpp>

#include "harness/clock.hpp"
#include "harness/config.hpp"
#include "harness/item.hpp"
#include "harness/latency_log.hpp"
#include "harness/schedule.hpp"
#include "harness/work.hpp"
#include "harness/validation.hpp"

namespace ringlab::harness {

enum phase : std::uint32_t { waiting = 0, warmup = 1, measure = 2, stop = 3 };

// The control block's futexes are process-shared, so that sides in other processes
// (scope process) wake and are woken through it too; they are used only at phase
// changes and at the end, never per item, so the cost of a shared futex does not show.
inline constexpr bool shared_futex = true;

struct control_block {
  alignas(false_sharing_range) std::atomic<std::uint32_t> phase{waiting};  // futex word while waiting
  schedule plan;                                                            // written before phase leaves waiting
  alignas(false_sharing_range) std::atomic<std::uint32_t> ready{0};       // threads bound and initialised
  alignas(false_sharing_range) std::atomic<std::uint32_t> producers_finished{0};
  alignas(false_sharing_range) std::atomic<std::uint64_t> pushed_total{0};  // join: producers' counts
  alignas(false_sharing_range) std::atomic<std::uint64_t> done_total{0};    // join: task_done, flushed in batches
  alignas(false_sharing_range) std::atomic<std::uint32_t> join_reached{0};  // bumped when done == pushed
  std::atomic<std::uint64_t> join_reached_ticks{0};                          // when that happened
  alignas(false_sharing_range) std::atomic<std::uint32_t> consumers_exited{0};
  std::atomic<std::uint32_t> side_lost{0};  // scope process: a side died; the conductor stops waiting
};

struct side_plan {
  unsigned producers = 1, consumers = 1;
  termination ending = termination::sentinel;
  bool linearizable = true;  // sentinel: one pill per consumer from the last producer
  bool check_order = true;
  std::uint64_t items_per_producer = 0;  // 0: until the stop phase
  unsigned first_extra_producers = 0;    // producers below this index push one item more
  // Latency sampling for the measured window (see latency_log.hpp).
  bool record_latency = true;
  std::uint64_t sample_floor = 1;   // the smallest interval allowed (--latency-sample)
  double window_ticks = 0;          // length of the measured window; 0 in items mode
  double offered_items_per_tick = 0;  // over all producers; 0 in closed loop
  std::uint64_t service_ticks = 0;    // the consumer's work per item (--service-ns), a busy wait
  std::uint64_t consumer_work = 0, producer_work = 0;  // --work-ns, --producer-work-ns: turns of work.hpp's loop

  // The interval a side uses from the start of the measured window, given what it did
  // in the warm-up (`done` items over `elapsed` ticks).
  std::uint64_t sampling_every(bool producer, std::uint64_t done, double elapsed) const {
    if (!record_latency) return latency_off_every;
    const double sides = producer ? producers : consumers;
    double expected;
    if (window_ticks == 0) expected = (items_per_producer + 1.0) * producers / sides * (producer ? 1 : 2);
    else if (offered_items_per_tick > 0) expected = offered_items_per_tick * window_ticks / sides * 1.25;
    else if (done > 0 && elapsed > 0) expected = done / elapsed * window_ticks * 1.25;
    else return std::max<std::uint64_t>(sample_floor, 64);  // no warm-up to learn from
    return sampling_interval(expected, sample_floor);
  }
};

// How often a side in a closed loop looks at the phase: after 1, 2, 4 ... up to 1024 items
// while each stretch of items takes under 100 us, and after every item again once one
// takes over a millisecond. A fixed 1024 was microseconds late at millions of items a
// second but a whole window late for a starved or slow side (under load, 1024 items of a
// yielding queue took 200 ms and hid a 150 ms window). Open loop: every item. The loop
// counts down in a local of its own (`until_look`): a member would sit in memory.
class phase_looks {
 public:
  phase_looks(const clock_source& clock, bool every_item)
      : clock_(clock), fast_ticks_(clock.from_ns(1e5)), slow_ticks_(clock.from_ns(1e6)), every_item_(every_item) {}
  std::uint64_t looked() noexcept {  // the side looks now; returns the items until the next look
    if (!every_item_) {
      const std::uint64_t now = clock_.ticks(), took = now - last_ticks_;
      if (took > slow_ticks_) stride_ = 1;
      else if (took < fast_ticks_ && stride_ < max_stride) stride_ *= 2;
      last_ticks_ = now;
    }
    return stride_;
  }

 private:
  static constexpr std::uint64_t max_stride = 1024;
  const clock_source& clock_;
  const std::uint64_t fast_ticks_, slow_ticks_;
  const bool every_item_;
  std::uint64_t stride_ = 1, last_ticks_ = 0;
};

inline std::uint64_t thread_cpu_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// What a side cost, from its start to its end: CPU time and the context switches it
// made (voluntary: it slept; involuntary: it was preempted), for threads and processes.
struct thread_outcome {
  std::uint64_t cpu_ns = 0;
  std::uint64_t voluntary_switches = 0, involuntary_switches = 0;
  int pu = -1;
  std::uint64_t start_ticks = 0, end_ticks = 0;
  // Its first try found the queue full (producer) or empty (consumer): it had to wait.
  // Counted by the harness's sides that try first (not `block`), from start to end.
  std::uint64_t waits = 0;
  std::uint64_t peer_lost_ns = 0;  // CLOCK_MONOTONIC when the transport told this side a peer had died
  std::string peer_lost_how;       // what it said ("EOF on the pipe: ...")

  void start_costs() noexcept {
    rusage u{};
    ::getrusage(RUSAGE_THREAD, &u);
    voluntary_switches = static_cast<std::uint64_t>(u.ru_nvcsw);
    involuntary_switches = static_cast<std::uint64_t>(u.ru_nivcsw);
    cpu_ns = thread_cpu_ns();
  }
  void finish_costs() noexcept {
    cpu_ns = thread_cpu_ns() - cpu_ns;
    rusage u{};
    ::getrusage(RUSAGE_THREAD, &u);
    voluntary_switches = static_cast<std::uint64_t>(u.ru_nvcsw) - voluntary_switches;
    involuntary_switches = static_cast<std::uint64_t>(u.ru_nivcsw) - involuntary_switches;
  }
};

struct alignas(false_sharing_range) producer_state {
  unsigned id = 0;
  std::uint64_t pushed = 0;
  std::uint64_t pushed_at_measure = 0, pushed_at_stop = 0;
  std::uint64_t last_push_ticks = 0;
  std::atomic<std::uint64_t>* published_ledger = nullptr;  // crash runs: where its count outlives it (crash_ledger.hpp)
  thread_outcome outcome;
  producer_latency_log log;
  std::uint64_t first_sequence = 0;  // a replacement that carries on starts here (scopes/processes/carry_on.hpp)
  explicit producer_state(unsigned i) : id(i) {}
};

struct alignas(false_sharing_range) consumer_state {
  unsigned id = 0;
  std::uint64_t popped = 0;
  std::uint64_t popped_at_measure = 0, popped_at_stop = 0;
  bool saw_measure = false, saw_stop = false;
  std::uint64_t last_pop_ticks = 0;  // its last item (sentinel: when its last pill came)
  thread_outcome outcome;
  delivery_tally tally;
  std::atomic<std::uint64_t>* finished_ledger = nullptr;  // crash runs: its counts per producer, outliving it
  consumer_latency_log log;
  // A transport whose every pop is a remote call (pop_is_a_call): those calls in the
  // measured window, in ticks (the first max_timed_calls), for the row's round trip.
  static constexpr std::size_t max_timed_calls = std::size_t{1} << 16;
  std::vector<std::uint64_t> call_ticks;
  // Its throughput trace: when (ticks) and how many items it had popped at the end of
  // each of the window's `slices` slices (timed windows only): a run that changes regime
  // mid-window shows as slices of two speeds. It looks at the clock every
  // `items_per_slice_look` items only (a clock read, 23 ns here, once per item in the
  // phase look cut `block` queues 5x); a slower run gets fewer marks (under 6: no spread).
  static constexpr std::size_t slices = 20;
  static constexpr std::uint64_t items_per_slice_look = 1024;
  std::vector<std::uint64_t> slice_popped, slice_end_ticks;
  std::uint64_t next_slice_ticks = 0, slice_ticks = 0;
  consumer_state(unsigned i, unsigned producers) : id(i), tally(producers) {}
};

// Workers leave SIGINT/SIGTERM to the conductor, whose sleeps they interrupt.
inline void leave_interrupts_to_the_conductor() noexcept {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// Wake whoever sleeps on the control block (the conductor, in any of its waits), so that
// it sees side_lost.
inline void wake_control_waiters(control_block& ctl) {
  for (auto* word : {&ctl.phase, &ctl.ready, &ctl.producers_finished, &ctl.join_reached, &ctl.consumers_exited, &ctl.side_lost})
    detail::futex_wake(*word, detail::wake_everyone, shared_futex);
}

inline std::uint64_t monotonic_now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// A side's transport reported a dead peer (peer_lost): the side notes when and how, stops
// the run (as the watcher does when a side dies) and goes on to its normal end, so its
// tallies still count. The loops catch it inline: a loop inside a lambda (this was one,
// 48be42a..) kept its locals behind the closure and cost spsc_ring ~40 % of its speed.
inline void note_peer_lost(const peer_lost& e, thread_outcome& out, control_block& ctl) {
  out.peer_lost_ns = monotonic_now_ns();
  out.peer_lost_how = e.what();
  ctl.phase.store(stop, std::memory_order_release);
  ctl.side_lost.store(1, std::memory_order_release);
  wake_control_waiters(ctl);
}

// Both sides: sleep until the run starts, then spin to t0 so everyone leaves together.
inline void wait_for_start(control_block& ctl, const clock_source& clock, thread_outcome& out) {
  ctl.ready.fetch_add(1, std::memory_order_acq_rel);
  detail::futex_wake(ctl.ready, 1, shared_futex);
  while (ctl.phase.load(std::memory_order_acquire) == waiting) detail::futex_wait(ctl.phase, waiting, shared_futex);
  while (clock.ticks() < ctl.plan.t0_ticks) cpu_relax();
  out.start_costs();
  out.start_ticks = clock.ticks();
}

// Hot loops keep what they touch per item in locals (the schedule, the sampling mask,
// the current producer's tally): state behind a pointer would be written back to memory
// before every release store inside the queue, which costs more than a fast queue.
// Ledgered (crash runs of transports that declare a crash guarantee only, so that no other
// loop pays a store per item): each side also stores its counts in the crash ledger.
template <class Item, bool Ledgered = false, class Endpoint, class W>
void run_producer(Endpoint& q, wait_state<W>& ws, control_block& ctl, producer_state& me, const side_plan& plan,
                  const clock_source& clock, const Item& prototype) {
  wait_for_start(ctl, clock, me.outcome);
  const schedule sched = ctl.plan;
  const bool open_loop = sched.open_loop();
  const unsigned id = me.id;
  const std::uint64_t producer_work = plan.producer_work;
  const std::uint64_t limit = plan.items_per_producer
                                  ? plan.items_per_producer + (id < plan.first_extra_producers ? 1 : 0)
                                  : ~std::uint64_t{0};
  std::uint64_t sample_mask = me.log.every() - 1, sample_from = me.log.first();
  std::uint32_t seen_phase = warmup;
  phase_looks looks(clock, open_loop);  // open loop: items are spaced out, look at every one
  std::uint64_t until_look = 1;
  std::uint64_t s = 0, waits = 0;
  if constexpr (requires { Endpoint::resumes_midway; }) s = me.first_sequence;
  std::atomic<std::uint64_t>* const ledger = me.published_ledger;
  bool peer_alive = true;
  try {
    for (; s < limit; ++s) {
      if (--until_look == 0) {
        until_look = looks.looked();
        const std::uint32_t now_phase = ctl.phase.load(std::memory_order_relaxed);
        if (now_phase != seen_phase) {
          if (now_phase >= measure && seen_phase < measure) {
            me.pushed_at_measure = s;
            const double elapsed = static_cast<double>(clock.ticks() - sched.t0_ticks);
            me.log.start(s, plan.sampling_every(true, s, elapsed));
            sample_mask = me.log.every() - 1;
            sample_from = me.log.first();
          }
          if (now_phase >= stop) break;
          seen_phase = now_phase;
        }
      }
      std::uint64_t enqueue_ticks = 0;
      if (open_loop) {
        const std::uint64_t due = sched.due(id, s);
        enqueue_ticks = clock.ticks();
        if (enqueue_ticks < due) enqueue_ticks = wait_until(clock, due, enqueue_ticks);
      }
      if ((s & sample_mask) == 0 && s >= sample_from) [[unlikely]] {
        me.log.record(s, enqueue_ticks ? enqueue_ticks : clock.ticks());
        sample_mask = me.log.every() - 1;
        sample_from = me.log.first();
      }
      if (producer_work) spin_iterations(producer_work);
      const Item item = with_tag(prototype, make_tag(id, s));
      if constexpr (std::is_same_v<W, block>) {  // the queue's own blocking push, as its authors drive it
        if (!push(q, ws, item)) break;            // closed: the run was stopped
      } else if (!try_push(q, ws, item)) {
        ++waits;  // full: the consumer is behind
        if (!push(q, ws, item)) break;
      }
      if constexpr (Ledgered) ledger->store(s + 1, std::memory_order_relaxed);
    }
    flush(q, ws);  // queues that publish in lines (floors) hold the last items back until told
  } catch (const peer_lost& e) {
    note_peer_lost(e, me.outcome, ctl);
    peer_alive = false;
  }
  me.pushed = me.pushed_at_stop = s;
  me.outcome.waits = waits;
  me.last_push_ticks = clock.ticks();

  // Termination. join: publish the count, then (in the control thread) wait for task_done.
  if (plan.ending == termination::join) {
    ctl.pushed_total.fetch_add(s, std::memory_order_acq_rel);
    ctl.producers_finished.fetch_add(1, std::memory_order_acq_rel);
    detail::futex_wake(ctl.producers_finished, detail::wake_everyone, shared_futex);
  } else {
    const auto finished = ctl.producers_finished.fetch_add(1, std::memory_order_acq_rel) + 1;
    detail::futex_wake(ctl.producers_finished, detail::wake_everyone, shared_futex);
    // Total order: the last producer's pills follow every item. Per-producer order
    // only: every producer sends one pill per consumer after its own items.
    if (peer_alive && (!plan.linearizable || finished == plan.producers)) {
      try {
        for (unsigned c = 0; c < plan.consumers; ++c)
          if (!push(q, ws, with_tag(prototype, pill_tag))) break;
        flush(q, ws);
      } catch (const peer_lost& e) {
        note_peer_lost(e, me.outcome, ctl);
      }
    }
  }
  me.outcome.end_ticks = clock.ticks();
  me.outcome.finish_costs();
}

// The queue's own blocking pop (`block`) is called for every item, as its authors drive
// it (atomic_queue's optimist pop reads only its slot; a try_pop first would read the
// other side's index too). Other strategies look with try_pop first, so that when the
// queue is empty the consumer can publish its join count and notice the phase.
template <class Item, bool Ledgered = false, class Endpoint, class W>
void run_consumer(Endpoint& q, wait_state<W>& ws, control_block& ctl, consumer_state& me, const side_plan& plan,
                  const clock_source& clock) {
  constexpr std::uint64_t join_batch = 256;  // task_done flushed every this many items, and when idle
  constexpr bool own_blocking = std::is_same_v<W, block>;
  constexpr bool timed_calls = [] {
    if constexpr (requires { Endpoint::properties; }) return Endpoint::properties.pop_is_a_call;
    return false;
  }();
  if constexpr (timed_calls) me.call_ticks.reserve(consumer_state::max_timed_calls);
  me.slice_popped.reserve(consumer_state::slices + 1), me.slice_end_ticks.reserve(consumer_state::slices + 1);
  wait_for_start(ctl, clock, me.outcome);
  const bool join = plan.ending == termination::join;
  const bool check_order = plan.check_order;
  const unsigned producers = plan.producers;
  const unsigned pills_needed = plan.linearizable ? 1 : plan.producers;
  const std::uint64_t service_ticks = plan.service_ticks, consumer_work = plan.consumer_work;
  // Open loop: look at the phase after every item (items are rare, and a late look would
  // shift the window); closed loop: as phase_looks paces it, and also whenever the queue
  // is found empty — but every item in a queue's own blocking pop, which never comes back
  // empty to look then (1024 items of a shaped link's stream once moved the window 0.4 s).
  phase_looks looks(clock, plan.offered_items_per_tick > 0 || own_blocking);
  std::uint64_t until_look = 1;
  unsigned pills = 0;
  std::uint64_t popped = 0, unflushed = 0, corrupt = 0, torn = 0, waits = 0;
  std::uint64_t sample_mask = me.log.every() - 1;
  // The tally of the producer whose item came last, in registers; others wait in me.tally.
  std::uint32_t current = 0;
  producer_tally tally = me.tally.by_producer[0];
  std::atomic<std::uint64_t>* const ledger = me.finished_ledger;
  // The per-item locals go to the helpers below by value (and `waited` to the slow pop):
  // a local whose address a helper takes lives in memory, a store per item (40 % once).
  Item item{};
  auto flush = [&](std::uint64_t unflushed) {  // task_done for `unflushed` items
    if (unflushed == 0) return;
    const auto done = ctl.done_total.fetch_add(unflushed, std::memory_order_acq_rel) + unflushed;
    if (ctl.producers_finished.load(std::memory_order_acquire) == plan.producers &&
        done == ctl.pushed_total.load(std::memory_order_acquire)) {
      ctl.join_reached_ticks.store(clock.ticks(), std::memory_order_relaxed);
      ctl.join_reached.fetch_add(1, std::memory_order_release);
      detail::futex_wake(ctl.join_reached, 1, shared_futex);
    }
  };
  auto check_phase = [&](std::uint64_t popped, std::uint64_t sample_mask) {  // returns the sample mask
    const std::uint32_t p = ctl.phase.load(std::memory_order_relaxed);
    if (p >= measure && !me.saw_measure) {
      me.saw_measure = true;
      me.popped_at_measure = popped;
      const std::uint64_t now = clock.ticks();
      const double elapsed = static_cast<double>(now - ctl.plan.t0_ticks);
      me.log.start(plan.sampling_every(false, popped, elapsed));
      sample_mask = me.log.every() - 1;
      me.slice_ticks = static_cast<std::uint64_t>(plan.window_ticks / consumer_state::slices);
      me.next_slice_ticks = now + me.slice_ticks;
      me.slice_popped.push_back(popped), me.slice_end_ticks.push_back(now);  // where the first slice starts
    }
    if (p >= stop && !me.saw_stop) me.saw_stop = true, me.popped_at_stop = popped;
    return sample_mask;
  };
  auto note_slice = [&](std::uint64_t popped) {  // a slice ends at the first look past its end
    if (!me.saw_measure || me.saw_stop || !me.slice_ticks || me.slice_popped.size() > consumer_state::slices) return;
    const std::uint64_t now = clock.ticks();
    if (now < me.next_slice_ticks) return;
    me.slice_popped.push_back(popped), me.slice_end_ticks.push_back(now);
    me.next_slice_ticks = now + me.slice_ticks;
  };
  sample_mask = check_phase(popped, sample_mask);
  try {
    for (;;) {
      if constexpr (own_blocking && timed_calls) {
        const std::uint64_t called = clock.ticks();
        if (!pop(q, ws, item)) break;
        if (me.saw_measure && !me.saw_stop && me.call_ticks.size() < consumer_state::max_timed_calls)
          me.call_ticks.push_back(clock.ticks() - called);
      } else if constexpr (own_blocking) {
        if (!pop(q, ws, item)) break;  // closed: released by join, or the run was stopped
      } else if (!try_pop(q, ws, item)) {
        ++waits;  // empty: the producers are behind
        if (join) flush(unflushed), unflushed = 0;
        sample_mask = check_phase(popped, sample_mask);
        Item waited{};
        if (!pop(q, ws, waited)) break;
        item = waited;
      }
      const tag t = tag_of(item);
      if (is_pill(t)) [[unlikely]] {
        if (++pills == pills_needed) break;
        continue;
      }
      consume_body(item);  // the whole copy happens, not just the words we read
      torn += !body_intact(item);
      ++popped;
      if ((popped & (consumer_state::items_per_slice_look - 1)) == 0) [[unlikely]] note_slice(popped);
      const std::uint32_t p = tag_producer(t);
      if (p != current) [[unlikely]] {
        if (p >= producers) {
          ++corrupt;
          continue;
        }
        me.tally.by_producer[current] = tally;
        tally = me.tally.by_producer[p];
        current = p;
      }
      const std::uint64_t seq = tag_sequence(t);
      delivery_tally::add(tally, seq, check_order);
      if constexpr (Ledgered) ledger[current].store(tally.count, std::memory_order_relaxed);
      if ((seq & sample_mask) == 0) [[unlikely]] {
        me.log.record(t, clock.ticks());
        sample_mask = me.log.every() - 1;
      }
      if (consumer_work) spin_iterations(consumer_work);
      if (service_ticks) [[unlikely]] {  // the item's work, after its latency was taken (it had arrived)
        const std::uint64_t until = clock.ticks() + service_ticks;
        while (clock.ticks() < until) cpu_relax();
      }
      if (join && ++unflushed == join_batch) flush(unflushed), unflushed = 0;
      if (--until_look == 0) [[unlikely]] {
        until_look = looks.looked();
        sample_mask = check_phase(popped, sample_mask);
      }
    }
  } catch (const peer_lost& e) {
    note_peer_lost(e, me.outcome, ctl);
  }
  me.tally.by_producer[current] = tally;
  me.tally.corrupt += corrupt;
  me.tally.torn += torn;
  me.last_pop_ticks = clock.ticks();
  if (join) flush(unflushed);
  check_phase(popped, sample_mask);
  me.popped = popped;
  if constexpr (!own_blocking) me.outcome.waits = waits;
  if (!me.saw_stop) me.popped_at_stop = popped;
  me.outcome.end_ticks = clock.ticks();
  me.outcome.finish_costs();
  ctl.consumers_exited.fetch_add(1, std::memory_order_acq_rel);
  detail::futex_wake(ctl.consumers_exited, detail::wake_everyone, shared_futex);  // the conductor, and producers in processes
}

}  // namespace ringlab::harness
