#include "harness/config.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <new>
#include <stdexcept>

#include "harness/config_checks.hpp"
#include "harness/item.hpp"
#include "registry.hpp"

namespace ringlab::harness {

const char* to_string(termination t) { return t == termination::join ? "join" : "sentinel"; }
const char* to_string(pattern p) { return p == pattern::pingpong ? "pingpong" : "stream"; }

namespace {
std::map<std::string, config_check>& config_checks() {
  static std::map<std::string, config_check> checks;
  return checks;
}
}  // namespace

void add_config_check(const std::string& queue, config_check check) { config_checks()[queue] = check; }

config_check config_check_of(const std::string& queue) {
  const auto it = config_checks().find(queue);
  return it == config_checks().end() ? nullptr : it->second;
}

void validate(const run_config& c) {
  auto bad = [](const std::string& what) { throw std::invalid_argument(what); };
  const queue_entry* q = registry::instance().find(c.queue);
  if (!q) {
    try {
      registry::instance().at(c.queue);
    } catch (const std::invalid_argument& e) {
      bad(fmt::format("--queue {}: {}", c.queue, e.what()));
    }
  }
  static const char* waits[] = {"spin", "yield", "park", "block"};
  if (std::find_if(std::begin(waits), std::end(waits), [&](const char* w) { return c.wait == w; }) == std::end(waits))
    bad(fmt::format("--wait {}: unknown wait strategy (spin, yield, park, block)", c.wait));
  if (c.wait == "block" && !q->properties.blocks_natively)
    bad(fmt::format("--wait block: {} has no blocking push/pop of its own (use spin, yield or park)", c.queue));
  if (c.producers == 0) bad("--producers 0: need at least one producer");
  if (c.consumers == 0) bad("--consumers 0: need at least one consumer");
  if (c.producers > 1024) bad(fmt::format("--producers {}: at most 1024", c.producers));
  if (c.consumers > 1024) bad(fmt::format("--consumers {}: at most 1024", c.consumers));
  if (q->properties.spsc_only && (c.producers > 1 || c.consumers > 1))
    bad(fmt::format("--producers {} --consumers {}: {} is single-producer single-consumer", c.producers, c.consumers, c.queue));
  if (q->properties.single_consumer && c.consumers > 1)
    bad(fmt::format("--consumers {}: {} has one consumer (any number of producers)", c.consumers, c.queue));
  if (c.wait != "block" && q->properties.block_only)
    bad(fmt::format("--wait {}: {} waits only in its own blocking calls (a call returns when an item is there); use "
                    "--wait block", c.wait, c.queue));
  if (c.wait == "park" && !q->properties.park_works)
    bad(fmt::format("--wait park: {}'s items reach the consumer through a receiving thread, which cannot wake a parked "
                    "side; use block (its own blocking), spin or yield", c.queue));
  try {
    q->check_capacity(c.capacity);
  } catch (const std::invalid_argument& e) {
    bad(fmt::format("--capacity {}: {}", c.capacity, e.what()));
  } catch (const std::bad_alloc&) {
    bad(fmt::format("--capacity {}: {} cannot allocate that many slots", c.capacity, c.queue));
  }
  if (!std::isfinite(c.offered_rate) || c.offered_rate < 0)
    bad(fmt::format("--rate {}: must be >= 0 items/s (0: as fast as possible)", c.offered_rate));
  if (std::find(std::begin(payload_sizes), std::end(payload_sizes), c.payload_bytes) == std::end(payload_sizes))
    bad(fmt::format("--payload {}: not one of 8, 64, 256, 1024 bytes", c.payload_bytes));
  if (std::find(q->payloads.begin(), q->payloads.end(), c.payload_bytes) == q->payloads.end())
    bad(fmt::format("--payload {}: {} cannot carry items of this size", c.payload_bytes, c.queue));
  if (c.items == 0 && (!std::isfinite(c.duration_s) || c.duration_s <= 0 || c.duration_s > 86400))
    bad(fmt::format("--duration {}: must be > 0 and at most 86400 seconds", c.duration_s));
  if (c.items != 0 && c.items < c.producers)
    bad(fmt::format("--items {}: fewer items than producers ({})", c.items, c.producers));
  if (c.warmup_s != -1 && (!std::isfinite(c.warmup_s) || c.warmup_s < 0))
    bad(fmt::format("--warmup {}: must be >= 0 seconds", c.warmup_s));
  if (c.items == 0 && c.effective_warmup_s() >= c.duration_s)
    bad(fmt::format("--warmup {}: must be shorter than --duration {}", c.effective_warmup_s(), c.duration_s));
  if (c.latency_sample_every != 0 && (c.latency_sample_every & (c.latency_sample_every - 1)) != 0)
    bad(fmt::format("--latency-sample {}: must be a power of two", c.latency_sample_every));
  if (q->properties.delays_visibility && (c.offered_rate != 0 || c.shape == pattern::pingpong))
    bad(fmt::format("--queue {}: may hold an item back until more follow or a flush (a floor's cache line, a stream "
                    "socket's split item), so it is a closed-loop streaming bound only (no --rate, no --pattern pingpong)",
                    c.queue));
  if (c.shape == pattern::pingpong) {
    if (c.producers != 1 || c.consumers != 1)
      bad(fmt::format("--pattern pingpong: round trips are between one producer and one consumer, not {}P{}C", c.producers, c.consumers));
    if (c.offered_rate != 0) bad(fmt::format("--pattern pingpong: --rate {} makes no sense; a round trip waits for the last", c.offered_rate));
    if (c.items) bad("--pattern pingpong: runs for a --duration, not --items");
    if (c.ending == termination::join) bad("--pattern pingpong: the echo thread stops on a pill (--termination sentinel)");
    if (c.payload_bytes != 8) bad(fmt::format("--pattern pingpong: round trips carry 8-byte items, not --payload {}", c.payload_bytes));
  }
  if (c.offered_rate > 0 && c.items == 0 && c.offered_rate * c.duration_s < 1)
    bad(fmt::format("--rate {} --duration {}: not one item is due in the measured window", c.offered_rate, c.duration_s));
  if (c.native) {
    // The queue's own two-thread loop (native.hpp): nothing of the harness's around it.
    if (c.producers != 1 || c.consumers != 1)
      bad(fmt::format("--native --producers {} --consumers {}: the native loop is one producer and one consumer",
                      c.producers, c.consumers));
    if (c.offered_rate != 0)
      bad(fmt::format("--native --rate {}: the native loop is closed (an open loop needs the harness's schedule)",
                      c.offered_rate));
    if (c.record_latency) bad("--native: the native loop reads no clock per item, so it records no latency (latency_recorded must be 0)");
    if (!c.histogram_out.empty()) bad("--native --histogram-out: the native loop records no latency");
    if (c.items && !c.author_loop) bad("--native --items: the native loop runs for a --duration (the author's loop, --loop author, for --items)");
    if (c.author_loop && (!c.items || c.items >= (std::uint64_t{1} << 62)))
      bad(fmt::format("--loop author: the author's loop moves a fixed count, 1 to 2^62 (--items), not {}", c.items));
    if (c.author_loop && (c.shape != pattern::stream || c.payload_bytes != 8 || q->scope != "thread" || c.work_ns || c.producer_work_ns))
      bad("--loop author: a stream of 8-byte items between threads, with no work per item (atomic_queue's benchmark loop)");
  }
  if (c.scope != "" && c.scope != "thread" && c.scope != "process" && c.scope != "host")
    bad(fmt::format("--scope {}: must be thread, process or host", c.scope));
  if (c.scope != "" && c.scope != q->scope)
    bad(fmt::format("--scope {}: {} is a {} transport (`ringlab list` shows each one's scope)", c.scope, c.queue, q->scope));
  const bool sides_are_processes = q->scope != "thread";
  if (sides_are_processes && c.native && c.payload_bytes != 8)
    bad(fmt::format("--native --payload {}: between processes the native loop carries 8-byte items (the harness tax "
                    "is measured at 8 bytes)", c.payload_bytes));
  if (sides_are_processes && (c.native || c.shape == pattern::pingpong) && c.fault != "none")
    bad(fmt::format("--kill: the crash suite kills a side of the stream, not of --native or --pattern pingpong ({})", c.queue));
  if (c.fault != "none") {
    if (c.fault != "kill-producer" && c.fault != "kill-consumer" && c.fault != "kill-producer-carry-on" &&
        c.fault != "kill-consumer-carry-on")
      bad(fmt::format("fault {}: must be kill-producer or kill-consumer, either one with -carry-on", c.fault));
    if (c.carries_on() && !q->carries_on) {
      std::string can;
      for (const auto& e : registry::instance().entries())
        if (e.carries_on) can += (can.empty() ? "" : ", ") + e.name;
      bad(fmt::format("--carry-on: {} cannot carry on after a kill (these can: {})", c.queue, can.empty() ? "none built" : can));
    }
    if (c.carries_on() && (c.producers != 1 || c.consumers != 1))
      bad(fmt::format("--carry-on with {} producers and {} consumers: one of each only (with more, survivors that never "
                      "wait never stop for the repair, and a dead consumer's items are no prefix to rebuild its tally from)",
                      c.producers, c.consumers));
    if (!sides_are_processes)
      bad(fmt::format("--kill: {} runs its sides as threads; only a process or host transport's side can be killed", c.queue));
    if (c.fault_at != "fixed" && c.fault_at != "random")
      bad(fmt::format("fault_at {}: must be fixed or random", c.fault_at));
    if (!(c.fault_after_s > 0)) bad(fmt::format("--kill-after {}: must be a number of seconds > 0", c.fault_after_s));
    if (!c.items && c.fault_after_s >= c.effective_warmup_s() + c.duration_s)
      bad(fmt::format("--kill-after {}: the run ends after {} s (warm-up + duration); kill it before", c.fault_after_s,
                      c.effective_warmup_s() + c.duration_s));
  }
  if (c.fault == "none" && c.fault_at != "fixed") bad("--kill-at-random: there is no kill to place (add --kill)");
  if (c.ending == termination::sentinel && !q->properties.fifo && !c.native)
    bad(fmt::format("--termination sentinel: {} keeps no order, so a pill could overtake items (use join)", c.queue));
  if (c.service_ns > 1'000'000'000)
    bad(fmt::format("--service-ns {}: at most 1000000000 (1 s of work per item)", c.service_ns));
  if (c.service_ns && (c.native || c.shape == pattern::pingpong))
    bad(fmt::format("--service-ns {}: the consumer's work per item is part of a harness stream (not --native, not "
                    "--pattern pingpong)", c.service_ns));
  for (const auto& [flag, ns] : {std::pair{"--work-ns", c.work_ns}, {"--producer-work-ns", c.producer_work_ns}}) {
    if (ns > 1'000'000'000) bad(fmt::format("{} {}: at most 1000000000 (1 s of work per item)", flag, ns));
    if (ns && c.shape == pattern::pingpong) bad(fmt::format("{} {}: work per item is a stream's (not --pattern pingpong)", flag, ns));
  }
  if (!q->properties.stream_options && (c.batch != 1 || c.tcp_nodelay || c.port != 0))
    bad(fmt::format("--{}: a network stream's option; {} does not take it", c.batch != 1 ? "batch" : c.tcp_nodelay ? "tcp-nodelay" : "port",
                    c.queue));
  if (c.batch == 0 || c.batch > max_batch_items)
    bad(fmt::format("--batch {}: must be 1 to {} items per write", c.batch, max_batch_items));
  if (c.batch > 1 && c.shape == pattern::pingpong)
    bad(fmt::format("--batch {}: a round trip sends one item and waits for it; batching would hold it for good", c.batch));
  if (c.port > 65535) bad(fmt::format("--port {}: not a TCP port (0 to 65535)", c.port));
  if (c.net != "loopback") {
    if (q->scope != "host")
      bad(fmt::format("--net {}: only a host transport's sides talk over a network ({} is a {} transport)", c.net, c.queue, q->scope));
    try {
      if (q->check_net) q->check_net(c.net);
    } catch (const std::invalid_argument& e) {
      bad(fmt::format("--net {}: {}", c.net, e.what()));
    }
  }
  if (!c.connect.empty()) {  // the producers on another host (`ringlab serve`)
    if (!q->splits_across_hosts)
      bad(fmt::format("--connect {}: {} cannot be split across two hosts (a {} transport{})", c.connect, c.queue, q->scope,
                      q->scope == "host" ? " whose sides share more than the network" : ""));
    if (c.shape != pattern::stream || c.native) bad(fmt::format("--connect {}: only a harness stream runs across two hosts", c.connect));
    if (c.fault != "none") bad(fmt::format("--connect {}: --kill is for sides of one host (kill a side yourself)", c.connect));
    if (c.net != "loopback") bad(fmt::format("--connect {} --net {}: the path is the two hosts' own network", c.connect, c.net));
  }
  if (const config_check check = config_check_of(c.queue)) check(c);
}

}  // namespace ringlab::harness
