// One measured point of a registered queue: the payload, wait strategy and pattern are
// chosen once, here, and the side loops are instantiated for the concrete types; then
// the queue's scope runs it: threads (scopes/threads/), processes (scopes/processes/),
// two hosts (scopes/hosts/). The registry stores run_point<Queue> (src/registration.hpp).
#pragma once
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <ringlab/queue.hpp>
#include <ringlab/wait.hpp>

#include "harness/item.hpp"
#include "harness/run.hpp"
#include "scopes/hosts/run_split.hpp"
#include "scopes/processes/run_pair.hpp"
#include "scopes/processes/run_processes.hpp"
#include "scopes/threads/native.hpp"
#include "scopes/threads/pingpong.hpp"
#include "scopes/threads/run_threads.hpp"
#include "transports/transport.hpp"

namespace ringlab::harness {

// Round trips carry 8-byte items only (validate() says so), which halves what gets compiled;
// so do the native loops between processes (their only use: the harness tax at 8 bytes).
template <class Q, class W, class Item>
run_result run_pattern(const run_config& cfg, const run_context& ctx) {
  if constexpr (ipc::is_process_transport<Q>) {
    if (ctx.remote) {
      if constexpr (ipc::splits_across_hosts<typename Q::transport>) return ipc::run_split_typed<Q, W, Item>(cfg, ctx);
      throw std::invalid_argument(cfg.queue + ": its sides cannot be split across two hosts");
    }
    if (cfg.shape == pattern::pingpong) {
      if constexpr (std::is_same_v<Item, tag>) return ipc::run_pair_typed<Q, W, Item, true>(cfg, ctx);
    } else if (cfg.native) {
      if constexpr (std::is_same_v<Item, tag>) return ipc::run_pair_typed<Q, W, Item, false>(cfg, ctx);
    }
    return ipc::run_processes_typed<Q, W, Item>(cfg, ctx);
  } else {
    if (cfg.native) return run_native_typed<Q, W, Item>(cfg, ctx);
    if constexpr (std::is_same_v<Item, tag>)
      if (cfg.shape == pattern::pingpong) return run_pingpong_typed<Q, W, Item>(cfg, ctx);
    return run_typed<Q, W, Item>(cfg, ctx);
  }
}

template <class Q, class Item>
run_result run_with_supported_wait(const run_config& cfg, const run_context& ctx) {
  if (cfg.wait == "spin") return run_pattern<Q, spin, Item>(cfg, ctx);
  if (cfg.wait == "yield") return run_pattern<Q, yield, Item>(cfg, ctx);
  if (cfg.wait == "park") return run_pattern<Q, park, Item>(cfg, ctx);
  if constexpr (Q::properties.blocks_natively)
    if (cfg.wait == "block") return run_pattern<Q, block, Item>(cfg, ctx);
  throw std::invalid_argument("--wait " + cfg.wait + ": not available for queue " + cfg.queue);
}

// A library sized at compile time (Q::fixed_capacities, Q::of_capacity<N>: peers/adapter.hpp)
// is run as the one type of the run's size: the size is chosen here, once, and the side
// loops are instantiated for it, so no call pays for the choice. At 8 bytes, the payload
// every comparison of queues uses; larger payloads run the form that chooses per call
// (what would otherwise be compiled: every size x every payload x every wait).
template <class Q>
concept sized_at_compile_time = requires { Q::fixed_capacities; typename Q::template of_capacity<Q::fixed_capacities[0]>; };

template <class Q, class Item, std::size_t... I>
run_result run_of_its_size(const run_config& cfg, const run_context& ctx, std::index_sequence<I...>) {
  run_result r;
  const bool built = ((cfg.capacity == Q::fixed_capacities[I] &&
                       (r = run_with_supported_wait<typename Q::template of_capacity<Q::fixed_capacities[I]>, Item>(cfg, ctx),
                        true)) || ...);
  if (!built) (void)make_queue<Q>(cfg.capacity, thread_counts{cfg.producers, cfg.consumers});  // says which sizes are
  if (!built) throw std::logic_error(cfg.queue + ": capacity " + std::to_string(cfg.capacity) + " is not built");
  return r;
}

// Queues whose library cannot carry this item type (see unsupported_queue) refuse it.
template <class Q, class Item>
run_result run_with_wait(const run_config& cfg, const run_context& ctx) {
  if constexpr (is_unsupported<Q>)
    throw std::invalid_argument("--payload " + std::to_string(cfg.payload_bytes) + ": " + cfg.queue +
                                " cannot carry items of this size");
  else if constexpr (sized_at_compile_time<Q> && std::is_same_v<Item, tag>)
    return run_of_its_size<Q, Item>(cfg, ctx, std::make_index_sequence<Q::fixed_capacities.size()>{});
  else return run_with_supported_wait<Q, Item>(cfg, ctx);
}

// The entry point a registered queue family gets: dispatch on payload size.
template <template <class> class Queue>
run_result run_point(const run_config& cfg, const run_context& ctx) {
  switch (cfg.payload_bytes) {
    case 8: return run_with_wait<Queue<item_of<8>>, item_of<8>>(cfg, ctx);
    case 64: return run_with_wait<Queue<item_of<64>>, item_of<64>>(cfg, ctx);
    case 256: return run_with_wait<Queue<item_of<256>>, item_of<256>>(cfg, ctx);
    case 1024: return run_with_wait<Queue<item_of<1024>>, item_of<1024>>(cfg, ctx);
  }
  throw std::invalid_argument("--payload " + std::to_string(cfg.payload_bytes) + ": not one of 8, 64, 256, 1024");
}

}  // namespace ringlab::harness
