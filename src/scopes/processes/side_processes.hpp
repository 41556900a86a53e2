// The side processes of one run (scope process): forked from the conductor, which is
// single-threaded then; each runs one producer or consumer and sends its results back
// through a pipe (scopes/processes/side_image.hpp). A watcher thread follows every side through its
// pidfd: one that dies before it is done (a signal, a non-zero exit) is reported at once
// and the run is stopped, never waited for. Nothing outlives the run: a side dies with
// the conductor (PR_SET_PDEATHSIG), and the destructor kills and reaps what is left.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace ringlab::ipc {

class side_processes {
 public:
  struct lost_side {
    std::string who;   // "producer 0"
    std::string how;   // "killed by signal 9 (SIGKILL)", "exited with status 3"
    std::uint64_t noticed_ns = 0;  // CLOCK_MONOTONIC when the watcher saw it
    bool killed_by_us = false;     // the run's end killed it (stuck past its deadline), not someone outside
  };

  side_processes() = default;
  side_processes(const side_processes&) = delete;
  side_processes& operator=(const side_processes&) = delete;
  ~side_processes();

  // Fork one side: in the child, `body` runs and returns its result record (an exception
  // becomes an error record and exit status 3); the child then leaves with _exit.
  void spawn(std::string who, const std::function<std::vector<std::uint64_t>()>& body);
  // Once every side is forked: watch them; `on_lost` runs in the watcher thread for each
  // side that fails, in the order they do.
  void watch(std::function<void(const lost_side&)> on_lost);
  // Every side's record, in spawn order (empty: none came); a side that has not closed
  // its pipe within `deadline_s` is killed. Then every side is reaped.
  std::vector<std::vector<std::uint64_t>> collect(double deadline_s);

  std::vector<lost_side> lost() const;  // every side that failed, first first
  std::size_t size() const noexcept { return sides_.size(); }
  pid_t pid_of(std::size_t i) const noexcept { return sides_[i].pid; }

 private:
  struct side {
    std::string who;
    pid_t pid = -1;
    int pidfd = -1, results_fd = -1;
    bool exited = false, reaped = false;
    bool killed_by_us = false;  // under lost_mutex_: set before the run's end kills it
  };
  void stop_watching();
  void kill_and_reap_all() noexcept;

  std::vector<side> sides_;
  std::thread watcher_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex lost_mutex_;
  std::vector<lost_side> lost_;
};

// "killed by signal 9 (SIGKILL)" / "exited with status 3", from a waitid() si_code and si_status.
std::string describe_exit(int code, int status);

}  // namespace ringlab::ipc
