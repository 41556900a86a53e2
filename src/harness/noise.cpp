#include "harness/noise.hpp"

#include <fmt/core.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>
#include <vector>

#include <ringlab/detail/platform.hpp>

#include "harness/clock.hpp"
#include "harness/floor.hpp"
#include "harness/interrupt.hpp"
#include "harness/run.hpp"

namespace ringlab::harness {
namespace {

// The "cpu" line of /proc/stat, in clock ticks (USER_HZ).
struct cpu_ticks {
  double busy = 0, steal = 0, total = 0;
};

cpu_ticks read_proc_stat() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  cpu_ticks t;
  t.busy = user + nice + system + irq + softirq;
  t.steal = steal;
  t.total = t.busy + idle + iowait + steal;
  return t;
}

// Our own CPU time, in seconds: every thread of ours, and our side processes (scope
// process; counted once reaped, which the run does before the guard's second look).
double own_cpu_s() {
  double seconds = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage u{};
    getrusage(who, &u);
    seconds += static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  }
  return seconds;
}

struct load_sample {
  cpu_ticks stat;
  double own_s;
  std::chrono::steady_clock::time_point at;
  static load_sample now() { return {read_proc_stat(), own_cpu_s(), std::chrono::steady_clock::now()}; }
};

// Others' busy share of all PUs, and the steal share, between two samples.
std::pair<double, double> shares(const load_sample& a, const load_sample& b, unsigned pus) {
  static const double ticks_per_s = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double seconds = std::chrono::duration<double>(b.at - a.at).count();
  if (seconds <= 0) return {NAN, NAN};
  const double others_s = (b.stat.busy - a.stat.busy) / ticks_per_s - (b.own_s - a.own_s);
  const double total = b.stat.total - a.stat.total;
  return {std::max(0.0, others_s / (seconds * pus)), total > 0 ? (b.stat.steal - a.stat.steal) / total : 0.0};
}

// Two distinct PUs to probe: the point's first producer and consumer PUs when pinned
// apart, else the machine's first two.
std::pair<int, int> probe_pus(const topology& topo, const run_config& cfg) {
  try {
    const auto plan = plan_pinning(topo, parse_pin(cfg.pin, topo), cfg.producers, cfg.consumers);
    const int a = plan.producer_pu.at(0), b = plan.consumer_pu.at(0);
    if (a >= 0 && b >= 0 && a != b) return {a, b};
  } catch (const std::exception&) {
  }
  if (topo.pus().size() < 2) return {-1, -1};
  return {static_cast<int>(topo.pus()[0].os_index), static_cast<int>(topo.pus()[1].os_index)};
}

}  // namespace

double probe_round_trip_ns(const topology& topo, int pu_a, int pu_b) {
  if (pu_a < 0 || pu_b < 0 || pu_a == pu_b) return NAN;
  constexpr int batches = 15, rounds = 64;
  alignas(128) std::atomic<std::uint32_t> ping{0};
  alignas(128) std::atomic<std::uint32_t> pong{0};
  const auto& clock = calibrated_clock();
  std::thread echo([&] {
    bind_this_thread(topo, pu_b);
    for (std::uint32_t i = 1; i <= batches * rounds; ++i) {
      while (ping.load(std::memory_order_acquire) != i) cpu_relax();
      pong.store(i, std::memory_order_release);
    }
  });
  std::vector<double> per_round;
  std::thread send([&] {
    bind_this_thread(topo, pu_a);
    std::uint32_t i = 0;
    for (int b = 0; b < batches; ++b) {
      const auto start = clock.ticks();
      for (int r = 0; r < rounds; ++r) {
        ping.store(++i, std::memory_order_release);
        while (pong.load(std::memory_order_acquire) != i) cpu_relax();
      }
      per_round.push_back(clock.to_ns(static_cast<double>(clock.ticks() - start)) / rounds);
    }
  });
  send.join();
  echo.join();
  std::nth_element(per_round.begin(), per_round.begin() + batches / 2, per_round.end());
  return per_round[batches / 2];
}

std::string probe_disturbance(double usual_ns, double probe_ns, double tolerance) {
  if (!std::isfinite(usual_ns) || !std::isfinite(probe_ns)) return "";
  const double high = usual_ns * (1 + tolerance), low = usual_ns / (1 + tolerance);
  if (probe_ns > high) return fmt::format("probe {:.0f} ns > {:.0f} ns (usual {:.0f})", probe_ns, high, usual_ns);
  if (probe_ns < low) return fmt::format("probe {:.0f} ns < {:.0f} ns (usual {:.0f})", probe_ns, low, usual_ns);
  return "";
}

