#include "sweep/slurm.hpp"

#include <fmt/core.h>
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

// The runs of each task: the sweep's interleaved order cut into chunks of `per_task`
// runs; 0 picks the chunk so that a task takes about a minute.
struct task_plan {
  std::vector<planned_run> runs;
  unsigned per_task = 1, tasks = 1;
  std::vector<planned_run> of(unsigned task) const {
    const auto from = std::min<std::size_t>(runs.size(), std::size_t{task} * per_task);
    const auto to = std::min<std::size_t>(runs.size(), from + per_task);
    return {runs.begin() + static_cast<std::ptrdiff_t>(from), runs.begin() + static_cast<std::ptrdiff_t>(to)};
  }
};

task_plan plan_tasks(const experiment& e, const std::vector<point>& points, unsigned per_task) {
  task_plan plan{interleaved_runs(points, runs_per_point(e))};
  if (per_task == 0) {
    double total = 0;
    for (const auto& r : plan.runs) total += estimated_seconds(e, *r.p);
    const double per_run = total / static_cast<double>(plan.runs.size());
    per_task = static_cast<unsigned>(std::max(1.0, std::floor(60.0 / per_run)));
  }
  plan.per_task = per_task;
  plan.tasks = static_cast<unsigned>((plan.runs.size() + per_task - 1) / per_task);
  return plan;
}

std::string results_dir_of(const sweep_options& o) {
  return fs::absolute(o.results_dir.empty() ? source_path("results") : o.results_dir).lexically_normal().string();
}
// Where a node puts its parts, and where the submitting side keeps the job's script,
// job ids and Slurm's logs (not results: results/slurm-jobs/ is not committed).
std::string parts_dir(const std::string& results, const std::string& host, const std::string& name) {
  return (fs::path(results) / host / (name + ".parts")).string();
}
std::string jobs_dir(const std::string& results, const std::string& name) {
  return (fs::path(results) / "slurm-jobs" / name).string();
}

// Task t's part, finished, in any host's folder ("" if none).
std::map<unsigned, std::string> finished_parts(const std::string& results, const std::string& name) {
  std::map<unsigned, std::string> done;
  std::error_code ec;
  if (!fs::exists(results, ec)) return done;
  for (const auto& host : fs::directory_iterator(results)) {
    const fs::path dir = host.path() / (name + ".parts");
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& f : fs::directory_iterator(dir)) {
      const std::string stem = f.path().stem().string();
      if (f.path().extension() == ".csv" && !stem.empty() && stem.find_first_not_of("0123456789") == std::string::npos)
        done[static_cast<unsigned>(std::stoul(stem))] = f.path().string();
    }
  }
  return done;
}

// A program's output (stdout and stderr together) and exit status; no shell.
struct ran {
  int status = 0;
  std::string output;
};
ran run_program(const std::vector<std::string>& argv_text) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  std::vector<char*> argv;
  std::vector<std::string> copy = argv_text;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child == 0) {
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "cannot run %s\n", argv[0]);
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  ran r;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) r.output.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {}
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  while (!r.output.empty() && (r.output.back() == '\n' || r.output.back() == ' ')) r.output.pop_back();
  return r;
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  for (std::size_t at = 0; at <= dirs.size();) {
    const auto end = std::min(dirs.find(':', at), dirs.size());
    if (::access((dirs.substr(at, end - at) + "/" + program).c_str(), X_OK) == 0) return true;
    at = end + 1;
  }
  return false;
}
void require(const std::string& program) {
  if (!on_path(program))
    throw experiment_error(fmt::format("no {} on PATH: the Slurm engine needs Slurm's commands (scripts/slurm-local "
                                       "starts a one-node cluster here)", program));
}
// Slurm's own message, on one line.
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string self_path() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("ringlab") : p.string();
}

