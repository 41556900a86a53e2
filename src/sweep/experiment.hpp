// An experiment file (experiments/*.toml): fixed parameters, axes whose cartesian
// product is the sweep, exclude rules, repetitions, and the plots and claims that
// plots/*.py draw and evaluate. Parsed strictly: an unknown key or a wrong type is an
// error naming the file, line and key.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "harness/config.hpp"

namespace ringlab::sweep {

using value = std::variant<std::string, std::int64_t, double, bool>;
std::string to_text(const value& v);

struct experiment_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A condition of an exclude rule on one parameter: one of some values, or a range.
struct condition {
  std::string key;
  std::vector<value> any_of;  // empty: use the bounds
  double above = -1e300, below = 1e300;
  bool matches(const value& v) const;
};

// A set of points: fixed values and axes. An experiment has one (its [axes]) or several
// ([[group]] tables, each with its own fixed values and axes): the union is the sweep.
struct point_group {
  std::string name;  // empty for the plain [axes]
  std::vector<std::pair<std::string, value>> fixed;
  std::vector<std::pair<std::string, std::vector<value>>> axes;
};

struct experiment {
  std::string path, name, description;
  std::string scenario = "run";  // "run": ringlab run points; "seed": the seed scenario
  unsigned repetitions = 5;
  // Adaptive repetitions (precision.hpp): up to max_repetitions runs a point, until each
  // column's median has a 95% CI within its relative half-width. max_repetitions equal to
  // repetitions (the default): off.
  unsigned max_repetitions = 0;                           // 0: = repetitions
  std::vector<std::pair<std::string, double>> precision;  // column -> relative half-width
  double noisy_spread = 0.25;
  // false: its rows measure what survives, not how fast (a kill campaign), so no run waits
  // for a quiet machine or is repeated as disturbed.
  bool noise_guards = true;
  // The machine's floor measured before each latency run (harness/noise.hpp), seconds;
  // -1: the guard's default (the run's duration, at most 0.25 s). `--floor` overrides it.
  double floor_s = -1;
  bool skip_unsupported = false;  // drop points a queue refuses (fixed-size peers) instead of failing
  bool two_hosts = false;  // its rows mean something only with --connect (the producers on another host)
  std::vector<std::pair<std::string, value>> fixed;  // for every group
  std::vector<point_group> groups;
  std::vector<std::vector<condition>> excludes;  // a point matching every condition of a rule is left out
  std::size_t plots = 0, claims = 0;
};

// One point of the sweep: the run it describes and its identity.
struct point {
  std::string id;  // the axes' values, "queue=spsc_ring capacity=1024" (after "group=NAME" in groups)
  harness::run_config config;
  std::vector<std::pair<std::string, std::string>> parameters;  // every parameter, as CSV text
  double tick_ms = 1;  // seed scenario only
};

experiment load_experiment(const std::string& path);
// The cartesian product of the axes minus the excluded points, in axis order.
std::vector<point> expand(const experiment& e);
// Parameter columns the scenario adds to its rows (beyond the harness's own).
std::vector<std::string> extra_parameter_columns(const experiment& e);

}  // namespace ringlab::sweep
