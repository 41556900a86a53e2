// `ringlab reproduce`: regenerate every committed figure from the committed CSVs (the
// micro-benchmarks' included) and evaluate every experiment's claims; with --rerun,
// run the experiments again first (a two-host experiment through scripts/split-netns).
#include <fmt/core.h>

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "commands/commands.hpp"
#include "harness/output.hpp"
#include "sweep/python.hpp"
#include "sweep/sweep.hpp"

namespace ringlab::commands {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> experiment_files(const std::vector<std::string>& names) {
  std::vector<std::string> files;
  const fs::path dir = sweep::source_path("experiments");
  if (names.empty()) {
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().extension() == ".toml") files.push_back(entry.path().string());
  } else {
    for (const auto& n : names) {
      const fs::path p = fs::exists(n) ? fs::path(n) : dir / (n + ".toml");
      if (!fs::exists(p)) throw usage_error(n + ": no such experiment (looked for " + p.string() + ")");
      files.push_back(p.string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Every host's committed CSV of this experiment.
std::vector<std::string> committed_results(const std::string& name) {
  std::vector<std::string> csvs;
  const fs::path results = sweep::source_path("results");
  if (!fs::exists(results)) return csvs;
  for (const auto& host : fs::directory_iterator(results))
    if (fs::exists(host.path() / (name + ".csv"))) csvs.push_back((host.path() / (name + ".csv")).string());
  std::sort(csvs.begin(), csvs.end());
  return csvs;
}

// A script of the project's, its output shown; its exit status (130 when interrupted).
int run_script(const std::string& command) {
  fmt::print("{}\n", command);
  std::fflush(stdout);
  const int s = std::system(command.c_str());
  return WIFEXITED(s) ? WEXITSTATUS(s) : 130;
}

// The authors' programs (experiments/authors/*.py) whose upstream checkout DIR holds,
// named as their scripts' usage lines clone them.
const char* const author_checkouts[] = {"atomic_queue", "concurrentqueue", "readerwriterqueue", "libzmq", "iceoryx"};

}  // namespace

runner add_reproduce(CLI::App& app) {
  auto* cmd = app.add_subcommand("reproduce", "Redraw every figure from the committed CSVs and evaluate the claims");
  auto names = std::make_shared<std::vector<std::string>>();
  auto rerun = std::make_shared<bool>(false);
  cmd->add_option("experiments", *names, "Only these (names or files; default: every experiments/*.toml)");
  auto authors = std::make_shared<std::string>();
  cmd->add_flag("--rerun", *rerun, "Run the experiments again on this machine first (says how long that takes)");
  cmd->add_option("--authors", *authors,
                  "With --rerun: a folder holding the peers' upstream checkouts (atomic_queue, concurrentqueue, "
                  "readerwriterqueue, libzmq, iceoryx); their programs run next to ringlab too")
      ->check(CLI::ExistingDirectory);
  return [names, rerun, authors] {
    if (!authors->empty() && !*rerun) throw usage_error("--authors: only with --rerun");
    const auto files = experiment_files(*names);
    std::vector<sweep::experiment> experiments;
    try {
      for (const auto& f : files) experiments.push_back(sweep::load_experiment(f));
    } catch (const sweep::experiment_error& err) {
      throw usage_error(err.what());
    }
    int status = 0;
    const auto started = std::chrono::steady_clock::now();
    if (*rerun) {
      double total = 0;
      for (const auto& e : experiments)
        for (const auto& p : sweep::expand(e)) total += sweep::estimated_seconds(e, p) * e.repetitions;
      fmt::print("ringlab reproduce: re-running {} experiments on this machine, about {:.0f} min\n", experiments.size(),
                 total / 60);
      for (const auto& e : experiments) {
        fmt::print("== sweep {}\n", e.name);
        if (e.two_hosts) {  // its producers on another "host": two network namespaces of this machine
          const int s = run_script(fmt::format("'{}' '{}' --fresh", sweep::source_path("scripts/split-netns"), e.path));
          if (s == 130) return s;
          status = std::max(status, s);
          continue;
        }
        sweep::sweep_options o;
        o.fresh = true;
        o.plot = false;
        const int s = sweep::run_sweep(e, o);
        if (s == 130) return s;
        status = std::max(status, s);
      }
      if (names->empty()) {  // the micro-benchmarks, and the authors' programs next to ringlab
        fmt::print("== microbench\n");
        if (const int s = run_script("'" + sweep::source_path("scripts/microbench") + "'"); s == 130) return s;
        else status = std::max(status, s);
      }
      for (const char* name : author_checkouts) {
        if (authors->empty()) break;
        const fs::path checkout = fs::path(*authors) / name;
        if (!fs::exists(checkout)) {
          fmt::print("== authors-{}: no checkout in {} (its script's usage says which to clone)\n", name, *authors);
          status = std::max(status, 1);
          continue;
        }
        fmt::print("== authors-{}\n", name);
        const int s = run_script(fmt::format("/usr/bin/python3 '{}' '{}'",
                                             sweep::source_path(fmt::format("experiments/authors/{}.py", name)),
                                             checkout.string()));
        if (s == 130) return s;
        status = std::max(status, s);
      }
      fmt::print("ringlab reproduce: measured for {:.0f} min\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() / 60);
    }
    for (const auto& e : experiments) {
      const auto csvs = committed_results(e.name);
      if (csvs.empty()) {
        fmt::print("== {}: no results yet (ringlab sweep {})\n", e.name, e.path);
        status = std::max(status, 1);
        continue;
      }
      for (const auto& csv : csvs) {
        fmt::print("== {}\n", csv);
        status = std::max(status, sweep::run_plot_script("plot.py", {csv, "--experiment", e.path}));
        if (e.claims) status = std::max(status, sweep::run_plot_script("claims.py", {csv, "--experiment", e.path}));
      }
    }
    // The micro-benchmarks' figures too (scripts/microbench reruns them; they are not a sweep).
    if (names->empty())
      for (const auto& csv : committed_results("microbench")) {
        fmt::print("== {}\n", csv);
        status = std::max(status, sweep::run_plot_script("microbench.py", {"plot", csv}));
      }
    return status;
  };
}

}  // namespace ringlab::commands
