// The crash suite (`--kill producer|consumer --kill-after S`, scope process): side 0 of
// that kind is killed with SIGKILL S seconds into the run (--kill-at-random: at a uniform
// random instant between S/10 and S, a campaign's kills). The row then says who noticed
// and how fast: the conductor through the side's pidfd (detect_ns), and a survivor when
// its transport tells it (EOF, EPIPE, EOWNERDEAD: survivor_detect_ns). Survivors get a
// grace second to notice by themselves before the conductor stops them. Afterwards a
// probe asks whether the transport is still usable by a new process (outcome recovered)
// or not (failed-clean); a survivor that had to be killed is `hung`.
#pragma once
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <concepts>
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
#include "transports/plumbing/segment.hpp"
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
  unsigned victim_index() const noexcept { return static_cast<unsigned>(victim_index_); }  // its side (and registry) index
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
  bool by_name = false;                           // the replacement attached to the run by name
  bool carried_on = false;                        // the replacement ran the dead side's part to the end (--carry-on)
  std::string replacement_failed = {};            // or why it did not, after it took the dead side's place

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

// Where a replacement finds a run by name: the segment (linked until the probe is done),
// where its parts lie, and the dead side's place in the side registry.
struct run_by_name {
  segment* inherited = nullptr;  // the conductor's mapping, which the replacement unmaps first
  std::string name;              // "/ringlab-<pid>-<n>"
  std::size_t at_registry = 0, at_ledger = 0, at_ring = 0;  // offsets in the segment's data
  unsigned producers = 0, consumers = 0, dead_side = 0;
  bool ledgered = false;
};

// The replacement's steps once it holds a transport: repair the dead side's place (a ring
// that can repair one left mid-operation does: adopt_producer / adopt_consumer), take out
// what is left (counted in the ledger, if kept), push one item and pop it back. 0 if it
// came back; otherwise the probe's status (below).
template <class Transport, class Item>
int replace_and_probe(Transport& q, const Item& prototype, bool producer_died, const harness::crash_ledger* ledger) {
  if constexpr (requires { q.adopt_producer(); q.adopt_consumer(); })
    producer_died ? q.adopt_producer() : q.adopt_consumer();
  else
    (void)producer_died;
  Item item{};
  for (std::size_t n = 0; n < q.capacity() + 64 && q.try_pop(item); ++n)
    if (const tag t = harness::tag_of(item); ledger && !is_pill(t)) ledger->drained(tag_producer(t), tag_sequence(t));
  const Item probe = harness::with_tag(prototype, make_tag(0, 1u << 30));
  if (!q.try_push(probe)) return 10;
  for (int tries = 0; tries < 100000; ++tries)
    if (q.try_pop(item)) return harness::tag_of(item) == harness::tag_of(probe) ? 0 : 12;
  return 11;
}

// After a kill: a new process takes the dead side's place and runs replace_and_probe,
// within 1 s. "" if it could; otherwise why not. With `by_name` (a transport whose sides
// watch each other, with `static Transport attach(void*)`), it first unmaps what it
// inherited and attaches to the run by name, as a process from outside would: the
// segment (magic, version, size checked), the registry (it takes the dead side's place
// only if that side died), the transport and the ledger there. Without, it uses what it
// inherited from the conductor.
// A transport whose users each need their own per-process state (sockets, a runtime)
// says so in `not_probed_because`: the answer is then "not probed: <why>".
// With a ledger, what it takes out is counted there (the replacement's take).
template <class Transport, class Item>
std::string probe_after_fault(Transport& q, const Item& prototype, bool producer_died,
                              const harness::crash_ledger* ledger = nullptr, const run_by_name* by_name = nullptr) {
  if constexpr (requires { Transport::not_probed_because; })
    return std::string(not_probed_prefix) + Transport::not_probed_because;
  int said[2];
  if (::pipe2(said, O_CLOEXEC) != 0) return "the probe could not make a pipe";
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(said[0]), ::close(said[1]);
    return "the probe could not fork";
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(said[0]);
    int status = 0;
    try {
      if constexpr (requires(void* m) { { Transport::attach(m) } -> std::same_as<Transport>; }) {
        if (by_name) {
          by_name->inherited->unmap_inherited();
          const segment run = segment::attach(by_name->name);
          auto* base = static_cast<std::byte*>(run.data());
          side_registry& registry = side_registry::at(base + by_name->at_registry);
          registry.take_over(by_name->dead_side, "replacement");
          Transport view = Transport::attach(base + by_name->at_ring);
          const auto kept = harness::crash_ledger::view(base + by_name->at_ledger, by_name->producers, by_name->consumers);
          status = replace_and_probe(view, prototype, producer_died, by_name->ledgered ? &kept : nullptr);
          registry.leave(by_name->dead_side);
          ::_exit(status);
        }
      }
      status = replace_and_probe(q, prototype, producer_died, ledger);
    } catch (const std::exception& e) {
      const std::string why = e.what();
      (void)!::write(said[1], why.data(), std::min<std::size_t>(why.size(), 4000));
      status = 14;
    } catch (...) {
      status = 13;
    }
    ::_exit(status);
  }
  ::close(said[1]);
  int status = 0;
  auto answer = [&]() -> std::string {
    for (int i = 0; i < 1000; ++i) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        if (!WIFEXITED(status)) return "the probe died";
        switch (WEXITSTATUS(status)) {
          case 0: return "";
          case 10: return "a new item could not be pushed, even after taking out what was left";
          case 11: return "a new item went in but never came out (the dead side left the transport wedged)";
          case 12: return "another item came out than the one pushed";
          case 14: {
            char text[4001] = {};
            const ssize_t n = ::read(said[0], text, 4000);
            return "the replacement could not take over: " + std::string(text, n > 0 ? static_cast<std::size_t>(n) : 0);
          }
          default: return "the transport refused a new user (its ends or its state died with the side)";
        }
      }
      ::usleep(1000);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return "a new user hung in it (stopped after 1 s)";
  };
  std::string why = answer();
  ::close(said[0]);
  return why;
}

}  // namespace ringlab::ipc
