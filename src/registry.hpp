// The queue registry: every queue the harness can run, by the name used on the command
// line and in CSV. The queues themselves are listed once, in src/queue_list.hpp; the
// registration files (src/queues_*.cpp, src/transports.cpp, src/peers/*.cpp) expand that list with
// RINGLAB_REGISTER, so a queue added there is in every experiment, benchmark and test.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <ringlab/queue.hpp>

#include "harness/run.hpp"
#include "harness/seed_scenario.hpp"

namespace ringlab {

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

// The element type registration uses to ask a queue about itself.
using probe_item = std::uint64_t;

template <template <class> class Queue>
bool register_queue(const char* name, const char* description) {
  using Q = Queue<probe_item>;
  static_assert(ringlab::queue<Q>, "a registered queue must satisfy the ringlab::queue concept");
  std::size_t max_capacity = SIZE_MAX;
  if constexpr (requires { Q::max_capacity; }) max_capacity = Q::max_capacity;
  std::vector<std::size_t> payloads;
  auto add_if_carried = [&]<std::size_t B>() {
    if constexpr (!is_unsupported<Queue<harness::item_of<B>>>) payloads.push_back(B);
  };
  add_if_carried.template operator()<8>();
  add_if_carried.template operator()<64>();
  add_if_carried.template operator()<256>();
  add_if_carried.template operator()<1024>();
  bool splits = false;
  if constexpr (ipc::is_process_transport<Q>) splits = ipc::splits_across_hosts<typename Q::transport>;
  registry::instance().add(queue_entry{
      name, description, Q::properties,
      ipc::is_process_transport<Q> ? (ipc::over_network<Q> ? "host" : "process") : "thread", max_capacity, payloads,
      // Every queue checks its capacity before allocating, so this is cheap.
      [](std::size_t capacity) { (void)make_queue<Q>(capacity, thread_counts{}); }, &harness::run_point<Queue>,
      &harness::run_seed_point<Queue>, splits});
  return true;
}

}  // namespace ringlab

#define RINGLAB_CONCAT_(a, b) a##b
#define RINGLAB_CONCAT(a, b) RINGLAB_CONCAT_(a, b)
#define RINGLAB_REGISTER(cli_name, Template, description) \
  static const bool RINGLAB_CONCAT(ringlab_registered_, __COUNTER__) = ::ringlab::register_queue<Template>(cli_name, description);
