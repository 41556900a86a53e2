// Wait strategies: how a thread waits when try_push finds the queue full or try_pop
// finds it empty (after the Disruptor's WaitStrategy). A strategy is a policy type:
//   W::channel                       pointer-free state one direction of waiting needs
//   W::until(channel, try_op, stop)  retry try_op until it succeeds (true) or stop() (false)
//   W::notify(channel)               after a successful op: let one waiter proceed
//   W::notify_all(channel)           on close: let every waiter look again
// Composed with any queue by ringlab::push/pop below; the queue itself never changes.
#pragma once
#include <atomic>
#include <cstdint>
#include <sched.h>

#include <ringlab/detail/platform.hpp>
#include <ringlab/queue.hpp>

namespace ringlab {

// Busy-wait with the pause hint: lowest latency, burns the core, collapses when the
// other side needs this core.
struct spin {
  static constexpr const char* name = "spin";
  struct channel {};
  template <class Op, class Stop>
  static bool until(channel&, Op&& op, Stop&& stopped) {
    while (!op()) {
      if (stopped()) return op();
      cpu_relax();
    }
    return true;
  }
  static void notify(channel&) noexcept {}
  static void notify_all(channel&) noexcept {}
};

// Spin briefly, then give the core away with sched_yield between attempts: survives
// oversubscription at the price of a syscall per retry.
template <unsigned SpinIterations = 64>
struct basic_yield {
  static constexpr const char* name = "yield";
  struct channel {};
  template <class Op, class Stop>
  static bool until(channel&, Op&& op, Stop&& stopped) {
    for (unsigned i = 0; !op(); ++i) {
      if (stopped()) return op();
      if (i < SpinIterations) cpu_relax();
      else ::sched_yield();
    }
    return true;
  }
  static void notify(channel&) noexcept {}
  static void notify_all(channel&) noexcept {}
};
using yield = basic_yield<>;

// Spin briefly, yield the core a few times, then sleep on a futex. The yields are for
// the partner that needs this very core (oversubscription): it runs, makes progress and
// no one pays a futex wake-up per item; a partner that is merely idle costs a few
// microseconds of yields before we sleep (spin, yield, sleep: as Go's runtime waits).
// A waiter registers in `sleepers` and re-checks before sleeping; a notifier reads
// `sleepers` with a read-modify-write on the same word, so either the waiter's re-check
// sees the item or the notifier sees the waiter (no fence, no lost wake-up). notify
// wakes one sleeper: any one of them can proceed.
// The last two parameters exist for the tests' negative control: without the re-check
// (Recheck = false) a wake-up can be lost, and Window runs between the waiter's last
// failed look and its registering (a preemption there is what loses one).
struct no_window {
  static void pass() noexcept {}
};
template <unsigned SpinIterations = 128, unsigned YieldIterations = 8, bool ProcessShared = false, bool Recheck = true,
          class Window = no_window>
struct basic_park {
  static constexpr const char* name = "park";
  // Across processes a sleeper wakes at least every millisecond to call stopped() again:
  // there it also watches the other processes (ipc's watched<W>), which can die unseen.
  static constexpr long shared_sleep_limit_ns = 1'000'000;
  struct channel {
    alignas(false_sharing_range) std::atomic<std::uint32_t> epoch{0};  // futex word, bumped by every wake
    std::atomic<std::uint32_t> sleepers{0};  // threads between registering and leaving futex_wait
  };
  template <class Op, class Stop>
  static bool until(channel& ch, Op&& op, Stop&& stopped) {
    for (unsigned i = 0; i < SpinIterations; ++i) {
      if (op()) return true;
      cpu_relax();
    }
    for (unsigned i = 0; i < YieldIterations; ++i) {
      if (op()) return true;
      if (stopped()) return op();
      ::sched_yield();
    }
    for (;;) {
      if (op()) return true;
      if (stopped()) return op();
      Window::pass();
      const std::uint32_t seen = ch.epoch.load(std::memory_order_seq_cst);
      ch.sleepers.fetch_add(1, std::memory_order_seq_cst);
      const bool done = Recheck && op();
      if (!done && !stopped()) detail::futex_wait(ch.epoch, seen, ProcessShared, ProcessShared ? shared_sleep_limit_ns : 0);
      ch.sleepers.fetch_sub(1, std::memory_order_release);
      if (done) return true;
    }
  }
  static void notify(channel& ch) noexcept {
    // fetch_add(0) rather than load: the RMW orders our queue write before this read.
    if (ch.sleepers.fetch_add(0, std::memory_order_seq_cst) != 0) wake(ch, 1);
  }
  static void notify_all(channel& ch) noexcept { wake(ch, detail::wake_everyone); }

