// `ringlab sweep experiments/X.toml` and `ringlab plot results/<host>/X.csv`.
#include <fmt/core.h>

#include <filesystem>

#include "commands/commands.hpp"
#include "sweep/python.hpp"
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
  cmd->add_option("--extra-runs", o->extra_runs, "Runs a point may add to replace disturbed ones (default: its repetitions)");
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

}  // namespace ringlab::commands
