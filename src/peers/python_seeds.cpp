// Registers the seeds' Python mechanisms (py.*) and runs them through
// python/seeds_bench.py; see python_seeds.hpp.
#include "peers/python_seeds.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "harness/config_checks.hpp"
#include "harness/histogram.hpp"
#include "harness/interrupt.hpp"
#include "scopes/processes/side_processes.hpp"
#include "registry.hpp"
#include "sweep/python.hpp"

namespace ringlab::peers::python_seeds {
namespace {

using harness::run_config;
using harness::run_context;
using harness::run_result;

// Far above what a Python mechanism moves in a run, far below the semaphores' limit.
constexpr std::size_t max_capacity = std::size_t{1} << 20;
// Python, fork and the analysis after the run: allowed on top of the run's own time.
constexpr double start_and_analysis_s = 30;

struct mechanism {
  const char* queue;        // the name in the registry and the CSV
  const char* script_name;  // --mechanism of the script
  const char* library;      // for messages
  const char* scope;
  bool has_join;      // task_done / join of its own
  bool linearizable;  // multiprocessing.Queue's feeder threads reorder items of different producers
  bool exact_capacity;
  const char* description;
};

constexpr mechanism mechanisms[] = {
    {"py.queue", "queue", "queue.Queue", "thread", true, true, true,
     "the seeds' threads + queue.Queue(maxsize) (Python, python/seeds_bench.py); block only"},
    {"py.mp_queue", "mp_queue", "multiprocessing.Queue", "process", false, false, true,
     "the seeds' processes + multiprocessing.Queue(maxsize) (Python); block only, sentinel only"},
    {"py.joinable_queue", "joinable_queue", "multiprocessing.JoinableQueue", "process", true, false, true,
     "the seeds' processes + multiprocessing.JoinableQueue(maxsize), task_done/join (Python); block only"},
    {"py.pipe", "pipe", "multiprocessing.Pipe", "process", false, true, false,
     "the seeds' processes + a one-way multiprocessing.Pipe bounded by a Semaphore(capacity) (Python); block only, "
     "sentinel only"},
};

const mechanism& mechanism_of(const std::string& queue) {
  for (const auto& m : mechanisms)
    if (queue == m.queue) return m;
  throw std::invalid_argument(fmt::format("{}: not a Python seed mechanism", queue));
}

// What the harness's validation cannot know about these entries (harness/config_checks.hpp).
void check_config(const run_config& c) {
  const mechanism& m = mechanism_of(c.queue);
  if (c.wait != "block")
    throw std::invalid_argument(fmt::format("--wait {}: {} waits in Python's own blocking calls; use --wait block",
                                            c.wait, c.queue));
  if (c.native) throw std::invalid_argument(fmt::format("--native: {} has no native loop; its sides are Python's", c.queue));
  if (c.fault != "none") throw std::invalid_argument(fmt::format("--kill: {} has no crash suite (its sides are Python's)", c.queue));
  if (c.shape == harness::pattern::pingpong)
    throw std::invalid_argument(fmt::format("--pattern pingpong: {} runs the stream pattern only", c.queue));
  if (c.ending == harness::termination::join && !m.has_join)
    throw std::invalid_argument(fmt::format("--termination join: {} has no task_done/join (use py.joinable_queue or "
                                            "py.queue, or --termination sentinel)", m.library));
}

void check_capacity(const char* queue, std::size_t capacity) {
  if (capacity == 0) throw std::invalid_argument(fmt::format("{} needs a capacity of at least 1 (a maxsize of 0 would be unbounded)", queue));
  if (capacity > max_capacity)
    throw std::invalid_argument(fmt::format("{} takes a capacity of at most {} (maximum)", queue, max_capacity));
}

run_result refuse_seed(const run_config&, double, std::uint64_t, const run_context&) {
  throw std::invalid_argument("the seed scenario is for C++ queues");
}

const bool registered = [] {
  for (const auto& m : mechanisms) {
    queue_properties p;
    p.fifo = true;
    p.linearizable = m.linearizable;
    p.exact_capacity = m.exact_capacity;
    p.lock_free = false;
    p.blocks_natively = true;
    const char* name = m.queue;
    registry::instance().add(queue_entry{m.queue, m.description, p, m.scope, max_capacity, {8, 64, 1024},
                                         [name](std::size_t capacity) { check_capacity(name, capacity); }, &run,
                                         &refuse_seed, false, nullptr, "block", "", ""});
    harness::add_config_check(m.queue, &check_config);
  }
  return true;
}();

std::string join_pus(const std::vector<int>& pus) {
  std::string s;
  for (std::size_t i = 0; i < pus.size(); ++i) s += (i ? "," : "") + std::to_string(pus[i]);
  return s;
}

std::vector<int> split_pus(const std::string& text) {
  std::vector<int> pus;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ';');) pus.push_back(std::stoi(part));
  return pus;
}

