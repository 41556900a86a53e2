#include "sweep/sweep.hpp"

#include <fmt/core.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "harness/interrupt.hpp"
#include "harness/output.hpp"
#include "transports/kernel/posix_mq.hpp"
#include "scopes/hosts/remote_link.hpp"
#include "registry.hpp"
#include "sweep/python.hpp"
#include "sweep/rows.hpp"
#include "sweep/precision.hpp"
#include "sweep/slurm.hpp"

namespace ringlab::sweep {
namespace fs = std::filesystem;
namespace {

std::string minutes(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  return s >= 60 ? fmt::format("{}m{:02d}s", s / 60, s % 60) : fmt::format("{}s", s);
}

// What the CSV already holds, per point.
struct tally {
  std::set<unsigned> repetitions;  // every repetition with a row
  unsigned undisturbed = 0;        // valid, undisturbed rows: the n statistics will use
  unsigned extra = 0;              // rows beyond the promised repetitions (make-up runs)
  std::vector<std::vector<double>> targets;  // per [precision] column: its valid, undisturbed values
  unsigned next_repetition() const { return repetitions.empty() ? 0 : *repetitions.rbegin() + 1; }
};

}  // namespace

std::string results_csv(const std::string& results_dir, const std::string& host, const std::string& name) {
  return (fs::path(results_dir) / host / (name + ".csv")).string();
}

harness::guard_options guards_for(const experiment& e, const sweep_options& options) {
  harness::guard_options guards = options.guards;
  guards.enabled = guards.enabled && e.noise_guards;
  if (guards.floor_s < 0) guards.floor_s = e.floor_s;  // --floor, else the experiment's floor_s, else the default
  return guards;
}

double estimated_seconds(const experiment& e, const point& p) {
  constexpr double overhead_s = 0.2;  // threads, start, drain, analysis, noise guards
  if (e.scenario == "seed") return 12 * p.tick_ms / 1000 + overhead_s;
  if (p.config.items) return 1.0;
  const double warmup = p.config.effective_warmup_s();
  return warmup + p.config.duration_s + overhead_s;
}

namespace {
// --raise-limits: one raise that fits every posix_mq point (the largest queue, the
// largest item), before validation reads the limits. Returns what it changed.
std::string raise_limits_for(const experiment& e) {
  std::size_t capacity = 0, item_bytes = 0;
  for (const auto& p : expand(e))
    if (p.config.queue == "posix_mq")
      capacity = std::max(capacity, p.config.capacity), item_bytes = std::max(item_bytes, p.config.payload_bytes);
  if (capacity == 0) return "";
  try {
    return ipc::raise_mq_limits(capacity, item_bytes);
  } catch (const std::runtime_error& err) {
    throw experiment_error(fmt::format("{}: --raise-limits: {}", e.path, err.what()));
  }
}
}  // namespace

int run_sweep(const experiment& e, const sweep_options& options) {
  if (options.engine == "slurm" && options.raise_limits)
    throw experiment_error("--raise-limits: local sweeps only (a cluster's nodes are set up by their administrators)");
  if (options.engine == "slurm" && options.repetitions)
    throw experiment_error("--repetitions: a Slurm sweep runs the experiment's own repetitions (--engine local)");
  if (options.engine == "slurm" && !options.connect.empty())
    throw experiment_error("--connect: a sweep split across two hosts runs from one of them (--engine local)");
  if (options.engine == "slurm" && is_adaptive(e))
    fmt::print(stderr, "ringlab sweep: {}: max_repetitions = {}: the Slurm array runs every point {} times up front "
                       "(its tasks cannot wait on each other's results); the merge says which points met [precision]\n",
               e.path, e.max_repetitions, e.max_repetitions);
  if (e.two_hosts && options.connect.empty() && !options.dry_run)
    throw experiment_error(e.path + ": two_hosts = true: run it with --connect HOST:PORT against a `ringlab serve` "
                           "(scripts/split-netns runs both sides on this machine, in two network namespaces)");
  if (options.engine == "slurm") return slurm_sweep(e, options);
  if (options.engine != "local") throw experiment_error("--engine " + options.engine + ": local or slurm");
  const auto topo = harness::topology::this_machine();
  const std::string host = harness::machine_host_id(topo);
  const std::string results_dir = options.results_dir.empty() ? source_path("results") : options.results_dir;
  const std::string csv = results_csv(results_dir, host, e.name);

  const std::string limits_raised = options.raise_limits ? raise_limits_for(e) : "";
  // Every point must be runnable before anything runs.
  std::vector<std::string> skipped;
  std::vector<point> points = runnable_points(e, topo, skipped);
  if (!options.connect.empty())  // split across two hosts: each point must allow it, before anything runs
    for (auto& p : points) {
      p.config.connect = options.connect;
      try {
        if (e.scenario == "seed") throw std::invalid_argument("the seed scenario runs on one host");
        harness::validate(p.config);
      } catch (const std::invalid_argument& err) {
        throw experiment_error(fmt::format("{}: point {}: {}", e.path, p.id, err.what()));
      }
    }
  const unsigned reps = options.repetitions ? options.repetitions : e.repetitions;
  const unsigned extra_allowed = options.extra_runs < 0 ? reps : static_cast<unsigned>(options.extra_runs);
  const unsigned max_runs = std::max(reps, e.max_repetitions);  // adaptive repetitions: up to this many rows a point
  const bool adaptive = max_runs > reps && !e.precision.empty();
  double total_estimate = 0;
  for (const auto& p : points) total_estimate += estimated_seconds(e, p) * reps;

  if (options.dry_run) {
    for (const auto& p : points) fmt::print("{}\n", p.id);
    for (const auto& s : skipped) fmt::print("skipped (unsupported): {}\n", s);
    fmt::print("{}: {} points x {} repetitions = {} runs, about {} (disturbed runs are repeated: up to {} more per "
               "point{}); results in {}\n", e.name, points.size(), reps, points.size() * reps, minutes(total_estimate),
               extra_allowed, adaptive ? fmt::format("; until its CIs meet [precision], up to {} runs a point", max_runs) : "",
               csv);
    return 0;
  }
  for (const auto& s : skipped) fmt::print(stderr, "ringlab sweep: skipped (unsupported): {}\n", s);
  harness::check_writable(csv);
  if (options.fresh) {
    fs::remove(csv);
    fs::remove(fs::path(csv).replace_extension(".json"));
  }

  const auto& clock = harness::calibrated_clock();
  const harness::provenance prov = harness::collect_provenance(clock, topo);
  harness::run_context ctx{&clock, &topo, prov.host, prov.short_commit(), prov.build_id()};
  std::optional<ipc::control_channel> channel;  // --connect: one link to the serve for the whole sweep
  std::optional<ipc::remote_link> link;
  if (!options.connect.empty()) {
    channel.emplace(ipc::dial_control(options.connect, 5));
    link.emplace(*channel, ipc::remote_link::half::consumers, clock);
    ctx.remote = &*link;
    ctx.clock = &link->clock();
  }

  // What is there already: damaged rows set aside (and re-run), the rest checked.
  const auto header = harness::csv_header(prototype_row(e, points.front()));
  auto existing = read_rows(csv, header);
  std::map<std::string, const point*> by_id;
  for (const auto& p : points) by_id[p.id] = &p;
  std::map<std::string, tally> have;
  // A valid, undisturbed row's values of the [precision] columns, by the column's name.
  auto note_targets = [&](tally& t, const auto& cell) {
    t.targets.resize(e.precision.size());
    for (std::size_t i = 0; i < e.precision.size(); ++i) {
      const std::string text = cell(e.precision[i].first);
      t.targets[i].push_back(text.empty() ? NAN : std::strtod(text.c_str(), nullptr));
    }
  };
  for (const auto& r : existing.rows) {
    const auto it = by_id.find(r.at("point"));
    if (it == by_id.end())
      throw experiment_error(fmt::format("{}: row at line {} is of point '{}', which the experiment no longer has; it "
                                         "changed: rerun with --fresh", csv, r.line, r.at("point")));
    if (const auto why = mismatch(e, *it->second, r); !why.empty())
      throw experiment_error(fmt::format("{}: row at line {} (point '{}') was made with other parameters ({}); the "
                                         "experiment changed: rerun with --fresh", csv, r.line, r.at("point"), why));
    if (!options.allow_mixed && (r.at("commit") != ctx.commit || r.at("build_id") != ctx.build_id))
      throw experiment_error(fmt::format(
          "{}: row at line {} was measured by {} '{}' (this is '{}'); --fresh to start over, or --allow-mixed to add to it",
          csv, r.line, r.at("commit") != ctx.commit ? "commit" : "build", r.at("commit") != ctx.commit ? r.at("commit") : r.at("build_id"),
          r.at("commit") != ctx.commit ? ctx.commit : ctx.build_id));
    auto& t = have[r.at("point")];
    const auto rep = static_cast<unsigned>(std::stoul(r.at("repetition")));
    t.repetitions.insert(rep);
    t.undisturbed += r.at("valid") == "1" && r.at("disturbed") != "1";
    t.extra += rep >= reps;
    if (r.at("valid") == "1" && r.at("disturbed") != "1") note_targets(t, [&](const std::string& c) { return r.at(c); });
  }
  for (const auto& d : existing.damaged) fmt::print(stderr, "ringlab sweep: {}; it is dropped and run again\n", d);
  if (!existing.damaged.empty()) write_rows(csv, header, existing.rows);

  harness::install_interrupt_handler();
  harness::noise_guard guard(guards_for(e, options), topo);
  const std::string top = fmt::format("\"experiment\": {}, \"experiment_file\": {}", harness::json_string(e.name),
                                      harness::json_string(e.path));
  // What ended each point's runs, for the figures' footers: its targets met, or the cap.
  auto ended_by = [&] {
    if (!adaptive) return std::string();
    std::vector<std::string> capped;
    for (const auto& p : points)
      if (const auto missed = first_missed(e.precision, have[p.id].targets); !missed.empty())
        capped.push_back(fmt::format("{{\"point\": {}, \"wider_than_target\": {}, \"runs\": {}}}", harness::json_string(p.id),
                                     harness::json_string(missed), have[p.id].repetitions.size()));
    std::vector<std::string> targets;
    for (const auto& [column, half] : e.precision) targets.push_back(fmt::format("{}: {}", harness::json_string(column), half));
    return fmt::format(", \"max_repetitions\": {}, \"precision\": {{{}}}, \"points_met_precision\": {}, "
                       "\"points_at_cap\": [{}]", max_runs, fmt::join(targets, ", "), points.size() - capped.size(),
                       fmt::join(capped, ", "));
  };
  auto provenance_extra = [&](std::size_t runs_now, double wall_s) {  // wall_s: this session's, so far
    return fmt::format("\"points\": {}, \"repetitions\": {}, \"rows_this_session\": {}, \"wall_s\": {:.1f}{}",
                       points.size(), reps, runs_now, wall_s, ended_by());
  };
  harness::write_provenance(csv, prov, provenance_extra(0, 0), top);  // a CSV never exists without its JSON

  std::size_t todo = 0, already = 0;
  for (const auto& p : points)
    for (unsigned r = 0; r < reps; ++r) (have[p.id].repetitions.count(r) ? already : todo) += 1;
  const bool terminal = isatty(STDERR_FILENO);
  if (already) fmt::print(stderr, "ringlab sweep: {}: resuming, {} of {} runs already in {}\n", e.name, already,
                          points.size() * reps, csv);
  std::size_t finished = 0, invalid = 0, disturbed = 0;
  const auto started = std::chrono::steady_clock::now();
  bool interrupted = false;

  // One run of point p as repetition r: guarded, appended, tallied.
  auto run_one = [&](const point& p, unsigned r, std::size_t planned, const char* pass) {
    if (terminal) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const double eta = finished ? elapsed / static_cast<double>(finished) * static_cast<double>(planned - finished)
                                  : estimated_seconds(e, p) * static_cast<double>(planned);
      fmt::print(stderr, "\r\033[K[{}/{} {:3.0f}%]{} ETA {}  {} rep {}", finished, planned, 100.0 * finished / planned,
                 pass, minutes(eta), p.id, r);
    }
    harness::run_result result;
    const std::string started_utc = harness::utc_now();
    try {
      const auto& entry = registry::instance().at(p.config.queue);
      result = guard.run(p.config, [&] {
        return e.scenario == "seed" ? entry.run_seed(p.config, p.tick_ms, r + 1, ctx) : entry.run(p.config, ctx);
      });
    } catch (const harness::run_interrupted&) {
      interrupted = true;
      return;
    }
    result.started_utc = started_utc;
    if (p.config.queue == "posix_mq") result.limits_raised = limits_raised;
    result.context = prototype_row(e, p, r).context;
    harness::append_row(csv, harness::csv_header(result), harness::csv_values(result));
    ++finished;
    invalid += !result.valid;
    disturbed += result.disturbed;
    auto& t = have[p.id];
    t.repetitions.insert(r);
    t.undisturbed += result.valid && !result.disturbed;
    t.extra += r >= reps;
    if (result.valid && !result.disturbed) {
      const auto header = harness::csv_header(result), values = harness::csv_values(result);
      note_targets(t, [&](const std::string& c) {
        const auto at = std::find(header.begin(), header.end(), c);
        return at == header.end() ? std::string() : values[static_cast<std::size_t>(at - header.begin())];
      });
    }
    if (!terminal || !result.valid)
      fmt::print(stderr, "{}[{}/{}]{} {} rep {}: {}\n", terminal ? "\r\033[K" : "", finished, planned, pass, p.id, r,
                 harness::describe(result));
  };