// The options a task must run with, as the submitting command got them.
std::vector<std::string> task_arguments(const experiment& e, const sweep_options& o, const std::string& results,
                                        unsigned per_task) {
  std::vector<std::string> args{self_path(), "sweep", fs::absolute(e.path).string(), "--engine", "slurm",
                                "--runs-per-task", std::to_string(per_task), "--results-dir", results};
  // Every noise guard's setting, so that a task guards its runs as this command would.
  const auto& g = o.guards;
  if (!g.enabled) args.push_back("--no-guards");
  const std::pair<const char*, double> settings[] = {
      {"--quiet-threshold", g.quiet_threshold}, {"--quiet-wait", g.quiet_wait_s},
      {"--probe-tolerance", g.probe_tolerance}, {"--foreign-threshold", g.foreign_threshold},
      {"--steal-threshold", g.steal_threshold}, {"--phase-wait", g.phase_wait_s}};
  for (const auto& [option, v] : settings) args.insert(args.end(), {option, fmt::format("{}", v)});
  if (g.floor_s >= 0) args.insert(args.end(), {"--floor", fmt::format("{}", g.floor_s)});  // else the experiment's floor_s
  if (o.extra_runs >= 0) args.insert(args.end(), {"--extra-runs", std::to_string(o.extra_runs)});
  if (o.allow_mixed) args.push_back("--allow-mixed");
  return args;
}

std::string array_list(const std::vector<unsigned>& tasks) {
  std::string list;
  for (std::size_t i = 0; i < tasks.size();) {
    std::size_t j = i;
    while (j + 1 < tasks.size() && tasks[j + 1] == tasks[j] + 1) ++j;
    list += (list.empty() ? "" : ",") + (i == j ? std::to_string(tasks[i]) : fmt::format("{}-{}", tasks[i], tasks[j]));
    i = j + 1;
  }
  return list;
}

// Which commit and build made a finished part (its first row's).
std::pair<std::string, std::string> made_by(const std::string& part) {
  std::ifstream in(part);
  std::string header_line, first;
  std::getline(in, header_line);
  std::getline(in, first);
  const auto header = harness::parse_csv_line(header_line);
  const auto values = harness::parse_csv_line(first);
  std::string commit, build;
  for (std::size_t i = 0; i < header.size() && i < values.size(); ++i)
    if (header[i] == "commit") commit = values[i];
    else if (header[i] == "build_id") build = values[i];
  return {commit, build};
}

