#include "sweep/sweep.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
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

// The columns that say what a run was: they must agree between a point and its rows.
const std::set<std::string>& parameter_columns() {
  static const std::set<std::string> columns = {
      "queue", "wait", "capacity", "producers", "consumers", "payload_bytes", "offered_rate_items_per_s", "pin",
      "termination", "pattern", "mode", "duration_s", "items_requested", "warmup_s", "latency_recorded"};
  return columns;
}
// Columns whose text must parse as a number when not empty; a row where one does not is damaged.
bool numeric_column(const std::string& name) {
  static const std::set<std::string> text = {"experiment", "point", "group", "queue", "wait", "pin", "termination",
                                             "pattern", "mode", "validation_error", "producer_pus", "consumer_pus",
                                             "disturbance", "clock_source", "host", "commit", "build_id", "started_utc"};
  return !text.count(name);
}
bool parses_as_number(const std::string& text) {
  if (text.empty()) return true;
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  return end && *end == '\0';
}

// A row as it would be written now for point `p` (parameters, context, metrics): the
// header to expect and the parameter values to compare.
harness::run_result prototype_row(const experiment& e, const point& p) {
  harness::run_result r;
  r.config = p.config;
  r.warmup_s = p.config.effective_warmup_s();
  r.context = {{"experiment", e.name}, {"point", p.id}, {"repetition", "0"}};
  for (const auto& column : extra_parameter_columns(e))
    for (const auto& [k, v] : p.parameters)
      if (k == column) r.context.emplace_back(k, v);
  if (e.scenario == "seed") r.metrics = {{"consume_20_ms", ""}};
  return r;
}

struct row {
  std::size_t line = 0;  // 1-based line in the file
  std::map<std::string, std::string> fields;
  const std::string& at(const std::string& column) const {
    static const std::string none;
    const auto it = fields.find(column);
    return it == fields.end() ? none : it->second;
  }
};

struct existing_results {
  std::vector<row> rows;
  std::vector<std::string> damaged;  // one line each: which row and why
};

// Reads the CSV: its header must be the one this build writes; every row is checked
// (field count, the numbers parse, a finished last line), and a damaged one is set aside.
existing_results read_results(const std::string& csv, const std::vector<std::string>& header) {
  existing_results out;
  std::ifstream in(csv, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  if (text.empty()) return out;
  std::size_t at = 0, line_no = 0;
  auto next_line = [&](bool& finished) {
    const auto nl = text.find('\n', at);
    finished = nl != std::string::npos;
    std::string line = text.substr(at, finished ? nl - at : std::string::npos);
    at = finished ? nl + 1 : text.size();
    ++line_no;
    return line;
  };
  bool finished = false;
  const auto found = harness::parse_csv_line(next_line(finished));
  if (found != header)
    throw experiment_error(fmt::format("{}: its header is not the one this ringlab writes (another version?); rerun with "
                                       "--fresh to start over, or keep the file and use --results-dir", csv));
  while (at < text.size()) {
    const std::string line = next_line(finished);
    const auto fields = harness::parse_csv_line(line);
    std::string why;
    if (!finished) why = "unfinished (no end of line)";
    else if (fields.size() != header.size()) why = fmt::format("{} of {} fields", fields.size(), header.size());
    for (std::size_t i = 0; why.empty() && i < fields.size(); ++i)
      if (numeric_column(header[i]) && !parses_as_number(fields[i]))
        why = fmt::format("{} is '{}', not a number", header[i], fields[i]);
    if (why.empty() && (fields[2].empty() || fields[2].find_first_not_of("0123456789") != std::string::npos))
      why = fmt::format("repetition is '{}'", fields[2]);
    if (!why.empty()) {
      out.damaged.push_back(fmt::format("{}: row at line {} is damaged ({})", csv, line_no, why));
      continue;
    }
    row r{line_no, {}};
    for (std::size_t i = 0; i < header.size(); ++i) r.fields[header[i]] = fields[i];
    out.rows.push_back(std::move(r));
  }
  return out;
}

// Rewrites the CSV with only the good rows (through a temporary file: whole or not at all).
void drop_damaged(const std::string& csv, const std::vector<std::string>& header, const std::vector<row>& rows) {
  const std::string tmp = csv + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << harness::csv_line(header);
    for (const auto& r : rows) {
      std::vector<std::string> values;
      for (const auto& h : header) values.push_back(r.at(h));
      out << harness::csv_line(values);
    }
    if (!out) throw std::runtime_error(fmt::format("{}: cannot write", tmp));
  }
  fs::rename(tmp, csv);
}

