// `ringlab run`: one measured point, appended as one CSV row and echoed.
#include <fmt/core.h>
#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands/commands.hpp"
#include "harness/interrupt.hpp"
#include "harness/output.hpp"
#include "transports/kernel/posix_mq.hpp"
#include "scopes/hosts/remote_link.hpp"
#include "registry.hpp"

namespace ringlab::commands {
namespace {

// Numbers are read as text so that "-5", "abc" and "1e3x" all get the same clear error.
double parse_number(const std::string& option, const std::string& text, double min, const char* rule) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v) || v < min)
    throw usage_error(fmt::format("{} {}: {}", option, text, rule));
  return v;
}

std::uint64_t parse_count(const std::string& option, const std::string& text, std::uint64_t min) {
  const std::string rule = min ? fmt::format("must be a whole number >= {}", min) : "must be a whole number";
  const double v = parse_number(option, text, static_cast<double>(min), rule.c_str());
  if (v != std::floor(v) || v > 1e15) throw usage_error(fmt::format("{} {}: {}", option, text, rule));
  return static_cast<std::uint64_t>(v);
}

struct run_options {
  std::string pattern = "stream";
  std::string queue = "spsc_ring", wait = "spin", capacity = "1024", producers = "1", consumers = "1", rate = "0",
              payload = "8", pin = "compact", duration = "1", items, warmup, termination = "sentinel", out,
              latency_sample = "0", histogram_out, drain_timeout = "10", scope, kill, kill_after = "0.5",
              service_ns = "0", work_ns = "0", producer_work_ns = "0", net = "loopback", batch = "1", port = "0", connect;
  bool tcp_nodelay = false;
  bool no_latency = false;
  bool raise_limits = false, kill_at_random = false, carry_on = false;
  bool native = false;
  std::string loop = "ringlab";
  harness::guard_options guards;
  bool no_guards = false;
};

}  // namespace

void add_guard_options(CLI::App& cmd, harness::guard_options& g, bool& no_guards) {
  cmd.add_flag("--no-guards", no_guards, "Skip the noise guards (quiet wait, probes, load checks, floor)");
  cmd.add_option("--quiet-threshold", g.quiet_threshold, "Wait before a point until others use less than this share of the CPUs")->capture_default_str();
  cmd.add_option("--quiet-wait", g.quiet_wait_s, "... but at most this many seconds")->capture_default_str();
  cmd.add_option("--probe-tolerance", g.probe_tolerance, "Disturbed if a probe is this fraction above the usual one, or below it by 1/(1+t)")->capture_default_str();
  cmd.add_option("--foreign-threshold", g.foreign_threshold, "Disturbed if others used more than this share of the CPUs")->capture_default_str();
  cmd.add_option("--steal-threshold", g.steal_threshold, "Disturbed if the hypervisor stole more than this share")->capture_default_str();
  cmd.add_option("--phase-wait", g.phase_wait_s, "Before a run, wait up to this long for the usual round trip")->capture_default_str();
  cmd.add_option("--floor", g.floor_s, "Before a run that records latency, measure the machine's latency floor on its PUs for "
                 "this many seconds (default: in a sweep the experiment's floor_s, else the run's duration, at most 0.25; 0: none)")
      ->check(CLI::Validator(
          [](std::string& text) {
            char* end = nullptr;
            const double v = std::strtod(text.c_str(), &end);
            return !text.empty() && *end == '\0' && std::isfinite(v) && v >= 0
                       ? std::string()
                       : fmt::format("{}: must be a number of seconds >= 0 (0: no floor)", text);
          },
          "SECONDS"));
}

