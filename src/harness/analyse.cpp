// What a run's sides recorded, turned into its row (harness/run.hpp): delivery checked
// exactly once and in order, throughput over the measured window, CPU per item, latency;
// and the rows of the native loop, the round trip and the seed scenario.
#include "harness/run.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <map>

#include "harness/interrupt.hpp"
#include "harness/native_side.hpp"
#include "harness/pingpong_side.hpp"
#include "harness/seed_scenario.hpp"

namespace ringlab::harness {
namespace {
// What every row says of its run besides the figures: the configuration, where and with
// what it ran.
run_result row_for(const run_config& cfg, const run_context& ctx, const pin_plan& plan, double clock_read_ns) {
  run_result r;
  r.config = cfg;
  r.host = ctx.host;
  r.commit = ctx.commit;
  r.build_id = ctx.build_id;
  r.clock_name = ctx.clock->name();
  r.clock_read_ns = clock_read_ns;
  r.oversubscribed = plan.oversubscribed;
  r.warmup_s = cfg.effective_warmup_s();
  return r;
}

// The side the other waited for. A producer that found the queue full on at least 1 % of
// its pushes, twice as often as the consumer found it empty, waited for the consumer;
// and the reverse. Both rarely: neither (the queue sat part full); both often: mixed
// (the run changed regime, or the sides took turns).
// The consumers' slices summed slice by slice; their rates' 90th over 10th percentile
// (one slice stalled by a preemption does not count; half the window at another speed does).
double slice_rate_spread(const std::vector<consumer_state>& consumers) {
  std::size_t n = ~std::size_t{0};
  for (const auto& c : consumers) n = std::min(n, c.slice_popped.size());
  if (n == ~std::size_t{0} || n < 6) return NAN;  // too short a trace to say
  std::vector<double> rates(n - 1, 0.0);
  for (const auto& c : consumers)
    for (std::size_t k = 1; k < n; ++k) {
      const auto ticks = c.slice_end_ticks[k] - c.slice_end_ticks[k - 1];
      if (ticks) rates[k - 1] += static_cast<double>(c.slice_popped[k] - c.slice_popped[k - 1]) / static_cast<double>(ticks);
    }
  std::sort(rates.begin(), rates.end());
  const double low = rates[static_cast<std::size_t>(std::ceil(0.1 * static_cast<double>(rates.size() - 1)))];
  const double high = rates[static_cast<std::size_t>(std::floor(0.9 * static_cast<double>(rates.size() - 1)))];
  return low > 0 ? high / low : INFINITY;
}

// A histogram coarsened for a CSV cell (plots/ringlab_pooled.py merges a point's runs):
// "MID:COUNT ..." with 16 buckets a power of two (each within 3.2% of its midpoint),
// exact below 32 ns. A few hundred bytes where the full one would take kilobytes.
std::string pooling_text(const histogram& h) {
  std::map<std::uint64_t, std::uint64_t> coarse;
  for (std::size_t i = 0; i < histogram::buckets; ++i) {
    if (!h.count_at(i)) continue;
    const std::uint64_t mid = histogram::lower_bound_of(i) + (histogram::width_of(i) - 1) / 2;
    const unsigned power = static_cast<unsigned>(std::bit_width(mid)) - 1;
    const std::uint64_t step = mid < 32 ? 1 : std::uint64_t{1} << (power - 4);
    coarse[mid / step * step + step / 2] += h.count_at(i);
  }
  std::string out;
  for (const auto& [mid, count] : coarse) out += fmt::format("{}{}:{}", out.empty() ? "" : " ", mid, count);
  return out;
}

std::string bottleneck_of(double producer_waits, double consumer_waits) {
  if (!std::isfinite(producer_waits) || !std::isfinite(consumer_waits)) return "";
  constexpr double often = 0.01;
  if (producer_waits >= often && producer_waits > 2 * consumer_waits) return "consumer";
  if (consumer_waits >= often && consumer_waits > 2 * producer_waits) return "producer";
  if (producer_waits < often && consumer_waits < often) return "neither";
  return "mixed";
}
}  // namespace

run_result analyse(const run_config& cfg, const run_context& ctx, const control_block& ctl, const conductor_times& times,
                   const std::vector<producer_state>& producers, const std::vector<consumer_state>& consumers,
                   const pin_plan& plan) {
  const clock_source& clock = *ctx.clock;
  run_result r = row_for(cfg, ctx, plan, times.clock_read_ns);

  // Delivery.
  std::vector<std::uint64_t> pushed;
  std::vector<delivery_tally> tallies;
  for (const auto& p : producers) pushed.push_back(p.pushed), r.items_pushed += p.pushed, r.producer_pus.push_back(p.outcome.pu);
  for (const auto& c : consumers) tallies.push_back(c.tally), r.items_popped += c.popped, r.consumer_pus.push_back(c.outcome.pu);
  const validation_result v = validate_delivery(pushed, tallies);
  r.valid = v.valid && !times.timed_out;
  r.validation_error = times.timed_out ? times.stop_reason + (v.valid ? "" : "; " + v.problem) : v.problem;

  // Throughput over the measured window.
  std::uint64_t counted = 0;
  std::uint64_t window_end = times.stop;
  for (const auto& c : consumers) counted += c.popped_at_stop - c.popped_at_measure;
  if (cfg.items) {
    window_end = 0;
    for (const auto& c : consumers) window_end = std::max(window_end, c.last_pop_ticks);
    if (cfg.ending == termination::join && ctl.join_reached_ticks.load()) window_end = ctl.join_reached_ticks.load();
  }
  r.measured_s = window_end > times.measure_start ? clock.to_ns(static_cast<double>(window_end - times.measure_start)) / 1e9 : 0;
  // A run that ended inside its warm-up measured nothing: no figure rather than 0.
  r.throughput_items_per_s = r.measured_s > 0 ? static_cast<double>(counted) / r.measured_s : NAN;

  // CPU per item, and the drain: last push to last consumer exit.
  double producer_cpu = 0, consumer_cpu = 0;
  std::uint64_t last_push = 0, last_exit = 0;
  for (const auto& p : producers) producer_cpu += static_cast<double>(p.outcome.cpu_ns), last_push = std::max(last_push, p.last_push_ticks);
  for (const auto& c : consumers) consumer_cpu += static_cast<double>(c.outcome.cpu_ns), last_exit = std::max(last_exit, c.outcome.end_ticks);
  double voluntary = 0, involuntary = 0;
  for (const auto& p : producers) voluntary += p.outcome.voluntary_switches, involuntary += p.outcome.involuntary_switches;
  for (const auto& c : consumers) voluntary += c.outcome.voluntary_switches, involuntary += c.outcome.involuntary_switches;
  if (r.items_popped) {
    r.voluntary_switches_per_item = voluntary / static_cast<double>(r.items_popped);
    r.involuntary_switches_per_item = involuntary / static_cast<double>(r.items_popped);
  }
  if (r.items_pushed) r.producer_cpu_ns_per_item = producer_cpu / static_cast<double>(r.items_pushed);
  if (r.items_popped) r.consumer_cpu_ns_per_item = consumer_cpu / static_cast<double>(r.items_popped);
  r.drain_ns = last_exit > last_push ? clock.to_ns(static_cast<double>(last_exit - last_push)) : 0;
  if (cfg.wait != "block" && r.items_pushed && r.items_popped) {
    double full = 0, empty = 0;
    for (const auto& p : producers) full += static_cast<double>(p.outcome.waits);
    for (const auto& c : consumers) empty += static_cast<double>(c.outcome.waits);
    r.producer_waits_per_item = full / static_cast<double>(r.items_pushed);
    r.consumer_waits_per_item = empty / static_cast<double>(r.items_popped);
    r.bottleneck = bottleneck_of(r.producer_waits_per_item, r.consumer_waits_per_item);
  }
  r.slice_rate_spread = slice_rate_spread(consumers);

  {  // A transport whose pops are remote calls: their round trips (Little's law's W).
    histogram calls;
    double total_ns = 0;
    std::size_t n = 0;
    for (const auto& c : consumers)
      for (const std::uint64_t t : c.call_ticks) {
        const double ns = clock.to_ns(static_cast<double>(t));
        calls.record(static_cast<std::uint64_t>(ns));
        total_ns += ns, ++n;
      }
    if (n) r.rtt = latency_summary::of(calls), r.rtt_mean_ns = total_ns / static_cast<double>(n);
  }
  // Latency: every item due in the measured window counts (no coordinated omission,
  // overload included). Items sent are measured from their due time to their dequeue,
  // even when that is after the stop (they drain); items due in the window but never sent
  // by the stop (an overloaded producer is behind its schedule) have waited at least
  // stop - due: they count with that, as lower bounds (`lat_censored_samples`).
  if (cfg.record_latency) {
    std::uint64_t every = 1;
    for (const auto& p : producers) every = std::max(every, p.log.every());
    for (const auto& c : consumers) every = std::max(every, c.log.every());
    r.latency_sample_every = every;
    histogram end_to_end, service;
    const schedule& sched = ctl.plan;
    for (const auto& c : consumers) {
      histogram mine_e2e, mine_service;  // per consumer, merged below
      for (const auto& s : c.log) {
        const std::uint64_t seq = tag_sequence(s.id);
        const std::uint32_t p = tag_producer(s.id);
        if ((seq & (every - 1)) != 0 || p >= producers.size() || seq >= producers[p].pushed) continue;
        const std::uint64_t enqueued = producers[p].log.enqueue_ticks(seq);
        if (enqueued == 0) continue;
        const std::uint64_t due = sched.open_loop() ? sched.due(p, seq) : enqueued;
        auto ns = [&](std::uint64_t from) {
          return s.dequeue_ticks > from ? static_cast<std::uint64_t>(clock.to_ns(static_cast<double>(s.dequeue_ticks - from))) : 0;
        };
        // End to end: the items due in the window. Service (the queue's own time): the
        // items enqueued in it, whenever they were due.
        if (due >= times.measure_start && (!sched.open_loop() || due < times.stop)) mine_e2e.record(ns(due));
        if (enqueued >= times.measure_start && enqueued < times.stop) mine_service.record(ns(enqueued));
      }
      end_to_end.merge(mine_e2e);
      service.merge(mine_service);
    }
    if (sched.open_loop() && !times.timed_out && cfg.count_unsent) {
      for (std::uint32_t p = 0; p < producers.size(); ++p) {
        std::uint64_t seq = (producers[p].pushed + every - 1) / every * every;  // the first sampled one never sent
        for (; sched.due(p, seq) < times.stop; seq += every) {
          const std::uint64_t due = sched.due(p, seq);
          if (due < times.measure_start) continue;
          end_to_end.record(static_cast<std::uint64_t>(clock.to_ns(static_cast<double>(times.stop - due))));
          ++r.latency_censored;
        }
      }
    }
    r.latency = latency_summary::of(end_to_end);
    r.latency_histogram = pooling_text(end_to_end);
    r.service = latency_summary::of(service);
    if (r.latency.samples == 0 && r.valid) {
      r.valid = false;
      r.validation_error = "no latency samples: no sampled item was due in the measured window and delivered "
                           "(too few items for the window? use a longer --duration or a higher --rate)";
    }
    if (!cfg.histogram_out.empty()) {
      std::ofstream out(cfg.histogram_out);
      out << "kind,bucket_low_ns,bucket_width_ns,count\n";
      for (const auto& [kind, h] : {std::pair<const char*, const histogram*>{"latency", &end_to_end}, {"service", &service}})
        for (std::size_t i = 0; i < histogram::buckets; ++i)
          if (h->count_at(i)) out << kind << ',' << histogram::lower_bound_of(i) << ',' << histogram::width_of(i) << ',' << h->count_at(i) << '\n';
      if (!out) throw std::runtime_error("--histogram-out " + cfg.histogram_out + ": could not write");
    }
  }
  return r;
}

run_result analyse_pingpong(const run_config& cfg, const run_context& ctx, const conductor_times& times,
                            const pinger_state& pinger, const thread_outcome& echoer, const pin_plan& plan) {
  const clock_source& clock = *ctx.clock;
  run_result r = row_for(cfg, ctx, plan, times.clock_read_ns);
  r.producer_pus = {pinger.outcome.pu};
  r.consumer_pus = {echoer.pu};
  r.items_pushed = r.items_popped = pinger.rounds;
  r.valid = !times.timed_out && pinger.mismatches == 0;
  if (pinger.mismatches) r.validation_error = fmt::format("{} echoes were not the item sent", pinger.mismatches);
  if (times.timed_out) r.validation_error = times.stop_reason;
  const std::uint64_t rounds = pinger.rounds_at_stop - pinger.rounds_at_measure;
  r.measured_s = clock.to_ns(static_cast<double>(times.stop - times.measure_start)) / 1e9;
  r.throughput_items_per_s = r.measured_s > 0 ? static_cast<double>(rounds) / r.measured_s : NAN;
  if (rounds) r.rtt_mean_ns = r.measured_s * 1e9 / static_cast<double>(rounds);
  histogram h;
  for (auto ns : pinger.timed_ns) h.record(ns);
  r.rtt = latency_summary::of(h);
  if (pinger.rounds) {
    r.producer_cpu_ns_per_item = static_cast<double>(pinger.outcome.cpu_ns) / static_cast<double>(pinger.rounds);
    r.consumer_cpu_ns_per_item = static_cast<double>(echoer.cpu_ns) / static_cast<double>(pinger.rounds);
  }
  r.drain_ns = echoer.end_ticks > pinger.outcome.end_ticks
                   ? clock.to_ns(static_cast<double>(echoer.end_ticks - pinger.outcome.end_ticks)) : 0;
  return r;
}

run_result analyse_native(const run_config& cfg, const run_context& ctx, const conductor_times& times,
                          const native_side& producer, const native_side& consumer, const pin_plan& plan) {
  const clock_source& clock = *ctx.clock;
  run_result r = row_for(cfg, ctx, plan, times.clock_read_ns);
  r.producer_pus = {producer.outcome.pu};
  r.consumer_pus = {consumer.outcome.pu};
  const bool pingpong = cfg.shape == pattern::pingpong;
  const native_side& counter = pingpong ? producer : consumer;  // who counts the window
  r.items_pushed = producer.done;
  r.items_popped = pingpong ? producer.done : consumer.done;
  // The end check: every item once (count and the sum of the tags), echoes unchanged.
  __extension__ const unsigned __int128 n = producer.done;  // GCC's 128-bit type: no overflow
  const auto expected_sum = cfg.author_loop ? static_cast<std::uint64_t>(n * (n + 1) / 2)  // 1..N
                                            : static_cast<std::uint64_t>(n * make_tag(0, 0) + (n == 0 ? 0 : n * (n - 1) / 2));
  if (pingpong && producer.sum) r.validation_error = fmt::format("{} echoes were not the item sent", producer.sum);
  if (!pingpong && consumer.done != producer.done)
    r.validation_error = fmt::format("{} items pushed, {} popped", producer.done, consumer.done);
  else if (!pingpong && consumer.sum != expected_sum)
    r.validation_error = "the popped items' sum is not that of the pushed ones (some lost, others duplicated)";
  if (times.timed_out) r.validation_error = times.stop_reason;
  r.valid = r.validation_error.empty();
  const std::uint64_t counted = counter.at_stop - counter.at_measure;
  r.measured_s = clock.to_ns(static_cast<double>(times.stop - times.measure_start)) / 1e9;
  r.throughput_items_per_s = r.measured_s > 0 ? static_cast<double>(counted) / r.measured_s : NAN;
  if (pingpong && counted) r.rtt_mean_ns = r.measured_s * 1e9 / static_cast<double>(counted);
  if (producer.done) r.producer_cpu_ns_per_item = static_cast<double>(producer.outcome.cpu_ns) / static_cast<double>(producer.done);
  if (r.items_popped) r.consumer_cpu_ns_per_item = static_cast<double>(consumer.outcome.cpu_ns) / static_cast<double>(r.items_popped);
  r.drain_ns = consumer.outcome.end_ticks > producer.outcome.end_ticks
                   ? clock.to_ns(static_cast<double>(consumer.outcome.end_ticks - producer.outcome.end_ticks)) : 0;
  return r;
}

run_result seed_result(const run_config& cfg, const run_context& ctx, const pin_plan& plan, const seed_outcome& out) {
  const clock_source& clock = *ctx.clock;
  run_result r = row_for(cfg, ctx, plan, measure_read_ns(clock));
  r.warmup_s = 0;  // the scenario has no warm-up: its figure starts at the first tick
  r.items_pushed = out.pushed[0] + out.pushed[1];
  r.items_popped = out.popped;
  const auto v = validate_delivery(out.pushed, {out.tally});
  r.valid = v.valid;
  r.validation_error = v.problem;
  r.measured_s = clock.to_ns(static_cast<double>(out.target_ticks)) / 1e9;
  r.throughput_items_per_s = seed_target_items / r.measured_s;
  const auto last_push = std::max(out.last_push[0], out.last_push[1]);
  r.drain_ns = clock.to_ns(static_cast<double>(out.last_exit - std::min(out.last_exit, last_push)));
  r.metrics = {{"consume_20_ms", fmt::format("{:.3f}", r.measured_s * 1e3)}};
  return r;
}

}  // namespace ringlab::harness
