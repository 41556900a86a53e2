// One measured point of a registered queue: the payload, wait strategy and pattern are
// chosen once, here, and the side loops are instantiated for the concrete types; then
// the queue's scope runs it: threads (scopes/threads/), processes (scopes/processes/),
// two hosts (scopes/hosts/). The registry stores run_point<Queue> (src/registration.hpp).
#pragma once
#include <string>
#include <type_traits>

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

// Queues whose library cannot carry this item type (see unsupported_queue) refuse it.
template <class Q, class Item>
run_result run_with_wait(const run_config& cfg, const run_context& ctx) {
  if constexpr (is_unsupported<Q>)
    throw std::invalid_argument("--payload " + std::to_string(cfg.payload_bytes) + ": " + cfg.queue +
                                " cannot carry items of this size");
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
