#include "sweep/rows.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>

#include "harness/output.hpp"
#include "registry.hpp"

namespace ringlab::sweep {
namespace fs = std::filesystem;
namespace {

// The columns that say what a run was: they must agree between a point and its rows.
const std::set<std::string>& parameter_columns() {
  static const std::set<std::string> columns = {
      "queue", "wait", "capacity", "producers", "consumers", "payload_bytes", "offered_rate_items_per_s", "pin",
      "termination", "pattern", "mode", "scope", "fault", "fault_at", "fault_after_s", "duration_s", "items_requested", "warmup_s",
      "latency_recorded", "service_ns", "work_ns", "producer_work_ns", "net", "tcp_nodelay", "batch_items"};
  return columns;
}
// Columns whose text must parse as a number when not empty; a row where one does not is damaged.
bool numeric_column(const std::string& name) {
  static const std::set<std::string> text = {"experiment", "point", "group", "queue", "wait", "pin", "termination",
                                             "pattern", "mode", "scope", "fault", "fault_at", "crash_guarantee", "validation_error", "producer_pus", "consumer_pus",
                                             "limits_raised", "detected_by", "outcome", "net", "latency_method", "bottleneck", "lat_histogram",
                                             "disturbance", "clock_source", "host", "commit", "build_id", "started_utc"};
  return !text.count(name);
}
bool parses_as_number(const std::string& text) {
  if (text.empty()) return true;
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  return end && *end == '\0';
}

}  // namespace

std::vector<point> runnable_points(const experiment& e, const harness::topology& topo, std::vector<std::string>& skipped) {
  std::vector<point> points;
  for (auto& p : expand(e)) {
    try {
      harness::validate(p.config);
      (void)harness::parse_pin(p.config.pin, topo);
      const auto& entry = registry::instance().at(p.config.queue);
      if (p.config.scope.empty()) p.config.scope = entry.scope;  // as its rows will say
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
  return points;
}

std::vector<planned_run> interleaved_runs(const std::vector<point>& points, unsigned repetitions) {
  std::vector<planned_run> runs;
  for (unsigned r = 0; r < repetitions; ++r) {
    std::vector<const point*> order;
    for (const auto& p : points) order.push_back(&p);
    std::shuffle(order.begin(), order.end(), std::mt19937(r));
    for (const point* p : order) runs.push_back({p, r});
  }
  return runs;
}

harness::run_result prototype_row(const experiment& e, const point& p, unsigned repetition) {
  harness::run_result r;
  r.config = p.config;
  r.warmup_s = p.config.effective_warmup_s();
  r.context = {{"experiment", e.name}, {"point", p.id}, {"repetition", std::to_string(repetition)}};
  for (const auto& column : extra_parameter_columns(e))
    for (const auto& [k, v] : p.parameters)
      if (k == column) r.context.emplace_back(k, v);
  if (e.scenario == "seed") r.metrics = {{"consume_20_ms", ""}};
  return r;
}

const std::string& row::at(const std::string& column) const {
  static const std::string none;
  const auto it = fields.find(column);
  return it == fields.end() ? none : it->second;
}

checked_rows read_rows(const std::string& csv, const std::vector<std::string>& header) {
  checked_rows out;
  std::ifstream in(csv, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  if (text.empty()) return out;
  std::size_t at = 0, line_no = 0;
  bool finished = false;
  auto next_line = [&] {
    const auto nl = text.find('\n', at);
    finished = nl != std::string::npos;
    std::string line = text.substr(at, finished ? nl - at : std::string::npos);
    at = finished ? nl + 1 : text.size();
    ++line_no;
    return line;
  };
  if (harness::parse_csv_line(next_line()) != header)
    throw experiment_error(fmt::format("{}: its header is not the one this ringlab writes for this experiment (another "
                                       "version or experiment?); rerun with --fresh to start over, or use --results-dir",
                                       csv));
  while (at < text.size()) {
    const auto fields = harness::parse_csv_line(next_line());
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

void write_rows(const std::string& csv, const std::vector<std::string>& header, const std::vector<row>& rows) {
  const std::string tmp = csv + ".tmp";
  if (fs::path(csv).has_parent_path()) fs::create_directories(fs::path(csv).parent_path());
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

}  // namespace ringlab::sweep