harness::run_config to_run_config(const run_options& o) {
  harness::run_config c;
  c.queue = o.queue;
  c.wait = o.wait;
  c.capacity = parse_count("--capacity", o.capacity, 0);
  c.producers = static_cast<unsigned>(parse_count("--producers", o.producers, 0));
  c.consumers = static_cast<unsigned>(parse_count("--consumers", o.consumers, 0));
  c.offered_rate = parse_number("--rate", o.rate, 0, "must be a number >= 0 (items/s; 0 = as fast as possible)");
  c.payload_bytes = parse_count("--payload", o.payload, 1);
  c.pin = o.pin;
  c.duration_s = parse_number("--duration", o.duration, 1e-6, "must be a number of seconds > 0");
  if (!o.items.empty()) c.items = parse_count("--items", o.items, 1);
  if (!o.warmup.empty()) c.warmup_s = parse_number("--warmup", o.warmup, 0, "must be a number of seconds >= 0");
  if (o.termination == "sentinel") c.ending = harness::termination::sentinel;
  else if (o.termination == "join") c.ending = harness::termination::join;
  else throw usage_error(fmt::format("--termination {}: must be sentinel or join", o.termination));
  if (o.pattern == "stream") c.shape = harness::pattern::stream;
  else if (o.pattern == "pingpong") c.shape = harness::pattern::pingpong;
  else throw usage_error(fmt::format("--pattern {}: must be stream or pingpong", o.pattern));
  c.native = o.native;
  if (o.loop != "ringlab" && o.loop != "author") throw usage_error(fmt::format("--loop {}: must be ringlab or author", o.loop));
  if (o.loop == "author" && !o.native) throw usage_error("--loop author: the author's loop is a native loop (add --native)");
  c.author_loop = o.loop == "author";
  c.scope = o.scope;
  if (!o.kill.empty()) {
    if (o.kill != "producer" && o.kill != "consumer") throw usage_error(fmt::format("--kill {}: must be producer or consumer", o.kill));
    c.fault = "kill-" + o.kill + (o.carry_on ? "-carry-on" : "");
    c.fault_after_s = parse_number("--kill-after", o.kill_after, 1e-6, "must be a number of seconds > 0");
    c.fault_at = o.kill_at_random ? "random" : "fixed";
  }
  c.raise_limits = o.raise_limits;
  c.service_ns = parse_count("--service-ns", o.service_ns, 0);
  c.work_ns = parse_count("--work-ns", o.work_ns, 0);
  c.producer_work_ns = parse_count("--producer-work-ns", o.producer_work_ns, 0);
  c.net = o.net;
  c.tcp_nodelay = o.tcp_nodelay;
  c.batch = static_cast<unsigned>(parse_count("--batch", o.batch, 1));
  c.port = static_cast<unsigned>(parse_count("--port", o.port, 0));
  c.connect = o.connect;
  if (!c.connect.empty()) {
    try {
      (void)ipc::split_host_port(c.connect, "--connect");
    } catch (const std::invalid_argument& e) {
      throw usage_error(e.what());
    }
  }
  c.record_latency = !o.no_latency && !o.native;  // the native loop reads no clock per item
  c.latency_sample_every = parse_count("--latency-sample", o.latency_sample, 0);
  c.histogram_out = o.histogram_out;
  c.drain_timeout_s = parse_number("--drain-timeout", o.drain_timeout, 0.001, "must be a number of seconds > 0");
  try {
    harness::validate(c);
  } catch (const std::invalid_argument& e) {
    throw usage_error(e.what());
  }
  return c;
}

// An option the user did not give takes the queue's own default where the harness's
// would be refused (its registration says which: registry.hpp), and says so on stderr; a
// value the user gave is never changed (it fails, if it must, with its own line).
void apply_queue_defaults(run_options& o, bool wait_given, bool capacity_given, bool termination_given,
                          bool pattern_given) {
  const queue_entry* q = registry::instance().find(o.queue);
  if (!q) return;  // validation names the unknown queue
  std::vector<std::string> chosen;
  auto take = [&](bool given, std::string& value, const std::string& theirs, const char* option) {
    if (given || theirs.empty() || value == theirs) return;
    value = theirs;
    chosen.push_back(fmt::format("{} {}", option, theirs));
  };
  take(wait_given, o.wait, q->default_wait, "--wait");
  take(termination_given, o.termination, q->default_termination, "--termination");
  take(pattern_given, o.pattern, q->default_pattern, "--pattern");
  if (!capacity_given && !o.raise_limits) {  // --raise-limits: the limit is raised to fit --capacity
    auto takes = [&](std::size_t capacity) {
      try {
        q->check_capacity(capacity);
        return true;
      } catch (const std::exception&) {
        return false;
      }
    };
    std::size_t capacity = 1024;
    while (capacity > 1 && !takes(capacity)) capacity /= 2;
    if (capacity != 1024 && takes(capacity)) {
      o.capacity = std::to_string(capacity);
      chosen.push_back(fmt::format("--capacity {}", capacity));
    }
  }
  if (!chosen.empty())
    fmt::print(stderr, "ringlab run: {}: {} (the queue's own defaults; the options were not given)\n", o.queue,
               fmt::join(chosen, ", "));
}

