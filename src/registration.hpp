// Registering a queue: RINGLAB_REGISTER(name, Template, description) in a registration
// file (src/queues_*.cpp, src/transports.cpp, src/peers/*.cpp) asks the queue about itself
// and stores the entry points its scope runs (scopes/run_point.hpp, scopes/seed_point.hpp).
// Only registration files include this: it pulls in every scope.
#pragma once
#include <concepts>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <fmt/core.h>

#include <ringlab/queue.hpp>

#include "registry.hpp"
#include "scopes/run_point.hpp"
#include "scopes/seed_point.hpp"
#include "transports/plumbing/net_path.hpp"
#include "transports/transport.hpp"

namespace ringlab {

static_assert(ipc::max_frame_items == harness::max_batch_items, "--batch's bound is the network frame's");

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
    queue_entry entry{
        name, description, Q::properties,
        ipc::is_process_transport<Q> ? (ipc::over_network<Q> ? "host" : "process") : "thread", max_capacity, payloads,
        // Every queue checks its capacity before allocating, so this is cheap.
        [](std::size_t capacity) { (void)make_queue<Q>(capacity, thread_counts{}); }, &harness::run_point<Queue>,
        &harness::run_seed_point<Queue>, splits, &ipc::check_net_spec,
        // Its defaults: its own blocking calls if it waits in nothing else; join if a pill
        // could overtake items.
        Q::properties.block_only ? "block" : "", Q::properties.fifo ? "" : "join", ""};
    entry.check = check;
    if constexpr (ipc::is_process_transport<Q>) {
      constexpr ipc::crash_guarantee g = ipc::crash_guarantee_of<typename Q::transport>();
      if (g.producer_dies != ipc::delivery::undeclared)
        entry.after_crash = fmt::format("{}/{}", ipc::to_string(g.producer_dies), ipc::to_string(g.consumer_dies));
      entry.carries_on = ipc::can_carry_on<typename Q::transport>;
    }
    if constexpr (!ipc::is_process_transport<Q>)
      if (Q::properties.bounded)
        entry.most_held = [](std::size_t capacity, unsigned producers) {
          const Q q = make_queue<Q>(capacity, thread_counts{producers, 1});
          return ringlab::most_held(q, producers);
        };
    registry::instance().add(std::move(entry));
    return true;
  }
}

}  // namespace ringlab

#define RINGLAB_CONCAT_(a, b) a##b
#define RINGLAB_CONCAT(a, b) RINGLAB_CONCAT_(a, b)
#define RINGLAB_REGISTER(cli_name, Template, description) \
  static const bool RINGLAB_CONCAT(ringlab_registered_, __COUNTER__) = ::ringlab::register_queue<Template>(cli_name, description);
