// The queue registry: every queue the harness can run, by the name used on the command
// line and in CSV. The queues themselves are listed once, in src/queue_list.hpp; the
// registration files (src/queues_*.cpp, src/transports.cpp, src/peers/*.cpp) expand that list with
// RINGLAB_REGISTER, so a queue added there is in every experiment, benchmark and test.
#pragma once
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ringlab/queue.hpp>

#include "harness/run.hpp"
#include "harness/seed_scenario.hpp"

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
  // `ringlab check NAME`: set for extra queues only (-Dextra_queues, RINGLAB_REGISTER_EXTRA);
  // ringlab's own are checked by the test suite, so their registrations compile no checks.
  check_function check = nullptr;
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

// The ringlab::queue concept member by member, so that a header missing one fails to
// compile with a first error that names it. True when Q meets the whole contract.
template <class Q>
consteval bool meets_the_contract() {
  static_assert(requires { typename Q::value_type; }, "a registered queue needs `using value_type = T;`");
  if constexpr (requires { typename Q::value_type; }) {
    using T = typename Q::value_type;
    static_assert(requires(Q& q, const T& in) { { q.try_push(in) } -> std::same_as<bool>; },
                  "a registered queue needs `bool try_push(const T&)`");
    static_assert(requires(Q& q, T& out) { { q.try_pop(out) } -> std::same_as<bool>; },
                  "a registered queue needs `bool try_pop(T&)`");
    static_assert(requires(const Q& q) { { q.capacity() } -> std::convertible_to<std::size_t>; },
                  "a registered queue needs `std::size_t capacity() const`");
    static_assert(requires { { Q::properties } -> std::convertible_to<queue_properties>; },
                  "a registered queue needs `static constexpr ringlab::queue_properties properties`");
    static_assert(std::is_constructible_v<Q, std::size_t> || std::is_constructible_v<Q, std::size_t, thread_counts>,
                  "a registered queue needs a constructor `explicit Q(std::size_t capacity)`");
  }
  return ringlab::queue<Q> &&
         (std::is_constructible_v<Q, std::size_t> || std::is_constructible_v<Q, std::size_t, thread_counts>);
}

template <template <class> class Queue>
bool register_queue(const char* name, const char* description, check_function check = nullptr) {
  using Q = Queue<probe_item>;
  if constexpr (!meets_the_contract<Q>()) {
    return false;  // its static_assert said which member is missing; nothing more to instantiate
  } else {
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
        &harness::run_seed_point<Queue>, splits, check});
    return true;
  }
}

}  // namespace ringlab

#define RINGLAB_CONCAT_(a, b) a##b
#define RINGLAB_CONCAT(a, b) RINGLAB_CONCAT_(a, b)
#define RINGLAB_REGISTER(cli_name, Template, description) \
  static const bool RINGLAB_CONCAT(ringlab_registered_, __COUNTER__) = ::ringlab::register_queue<Template>(cli_name, description);
