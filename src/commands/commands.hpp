// The `ringlab` subcommands. Each registers its options on the CLI11 app and returns
// the exit status when run. Errors are thrown as ringlab::usage_error (exit 2) or
// std::runtime_error (exit 1) and printed as one line by main().
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <stdexcept>

#include "harness/noise.hpp"

namespace ringlab::commands {

struct usage_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// The noise-guard thresholds, shared by `run` and `sweep`.
void add_guard_options(CLI::App& cmd, harness::guard_options& options, bool& no_guards);

// Adds the subcommand to `app`; the returned function runs it after parsing.
using runner = std::function<int()>;
runner add_list(CLI::App& app);
runner add_run(CLI::App& app);
runner add_serve(CLI::App& app);
runner add_topology(CLI::App& app);
runner add_provenance(CLI::App& app);
runner add_sweep(CLI::App& app);
runner add_plot(CLI::App& app);
runner add_report(CLI::App& app);
runner add_reproduce(CLI::App& app);
runner add_merge(CLI::App& app);
runner add_status(CLI::App& app);
runner add_clean(CLI::App& app);
runner add_check(CLI::App& app);

}  // namespace ringlab::commands