double number(const std::string& key, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') throw std::runtime_error(fmt::format("seeds_bench.py printed '{} {}': not a number", key, text));
  return v;
}

void write_histograms(const std::string& path, const harness::histogram& latency, const harness::histogram& service) {
  std::ofstream out(path);
  out << "kind,bucket_low_ns,bucket_width_ns,count\n";
  for (const auto& [kind, h] : {std::pair<const char*, const harness::histogram*>{"latency", &latency}, {"service", &service}})
    for (std::size_t i = 0; i < harness::histogram::buckets; ++i)
      if (h->count_at(i))
        out << kind << ',' << harness::histogram::lower_bound_of(i) << ',' << harness::histogram::width_of(i) << ','
            << h->count_at(i) << '\n';
  if (!out) throw std::runtime_error("--histogram-out " + path + ": could not write");
}

// What the child left: its output, and how it ended.
struct finished_child {
  std::string out, err;
  int code = 0, status = 0;  // waitid's si_code and si_status
  bool timed_out = false;
};

void kill_group(pid_t leader) { ::kill(-leader, SIGKILL); }

// Runs argv in a process group of its own with stdin from /dev/null; collects stdout and
// stderr; kills the whole group on Ctrl-C (then throws run_interrupted) or after
// `limit_s` (timed_out).
finished_child run_child(const std::vector<std::string>& argv_text, double limit_s) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("cannot make a pipe: {}", strerror(errno)));
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]), ::close(out_pipe[1]);
    throw std::runtime_error(fmt::format("cannot make a pipe: {}", strerror(errno)));
  }
  std::vector<char*> argv;
  std::vector<std::string> args = argv_text;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    throw std::runtime_error(fmt::format("cannot fork: {}", strerror(errno)));
  }
  if (pid == 0) {
    // Dies with ringlab; its own group, so the terminal's Ctrl-C reaches ringlab only,
    // which then kills the group (the script's side processes are in it too).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::execv(argv[0], argv.data());
    const std::string why = fmt::format("cannot run {}: {}\n", argv[0], strerror(errno));
    [[maybe_unused]] auto n = ::write(2, why.data(), why.size());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so the group exists before either side goes on
  ::close(out_pipe[1]), ::close(err_pipe[1]);
  finished_child child;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit_s);
  int fds[2] = {out_pipe[0], err_pipe[0]};
  std::string* sinks[2] = {&child.out, &child.err};
  bool exited = false;
  auto cleanup = [&] {
    for (int& fd : fds)
      if (fd >= 0) ::close(fd), fd = -1;
  };
  for (;;) {
    if (harness::interrupted()) {
      kill_group(pid);
      ::waitpid(pid, nullptr, 0);
      cleanup();
      throw harness::run_interrupted();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      kill_group(pid);
      child.timed_out = true;
      break;
    }
    // The script has ended (a zombie keeps its pid and group id ours): sweep up anything
    // left in its group, whose open ends would otherwise keep the pipes from closing.
    if (!exited) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
        exited = true;
        kill_group(pid);
      }
    }
    pollfd pfds[2];
    nfds_t n = 0;
    int which[2];
    for (int i = 0; i < 2; ++i)
      if (fds[i] >= 0) pfds[n] = {fds[i], POLLIN, 0}, which[n++] = i;
    if (n == 0) break;
    if (::poll(pfds, n, 100) <= 0) continue;  // EINTR (Ctrl-C) or nothing yet
    for (nfds_t k = 0; k < n; ++k) {
      if (!pfds[k].revents) continue;
      char buffer[65536];
      const ssize_t got = ::read(fds[which[k]], buffer, sizeof buffer);
      if (got > 0) sinks[which[k]]->append(buffer, static_cast<std::size_t>(got));
      else if (got == 0 || errno != EINTR) ::close(fds[which[k]]), fds[which[k]] = -1;
    }
  }
  cleanup();
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED) != 0 && errno == EINTR) {}
  child.code = info.si_code;
  child.status = info.si_status;
  return child;
}

