// What every ringlab-microbench benchmark shares: the machine's topology, the two PUs
// a two-thread benchmark runs on, pinning the benchmark's own thread for the length of
// one run (and putting its affinity back), a partner thread started and pinned before
// the timed loop, and a wall clock read only around the loop.
#pragma once
#include <benchmark/benchmark.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <ringlab/detail/platform.hpp>

#include "harness/pinning.hpp"

namespace ringlab::bench {

// hwloc's view of this machine, loaded once.
const harness::topology& machine();

// The PUs a two-thread benchmark uses: the harness's `compact` plan for one producer and
// one consumer, i.e. the first two PUs in hwloc order (SMT siblings where there are any).
// Empty on a machine with one PU (spinning on one PU would measure the scheduler).
struct pu_pair {
  int a = -1, b = -1;
  std::string label() const { return "pu " + std::to_string(a) + "," + std::to_string(b); }
};
std::optional<pu_pair> two_pus();
int first_pu();

// Pins the calling thread (the benchmark's own) to one PU until destroyed, then restores
// the affinity it had. ok() is false, with why(), when the bind failed.
class pinned_here {
 public:
  explicit pinned_here(int pu);
  ~pinned_here();
  pinned_here(const pinned_here&) = delete;
  pinned_here& operator=(const pinned_here&) = delete;
  bool ok() const noexcept { return error_.empty(); }
  const std::string& why() const noexcept { return error_; }

 private:
  cpu_set_t saved_{};
  bool restore_ = false;
  std::string error_;
};

// A second thread, pinned to `pu`, that runs body() once it is bound. The constructor
// returns when the thread is running (ok()) or failed to bind (why()); the caller tells
// the body to end (its own protocol) and then join()s. Destruction joins too.
class partner {
 public:
  template <class Body>
  partner(int pu, Body body) {
    thread_ = std::thread([this, pu, body = std::move(body)]() mutable {
      try {
        harness::bind_this_thread(machine(), pu);
      } catch (const std::exception& e) {
        error_ = e.what();
        state_.store(failed, std::memory_order_release);
        return;
      }
      state_.store(running, std::memory_order_release);
      body();
    });
    while (state_.load(std::memory_order_acquire) == starting) std::this_thread::yield();
  }
  ~partner() { join(); }
  partner(const partner&) = delete;
  partner& operator=(const partner&) = delete;
  bool ok() const noexcept { return state_.load(std::memory_order_acquire) == running; }
  const std::string& why() const noexcept { return error_; }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  enum : int { starting, running, failed };
  std::atomic<int> state_{starting};
  std::string error_;
  std::thread thread_;
};

// Wall-clock nanoseconds, read before and after a timed loop (never inside it).
inline std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Counters every benchmark kind reports the same way (see plots/microbench.py).
inline void report_items_per_s(benchmark::State& state, double items, std::int64_t elapsed_ns) {
  if (elapsed_ns > 0) state.counters["items_per_s"] = benchmark::Counter(items * 1e9 / static_cast<double>(elapsed_ns));
}
inline void report_rtt_ns(benchmark::State& state, std::int64_t elapsed_ns) {
  state.counters["rtt_ns"] = benchmark::Counter(static_cast<double>(elapsed_ns), benchmark::Counter::kAvgIterations);
}

// The families, registered in this order (main.cpp).
void register_clocks();
void register_floors();
void register_push_pop();
void register_round_trip();

}  // namespace ringlab::bench
