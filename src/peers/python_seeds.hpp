// Peer: the seeds' own Python mechanisms (../shared/seeds), the baseline ringlab grew
// from, run through the ordinary harness interface so that they land in the same CSV
// as the C++ queues:
//   py.queue           threads and queue.Queue(maxsize)                      (scope thread)
//   py.mp_queue        processes and multiprocessing.Queue(maxsize)          (scope process)
//   py.joinable_queue  processes and multiprocessing.JoinableQueue(maxsize)  (scope process)
//   py.pipe            processes and a multiprocessing.Pipe bounded by a
//                      multiprocessing.Semaphore(capacity)                   (scope process)
// One run is one invocation of python/seeds_bench.py by Debian's /usr/bin/python3 (never
// the python3 on PATH): it measures the point the way the C++ harness does (open-loop
// due times, exactly-once and order checks, CPU and switches per side) and prints "key
// value" lines and latency samples, which become a harness::run_result here, latency
// summarised by the harness's own histogram. The Python calls block (put/get,
// acquire/recv), so the only wait strategy is `block`. The script runs in a process
// group of its own: on Ctrl-C or a time-out the whole group (its side processes too) is
// killed, so nothing outlives the run.
#pragma once
#include <string>
#include <vector>

#include "harness/config.hpp"
#include "harness/pinning.hpp"
#include "harness/result.hpp"
#include "harness/run.hpp"

namespace ringlab::peers::python_seeds {

inline constexpr const char* python = "/usr/bin/python3";

// The script's command line (after the interpreter) for one point.
std::vector<std::string> command_line(const harness::run_config& cfg, const harness::pin_plan& plan);

// A run_result from the script's output (its "key value" lines); throws
// std::runtime_error naming a line it cannot read.
harness::run_result parse_output(const std::string& output, const harness::run_config& cfg,
                                 const harness::run_context& ctx, const harness::pin_plan& plan);

// One point (registered as each py.* queue's `run`).
harness::run_result run(const harness::run_config& cfg, const harness::run_context& ctx);

}  // namespace ringlab::peers::python_seeds