// Why row `r` cannot be counted for point `p` (empty: it can).
std::string mismatch(const experiment& e, const point& p, const row& r) {
  const auto proto = prototype_row(e, p);
  const auto header = harness::csv_header(proto);
  const auto values = harness::csv_values(proto);
  auto differs = [](const std::string& a, const std::string& b) {
    if (a == b) return false;
    char *ea = nullptr, *eb = nullptr;
    const double x = std::strtod(a.c_str(), &ea), y = std::strtod(b.c_str(), &eb);
    return a.empty() || b.empty() || *ea || *eb || x != y;
  };
  for (std::size_t i = 0; i < header.size(); ++i) {
    const bool parameter = parameter_columns().count(header[i]) ||
                           (i >= 3 && i < proto.context.size());  // the experiment's own parameter columns
    if (parameter && differs(r.at(header[i]), values[i]))
      return fmt::format("{} is {} in the CSV but {} now", header[i], r.at(header[i]).empty() ? "empty" : r.at(header[i]),
                         values[i].empty() ? "empty" : values[i]);
  }
  return "";
}

std::string minutes(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  return s >= 60 ? fmt::format("{}m{:02d}s", s / 60, s % 60) : fmt::format("{}s", s);
}

// What the CSV already holds, per point.
struct tally {
  std::set<unsigned> repetitions;  // every repetition with a row
  unsigned undisturbed = 0;        // valid, undisturbed rows: the n statistics will use
  unsigned extra = 0;              // rows beyond the promised repetitions (make-up runs)
  unsigned next_repetition() const { return repetitions.empty() ? 0 : *repetitions.rbegin() + 1; }
};

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
      if (e.scenario == "seed" && p.config.native) throw std::invalid_argument("mode native: the seed scenario is a harness run");
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
  const unsigned extra_allowed = options.extra_runs < 0 ? reps : static_cast<unsigned>(options.extra_runs);
  double total_estimate = 0;
  for (const auto& p : points) total_estimate += estimated_seconds(e, p) * reps;

  if (options.dry_run) {
    for (const auto& p : points) fmt::print("{}\n", p.id);
    for (const auto& s : skipped) fmt::print("skipped (unsupported): {}\n", s);
    fmt::print("{}: {} points x {} repetitions = {} runs, about {} (disturbed runs are repeated: up to {} more per "
               "point); results in {}\n", e.name, points.size(), reps, points.size() * reps, minutes(total_estimate),
               extra_allowed, csv);
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
  const harness::run_context ctx{&clock, &topo, prov.host, prov.short_commit(), prov.build_id()};

  // What is there already: damaged rows set aside (and re-run), the rest checked.
  const auto header = harness::csv_header(prototype_row(e, points.front()));
  auto existing = read_results(csv, header);
  std::map<std::string, const point*> by_id;
  for (const auto& p : points) by_id[p.id] = &p;
  std::map<std::string, tally> have;
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
  }
  for (const auto& d : existing.damaged) fmt::print(stderr, "ringlab sweep: {}; it is dropped and run again\n", d);
  if (!existing.damaged.empty()) drop_damaged(csv, header, existing.rows);

  harness::install_interrupt_handler();
  harness::noise_guard guard(options.guards, topo);
  const std::string top = fmt::format("\"experiment\": {}, \"experiment_file\": {}", harness::json_string(e.name),
                                      harness::json_string(e.path));
  auto provenance_extra = [&](std::size_t runs_now) {
    return fmt::format("\"points\": {}, \"repetitions\": {}, \"rows_this_session\": {}", points.size(), reps, runs_now);
  };
  harness::write_provenance(csv, prov, provenance_extra(0), top);  // a CSV never exists without its JSON

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
    result.context = prototype_row(e, p).context;
    result.context[2].second = std::to_string(r);
    harness::append_row(csv, harness::csv_header(result), harness::csv_values(result));
    ++finished;
    invalid += !result.valid;
    disturbed += result.disturbed;
    auto& t = have[p.id];
    t.repetitions.insert(r);
    t.undisturbed += result.valid && !result.disturbed;
    t.extra += r >= reps;
    if (!terminal || !result.valid)
      fmt::print(stderr, "{}[{}/{}]{} {} rep {}: {}\n", terminal ? "\r\033[K" : "", finished, planned, pass, p.id, r,
                 harness::describe(result));
  };

  for (unsigned r = 0; r < reps && !interrupted; ++r) {
    std::vector<const point*> order;
    for (const auto& p : points) order.push_back(&p);
    std::shuffle(order.begin(), order.end(), std::mt19937(r));
    for (const point* p : order) {
      if (interrupted) break;
      if (!have[p->id].repetitions.count(r)) run_one(*p, r, todo, "");
    }
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
  if (terminal) fmt::print(stderr, "\r\033[K");
  harness::write_provenance(csv, prov, provenance_extra(finished), top);
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
