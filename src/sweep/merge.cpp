// `ringlab merge`: the parts a Slurm array's tasks wrote (results/<host>/X.parts/) joined
// into each host's results/<host>/X.csv with the local sweep's checks (sweep/merge.hpp).
#include "sweep/merge.hpp"

#include <fmt/core.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "harness/interrupt.hpp"
#include "harness/output.hpp"
#include "registry.hpp"
#include "sweep/precision.hpp"
#include "sweep/python.hpp"
#include "sweep/rows.hpp"

namespace ringlab::sweep {
namespace fs = std::filesystem;

namespace {
// An adaptive experiment's array ran every point's cap (precision.hpp): which points met
// their [precision] targets, in the members the figures' footers read ("" if not adaptive).
std::string precision_summary(const experiment& e, const std::vector<point>& points, const std::vector<row>& rows) {
  if (!is_adaptive(e)) return "";
  std::map<std::string, std::vector<std::vector<double>>> values;  // point -> per target column
  for (const auto& r : rows) {
    if (r.at("valid") != "1" || r.at("disturbed") == "1") continue;
    auto& v = values[r.at("point")];
    v.resize(e.precision.size());
    for (std::size_t i = 0; i < e.precision.size(); ++i) {
      const auto cell = r.fields.find(e.precision[i].first);
      v[i].push_back(cell == r.fields.end() || cell->second.empty() ? NAN : std::strtod(cell->second.c_str(), nullptr));
    }
  }
  std::vector<std::string> capped, targets;
  std::size_t met = 0;
  for (const auto& p : points) {
    const auto missed = first_missed(e.precision, values[p.id]);
    if (missed.empty()) ++met;
    else capped.push_back(fmt::format("{{\"point\": {}, \"wider_than_target\": {}, \"runs\": {}}}", harness::json_string(p.id),
                                      harness::json_string(missed), values[p.id].empty() ? 0 : values[p.id][0].size()));
  }
  for (const auto& [column, half] : e.precision) targets.push_back(fmt::format("{}: {}", harness::json_string(column), half));
  return fmt::format(", \"max_repetitions\": {}, \"ran_cap_up_front\": true, \"precision\": {{{}}}, "
                     "\"points_met_precision\": {}, \"points_at_cap\": [{}]", e.max_repetitions, fmt::join(targets, ", "),
                     met, fmt::join(capped, ", "));
}
}  // namespace

int merge_parts(const std::vector<std::string>& parts_dirs, const merge_options& options) {
  if (parts_dirs.empty()) throw experiment_error("no parts folder to merge (results/<host>/<experiment>.parts/)");
  // Every part of every folder: one experiment, one plan, one commit and build.
  struct part {
    unsigned task;
    std::string csv, dir;
  };
  std::vector<part> parts;
  std::string experiment_file, name;
  unsigned tasks = 0;
  for (const auto& d : parts_dirs) {
    std::error_code ec;
    if (!fs::is_directory(d, ec)) throw experiment_error(d + ": no such parts folder");
    // The folder says whose parts it holds: results/<host>/<experiment>.parts.
    const fs::path folder = fs::path(d).lexically_normal();
    const std::string folder_name = (folder.has_filename() ? folder : folder.parent_path()).filename().string();
    if (folder_name.size() <= 6 || folder_name.substr(folder_name.size() - 6) != ".parts")
      throw experiment_error(d + ": not a parts folder (results/<host>/<experiment>.parts)");
    const std::string folder_experiment = folder_name.substr(0, folder_name.size() - 6);
    if (name.empty()) name = folder_experiment;
    else if (folder_experiment != name)
      throw experiment_error(fmt::format("{} holds parts of '{}', not '{}': merge one experiment at a time", d,
                                         folder_experiment, name));
    for (const auto& f : fs::directory_iterator(d)) {
      const std::string stem = f.path().stem().string();
      if (f.path().extension() != ".csv" || stem.empty() || stem.find_first_not_of("0123456789") != std::string::npos)
        continue;
      const std::string json = fs::path(f.path()).replace_extension(".json").string();
      const std::string file = harness::provenance_member(json, "experiment_file");
      const std::string its_name = harness::provenance_member(json, "experiment");
      const std::string its_tasks = harness::provenance_member(json, "tasks");
      if (file.empty() || its_tasks.empty())
        throw experiment_error(fmt::format("{}: no provenance of a Slurm task beside it ({}); not a part of ours", f.path().string(), json));
      if (experiment_file.empty()) experiment_file = file, tasks = static_cast<unsigned>(std::stoul(its_tasks));
      if (its_name != name)
        throw experiment_error(fmt::format("{} is a part of experiment '{}', not '{}'", f.path().string(), its_name, name));
      if (static_cast<unsigned>(std::stoul(its_tasks)) != tasks)
        throw experiment_error(fmt::format("{} is a part of a sweep of {} tasks, not {}: another submission; remove it",
                                           f.path().string(), its_tasks, tasks));
      parts.push_back({static_cast<unsigned>(std::stoul(stem)), f.path().string(), d});
    }
  }
  if (parts.empty()) throw experiment_error("no finished part in " + parts_dirs.front());
  const experiment e = load_experiment(experiment_file);
  const auto topo = harness::topology::this_machine();
  std::vector<std::string> skipped;
  const auto points = runnable_points(e, topo, skipped);
  std::map<std::string, const point*> by_id;
  for (const auto& p : points) by_id[p.id] = &p;
  const auto header = harness::csv_header(prototype_row(e, points.front()));

  // Missing tasks anywhere (a task is done if any host has its part).
  std::set<unsigned> have;
  for (const auto& p : parts) have.insert(p.task);
  std::vector<unsigned> missing;
  for (unsigned t = 0; t < tasks; ++t)
    if (!have.count(t)) missing.push_back(t);

  // Check every row; keep each host's rows apart.
  std::map<std::string, std::vector<row>> by_dir;
  std::map<std::pair<std::string, std::string>, std::string> seen;  // (point, repetition) -> part
  std::string commit, build, first_part;
  std::sort(parts.begin(), parts.end(), [](const part& a, const part& b) { return a.task < b.task; });
  for (const auto& p : parts) {
    const auto checked = read_rows(p.csv, header);
    if (!checked.damaged.empty())
      throw experiment_error(checked.damaged.front() + "; remove the part and resubmit to run its task again");
    for (const auto& r : checked.rows) {
      const auto it = by_id.find(r.at("point"));
      if (it == by_id.end())
        throw experiment_error(fmt::format("{}: row at line {} is of point '{}', which {} does not have", p.csv, r.line,
                                           r.at("point"), e.path));
      if (const auto why = mismatch(e, *it->second, r); !why.empty())
        throw experiment_error(fmt::format("{}: row at line {}: {} ({} changed since)", p.csv, r.line, why, e.path));
      if (commit.empty()) commit = r.at("commit"), build = r.at("build_id"), first_part = p.csv;
      if (!options.allow_mixed && (r.at("commit") != commit || r.at("build_id") != build))
        throw experiment_error(fmt::format("{} was measured by commit '{}' but {} by '{}': --allow-mixed to merge them",
                                           p.csv, r.at("commit"), first_part, commit));
      const auto key = std::pair{r.at("point"), r.at("repetition")};
      if (const auto dup = seen.find(key); dup != seen.end())
        throw experiment_error(fmt::format("{} and {} both hold point '{}' repetition {}: a duplicate; remove one",
                                           dup->second, p.csv, key.first, key.second));
      seen[key] = p.csv;
      by_dir[p.dir].push_back(r);
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (std::size_t i = 0; i < missing.size() && i < 20; ++i) list += (i ? ", " : "") + std::to_string(missing[i]);
    fmt::print(stderr, "ringlab merge: {}: tasks {}{} of {} are missing or unfinished; `ringlab sweep {} --engine slurm` "
                       "submits just those again; nothing merged\n", name, list, missing.size() > 20 ? ", ..." : "",
               tasks, experiment_file);
    return 1;
  }
  int status = 0;
  for (const auto& [dir, rows] : by_dir) {
    const fs::path d(dir);
    const std::string csv = (d.parent_path() / (name + ".csv")).string();
    write_rows(csv, header, rows);
    std::vector<std::string> entries;
    for (const auto& p : parts)
      if (p.dir == dir)
        for (auto& entry : harness::provenance_entries(fs::path(p.csv).replace_extension(".json").string()))
          if (std::find(entries.begin(), entries.end(), entry) == entries.end()) entries.push_back(entry);
    harness::write_provenance_entries(csv, fmt::format("\"experiment\": {}, \"experiment_file\": {}, \"merged_from\": {}{}",
                                                       harness::json_string(name), harness::json_string(experiment_file),
                                                       harness::json_string(dir), precision_summary(e, points, rows)),
                                      entries);
    std::size_t invalid = 0, disturbed = 0;
    for (const auto& r : rows) invalid += r.at("valid") != "1", disturbed += r.at("disturbed") == "1";
    fmt::print(stderr, "ringlab merge: {}: {} rows ({} invalid, {} disturbed) from {} into {}\n", name, rows.size(),
               invalid, disturbed, dir, csv);
    if (invalid) status = 1;
    if (options.plot && run_plot_script("plot.py", {csv, "--experiment", experiment_file}) != 0) status = 1;
  }
  return status;
}

}  // namespace ringlab::sweep
