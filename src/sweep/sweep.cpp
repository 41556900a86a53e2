#include "sweep/sweep.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "harness/interrupt.hpp"
#include "harness/output.hpp"
#include "registry.hpp"
#include "sweep/python.hpp"

namespace ringlab::sweep {
namespace fs = std::filesystem;
namespace {

// A point's parameters compared with a row: the row's columns must all agree.
std::string mismatch(const point& p, const std::map<std::string, std::string>& row) {
  harness::run_result probe;
  probe.config = p.config;
  const auto header = harness::csv_header(probe);
  const auto values = harness::csv_values(probe);
  static const std::set<std::string> parameter_columns = {
      "queue", "wait", "capacity", "producers", "consumers", "payload_bytes", "offered_rate_items_per_s", "pin",
      "termination", "pattern", "duration_s", "items_requested", "latency_recorded"};
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (!parameter_columns.count(header[i])) continue;
    const auto it = row.find(header[i]);
    if (it != row.end() && it->second != values[i])
      return fmt::format("{} is {} in the CSV but {} now", header[i], it->second.empty() ? "empty" : it->second,
                         values[i].empty() ? "empty" : values[i]);
  }
  for (const auto& [k, v] : p.parameters)
    if (const auto it = row.find(k); it != row.end() && k == "tick_ms" && std::stod(it->second) != std::stod(v))
      return fmt::format("{} is {} in the CSV but {} now", k, it->second, v);
  return "";
}

// (point, repetition) pairs already in the CSV; throws if its rows were made with other parameters.
std::set<std::pair<std::string, unsigned>> finished_runs(const std::string& csv, const std::vector<point>& points) {
  std::set<std::pair<std::string, unsigned>> done;
  std::ifstream in(csv);
  std::string line;
  if (!std::getline(in, line)) return done;
  const auto header = harness::parse_csv_line(line);
  std::map<std::string, const point*> by_id;
  for (const auto& p : points) by_id[p.id] = &p;
  while (std::getline(in, line)) {
    const auto fields = harness::parse_csv_line(line);
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = fields[i];
    const auto it = by_id.find(row["point"]);
    if (it == by_id.end()) continue;  // a point this version of the experiment no longer has: kept, not ours
    if (const auto why = mismatch(*it->second, row); !why.empty())
      throw experiment_error(fmt::format("{}: rows for point '{}' were made with other parameters ({}); the "
                                         "experiment changed: rerun with --fresh", csv, row["point"], why));
    done.emplace(row["point"], static_cast<unsigned>(std::stoul(row["repetition"])));
  }
  return done;
}

std::string minutes(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  return s >= 60 ? fmt::format("{}m{:02d}s", s / 60, s % 60) : fmt::format("{}s", s);
}

}  // namespace

std::string results_csv(const std::string& results_dir, const std::string& host, const std::string& name) {
  return (fs::path(results_dir) / host / (name + ".csv")).string();
}

double estimated_seconds(const experiment& e, const point& p) {
  constexpr double overhead_s = 0.2;  // threads, start, drain, analysis, noise guards
  if (e.scenario == "seed") return 12 * p.tick_ms / 1000 + overhead_s;
  if (p.config.items) return 1.0;
  const double warmup = p.config.effective_warmup_s();
  return warmup + p.config.duration_s + overhead_s;
}

