// The crash suite (`--kill producer|consumer --kill-after S`, scope process): side 0 of
// that kind is killed with SIGKILL S seconds into the run (--kill-at-random: at a uniform
// random instant between S/10 and S, a campaign's kills). The row then says who noticed
// and how fast: the conductor through the side's pidfd (detect_ns), and a survivor when
// its transport tells it (EOF, EPIPE, EOWNERDEAD: survivor_detect_ns). Survivors get a
// grace second to notice by themselves before the conductor stops them. Afterwards a
// probe asks whether the transport is still usable by a new process (outcome recovered)
// or not (failed-clean); a survivor that had to be killed is `hung`.
#pragma once
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness/config.hpp"
#include "harness/crash_ledger.hpp"
#include "harness/item.hpp"
#include "harness/result.hpp"
#include "harness/sides.hpp"
#include "scopes/processes/side_processes.hpp"
#include "transports/transport.hpp"

namespace ringlab::ipc {

class fault_injector {
 public:
  static constexpr double grace_s = 1.0;  // for survivors to notice on their own

  // Does nothing unless cfg.fault asks for a kill; `stop_run` ends the run (any thread).
  fault_injector(const harness::run_config& cfg, const side_processes& sides, std::function<void()> stop_run);
  fault_injector(const fault_injector&) = delete;
  fault_injector& operator=(const fault_injector&) = delete;
  ~fault_injector() { finish(); }

  bool armed() const noexcept { return victim_index_ >= 0; }
  const std::string& victim() const noexcept { return victim_; }  // "producer 0"
  // Call once every side is forked, and when the run is over. The clock starts when
  // `started` first says so (every side is in its loop), so that no kill lands in a start.
  void start(std::function<bool()> started);
  void finish();
  std::uint64_t killed_ns() const;  // CLOCK_MONOTONIC of the kill; 0 if the run ended first
  double killed_after_s() const;    // from the start of the run

 private:
  const side_processes& sides_;
  std::function<void()> stop_run_;
  double after_s_ = 0;
  std::uint64_t started_ns_ = 0;
  int victim_index_ = -1;
  std::string victim_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable over_changed_;
  bool over_ = false;
  std::uint64_t killed_ns_ = 0;
};

// What a fault run found, written into its row (detect_ns, survivor_detect_ns,
// detected_by, outcome, killed_after_s; with a ledger items_lost and items_doubled held to
// the transport's declared guarantee; valid only if nothing hung, nothing was left in
// /dev/shm, what arrived is right and the guarantee held).
struct fault_report {
  const fault_injector& fault;
  std::vector<side_processes::lost_side> lost;  // the victim and any other side that failed
  unsigned survivors_without_results = 0;       // survivors that never finished: killed at the end
  std::string probe = "not probed";             // probe_after_fault's answer ("" = usable)
  std::vector<std::string> left_in_shm;         // names this run left behind
  const harness::crash_ledger* ledger = nullptr;  // what the dead side had done, if kept
  crash_guarantee guarantee;                      // what the transport declares

  void fill(harness::run_result& r, const std::vector<harness::producer_state>& producers,
            const std::vector<harness::consumer_state>& consumers) const;
};

inline constexpr const char* not_probed_prefix = "not probed: ";

// A side killed by a signal that no --kill sent (kill -9 from outside, a crash): what it
// counted and timed died with it. True for such a side (the conductor skips its record).
// `fault`: the run's injector, if it has one.
bool killed_outside(const std::vector<side_processes::lost_side>& lost, const std::string& who, const fault_injector* fault);

// The row of a run in which sides were killed outside: fault `external-kill`, invalid, no
// figure that needs the dead sides' counts or times (throughput, drain, CPU and switches
// per item, items pushed), and a message that names who died and what arrived from each
// producer (its first n items, each once, or what is wrong with them), nothing else.
void note_killed_outside(harness::run_result& r, const std::vector<side_processes::lost_side>& lost,
                         const fault_injector* fault, const std::vector<harness::consumer_state>& consumers);

// Names in /dev/shm now: a fault run must leave none that it made.
std::set<std::string> shm_names();
// Names in /dev/shm now and not `before` that no live process but this one maps: what the
// run left. A name another process maps (a RouDi started by hand, another run's segment)
// is that process's, made while the run went on, and not charged to it.
std::vector<std::string> shm_names_left(const std::set<std::string>& before);

// After a kill: a new process holding what the conductor holds takes the dead side's
// place (a ring that can repair a place left mid-operation does: adopt_producer /
// adopt_consumer), takes out what is left, pushes one item and pops it back, within 1 s.
// "" if it could; otherwise why not.
// A transport whose users each need their own per-process state (sockets, a runtime)
// says so in `not_probed_because`: the answer is then "not probed: <why>".
// With a ledger, what it takes out is counted there (the replacement's take).
template <class Transport, class Item>
std::string probe_after_fault(Transport& q, const Item& prototype, bool producer_died,
                              const harness::crash_ledger* ledger = nullptr) {
  if constexpr (requires { Transport::not_probed_because; })
    return std::string(not_probed_prefix) + Transport::not_probed_because;
  const pid_t pid = ::fork();
  if (pid < 0) return "the probe could not fork";
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int status = 0;
    try {
      if constexpr (requires { q.adopt_producer(); q.adopt_consumer(); })
        producer_died ? q.adopt_producer() : q.adopt_consumer();
      else
        (void)producer_died;
      Item item{};
      for (std::size_t n = 0; n < q.capacity() + 64 && q.try_pop(item); ++n)
        if (const tag t = harness::tag_of(item); ledger && !is_pill(t)) ledger->drained(tag_producer(t), tag_sequence(t));
      const Item probe = harness::with_tag(prototype, make_tag(0, 1u << 30));
      if (!q.try_push(probe)) status = 10;
      else {
        status = 11;
        for (int tries = 0; tries < 100000 && status == 11; ++tries)
          if (q.try_pop(item)) status = harness::tag_of(item) == harness::tag_of(probe) ? 0 : 12;
      }
    } catch (...) {
      status = 13;
    }
    ::_exit(status);
  }
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      if (!WIFEXITED(status)) return "the probe died";
      switch (WEXITSTATUS(status)) {
        case 0: return "";
        case 10: return "a new item could not be pushed, even after taking out what was left";
        case 11: return "a new item went in but never came out (the dead side left the transport wedged)";
        case 12: return "another item came out than the one pushed";
        default: return "the transport refused a new user (its ends or its state died with the side)";
      }
    }
    ::usleep(1000);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return "a new user hung in it (stopped after 1 s)";
}

}  // namespace ringlab::ipc