runner add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Measure one point and append it as a CSV row");
  auto o = std::make_shared<run_options>();
  cmd->add_option("--queue", o->queue, "Queue (see `ringlab list`)")->capture_default_str();
  auto* wait = cmd->add_option("--wait", o->wait, "Wait strategy: spin, yield, park, block (default: spin, or the queue's own)")
                   ->capture_default_str();
  auto* capacity = cmd->add_option("--capacity", o->capacity,
                                   "Queue capacity in items (default: 1024, or the largest power of two below it the queue takes)")
                       ->capture_default_str();
  cmd->add_option("--producers", o->producers, "Producer threads")->capture_default_str();
  cmd->add_option("--consumers", o->consumers, "Consumer threads")->capture_default_str();
  cmd->add_option("--rate", o->rate, "Offered rate, items/s over all producers (0: closed loop)")->capture_default_str();
  cmd->add_option("--payload", o->payload, "Item size in bytes: 8, 64, 256, 1024")->capture_default_str();
  cmd->add_option("--pin", o->pin, "none, compact, scatter, same-core, or p:N,c:M,...")->capture_default_str();
  auto* duration = cmd->add_option("--duration", o->duration, "Seconds to run (after warm-up)")->capture_default_str();
  cmd->add_option("--items", o->items, "Run this many items in total instead of a duration")->excludes(duration);
  cmd->add_option("--warmup", o->warmup, "Seconds excluded at the start (default: 20% of the duration, <= 0.2)");
  auto* termination = cmd->add_option("--termination", o->termination,
                                      "sentinel (a pill per consumer) or join (task_done counting; the default of a queue "
                                      "without order)")->capture_default_str();
  auto* pattern = cmd->add_option("--pattern", o->pattern, "stream, or pingpong (1P1C round trips through two queues)")
                      ->capture_default_str();
  cmd->add_option("--out", o->out, "Append the row to this CSV (provenance JSON beside it)");
  cmd->add_option("--scope", o->scope, "thread, process or host: where the sides live (default: the queue's own; see `ringlab list`)");
  cmd->add_option("--service-ns", o->service_ns, "The consumer's work per item, ns (a busy wait after each pop)")->capture_default_str();
  cmd->add_option("--work-ns", o->work_ns, "Stream, harness or --native: the consumer's work per item, ns (a calibrated loop after each pop)")->capture_default_str();
  cmd->add_option("--producer-work-ns", o->producer_work_ns, "Stream: the producer's work per item, ns (a calibrated loop before each push)")->capture_default_str();
  cmd->add_option("--net", o->net, "Scope host: loopback, or veth[,tbf=RATE][,netem=DELAY] (two network namespaces of the run's own; root)")->capture_default_str();
  cmd->add_flag("--tcp-nodelay", o->tcp_nodelay, "Scope host: TCP_NODELAY on the producers' connections (recorded)");
  cmd->add_option("--batch", o->batch, "Scope host: items per write (one frame), 1 to 1024 (recorded)")->capture_default_str();
  cmd->add_option("--port", o->port, "Scope host: the consumer's port (0: the kernel picks one)")->capture_default_str();
  cmd->add_option("--connect", o->connect, "Scope host: run the producers on the `ringlab serve` at HOST:PORT; the consumers here");
  auto* kill = cmd->add_option("--kill", o->kill, "producer or consumer: kill side 0 of that kind with SIGKILL mid-run (scope process)");
  cmd->add_option("--kill-after", o->kill_after, "... this many seconds into the run (warm-up included)")->capture_default_str()->needs(kill);
  cmd->add_flag("--kill-at-random", o->kill_at_random, "... at a uniform random instant between a tenth of --kill-after and "
                "--kill-after (the row says when: killed_after_s)")->needs(kill);
  cmd->add_flag("--carry-on", o->carry_on, "... then a new process takes the dead side's place, repairs the transport and "
                "carries on its part of the run (1P1C, our shared-memory transports)")->needs(kill);
  cmd->add_flag("--raise-limits", o->raise_limits, "As root, raise a kernel limit the transport needs (posix_mq: msg_max); recorded in the row");
  cmd->add_flag("--no-latency", o->no_latency, "Do not sample latency (to measure the harness's own cost)");
  cmd->add_flag("--native", o->native, "Run the queue's own API in a bare two-thread loop, no harness around it (1P1C, closed loop)");
  cmd->add_option("--loop", o->loop, "--native: ringlab (tags, a measured window) or author (atomic_queue's benchmark loop: --items N, "
                                     "1..N+1 pushed, timed from the first push to the last pop)")->capture_default_str();
  cmd->add_option("--latency-sample", o->latency_sample, "Sample every k-th item at first (power of two; 0: auto)");
  cmd->add_option("--histogram-out", o->histogram_out, "Write the full latency histograms to this CSV");
  cmd->add_option("--drain-timeout", o->drain_timeout, "Seconds a run may take to finish after its end")->capture_default_str();
  add_guard_options(*cmd, o->guards, o->no_guards);
  return [o, wait, capacity, termination, pattern] {
    apply_queue_defaults(*o, wait->count() > 0, capacity->count() > 0, termination->count() > 0, pattern->count() > 0);
    // --raise-limits first: the capacity check in validation reads the limits.
    std::string limits_raised;
    if (o->raise_limits && o->queue == "posix_mq") {
      try {
        limits_raised = ipc::raise_mq_limits(parse_count("--capacity", o->capacity, 0), parse_count("--payload", o->payload, 1));
      } catch (const std::runtime_error& e) {
        throw usage_error(fmt::format("--raise-limits: {}", e.what()));
      }
    }
    const harness::run_config config = to_run_config(*o);
    const auto topo = harness::topology::this_machine();
    try {
      (void)harness::parse_pin(config.pin, topo);
      if (!o->out.empty()) harness::check_writable(o->out);
    } catch (const std::invalid_argument& e) {
      throw usage_error(e.what());
    } catch (const std::runtime_error& e) {
      throw usage_error(fmt::format("--out {}", e.what()));
    }
    harness::install_interrupt_handler();
    const auto& clock = harness::calibrated_clock();
    const harness::provenance prov = harness::collect_provenance(clock, topo);
    harness::run_context ctx{&clock, &topo, prov.host, prov.short_commit(), prov.build_id()};
    harness::run_result result;
    const std::string started = harness::utc_now();
    o->guards.enabled = !o->no_guards;
    harness::noise_guard guard(o->guards, topo);
    // Split across hosts: the link to the serve, greeted before the run (refused, unknown
    // host, no answer: one line).
    std::optional<ipc::control_channel> channel;
    std::optional<ipc::remote_link> link;
    if (!config.connect.empty()) {
      channel.emplace(ipc::dial_control(config.connect, 5));
      link.emplace(*channel, ipc::remote_link::half::consumers, clock);
      ctx.remote = &*link;
      ctx.clock = &link->clock();
    }
    try {
      result = guard.run(config, [&] { return registry::instance().at(config.queue).run(config, ctx); });
    } catch (const harness::run_interrupted&) {
      fmt::print(stderr, "ringlab run: interrupted; nothing written\n");
      return harness::interrupted_exit_status;
    }
    result.started_utc = started;
    result.limits_raised = limits_raised;
    if (!o->out.empty()) {
      harness::append_row(o->out, harness::csv_header(result), harness::csv_values(result));
      harness::write_provenance(o->out, prov);  // this session's entry, beside those of earlier runs
    }
    fmt::print("{}\n", harness::describe(result));
    if (!result.valid) {
      fmt::print(stderr, "ringlab run: error: {}: {}\n",
                 result.config.fault == "external-kill" ? "a side was killed" : "delivery check failed", result.validation_error);
      return 1;
    }
    return 0;
  };
}

}  // namespace ringlab::commands