int submit(const experiment& e, const sweep_options& o) {
  require("sbatch");
  const auto topo = harness::topology::this_machine();
  std::vector<std::string> skipped;
  const auto points = runnable_points(e, topo, skipped);
  const auto plan = plan_tasks(e, points, o.runs_per_task);
  const std::string results = results_dir_of(o);
  const auto done = finished_parts(results, e.name);
  // A finished part of another commit or build would be refused by the merge: say so now.
  const auto prov = harness::collect_provenance(harness::calibrated_clock(), topo);
  if (!o.allow_mixed)
    for (const auto& [t, part] : done)
      if (const auto [commit, build] = made_by(part); commit != prov.short_commit() || build != prov.build_id())
        throw experiment_error(fmt::format("{} was measured by commit '{}' (this is '{}'); remove the parts to start "
                                           "over, or --allow-mixed", part, commit, prov.short_commit()));
  std::vector<unsigned> todo;
  for (unsigned t = 0; t < plan.tasks; ++t)
    if (!done.count(t)) todo.push_back(t);
  const std::string jobs = jobs_dir(results, e.name);
  if (o.dry_run) {
    fmt::print("{}: {} runs in {} tasks of {} runs; {} finished, {} to submit; parts in {}/<host>/{}.parts\n", e.name,
               plan.runs.size(), plan.tasks, plan.per_task, done.size(), todo.size(), results, e.name);
    return 0;
  }
  if (todo.empty()) {
    fmt::print(stderr, "ringlab sweep: {}: every task is finished; merging\n", e.name);
    merge_options m{o.allow_mixed, o.plot, results};
    std::vector<std::string> dirs;
    for (const auto& [t, part] : done) dirs.push_back(fs::path(part).parent_path().string());
    std::sort(dirs.begin(), dirs.end());
    dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
    return merge_parts(dirs, m);
  }
  // The job script: each task runs `ringlab sweep` again, which sees SLURM_ARRAY_TASK_ID.
  double per_task_s = 0;
  for (const auto& r : plan.of(0)) per_task_s += o.time_per_point_s > 0 ? o.time_per_point_s : estimated_seconds(e, *r.p) + 0.5;
  const long minutes = std::max(1L, static_cast<long>(std::ceil(per_task_s * 2 / 60)));  // twice the estimate: make-up runs
  fs::create_directories(jobs);
  std::string script = "#!/bin/bash\n# ringlab: one task of the sweep of " + e.path + " (its runs: SLURM_ARRAY_TASK_ID)\n";
  script += fmt::format("#SBATCH --job-name=ringlab-{}\n#SBATCH --exclusive\n#SBATCH --time={}\n", e.name, minutes);
  script += fmt::format("#SBATCH --output={}/task-%a.out\n", jobs);
  if (!o.partition.empty()) script += "#SBATCH --partition=" + o.partition + "\n";
  script += "exec";
  for (const auto& a : task_arguments(e, o, results, plan.per_task)) script += " " + shell_quote(a);
  script += "\n";
  const std::string script_path = jobs + "/job.sh";
  {
    std::ofstream out(script_path);
    out << script;
  }
  std::string array = "--array=" + array_list(todo);
  if (o.max_parallel > 0) array += fmt::format("%{}", o.max_parallel);
  const auto sub = run_program({"sbatch", "--parsable", array, script_path});
  if (sub.status != 0) {
    fs::remove(script_path);
    throw experiment_error(fmt::format("sbatch refused the job: {}", one_line(sub.output)));
  }
  const std::string job = sub.output.substr(0, sub.output.find(';'));
  // The merge waits for every task, whatever its fate, and says what is missing.
  std::vector<std::string> merge{"sbatch", "--parsable", "--dependency=afterany:" + job,
                                 "--job-name=ringlab-merge-" + e.name, "--output=" + jobs + "/merge.out"};
  if (!o.partition.empty()) merge.push_back("--partition=" + o.partition);
  if (o.wait) merge.push_back("--wait");
  std::string wrap = shell_quote(self_path()) + " merge --results-dir " + shell_quote(results) + " " +
                     shell_quote(results) + "/*/" + shell_quote(e.name + ".parts") + (o.plot ? "" : " --no-plot") +
                     (o.allow_mixed ? " --allow-mixed" : "");
  merge.insert(merge.end(), {"--wrap", wrap});
  {
    std::ofstream ids(jobs + "/jobs");
    ids << job << " " << plan.tasks << " " << plan.per_task << " " << todo.size() << "\n";
  }
  fmt::print(stderr, "ringlab sweep: {}: submitted job {}: {} of {} tasks ({} runs each, {} finished already){}\n",
             e.name, job, todo.size(), plan.tasks, plan.per_task, done.size(),
             o.max_parallel > 0 ? fmt::format(", at most {} at a time", o.max_parallel) : "");
  if (o.wait) fmt::print(stderr, "ringlab sweep: waiting for the tasks and the merge job\n");
  const auto merged = run_program(merge);
  if (!o.wait && merged.status != 0)
    throw experiment_error(fmt::format("sbatch refused the merge job: {}", one_line(merged.output)));
  if (!o.wait) {
    fmt::print(stderr, "ringlab sweep: merge job {} runs when they end; `ringlab status {}` shows progress\n",
               merged.output, e.path);
    return 0;
  }
  // sbatch --wait: the merge job's exit status. Its output says what it did.
  std::ifstream log(jobs + "/merge.out");
  for (std::string line; std::getline(log, line);) fmt::print(stderr, "{}\n", line);
  return merged.status;
}