 private:
  static void wake(channel& ch, int how_many) noexcept {
    ch.epoch.fetch_add(1, std::memory_order_seq_cst);
    detail::futex_wake(ch.epoch, how_many, ProcessShared);
  }
};
using park = basic_park<>;

// The blocking queue's own push/pop (mutex + condvars, semaphores, events). Only for
// queues that model blocking_queue; ringlab::push/pop below route to them.
struct block {
  static constexpr const char* name = "block";
  struct channel {};
};

template <class W>
concept wait_strategy = requires { W::name; typename W::channel; };

// Everything waiting on one queue needs besides the queue: one channel per direction
// and the closed flag. A plain struct, so it can sit beside a queue in shared memory.
template <wait_strategy W>
struct wait_state {
  typename W::channel not_empty;  // consumers wait here
  typename W::channel not_full;   // producers wait here
  alignas(false_sharing_range) std::atomic<bool> closed{false};
  bool is_closed() const noexcept { return closed.load(std::memory_order_seq_cst); }
};

// Blocking push through a queue endpoint: false only if the queue was closed first.
template <wait_strategy W, class Endpoint, class T>
bool push(Endpoint& q, wait_state<W>& ws, const T& item) {
  if constexpr (std::is_same_v<W, block>) {
    return q.push(item);
  } else {
    if (!W::until(ws.not_full, [&] { return q.try_push(item); }, [&] { return ws.is_closed(); })) return false;
    W::notify(ws.not_empty);
    return true;
  }
}

// Blocking pop: false only once the queue is closed and nothing was popped.
template <wait_strategy W, class Endpoint, class T>
bool pop(Endpoint& q, wait_state<W>& ws, T& item) {
  if constexpr (std::is_same_v<W, block>) {
    return q.pop(item);
  } else {
    if (!W::until(ws.not_empty, [&] { return q.try_pop(item); }, [&] { return ws.is_closed(); })) return false;
    W::notify(ws.not_full);
    return true;
  }
}

// Non-blocking forms for code that mixes them with the blocking ones: a success must
// still let a waiter on the other side proceed.
template <wait_strategy W, class Endpoint, class T>
bool try_push(Endpoint& q, wait_state<W>& ws, const T& item) {
  if (!q.try_push(item)) return false;
  if constexpr (!std::is_same_v<W, block>) W::notify(ws.not_empty);
  return true;
}

template <wait_strategy W, class Endpoint, class T>
bool try_pop(Endpoint& q, wait_state<W>& ws, T& item) {
  if (!q.try_pop(item)) return false;
  if constexpr (!std::is_same_v<W, block>) W::notify(ws.not_full);
  return true;
}

// Publish what a producer holds back (queues with delays_visibility) and wake a sleeper
// to see it: the items pushed before it were invisible when their notify went out.
template <wait_strategy W, class Endpoint>
void flush(Endpoint& q, wait_state<W>& ws) {
  if constexpr (requires { q.flush(); }) {
    q.flush();
    if constexpr (!std::is_same_v<W, block>) W::notify(ws.not_empty);
  }
}

// Wake every waiter for good: pushes fail from now on, pops fail once drained. For
// `block`, `queue` is the queue itself (its close() wakes its own sleepers).
template <wait_strategy W, class Q>
void close(Q& queue, wait_state<W>& ws) {
  ws.closed.store(true, std::memory_order_seq_cst);
  if constexpr (std::is_same_v<W, block>) {
    queue.close();
  } else {
    W::notify_all(ws.not_empty);
    W::notify_all(ws.not_full);
  }
}

}  // namespace ringlab
