// `ringlab sweep experiments/X.toml` and `ringlab plot results/<host>/X.csv`.
#include <fmt/core.h>

#include <filesystem>

#include "commands/commands.hpp"
#include "sweep/python.hpp"
#include "sweep/slurm.hpp"
#include "sweep/sweep.hpp"

namespace ringlab::commands {

runner add_sweep(CLI::App& app) {
  auto* cmd = app.add_subcommand("sweep", "Run every point of an experiment file; append to results/<host>/<name>.csv");
  auto file = std::make_shared<std::string>();
  auto o = std::make_shared<sweep::sweep_options>();
  auto no_plot = std::make_shared<bool>(false);
  auto no_guards = std::make_shared<bool>(false);
  cmd->add_option("experiment", *file, "The experiment file (experiments/*.toml)")->required();
  cmd->add_flag("--fresh", o->fresh, "Start over: remove the experiment's CSV first");
  cmd->add_flag("--dry-run", o->dry_run, "List the points and the estimated time; run nothing");
  cmd->add_flag("--no-plot", *no_plot, "Do not draw the figures at the end");
  cmd->add_flag("--allow-mixed", o->allow_mixed, "Resume over rows measured by another commit or build");
  cmd->add_option("--repetitions", o->repetitions, "Instead of the experiment's repetitions (a campaign's short form)")
      ->check(CLI::Range(1u, 1000u));
  cmd->add_option("--extra-runs", o->extra_runs, "Runs a point may add to replace disturbed ones (default: its repetitions)");
  cmd->add_option("--engine", o->engine, "local (this machine) or slurm (a job array; see docs/reference/cluster.md)")->capture_default_str();
  cmd->add_option("--partition", o->partition, "slurm: the partition to submit to");
  cmd->add_option("--max-parallel", o->max_parallel, "slurm: at most this many tasks at once");
  cmd->add_option("--time-per-point", o->time_per_point_s, "slurm: seconds a run may take, for the job's time limit");
  cmd->add_option("--runs-per-task", o->runs_per_task, "slurm: runs per array task (default: about a minute's worth)");
  cmd->add_flag("--wait", o->wait, "slurm: wait until the tasks and the merge are done");
  cmd->add_option("--connect", o->connect, "HOST:PORT of a `ringlab serve`: every point's producers run there, its consumers here");
  cmd->add_flag("--raise-limits", o->raise_limits,
                "As root, raise the kernel limits the points need (posix_mq: msg_max) first; recorded in their rows");
  cmd->add_option("--results-dir", o->results_dir, "Instead of <source>/results");
  cmd->add_option("--plots-dir", o->plots_dir, "Instead of <source>/plots/<host>");
  add_guard_options(*cmd, o->guards, *no_guards);
  return [file, o, no_plot, no_guards] {
    o->plot = !*no_plot;
    o->guards.enabled = !*no_guards;
    sweep::experiment e;
    try {
      e = sweep::load_experiment(*file);
      return sweep::run_sweep(e, *o);
    } catch (const sweep::experiment_error& err) {
      throw usage_error(err.what());
    }
  };
}

runner add_merge(CLI::App& app) {
  auto* cmd = app.add_subcommand("merge", "Join a Slurm sweep's part files into results/<host>/<experiment>.csv");
  auto dirs = std::make_shared<std::vector<std::string>>();
  auto o = std::make_shared<sweep::merge_options>();
  auto no_plot = std::make_shared<bool>(false);
  cmd->add_option("parts", *dirs, "results/<host>/<experiment>.parts/ folders")->required();
  cmd->add_flag("--allow-mixed", o->allow_mixed, "Merge parts of different commits or builds");
  cmd->add_flag("--no-plot", *no_plot, "Do not draw the figures");
  cmd->add_option("--results-dir", o->results_dir, "Where the hosts' folders are (default: above the parts)");
  return [dirs, o, no_plot] {
    o->plot = !*no_plot;
    try {
      return sweep::merge_parts(*dirs, *o);
    } catch (const sweep::experiment_error& err) {
      throw usage_error(err.what());
    }
  };
}

runner add_status(CLI::App& app) {
  auto* cmd = app.add_subcommand("status", "A Slurm sweep's tasks: pending, running, done, failed, and the ETA");
  auto file = std::make_shared<std::string>();
  auto o = std::make_shared<sweep::sweep_options>();
  cmd->add_option("experiment", *file, "The experiment file")->required();
  cmd->add_option("--results-dir", o->results_dir, "Instead of <source>/results");
  return [file, o] {
    try {
      return sweep::slurm_status(sweep::load_experiment(*file), *o);
    } catch (const sweep::experiment_error& err) {
      throw usage_error(err.what());
    }
  };
}

runner add_plot(CLI::App& app) {
  auto* cmd = app.add_subcommand("plot", "Draw an experiment's figures from its CSV (plots/plot.py)");
  auto csv = std::make_shared<std::string>();
  cmd->add_option("csv", *csv, "results/<host>/<experiment>.csv; what follows goes to plot.py as it is "
                               "(--experiment, --out-dir, --formats, --include-disturbed)")->required();
  cmd->prefix_command();
  return [csv, cmd] {
    if (!std::filesystem::exists(*csv)) throw usage_error(*csv + ": no such results file");
    std::vector<std::string> args{*csv};
    for (const auto& r : cmd->remaining()) args.push_back(r);
    return sweep::run_plot_script("plot.py", args);
  };
}

runner add_report(CLI::App& app) {
  auto* cmd = app.add_subcommand("report", "The documents as a static HTML site: the map, a page per experiment, "
                                           "the reference, with their figures (plots/report.py)");
  auto out = std::make_shared<std::string>("report");
  cmd->add_option("--out", *out, "the site's folder (written beside it, then renamed over it)")->capture_default_str();
  auto no_check = std::make_shared<bool>(false);
  cmd->add_flag("--no-check", *no_check, "do not first check that the documents' numbers are current");
  return [out, no_check] {
    std::vector<std::string> args{"--out", *out};
    if (*no_check) args.push_back("--no-check");
    return sweep::run_plot_script("report.py", args);
  };
}

}  // namespace ringlab::commands
