// `ringlab check NAME` for an extra queue (-Dextra_queues): the conformance checks
// (conformance.hpp) and the stress suite the tests run on ours (stress.hpp), one verdict
// per property with its first counterexample. Compiled only through RINGLAB_REGISTER_EXTRA
// (src/extra_queue.cpp.in), so ringlab's own registrations instantiate none of it.
#pragma once
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <ringlab/wait.hpp>

#include "check/conformance.hpp"
#include "check/stress.hpp"
#include "harness/item.hpp"
#include "registration.hpp"

namespace ringlab::check {

inline std::string hex(std::uint64_t v) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%" PRIx64, v);
  return text;
}

inline std::string joined(const std::vector<std::size_t>& values) {
  std::string text;
  for (auto v : values) text += (text.empty() ? "" : " ") + std::to_string(v);
  return text;
}

// The stress report's kinds of problem, by the property they break.
inline std::string property_of(const std::string& kind) {
  if (kind == "out of order") return "per-producer order";
  if (kind == "wrong body") return "payload bodies";
  if (kind == "stalled") return "wake-ups";
  if (kind == "above its bound" || kind == "never full") return "bound";
  return "exactly-once";  // missing, popped twice, corrupt, left in queue
}

template <template <class> class Queue>
std::vector<check_line> run_all(std::uint64_t seed) {
  using Q = Queue<tag>;
  constexpr queue_properties props = Q::properties;
  std::map<std::string, std::string> failed;  // property -> first counterexample
  auto fail = [&](const std::string& property, const std::string& what) {
    if (!what.empty()) failed.try_emplace(property, what);
  };
  const std::string replay = " (seed " + hex(seed) + ", RINGLAB_SEED=" + hex(seed) + " replays)";

  // Contract, one thread: the capacities it takes (a refusal names why), 0 refused.
  std::vector<std::size_t> capacities;
  std::string refused;
  for (std::size_t c : {1, 2, 3, 64, 1024}) {
    try {
      (void)make_queue<Q>(c, {});
      capacities.push_back(c);
    } catch (const std::invalid_argument& e) {
      refused += "; refuses " + std::to_string(c) + ": " + e.what();
    }
  }
  if (capacities.empty()) return {{"capacity", check_line::verdict::fail, "refuses every one of 1 2 3 64 1024" + refused}};
  fail("capacity", refuses_capacity_zero<Q>());
  for (auto c : capacities) fail("capacity", honours_capacity<Q>(c));
  fail("every value", carries_every_value<Q>(capacities.back()));
  for (auto c : capacities) {
    std::string lost;
    const std::string disorder = keeps_order_across_wraps<Q>(c, &lost);
    if (props.fifo) fail("per-producer order", disorder);
    fail("exactly-once", lost);
  }

  // Stress: try_push/try_pop on every shape it allows, capacity and payload; it stops at
  // the first run that fails (a lost item costs a 2 s stall per run).
  struct shape {
    unsigned producers, consumers;
  };
  std::vector<shape> shapes{{1, 1}};  // 1x1, 2x2, 4x4 as the test suite runs ours, as far as it allows
  if (!props.spsc_only)
    for (unsigned n : {2u, 4u}) shapes.push_back(props.single_consumer ? shape{n, 1} : shape{n, n});
  std::string shapes_text;
  for (auto s : shapes) shapes_text += (shapes_text.empty() ? "" : " ") + std::to_string(s.producers) + "x" + std::to_string(s.consumers);
  std::vector<std::size_t> payloads;
  bool stress_failed = false;
  auto note = [&](const stress_report& r, const stress_config& cfg, std::size_t bytes, const std::string& how) {
    if (r.ok) return;
    stress_failed = true;
    const std::string run = " [" + std::to_string(cfg.producers) + "x" + std::to_string(cfg.consumers) + ", capacity " +
                            std::to_string(cfg.capacity) + ", " + std::to_string(bytes) + "-byte items, " + how + "]";
    for (const auto& p : r.problems)
      fail(property_of(p.kind), std::to_string(p.count) + " " + p.kind + ", first: " + p.example + run);
  };
  auto stress_payload = [&]<class Item>(unsigned fewer) {
    using QI = Queue<Item>;
    if constexpr (!is_unsupported<QI>) {
      if (stress_failed) return;
      payloads.push_back(sizeof(Item));
      for (auto [p, c] : shapes)
        for (auto capacity : capacities) {
          if (stress_failed) return;
          const stress_config cfg{p, c, capacity, stress_items(20000) / fewer, seed};
          note(stress_try<QI>(cfg), cfg, sizeof(Item), "try_push/try_pop");
        }
    }
  };
  stress_payload.template operator()<tag>(1);
  stress_payload.template operator()<harness::payload_item<64>>(4);
  stress_payload.template operator()<harness::payload_item<1024>>(16);
  // The bound under load, 8-byte items, every shape and capacity (after a clean stress:
  // a lost item would read as one more inside).
  const bool bound_ran = props.bounded && !stress_failed;
  if (bound_ran)
    for (auto [p, c] : shapes)
      for (auto capacity : capacities)
        if (!failed.contains("bound")) {
          const stress_config cfg{p, c, capacity, stress_items(20000) / 4, seed};
          const stress_report r = stress_bound<Q>(cfg);
          for (const auto& problem : r.problems)
            fail(property_of(problem.kind), problem.example);
        }
  const std::string stopped = stress_failed ? "; stopped at the first failing run" : "";
  const std::string stress_scope =
      shapes_text + "; capacities " + joined(capacities) + "; payloads " + joined(payloads) + refused + stopped;

  // Blocking: push/pop through park (steady and in bursts that let the consumers fall
  // asleep), yield, and the queue's own when it blocks natively; then close both ways.
  std::string waits = "park yield";
  auto blocking = [&]<class W>() {
    for (bool bursts : {false, true}) {
      if (bursts && std::is_same_v<W, yield>) continue;
      for (auto [p, c] : shapes)
        for (std::size_t capacity : {capacities.front(), capacities.back()}) {
          if (stress_failed) return;
          const stress_config cfg{p, c, capacity, stress_items(20000) / 4 / (bursts ? 4 : 1), seed, bursts};
          note(stress_blocking<Q, W>(cfg), cfg, 8, std::string(W::name) + (bursts ? " push/pop in bursts" : " push/pop"));
        }
    }
  };
  const bool blocking_ran = !stress_failed;
  blocking.template operator()<park>();
  blocking.template operator()<yield>();
  fail("close", close_wakes_both_sides<Q, park>(capacities.front()));
  if constexpr (props.blocks_natively) {
    waits += " block";
    blocking.template operator()<block>();
    fail("close", close_wakes_both_sides<Q, block>(capacities.front()));
  }

  std::vector<check_line> lines;
  auto add = [&](const std::string& property, const std::string& scope) {
    if (auto f = failed.find(property); f != failed.end())
      lines.push_back({property, check_line::verdict::fail, f->second + replay});
    else
      lines.push_back({property, check_line::verdict::pass, scope});
  };
  add("capacity", "capacities " + joined(capacities) + ", 0 refused" + refused);
  if (bound_ran) add("bound", "items inside never above most_held() under load; " + shapes_text + "; capacities " + joined(capacities));
  else if (props.bounded) lines.push_back({"bound", check_line::verdict::skipped, "not run: the try_push/try_pop stress failed first"});
  else lines.push_back({"bound", check_line::verdict::skipped, "not claimed (properties.bounded = false)"});
  add("every value", props.refuses ? std::string("carried or refused at the call, as declared: ") + props.refuses
                                   : "0, ~0, 1, pill, 1<<63, 0x5555... each carried");
  add("exactly-once", stress_scope);
  if (props.fifo) add("per-producer order", stress_scope + "; one thread across wrap-arounds");
  else lines.push_back({"per-producer order", check_line::verdict::skipped, "not claimed (properties.fifo = false)"});
  if (payloads.size() > 1) add("payload bodies", "payloads " + joined(payloads) + stopped);
  else if (stress_failed) lines.push_back({"payload bodies", check_line::verdict::skipped, "not run: the stress failed on 8-byte items first"});
  else lines.push_back({"payload bodies", check_line::verdict::skipped, "carries 8-byte items only"});
  if (blocking_ran) add("wake-ups", shapes_text + "; capacities " + std::to_string(capacities.front()) + " " +
                                        std::to_string(capacities.back()) + "; " + waits);
  else lines.push_back({"wake-ups", check_line::verdict::skipped, "not run: the try_push/try_pop stress failed first"});
  add("close", std::string("a waiting consumer") + (props.bounded ? " and a waiting producer" : "") + " return after close(); park" +
                     (props.blocks_natively ? " block" : ""));
  return lines;
}

}  // namespace ringlab::check

// An extra queue's registration: RINGLAB_REGISTER's, plus `ringlab check` (run_all).
namespace ringlab {
template <template <class> class Queue>
bool register_extra_queue(const char* name, const char* description) {
  if constexpr (meets_the_contract<Queue<probe_item>>())
    return register_queue<Queue>(name, description, &::ringlab::check::run_all<Queue>);
  else
    return false;
}
}  // namespace ringlab

#define RINGLAB_REGISTER_EXTRA(cli_name, Template, description) \
  static const bool RINGLAB_CONCAT(ringlab_registered_, __COUNTER__) =  \
      ::ringlab::register_extra_queue<Template>(cli_name, description);
