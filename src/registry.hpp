// The queue registry: every queue the harness can run, by the name used on the command
// line and in CSV. The queues themselves are listed once, in src/queue_list.hpp; the
// registration files (src/queues_*.cpp, src/transports.cpp, src/peers/*.cpp) expand that list with
// RINGLAB_REGISTER (src/registration.hpp), so a queue added there is in every experiment,
// benchmark and test. This header names only the harness's types: the harness may look a
// queue up here without seeing a scope or a transport.
#pragma once
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ringlab/queue.hpp>

#include "harness/config.hpp"
#include "harness/result.hpp"
#include "harness/run.hpp"

namespace ringlab {

// One line of `ringlab check`: a property, whether it held, and what was run or the first
// counterexample.
struct check_line {
  std::string property;
  enum class verdict { pass, fail, skipped } result = verdict::pass;
  std::string detail;
};
// The conformance and stress suites on one queue (src/check/checks.hpp), with this seed.
using check_function = std::vector<check_line> (*)(std::uint64_t seed);

struct queue_entry {
  std::string name;
  std::string description;
  queue_properties properties;
  std::string scope;  // thread: its sides are threads of one process; process: sides are processes; host: they
                     // talk over a network only
  std::size_t max_capacity;
  std::vector<std::size_t> payloads;  // item sizes its library can carry
  // Throws std::invalid_argument (queue's own message) if the queue can't take it.
  std::function<void(std::size_t capacity)> check_capacity;
  // One measured point (see harness/run.hpp).
  harness::run_result (*run)(const harness::run_config&, const harness::run_context&);
  // The seed scenario (harness/seed_scenario.hpp): tick in ms, a seed for the batch sizes.
  harness::run_result (*run_seed)(const harness::run_config&, double, std::uint64_t, const harness::run_context&);
  bool splits_across_hosts = false;  // its sides can be two machines (`serve` / `run --connect`)
  // Scope host: throws std::invalid_argument for a --net the run could not make (its syntax).
  void (*check_net)(const std::string& net) = nullptr;
  // What `ringlab run` takes for an option the user did not give, and says so ("": the
  // harness's own: spin, sentinel, stream). The capacity is the largest power of two up to
  // 1024 the queue takes (commands/run.cpp), so it needs no field.
  std::string default_wait, default_termination, default_pattern;
  // `ringlab check NAME`: set for extra queues only (-Dextra_queues, RINGLAB_REGISTER_EXTRA);
  // ringlab's own are checked by the test suite, so their registrations compile no checks.
  check_function check = nullptr;
  // Bounded thread queues: the most items inside at once when asked for `capacity`
  // (ringlab::most_held; `ringlab list`'s holds column); empty for transports.
  std::function<std::size_t(std::size_t capacity, unsigned producers)> most_held = {};
  // What a kill leaves, as the transport declares it and crash runs check: "exactly-once/
  // at-most-once" (a producer dies / a consumer dies); empty: not declared.
  std::string after_crash = {};
  bool carries_on = false;  // a crash run's replacement can carry on (--carry-on; ipc::can_carry_on)
};

class registry {
 public:
  static registry& instance();
  void add(queue_entry entry);
  // Null if unknown.
  const queue_entry* find(const std::string& name) const;
  // The entry or std::invalid_argument naming the queue and the known ones.
  const queue_entry& at(const std::string& name) const;
  const std::vector<queue_entry>& entries() const { return entries_; }

 private:
  std::vector<queue_entry> entries_;
};

}  // namespace ringlab
