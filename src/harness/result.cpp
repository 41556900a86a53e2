#include "harness/result.hpp"

#include "registry.hpp"

#include <fmt/core.h>

#include <cmath>

namespace ringlab::harness {

latency_summary latency_summary::of(const histogram& h, double ns_per_unit) {
  latency_summary s;
  s.samples = h.count();
  if (!s.samples) return s;
  s.p50 = h.percentile(0.50) * ns_per_unit;
  s.p90 = h.percentile(0.90) * ns_per_unit;
  s.p99 = h.percentile(0.99) * ns_per_unit;
  s.p999 = h.percentile(0.999) * ns_per_unit;
  s.p9999 = h.percentile(0.9999) * ns_per_unit;
  s.max = static_cast<double>(h.max()) * ns_per_unit;
  s.mean = h.mean() * ns_per_unit;
  return s;
}

namespace {

std::string number(double v, int decimals) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, decimals) : ""; }

std::string pus(const std::vector<int>& list) {
  std::string s;
  for (std::size_t i = 0; i < list.size(); ++i) s += (i ? ";" : "") + std::to_string(list[i]);
  return s;
}

// (name, value) for every column, in order.
std::vector<std::pair<std::string, std::string>> columns(const run_result& r) {
  const run_config& c = r.config;
  std::vector<std::pair<std::string, std::string>> cols = r.context;
  auto add = [&](std::string name, std::string value) { cols.emplace_back(std::move(name), std::move(value)); };
  add("queue", c.queue);
  add("wait", c.wait);
  add("capacity", std::to_string(c.capacity));
  add("producers", std::to_string(c.producers));
  add("consumers", std::to_string(c.consumers));
  add("payload_bytes", std::to_string(c.payload_bytes));
  add("offered_rate_items_per_s", number(c.offered_rate, 0));
  add("pin", c.pin);
  add("termination", to_string(c.ending));
  add("pattern", to_string(c.shape));
  add("mode", mode_name(c.native, c.author_loop));
  add("scope", c.scope.empty() ? "thread" : c.scope);
  add("fault", c.fault);
  add("fault_after_s", c.fault == "none" || c.fault == "external-kill" ? "" : number(c.fault_after_s, 3));
  add("fault_at", c.fault == "none" || c.fault == "external-kill" ? "" : c.fault_at);
  add("duration_s", c.items ? "" : number(c.duration_s, 3));
  add("items_requested", c.items ? std::to_string(c.items) : "");
  add("warmup_s", number(r.warmup_s, 3));
  add("latency_recorded", c.record_latency ? "1" : "0");
  add("service_ns", std::to_string(c.service_ns));
  add("work_ns", std::to_string(c.work_ns));
  add("producer_work_ns", std::to_string(c.producer_work_ns));
  // Scope host: the network path; a stream that takes our options (tcp): them too.
  const queue_entry* entry = registry::instance().find(c.queue);
  const bool options = entry && entry->properties.stream_options;
  add("net", c.scope != "host" ? "" : c.connect.empty() ? c.net : "connect=" + c.connect);
  add("tcp_nodelay", options ? (c.tcp_nodelay ? "1" : "0") : "");
  add("batch_items", options ? std::to_string(c.batch) : "");
  add("valid", r.valid ? "1" : "0");
  add("validation_error", r.validation_error);
  add("items_pushed", c.fault == "external-kill" ? "" : std::to_string(r.items_pushed));  // a dead producer's count died with it
  add("items_popped", std::to_string(r.items_popped));
  add("measured_s", number(r.measured_s, 4));
  add("throughput_items_per_s", number(r.throughput_items_per_s, 0));
  for (const auto& [prefix, s] : {std::pair<std::string, const latency_summary*>{"lat", &r.latency}, {"service", &r.service}}) {
    add(prefix + "_p50_ns", number(s->p50, 1));
    add(prefix + "_p90_ns", number(s->p90, 1));
    add(prefix + "_p99_ns", number(s->p99, 1));
    add(prefix + "_p999_ns", number(s->p999, 1));
    add(prefix + "_p9999_ns", number(s->p9999, 1));
    add(prefix + "_max_ns", number(s->max, 1));
    add(prefix + "_mean_ns", number(s->mean, 1));
  }
  add("rtt_p50_ns", number(r.rtt.p50, 1));
  add("rtt_p99_ns", number(r.rtt.p99, 1));
  add("rtt_p999_ns", number(r.rtt.p999, 1));
  add("rtt_max_ns", number(r.rtt.max, 1));
  add("rtt_mean_ns", number(r.rtt_mean_ns, 1));
  // A stream whose every pop is a remote call (rpc): Little's law from its own round trips,
  // consumers x one call outstanding / (round trip + the consumer's work per item).
  const bool calls = c.shape != pattern::pingpong && r.rtt.samples > 0 && std::isfinite(r.rtt_mean_ns);
  add("littles_law_items_per_s", calls ? number(c.consumers * 1e9 / (r.rtt_mean_ns + static_cast<double>(c.service_ns)), 0) : "");
  add("lat_samples", std::to_string(r.latency.samples));
  add("lat_censored_samples", std::to_string(r.latency_censored));
  add("lat_sample_every", r.latency_sample_every ? std::to_string(r.latency_sample_every) : "");
  add("lat_histogram", r.latency_histogram);
  // How latency was taken: one machine's clock read by both sides, or round trips on one
  // side's clock; across two machines' clocks, half a call's round trip or none at all.
  add("latency_method", !r.latency_method.empty() ? r.latency_method
                        : !c.record_latency       ? ""
                        : c.shape == pattern::pingpong ? "round_trip" : "one_clock");
  add("producer_cpu_ns_per_item", number(r.producer_cpu_ns_per_item, 2));
  add("consumer_cpu_ns_per_item", number(r.consumer_cpu_ns_per_item, 2));
  add("cpu_ns_per_item", number(r.producer_cpu_ns_per_item + r.consumer_cpu_ns_per_item, 2));
  add("voluntary_switches_per_item", number(r.voluntary_switches_per_item, 6));
  add("involuntary_switches_per_item", number(r.involuntary_switches_per_item, 6));
  add("drain_ns", number(r.drain_ns, 0));
  add("producer_waits_per_item", number(r.producer_waits_per_item, 6));
  add("consumer_waits_per_item", number(r.consumer_waits_per_item, 6));
  add("bottleneck", r.bottleneck);
  add("slice_rate_spread", number(r.slice_rate_spread, 4));
  add("regime_change", std::isnan(r.slice_rate_spread) ? "" : r.slice_rate_spread > r.regime_change_spread ? "1" : "0");
  add("capacity_actual", r.capacity_actual ? std::to_string(r.capacity_actual) : "");
  add("limits_raised", r.limits_raised);
  add("detect_ns", number(r.detect_ns, 0));
  add("survivor_detect_ns", number(r.survivor_detect_ns, 0));
  add("detected_by", r.detected_by);
  add("outcome", r.outcome);
  add("killed_after_s", number(r.killed_after_s, 4));
  add("items_lost", number(r.items_lost, 0));
  add("items_doubled", number(r.items_doubled, 0));
  add("crash_guarantee", r.crash_guarantee);
  add("producer_pus", pus(r.producer_pus));
  add("consumer_pus", pus(r.consumer_pus));
  add("oversubscribed", r.oversubscribed ? "1" : "0");
  add("probe_before_ns", number(r.probe_before_ns, 1));
  add("probe_after_ns", number(r.probe_after_ns, 1));
  add("probe_reference_ns", number(r.probe_reference_ns, 1));
  add("foreign_busy_fraction", number(r.foreign_busy_fraction, 4));
  add("steal_fraction", number(r.steal_fraction, 4));
  add("floor_p50_ns", number(r.floor_p50_ns, 1));
  add("floor_p99_ns", number(r.floor_p99_ns, 1));
  add("floor_max_ns", number(r.floor_max_ns, 1));
  add("floor_wake_ns", number(r.floor_wake_ns, 1));
  add("floor_spin_ns", number(r.floor_spin_ns, 1));
  add("disturbed", r.disturbed ? "1" : "0");
  add("disturbance", r.disturbance);
  add("clock_source", r.clock_name);
  add("clock_read_ns", number(r.clock_read_ns, 2));
  add("host", r.host);
  add("commit", r.commit);
  add("build_id", r.build_id);
  add("started_utc", r.started_utc);
  cols.insert(cols.end(), r.metrics.begin(), r.metrics.end());
  return cols;
}

}  // namespace

