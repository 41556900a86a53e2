#include "scopes/processes/fault.hpp"

#include <dirent.h>
#include <time.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <random>

#include <fmt/core.h>

namespace ringlab::ipc {

fault_injector::fault_injector(const harness::run_config& cfg, const side_processes& sides, std::function<void()> stop_run)
    : sides_(sides), stop_run_(std::move(stop_run)), after_s_(cfg.fault_after_s) {
  if (cfg.fault.rfind("kill-producer", 0) == 0) victim_index_ = 0, victim_ = "producer 0";
  if (cfg.kills_consumer()) victim_index_ = static_cast<int>(cfg.producers), victim_ = "consumer 0";
  if (cfg.fault_at == "random") {  // the instant is in the row (killed_after_s): a kill is replayed with --kill-after
    std::mt19937_64 draw(std::random_device{}());
    after_s_ = std::uniform_real_distribution<double>(after_s_ / 10, after_s_)(draw);
  }
}

void fault_injector::start(std::function<bool()> started) {
  if (!armed()) return;
  thread_ = std::thread([this, started = std::move(started)] {
    using clock = std::chrono::steady_clock;
    std::unique_lock lock(mutex_);
    const auto give_up = clock::now() + std::chrono::seconds(10);  // a side that never starts: the conductor says so
    while (!started() && clock::now() < give_up)
      if (over_changed_.wait_for(lock, std::chrono::microseconds(200), [&] { return over_; })) return;
    started_ns_ = harness::monotonic_now_ns();
    if (over_changed_.wait_until(lock, clock::now() + std::chrono::duration<double>(after_s_), [&] { return over_; }))
      return;  // the run ended first
    killed_ns_ = harness::monotonic_now_ns();  // first: the watcher must know the death is ours when it sees it
    ::kill(sides_.pid_of(static_cast<std::size_t>(victim_index_)), SIGKILL);
    if (over_changed_.wait_for(lock, std::chrono::duration<double>(grace_s), [&] { return over_; })) return;
    lock.unlock();
    stop_run_();  // no survivor noticed: the conductor stops them
  });
}

void fault_injector::finish() {
  {
    std::lock_guard lock(mutex_);
    over_ = true;
  }
  over_changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t fault_injector::killed_ns() const {
  std::lock_guard lock(mutex_);
  return killed_ns_;
}

double fault_injector::killed_after_s() const {
  std::lock_guard lock(mutex_);
  return killed_ns_ ? static_cast<double>(killed_ns_ - started_ns_) / 1e9 : NAN;
}

void fault_report::fill(harness::run_result& r, const std::vector<harness::producer_state>& producers,
                        const std::vector<harness::consumer_state>& consumers) const {
  const harness::run_config& cfg = r.config;
  const std::uint64_t killed = fault.killed_ns();
  if (!killed) {
    r.valid = false;
    r.validation_error = fmt::format("the run ended before the kill at {} s; nothing was tested", cfg.fault_after_s);
    return;
  }
  // The drain (last push to last exit) has no meaning once a side died mid-run: its
  // last push or exit is unknown. No figure rather than a made-up one.
  r.drain_ns = NAN;
  std::vector<std::string> wrong;
  std::string carried_on_said;
  for (const auto& l : lost) {
    if (l.who == fault.victim()) r.detect_ns = l.noticed_ns > killed ? static_cast<double>(l.noticed_ns - killed) : 0.0;
    else wrong.push_back(fmt::format("{} {}", l.who, l.how));
  }
  // The first survivor that its transport told.
  std::uint64_t first_ns = 0;
  std::string first;
  auto look = [&](const std::string& who, const harness::thread_outcome& o) {
    if (who == fault.victim() || !o.peer_lost_ns || (first_ns && o.peer_lost_ns >= first_ns)) return;
    first_ns = o.peer_lost_ns, first = fmt::format("{}: {}", who, o.peer_lost_how);
  };
  for (const auto& p : producers) look(fmt::format("producer {}", p.id), p.outcome);
  for (const auto& c : consumers) look(fmt::format("consumer {}", c.id), c.outcome);
  r.survivor_detect_ns = first_ns ? static_cast<double>(first_ns > killed ? first_ns - killed : 0) : NAN;
  r.detected_by = first_ns ? "pidfd; " + first
                           : fmt::format("pidfd; no survivor noticed by itself (stopped after {} s)", fault_injector::grace_s);

  r.killed_after_s = fault.killed_after_s();
  const bool consumer_died = cfg.kills_consumer();
  std::vector<harness::delivery_tally> tallies;
  for (const auto& c : consumers)
    if (fmt::format("consumer {}", c.id) != fault.victim()) tallies.push_back(c.tally);
  if (ledger) tallies.push_back(ledger->drained_tally());  // the replacement's take, as one more consumer
  const delivery declared = consumer_died ? guarantee.consumer_dies : guarantee.producer_dies;
  r.crash_guarantee = to_string(declared);
  if (carried_on && ledger) {
    // Everything is counted: the replacement's record is the dead side's (a dead consumer's
    // tally rebuilt from its ledger), and the ledger still holds what the dead side had done.
    std::vector<harness::delivery_tally> all;
    for (const auto& c : consumers) all.push_back(c.tally);
    std::vector<std::uint64_t> pushed;
    for (const auto& p : producers) pushed.push_back(p.pushed);
    const std::uint64_t doubt = consumer_died ? ledger->finished(0)[0].load() : ledger->published(0)->load();
    const auto n = harness::count_carried_on(pushed, all, 0, doubt);
    r.items_lost = static_cast<double>(consumer_died ? n.lost : 0);  // a dead producer's item in doubt was never pushed whole
    r.items_doubled = static_cast<double>(n.doubled);
    r.throughput_items_per_s = NAN;  // two processes' rates in one window: no one side's
    r.items_popped = 0;              // what arrived, the dead consumer's finished items included (its ledger)
    for (const auto& t : all)
      for (const auto& from : t.by_producer) r.items_popped += from.count;
    if (!n.held)
      wrong.push_back(fmt::format("declared {} after a {}'s death, and the replacement carried on, but: {}", to_string(declared),
                                  consumer_died ? "consumer" : "producer", n.problem));
    carried_on_said = fmt::format("a replacement took its place and carried on (item {} of producer 0, in doubt, {})", doubt,
                                  n.doubt_arrived ? "arrived once" : consumer_died ? "was lost with it" : "was never published");
  }
  // A survivor stopped as hung took its counts with it (the row is invalid for that): what
  // arrived is then not judged, where a stopped consumer's missing tally would read as
  // items lost and others doubled.
  const auto arrived = harness::validate_what_arrived(tallies, consumer_died);
  if (!carried_on && !arrived.valid && !survivors_without_results) wrong.push_back("what arrived: " + arrived.problem);
  if (!carried_on && ledger && !survivors_without_results && probe.empty()) {
    // Every count is known: survivors', the dead side's (ledger) and the replacement's.
    std::vector<std::uint64_t> published(producers.size()), got(producers.size(), 0);
    for (std::size_t p = 0; p < producers.size(); ++p)
      published[p] = !consumer_died && p == 0 ? ledger->published(0)->load() : producers[p].pushed;
    for (const auto& t : tallies)
      for (std::size_t p = 0; p < got.size(); ++p) got[p] += t.by_producer[p].count;
    if (consumer_died)
      for (std::size_t p = 0; p < got.size(); ++p) got[p] += ledger->finished(0)[p].load();
    const auto n = harness::count_after_crash(published, got, consumer_died ? -1 : 0);
    r.items_lost = static_cast<double>(n.lost);
    r.items_doubled = static_cast<double>(n.doubled);
    const bool held = declared == delivery::exactly_once   ? n.lost == 0 && n.doubled == 0
                      : declared == delivery::at_most_once ? n.doubled == 0 && n.lost <= 1
                                                           : true;
    if (!held)
      wrong.push_back(fmt::format("declared {} after a {}'s death, but {} item(s) lost and {} doubled", to_string(declared),
                                  consumer_died ? "consumer" : "producer", n.lost, n.doubled));
  }
  if (survivors_without_results) wrong.push_back(fmt::format("{} surviving side(s) never finished", survivors_without_results));
  if (!replacement_failed.empty()) wrong.push_back("the replacement took the dead side's place, then: " + replacement_failed);
  if (!left_in_shm.empty()) {
    std::string names;
    for (const auto& n : left_in_shm) names += (names.empty() ? "" : " ") + n;
    wrong.push_back("left in /dev/shm: " + names);
  }
  const bool probed = probe.rfind(not_probed_prefix, 0) != 0;
  // A transport that declares what a death leaves promises a replacement can take over.
  if (probed && !probe.empty() && declared != delivery::undeclared)
    wrong.push_back(fmt::format("it declares {} after a {}'s death, yet no replacement could take over", r.crash_guarantee,
                                consumer_died ? "consumer" : "producer"));
  r.outcome = survivors_without_results ? "hung"
              : carried_on               ? "carried-on"
              : !probed                  ? "not-probed"
              : probe.empty()            ? "recovered"
                                         : "failed-clean";
  r.valid = wrong.empty();
  r.validation_error = fmt::format("{} killed at {:.4f} s; afterwards {}", fault.victim(), r.killed_after_s,
                                   carried_on ? carried_on_said
                                   : !probe.empty() ? probe
                                   : by_name ? "a replacement that attached to the run by name could still push and pop through it"
                                             : "a new process could still push and pop through it");
  for (const auto& w : wrong) r.validation_error += "; WRONG: " + w;
}

bool killed_outside(const std::vector<side_processes::lost_side>& lost, const std::string& who, const fault_injector* fault) {
  if (fault && fault->killed_ns() && who == fault->victim()) return false;  // ours: the fault report tells it
  for (const auto& l : lost)
    if (l.who == who && !l.killed_by_us && l.how.rfind("killed by signal", 0) == 0) return true;
  return false;
}

void note_killed_outside(harness::run_result& r, const std::vector<side_processes::lost_side>& lost,
                         const fault_injector* fault, const std::vector<harness::consumer_state>& consumers) {
  std::vector<std::string> dead;
  bool a_consumer = false;
  for (const auto& l : lost)
    if (killed_outside(lost, l.who, fault)) {
      dead.push_back(fmt::format("{} was {}", l.who, l.how));
      a_consumer = a_consumer || l.who.rfind("consumer", 0) == 0;
    }
  if (dead.empty()) return;
  r.config.fault = "external-kill";
  r.valid = false;
  r.throughput_items_per_s = r.drain_ns = NAN;
  r.producer_cpu_ns_per_item = r.consumer_cpu_ns_per_item = NAN;
  r.voluntary_switches_per_item = r.involuntary_switches_per_item = NAN;
  r.items_pushed = 0;  // not known: written empty (result.cpp)
  std::vector<harness::delivery_tally> tallies;
  for (const auto& c : consumers)
    if (!killed_outside(lost, fmt::format("consumer {}", c.id), fault)) tallies.push_back(c.tally);
  std::string arrived;
  if (!tallies.empty()) {
    const auto check = harness::validate_what_arrived(tallies, a_consumer);
    std::vector<std::uint64_t> from(tallies.front().by_producer.size(), 0);
    for (const auto& t : tallies)
      for (std::size_t p = 0; p < from.size(); ++p) from[p] += t.by_producer[p].count;
    std::string counts;
    for (std::size_t p = 0; p < from.size(); ++p) counts += fmt::format("{}producer {} {}", p ? ", " : "", p, from[p]);
    arrived = !check.valid ? "; what arrived is wrong: " + check.problem
              : a_consumer  ? fmt::format("; the surviving consumers received ({}) in order and intact; what the dead one had "
                                          "taken is lost with it", counts)
                            : fmt::format("; what arrived from each producer ({}) is its first items, each once, in order", counts);
  }
  std::string who;
  for (const auto& d : dead) who += (who.empty() ? "" : "; ") + d;
  r.validation_error = who + " (not by --kill): its counts and times died with it, so throughput, drain and CPU per item "
                             "are not known" + arrived;
}

std::set<std::string> shm_names() {
  std::set<std::string> names;
  if (DIR* dir = ::opendir("/dev/shm")) {
    while (const dirent* e = ::readdir(dir))
      if (e->d_name[0] != '.') names.insert(e->d_name);
    ::closedir(dir);
  }
  return names;
}

std::vector<std::string> shm_names_left(const std::set<std::string>& before) {
  std::vector<std::string> left;
  for (const auto& name : shm_names())
    if (!before.count(name)) left.push_back(name);
  if (left.empty()) return left;  // the common case reads no /proc
  std::set<std::string> mapped_elsewhere;
  const std::string self = std::to_string(::getpid());
  if (DIR* proc = ::opendir("/proc")) {
    while (const dirent* e = ::readdir(proc)) {
      const std::string pid = e->d_name;
      if (pid.find_first_not_of("0123456789") != std::string::npos || pid == self) continue;
      std::ifstream maps("/proc/" + pid + "/maps");  // gone or not ours to read: nothing
      for (std::string line; std::getline(maps, line);)
        if (const auto at = line.find(" /dev/shm/"); at != std::string::npos)
          mapped_elsewhere.insert(line.substr(at + 10));  // an unlinked one ends " (deleted)": not listed anyway
    }
    ::closedir(proc);
  }
  std::erase_if(left, [&](const std::string& n) { return mapped_elsewhere.count(n) > 0; });
  return left;
}

}  // namespace ringlab::ipc