double floor_window_s(const guard_options& options, const run_config& cfg) {
  if (!options.enabled || !cfg.record_latency || options.floor_s == 0) return 0;
  if (options.floor_s > 0) return options.floor_s;
  constexpr double longest_s = 0.25;
  return cfg.items ? longest_s : std::min(cfg.duration_s, longest_s);  // items mode has no duration
}

noise_guard::noise_guard(const guard_options& options, const topology& topo) : options_(options), topo_(&topo) {}

double noise_guard::reference_probe_ns(const std::vector<double>& probes) {
  std::vector<double> sorted = probes;
  std::sort(sorted.begin(), sorted.end());
  return sorted.empty() ? NAN : sorted[sorted.size() / 2];
}

run_result noise_guard::run(const run_config& cfg, const std::function<run_result()>& run) {
  if (!options_.enabled) return run();
  // Ctrl-C while the guard waits (baseline, quiet, phase: seconds) stops it as it would a run.
  auto stop_if_interrupted = [] {
    if (interrupted()) throw run_interrupted();
  };
  const unsigned pus = static_cast<unsigned>(topo_->pus().size());
  const auto [pu_a, pu_b] = probe_pus(*topo_, cfg);
  auto& probes = probes_ns_[{pu_a, pu_b}];  // each pair of PUs has its own usual round trip
  if (probes.empty())  // the baseline, spread over 2 s so that a passing phase does not make it
    for (int i = 0; i < 20; ++i) {
      stop_if_interrupted();
      if (const double p = probe_round_trip_ns(*topo_, pu_a, pu_b); std::isfinite(p)) probes.push_back(p);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  // (a) Wait for quiet: others' share over 50 ms windows, up to quiet_wait_s.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::duration<double>(options_.quiet_wait_s);
  for (;;) {
    stop_if_interrupted();
    const auto a = load_sample::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (shares(a, load_sample::now(), pus).first <= options_.quiet_threshold || std::chrono::steady_clock::now() >= give_up)
      break;
  }
  // (b) Probe, run, probe; (c) measure the load during the run. The reference is the
  // usual probe before this run's own probes join it.
  const double reference = reference_probe_ns(probes);
  double before = probe_round_trip_ns(*topo_, pu_a, pu_b);
  // The usual round trip is learnt from the probes as they come, never from one the guard
  // waited for (that one matches the reference by construction: a feedback loop).
  const double first_look = before;
  const auto phase_deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(options_.phase_wait_s);
  while (!probe_disturbance(reference, before, options_.probe_tolerance).empty() &&
         std::chrono::steady_clock::now() < phase_deadline) {
    stop_if_interrupted();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    before = probe_round_trip_ns(*topo_, pu_a, pu_b);
  }
  // (d) The machine's floor, in the phase the run will have, just before it.
  const floor_figures machine_floor = measure_floor(*topo_, pu_a, pu_b, floor_window_s(options_, cfg));
  const auto start = load_sample::now();
  run_result result = run();
  auto end = load_sample::now();
  end.own_s += result.same_machine_cpu_s;  // a split run's serve on this machine is the run, not another load
  const double after = probe_round_trip_ns(*topo_, pu_a, pu_b);
  for (double p : {first_look, after})
    if (std::isfinite(p)) probes.push_back(p);
  const auto [foreign, steal] = shares(start, end, pus);
  result.probe_before_ns = before;
  result.probe_after_ns = after;
  result.probe_reference_ns = reference;
  result.foreign_busy_fraction = foreign;
  result.steal_fraction = steal;
  result.floor_p50_ns = machine_floor.p50_ns;
  result.floor_p99_ns = machine_floor.p99_ns;
  result.floor_max_ns = machine_floor.max_ns;
  result.floor_wake_ns = machine_floor.wake_ns;
  result.floor_spin_ns = machine_floor.spin_ns;
  std::string why = probe_disturbance(reference, before, options_.probe_tolerance);
  if (why.empty()) why = probe_disturbance(reference, after, options_.probe_tolerance);
  if (why.empty() && foreign > options_.foreign_threshold)
    why = fmt::format("other processes used {:.0f}% of the CPUs", foreign * 100);
  else if (why.empty() && steal > options_.steal_threshold)
    why = fmt::format("the hypervisor stole {:.0f}%", steal * 100);
  result.disturbed = !why.empty();
  result.disturbance = why;
  return result;
}

}  // namespace ringlab::harness