// One task, here: its runs into its part, then the part is renamed finished.
int run_task(const experiment& e, const sweep_options& o, unsigned task) {
  const auto topo = harness::topology::this_machine();
  std::vector<std::string> skipped;
  const auto points = runnable_points(e, topo, skipped);
  const auto plan = plan_tasks(e, points, o.runs_per_task);
  if (task >= plan.tasks)
    throw experiment_error(fmt::format("SLURM_ARRAY_TASK_ID={}: the sweep has tasks 0 to {}", task, plan.tasks - 1));
  const std::string results = results_dir_of(o);
  const std::string host = harness::machine_host_id(topo);
  const std::string dir = parts_dir(results, host, e.name);
  const std::string part = fmt::format("{}/{}.csv", dir, task), partial = part + ".partial";
  std::error_code ec;
  if (fs::exists(part, ec)) {
    fmt::print(stderr, "ringlab sweep: task {} is finished already ({}); remove it to run it again\n", task, part);
    return 0;
  }
  fs::create_directories(dir);
  fs::remove(partial, ec);
  fs::remove(fs::path(partial).replace_extension(".json"), ec);
  harness::install_interrupt_handler();
  const auto& clock = harness::calibrated_clock();
  const harness::provenance prov = harness::collect_provenance(clock, topo);
  const harness::run_context ctx{&clock, &topo, prov.host, prov.short_commit(), prov.build_id()};
  harness::noise_guard guard(guards_for(e, o), topo);
  const unsigned reps = runs_per_point(e), extra = o.extra_runs < 0 ? 2 : static_cast<unsigned>(o.extra_runs);
  unsigned invalid = 0, rows = 0;
  // A run, and as many as `extra` replacements while it is disturbed; a replacement of
  // repetition r is repetition reps + r * extra + k, unique across every task.
  for (const auto& run : plan.of(task)) {
    for (unsigned k = 0; k <= extra; ++k) {
      const unsigned repetition = k == 0 ? run.repetition : reps + run.repetition * extra + (k - 1);
      const auto& entry = registry::instance().at(run.p->config.queue);
      harness::run_result result;
      const std::string started = harness::utc_now();
      try {
        result = guard.run(run.p->config, [&] {
          return e.scenario == "seed" ? entry.run_seed(run.p->config, run.p->tick_ms, repetition + 1, ctx)
                                      : entry.run(run.p->config, ctx);
        });
      } catch (const harness::run_interrupted&) {
        fmt::print(stderr, "ringlab sweep: task {} interrupted; {} stays unfinished\n", task, partial);
        return harness::interrupted_exit_status;
      }
      result.started_utc = started;
      result.context = prototype_row(e, *run.p, repetition).context;
      harness::append_row(partial, harness::csv_header(result), harness::csv_values(result));
      ++rows;
      invalid += !result.valid;
      fmt::print(stderr, "[task {}] {} rep {}: {}\n", task, run.p->id, repetition, harness::describe(result));
      if (!result.disturbed) break;
    }
  }
  const std::string top = fmt::format("\"experiment\": {}, \"experiment_file\": {}, \"task\": {}, \"tasks\": {}, "
                                      "\"runs_per_task\": {}", harness::json_string(e.name),
                                      harness::json_string(fs::absolute(e.path).string()), task, plan.tasks, plan.per_task);
  harness::write_provenance(partial, prov, fmt::format("\"rows_this_session\": {}", rows), top, /*fresh=*/true);
  fs::rename(fs::path(partial).replace_extension(".json"), fs::path(part).replace_extension(".json"));
  fs::rename(partial, part);  // finished: whole, or not there
  return invalid ? 1 : 0;
}

}  // namespace

int slurm_sweep(const experiment& e, const sweep_options& options) {
  if (const char* id = std::getenv("SLURM_ARRAY_TASK_ID"); id && *id) {
    const std::string text = id;
    if (text.find_first_not_of("0123456789") != std::string::npos)
      throw experiment_error("SLURM_ARRAY_TASK_ID=" + text + ": not a task number");
    return run_task(e, options, static_cast<unsigned>(std::stoul(text)));
  }
  return submit(e, options);
}

int slurm_status(const experiment& e, const sweep_options& options) {
  require("squeue");
  const std::string results = results_dir_of(options);
  std::ifstream ids(jobs_dir(results, e.name) + "/jobs");
  std::string job;
  unsigned tasks = 0, per_task = 0, submitted = 0;
  if (!(ids >> job >> tasks >> per_task >> submitted))
    throw experiment_error(fmt::format("{}: no job submitted from here ({} has no job ids)", e.name, jobs_dir(results, e.name)));
  const auto q = run_program({"squeue", "-h", "-r", "-j", job, "-o", "%i %T"});
  unsigned pending = 0, running = 0;
  if (q.status == 0)
    for (std::size_t at = 0; at < q.output.size();) {
      const auto end = std::min(q.output.find('\n', at), q.output.size());
      const std::string line = q.output.substr(at, end - at);
      pending += line.find("PENDING") != std::string::npos;
      running += line.find("RUNNING") != std::string::npos || line.find("COMPLETING") != std::string::npos;
      at = end + 1;
    }
  const auto done = finished_parts(results, e.name);
  const unsigned finished = static_cast<unsigned>(done.size());
  const unsigned failed = tasks > finished + pending + running ? tasks - finished - pending - running : 0;
  const auto topo = harness::topology::this_machine();
  std::vector<std::string> skipped;
  const auto points = runnable_points(e, topo, skipped);
  double per_run = 0;
  for (const auto& p : points) per_run += estimated_seconds(e, p);
  per_run /= static_cast<double>(points.size());
  const double eta = (pending + running) * per_task * per_run / std::max(1u, running);
  fmt::print("{}: job {}: {} tasks: {} done, {} running, {} pending, {} failed (neither finished nor queued){}\n", e.name,
             job, tasks, finished, running, pending, failed,
             pending + running ? fmt::format("; about {:.0f} s left", eta) : "");
  return 0;
}

}  // namespace ringlab::sweep