int run_sweep(const experiment& e, const sweep_options& options) {
  const auto topo = harness::topology::this_machine();
  const std::string host = harness::machine_host_id(topo);
  const std::string results_dir = options.results_dir.empty() ? source_path("results") : options.results_dir;
  const std::string csv = results_csv(results_dir, host, e.name);

  // Every point must be runnable before anything runs.
  std::vector<point> points;
  std::vector<std::string> skipped;
  for (auto& p : expand(e)) {
    try {
      harness::validate(p.config);
      (void)harness::parse_pin(p.config.pin, topo);
      if (e.scenario == "seed" && !registry::instance().at(p.config.queue).properties.blocks_natively &&
          p.config.wait == "block")
        throw std::invalid_argument("--wait block: not available for " + p.config.queue);
      points.push_back(std::move(p));
    } catch (const std::invalid_argument& err) {
      if (!e.skip_unsupported)
        throw experiment_error(fmt::format("{}: point '{}' cannot run: {} (leave it out with an [[exclude]] rule, or set "
                                           "skip_unsupported = true)", e.path, p.id, err.what()));
      skipped.push_back(fmt::format("{}: {}", p.id, err.what()));
    }
  }
  if (points.empty()) throw experiment_error(e.path + ": no point left to run");
  const unsigned reps = e.repetitions;
  double total_estimate = 0;
  for (const auto& p : points) total_estimate += estimated_seconds(e, p) * reps;

  if (options.dry_run) {
    for (const auto& p : points) fmt::print("{}\n", p.id);
    for (const auto& s : skipped) fmt::print("skipped (unsupported): {}\n", s);
    fmt::print("{}: {} points x {} repetitions = {} runs, about {}; results in {}\n", e.name, points.size(), reps,
               points.size() * reps, minutes(total_estimate), csv);
    return 0;
  }
  for (const auto& s : skipped) fmt::print(stderr, "ringlab sweep: skipped (unsupported): {}\n", s);
  harness::check_writable(csv);
  if (options.fresh) {
    fs::remove(csv);
    fs::remove(fs::path(csv).replace_extension(".json"));
  }
  const auto done = finished_runs(csv, points);

  harness::install_interrupt_handler();
  const auto& clock = harness::calibrated_clock();
  const harness::provenance prov = harness::collect_provenance(clock, topo);
  const harness::run_context ctx{&clock, &topo, prov.host, prov.short_commit()};
  harness::noise_guard guard(options.guards, topo);
  auto provenance_extra = [&](std::size_t runs_now) {
    return fmt::format("\"experiment\": {}, \"experiment_file\": {}, \"points\": {}, \"repetitions\": {}, \"rows_this_session\": {}",
                       harness::json_string(e.name), harness::json_string(e.path), points.size(), reps, runs_now);
  };
  harness::write_provenance(csv, prov, provenance_extra(0));  // a CSV never exists without its JSON

  std::size_t todo = 0;
  for (unsigned r = 0; r < reps; ++r)
    for (const auto& p : points) todo += !done.count({p.id, r});
  const bool terminal = isatty(STDERR_FILENO);
  if (done.size()) fmt::print(stderr, "ringlab sweep: {}: resuming, {} of {} runs already in {}\n", e.name,
                              points.size() * reps - todo, points.size() * reps, csv);
  std::size_t finished = 0, invalid = 0, disturbed = 0;
  double remaining_estimate = 0;
  for (unsigned r = 0; r < reps; ++r)
    for (const auto& p : points) remaining_estimate += done.count({p.id, r}) ? 0 : estimated_seconds(e, p);
  const auto started = std::chrono::steady_clock::now();
  bool interrupted = false;
  for (unsigned r = 0; r < reps && !interrupted; ++r) {
    std::vector<const point*> order;
    for (const auto& p : points) order.push_back(&p);
    std::shuffle(order.begin(), order.end(), std::mt19937(r));
    for (const point* p : order) {
      if (done.count({p->id, r})) continue;
      if (terminal) {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const double eta = finished ? elapsed / static_cast<double>(finished) * static_cast<double>(todo - finished)
                                    : remaining_estimate;
        fmt::print(stderr, "\r\033[K[{}/{} {:3.0f}%] ETA {}  {} rep {}", finished, todo, 100.0 * finished / todo,
                   minutes(eta), p->id, r);
      }
      harness::run_result result;
      const std::string started_utc = harness::utc_now();
      try {
        const auto& entry = registry::instance().at(p->config.queue);
        result = guard.run(p->config, [&] {
          return e.scenario == "seed" ? entry.run_seed(p->config, p->tick_ms, r + 1, ctx) : entry.run(p->config, ctx);
        });
      } catch (const harness::run_interrupted&) {
        interrupted = true;
        break;
      }
      result.started_utc = started_utc;
      result.context = {{"experiment", e.name}, {"point", p->id}, {"repetition", std::to_string(r)}};
      for (const auto& column : extra_parameter_columns(e))
        for (const auto& [k, v] : p->parameters)
          if (k == column) result.context.emplace_back(k, v);
      harness::append_row(csv, harness::csv_header(result), harness::csv_values(result));
      ++finished;
      invalid += !result.valid;
      disturbed += result.disturbed;
      if (!terminal || !result.valid)
        fmt::print(stderr, "{}[{}/{}] {} rep {}: {}\n", terminal ? "\r\033[K" : "", finished, todo, p->id, r,
                   harness::describe(result));
    }
  }
  if (terminal) fmt::print(stderr, "\r\033[K");
  harness::write_provenance(csv, prov, provenance_extra(finished));
  if (interrupted) {
    fmt::print(stderr, "ringlab sweep: interrupted after {} runs; {} holds only whole rows; run the same command to "
                       "resume\n", finished, csv);
    return harness::interrupted_exit_status;
  }
  fmt::print(stderr, "ringlab sweep: {}: {} runs in {}, {} invalid, {} disturbed (left out of statistics); {}\n", e.name,
             finished, minutes(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()), invalid,
             disturbed, csv);
  int status = invalid ? 1 : 0;
  if (options.plot) {
    std::vector<std::string> args{csv, "--experiment", e.path};
    if (!options.plots_dir.empty()) args.insert(args.end(), {"--out-dir", options.plots_dir});
    if (run_plot_script("plot.py", args) != 0) status = 1;
  }
  return status;
}

}  // namespace ringlab::sweep