  for (const auto& run : interleaved_runs(points, reps)) {
    if (interrupted) break;
    if (!have[run.p->id].repetitions.count(run.repetition)) run_one(*run.p, run.repetition, todo, "");
  }
  // Make-up passes: a point short of undisturbed repetitions runs again, interleaved
  // with the others that are short, until it has them or its extra runs are spent.
  for (unsigned pass = 0; !interrupted; ++pass) {
    std::vector<const point*> short_ones;
    for (const auto& p : points)
      if (have[p.id].undisturbed < reps && have[p.id].extra < extra_allowed) short_ones.push_back(&p);
    if (short_ones.empty()) break;
    std::shuffle(short_ones.begin(), short_ones.end(), std::mt19937(reps + pass));
    todo += short_ones.size();
    for (const point* p : short_ones) {
      if (interrupted) break;
      run_one(*p, have[p->id].next_repetition(), todo, " make-up");
    }
  }
  // Precision passes: a point with its repetitions but a target's CI still too wide runs
  // again, interleaved with the others, until it meets them or has max_runs rows.
  for (unsigned pass = 0; adaptive && !interrupted; ++pass) {
    std::vector<const point*> wide;
    for (const auto& p : points) {
      const auto& t = have[p.id];
      if (t.undisturbed >= reps && t.repetitions.size() < max_runs && !first_missed(e.precision, t.targets).empty())
        wide.push_back(&p);
    }
    if (wide.empty()) break;
    std::shuffle(wide.begin(), wide.end(), std::mt19937(7919 + pass));
    todo += wide.size();
    for (const point* p : wide) {
      if (interrupted) break;
      run_one(*p, have[p->id].next_repetition(), todo, " precision");
    }
  }
  if (terminal) fmt::print(stderr, "\r\033[K");
  harness::write_provenance(
      csv, prov, provenance_extra(finished, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()),
      top);
  if (interrupted) {
    fmt::print(stderr, "ringlab sweep: interrupted after {} runs; {} holds only whole rows; run the same command to "
                       "resume\n", finished, csv);
    return harness::interrupted_exit_status;
  }
  std::vector<std::string> short_points;
  for (const auto& p : points)
    if (have[p.id].undisturbed < reps) short_points.push_back(fmt::format("{} (n = {})", p.id, have[p.id].undisturbed));
  fmt::print(stderr, "ringlab sweep: {}: {} runs in {}, {} invalid, {} disturbed (kept, left out of statistics, run again); {}\n",
             e.name, finished, minutes(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()),
             invalid, disturbed, csv);
  if (adaptive) {
    std::size_t capped = 0;
    for (const auto& p : points) capped += !first_missed(e.precision, have[p.id].targets).empty();
    fmt::print(stderr, "ringlab sweep: {} of {} points met their [precision] targets; {} stopped at {} runs "
                       "(the JSON's points_at_cap names them)\n", points.size() - capped, points.size(), capped, max_runs);
  }
  if (!short_points.empty()) {
    std::string list;
    for (std::size_t i = 0; i < short_points.size() && i < 5; ++i) list += (i ? "; " : "") + short_points[i];
    fmt::print(stderr, "ringlab sweep: {} points have fewer than {} undisturbed repetitions after {} extra runs each: {}{}\n",
               short_points.size(), reps, extra_allowed, list, short_points.size() > 5 ? "; ..." : "");
  }
  int status = invalid ? 1 : 0;
  if (options.plot) {
    std::vector<std::string> args{csv, "--experiment", e.path};
    if (!options.plots_dir.empty()) args.insert(args.end(), {"--out-dir", options.plots_dir});
    if (run_plot_script("plot.py", args) != 0) status = 1;
  }
  return status;
}

}  // namespace ringlab::sweep
