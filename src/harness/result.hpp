// What one run measured, and how it becomes a CSV row.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "harness/config.hpp"
#include "harness/histogram.hpp"

namespace ringlab::harness {

struct latency_summary {
  double p50 = NAN, p90 = NAN, p99 = NAN, p999 = NAN, p9999 = NAN, max = NAN, mean = NAN;
  std::uint64_t samples = 0;
  static latency_summary of(const histogram& h, double ns_per_unit = 1.0);
};

struct run_result {
  run_config config;
  // Environment
  std::string host, clock_name, commit, build_id, started_utc;
  double clock_read_ns = 0;
  std::vector<int> producer_pus, consumer_pus;  // where each thread last ran
  bool oversubscribed = false;
  // Delivery
  bool valid = true;
  std::string validation_error;
  std::uint64_t items_pushed = 0, items_popped = 0;
  // Speed and cost
  double warmup_s = 0, measured_s = 0;
  double throughput_items_per_s = 0;
  double producer_cpu_ns_per_item = 0, consumer_cpu_ns_per_item = 0;
  double voluntary_switches_per_item = NAN, involuntary_switches_per_item = NAN;  // every side, per item popped
  double drain_ns = 0;  // last push to last consumer exit
  // Which side held the other up: the share of pushes that found the queue full and of
  // pops that found it empty (NAN where the side never tries first: `block`, native loops).
  double producer_waits_per_item = NAN, consumer_waits_per_item = NAN;
  std::string bottleneck;  // consumer | producer | mixed | neither (see bottleneck_of); "" unknown
  // The throughput of the window's slices (the consumers' trace): their 90th over their
  // 10th percentile. Above regime_change_spread the run changed speed mid-window.
  double slice_rate_spread = NAN;
  static constexpr double regime_change_spread = 1.5;
  std::uint64_t capacity_actual = 0;  // what the queue really held (a kernel may round a buffer up); 0: not known
  std::string limits_raised;          // what --raise-limits changed for this run, if anything
  // The crash suite (config.fault != none): kill -> noticed, by whom and how, and what was left.
  double detect_ns = NAN;             // kill -> the conductor saw the side die (its pidfd)
  double survivor_detect_ns = NAN;    // kill -> a surviving side learnt it from the transport itself
  std::string detected_by;            // "pidfd; consumer 0: EOF on the pipe ..."
  std::string outcome;                // recovered | failed-clean | hung (empty without a fault)
  double killed_after_s = NAN;        // when the kill came, from the start of the run (fault_at random: drawn)
  // Items whose push completed that no one got, and items that arrived twice, counting
  // what the dead side had done (crash_ledger.hpp); empty where that is not known.
  double items_lost = NAN, items_doubled = NAN;
  std::string crash_guarantee;        // what the transport declares for this kill (exactly-once, at-most-once)
  latency_summary latency, service;
  latency_summary rtt;      // pingpong: sampled round trips
  double rtt_mean_ns = NAN; // pingpong: window / round trips
  std::uint64_t latency_sample_every = 0;  // k after the run (0: latency off)
  std::uint64_t latency_censored = 0;      // samples of items due but never sent by the stop (lower bounds)
  std::string latency_histogram;           // end-to-end, "MID_NS:COUNT ...", 16 buckets a power of two (pooling)
  std::string latency_method;              // how latency was taken when not the usual (a run across two clocks)
  double same_machine_cpu_s = 0;           // a split run's other half on this machine: CPU that is the run's own
  // Noise guards (filled by the sweep's guards; defaults when unguarded)
  double probe_before_ns = NAN, probe_after_ns = NAN, probe_reference_ns = NAN;
  double foreign_busy_fraction = NAN, steal_fraction = NAN;
  // The machine's latency floor on the run's PUs just before it (floor.hpp; latency runs
  // under the guards): a do-nothing loop's gaps, and null hand-offs' medians.
  double floor_p50_ns = NAN, floor_p99_ns = NAN, floor_max_ns = NAN, floor_wake_ns = NAN, floor_spin_ns = NAN;
  bool disturbed = false;
  std::string disturbance;  // why it was flagged
  // Extra parameter columns a sweep adds (experiment, point, repetition, ...), first.
  std::vector<std::pair<std::string, std::string>> context;
  // Extra figures a scenario measures (the seed's consume_20_ms), last.
  std::vector<std::pair<std::string, std::string>> metrics;
};

// Column names in order; the context's names come first.
std::vector<std::string> csv_header(const run_result& r);
std::vector<std::string> csv_values(const run_result& r);
// "spsc_ring spin cap 1024 1P1C closed loop 8 B: 312.4 M items/s; latency p50 ... valid"
std::string describe(const run_result& r);

}  // namespace ringlab::harness
