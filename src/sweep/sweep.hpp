// `ringlab sweep`: every point of an experiment times its repetitions, interleaved
// (repetition r visits all points, in an order shuffled with seed r, before r + 1),
// appended one whole row at a time to results/<host>/<name>.csv with the provenance
// beside it. Rows already there are skipped, so an interrupted sweep resumes.
#pragma once
#include <string>

#include "harness/noise.hpp"
#include "sweep/experiment.hpp"

namespace ringlab::sweep {

struct sweep_options {
  bool fresh = false;    // start over: remove the CSV first
  bool dry_run = false;  // list the points and the time they would take
  bool plot = true;      // draw the figures at the end (plots/plot.py)
  std::string results_dir;  // default: <source>/results
  std::string plots_dir;    // default: plot.py's own (<source>/plots/<host>)
  harness::guard_options guards;
};

// The exit status: 0 all valid, 1 a run failed validation (or the plot failed),
// 2 the experiment cannot run as written, 130 interrupted.
int run_sweep(const experiment& e, const sweep_options& options);

// Seconds one run of `p` should take, for estimates.
double estimated_seconds(const experiment& e, const point& p);

// Where results for experiment `name` live on this machine.
std::string results_csv(const std::string& results_dir, const std::string& host, const std::string& name);

}  // namespace ringlab::sweep
