// `ringlab sweep experiments/X.toml`: every point of an experiment times its repetitions,
// interleaved (repetition r visits all points, in an order shuffled with seed r, before
// r + 1), appended one whole row at a time to results/<host>/<name>.csv with one
// provenance entry per session beside it. Then make-up passes: a point whose runs were
// disturbed runs again (interleaved too) until it has its undisturbed repetitions, or
// its extra runs are spent. Rows already there are skipped, so an interrupted sweep
// resumes; a damaged row is reported and re-run; rows of other parameters, another
// commit or another build are refused (--fresh, or --allow-mixed for the last two).
#pragma once
#include <string>

#include "harness/noise.hpp"
#include "sweep/experiment.hpp"

namespace ringlab::sweep {

struct sweep_options {
  bool fresh = false;        // start over: remove the CSV first
  bool dry_run = false;      // list the points and the time they would take
  bool plot = true;          // draw the figures at the end (plots/plot.py)
  bool allow_mixed = false;  // resume over rows of another commit or build
  unsigned repetitions = 0;  // instead of the experiment's (0: its own), e.g. a campaign's short form in CI
  int extra_runs = -1;       // extra runs a point may take for disturbed ones (-1: as many as its repetitions)
  // The engine: "local" (this machine) or "slurm" (slurm.hpp) and the latter's settings.
  std::string engine = "local";
  std::string partition;     // sbatch --partition (default: the cluster's)
  unsigned max_parallel = 0; // at most this many tasks at once (0: as Slurm likes)
  double time_per_point_s = 0;  // for the job's time limit (0: estimated)
  unsigned runs_per_task = 0;   // runs per array task (0: about a minute's worth)
  bool wait = false;         // stay until the merge job is done, and return its status
  std::string results_dir;   // default: <source>/results
  std::string plots_dir;     // default: plot.py's own (<source>/plots/<host>)
  bool raise_limits = false; // as root, raise the kernel limits the points need (posix_mq); recorded per row
  std::string connect;       // HOST:PORT of a `ringlab serve`: every point's producers run there
  harness::guard_options guards;
};

// The exit status: 0 all valid, 1 a run failed validation (or the plot failed),
// 2 the experiment cannot run as written, 130 interrupted.
int run_sweep(const experiment& e, const sweep_options& options);

// The noise guards a sweep's runs use: the options', off where the experiment says
// noise_guards = false, the floor's window from --floor or the experiment's floor_s.
harness::guard_options guards_for(const experiment& e, const sweep_options& options);

// Seconds one run of `p` should take, for estimates.
double estimated_seconds(const experiment& e, const point& p);

// Where results for experiment `name` live on this machine.
std::string results_csv(const std::string& results_dir, const std::string& host, const std::string& name);

}  // namespace ringlab::sweep