std::string first_line(const std::string& text) {
  const auto start = text.find_first_not_of(" \n");
  if (start == std::string::npos) return "";
  return text.substr(start, text.find('\n', start) - start);
}

}  // namespace

std::vector<std::string> command_line(const run_config& cfg, const harness::pin_plan& plan) {
  const mechanism& m = mechanism_of(cfg.queue);
  std::vector<std::string> args = {
      "--mechanism", m.script_name,
      "--producers", std::to_string(cfg.producers),
      "--consumers", std::to_string(cfg.consumers),
      "--capacity", std::to_string(cfg.capacity),
      "--payload", std::to_string(cfg.payload_bytes),
      "--rate", fmt::format("{}", cfg.offered_rate),
      "--warmup", fmt::format("{}", cfg.effective_warmup_s()),
      "--termination", harness::to_string(cfg.ending),
      "--latency", cfg.record_latency ? "1" : "0",
      "--sample-floor", std::to_string(std::max<std::uint64_t>(1, cfg.latency_sample_every)),
      "--drain-timeout", fmt::format("{}", cfg.drain_timeout_s),
  };
  if (cfg.items) args.insert(args.end(), {"--items", std::to_string(cfg.items)});
  else args.insert(args.end(), {"--duration", fmt::format("{}", cfg.duration_s)});
  // One word each: an unbound list ("-1,-1") would read as an option.
  args.push_back("--producer-pus=" + join_pus(plan.producer_pu));
  args.push_back("--consumer-pus=" + join_pus(plan.consumer_pu));
  return args;
}