std::vector<std::string> csv_header(const run_result& r) {
  std::vector<std::string> names;
  for (auto& [n, v] : columns(r)) names.push_back(n);
  return names;
}

std::vector<std::string> csv_values(const run_result& r) {
  std::vector<std::string> values;
  for (auto& [n, v] : columns(r)) values.push_back(v);
  return values;
}

std::string describe(const run_result& r) {
  const run_config& c = r.config;
  auto us = [](double ns) { return std::isfinite(ns) ? fmt::format("{:.2f} us", ns / 1000) : std::string("n/a"); };
  std::string load = c.offered_rate > 0 ? fmt::format("open loop {:.4g} items/s", c.offered_rate) : "closed loop";
  const double cpu = r.producer_cpu_ns_per_item + r.consumer_cpu_ns_per_item;
  std::string text = fmt::format("{}{} {} cap {} {}P{}C {} {} B pin {} {}: {}, cpu {}", c.native ? "NATIVE " : "", c.queue,
                                 c.wait, c.capacity, c.producers, c.consumers, load, c.payload_bytes, c.pin, to_string(c.ending),
                                 std::isfinite(r.throughput_items_per_s) ? fmt::format("{:.2f} M items/s", r.throughput_items_per_s / 1e6) : "throughput n/a",
                                 std::isfinite(cpu) ? fmt::format("{:.1f} ns/item", cpu) : "n/a");
  if (c.shape == pattern::pingpong)
    text += r.rtt.samples ? fmt::format(", round trip mean {:.1f} ns p50 {:.1f} p99 {:.1f} ns", r.rtt_mean_ns, r.rtt.p50, r.rtt.p99)
                          : fmt::format(", round trip mean {:.1f} ns", r.rtt_mean_ns);
  if (c.record_latency && r.latency.samples)
    text += fmt::format(", latency p50 {} p99 {} p99.99 {} max {} (service p99 {}; {} samples{})", us(r.latency.p50),
                        us(r.latency.p99), us(r.latency.p9999), us(r.latency.max), us(r.service.p99), r.latency.samples,
                        r.latency_censored ? fmt::format(", {} of them items still unsent at the stop", r.latency_censored) : "");
  for (const auto& [name, value] : r.metrics) text += fmt::format(", {} {}", name, value);
  text += fmt::format(", drain {}", us(r.drain_ns));
  if (r.slice_rate_spread > r.regime_change_spread)
    text += fmt::format(", REGIME CHANGE (slices' throughput p90/p10 {:.2f})", r.slice_rate_spread);
  if (!r.bottleneck.empty())
    text += fmt::format(", waits {:.3f} full / {:.3f} empty per item (bottleneck: {})", r.producer_waits_per_item,
                        r.consumer_waits_per_item, r.bottleneck);
  if (std::isfinite(r.floor_p50_ns))
    text += fmt::format(", machine floor: gaps p50 {:.0f} p99 {:.0f} ns max {}, wake {:.0f} ns, spin {:.0f} ns", r.floor_p50_ns,
                        r.floor_p99_ns, us(r.floor_max_ns), r.floor_wake_ns, r.floor_spin_ns);
  if (r.oversubscribed) text += ", OVERSUBSCRIBED";
  if (r.disturbed) text += fmt::format(", DISTURBED ({})", r.disturbance);
  text += r.valid ? ", valid" : ", INVALID: " + r.validation_error;
  return text;
}

}  // namespace ringlab::harness