run_result parse_output(const std::string& output, const run_config& cfg, const run_context& ctx,
                        const harness::pin_plan& plan) {
  run_result r;
  r.config = cfg;
  if (r.config.scope.empty()) r.config.scope = registry::instance().at(cfg.queue).scope;
  r.host = ctx.host;
  r.commit = ctx.commit;
  r.build_id = ctx.build_id;
  r.clock_name = "clock_monotonic";  // the script's time.monotonic_ns(), whatever the harness's clock is
  r.oversubscribed = plan.oversubscribed;
  r.warmup_s = cfg.effective_warmup_s();
  r.producer_pus = plan.producer_pu;
  r.consumer_pus = plan.consumer_pu;
  // Nothing is known until the script says it.
  r.throughput_items_per_s = r.producer_cpu_ns_per_item = r.consumer_cpu_ns_per_item = r.drain_ns = NAN;
  r.clock_read_ns = NAN;
  harness::histogram latency, service;
  double producer_cpu = NAN, consumer_cpu = NAN, voluntary = NAN, involuntary = NAN;
  bool saw_valid = false;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto space = line.find(' ');
    const std::string key = line.substr(0, space);
    const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
    if (key == "lat") latency.record(static_cast<std::uint64_t>(number(key, value)));
    else if (key == "svc") service.record(static_cast<std::uint64_t>(number(key, value)));
    else if (key == "valid") saw_valid = true, r.valid = value == "1";
    else if (key == "validation_error") r.validation_error = value;
    else if (key == "items_pushed") r.items_pushed = static_cast<std::uint64_t>(number(key, value));
    else if (key == "items_popped") r.items_popped = static_cast<std::uint64_t>(number(key, value));
    else if (key == "warmup_s") r.warmup_s = number(key, value);
    else if (key == "measured_s") r.measured_s = number(key, value);
    else if (key == "throughput_items_per_s") r.throughput_items_per_s = number(key, value);
    else if (key == "producer_cpu_ns") producer_cpu = number(key, value);
    else if (key == "consumer_cpu_ns") consumer_cpu = number(key, value);
    else if (key == "voluntary_switches") voluntary = number(key, value);
    else if (key == "involuntary_switches") involuntary = number(key, value);
    else if (key == "drain_ns") r.drain_ns = number(key, value);
    else if (key == "clock_read_ns") r.clock_read_ns = number(key, value);
    else if (key == "sample_every") r.latency_sample_every = static_cast<std::uint64_t>(number(key, value));
    else if (key == "lat_censored") r.latency_censored = static_cast<std::uint64_t>(number(key, value));
    else if (key == "producer_pus") r.producer_pus = split_pus(value);
    else if (key == "consumer_pus") r.consumer_pus = split_pus(value);
    else if (key == "window_items") continue;  // the throughput's numerator, for reading by hand
    else throw std::runtime_error(fmt::format("seeds_bench.py printed an unknown line '{}'", line.substr(0, 80)));
  }
  if (!saw_valid) throw std::runtime_error("seeds_bench.py printed no result");
  if (r.items_pushed) r.producer_cpu_ns_per_item = producer_cpu / static_cast<double>(r.items_pushed);
  if (r.items_popped) {
    r.consumer_cpu_ns_per_item = consumer_cpu / static_cast<double>(r.items_popped);
    r.voluntary_switches_per_item = voluntary / static_cast<double>(r.items_popped);
    r.involuntary_switches_per_item = involuntary / static_cast<double>(r.items_popped);
  }
  if (cfg.record_latency) {
    r.latency = harness::latency_summary::of(latency);
    r.service = harness::latency_summary::of(service);
    if (r.latency.samples == 0 && r.valid) {
      r.valid = false;
      r.validation_error = "no latency samples: no sampled item was due in the measured window and delivered "
                           "(too few items for the window? use a longer --duration or a higher --rate)";
    }
    if (!cfg.histogram_out.empty()) write_histograms(cfg.histogram_out, latency, service);
  } else {
    r.latency_sample_every = 0;
  }
  if (!r.valid && r.validation_error.empty()) r.validation_error = "the script marked the run invalid without a reason";
  return r;
}

run_result run(const run_config& cfg, const run_context& ctx) {
  if (::access(python, X_OK) != 0)
    throw std::runtime_error(fmt::format("{}: {} not found (apt install python3)", cfg.queue, python));
  const std::string script = sweep::source_path("python/seeds_bench.py");
  if (::access(script.c_str(), R_OK) != 0)
    throw std::runtime_error(fmt::format("{}: {} not found (the source tree this ringlab was built from)", cfg.queue, script));
  const harness::pin_plan plan =
      harness::plan_pinning(*ctx.topo, harness::parse_pin(cfg.pin, *ctx.topo), cfg.producers, cfg.consumers);
  std::vector<std::string> argv = {python, "-u", script};
  for (auto& a : command_line(cfg, plan)) argv.push_back(std::move(a));
  // The run's own time, its drain allowance, and Python's start and analysis; an items
  // run is allowed an hour, as the harness's.
  const double limit_s = (cfg.items ? 3600 : cfg.effective_warmup_s() + cfg.duration_s) + cfg.drain_timeout_s +
                         start_and_analysis_s;
  const finished_child child = run_child(argv, limit_s);
  if (child.timed_out) {
    run_result r = parse_output("valid 0\n", cfg, ctx, plan);
    r.validation_error = fmt::format("the Python run did not finish within {:.0f} s; its process group was killed", limit_s);
    return r;
  }
  if (child.code != CLD_EXITED) {
    run_result r = parse_output("valid 0\n", cfg, ctx, plan);
    r.validation_error = fmt::format("{} {}", python, ipc::describe_exit(child.code, child.status));
    return r;
  }
  if (child.status != 0) {
    const std::string why = first_line(child.err);
    const std::string text = fmt::format("{}: {}", cfg.queue, why.empty() ? fmt::format("{} exited with status {}", python, child.status) : why);
    if (child.status == 2) throw std::invalid_argument(text);  // the script refused the point
    throw std::runtime_error(text);
  }
  return parse_output(child.out, cfg, ctx, plan);
}

}  // namespace ringlab::peers::python_seeds
